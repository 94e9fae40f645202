"""Lazy re-exports (PEP 562): one home for the ``__getattr__``/``__dir__`` pair of a package's public names.

Used by ``fhrn_ode`` and ``fhrn_ode.analysis``: importing the package imports nothing heavy, and the first
use of a name imports the module that defines it. Only the standard library is imported here.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public names map to modules in ``exports``.

    Args:
        package: the package's ``__name__`` (relative module names resolve against it).
        exports: public name -> module (``".field"`` or an absolute ``"fhrn_ode.dynamics.cycles"``).
        namespace: the package's ``globals()``; a resolved name is cached there, so later look-ups skip
            ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
