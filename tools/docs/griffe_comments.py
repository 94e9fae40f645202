"""griffe extension for two conventions of this code base that griffe's static loader does not know.

* ``#:`` comment lines above a module attribute are its docstring (the Sphinx convention, e.g.
  ``#: The adaptive-step methods ...`` above ``ADAPTIVE_SOLVERS``).
* Lazy re-exports (PEP 562): a package's ``_EXPORTS`` mapping (public name -> module) with a ``__getattr__``
  that imports on first use (fhrn_ode/__init__.py, analysis/__init__.py). griffe sees no import statements
  there, so each entry becomes an alias ``package.name -> module.name`` and the package's exports are the
  mapping's keys. The mapping is read from the imported package, so it may be built in any way.
"""

from __future__ import annotations

import importlib
import importlib.util

import griffe


def _lazy_exports(module: griffe.Module) -> dict[str, str]:
    """``{public name: absolute module}`` of a package that re-exports lazily, read from the imported package.

    The package's own ``_EXPORTS`` mapping (name -> module, relative or absolute), however the package builds
    it (a literal, or from a ``_MODULES`` table). Empty for a module without one.
    """
    if "_EXPORTS" not in module.members:
        return {}
    try:
        runtime = importlib.import_module(module.path)
    except ImportError:
        return {}
    exports = getattr(runtime, "_EXPORTS", None)
    if not isinstance(exports, dict):
        return {}
    return {name: importlib.util.resolve_name(mod, module.path) for name, mod in exports.items()
            if isinstance(name, str) and isinstance(mod, str)}


def _modules(module: griffe.Module):
    yield module
    for sub in module.modules.values():
        if not sub.is_alias:
            yield from _modules(sub)


class CodeBaseConventions(griffe.Extension):
    """The two conventions of the module docstring."""

    def on_attribute_instance(self, *, node, attr: griffe.Attribute, agent, **kwargs) -> None:  # noqa: D102
        if attr.docstring is not None or attr.lineno is None or attr.parent is None:
            return
        lines = attr.parent.lines
        k = attr.lineno - 2
        comments = []
        while 0 <= k < len(lines) and lines[k].lstrip().startswith("#:"):
            comments.insert(0, lines[k].lstrip()[2:].strip())
            k -= 1
        if comments:
            attr.docstring = griffe.Docstring(" ".join(comments), parent=attr)

    def on_package(self, *, pkg: griffe.Module, loader, **kwargs) -> None:  # noqa: D102
        for module in list(_modules(pkg)):
            exports = _lazy_exports(module)
            for name, target in exports.items():
                if name not in module.members:
                    module.set_member(name, griffe.Alias(name, f"{target}.{name}", parent=module))
            if exports:
                module.exports = list(exports)
