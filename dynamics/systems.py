"""Reference dynamical systems with known dynamics, as ``nn.Module`` fields (ground truths of the analyses).

* :class:`LorenzField`: ``dx/dt = sigma (y - x)``, ``dy/dt = x (rho - z) - y``, ``dz/dt = x y - b z``.
  Its Jacobian has the constant trace ``-(sigma + 1 + b)``, so the Lyapunov exponents sum to exactly
  that; for ``(10, 28, 8/3)`` the largest exponent is about 0.906 (Sprott, *Chaos and Time-Series
  Analysis*, 2003).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch._C._functorch import is_functorch_wrapped_tensor

from fhrn_ode._errors import check_real

__all__ = ["LorenzField", "Lorenz96Field", "lorenz_jacobian", "LORENZ_LARGEST_EXPONENT"]

#: Largest Lyapunov exponent of the Lorenz system at sigma 10, rho 28, b 8/3 (literature value).
LORENZ_LARGEST_EXPONENT = 0.9056


class LorenzField(nn.Module):
    """The Lorenz system as a field ``forward(t, x)`` on states ``(..., 3)``.

    The buffer ``params`` ``(sigma, rho, b)`` may carry a leading family axis, ``(P, 3)``, with states
    ``(P, N, 3)`` (row block ``i`` uses member ``i``'s parameters): the dynamics tools' family path
    (``dynamics/_family.py``) then evaluates ``P`` members in one call.

    Args:
        sigma, rho, b: the parameters (defaults 10, 28, 8/3).
    """

    dim = 3

    def __init__(self, sigma: float = 10.0, rho: float = 28.0, b: float = 8.0 / 3.0) -> None:
        super().__init__()
        p = [check_real("sigma", sigma), check_real("rho", rho), check_real("b", b)]
        # (sigma, rho, b) as a buffer, so that a family of Lorenz fields stacks (torch.func.stack_module_state)
        self.register_buffer("params", torch.tensor(p, dtype=torch.float64))
        # vec(J(x)) = vec(L) + x @ D: L = [[-s, s, 0], [r, -1, 0], [0, 0, -b]] = vec1 + params @ P, D constant
        P = torch.zeros(3, 9, dtype=torch.float64)
        P[0, 0], P[0, 1], P[1, 3], P[2, 8] = -1.0, 1.0, 1.0, -1.0
        e = torch.zeros(9, dtype=torch.float64)
        e[4] = -1.0
        D = torch.zeros(3, 9, dtype=torch.float64)
        D[2, 3], D[0, 5], D[1, 6], D[0, 7] = -1.0, -1.0, 1.0, 1.0
        E = torch.tensor([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], dtype=torch.float64)  # [u v, u w] -> (0, -u w, u v)
        for name, v in dict(_P=P, _e=e, _D=D, _E=E).items():
            self.register_buffer(name, v, persistent=False)

    @property
    def sigma(self) -> float:
        """sigma (from the ``params`` buffer)."""
        return float(self.params[0])

    @property
    def rho(self) -> float:
        """rho (from the ``params`` buffer)."""
        return float(self.params[1])

    @property
    def b(self) -> float:
        """b (from the ``params`` buffer)."""
        return float(self.params[2])

    @property
    def trace(self) -> float:
        """``tr J = -(sigma + 1 + b)``, constant: the exact sum of the Lyapunov exponents."""
        return -(self.sigma + 1.0 + self.b)

    def _L(self) -> torch.Tensor:
        p = self.params
        if p.ndim > 1:  # a family: (P, 3) -> (P, 3, 3)
            return torch.addmm(self._e, p, self._P).view(-1, 3, 3)
        if is_functorch_wrapped_tensor(p) or p.requires_grad:  # inside vmap/grad (a stacked family): no cache
            return torch.addmv(self._e, self._P.t(), p).view(3, 3)
        return self._plain(p)[1]

    def _plain(self, p: torch.Tensor) -> tuple:
        """``(key, L, L^T contiguous, vec L, E, D)`` for plain (unbatched, no-grad) parameters ``p``: rebuilt
        when ``p`` changes (another tensor, an in-place edit, dtype or device), else read from a plain
        attribute (not a buffer: never stacked or saved). One lookup per call of ``forward``/``jacobian``."""
        key = (p.data_ptr(), p._version, p.dtype, p.device)
        cache = self.__dict__.get("_Lcache")
        if cache is None or cache[0] != key:
            L = torch.addmv(self._e, self._P.t(), p).view(3, 3)
            cache = (key, L, L.t().contiguous(), L.reshape(9), self._E, self._D)
            self.__dict__["_Lcache"] = cache
        return cache

    def _fast(self) -> tuple | None:
        """The cached constants when ``params`` is a plain 1-D tensor outside vmap/grad, else None."""
        p = self._buffers["params"]
        if p.ndim > 1 or p.requires_grad or is_functorch_wrapped_tensor(p):
            return None
        return self._plain(p)

    def forward(self, t, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            c = self._fast()
            if c is not None:  # the common case, one product each: x L^T + (u v, u w) E
                return torch.addmm(torch.mm(x, c[2]), x[:, :1] * x[:, 1:], c[4])
        q = x[..., :1] * x[..., 1:]  # (u v, u w)
        if self.params.ndim > 1:  # a family: x (P, N, 3), L (P, 3, 3)
            return torch.baddbmm(q @ self._E, x, self._L().mT)
        if x.ndim == 2:
            return torch.addmm(x @ self._L().t(), q, self._E)
        return x @ self._L().mT + q @ self._E

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Closed-form Jacobian at states ``(..., 3)`` -> ``(..., 3, 3)`` (torch; :func:`lorenz_jacobian` in numpy).

        The Lorenz field is quadratic, so ``J`` is affine in ``x``: ``vec J(x) = vec L + x D`` (one product).
        """
        if x.ndim == 2:
            c = self._fast()
            if c is not None:
                return torch.addmm(c[3], x, c[5]).view(-1, 3, 3)
        if self.params.ndim > 1:  # a family: x (P, N, 3) -> (P, N, 3, 3)
            vecL = self._L().reshape(-1, 1, 9)
            return torch.baddbmm(vecL, x, self._D.expand(x.shape[0], 3, 9)).view(*x.shape, 3)
        vecL = self._L().reshape(9)
        if x.ndim == 2:
            return torch.addmm(vecL, x, self._D).view(-1, 3, 3)
        return (vecL + x @ self._D).reshape(*x.shape[:-1], 3, 3)


#: Largest Lorenz-96 size whose Jacobian is one product ``-vec I + x D`` (``D`` is ``N x N^2``: 2 MB at 64).
_L96_AFFINE_MAX = 64


class Lorenz96Field(nn.Module):
    """Lorenz-96: ``dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F`` (indices mod N), states ``(..., N)``.

    Lorenz, Proc. ECMWF Seminar on Predictability (1996). Its Jacobian has the constant trace ``-N``, so the
    Lyapunov exponents sum to exactly ``-N``.

    Args:
        N: number of sites (>= 4). F: the forcing (default 8, chaotic).
    """

    def __init__(self, N: int = 40, F: float = 8.0) -> None:
        super().__init__()
        from fhrn_ode._errors import check_int

        self.dim = check_int("N", N, low=4)
        self.register_buffer("F", torch.tensor(check_real("F", F), dtype=torch.float64))
        i = torch.arange(self.dim)
        self.register_buffer("_i", i, persistent=False)
        self.register_buffer("_ip1", (i + 1) % self.dim, persistent=False)
        self.register_buffer("_im1", (i - 1) % self.dim, persistent=False)
        self.register_buffer("_im2", (i - 2) % self.dim, persistent=False)
        if self.dim <= _L96_AFFINE_MAX:  # J is affine in x: vec J = -vec I + x D (one product per call)
            n, ip1, im1, im2 = self.dim, (i + 1) % self.dim, (i - 1) % self.dim, (i - 2) % self.dim
            D = torch.zeros(n, n * n, dtype=torch.float64)
            D[im1, i * n + ip1] += 1.0
            D[im1, i * n + im2] -= 1.0
            D[ip1, i * n + im1] += 1.0
            D[im2, i * n + im1] -= 1.0
            self.register_buffer("_D", D, persistent=False)
            self.register_buffer("_c", -torch.eye(n, dtype=torch.float64).reshape(-1), persistent=False)

    def forward(self, t, x: torch.Tensor) -> torch.Tensor:
        return (x.roll(-1, -1) - x.roll(2, -1)) * x.roll(1, -1) - x + self.F.to(x.dtype)

    def jacobian_matmul(self, x: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        """``J(x) Q`` for states ``(B, N)`` and ``Q`` ``(B, N, k)`` -> ``(B, N, k)`` without forming ``J``.

        Row ``i`` of ``J Q`` is ``x_{i-1} (Q_{i+1} - Q_{i-2}) + (x_{i+1} - x_{i-2}) Q_{i-1} - Q_i`` (the 4
        nonzeros of row ``i`` of ``J``): ``O(N k)`` work instead of the ``O(N^2 k)`` of ``jacobian(x) @ Q``.
        The optional method the Lyapunov tangent path uses when a field has it (docs/dynamics.md). Up to
        ``N = 64`` it is ``jacobian(x) @ Q`` (two kernels, one product each: at these sizes a kernel's fixed cost,
        not its flops, sets the time: the sparse form measured 36 us against 36 us per call at ``N = 40``).
        """
        if x.shape[-1] <= _L96_AFFINE_MAX:
            return torch.bmm(self.jacobian(x), Q)
        out = Q.roll(-1, -2).sub_(Q.roll(2, -2)).mul_(x.roll(1, -1).unsqueeze(-1)).sub_(Q)  # in place on a fresh roll
        return out.addcmul_((x.roll(-1, -1) - x.roll(2, -1)).unsqueeze(-1), Q.roll(1, -2))

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Closed-form Jacobian at states ``(B, N)`` -> ``(B, N, N)``."""
        B, N = x.shape
        if N <= _L96_AFFINE_MAX:
            return torch.addmm(self._c.to(x.dtype), x, self._D.to(x.dtype)).view(B, N, N)
        J = torch.zeros(B, N, N, dtype=x.dtype, device=x.device)
        J[:, self._i, self._i] = -1.0
        J[:, self._i, self._ip1] = x[:, self._im1]
        J[:, self._i, self._im2] = -x[:, self._im1]
        J[:, self._i, self._im1] = x[:, self._ip1] - x[:, self._im2]
        return J


def lorenz_jacobian(x: np.ndarray, sigma: float = 10.0, rho: float = 28.0, b: float = 8.0 / 3.0) -> np.ndarray:
    """Closed-form Jacobian of :class:`LorenzField` at ``x`` ``(..., 3)`` (numpy), ``(..., 3, 3)``."""
    x = np.asarray(x, dtype=np.float64)
    J = np.zeros(x.shape[:-1] + (3, 3))
    J[..., 0, 0], J[..., 0, 1] = -sigma, sigma
    J[..., 1, 0], J[..., 1, 1], J[..., 1, 2] = rho - x[..., 2], -1.0, -x[..., 0]
    J[..., 2, 0], J[..., 2, 1], J[..., 2, 2] = x[..., 1], x[..., 0], -b
    return J
