"""``fhrn-ode explore`` in a real browser: headless Debian Chromium driven by Selenium.

The server runs as the CLI runs it (a subprocess on a free loopback port). The tests read the data behind
the plots (``document.getElementById('plane').data``, ``window.__explore``), not pixels, and compare them
with the library and with the exported command. Screenshots of the main states go to the test's tmp folder.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

from fhrn_ode.explore._browser import ExploreServer, browser_missing, chromium, set_control, wait_js

_WHY = browser_missing()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=f"no browser for the explorer tests: {_WHY}")
R_STAR = math.sqrt(1.0 - 1.0 / 10.0)  # the antisym ring, sqrt(theta^2 - leak/kappa) at the defaults (analytic)


@pytest.fixture(scope="module")
def server():
    s = ExploreServer()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    d = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield d
    d.quit()


def _load(driver, server, query: str = "") -> None:
    driver.get(server.base + "/" + query if query else server.url)
    wait_js(driver, "window.__explore && window.__explore.drawn >= 1 && window.__explore.sideDone >= 1", 120)


def _redraw(driver, name, value, event="input") -> None:
    n = driver.execute_script("return window.__explore.drawn")
    set_control(driver, name, value, event)
    wait_js(driver, f"window.__explore.drawn > {n} && !window.__explore.busy", 60)


_LAYERS = ("return window.__explore.layers.concat(document.getElementById('plane').data)"
           ".map(t => ({name: t.name, x: t.x, y: t.y}))")  # the canvas layers and the Plotly traces


def _trace(driver, prefix: str) -> dict:
    traces = driver.execute_script(_LAYERS)
    hit = [t for t in traces if str(t["name"]).startswith(prefix)]
    assert hit, f"no trace {prefix!r} among {[t['name'] for t in traces]}"
    return hit[0]


def _arr(v) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def _shot(driver, tmp_path, name: str) -> None:
    driver.save_screenshot(str(tmp_path / f"explore_{name}.png"))


def test_page_loads_without_console_errors_and_everything_is_local(driver, server, tmp_path):
    _load(driver, server)
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    assert driver.execute_script("return window.__explore.errors") == []
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(u.endswith("/vendor/plotly.min.js") for u in urls)
    assert all(u.startswith(server.base) for u in urls), urls  # offline: nothing from a CDN
    names = [t["name"] for t in driver.execute_script(_LAYERS)]
    for want in ("field", "rho(J) = 0", "dy1/dt = 0", "dy2/dt = 0", "antisym ring sqrt", "batch (64)", "equilibria: unstable"):
        assert any(str(n).startswith(want) for n in names), (want, names)
    batch = _trace(driver, "batch")
    ends = [(x, y) for x, y, nx in zip(batch["x"], batch["y"], batch["x"][1:] + [None]) if x is not None and nx is None]
    assert len(ends) == 64 and np.allclose([math.hypot(*e) for e in ends], R_STAR, atol=1e-3)
    _shot(driver, tmp_path, "main")


def test_gamma_slider_changes_the_trajectory_data_as_the_library_computes_it(driver, server):
    from fhrn_ode.explore import parse_view, portrait

    _load(driver, server)
    before = _trace(driver, "batch")
    _redraw(driver, "gamma", "0.3")
    after = _trace(driver, "batch")
    assert driver.execute_script("return window.__explore.last.params.gamma") == 0.3
    assert not np.allclose(_arr(before["x"]), _arr(after["x"]), equal_nan=True)
    ref = portrait(parse_view({"gamma": 0.3}))
    want = [v for row in ref["x"] for v in (*row, None)]
    assert np.allclose(_arr(after["x"]), _arr(want), atol=1e-9, equal_nan=True)


def _click_plane(driver, u: float, v: float) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    drag = driver.find_element("css selector", "#plane .nsewdrag")
    dx, dy = driver.execute_script(
        "const [u, v] = arguments; const gd = document.getElementById('plane'), fl = gd._fullLayout;"
        "const bb = gd.querySelector('.nsewdrag').getBoundingClientRect();"
        "return [fl.xaxis.l2p(u) - bb.width / 2, fl.yaxis.l2p(v) - bb.height / 2];", u, v)
    ActionChains(driver).move_to_element_with_offset(drag, round(dx), round(dy)).click().perform()


def test_click_on_the_plane_adds_a_trajectory_that_ends_on_the_ring(driver, server, tmp_path):
    _load(driver, server)
    _click_plane(driver, 1.6, -0.5)
    wait_js(driver, "window.__explore.trajectories >= 1", 60)
    q = driver.execute_script("return window.__explore.lastTrajectory")
    assert np.allclose(q["point"], [1.6, -0.5], atol=0.03)  # within a pixel or two
    assert abs(q["final_norm"] - R_STAR) < 1e-3
    clicked = _trace(driver, "clicked")
    assert abs(math.hypot(clicked["x"][-1], clicked["y"][-1]) - R_STAR) < 1e-3
    assert "rho(J) = " in driver.find_element("id", "eig-text").text
    assert len(driver.execute_script("return document.getElementById('vt').data[0].y")) == 101
    _shot(driver, tmp_path, "click")


def test_beta_2_kappa_2_shows_the_pole_message(driver, server, tmp_path):
    _load(driver, server, "?n_init=8")
    _redraw(driver, "kappa", "2", "change")
    _redraw(driver, "beta", "2", "change")
    msg = wait_js(driver, "document.querySelector('#messages .msg[data-kind=pole]')", 60)
    assert re.search(r"Gain pole: \d+ of 8 trajectories reached \|y\| = sqrt\(1 - 1/beta\) = 0\.7071", msg.text)
    wait_js(driver, "window.__explore.sideDone === window.__explore.drawn", 120)  # the side panels of this view
    assert "no test here" in driver.find_element("id", "fig4-text").text
    _shot(driver, tmp_path, "pole")


def test_the_exported_command_reproduces_the_view(driver, server, tmp_path):
    _load(driver, server)
    _redraw(driver, "gamma", "0.7")
    cmd = driver.find_element("id", "command").text
    view = driver.execute_script("return window.__explore.last.final_norm")
    argv = shlex.split(cmd)
    assert argv[:2] == ["fhrn-ode", "integrate"] and "--gamma" in argv and argv[argv.index("--gamma") + 1] == "0.7"
    argv[argv.index("--out") + 1] = str(tmp_path / "run")
    out = subprocess.run([sys.executable, "-m", "fhrn_ode", *argv[1:]], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["final_norm"]
    assert len(got) == 64 and np.allclose(got, view, rtol=0, atol=1e-12)
    y = np.load(tmp_path / "run" / "trajectory.npz")["y"]  # (T, N, 2): every drawn point, not only the ends
    drawn_x = np.array([[np.nan if v is None else v for v in row] for row in driver.execute_script("return window.__explore.last.x")])
    assert drawn_x.shape == (64, 101) and np.allclose(drawn_x, y[:, :, 0].T, rtol=0, atol=5.1e-5)  # rounded to 1e-4
    exported = json.loads(driver.find_element("id", "params-json").get_attribute("textContent"))
    assert exported["params"]["gamma"] == 0.7 and exported["spec"]["n_init"] == 64


def test_bad_inputs_give_messages_and_the_server_keeps_serving(driver, server, tmp_path):
    bad_npy = tmp_path / "W.npy"
    bad_npy.write_bytes(b"this is not a numpy file")
    ckpt = tmp_path / "not-a-checkpoint"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{ not json")
    _load(driver, server)

    def expect(pattern: str) -> None:
        wait_js(driver, "!window.__explore.busy && document.querySelector('#messages .msg.error')", 60)
        text = driver.find_element("css selector", "#messages .msg.error").text
        assert re.search(pattern, text), text
        assert "Traceback" not in text
        assert "stale" in driver.find_element("id", "plane").get_attribute("class")

    set_control(driver, "gamma", "abc")
    expect(r"`gamma` must be a number, got 'abc'")
    set_control(driver, "gamma", "1")
    set_control(driver, "kappa", "-1")
    expect(r"`kappa` must be >= 0, got -1")
    set_control(driver, "kappa", "10")
    set_control(driver, "t1", "1e9")
    expect(r"`t1` must be <= 10000")
    set_control(driver, "t1", "10")
    driver.execute_script("document.getElementById('wr-kind').value = 'other';"
                          "document.getElementById('wr-kind').dispatchEvent(new Event('change'));")
    for path, pattern in ((bad_npy, r"could not be read"), (ckpt, r"not valid JSON")):
        driver.execute_script("const e = document.getElementById('wr-path'); e.value = arguments[0];"
                              "e.dispatchEvent(new Event('change'));", str(path))
        expect(pattern)
    _shot(driver, tmp_path, "bad_input")
    n = driver.execute_script("return window.__explore.drawn")
    driver.execute_script("document.getElementById('wr-kind').value = 'sym';"
                          "document.getElementById('wr-kind').dispatchEvent(new Event('change'));")
    wait_js(driver, f"window.__explore.drawn > {n}", 60)
    assert driver.find_elements("css selector", "#messages .msg.error") == []
    assert "stale" not in driver.find_element("id", "plane").get_attribute("class")
    assert server.alive()


def test_two_tabs_do_not_interfere(driver, server):
    _load(driver, server)
    _redraw(driver, "gamma", "0.4")
    first = driver.current_window_handle
    data_a = _trace(driver, "batch")
    driver.switch_to.new_window("tab")
    try:
        _load(driver, server)
        _redraw(driver, "gamma", "1.7")
        data_b = _trace(driver, "batch")
        assert driver.execute_script("return window.__explore.last.params.gamma") == 1.7
    finally:
        driver.close()
        driver.switch_to.window(first)
    assert _trace(driver, "batch") == data_a
    _redraw(driver, "t1", "10", "change")  # tab A asks again: its own values, not tab B's
    assert driver.execute_script("return window.__explore.last.params.gamma") == 0.4
    assert np.allclose(_arr(_trace(driver, "batch")["x"]), _arr(data_a["x"]), equal_nan=True)
    assert not np.allclose(_arr(data_b["x"]), _arr(data_a["x"]), equal_nan=True)


def test_d8_mixed_operator_is_drawn_in_its_leading_eigenplane(driver, server, tmp_path):
    _load(driver, server, "?wr=mixed&dim=8&seed=0")
    layout = driver.execute_script("const l = document.getElementById('plane')._fullLayout;"
                                   "return [l.title.text, l.xaxis.title.text];")
    assert layout[0].startswith("mixed (d = 8)") and "leading eigenvector" in layout[1]
    assert driver.execute_script("return window.__explore.last.nullclines") == []  # nullclines: 2-D only
    _shot(driver, tmp_path, "d8")


def _run_exported(cmd: str, out_dir) -> dict:
    argv = shlex.split(cmd)
    assert argv[:2] == ["fhrn-ode", "integrate"]
    argv[argv.index("--out") + 1] = str(out_dir)
    out = subprocess.run([sys.executable, "-m", "fhrn_ode", *argv[1:]], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_clicked_trajectory_exports_its_initial_state_and_the_cli_reproduces_it(driver, server, tmp_path):
    _load(driver, server)
    _redraw(driver, "gamma", "1.3")
    _click_plane(driver, -1.1, 0.7)
    wait_js(driver, "window.__explore.trajectories >= 1 && window.__explore.lastTrajectory"
                    " && window.__explore.lastTrajectory.command.includes('--gamma 1.3')", 60)
    q = driver.execute_script("return window.__explore.lastTrajectory")
    cmd = driver.find_element("id", "command-click").text
    assert cmd == q["command"] and "--n-init" not in cmd
    argv = shlex.split(cmd)
    assert [float(v) for v in argv[argv.index("--y0") + 1].split(",")] == q["y0"]  # the state, bit for bit
    assert argv[argv.index("--rtol") + 1] == "0.0001" and argv[argv.index("--atol") + 1] == "1e-06"
    got = _run_exported(cmd, tmp_path / "click")
    assert got["n_init"] == 1 and got["final_norm"][0] == q["final_norm"]  # the same solve: equal to the last bit
    z = np.load(tmp_path / "click" / "trajectory.npz")
    assert np.allclose(z["y"][:, 0, 0], _arr(q["x"]), atol=1e-6) and np.allclose(z["y"][:, 0, 1], _arr(q["y"]), atol=1e-6)
    assert abs(got["final_norm"][0] - R_STAR) < 1e-3


def test_continuation_panel_of_the_moved_slider_has_the_closed_form_hopf_point(driver, server, tmp_path):
    # antisym W (a = 0, b = 1), beta = 0: the origin's eigenvalues are -leak + kappa theta^2 +- i gamma
    # (docs/model.md (M48)), so its Hopf point, where the ring is born, is kappa_H = leak / theta^2 = 1 in kappa
    # and theta_H = sqrt(leak / kappa) in theta (the ring's onset kappa theta^2 = leak, (M17)).
    _load(driver, server)
    _redraw(driver, "kappa", "10")
    driver.find_element("id", "bif-btn").click()
    wait_js(driver, "window.__explore.bifDone >= 1", 300)
    b = driver.execute_script("return window.__explore.continuation")
    assert b["param"] == "kappa" and b["range"] == [0.0, 20.0] and b["current"] == 10.0
    hopf = [s for s in b["special"] if s["kind"] == "H"]
    assert len(hopf) == 1 and abs(hopf[0]["p"] - 1.0) < 1e-8 and hopf[0]["norm"] < 1e-10
    (br,) = b["branches"]
    p, st = np.array(br["p"]), np.array(br["stability"])
    assert set(st[p < 0.99]) == {"stable"} and set(st[p > 1.01]) == {"unstable"}  # the origin loses stability at H
    data = driver.execute_script("return document.getElementById('bif').data.map(t => [t.name, t.line && t.line.dash])")
    assert ["stable", "solid"] in data and ["unstable", "dash"] in data and any(d[0] == "special points" for d in data)
    assert "H at kappa = 1.00000" in driver.find_element("id", "bif-text").text
    driver.execute_script("document.getElementById('bif').scrollIntoView()")
    _shot(driver, tmp_path, "continuation")
    _redraw(driver, "theta", "0.8")
    driver.find_element("id", "bif-btn").click()
    wait_js(driver, "window.__explore.bifDone >= 2", 300)
    b = driver.execute_script("return window.__explore.continuation")
    hopf = [s["p"] for s in b["special"] if s["kind"] == "H"]
    assert b["param"] == "theta" and len(hopf) == 1 and abs(hopf[0] - math.sqrt(1.0 / 10.0)) < 1e-8


def test_png_and_svg_export_hold_the_canvas_layers(driver, server):
    _load(driver, server)
    svg = driver.execute_async_script("const done = arguments[arguments.length - 1];"
                                      "window.__exploreDownload('svg', false).then(done, (e) => done('error ' + e));")
    assert svg.startswith("data:image/svg+xml")
    from urllib.parse import unquote

    text = unquote(svg.split(",", 1)[1])
    assert "batch (64)" in text and "field" in text and "rho(J) = 0" in text  # the legend of the full figure
