"""The public API of the installed packages, found at run time (used by the docs build and tests/test_docs.py).

The packages are those pyproject.toml installs (``[tool.setuptools] packages``), less the CLI (it has its
own generated reference) and the benchmark cases. A package's public names are its ``__all__``; a package
without one (``fhrn_ode.figures``) contributes the ``__all__`` of each of its public modules. Nothing is
listed by hand: a name added to an ``__all__`` is on the next docs build.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

__all__ = ["ROOT", "packages", "public_names", "home_package", "rendered_homes", "rendered_paths", "constant_docstring", "docstring"]

ROOT = Path(__file__).resolve().parents[2]

#: Installed packages without an API page: the CLI has its generated reference,
#: bench its cases, examples the gallery.
SKIPPED = ("fhrn_ode.cli", "fhrn_ode.bench", "fhrn_ode.examples")


def packages() -> list[str]:
    """The installed packages of pyproject.toml that get an API page, in the file's order."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^\[tool\.setuptools\]\s*\npackages\s*=\s*\[(.*?)\]", text, re.S | re.M)
    names = re.findall(r'"([\w.]+)"', block.group(1)) if block else []
    return [n for n in names if n not in SKIPPED]


def public_names(package: str) -> list[tuple[str, str, str]]:
    """``(path, module, name)`` of each public name of ``package`` (see the module docstring), in order.

    ``path`` is how the name is documented (``fhrn_ode.dynamics.find_fixed_points``, or
    ``fhrn_ode.figures.paper.fig2b`` for a package without ``__all__``); ``module`` is where it is imported from.
    """
    mod = importlib.import_module(package)
    if hasattr(mod, "__all__"):
        return [(f"{package}.{n}", package, n) for n in mod.__all__]
    out = []
    for info in pkgutil.iter_modules(mod.__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        sub = importlib.import_module(f"{package}.{info.name}")
        out += [(f"{sub.__name__}.{n}", sub.__name__, n) for n in getattr(sub, "__all__", ())]
    return out


def home_package(obj, listed_in: list[str]) -> str:
    """The package whose page documents ``obj``: the listing package that is the longest prefix of its module."""
    module = getattr(obj, "__module__", None) or ""
    best = [p for p in listed_in if module == p or module.startswith(p + ".")]
    return max(best, key=len) if best else listed_in[0]


def rendered_homes() -> dict[int, tuple[str, str]]:
    """id(object) -> (package page, documented path) where it is rendered: functions and classes are
    rendered once, on the page of the package that is the longest prefix of their module among those listing them."""
    listed: dict[int, list[tuple[str, str]]] = defaultdict(list)
    objects = {}
    for pkg in packages():
        for path, module, name in public_names(pkg):
            obj = getattr(importlib.import_module(module), name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                listed[id(obj)].append((pkg, path))
                objects[id(obj)] = obj
    homes = {}
    for k, entries in listed.items():
        home = home_package(objects[k], [p for p, _ in entries])
        homes[k] = next((p, path) for p, path in entries if p == home)
    return homes


def rendered_paths(package: str, homes: dict | None = None) -> list[str]:
    """The documented paths that ``package``'s API page renders (its anchors): its constants, and the functions
    and classes whose home it is (:func:`rendered_homes`); the others it only links to."""
    homes = rendered_homes() if homes is None else homes
    out = []
    for path, module, name in public_names(package):
        obj = getattr(importlib.import_module(module), name)
        if homes.get(id(obj), (package, path)) == (package, path):
            out.append(path)
    return out


def _source_files(package: str) -> list[Path]:
    mod = importlib.import_module(package)
    files = []
    for base in getattr(mod, "__path__", []):
        files += sorted(Path(base).rglob("*.py"))
    return files


def constant_docstring(package: str, name: str) -> str | None:
    """The documentation of a module-level constant ``name`` defined somewhere in ``package``'s sources.

    Either ``#:`` comment lines right above its assignment (the Sphinx convention this code base uses) or
    a string literal right after it (the convention griffe reads). ``None`` when no definition has one.
    """
    pkg = importlib.import_module(package)
    if not hasattr(pkg, "__path__"):  # a module: search its package
        package = package.rpartition(".")[0]
    files = _source_files(package) + [f for p in ("fhrn_ode.dynamics", "fhrn_ode") for f in _source_files(p)]
    for path in files:
        text = path.read_text(encoding="utf-8")
        if name not in text:
            continue
        lines = text.splitlines()
        body = ast.parse(text).body
        for i, node in enumerate(body):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
                continue
            comments = []
            k = node.lineno - 2
            while k >= 0 and lines[k].lstrip().startswith("#:"):
                comments.insert(0, lines[k].lstrip()[2:].strip())
                k -= 1
            if comments:
                return " ".join(comments)
            nxt = body[i + 1] if i + 1 < len(body) else None
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                return nxt.value.value.strip()
    return None


def docstring(module: str, name: str) -> str | None:
    """The docstring of the public name ``module.name``, or ``None`` when it has none of its own.

    ``module``: where :func:`public_names` says the name is imported from.

    Functions, classes and modules: their ``__doc__`` (a dataclass's generated ``Name(field, ...)`` signature
    does not count). Any other object (a constant): :func:`constant_docstring`.
    """
    obj = getattr(importlib.import_module(module), name)
    if inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj):
        doc = obj.__doc__ if inspect.ismodule(obj) else obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
        doc = (doc or "").strip()
        if inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("):
            return None  # written by @dataclass, not by a person
        return doc or None
    return constant_docstring(module, name)
