"""Benchmark: latency of ``fhrn-ode explore`` from a slider change to the redrawn portrait, in the browser.

Problem: the page's default view (the 2-D antisymmetric field, 64 trajectories to t = 10, arrows,
nullclines, the ``rho(J) = 0`` map), served by ``fhrn-ode explore`` in a subprocess and driven in
headless Chromium (:mod:`fhrn_ode.explore._browser`). Each look moves the gamma slider to a new value
(``input`` event) and waits until the page has drawn the answer; the page itself records, per look
(``performance.now()`` in the browser): ``total`` (event to the second animation frame after the
redraw: the canvas layers, and ``Plotly.react`` where Plotly's own part changed), ``fetch`` (request sent to
JSON parsed), ``server`` (the server's own compute time, ``compute_ms`` of the answer) and ``render`` (JSON
parsed to painted). Row:

* ``explore/slider_to_portrait_n64/vs_cli``: ours = the median ``total``; baseline = one look the old way,
  running the exported ``fhrn-ode integrate ... --json`` command (best of ``k``, same run);
  ``max_abs_err`` = max |final |y| of the view - that command's| (the export reproduces the view).
  Extra keys: ``median_ms`` of total/server/transport (fetch - server)/render, ``p90_total_ms``,
  ``target_ms`` (150) and ``meets_target``.

Without Chromium/chromedriver/Selenium the row is ``skipped`` with the reason.
"""

from __future__ import annotations

import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from .harness import make_row

__all__ = ["cases", "latency_case", "TARGET_MS"]

#: The latency goal of issue 23: median slider-to-redraw time with 64 trajectories of the 2-D field.
TARGET_MS = 150.0


def _looks(driver, n: int) -> list[dict]:
    from ..explore._browser import set_control, wait_js

    out = []
    for i in range(n):
        k = driver.execute_script("return window.__explore.timings.length")
        set_control(driver, "gamma", f"{0.5 + (i % 41) * 0.025:.3f}", "input")
        wait_js(driver, f"window.__explore.timings.length > {k} && !window.__explore.busy", 120, poll=0.01)
        out.append(driver.execute_script("return window.__explore.timings.at(-1)"))
        time.sleep(0.05)  # let the side panels' request start; a real user moves on too
        wait_js(driver, "window.__explore.sideDone === window.__explore.drawn", 120, poll=0.01)
    return out


def _cli_look(cmd: str, out_dir: str) -> list[float]:
    argv = shlex.split(cmd)
    argv[argv.index("--out") + 1] = out_dir
    res = subprocess.run([sys.executable, "-m", "fhrn_ode", *argv[1:]], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)["final_norm"]


def latency_case(n: int, k: int, seed: int = 0) -> list[dict]:
    """Median slider-to-portrait latency over ``n`` looks (after 3 warm-up looks) vs the CLI per look."""
    from ..explore._browser import ExploreServer, browser_missing, chromium, wait_js

    name = "explore/slider_to_portrait_n64/vs_cli"
    why = browser_missing()
    if why is not None:
        return [dict(name=name, ours_s=None, baseline="fhrn-ode integrate per look: skipped", baseline_s=None,
                     speedup=None, max_abs_err=None, skipped=why)]
    with tempfile.TemporaryDirectory() as tmp, ExploreServer("--seed", str(seed)) as server:
        driver = chromium(f"{tmp}/profile")
        try:
            driver.get(server.url)
            wait_js(driver, "window.__explore && window.__explore.sideDone >= 1", 120)
            _looks(driver, 3)
            looks = _looks(driver, n)
            cmd = driver.find_element("id", "command").text
            view = driver.execute_script("return window.__explore.last.final_norm")
        finally:
            driver.quit()
        best, got = float("inf"), None
        for _ in range(k):
            t0 = time.perf_counter()
            got = _cli_look(cmd, f"{tmp}/run")
            best = min(best, time.perf_counter() - t0)
    med = {key: statistics.median(x[key] for x in looks) for key in ("total_ms", "server_ms", "fetch_ms", "render_ms")}
    totals = sorted(x["total_ms"] for x in looks)
    err = max(abs(a - b) for a, b in zip(view, got))
    return [make_row(name, med["total_ms"] / 1e3, "fhrn-ode integrate (the exported command) per look", best, err,
                     looks=n, median_total_ms=med["total_ms"], median_server_ms=med["server_ms"],
                     median_transport_ms=med["fetch_ms"] - med["server_ms"], median_render_ms=med["render_ms"],
                     p90_total_ms=totals[int(0.9 * (len(totals) - 1))], target_ms=TARGET_MS,
                     meets_target=bool(med["total_ms"] <= TARGET_MS), trajectories=64, dim=2)]


def cases(quick: bool, seed: int = 0) -> list:
    """One case: 8 looks with ``quick``, else 30 (baseline best of 1 / 3)."""
    n, k = (8, 1) if quick else (30, 3)
    return [lambda: latency_case(n, k, seed=seed)]
