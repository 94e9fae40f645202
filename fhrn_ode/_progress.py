"""Progress of long work on stderr: a tqdm bar on a terminal, plain log lines otherwise.

When stderr is not a terminal (a log file, a pipe, a batch job), a bar full of carriage returns is
useless, so :class:`Progress` writes one line every ``FHRN_ODE_PROGRESS_SECONDS`` seconds (default 5)
instead::

    fhrn-ode train gamma=0.1: step 120/600 (20%), 4.12 step/s, elapsed 29s, ETA 1m56s, loss=1.532

and a last line when the work ends. Values given to :meth:`Progress.update` as keyword arguments
are shown after the ETA; ``None`` values are left out (so nothing like ``val=nan`` appears before a
first evaluation).
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, TextIO

__all__ = ["PROGRESS_ENV", "Progress", "progress_interval"]

#: Environment variable: seconds between two progress lines when stderr is not a terminal.
PROGRESS_ENV = "FHRN_ODE_PROGRESS_SECONDS"


def progress_interval() -> float:
    """Seconds between non-terminal progress lines (``$FHRN_ODE_PROGRESS_SECONDS``, default 5)."""
    try:
        v = float(os.environ.get(PROGRESS_ENV, "5"))
    except ValueError:
        return 5.0
    return v if math.isfinite(v) and v >= 0 else 5.0


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


class Progress:
    """Count ``total`` units of work; a tqdm bar on a terminal, log lines on any other stream.

    Args:
        total: units of work in all (``initial`` of them already done, e.g. on resume).
        desc: what is running (``"train gamma=0.1"``); lines start with ``fhrn-ode {desc}:``.
        unit: the unit's name (``"step"``, ``"panel"``, ``"claim"``).
        enabled: False: nothing at all is written.
        file: the stream (default ``sys.stderr``).
    """

    def __init__(self, total: int, desc: str, *, unit: str = "step", initial: int = 0, enabled: bool = True,
                 file: TextIO | None = None) -> None:
        self.total, self.desc, self.unit = int(total), desc, unit
        self.n = self.n0 = int(initial)
        self.enabled = bool(enabled)
        self.file = file if file is not None else sys.stderr
        self.postfix: dict[str, Any] = {}
        self.t0 = self.last = time.monotonic()
        self.interval = progress_interval()
        self.bar = None
        isatty = getattr(self.file, "isatty", None)
        if self.enabled and isatty is not None and isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=self.n, desc=desc, unit=unit, leave=False, file=self.file)

    def update(self, k: int = 1, **postfix: Any) -> None:
        """``k`` more units done; ``postfix`` values (None: not shown) are shown with the count."""
        self.n += k
        self.postfix.update(postfix)
        shown = {key: v for key, v in self.postfix.items() if v is not None}
        if self.bar is not None:
            self.bar.update(k)
            if shown:
                self.bar.set_postfix(shown, refresh=False)
            return
        now = time.monotonic()
        if self.enabled and now - self.last >= self.interval:
            self.last = now
            self._line(now)

    def _line(self, now: float, final: str = "") -> None:
        elapsed = now - self.t0
        done = self.n - self.n0
        rate = done / elapsed if elapsed > 0 else float("nan")
        eta = (self.total - self.n) / rate if rate and rate > 0 else float("nan")
        pct = 100.0 * self.n / self.total if self.total > 0 else 100.0
        parts = [f"{self.unit} {self.n}/{self.total} ({pct:.0f}%)", f"{rate:.3g} {self.unit}/s",
                 f"elapsed {_clock(elapsed)}"]
        if not final:
            parts.append(f"ETA {_clock(eta)}")
        parts += [f"{k}={v}" for k, v in self.postfix.items() if v is not None]
        self.file.write(f"fhrn-ode {self.desc}: {final}{', '.join(parts)}\n")
        self.file.flush()

    def close(self, *, stopped: bool = False) -> None:
        """End the bar (terminal) or write the last line (other streams, if any work was done).

        ``stopped``: the work ended early (an exception): the line says ``stopped:``, not ``done:``.
        """
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.enabled and self.n > self.n0:
            self._line(time.monotonic(), final="stopped: " if stopped else "done: ")
        self.enabled = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.close(stopped=exc_type is not None)
