"""Van der Pol (mu = 1) through find_cycles against the published period and a plain scipy loop, and the
trajectory guard's fast path (dynamics/_flow.py) against its row-by-row definition."""

import numpy as np
import torch
from torch import nn

from fhrn_ode.bench.cycles import VDP_PERIOD, VanDerPol, scipy_cycles
from fhrn_ode.dynamics import find_cycles
from fhrn_ode.dynamics._contract import FlatField
from fhrn_ode.dynamics._flow import _Guard


def test_vdp_period_matches_the_published_value_and_scipy_multiplier():
    y0 = np.array([[2.0, 0.0], [-0.5, 0.3]])
    res = find_cycles(VanDerPol(), y0, t_transient=10.0, t_record=20.0)
    assert res.outcomes == ["cycle", "cycle"] and len(res.cycles) == 1 and res.cycles[0].count == 2
    c = res.cycles[0]
    assert abs(c.period - VDP_PERIOD) < 1e-8  # Hairer, Norsett & Wanner, Solving ODEs I, §II.10: 6.6632868593
    (T, mult), _ = scipy_cycles(y0, 1.0, 10.0, 20.0, rtol=1e-9, atol=1e-11)
    assert abs(T - VDP_PERIOD) < 1e-7
    # the non-trivial multiplier is exp(int_0^T tr J dt) = exp(int (1 - u^2) dt): scipy's loop agrees
    np.testing.assert_allclose(np.abs(c.floquet_multipliers), np.abs(mult), rtol=1e-5, atol=1e-12)
    assert c.stable and c.trivial_error < 1e-6


class _Spiky(nn.Module):
    """A field that is not finite where ``y_0 > 5`` (a broken region)."""

    def forward(self, t, y):
        f = -y + torch.sin(y[..., :1])
        return torch.where(y[..., :1] > 5.0, torch.full_like(f, float("nan")), f)


def test_guard_fast_path_equals_its_definition():
    ff = FlatField(_Spiky(), dim=3)
    g = _Guard(ff, 10.0)
    t = torch.tensor(0.0, dtype=torch.float64)
    z = torch.tensor([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0], [6.0, 0.0, 0.0], [0.0, 20.0, 0.0]], dtype=torch.float64)

    def reference(z):  # frozen (zero) where |z| > max_norm or the field is not finite, else f(z)
        out = []
        for row in z:
            if row.norm() > 10.0:
                out.append(torch.zeros(3, dtype=torch.float64))
                continue
            f = ff(t, row)
            out.append(f if bool(torch.isfinite(f).all()) else torch.zeros(3, dtype=torch.float64))
        return torch.stack(out)

    for rows in ([0, 1], [0, 1, 2], [0, 3], [0, 1, 2, 3]):  # all inside; a broken row; a row outside; both
        torch.testing.assert_close(g(t, z[rows]), reference(z[rows]), rtol=0, atol=0)
