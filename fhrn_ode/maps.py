"""Discrete maps as fields (docs/companions.md): one interface for maps ``z_{t+1} = F(z_t)`` and ODE fields.

A :class:`DiscreteMap` is an ``nn.Module`` with ``forward(t, z)`` returning the NEXT state ``F(z)``
(not a derivative) and the class attribute ``discrete = True``; ODE fields (``FHRNField`` and any
torchdiffeq-style module) return ``dz/dt`` and have no such attribute (:func:`is_discrete`).

Tools written for ODE fields apply to a map through :func:`difference_field`: the module with
``forward(t, z) = F(z) - z``. Its zeros are the map's fixed points, and its Jacobian
``DF - I`` has eigenvalues ``lambda = mu - 1`` where ``mu`` are the map's multipliers; the map's
verdict is ``|mu| < 1`` (not the ODE's ``Re lambda < 0``: see :func:`map_stable`). The difference
field is also the map's continuous relaxation, ``dz/dt = F(z) - z``, whose Euler step of size 1 is
the map itself.

:class:`SaliencyMap` is the sequential-retrieval saliency map ``Z_{t+1} = kappa (1 - 1/Z_t)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._errors import check_real

__all__ = ["DiscreteMap", "DifferenceField", "SaliencyMap", "difference_field", "is_discrete", "map_stable"]


class DiscreteMap(nn.Module):
    """Base class of discrete maps: ``forward(t, z)`` returns ``F(z)`` (``t`` is the step index, unused
    by autonomous maps), batched over leading dimensions of ``z`` ``(..., d)``. Subclasses implement
    :meth:`step`."""

    discrete = True

    def step(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, t, z: torch.Tensor) -> torch.Tensor:
        return self.step(z)

    def iterate(self, z0, n: int) -> torch.Tensor:
        """Orbit ``(n + 1, ...)``: ``z0, F(z0), ..., F^n(z0)`` (no early stop; non-finite values propagate)."""
        z = torch.as_tensor(z0, dtype=torch.float64)
        out = [z]
        with torch.no_grad():
            for k in range(int(n)):
                z = self.step(z)
                out.append(z)
        return torch.stack(out)


class DifferenceField(nn.Module):
    """``forward(t, z) = F(z) - z`` of a :class:`DiscreteMap` ``F`` (an ODE field; ``discrete = False``)."""

    discrete = False

    def __init__(self, fmap: DiscreteMap) -> None:
        super().__init__()
        self.map = fmap

    def forward(self, t, z: torch.Tensor) -> torch.Tensor:
        return self.map(t, z) - z


def difference_field(fmap: DiscreteMap) -> DifferenceField:
    """The field whose zeros are ``fmap``'s fixed points (Jacobian eigenvalues ``lambda = mu - 1``)."""
    if not is_discrete(fmap):
        from ._errors import FHRNInputError

        raise FHRNInputError(f"`fmap` must be a DiscreteMap (discrete = True), got {type(fmap).__name__}")
    return DifferenceField(fmap)


def is_discrete(module) -> bool:
    """True for a map (``forward`` returns the next state), False for an ODE field (it returns ``dz/dt``)."""
    return bool(getattr(module, "discrete", False))


def map_stable(eigenvalues_of_difference_field) -> np.ndarray:
    """Map verdict from the difference field's eigenvalues ``lambda``: ``max |lambda + 1| < 1`` (last axis)."""
    lam = np.asarray(eigenvalues_of_difference_field)
    return np.max(np.abs(lam + 1.0), axis=-1) < 1.0


class SaliencyMap(DiscreteMap):
    """``Z_{t+1} = kappa (1 - 1/Z_t)`` on states ``(..., 1)`` (sequential-retrieval saliency map).

    ``Z = 0`` maps to ``-inf`` / ``+inf`` (IEEE division): the collapse the analysis detects.

    Raises:
        FHRNInputError: ``kappa`` not finite and > 0.
    """

    def __init__(self, kappa: float) -> None:
        super().__init__()
        self.kappa = check_real("kappa", kappa, low=0.0, low_open=True)

    def step(self, z: torch.Tensor) -> torch.Tensor:
        return self.kappa * (1.0 - 1.0 / z)
