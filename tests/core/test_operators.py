"""Operator constructors, loading from files, decomposition and validation."""

import pickle

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

import fhrn_ode as F
from fhrn_ode import FHRNInputError


@pytest.mark.parametrize("kind", F.OPERATOR_KINDS)
@pytest.mark.parametrize("dim", [2, 3, 16])
def test_constructors_are_seeded_and_scaled(kind, dim):
    W = F.make_operator(kind, dim, seed=3, scale=1.7)
    assert W.shape == (dim, dim) and W.dtype == np.float64
    assert np.linalg.norm(W, 2) == pytest.approx(1.7, rel=1e-12)
    np.testing.assert_array_equal(W, F.make_operator(kind, dim, seed=3, scale=1.7))
    assert not np.array_equal(W, F.make_operator(kind, dim, seed=4, scale=1.7)) or kind == "antisym" and dim == 2
    Wa, Ws = F.decompose(W)
    np.testing.assert_allclose(Wa + Ws, W, atol=1e-15)
    np.testing.assert_allclose(Wa, -Wa.T)
    np.testing.assert_allclose(Ws, Ws.T)
    if kind == "antisym":
        assert np.abs(Ws).max() == 0.0
    if kind == "sym":
        assert np.abs(Wa).max() == 0.0
    if kind == "mixed":
        assert np.linalg.norm(Wa, 2) > 0.1 and np.linalg.norm(Ws, 2) > 0.1


def test_two_dimensional_antisym_is_the_rotation_generator():
    W = F.make_operator("antisym", 2, seed=0)
    assert np.allclose(np.abs(W), [[0, 1], [1, 0]])
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(W).imag), [-1, 1], atol=1e-15)


def test_operator_info_matches_numpy():
    W = F.make_operator("mixed", 5, seed=1, scale=2.0)
    info = F.operator_info(W, "mixed")
    Wa, Ws = F.decompose(W)
    assert info.norm2 == pytest.approx(2.0)
    assert info.antisym_norm == pytest.approx(np.linalg.norm(Wa, 2))
    assert info.sym_norm == pytest.approx(np.linalg.norm(Ws, 2))
    assert info.spectral_abscissa == pytest.approx(np.linalg.eigvals(W).real.max())
    assert set(info.to_dict()) == {"name", "dim", "norm2", "spectral_abscissa", "antisym_norm", "sym_norm"}


def test_load_from_every_supported_format(tmp_path):
    W = F.make_operator("random", 4, seed=2)
    np.save(tmp_path / "w.npy", W)
    np.savez(tmp_path / "w.npz", W=W)
    save_file({"W": W}, str(tmp_path / "w.safetensors"))
    np.savetxt(tmp_path / "w.csv", W, delimiter=",")
    np.savetxt(tmp_path / "w.txt", W)
    for name in ("w.npy", "w.npz", "w.safetensors", "w.csv", "w.txt"):
        got = F.load_operator(tmp_path / name)
        np.testing.assert_allclose(got, W, rtol=1e-15 if not name.endswith(("csv", "txt")) else 1e-12)
        assert F.resolve_operator(str(tmp_path / name))[1].shape == (4, 4)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: np.save(p / "x.npy", np.ones((2, 3))), "must be square"),
        (lambda p: np.save(p / "x.npy", np.array([[1.0, np.nan], [0, 1]])), "must be finite"),
        (lambda p: np.save(p / "x.npy", np.ones(3)), "2-D matrix"),
        (lambda p: np.savez(p / "x.npz", A=np.eye(2)), "no array 'W'"),
        (lambda p: save_file({"M": np.eye(2)}, str(p / "x.safetensors")), "no tensor 'W'"),
        (lambda p: (p / "x.npy").write_bytes(b"garbage, not numpy"), "could not be read"),
        (lambda p: (p / "x.safetensors").write_bytes(b"\x00\x01corrupt"), "could not be read"),
        (lambda p: (p / "x.csv").write_text("1,2\nfoo,4\n"), "could not be read"),
        (lambda p: (p / "x.pt").write_bytes(b"x"), "unsupported suffix"),
    ],
)
def test_bad_files_are_refused_with_one_clear_message(tmp_path, make, match):
    make(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(FHRNInputError, match=match):
        F.load_operator(path)


def test_pickled_npy_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    arr = np.empty(1, dtype=object)
    arr[0] = Evil()
    with open(tmp_path / "evil.npy", "wb") as fh:
        np.lib.format.write_array(fh, arr, allow_pickle=True)
    with pytest.raises(FHRNInputError, match="could not be read"):
        F.load_operator(tmp_path / "evil.npy")
    assert not marker.exists()
    (tmp_path / "evil.safetensors").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(FHRNInputError):
        F.load_operator(tmp_path / "evil.safetensors")
    assert not marker.exists()


def test_missing_file_wrong_dim_and_unknown_kind():
    with pytest.raises(FHRNInputError, match="does not exist"):
        F.load_operator("/nonexistent/W.npy")
    with pytest.raises(FHRNInputError, match="the dimension is 3"):
        F.check_matrix(np.eye(2), "W", dim=3)
    with pytest.raises(FHRNInputError, match="must be one of antisym, sym, mixed, random"):
        F.resolve_operator("spiral")
    with pytest.raises(FHRNInputError, match="must be one of"):
        F.make_operator("spiral", 2)
    with pytest.raises(FHRNInputError, match="`dim` must be >= 2"):
        F.make_operator("antisym", 1)
    with pytest.raises(FHRNInputError, match="`scale` must be >= 0"):
        F.make_operator("sym", 3, scale=-1.0)
    with pytest.raises(FHRNInputError, match="must be square"):
        F.FHRNField(torch.ones(2, 3))
