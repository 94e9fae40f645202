"""Jacobians and spectra (analysis/jacobians.py, analysis/spectra.py): autograd vs closed form, closed-form /
batched eigenvalues vs numpy, the ring-system facts (C 10-11)."""

import math

import numpy as np
import pytest
import torch

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.analysis import (batched_eigvals, batched_spectral_abscissa, eigvals_2x2, fhrn_jacobian, henrici,
                               jacobian, local_stability, log_norm, planar_jacobian, spectral_abscissa,
                               spectral_abscissa_2x2,
                               spectral_map, trajectory_spectra)
from fhrn_ode.field import FHRNField
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams, ring_radius


@pytest.mark.parametrize("beta", [0.0, 0.7, 3.0])
@pytest.mark.parametrize("d", [2, 5])
def test_autograd_jacobian_equals_closed_form(beta, d):
    f = FHRNField(make_operator("random", d, seed=1), FHRNParams(gamma=1.3, kappa=4.0, beta=beta, drive=0.2))
    pts = np.random.default_rng(0).standard_normal((20, d)) * 1.2
    assert torch.allclose(jacobian(f, pts), fhrn_jacobian(f, pts), atol=1e-10, rtol=0)


def test_jacobian_of_plain_callable():
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    J = jacobian(lambda y: A @ y + y ** 3, np.array([[1.0, 2.0], [0.0, -1.0]]))
    want = A + torch.diag_embed(3 * torch.tensor([[1.0, 4.0], [0.0, 1.0]], dtype=torch.float64))
    assert torch.allclose(J, want, atol=1e-12)


def test_closed_form_2x2_and_batched_agree_with_numpy():
    rng = np.random.default_rng(3)
    J2 = rng.standard_normal((500, 2, 2)) * 3
    ref2 = np.linalg.eigvals(J2)
    assert np.max(np.abs(spectral_abscissa_2x2(J2) - ref2.real.max(-1))) < 1e-10
    lam = eigvals_2x2(J2)
    # same multiset of eigenvalues: compare sorted by (real, imag)
    key = lambda z: np.sort_complex(np.round(z, 12))  # noqa: E731
    assert np.max(np.abs(key(lam) - key(ref2))) < 1e-10
    Jd = rng.standard_normal((30, 12, 12))
    ref = np.linalg.eigvals(Jd).real.max(-1)
    assert np.max(np.abs(batched_spectral_abscissa(Jd) - ref)) < 1e-10
    assert np.max(np.abs(batched_eigvals(Jd, workers=2, chunk=7).real.max(-1) - ref)) < 1e-10
    assert np.max(np.abs(batched_eigvals(Jd, workers=1).real.max(-1) - ref)) < 1e-10


def test_log_norm_and_henrici():
    N = np.array([[-1.0, -2.0], [2.0, -1.0]])  # normal: rotation + scalar
    assert abs(henrici(N)) < 1e-12
    assert abs(log_norm(N) - spectral_abscissa(N)) < 1e-12
    T = np.array([[-1.0, 10.0], [0.0, -1.0]])  # Jordan-like, far from normal
    assert abs(log_norm(T) - 4.0) < 1e-12  # eig of [[-1,5],[5,-1]] = 4, -6
    assert abs(henrici(T) - 10.0 / math.sqrt(102.0)) < 1e-12
    assert float(henrici(np.zeros((2, 2)))) == 0.0


def test_ring_facts_antisymmetric():
    """rho at the ring = -kappa r*^2 + sqrt(kappa^2 r*^4 - gamma^2) < 0; the zero contour is inside the ring."""
    p = FHRNParams(gamma=2.0, kappa=10.0)
    f = FHRNField(make_operator("antisym", 2), p)
    r = ring_radius(p.kappa, p.theta, p.leak)
    assert abs(r - math.sqrt(0.9)) < 1e-15
    ang = np.linspace(0, 2 * np.pi, 7)
    pts = r * np.stack([np.cos(ang), np.sin(ang)], -1)
    rho = spectral_abscissa(fhrn_jacobian(f, pts))
    want = -p.kappa * r * r + math.sqrt((p.kappa * r * r) ** 2 - p.gamma ** 2)
    assert want < 0 and np.max(np.abs(rho - want)) < 1e-12
    from fhrn_ode.analysis.paper import antisym_zero_contour_radius

    rz = antisym_zero_contour_radius(p)
    assert 0 < rz < r
    assert abs(float(spectral_abscissa(fhrn_jacobian(f, [rz, 0.0]))[0])) < 1e-9
    ls = local_stability(f, pts)
    assert ls.stable.all() and np.allclose(ls.spectral_abscissa, want, atol=1e-12)


