"""Drive the explorer in headless Chromium (Selenium): shared by tests/explore and the latency bench row.

Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``; other
paths through ``FHRN_CHROMIUM`` / ``FHRN_CHROMEDRIVER``) run as root with the flags of
:data:`CHROME_FLAGS` and a fresh profile folder. :func:`browser_missing` says in one sentence why no
browser can run here (then tests skip with that reason and the bench row is skipped with it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["CHROME_FLAGS", "browser_missing", "chromium", "ExploreServer", "wait_js", "set_control"]

CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage")


def _paths() -> tuple[str | None, str | None]:
    browser = os.environ.get("FHRN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("FHRN_CHROMEDRIVER") or shutil.which("chromedriver")
    return browser, driver


def browser_missing() -> str | None:
    """None when Selenium, Chromium and chromedriver are all here, else the one reason why not."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e \".[test]\")"
    browser, driver = _paths()
    if not browser or not driver:
        return "no chromium + chromedriver here (Debian: apt-get install chromium chromium-driver; .ci/run does)"
    return None


def chromium(profile: str | Path, width: int = 1500, height: int = 1000):
    """A headless Chromium driven by Selenium, with browser console logging on, profile in ``profile``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = _paths()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


class ExploreServer:
    """``fhrn-ode explore --no-browser --json`` in a subprocess (a free loopback port); ``url``; stops with SIGINT."""

    def __init__(self, *args: str, timeout: float = 120.0) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "fhrn_ode", "explore", "--no-browser", "--json", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read()
            self.proc.wait(timeout=timeout)
            raise RuntimeError(f"fhrn-ode explore did not start: {err.strip()}")
        self.info = json.loads(line)
        self.url = self.info["url"]
        self.base = self.url.split("/?")[0]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> "ExploreServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_js(driver, expr: str, timeout: float = 60.0, poll: float = 0.05):
    """Poll the JavaScript expression until it is truthy; return its value.

    Raises:
        TimeoutError: after ``timeout`` seconds (the message names the expression).
    """
    end = time.monotonic() + timeout
    while True:
        v = driver.execute_script(f"return ({expr});")
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(f"waited {timeout:g} s for {expr}")
        time.sleep(poll)


def set_control(driver, name: str, value, event: str = "change") -> None:
    """Set a control's value (the slider's range and text field, or a text field) and fire ``event`` as a user would."""
    driver.execute_script(
        "const [name, value, ev] = arguments; const r = document.getElementById(name + '-range');"
        "const t = document.getElementById(name); const el = (ev === 'input' && r) ? r : t;"
        "if (r && ev === 'input') r.value = value; t.value = value;"
        "el.dispatchEvent(new Event(ev, {bubbles: true}));", name, str(value), event)
