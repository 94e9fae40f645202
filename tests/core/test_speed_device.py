"""Devices and float32 (issue 12 item 4): CPU by default, CUDA where present (skipped otherwise)."""

import numpy as np
import pytest
import torch

import fhrn_ode as F
from fhrn_ode import integrate, integrate_sweep
from fhrn_ode.integration import initial_conditions
from fhrn_ode.operators import make_operator

W2 = make_operator("antisym", 2, seed=0)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine (CPU-only torch)")


def test_default_device_is_the_inputs_or_cpu():
    res = integrate(W2, t1=1.0, n_points=5)
    assert res.y.device.type == "cpu" and res.t.device.type == "cpu"
    res2 = integrate(W2, initial_conditions(3, 2, 1.0), t1=1.0, n_points=5, device="cpu")
    assert res2.y.device.type == "cpu"


def test_cuda_request_without_gpu_is_one_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(F.FHRNInputError, match="no CUDA GPU is available"):
        integrate(W2, device="cuda")
    with pytest.raises(F.FHRNInputError, match="`device` must be"):
        integrate(W2, device="tpu9")


def test_float32_has_a_stated_tolerance_floor():
    with pytest.raises(F.FHRNInputError, match="float32 floor 1e-6"):
        integrate(W2, dtype=torch.float32)
    r32 = integrate(W2, dtype=torch.float32, rtol=1e-5, atol=1e-7, t1=5.0, n_points=11)
    r64 = integrate(W2, rtol=1e-5, atol=1e-7, t1=5.0, n_points=11)
    assert r32.y.dtype == torch.float32 and r32.status == "success"
    np.testing.assert_allclose(r32.y.numpy(), r64.y.numpy(), atol=1e-4)


@cuda
def test_cuda_matches_cpu():
    y0 = initial_conditions(16, 2, 2.0, seed=0)
    cpu = integrate(W2, y0, t1=5.0, n_points=21)
    gpu = integrate(W2, y0.cuda(), t1=5.0, n_points=21)
    assert gpu.y.device.type == "cuda"
    np.testing.assert_allclose(gpu.y.cpu().numpy(), cpu.y.numpy(), atol=1e-9)
    sw = integrate_sweep(torch.as_tensor(W2).cuda(), y0, gamma=[0.5, 1.0], t1=2.0, n_points=5)
    assert sw.y.device.type == "cuda"


def test_sweep_runs_on_the_requested_cpu_device():
    sw = integrate_sweep(W2, initial_conditions(2, 2, 1.0), gamma=[0.5, 1.0], t1=1.0, n_points=5, device="cpu")
    assert sw.y.device.type == "cpu"
