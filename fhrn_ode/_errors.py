"""The one exception type for bad user input.

Every public entry point checks its inputs once, at the boundary, and raises
:class:`FHRNInputError` with a message that names the argument, quotes the bad
value and says what is allowed. The CLI turns it into one line on stderr and
exit code 2.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["FHRNInputError", "Interrupted"]


class FHRNInputError(ValueError):
    """Invalid input to an fhrn-ode function or command (message names the fix)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, through the CLI) during a library computation, carrying what was computed.

    Library code never swallows an interrupt: where it has a partial result worth keeping, it raises
    ``Interrupted(result, cause=exc)`` from the ``KeyboardInterrupt`` it caught. It *is* a
    ``KeyboardInterrupt``, so a Python loop over library calls stops at once; a caller that wants the
    prefix catches it and reads ``.result``. Only the CLI's top-level handler turns it into files and
    exit status 130 (SIGINT) or 143 (SIGTERM, ``sigterm`` True).

    Attributes:
        result: the partial result (the function's own result type, holding what was computed), or None.
        sigterm: True when the interrupt came from SIGTERM (``fhrn_ode._signals.Terminated``).
    """

    def __init__(self, result: Any = None, *, cause: BaseException | None = None, what: str = "") -> None:
        super().__init__(what or "interrupted")
        self.result = result
        self.sigterm = bool(getattr(cause, "sigterm", False))


def check_real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, allow_none: bool = False) -> float | None:
    """Validate a finite real scalar and return it as ``float``.

    Raises:
        FHRNInputError: if ``value`` is not a finite real number inside the range.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise FHRNInputError(f"`{name}` must be a real number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FHRNInputError(f"`{name}` must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise FHRNInputError(f"`{name}` must be finite, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        rel = ">" if low_open else ">="
        raise FHRNInputError(f"`{name}` must be {rel} {low:g}, got {v:g}")
    if high is not None and v > high:
        raise FHRNInputError(f"`{name}` must be <= {high:g}, got {v:g}")
    return v


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Validate an integer scalar (bools refused) and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                value = int(value)
            else:
                raise TypeError
        except TypeError:
            raise FHRNInputError(f"`{name}` must be an integer, got {value!r}") from None
    if low is not None and value < low:
        raise FHRNInputError(f"`{name}` must be >= {low}, got {value}")
    if high is not None and value > high:
        raise FHRNInputError(f"`{name}` must be <= {high}, got {value}")
    return int(value)


def check_choice(name: str, value: Any, choices) -> str:
    """Validate that ``value`` is one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise FHRNInputError(f"`{name}` must be one of {allowed}; got {value!r}")
    return value
