"""The spectral abscissa ``rho(M) = max_i Re lambda_i(M)``: its one home (docs/model.md §1, §5; C 10-11).

:func:`spectral_abscissa` is batched over leading dimensions ``(..., d, d)`` (numpy or torch input):

* d = 2: vectorised closed form. With ``M = [[a, b], [c, e]]``, ``tr/2 = (a + e)/2`` and
  ``disc = tr^2/4 - det = ((a - e)/2)^2 + b c`` (this form avoids the cancellation of
  ``tr^2/4 - det``): ``lambda = tr/2 +- sqrt(disc)`` and ``rho = tr/2 + Re sqrt(disc)``.
* d > 2: :func:`batched_eigvals`, ``torch.linalg.eigvals`` (LAPACK geev) on chunks of the batch run in
  a thread pool (torch releases the GIL, so chunks run on separate cores).

Non-finite matrices give NaN. ``fhrn_ode.operators.spectral_abscissa``,
``fhrn_ode.analysis.spectral_abscissa`` and ``fhrn_ode.analysis.batched_spectral_abscissa`` are this function.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._errors import FHRNInputError, check_int

__all__ = ["eigvals_2x2", "spectral_abscissa_2x2", "batched_eigvals", "spectral_abscissa", "abscissa_of_eigvals"]


def _to_numpy(J) -> np.ndarray:
    if hasattr(J, "detach"):
        return J.detach().cpu().numpy()
    return np.asarray(J, dtype=np.float64)


def eigvals_2x2(J) -> np.ndarray:
    """Both eigenvalues of each 2x2 matrix in ``(..., 2, 2)`` (closed form), complex ``(..., 2)``."""
    J = np.asarray(J, dtype=np.float64)
    if J.shape[-2:] != (2, 2):
        raise FHRNInputError(f"`J` must have shape (..., 2, 2), got {J.shape}")
    a, b, c, e = J[..., 0, 0], J[..., 0, 1], J[..., 1, 0], J[..., 1, 1]
    h = 0.5 * (a - e)
    s = np.sqrt((h * h + b * c).astype(np.complex128))
    m = 0.5 * (a + e)
    return np.stack([m + s, m - s], axis=-1)


def spectral_abscissa_2x2(J) -> np.ndarray:
    """``rho = tr/2 + Re sqrt(tr^2/4 - det)`` for each 2x2 matrix (real arithmetic only)."""
    J = np.asarray(J, dtype=np.float64)
    if J.shape[-2:] != (2, 2):
        raise FHRNInputError(f"`J` must have shape (..., 2, 2), got {J.shape}")
    a, b, c, e = J[..., 0, 0], J[..., 0, 1], J[..., 1, 0], J[..., 1, 1]
    h = 0.5 * (a - e)
    disc = h * h + b * c
    return 0.5 * (a + e) + np.sqrt(np.maximum(disc, 0.0))


def batched_eigvals(J, *, workers: int | None = None, chunk: int | None = None) -> np.ndarray:
    """Eigenvalues of ``(..., d, d)`` real matrices, complex ``(..., d)``.

    Chunks of the batch go to ``torch.linalg.eigvals`` in ``workers`` threads (default: the number of
    CPUs available to this process), with torch's intra-op threads set to 1 meanwhile (process-global;
    restored on return). Each chunk gives exactly what ``torch.linalg.eigvals`` gives on it.
    """
    import torch

    Jn = _to_numpy(J)
    if Jn.ndim < 2 or Jn.shape[-1] != Jn.shape[-2]:
        raise FHRNInputError(f"`J` must have shape (..., d, d), got {Jn.shape}")
    shape, d = Jn.shape[:-2], Jn.shape[-1]
    flat = np.ascontiguousarray(Jn.reshape(-1, d, d))
    n = flat.shape[0]
    if n == 0:
        return np.zeros(shape + (d,), dtype=np.complex128)
    workers = len(os.sched_getaffinity(0)) if workers is None else check_int("workers", workers, low=1)
    if chunk is None:
        chunk = max(1, -(-n // (4 * workers)))
    chunk = check_int("chunk", chunk, low=1)
    Jt = torch.from_numpy(flat)
    out = np.empty((n, d), dtype=np.complex128)

    def one(i: int) -> None:
        out[i:i + chunk] = torch.linalg.eigvals(Jt[i:i + chunk]).numpy()

    starts = range(0, n, chunk)
    if workers == 1 or n <= chunk:
        for i in starts:
            one(i)
    else:
        # LAPACK's geev gains little from torch's intra-op threads: one thread per chunk, chunks in parallel
        # (measured 1.9x over the batched call on 2 cores at d = 192). Restored afterwards.
        old = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(workers) as ex:
                list(ex.map(one, starts))
        finally:
            torch.set_num_threads(old)
    return out.reshape(shape + (d,))


def abscissa_of_eigvals(ev) -> np.ndarray | np.float64:
    """``max_i Re lambda_i`` over the last axis of already computed eigenvalues ``(..., d)`` (complex).

    For callers that need the eigenvalues anyway (classification of equilibria): the same quantity as
    :func:`spectral_abscissa` without a second eigen-solve.
    """
    out = np.asarray(ev).real.max(axis=-1)
    return np.float64(out) if np.ndim(out) == 0 else out


def spectral_abscissa(M, *, workers: int | None = None):
    """``rho(M) = max_i Re lambda_i(M)`` of each matrix in ``(..., d, d)``.

    Args:
        M: real matrices ``(..., d, d)`` (numpy, torch or nested lists).
        workers: threads for :func:`batched_eigvals` (d > 2).

    Returns:
        A float (``numpy.float64``) for one ``(d, d)`` matrix, else an array of shape ``M.shape[:-2]``;
        NaN where a matrix is not finite. Closed form for d = 2, batched eigenvalues otherwise.

    Raises:
        FHRNInputError: if ``M`` is not ``(..., d, d)``.
    """
    Jn = _to_numpy(M)
    if Jn.ndim < 2 or Jn.shape[-1] != Jn.shape[-2]:
        raise FHRNInputError(f"`M` must have shape (..., d, d), got {Jn.shape}")
    finite = np.isfinite(Jn).all(axis=(-1, -2))
    safe = np.where(finite[..., None, None], Jn, 0.0)
    if Jn.shape[-1] == 2:
        rho = spectral_abscissa_2x2(safe)
    else:
        rho = abscissa_of_eigvals(batched_eigvals(safe, workers=workers))
    out = np.where(finite, rho, np.nan)
    return np.float64(out) if out.ndim == 0 else out
