"""fhrn_ode.explore without a browser: control validation, the numbers behind the plane, the API's answers
to bad input, the bind address, and Ctrl-C/SIGTERM of the server."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.explore import parse_view, point_of, portrait, stability_test, trajectory, view_plane

pytest.importorskip("starlette", reason="the explorer's server needs the `explore` extra (starlette, uvicorn, plotly)")


@pytest.mark.parametrize("data, match", [
    ({"gamma": "abc"}, r"`gamma` must be a number, got 'abc'"),
    ({"gamma": -1}, r"`gamma` must be >= 0, got -1"),
    ({"kappa": ""}, r"`kappa` is empty"),
    ({"beta": "nan"}, r"`beta` must be finite"),
    ({"n_init": 1.5}, r"`n_init` must be a whole number"),
    ({"n_init": 100000}, r"`n_init` must be <= 256 in the explorer"),
    ({"t1": 0}, r"`t1` must be > 0"),
    ({"memory": "slots"}, r"memory"),
    ({"bogus": 1}, r"unknown control\(s\) bogus"),
    ({"wr": ""}, r"`wr` must name an operator"),
])
def test_bad_controls_raise_a_message_naming_the_control(data, match):
    with pytest.raises(FHRNInputError, match=match):
        parse_view(data)


def test_point_must_be_two_numbers():
    assert point_of({"point": ["0.5", 1]}) == (0.5, 1.0)
    with pytest.raises(FHRNInputError, match=r"`point` must be two numbers"):
        point_of({"point": [1]})
    with pytest.raises(FHRNInputError, match=r"`point\[1\]` must be a number"):
        point_of({"point": [1, "x"]})


def test_antisym_batch_ends_on_the_ring_and_the_command_names_every_number():
    spec = parse_view({"n_init": 8, "t1": 10, "rtol": 1e-7, "atol": 1e-9})
    p = portrait(spec)
    r_star = math.sqrt(1.0 - 1.0 / 10.0)  # sqrt(theta^2 - leak/kappa), docs/model.md §1 (analytic)
    assert p["status"] == "success" and p["messages"] == []
    assert p["ring_radius"] == pytest.approx(r_star, abs=1e-15)
    assert np.allclose(p["final_norm"], r_star, atol=1e-5)
    for flag in ("--wr antisym", "--gamma 1.0", "--kappa 10.0", "--n-init 8", "--rtol 1e-07", "--t1 10.0", "--seed 0"):
        assert flag in p["command"]
    assert json.loads(json.dumps(p))["dim"] == 2  # JSON-ready


def test_clicked_trajectory_converges_to_the_ring_and_V_to_zero():
    spec = parse_view({"rtol": 1e-8, "atol": 1e-10})
    q = trajectory(spec, (1.5, -0.4))
    assert q["final_norm"] == pytest.approx(math.sqrt(0.9), abs=1e-6)
    assert q["V"][0] == pytest.approx(0.25 * (1.5 ** 2 + 0.4 ** 2 - 1.0) ** 2, rel=1e-6)  # C 13 at y0
    assert q["V"][-1] == pytest.approx(0.25 * (0.9 - 1.0) ** 2, rel=1e-5)  # on the ring |y|^2 = 0.9, not theta^2


def test_memory_view_is_the_integrate_command_with_memory(capsys, tmp_path):
    from fhrn_ode.cli import main

    p = portrait(parse_view({"memory": "hebbian", "n_init": 4, "t1": 3, "gamma": 0.8}))
    argv = p["command"].split()[1:]
    assert "--memory" in argv and argv[argv.index("--memory") + 1] == "hebbian"
    argv[argv.index("--out") + 1] = str(tmp_path / "run")
    assert main(argv) == 0
    got = json.loads(capsys.readouterr().out)["final_norm"]
    assert np.allclose(got, p["final_norm"], rtol=0, atol=1e-12)
    assert p["params"]["memory"] == "hebbian" and p["status"] == "success"


def test_pole_gives_the_pole_message_and_no_stability_test():
    spec = parse_view({"beta": 2, "kappa": 2, "n_init": 4, "t1": 2})
    p = portrait(spec)
    kinds = [m["kind"] for m in p["messages"]]
    assert "pole" in kinds and p["status"] == "diverged"
    assert p["pole_radius"] == pytest.approx(math.sqrt(0.5))
    t = stability_test(spec)
    assert not t["ok"] and "gain pole" in t["text"]


def test_plane_for_d_gt_2_is_the_invariant_plane_of_the_leading_complex_pair():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((6, 6))
    lam = np.linalg.eigvals(W)
    top = lam[np.argmax(lam.real)]
    assert abs(top.imag) > 1e-3  # this draw's leading eigenvalue is a complex pair
    o, B, _ = view_plane(W)
    assert np.allclose(o, 0) and np.allclose(B.T @ B, np.eye(2), atol=1e-12)
    M = B.T @ W @ B  # W maps the plane into itself: W B = B M, eigenvalues of M = the pair
    assert np.allclose(W @ B, B @ M, atol=1e-10)
    assert np.allclose(np.sort_complex(np.linalg.eigvals(M)), np.sort_complex(np.array([top, top.conj()])), atol=1e-9)


def _answer(name, body):
    from fhrn_ode.explore.server import _answer

    code, text = _answer(name, body if isinstance(body, bytes) else json.dumps(body).encode())
    return code, json.loads(text)


def test_api_answers_bad_input_with_one_line_and_keeps_going(tmp_path):
    bad_npy = tmp_path / "W.npy"
    bad_npy.write_bytes(b"not a numpy file")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{ not json")
    cases = [({"gamma": "abc"}, r"`gamma` must be a number"), ({"kappa": -3}, r"`kappa` must be >= 0"),
             ({"wr": str(bad_npy)}, r"W\.npy"), ({"wr": str(ckpt)}, r"ckpt|config"),
             (b"{oops", r"not JSON")]
    for body, match in cases:
        code, out = _answer("portrait", body)
        assert code == 400 and out["ok"] is False, out
        assert "Traceback" not in out["error"] and "\n" not in out["error"]
        assert __import__("re").search(match, out["error"]), out["error"]
    code, out = _answer("portrait", {"n_init": 2, "t1": 1})
    assert code == 200 and out["ok"] and out["status"] == "success"


def test_a_failing_request_is_a_500_answer_not_a_traceback(monkeypatch):
    from fhrn_ode.explore import server

    monkeypatch.setitem(server.HANDLERS, "boom", lambda data: 1 / 0)
    code, out = _answer("boom", {})
    assert code == 500 and out == {"ok": False, "error": "internal error in boom: ZeroDivisionError: division by zero",
                                   "compute_ms": out["compute_ms"]}
    code, out = _answer("analysis", {"gamma": 0.5})  # the server goes on answering
    assert code == 200 and out["test"]["check"]["stable"] is True
    assert out["test"]["check"]["spectral_abscissa"] == pytest.approx(-1.0, abs=1e-12)  # antisym: eig(W) = +-i


def _args(**kw):
    base = dict(host=None, port=0)
    base.update(kw)
    return argparse.Namespace(**base)


def test_bind_address_is_loopback_unless_host_is_given():
    from fhrn_ode.cli.explore import bind_address

    assert bind_address(_args()) == ("127.0.0.1", 0, None)
    assert bind_address(_args(host="::1", port=8000))[2] is None
    host, port, warning = bind_address(_args(host="0.0.0.0", port=8001))
    assert (host, port) == ("0.0.0.0", 8001) and "warning" in warning and "reachable from other machines" in warning
    with pytest.raises(FHRNInputError, match=r"`--port` must be <= 65535"):
        bind_address(_args(port=70000))


def test_cli_refuses_a_bad_wr_before_serving():
    out = subprocess.run([sys.executable, "-m", "fhrn_ode", "explore", "--no-browser", "--wr", "nope.npy"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("fhrn-ode explore: error:") and "--wr" in out.stderr


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_server_binds_loopback_and_stops_on_a_signal(sig, code):
    import socket

    proc = subprocess.Popen([sys.executable, "-m", "fhrn_ode", "explore", "--no-browser", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        info = json.loads(proc.stdout.readline())
        assert info["host"] == "127.0.0.1" and info["loopback"] and info["url"].startswith("http://127.0.0.1:")
        with socket.create_connection(("127.0.0.1", info["port"]), timeout=10):
            pass
        time.sleep(0.3)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        err = proc.stderr.read()
        assert proc.returncode == code, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_arrow_path_is_one_polyline_of_unit_directions_centred_on_the_grid():
    from fhrn_ode.explore._views import arrow_path

    ax = np.array([-1.0, 0.0, 1.0])
    U = np.array([[1.0, 0.0, np.nan], [3.0, 0.0, -2.0], [0.0, 1.0, 1.0]])
    V = np.array([[0.0, 2.0, 0.0], [4.0, 0.0, 0.0], [-5.0, 1.0, 0.0]])
    p = arrow_path(ax, U, V, digits=12)
    xy = np.array([[np.nan if a is None else a, np.nan if b is None else b] for a, b in zip(p["x"], p["y"])])
    pieces = xy.reshape(-1, 7, 2)
    assert len(pieces) == 7  # 9 grid points less the NaN and the zero vector
    tail, tip = pieces[:, 0], pieces[:, 1]
    h = 0.7 * 1.0
    assert np.allclose(np.linalg.norm(tip - tail, axis=1), h)  # one length: direction only
    centres = 0.5 * (tail + tip)
    assert np.allclose(centres[2], [-1.0, 0.0]) and np.allclose((tip - tail)[2] / h, [0.6, 0.8])  # U, V = 3, 4 at [1, 0]
    assert np.isnan(pieces[:, 2]).all() and np.isnan(pieces[:, 6]).all()
    assert np.allclose(pieces[:, 1], pieces[:, 4])  # the head's strokes meet at the tip
    assert np.allclose(np.linalg.norm(pieces[:, 3] - tip, axis=1), 0.35 * h)


def test_continuation_diagram_locates_the_closed_form_hopf_point_of_the_origin():
    from fhrn_ode.explore import continuation_diagram

    # antisym W (a = 0, b = 1), beta = 0: the origin's eigenvalues are -leak + kappa theta^2 +- i gamma, so
    # kappa_H = leak / theta^2 (docs/model.md (M48)); with leak = 1.5, theta = 1.2: 1.5 / 1.44
    d = continuation_diagram(parse_view({"leak": 1.5, "theta": 1.2}), "kappa")
    hopf = [s for s in d["special"] if s["kind"] == "H"]
    assert len(hopf) == 1 and abs(hopf[0]["p"] - 1.5 / 1.44) < 1e-8 and hopf[0]["norm"] < 1e-10
    (br,) = d["branches"]
    p, st = np.array(br["p"]), np.array(br["stability"])
    assert p.min() < 0.5 and p.max() > 19.5 and d["range"] == [0.0, 20.0] and d["current"] == 10.0
    assert set(st[p < 1.0]) == {"stable"} and set(st[p > 1.1]) == {"unstable"}
    with pytest.raises(FHRNInputError, match=r"`param`"):
        continuation_diagram(parse_view({}), "seed")
    with pytest.raises(FHRNInputError, match=r"wr_scale: \|W\*\| is a slider of the built-in operators only"):
        from fhrn_ode.explore._continuation import _current

        _current(parse_view({"wr": "reference"}), None, "wr_scale")
