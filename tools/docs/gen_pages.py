"""mkdocs-gen-files script: the generated pages of the documentation site (run by ``mkdocs build``).

* ``reference/cli.md``: every command and flag, from the argparse parsers (tools/docs/cli_reference.py);
* ``reference/<package>.md``: one API page per installed package, one mkdocstrings entry per public name
  (tools/docs/public_api.py), grouped by the module that defines it;
* ``examples/*.md``: the example scripts run now, their output and figures embedded (tools/docs/gallery.py);
* ``readme.md``: the README, with its links rewritten for the site.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections import defaultdict
from pathlib import Path

import mkdocs_gen_files

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cli_reference  # noqa: E402
import gallery  # noqa: E402
import public_api  # noqa: E402

from fhrn_ode.cli import build_parser  # noqa: E402


def _write(path: str, content: str | bytes) -> None:
    with mkdocs_gen_files.open(path, "wb" if isinstance(content, bytes) else "w") as fh:
        fh.write(content)


def page_name(package: str) -> str:
    """The file of a package's API page under ``reference/``."""
    return f"reference/{package}.md"


def api_page(package: str, homes: dict[int, tuple[str, str]]) -> str:
    """The API page of one package: the package docstring, then its names grouped by defining module."""
    lines = [f"# `{package}`", "", f"::: {package}", "    options:", "      members: false",
             "      show_root_heading: false", "      show_root_toc_entry: false", ""]
    groups: dict[str, list[str]] = defaultdict(list)
    elsewhere = []
    for path, module, name in public_api.public_names(package):
        obj = getattr(importlib.import_module(module), name)
        home, home_path = homes.get(id(obj), (package, path))
        if home != package or home_path != path:
            also = f" (as `{home_path}`)" if home_path.rpartition(".")[2] != name else ""
            elsewhere.append(f"[`{name}`]({home}.md#{home_path}){also}")
            continue
        where = getattr(obj, "__module__", None) if (inspect.isclass(obj) or inspect.isroutine(obj)) else None
        groups[where or "constants"].append(path)
    for where in sorted(groups, key=lambda w: (w == "constants", w)):
        lines += [f"## {'Constants' if where == 'constants' else f'From `{where}`'}", ""]
        for path in groups[where]:
            lines += [f"::: {path}", "    options:", "      heading_level: 3", ""]
    if elsewhere:
        lines += ["## Re-exported", "", f"Also importable from `{package}`, documented on the page of the package "
                  "that defines them: " + ", ".join(elsewhere) + ".", ""]
    return "\n".join(lines)


def readme_page() -> str:
    """README.md for the site: links into docs/ lose their ``docs/`` prefix, other repository files stay code."""
    text = (public_api.ROOT / "README.md").read_text(encoding="utf-8")
    return re.sub(r"\]\(docs/", "](", text)


def main() -> None:
    _write("reference/cli.md", cli_reference.markdown(build_parser()))
    homes = public_api.rendered_homes()
    index = ["# API reference", "", "Generated from the docstrings when the documentation is built: every name in "
             "the `__all__` of each installed package (a package without one: each public module's `__all__`). "
             "The guide to the library is [api.md](../api.md); the command line is in [cli.md](cli.md).", "",
             "| package | what it is |", "| --- | --- |"]
    for pkg in public_api.packages():
        _write(page_name(pkg), api_page(pkg, homes))
        doc = (importlib.import_module(pkg).__doc__ or "").strip().splitlines()
        index.append(f"| [`{pkg}`]({pkg}.md) | {doc[0] if doc else ''} |")
    _write("reference/index.md", "\n".join(index) + "\n")
    for path, text in gallery.pages().items():
        _write(path, text)
    _write("readme.md", readme_page())


main()
