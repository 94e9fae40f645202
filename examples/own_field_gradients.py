"""Your own vector field through ``fhrn_ode.integrate``, with gradients (direct backprop and adjoint).

The field is any ``nn.Module`` with ``forward(t, y)`` (torchdiffeq's convention). Here: a small MLP plus
the FHRN homeostatic term ``-kappa (|y|^2 - theta^2) y`` (docs/model.md §1), fitted for a few Adam steps
so that its trajectories end on the unit circle. Run ``python examples/own_field_gradients.py``; add
``--quick`` (or set ``FHRN_EXAMPLE_QUICK=1``) for a seconds-long run and ``--plot FILE`` for a figure of the
fitted field's trajectories.
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn

import fhrn_ode as F

QUICK = "--quick" in sys.argv or os.environ.get("FHRN_EXAMPLE_QUICK") == "1"
#: ``--plot FILE``: also draw the fitted field's trajectories into FILE (PNG).
PLOT = sys.argv[sys.argv.index("--plot") + 1] if "--plot" in sys.argv[:-1] else None
#: The arguments the docs gallery runs this script with (tools/docs/gallery.py).
GALLERY_ARGV = ["--plot", "own_field_gradients.png"]


class MLPField(nn.Module):
    """dy/dt = MLP(y) + g_h(y): a learned drift plus the FHRN homeostasis (C 8)."""

    def __init__(self, dim: int = 2, hidden: int = 16, kappa: float = 1.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim)).double()
        self.kappa = nn.Parameter(torch.tensor(kappa, dtype=torch.float64))

    def forward(self, t, y):
        return self.net(y) + F.homeostatic_field(y, self.kappa)


def main() -> None:
    torch.manual_seed(0)
    field = MLPField()
    y0 = F.initial_conditions(8 if QUICK else 32, 2, 2.0, seed=0)
    opt = torch.optim.Adam(field.parameters(), lr=0.05)
    steps = 3 if QUICK else 30
    for step in range(steps):
        opt.zero_grad()
        res = F.integrate(field, y0, t1=2.0, n_points=5, adjoint=True, rtol=1e-6, atol=1e-8)
        if not res.success:
            raise SystemExit(res.message)
        radius = res.y_final.norm(dim=-1)
        loss = ((radius - 1.0) ** 2).mean()
        loss.backward()  # adjoint method: gradients w.r.t. every parameter of the module
        opt.step()
        print(f"step {step}: loss {float(loss.detach()):.4g}, kappa {float(field.kappa.detach()):.4g}, "
              f"|grad kappa| {float(field.kappa.grad.abs()):.3g}, nfe {res.nfe}")
    # Direct backprop through the solver gives the same gradient as the adjoint (to the tolerance).
    grads = []
    for adjoint in (False, True):
        field.zero_grad()
        res = F.integrate(field, y0, t1=1.0, n_points=3, adjoint=adjoint, rtol=1e-9, atol=1e-11)
        (res.y_final ** 2).sum().backward()
        grads.append(field.kappa.grad.clone())
    print(f"d/dkappa sum|y(1)|^2: direct {float(grads[0]):.8g}, adjoint {float(grads[1]):.8g}")
    # Without gradients (torch.no_grad) integrate uses its fast stage-major dopri5.
    with torch.no_grad():
        res = F.integrate(field, y0, t1=10.0, n_points=201)
    print(f"{res.status}: {res.message}; final |y| in [{float(res.y_final.norm(dim=-1).min()):.3f}, "
          f"{float(res.y_final.norm(dim=-1).max()):.3f}]")
    if PLOT:
        plot(res, PLOT, steps)


def plot(res, path: str, steps: int) -> None:
    """The fitted field's trajectories (dots: starts, squares: ends) and the unit circle they were fitted to."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    y = res.y.numpy()  # (T, N, 2)
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    th = np.linspace(0, 2 * np.pi, 300)
    ax.plot(np.cos(th), np.sin(th), "k--", lw=1.0, label="target |y| = 1")
    for k in range(y.shape[1]):
        line, = ax.plot(y[:, k, 0], y[:, k, 1], lw=1.0)
        ax.plot(*y[0, k], "o", c=line.get_color(), ms=4)
        ax.plot(*y[-1, k], "s", c="k", ms=3)
    ax.set_aspect("equal")
    ax.set_xlabel("y1")
    ax.set_ylabel("y2")
    r = np.linalg.norm(y[-1], axis=-1)
    ax.set_title(f"MLP + homeostasis after {steps} Adam steps\n|y(t = {res.t_final:g})| in [{r.min():.3f}, {r.max():.3f}]",
                 fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
