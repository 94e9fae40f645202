"""Interrupting a bifurcation sweep keeps the values done (issue 24, class 7): the library raises
``Interrupted`` carrying them (never swallowed), the CLI writes them atomically and exits 130."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from fhrn_ode._errors import Interrupted
from fhrn_ode.dynamics.bifurcation import bifurcation_sweep

FIELD_SRC = '''
import torch
from torch import nn


class Decay(nn.Module):
    """x' = -p x (a stable node at 0); building it with p >= STOP is a Ctrl-C."""

    dim = 1

    def __init__(self, p=1.0, stop=2.5):
        super().__init__()
        if p >= stop:
            raise KeyboardInterrupt
        self.p = float(p)

    def forward(self, t, x):
        return -self.p * x
'''


class _Decay(nn.Module):
    dim = 1

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, t, x):
        return -self.p * x


def _family(stop):
    def make(p):
        if p >= stop:
            raise KeyboardInterrupt
        return _Decay(p)
    return make


def test_library_raises_with_the_values_done():
    with pytest.raises(Interrupted) as info:
        bifurcation_sweep(_family(2.5), [1.0, 2.0, 3.0, 4.0], param="p", n_init=1, n_starts=4,
                          t_transient=2.0, exponents=False)
    part = info.value.result
    assert isinstance(info.value, KeyboardInterrupt) and not info.value.sigterm
    assert np.array_equal(part.values, [1.0, 2.0]) and len(part.equilibria) == 2
    x = [e["x"][0] for eqs in part.equilibria for e in eqs]
    assert np.allclose(x, 0.0, atol=1e-9)  # the one equilibrium x = 0 at each value done
    assert all(e["kind"] == "stable node" for eqs in part.equilibria for e in eqs)


def test_cli_writes_the_values_done_and_exits_130(tmp_path, capsys):
    from fhrn_ode.cli import main

    src = tmp_path / "decay.py"
    src.write_text(FIELD_SRC)
    out = tmp_path / "o"
    rc = main(["bifurcation", "--field", f"{src}:Decay", "--param", "p", "--range", "1:4:4", "--n-init", "1",
               "--n-starts", "4", "--t-transient", "2", "--no-exponents", "--no-plot", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 130 and len(err) == 1 and "kept the 2 of 4 values done" in err[0]
    data = json.loads((out / "bifurcation.json").read_text())
    assert data["interrupted"] is True and data["values"] == [1.0, 2.0]
    assert not list(out.glob("*.tmp*"))


class _StopAfter(nn.Module):
    """x' = -x, y' = -2 y: a diagonal linear field (exponents -1, -2) that raises Ctrl-C after n calls."""

    dim = 2

    def __init__(self, n):
        super().__init__()
        self.n, self.calls = n, 0

    def forward(self, t, x):
        self.calls += 1
        if self.calls > self.n:
            raise KeyboardInterrupt
        return x * torch.tensor([-1.0, -2.0], dtype=x.dtype)


def test_exponents_interrupted_keep_the_windows_done():
    from fhrn_ode.dynamics.exponents import lyapunov_spectrum

    with pytest.raises(Interrupted) as info:
        lyapunov_spectrum(_StopAfter(3000), n_init=2, t_transient=0.0, t_align=0.0, t1=500.0, dt=0.5, rtol=1e-10, atol=1e-12)
    spec = info.value.result
    assert spec.status == "interrupted" and 0 < len(spec.times) < 1000
    assert np.allclose(spec.exponents, [-1.0, -2.0], atol=1e-6)  # exact for a linear field, any window count