def test_spectral_map_layout_plane_and_pole():
    f = FHRNField(make_operator("mixed", 2, seed=2), FHRNParams())
    m = spectral_map(f, extent=1.5, n=9)
    assert m.spectral_abscissa.shape == (9, 9) and m.method == "closed-form-2x2"
    i, j = 2, 6
    J = fhrn_jacobian(f, [m.y1[j], m.y2[i]]).numpy()[0]
    assert abs(m.spectral_abscissa[i, j] - np.linalg.eigvals(J).real.max()) < 1e-10
    # d > 2 on a plane through an origin
    f5 = FHRNField(make_operator("random", 5, seed=0), FHRNParams(beta=0.5))
    o = np.full(5, 0.1)
    B = np.zeros((5, 2)); B[1, 0] = 1; B[3, 1] = 2.0  # noqa: E702 - orthogonalised to unit columns
    m5 = spectral_map(f5, extent=1.0, n=5, origin=o, basis=B)
    y = o + m5.y1[4] * np.eye(5)[1] + m5.y2[0] * np.eye(5)[3]
    ref = np.linalg.eigvals(fhrn_jacobian(f5, y).numpy()[0]).real.max()
    assert m5.method == "batched-eigvals" and abs(m5.spectral_abscissa[0, 4] - ref) < 1e-10
    # gain pole: beta = 2 puts it at |y| = sqrt(1/2); a grid point on it is NaN, not inf
    fp = FHRNField(make_operator("antisym", 2), FHRNParams(beta=2.0))
    mp = spectral_map(fp, extent=math.sqrt(0.5), n=3)  # corners... (±r, 0) lie on the pole
    assert np.isnan(mp.spectral_abscissa[1, 0]) and mp.n_nan >= 4
    assert not np.isinf(mp.spectral_abscissa).any()
    # beta = 1: g = 1/|y|^2, the pole is the origin, the centre of an odd grid; every other cell is finite
    for method_d in (2, 3):
        f1 = FHRNField(make_operator("antisym", method_d), FHRNParams(beta=1.0))
        m1 = spectral_map(f1, extent=1.0, n=5)
        assert np.isnan(m1.spectral_abscissa[2, 2]) and m1.n_nan == 1
        assert np.isfinite(np.delete(m1.spectral_abscissa.ravel(), 12)).all()
    with pytest.raises(FHRNInputError, match="extent"):
        spectral_map(f, extent=-1.0)
    with pytest.raises(FHRNInputError, match="basis"):
        spectral_map(f5, basis=np.ones((5, 2)))


def test_trajectory_spectra_and_bad_inputs():
    f = FHRNField(make_operator("antisym", 2), FHRNParams())
    y = np.random.default_rng(0).standard_normal((4, 3, 2))
    ts = trajectory_spectra(f, np.arange(4.0), y)
    assert ts.spectral_abscissa.shape == (4, 3) and np.all(ts.log_norm >= ts.spectral_abscissa - 1e-12)
    with pytest.raises(FHRNInputError, match="points"):
        jacobian(f, np.full((2, 2), np.nan))
    with pytest.raises(FHRNInputError, match="shape"):
        spectral_abscissa(np.zeros((3, 2)))
    with pytest.raises(FHRNInputError, match="callable"):
        jacobian(3, np.zeros(2))


@pytest.mark.parametrize("beta", [0.0, 0.6, 2.5])
def test_planar_jacobian_equals_field_jacobian(beta):
    f = FHRNField(make_operator("mixed", 2, seed=4), FHRNParams(gamma=1.7, kappa=3.0, beta=beta, drive=0.3))
    y = np.random.default_rng(1).standard_normal((40, 2))
    Jp = planar_jacobian(f, y[:, 0], y[:, 1])
    assert Jp.shape == (40, 2, 2)
    ok = np.isfinite(Jp).all(axis=(1, 2))
    assert np.max(np.abs(Jp[ok] - f.jacobian(torch.as_tensor(y[ok])).numpy())) < 1e-12
