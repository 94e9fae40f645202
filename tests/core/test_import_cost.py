"""Start-up: the main job's imports (docs/performance.md, "Start-up")."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CODE = r"""
import sys

import pytest
import fhrn_ode.integration, fhrn_ode.solver, fhrn_ode.figures.trajectories
heavy = [m for m in ("scipy.integrate", "sympy", "scipy.stats", "scipy.signal") if m in sys.modules]
assert not heavy, heavy
import torch, torchdiffeq
y = torchdiffeq.odeint(lambda t, y: -y, torch.ones(2, dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64),
                       method="scipy_solver", rtol=1e-10, atol=1e-12, options={"solver": "RK45"})
assert abs(float(y[-1, 0]) - 0.36787944117144233) < 1e-8, y
import scipy.integrate
assert hasattr(scipy.integrate, "quad") and scipy.integrate.solve_ivp.__module__.startswith("scipy.")
print("ok")
"""


@pytest.mark.slow  # a fresh interpreter imports torch and matplotlib: seconds
def test_main_job_imports_neither_scipy_integrate_nor_sympy_and_scipy_solver_still_works():
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
