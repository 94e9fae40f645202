"""The exact Fig. 4 stability boundary, traced by continuation (docs/continuation.md, docs/model.md §2).

The loop Jacobian at the origin of a direction ``W_hat`` scaled to ``|W_r|_2 = s`` is the paper's
``J_4 = -I + gamma g(|y|; beta) s W_hat`` (M19). Its stability boundary is exact where the spectral abscissa
of ``J_4`` crosses 0, i.e. ``s_crit(beta) = 1/(gamma |g| rho(W_hat))`` (M22)-(M23), a factor ``1/rho(W_hat)``
above the paper's small-gain line ``1/(gamma |g|)`` (M21). :func:`fig4_exact_data` finds the crossing of
``y = 0`` in ``s`` at ``beta = 0`` by continuation and continues it in ``(beta, s)``; it is the data of the
``fig4_exact`` panel (``fhrn-ode figures``), plotted by :func:`fhrn_ode.figures.continuation.plot_fig4_exact`.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field, replace

import numpy as np

__all__ = ["Fig4ExactData", "j4_family", "fig4_exact_data"]


@dataclass(frozen=True)
class Fig4ExactData:
    """The continued boundary and the small-gain line it is compared with.

    Attributes:
        curve: the two-parameter :class:`~fhrn_ode.dynamics.continuation.Branch` (``p`` = ``|W_r|``,
            ``p2`` = ``beta``) on which ``J_4`` has an eigenvalue with zero real part.
        betas: ``(n,)`` beta grid of the small-gain line. small_gain: ``(n,)`` ``|W_r|_crit = 1/(gamma |g|)``
            (M21) on ``betas``.
        rho_W_hat: spectral abscissa of the unit-norm direction ``W_hat``; the exact boundary is the
            small-gain line divided by it (M23).
        params: the parameters (our choice), as written into the figures manifest.
    """

    curve: object
    betas: np.ndarray
    small_gain: np.ndarray
    rho_W_hat: float
    params: dict = dc_field(default_factory=dict)


def j4_family(W_hat, gamma: float, radius: float):
    """``(s, beta) -> field`` with ``f(y) = (-I + gamma g(radius; beta) s W_hat) y``: its Jacobian is the
    paper's J_4 (M19) with ``|W_r|_2 = s``, so its stability boundary is the exact one (M22)-(M23).

    Args:
        W_hat: ``(d, d)`` direction (unit spectral norm in the figure). gamma: reentry gain. radius: ``|y|``
            at which the homeostatic gain ``g`` is evaluated.
    """
    import torch
    from torch import nn

    from fhrn_ode.homeostasis import gain

    Wt = torch.as_tensor(np.asarray(W_hat), dtype=torch.float64)

    class J4(nn.Module):
        dim = Wt.shape[0]

        def __init__(self, s, beta):
            super().__init__()
            self.s, self.beta = s, beta

        def forward(self, t, y):
            g = gain(torch.tensor(radius * radius, dtype=torch.float64), float(self.beta))
            return -y + gamma * g * self.s * (y @ Wt.T)

    return J4


def fig4_exact_data(*, resolution: int = 60, seed: int = 0) -> Fig4ExactData:
    """The exact Fig. 4 boundary of the mixed 2-D operator (seed ``seed``) at ``gamma = 1``, ``|y| = 1.1``,
    ``beta`` in [0, 5]; ``resolution`` sets the points of the small-gain line (at least 8).

    Raises:
        FHRNInputError: ``resolution`` below 8."""
    import torch

    from fhrn_ode._errors import check_int
    from fhrn_ode.dynamics.continuation import ContinuationOptions, ContinuationProblem, continuation
    from fhrn_ode.operators import make_operator
    from fhrn_ode.spectrum import spectral_abscissa

    from .stability import wr_crit_small_gain

    n = check_int("resolution", resolution, low=8)
    W = make_operator("mixed", 2, seed=seed)
    gamma, radius = 1.0, 1.1
    pr = ContinuationProblem(x0=torch.zeros(2), p0=1.0, make_field=j4_family(W, gamma, radius), param="|W_r|",
                             param2="beta", p2_0=0.0)
    eq = continuation(pr, ContinuationOptions(p_min=0.0, p_max=100.0, ds=0.5, ds_max=5.0, normal_forms=False))
    start = (eq.points("H") + eq.points("BP"))[0]
    if start.kind == "BP":  # a real eigenvalue through 0 of a linear field: the fold system defines the curve
        start = replace(start, kind="LP")
    curve = continuation(pr, ContinuationOptions(p2_min=0.0, p2_max=5.0, ds=0.1, ds_max=0.5, detect=()), start=start)
    betas = np.linspace(0.0, 5.0, n)
    rho = float(spectral_abscissa(np.asarray(W)))
    params = dict(operator="mixed d=2", operator_seed=seed, gamma=gamma, radius=radius, rho_W_hat=rho)
    return Fig4ExactData(curve, betas, wr_crit_small_gain(gamma, betas, radius), rho, params)
