"""Import torchdiffeq without importing ``scipy.integrate`` (docs/performance.md, "Start-up").

``torchdiffeq/_impl/scipy_wrapper.py`` runs ``from scipy.integrate import solve_ivp`` at import time, only
for its ``method='scipy_solver'``; ``scipy.integrate`` (with ``scipy.optimize`` and ``scipy.special``)
costs ~0.6 s, a quarter of ``import torch``, in every command that integrates. :func:`import_torchdiffeq`
imports torchdiffeq while ``sys.modules['scipy.integrate']`` is a stand-in whose ``solve_ivp`` imports
the real ``scipy.integrate.solve_ivp`` on its first call, and removes the stand-in right after: every
later ``import scipy.integrate`` gets the real module, and ``method='scipy_solver'`` works unchanged
(tests/core/test_threads.py). When torchdiffeq or ``scipy.integrate`` is already imported, it is a
plain import.
"""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["import_torchdiffeq"]


def _solve_ivp(*args, **kwargs):
    """``scipy.integrate.solve_ivp``, imported on the first call (torchdiffeq's ``scipy_solver``)."""
    from scipy.integrate import solve_ivp

    return solve_ivp(*args, **kwargs)


def import_torchdiffeq() -> types.ModuleType:
    """``import torchdiffeq`` without importing ``scipy.integrate`` (module docstring); returns the module."""
    if "torchdiffeq" in sys.modules or "scipy.integrate" in sys.modules:
        return importlib.import_module("torchdiffeq")
    stand_in = types.ModuleType("scipy.integrate", "stand-in while torchdiffeq is imported (fhrn_ode._torchdiffeq)")
    stand_in.solve_ivp = _solve_ivp
    sys.modules["scipy.integrate"] = stand_in
    try:
        return importlib.import_module("torchdiffeq")
    finally:
        if sys.modules.get("scipy.integrate") is stand_in:
            del sys.modules["scipy.integrate"]
        scipy = sys.modules.get("scipy")
        if scipy is not None and getattr(scipy, "__dict__", {}).get("integrate") is stand_in:
            del scipy.integrate
