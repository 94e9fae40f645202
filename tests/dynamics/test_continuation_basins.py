"""Basins of attraction: x' = x - x^3, y' = -y (two basins, 1/2 each, boundary x = 0); a stable cycle vs an
equilibrium (the Bautin form); fractions across a parameter."""

import numpy as np
import pytest
import torch
from torch import nn

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics.continuation import basin_fractions, basins


class Bistable(nn.Module):
    """Single-state field (indexes v[0]): the tools must vmap it."""

    dim = 2

    def forward(self, t, v):
        return torch.stack([v[0] - v[0] ** 3, -v[1]])


class BistableBatch(nn.Module):
    def __init__(self, c=0.0):
        super().__init__()
        self.c = c

    dim = 2

    def forward(self, t, v):
        x, y = v[..., 0], v[..., 1]
        return torch.stack([x - x ** 3 + self.c, -y], -1)


@pytest.mark.parametrize("field", [Bistable(), BistableBatch()])
def test_two_basins_half_each_boundary_at_zero(field):
    b = basins(field, (-1, 1), (-1, 1), n=(40, 20), t1=30.0)
    assert len(b.attractors) == 2 and all(a["kind"] == "equilibrium" for a in b.attractors)
    xs = sorted(a["state"][0] for a in b.attractors)
    assert xs == pytest.approx([-1.0, 1.0], abs=1e-6)
    assert sorted(b.fractions.values()) == [0.0, 0.0, 0.5, 0.5]
    left = b.labels[:, b.xs < 0]
    right = b.labels[:, b.xs > 0]
    assert len(np.unique(left)) == 1 and len(np.unique(right)) == 1 and left[0, 0] != right[0, 0]


class Bautin(nn.Module):
    """r' = r (mu + r^2 - r^4), theta' = 1 at mu = -0.2: stable origin, unstable cycle r^2 = 0.2764, stable
    cycle r^2 = 0.7236."""

    dim = 2

    def forward(self, t, v):
        r2 = (v * v).sum(-1, keepdim=True)
        g = -0.2 + r2 - r2 ** 2
        return torch.cat([g * v[..., :1] - v[..., 1:], v[..., :1] + g * v[..., 1:]], -1)


def test_cycle_and_equilibrium_basins():
    b = basins(Bautin(), (-1.2, 1.2), (-1.2, 1.2), n=(30, 30), t1=60.0, window=15.0)
    kinds = sorted(a["kind"] for a in b.attractors)
    assert kinds == ["cycle", "equilibrium"]
    X, Y = np.meshgrid(b.xs, b.ys)
    r2 = X ** 2 + Y ** 2
    cyc = [k for k, a in enumerate(b.attractors) if a["kind"] == "cycle"][0]
    inside = r2 < 0.2764 - 0.02
    outside = r2 > 0.2764 + 0.02
    assert np.all(b.labels[outside] == cyc) and np.all(b.labels[inside] != cyc)
    assert np.linalg.norm(b.attractors[cyc]["state"]) ** 2 == pytest.approx(0.5 + np.sqrt(0.05), abs=1e-4)


def test_fractions_across_a_parameter():
    out = basin_fractions(lambda c: BistableBatch(c), [0.0, 0.5], (-1, 1), (-1, 1), n=(40, 4), t1=30.0)
    assert out["values"] == [0.0, 0.5]
    fr = {k: v for k, v in out["fractions"].items() if k not in ("diverged", "not settled")}
    assert len(fr) == 2 and all(v[0] == 0.5 for v in fr.values())
    assert sorted(v[1] for v in fr.values())[1] > 0.5  # the drive enlarges the right basin


def test_bad_input():
    with pytest.raises(FHRNInputError, match="xlim"):
        basins(Bistable(), (1, -1), (-1, 1))
    with pytest.raises(FHRNInputError, match="dims"):
        basins(Bistable(), (-1, 1), (-1, 1), dims=(0, 0))
