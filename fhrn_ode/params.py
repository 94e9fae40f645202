"""Model parameters of the continuous-time FHRN (docs/model.md §1).

The defaults reproduce the paper's qualitative picture for ``W*`` antisymmetric
in 2-D: a stable rotating ring. Note the ring radius is *not* ``theta`` once the
leak is present: for an antisymmetric ``W*`` the radial equation is
``dr/dt = r (-leak - kappa (r^2 - theta^2))`` so the ring sits at
``r* = sqrt(theta^2 - leak/kappa)`` and exists only when ``kappa theta^2 > leak``
(see :func:`ring_radius`). With the defaults (``kappa = 10``) ``r* = 0.949``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass
from typing import Any

from ._errors import FHRNInputError, check_choice, check_real

__all__ = ["FHRNParams", "MEMORY_KINDS", "ring_radius"]

#: The values of ``FHRNParams.memory``: no fast weights, Hebbian ``Phi = eta y y^T``, input ``Phi = eta y x^T`` (docs/model.md §1).
MEMORY_KINDS = ("none", "hebbian", "input")


@dataclass(frozen=True)
class FHRNParams:
    """Parameters of ``dy/dt = -leak y + gamma g(|y|) W* y + A y + g_h(y) + c`` (C 7-9, S1).

    Attributes:
        gamma: reentry gain gamma >= 0 multiplying ``W* y`` (C 7).
        kappa: homeostatic strength kappa >= 0 in ``g_h = -kappa(|y|^2 - theta^2) y`` (C 8).
        theta: homeostatic set-point radius theta >= 0 (C 8; the paper uses 1).
        leak: leak rate >= 0 (the paper's ``-y`` is leak = 1).
        beta: gain modulation beta >= 0 in ``g(r) = 1/(1 + beta (r^2 - 1))`` (C 2); 0 turns it off (g = 1).
        memory: fast-weight memory: 'none', 'hebbian' (Phi = eta y y^T) or 'input' (Phi = eta y x^T,
            with the drive ``c`` as the input x).
        lam: decay rate lam >= 0 of the fast-weight trace A (S1).
        eta: plasticity rate eta >= 0 of the fast-weight trace (S1).
        drive: constant drive c = H(x_ex) (C 7): a scalar (c = drive * ones(d)) or a length-d tuple.
    """

    gamma: float = 1.0
    kappa: float = 10.0
    theta: float = 1.0
    leak: float = 1.0
    beta: float = 0.0
    memory: str = "none"
    lam: float = 1.0
    eta: float = 0.5
    drive: float | tuple[float, ...] = 0.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "gamma", check_real("gamma", self.gamma, low=0.0))
        set_(self, "kappa", check_real("kappa", self.kappa, low=0.0))
        set_(self, "theta", check_real("theta", self.theta, low=0.0))
        set_(self, "leak", check_real("leak", self.leak, low=0.0))
        set_(self, "beta", check_real("beta", self.beta, low=0.0))
        set_(self, "lam", check_real("lam", self.lam, low=0.0))
        set_(self, "eta", check_real("eta", self.eta, low=0.0))
        check_choice("memory", self.memory, MEMORY_KINDS)
        d = self.drive
        if isinstance(d, (list, tuple)):
            if len(d) == 0:
                raise FHRNInputError("`drive` must be a scalar or a non-empty list of numbers, got []")
            set_(self, "drive", tuple(check_real(f"drive[{i}]", v) for i, v in enumerate(d)))
        else:
            np = sys.modules.get("numpy")  # an ndarray exists only once numpy is imported (keeps this module light)
            if np is not None and isinstance(d, np.ndarray):
                set_(self, "drive", tuple(check_real(f"drive[{i}]", v) for i, v in enumerate(d.ravel())))
                return
            set_(self, "drive", check_real("drive", d))

    @property
    def pole_radius(self) -> float | None:
        """Radius where ``g`` has its pole, ``sqrt(1 - 1/beta)`` for beta >= 1 (0 at beta = 1; C 2), else None."""
        from .homeostasis import pole_radius  # imported here: this module stays light (no numpy) for the CLI

        return pole_radius(self.beta)

    def drive_vector(self, dim: int) -> list[float]:
        """The drive c as a list of ``dim`` floats.

        Raises:
            FHRNInputError: if a vector drive has the wrong length.
        """
        if isinstance(self.drive, tuple):
            if len(self.drive) != dim:
                raise FHRNInputError(
                    f"`drive` has {len(self.drive)} entries but the state dimension is {dim}; "
                    f"pass a scalar or {dim} numbers"
                )
            return list(self.drive)
        return [float(self.drive)] * dim

    def replace(self, **changes: Any) -> "FHRNParams":
        """Copy with some fields changed (validated again)."""
        d = asdict(self)
        d.update(changes)
        return FHRNParams(**d)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if isinstance(d["drive"], tuple):
            d["drive"] = list(d["drive"])
        return d


def ring_radius(kappa: float, theta: float = 1.0, leak: float = 1.0) -> float:
    """Radius of the invariant ring for an antisymmetric ``W*`` without gain or memory.

    From ``d|y|/dt = |y| (-leak - kappa (|y|^2 - theta^2))`` (C 7-8 with ``y^T W_a y = 0``):
    ``r* = sqrt(theta^2 - leak/kappa)``; returns 0.0 below threshold (``kappa theta^2 <= leak``),
    where the origin is the attractor.
    """
    if kappa <= 0:
        return 0.0
    r2 = theta * theta - leak / kappa
    return math.sqrt(r2) if r2 > 0 else 0.0
