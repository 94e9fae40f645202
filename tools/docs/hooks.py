"""mkdocs hooks for the generated pages (tools/docs/gen_pages.py writes them).

* ``on_config``: the navigation's "Reference" and "Examples" sections list the generated pages, found the
  way the generator finds them (the installed packages, the scripts in examples/), so no list is kept by hand.
* ``on_config`` also lays out the sources for mkdocstrings: ``fhrn_ode.dynamics``, ``fhrn_ode.analysis`` and
  ``fhrn_ode.figures`` live in top-level folders (pyproject.toml ``package-dir``), which griffe's static
  loader cannot map, so build/docs-src/fhrn_ode/ gets a symbolic link per source entry, mapped ones included
  (mkdocs.yml points the handler there).
* the source tree is laid out again when this module is imported (while mkdocs reads its configuration), and
  at ``on_startup``: mkdocstrings resolves its ``paths`` before ``on_config`` runs, and on a fresh clone
  build/docs-src/ does not exist yet ("fhrn_ode.analysis could not be found").
* ``on_page_markdown``: hand-written pages link to the repository's README as ``../README.md`` (right on
  GitHub); on the site the README is the generated page ``readme.md``.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gallery  # noqa: E402
import public_api  # noqa: E402


def source_tree() -> Path:
    """build/docs-src/fhrn_ode: a link to every entry of fhrn_ode/ and to each folder of ``package-dir``."""
    root = public_api.ROOT
    dest = root / "build" / "docs-src" / "fhrn_ode"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for entry in (root / "fhrn_ode").iterdir():
        if entry.name != "__pycache__":
            (dest / entry.name).symlink_to(entry)
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    for sub, folder in re.findall(r'^"fhrn_ode\.(\w+)"\s*=\s*"([^"]+)"', text, re.M):
        (dest / sub).symlink_to(root / folder)
    return dest


def on_startup(**kwargs):  # noqa: D103 - mkdocs hook API
    source_tree()


def on_config(config, **kwargs):  # noqa: D103 - mkdocs hook API
    source_tree()
    reference = [{"Overview": "reference/index.md"}, {"Command line": "reference/cli.md"}]
    reference += [{pkg: f"reference/{pkg}.md"} for pkg in public_api.packages()]
    examples = [{"Overview": "examples/index.md"}] + [{p.name: f"examples/{p.stem}.md"} for p in gallery.scripts()]
    config["nav"] = [*(config["nav"] or []), {"Reference": reference}, {"Examples": examples}]
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: D103 - mkdocs hook API
    depth = page.file.src_uri.count("/")
    return re.sub(r"\]\((?:\.\./){%d}README\.md" % (depth + 1), "](" + "../" * depth + "readme.md", markdown)


source_tree()  # before mkdocstrings looks at build/docs-src (see the module docstring)
