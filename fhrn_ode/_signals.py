"""SIGTERM handled as SIGINT: one exception type for "the user stopped us".

:func:`install` (called by the CLI's ``main``) makes SIGTERM raise :class:`Terminated` in the main
thread. ``Terminated`` subclasses ``KeyboardInterrupt``, so every ``except KeyboardInterrupt`` in the
library (e.g. code that keeps a computed prefix on Ctrl-C) handles SIGTERM the same way, and the
atomic writers of :mod:`fhrn_ode._io` remove their temporary files for both. :func:`exit_code`
gives the conventional status for the last signal: 130 (SIGINT) or 143 (SIGTERM).
"""

from __future__ import annotations

import signal
import sys

__all__ = ["Terminated", "install", "restore", "caught", "exit_code", "signal_name"]


class Terminated(KeyboardInterrupt):
    """Raised by the SIGTERM handler (a KeyboardInterrupt, so SIGINT handling covers it)."""

    sigterm = True


_last = {"signal": signal.SIGINT, "pending": False}
_previous: dict = {}

#: Seconds between re-raises of a pending interrupt (see :func:`_raise`).
RETRY_S = 0.05


def _raise(signum: int) -> None:
    """Raise the interrupt, and keep re-raising it until ``main`` has caught it.

    A signal handler's exception is swallowed ("Exception ignored in ...") when the handler happens
    to run inside a ``__del__`` or a weakref callback (garbage collection in matplotlib or torch);
    a repeating SIGALRM timer then raises it again, every RETRY_S seconds, until :func:`caught`.
    """
    _last["signal"], _last["pending"] = signum, True
    try:
        signal.setitimer(signal.ITIMER_REAL, RETRY_S, RETRY_S)
    except (ValueError, OSError):  # pragma: no cover - not the main thread
        pass
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _on_signal(signum, frame) -> None:  # pragma: no cover - exercised by subprocess tests
    _raise(signum)


def _on_alarm(signum, frame) -> None:  # pragma: no cover - exercised by subprocess tests
    if _last["pending"]:
        _raise(_last["signal"])


def caught() -> None:
    """The interrupt reached its handler: stop re-raising it."""
    _last["pending"] = False
    try:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
    except (ValueError, OSError):  # pragma: no cover
        pass


def _unraisable(hook):
    def quiet(arg) -> None:
        if isinstance(arg.exc_value, KeyboardInterrupt) and _last["pending"]:
            return  # swallowed inside a __del__/weakref callback: the timer raises it again
        hook(arg)

    quiet.wrapped = hook
    return quiet


def install():
    """Install the SIGTERM (and, unless ignored, SIGINT) handlers; return a token for :func:`restore`."""
    _last["signal"], _last["pending"] = signal.SIGINT, False
    if not hasattr(sys.unraisablehook, "wrapped"):
        sys.unraisablehook = _unraisable(sys.unraisablehook)
    try:
        prev = {signal.SIGTERM: signal.signal(signal.SIGTERM, _on_signal),
                signal.SIGALRM: signal.signal(signal.SIGALRM, _on_alarm)}
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            prev[signal.SIGINT] = signal.signal(signal.SIGINT, _on_signal)
        return prev
    except ValueError:  # not the main thread
        return None


def restore(previous) -> None:
    caught()
    if hasattr(sys.unraisablehook, "wrapped"):
        sys.unraisablehook = sys.unraisablehook.wrapped
    if previous:
        for sig, handler in previous.items():
            try:
                signal.signal(sig, handler)
            except (ValueError, TypeError):  # pragma: no cover
                pass


def exit_code(exc: BaseException | None = None) -> int:
    """130 for SIGINT (Ctrl-C), 143 for SIGTERM (of ``exc`` if given, else of the last signal)."""
    if isinstance(exc, Terminated) or getattr(exc, "sigterm", False) or (exc is None and _last["signal"] == signal.SIGTERM):
        return 143
    return 130


def signal_name(code: int) -> str:
    return "SIGTERM" if code == 143 else "SIGINT"
