"""`fhrn-ode integrate --y0`: explicit initial states (inline or a file), exact, and bad input (exit 2, one line)."""

import json

import numpy as np
import pytest

from fhrn_ode import FHRNParams, ring_radius
from fhrn_ode.cli import main
from fhrn_ode.cli._y0 import format_y0, parse_y0

STATES = np.array([[0.3, -1.25], [1.7, 0.1], [-0.02, 0.9]])
R_STAR = ring_radius(10.0, 1.0, 1.0)  # sqrt(theta^2 - leak/kappa): the antisym ring at the defaults


def _run(tmp_path, *extra, name="run"):
    out = tmp_path / name
    code = main(["integrate", "--wr", "antisym", "--t1", "20", "--n-points", "11", "--out", str(out), "--no-plot",
                 "--json", *extra])
    return code, np.load(out / "trajectory.npz"), json.loads((out / "summary.json").read_text())


def test_inline_states_are_the_initial_states_bit_for_bit(tmp_path, capsys):
    code, z, s = _run(tmp_path, "--y0", format_y0(STATES))
    assert code == 0
    assert np.array_equal(z["y0"], STATES) and np.array_equal(z["y"][0], STATES)  # y(0) = y0 exactly
    assert s["n_init"] == 3 and z["y"].shape == (11, 3, 2)
    np.testing.assert_allclose(s["final_norm"], R_STAR, atol=1e-6)  # every state ends on the analytic ring


def test_format_y0_round_trips_any_float_exactly():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 4)) * 10.0 ** rng.integers(-12, 12, (5, 4))
    assert np.array_equal(parse_y0(format_y0(a)), a)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv", ".txt", ".json", ".json-object"])
def test_every_file_form_gives_the_same_run_as_inline(tmp_path, capsys, suffix):
    p = tmp_path / f"y0{suffix.split('-')[0]}"
    if suffix == ".npy":
        np.save(p, STATES)
    elif suffix == ".npz":
        np.savez(p, y0=STATES, other=np.zeros(3))
    elif suffix in (".csv", ".txt"):
        np.savetxt(p, STATES, delimiter="," if suffix == ".csv" else " ", fmt="%.17g")
    else:
        p.write_text(json.dumps({"y0": STATES.tolist()} if suffix == ".json-object" else STATES.tolist()))
    _, z_file, s_file = _run(tmp_path, "--y0", str(p), name="file")
    _, z_inline, s_inline = _run(tmp_path, "--y0", format_y0(STATES), name="inline")
    assert np.array_equal(z_file["y0"], STATES)
    assert np.array_equal(z_file["y"], z_inline["y"]) and s_file["final_norm"] == s_inline["final_norm"]


def test_one_state_and_a_1d_file_are_one_trajectory(tmp_path, capsys):
    p = tmp_path / "one.npy"
    np.save(p, np.array([0.5, 0.5]))
    for y0 in ("0.5,0.5", str(p)):
        code, z, s = _run(tmp_path, "--y0", y0, name=f"r{len(y0)}")
        assert code == 0 and z["y0"].shape == (1, 2) and s["n_init"] == 1


def test_y0_with_the_field_is_the_library_integrate(tmp_path, capsys):
    import torch

    from fhrn_ode import integrate
    from fhrn_ode.operators import make_operator

    _, z, _ = _run(tmp_path, "--y0", format_y0(STATES), "--gamma", "0.7", "--rtol", "1e-8", "--atol", "1e-10")
    W = make_operator("antisym", 2, seed=0)
    ref = integrate(W, torch.as_tensor(STATES), params=FHRNParams(gamma=0.7), t1=20.0, n_points=11, rtol=1e-8,
                    atol=1e-10)
    assert np.array_equal(z["y"], ref.y.numpy())


def _refused(tmp_path, capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["integrate", "--wr", "antisym", "--out", str(tmp_path / "no"), "--no-plot", *argv]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "--y0" in err
    assert not (tmp_path / "no").exists()
    return err


@pytest.mark.parametrize("argv, needle", [
    (["--y0", "1,2,3"], "states have 3 coordinates but the operator W* is 2 x 2"),
    (["--y0", "1,2;3"], "same d in every state"),
    (["--y0", "1,abc"], "state '1,abc' is not comma-separated numbers"),
    (["--y0", ";"], "`--y0` is empty"),
    (["--y0", "1,nan"], "must be finite; it has 1 NaN/inf entries"),
    (["--y0", "1,inf;2,2"], "must be finite; it has 1 NaN/inf entries"),
    (["--y0", "missing.npy"], "does not exist"),
    (["--y0", "missing.json"], "does not exist"),
    (["--y0", "1,2", "--n-init", "4"], "drop --n-init"),
    (["--y0", "1,2", "--init-radius", "1"], "drop --init-radius"),
    (["--y0", "1,2", "--n-init", "4", "--init-radius", "1"], "drop --n-init and --init-radius"),
    (["--y0", "1,2", "--grid", "gamma=0:1:3"], "drop --grid"),
])
def test_bad_y0_is_one_line_naming_the_flag(tmp_path, capsys, argv, needle):
    assert needle in _refused(tmp_path, capsys, *argv)


def test_unreadable_files_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy at all")
    assert "could not be read" in _refused(tmp_path, capsys, "--y0", str(bad))
    js = tmp_path / "bad.json"
    js.write_text("{ nope")
    assert "is not valid JSON" in _refused(tmp_path, capsys, "--y0", str(js))
    obj = tmp_path / "obj.json"
    obj.write_text('{"x": [[1, 2]]}')
    assert "without the key 'y0'" in _refused(tmp_path, capsys, "--y0", str(obj))
    npz = tmp_path / "k.npz"
    np.savez(npz, W=np.eye(2))
    assert "y0" in _refused(tmp_path, capsys, "--y0", str(npz))
    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((2, 2, 2)))
    assert "shape (N, d)" in _refused(tmp_path, capsys, "--y0", str(cube))


def test_a_state_starting_with_a_minus_sign_is_a_value_not_a_flag(tmp_path, capsys):
    code, z, _ = _run(tmp_path, "--y0", "-1.1,0.7;-0.25,-2")  # as explore exports a click left of the origin
    assert code == 0 and np.array_equal(z["y0"], [[-1.1, 0.7], [-0.25, -2.0]])
