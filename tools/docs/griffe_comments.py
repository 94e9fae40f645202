"""griffe extension for two conventions of this code base that griffe's static loader does not know.

* ``#:`` comment lines above a module attribute are its docstring (the Sphinx convention, e.g.
  ``#: The adaptive-step methods ...`` above ``ADAPTIVE_SOLVERS``).
* Lazy re-exports (PEP 562): a package's ``_EXPORTS = {"name": ".module", ...}`` with a ``__getattr__``
  that imports on first use (fhrn_ode/__init__.py). griffe sees no import statements there, so each
  entry becomes an alias ``package.name -> package.module.name`` and ``__all__`` is the dict's keys.
"""

from __future__ import annotations

import ast

import griffe


def _lazy_exports(module: griffe.Module) -> dict[str, str]:
    """``{name: relative module}`` of the module's ``_EXPORTS`` dict literal (empty when it has none)."""
    if "_EXPORTS" not in module.members or module.filepath is None or isinstance(module.filepath, list):
        return {}
    for node in ast.parse(module.filepath.read_text(encoding="utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "_EXPORTS" and isinstance(node.value, ast.Dict):
            return {k.value: v.value for k, v in zip(node.value.keys, node.value.values)
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)}
    return {}


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
            for name, relative in exports.items():
                if name in module.members:
                    continue
                base = module.path
                for _ in range(len(relative) - len(relative.lstrip(".")) - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{relative.lstrip('.')}" if relative.strip(".") else base
                module.set_member(name, griffe.Alias(name, f"{target}.{name}", parent=module))
            if exports:
                module.exports = list(exports)
