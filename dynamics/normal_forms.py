"""Normal-form coefficients of codim-1 equilibrium bifurcations: the fold's ``a`` and the Hopf's ``l1``.

Both work on any single-state field ``f: (n,) -> (n,)`` (the parameter fixed) at an equilibrium ``x``.
The multilinear forms of the Taylor expansion

    f(x + u) = A u + 1/2 B(u, u) + 1/6 C(u, u, u) + O(|u|^4)

are directional derivatives by ``torch.func.jvp`` (``B(u, v) = D^2 f(x)[u, v]``, ``C = D^3 f(x)``);
complex arguments are expanded multilinearly into real ones, so the field never sees a complex tensor.

**Fold** (Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed., §3.2 and §5.3, eq. (5.28)):
``A q = 0``, ``A^T p = 0``, ``|q| = 1`` with its largest-magnitude entry positive, ``<p, q> = 1``;
``a = 1/2 <p, B(q, q)>``. With this orientation ``x' = mu - x^2`` gives ``a = -1``. The sign of ``a``
follows the orientation of ``q``; ``a = 0`` (a cusp) is invariant.

**Hopf** (Kuznetsov, §3.5, eq. (3.20) in the plane, and its n-dimensional form §5.4, eq. (5.39)):
``A q = i w q``, ``A^T p = -i w p``, ``<p, q> = conj(p)^T q = 1``, and

    c1 = 1/2 [ <p, C(q, q, conj q)> - 2 <p, B(q, A^{-1} B(q, conj q))>
               + <p, B(conj q, (2 i w I - A)^{-1} B(q, q))> ],      l1 = Re(c1) / w.

Normalisation: ``<q, q> = 1/2``. For an orthonormal rotation plane, ``x = z q + conj(z q)`` then has
``|x| = |z|``, so ``l1`` is the planar coefficient of eq. (3.20) with ``z = x1 + i x2``: the normal form
``r' = mu r - r^3, theta' = 1`` gives ``l1 = -1`` (``+1`` for ``+ r^3``), and near a supercritical onset
the cycle's radius in the centre plane is ``sqrt(-Re(lambda) / (w l1))``. (With ``<q, q> = 1``, another
common convention, the same formula gives twice this value.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.func import jacfwd, jvp, vmap

from fhrn_ode._errors import FHRNInputError, check_real

__all__ = ["HopfNormalForm", "FoldNormalForm", "hopf_normal_form", "fold_normal_form", "multilinear_forms"]

_REL_TOL = 1e-7  # default tolerance relative to the size of the terms that make up the coefficient


@dataclass(frozen=True)
class HopfNormalForm:
    """First Lyapunov coefficient at a Hopf point.

    Attributes:
        l1: ``Re(c1) / omega`` (module docstring for the normalisation). omega: the critical frequency
        ``w > 0``. criticality: 'supercritical' (``l1 < -tol``), 'subcritical' (``l1 > tol``) or
        'degenerate' (``|l1| <= tol``, a Bautin point, or ``A`` singular: zero-Hopf). tol: the tolerance
        used. q, p: complex eigenvectors ``(n,)`` as lists of ``[re, im]``. real_part: ``Re`` of the
        critical eigenvalue (0 at an exact Hopf point). residual: ``|f(x)|``. message: why degenerate.
    """

    l1: float
    omega: float
    criticality: str
    tol: float
    q: list
    p: list
    real_part: float
    residual: float
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(l1=self.l1, omega=self.omega, criticality=self.criticality, tol=self.tol, q=self.q, p=self.p,
                    real_part=self.real_part, residual=self.residual, message=self.message)


@dataclass(frozen=True)
class FoldNormalForm:
    """Quadratic normal-form coefficient at a fold (limit point) ``x' = mu + a x^2``.

    Attributes:
        a: ``1/2 <p, B(q, q)>``. degenerate: ``|a| <= tol`` (a cusp). tol: the tolerance used. q, p: real null
        vectors ``(n,)`` as lists. eigenvalue: the critical eigenvalue (0 at an exact fold). residual:
        ``|f(x)|``. criticality: 'degenerate' or 'nondegenerate'.
    """

    a: float
    degenerate: bool
    tol: float
    q: list
    p: list
    eigenvalue: float
    residual: float

    @property
    def criticality(self) -> str:
        """'degenerate' (cusp) or 'nondegenerate'."""
        return "degenerate" if self.degenerate else "nondegenerate"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(a=self.a, degenerate=self.degenerate, criticality=self.criticality, tol=self.tol, q=self.q,
                    p=self.p, eigenvalue=self.eigenvalue, residual=self.residual)


def multilinear_forms(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor):
    """Real second and third derivatives of ``f`` at ``x`` as callables (complex arguments allowed).

    Args:
        f: single-state field ``(n,) -> (n,)``. x: point ``(n,)`` float64.

    Returns:
        ``(B, C)``: ``B(u, v)`` and ``C(u, v, w)`` for ``(n,)`` tensors, real or complex, multilinear.
    """
    def d1(y, u):
        return jvp(f, (y,), (u,))[1]

    def d2(y, u, v):
        return jvp(lambda z: d1(z, u), (y,), (v,))[1]

    def b_real(u, v):
        return d2(x, u, v)

    def c_real(u, v, w):
        return jvp(lambda z: d2(z, u, v), (x,), (w,))[1]

    return (lambda u, v: _complexify(b_real, (u, v)), lambda u, v, w: _complexify(c_real, (u, v, w)))


def _complexify(fn, args):
    """Evaluate a real multilinear ``fn`` at possibly complex ``args``: the real/imaginary expansion, all its
    real terms in ONE ``torch.func.vmap`` call."""
    if not any(a.is_complex() for a in args):
        return fn(*args)
    parts = [(a.real, a.imag) if a.is_complex() else (a, None) for a in args]
    combos, powers = [], []
    for mask in range(1 << len(args)):
        if any(mask >> k & 1 and im is None for k, (_, im) in enumerate(parts)):
            continue
        combos.append([im if mask >> k & 1 else re for k, (re, im) in enumerate(parts)])
        powers.append(bin(mask).count("1"))
    stacked = [torch.stack([c[k] for c in combos]) for k in range(len(args))]
    vals = vmap(fn)(*stacked).to(torch.complex128)
    coef = torch.tensor([1j ** k for k in powers], dtype=torch.complex128)
    return (coef[:, None] * vals).sum(0)


def _prepare(f, x, name: str = "x"):
    if not callable(f):
        raise FHRNInputError(f"f must be a callable (n,) -> (n,); got {type(f).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim != 1 or x.numel() == 0:
        raise FHRNInputError(f"{name} must be a 1-D tensor (n,); got {getattr(x, 'shape', type(x).__name__)}")
    x = x.detach().to(torch.float64)
    fx = f(x)
    if not isinstance(fx, torch.Tensor) or fx.shape != x.shape:
        raise FHRNInputError(f"f(x) must return a tensor of shape {tuple(x.shape)}; got "
                             f"{getattr(fx, 'shape', type(fx).__name__)}")
    if not bool(torch.isfinite(fx).all()):
        raise FHRNInputError(f"f(x) is not finite at {name} = {x.tolist()}")
    A = jacfwd(f)(x).to(torch.float64)
    return x, A, float(torch.linalg.vector_norm(fx))


def _cvec(v: torch.Tensor) -> list:
    return [[float(z.real), float(z.imag)] for z in v]


def hopf_normal_form(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, omega: float | None = None,
                     tol: float | None = None) -> HopfNormalForm:
    """First Lyapunov coefficient ``l1`` of the Hopf point of ``f`` at the equilibrium ``x``.

    Kuznetsov (3rd ed.) eq. (5.39), normalised as eq. (3.20) (module docstring): ``r' = mu r - r^3`` gives -1.

    Args:
        f: single-state field ``(n,) -> (n,)`` (parameter fixed), differentiable three times by torch.func.
        x: the equilibrium ``(n,)``, float64.
        omega: the critical frequency; None takes the eigenvalue with positive imaginary part closest to
            the imaginary axis.
        tol: ``|l1| <= tol`` is 'degenerate'; None = 1e-7 times ``(1 + the size of the three terms) / w``.

    Returns:
        :class:`HopfNormalForm`.

    Raises:
        FHRNInputError: ``f``/``x`` malformed, ``f(x)`` not finite, ``omega``/``tol`` not positive, or no
            eigenvalue pair with nonzero imaginary part.
    """
    x, A, residual = _prepare(f, x)
    check_real("omega", omega, low=0.0, low_open=True, allow_none=True)
    check_real("tol", tol, low=0.0, allow_none=True)
    lam, V = torch.linalg.eig(A)
    if omega is None:
        cand = [k for k in range(len(lam)) if float(lam[k].imag) > 1e-12 * (1 + float(lam.abs().max()))]
        if not cand:
            raise FHRNInputError(f"x: the Jacobian at x has no complex eigenvalue pair (eigenvalues "
                                 f"{[complex(z) for z in lam]}); not a Hopf point")
        k = min(cand, key=lambda j: abs(float(lam[j].real)))
    else:
        k = int(torch.argmin((lam - 1j * omega).abs()))
        if float(lam[k].imag) <= 0:
            raise FHRNInputError(f"omega={omega}: no eigenvalue with positive imaginary part near i*omega")
    w = float(lam[k].imag)
    q = V[:, k] / torch.linalg.vector_norm(V[:, k]) / 2 ** 0.5
    lamT, U = torch.linalg.eig(A.T)
    p = U[:, int(torch.argmin((lamT - lam[k].conj()).abs()))]
    p = p / torch.vdot(p, q).conj()
    B, C = multilinear_forms(f, x)
    Ac = A.to(torch.complex128)
    eye = torch.eye(len(x), dtype=torch.complex128)
    qb = q.conj()
    t1 = torch.vdot(p, C(q, q, qb))
    message = ""
    try:
        h11 = torch.linalg.solve(Ac, B(q, qb))
        h20 = torch.linalg.solve(2j * w * eye - Ac, B(q, q))
    except RuntimeError:  # torch.linalg.LinAlgError subclasses RuntimeError
        return HopfNormalForm(float("nan"), w, "degenerate", float("nan"), _cvec(q), _cvec(p), float(lam[k].real),
                              residual, "the Jacobian is singular: a zero-Hopf point, l1 undefined")
    t2 = -2 * torch.vdot(p, B(q, h11))
    t3 = torch.vdot(p, B(qb, h20))
    l1 = float((t1 + t2 + t3).real) / (2 * w)
    if tol is None:
        tol = _REL_TOL * (1 + float(abs(t1) + abs(t2) + abs(t3))) / w
    if abs(l1) <= tol:
        crit, message = "degenerate", f"|l1| = {abs(l1):.3g} <= tol {tol:.3g}: a Bautin (generalised Hopf) point"
    else:
        crit = "supercritical" if l1 < 0 else "subcritical"
    return HopfNormalForm(l1, w, crit, float(tol), _cvec(q), _cvec(p), float(lam[k].real), residual, message)


def fold_normal_form(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *,
                     tol: float | None = None) -> FoldNormalForm:
    """Quadratic coefficient ``a = 1/2 <p, B(q, q)>`` of the fold of ``f`` at the equilibrium ``x``.

    Kuznetsov (3rd ed.) eq. (5.28); ``x' = mu - x^2`` gives ``a = -1`` (module docstring for the orientation).

    Args:
        f: single-state field ``(n,) -> (n,)`` (parameter fixed). x: the equilibrium ``(n,)``, float64.
        tol: ``|a| <= tol`` is degenerate (a cusp); None = 1e-7 times ``(1 + |B(q, q)| |p|)``.

    Returns:
        :class:`FoldNormalForm`; ``q`` is the eigenvector of the real eigenvalue closest to 0.

    Raises:
        FHRNInputError: ``f``/``x`` malformed, ``f(x)`` not finite, ``tol`` negative, or no real eigenvalue.
    """
    x, A, residual = _prepare(f, x)
    check_real("tol", tol, low=0.0, allow_none=True)
    lam, V = torch.linalg.eig(A)
    scale = 1 + float(lam.abs().max())
    real = [k for k in range(len(lam)) if abs(float(lam[k].imag)) <= 1e-12 * scale]
    if not real:
        raise FHRNInputError(f"x: the Jacobian at x has no real eigenvalue (eigenvalues "
                             f"{[complex(z) for z in lam]}); not a fold point")
    k = min(real, key=lambda j: abs(float(lam[j].real)))
    q = V[:, k].real
    q = q / torch.linalg.vector_norm(q)
    if float(q[int(torch.argmax(q.abs()))]) < 0:
        q = -q
    lamT, U = torch.linalg.eig(A.T)
    p = U[:, int(torch.argmin((lamT - lam[k]).abs()))].real
    p = p / torch.dot(p, q)
    B, _ = multilinear_forms(f, x)
    bqq = B(q, q)
    a = 0.5 * float(torch.dot(p, bqq))
    if tol is None:
        tol = _REL_TOL * (1 + float(torch.linalg.vector_norm(bqq) * torch.linalg.vector_norm(p)))
    return FoldNormalForm(a, abs(a) <= tol, float(tol), q.tolist(), p.tolist(), float(lam[k].real), residual)
