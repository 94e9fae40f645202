"""The documentation is self-contained and its references resolve (issue 9, item 4).

(a) no tracked file refers to a document outside the repository (the specification and the source
    texts the project was built from are not part of it; cite docs/model.md or a paper's arXiv id);
(b) every relative link in README.md and docs/*.md points to a file that exists, and an anchor into a
    Markdown page names one of its headings;
(c) every ``docs/model.md §N`` cited anywhere in the repository is a section of docs/model.md;
(d) every ``fhrn-ode`` command has a heading in a docs page; the generated CLI reference (tools/docs/) lists
    every command, flag, choice and default of the parser; every public name of the API reference has a
    docstring; links into the generated pages (docs/reference/, docs/examples/) name pages and anchors that
    the generators produce.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Written by this module's patterns, not literally, so that the test does not match itself.
OUTSIDE_REFERENCES = {
    "the project's working specification": re.compile(r"\bMODEL\.md"),
    "the shared reference folder": re.compile(r"shared[/]reference"),
    "a path out of the repository into shared/": re.compile(r"\.\./shared\b"),
    "a reference text by its file name": re.compile(r"\b\d{3}_[0-9a-f]{16}\b"),
}

# Pages that other work items add under docs/ (issues 9-15). Until they land, a link to one of them
# may dangle; every other relative link must resolve. Remove a name here once its page exists.
PAGES_FROM_OTHER_BRANCHES: frozenset = frozenset()  # every page has landed: no link may dangle

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
MODEL_CITATION = re.compile(r"model\.md\)?,?\s*\(?§\s*(\d+(?:\.\d+)*)")
MODEL_SECTION = re.compile(r"^#{1,6}\s*§(\d+(?:\.\d+)*)\b")


@functools.lru_cache(maxsize=1)
def generated_pages() -> dict[str, frozenset | None]:
    """The pages tools/docs/gen_pages.py writes when the site is built: {docs-relative path: anchors or None}.

    CLI reference anchors are its command headings; an API page's anchors are the documented paths of the
    names it renders (mkdocstrings' ids, e.g. ``fhrn_ode.dynamics.find_fixed_points``; a name re-exported
    from another package is rendered on that package's page only).
    """
    from fhrn_ode.cli import build_parser

    ref, api, gallery = _tool("cli_reference"), _tool("public_api"), _tool("gallery")
    pages: dict[str, frozenset | None] = {
        "docs/reference/cli.md": frozenset(ref.anchor(c) for c in ref.commands(build_parser())),
        "docs/reference/index.md": None, "docs/examples/index.md": None, "docs/readme.md": None}
    homes = api.rendered_homes()
    for pkg in api.packages():
        pages[f"docs/reference/{pkg}.md"] = frozenset([pkg, *api.rendered_paths(pkg, homes)])
    for script in gallery.scripts():
        pages[f"docs/examples/{script.stem}.md"] = None
    return pages


def tracked_text_files() -> list[Path]:
    """Every file git tracks (committed or staged) that is text, i.e. has no NUL byte and is UTF-8."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         check=True, capture_output=True).stdout.decode()
    files = []
    for name in filter(None, out.split("\0")):
        path = ROOT / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def markdown_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(text: str):
    """(line number, line) of a Markdown text outside fenced code blocks."""
    fenced = False
    for n, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield n, line


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        m = HEADING.match(line)
        if not m:
            continue
        s = slug(m.group(2))
        k = seen.get(s, 0)
        seen[s] = k + 1
        out.add(s if k == 0 else f"{s}-{k}")
    return out


def test_the_scanners_work():
    """The patterns find what they are meant to find (a check that cannot fail is no check)."""
    assert OUTSIDE_REFERENCES["the project's working specification"].search("see " + "MODEL" + ".md §1")
    assert OUTSIDE_REFERENCES["the shared reference folder"].search("/work/" + "shared/" + "reference/x.txt")
    assert OUTSIDE_REFERENCES["a path out of the repository into shared/"].search("../" + "shared/x")
    assert OUTSIDE_REFERENCES["a reference text by its file name"].search("the " + "001_" + "38cfc1d4b92da912.txt")
    assert not any(p.search("docs/model.md §1, arXiv:2512.05158 (C 7)") for p in OUTSIDE_REFERENCES.values())
    assert [m.group(1) for m in LINK.finditer("[a](x.md#b) ![i](img/p.png \"t\") [`c`](y.md)")] == [
        "x.md#b", "img/p.png", "y.md"]
    assert slug("§1. The continuous-time FHRN") == "1-the-continuous-time-fhrn"
    assert slug("Trained operators: `--wr CKPT[:layer[:context]]`") == "trained-operators---wr-ckptlayercontext"
    assert [m.group(1) for m in MODEL_CITATION.finditer("(docs/model.md §5, C 3-6) and docs/model.md §1.8")] == [
        "5", "1.8"]
    assert len(tracked_text_files()) > 20 and ROOT / "README.md" in tracked_text_files()


def test_no_file_refers_to_a_document_outside_the_repository():
    hits = []
    for path in tracked_text_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for what, pattern in OUTSIDE_REFERENCES.items():
                if pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {what}: {line.strip()[:120]}")
    assert not hits, "cite docs/model.md or a paper's arXiv id instead:\n" + "\n".join(hits)


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    bad = []
    for n, line in prose_lines(page.read_text(encoding="utf-8")):
        for m in LINK.finditer(line):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
                continue
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            rel = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
            if not dest.exists():
                generated = generated_pages()
                if rel in generated:
                    if anchor and generated[rel] is not None and anchor not in generated[rel]:
                        bad.append(f"line {n}: {target}: the generated page {rel} has no anchor #{anchor}")
                elif rel not in PAGES_FROM_OTHER_BRANCHES:
                    bad.append(f"line {n}: {target} -> {rel} does not exist")
                continue
            if not dest.is_relative_to(ROOT):
                bad.append(f"line {n}: {target} leaves the repository")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                bad.append(f"line {n}: {target}: no heading with the anchor #{anchor} in {rel}")
    assert not bad, f"{page.relative_to(ROOT)}:\n" + "\n".join(bad)


def test_every_cited_section_of_model_md_exists():
    sections = set()
    for line in (ROOT / "docs" / "model.md").read_text(encoding="utf-8").splitlines():
        m = MODEL_SECTION.match(line)
        if m:
            sections.add(m.group(1))
    assert {"1", "2", "3", "4", "5", "6"} <= sections
    missing = []
    for path in tracked_text_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in MODEL_CITATION.finditer(line):
                if m.group(1).rstrip(".") not in sections:
                    missing.append(f"{path.relative_to(ROOT)}:{n}: §{m.group(1)}")
    assert not missing, "sections cited but not in docs/model.md:\n" + "\n".join(missing)


def _subcommands():
    import argparse

    from fhrn_ode.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_command_has_a_guide_section():
    """Each ``fhrn-ode`` command has a ``fhrn-ode CMD`` heading in a hand-written page (what it writes, what its
    results mean). Its flags are listed by the generated CLI reference, checked below against the parser."""
    pages = {p: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
    missing = []
    for name in _subcommands():
        heading = re.compile(rf"^#{{1,6}} .*`fhrn-ode {re.escape(name)}(?:`| )", re.M)
        if not any(heading.search(text) for text in pages.values()):
            missing.append(f"`fhrn-ode {name}`: no heading in docs/*.md")
    assert not missing, "give these a section (docs/cli.md or the page of their area):\n" + "\n".join(missing)


# --- The generated references (issue 21, item 1): tools/docs/ builds them when the site is built ---------------

def _tool(name: str):
    """A module of tools/docs/ (not installed: the docs are built from the repository)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(f"_docs_tool_{name}", ROOT / "tools" / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _sections(markdown: str) -> dict[str, str]:
    """The generated CLI page cut at its ``## `fhrn-ode ...` `` headings: {command: its section}."""
    parts = re.split(r"^## `([^`]+)`\s*$", markdown, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def missing_from_cli_reference(parser, markdown: str) -> list[str]:
    """Commands without a section, and flags or choices of a command missing from its section's table."""
    import argparse

    ref = _tool("cli_reference")
    sections = _sections(markdown)
    missing = []
    for name, sub in ref.commands(parser).items():
        if name not in sections:
            missing.append(f"{name}: no section")
            continue
        rows = [line for line in sections[name].splitlines() if line.startswith("| `")]
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            row = next((r for r in rows if any(r.startswith(f"| `{s}`") for s in action.option_strings)
                        or r.startswith(f"| `{action.dest}` (positional)")), None)
            label = "/".join(action.option_strings) or action.dest
            if row is None:
                missing.append(f"{name} {label}: no row")
            elif action.choices is not None and not all(str(c) in row for c in action.choices):
                missing.append(f"{name} {label}: choices not all listed")
            elif (action.nargs != 0 and action.default not in (None, argparse.SUPPRESS) and not action.required
                  and not isinstance(action.default, (list, tuple)) and f"`{action.default}`" not in row):
                missing.append(f"{name} {label}: default {action.default!r} not shown")
    return missing


def test_the_cli_reference_lists_every_command_flag_choice_and_default():
    from fhrn_ode.cli import build_parser

    parser = build_parser()
    ref = _tool("cli_reference")
    text = ref.markdown(parser)
    assert missing_from_cli_reference(parser, text) == []
    assert len(ref.commands(parser)) >= 20 and "fhrn-ode integrate" in ref.commands(parser)
    # the comparison can fail: drop the --t1 row of integrate, and the --copy section, and it says so
    cut = text.replace(next(line for line in _sections(text)["fhrn-ode integrate"].splitlines()
                            if line.startswith("| `--t1`")), "", 1)  # integrate's section comes first
    cut = re.sub(r"^## `fhrn-ode examples`$", "## `gone`", cut, flags=re.M)
    assert missing_from_cli_reference(parser, cut) == ["fhrn-ode integrate --t1: no row", "fhrn-ode examples: no section"]
    # every command of the table at the top links to its own section
    for name in ref.commands(parser):
        assert f"[`{name}`](#{ref.anchor(name)})" in text and slug(f"`{name}`") == ref.anchor(name)


def test_every_public_name_has_a_docstring():
    """Each name of the API reference (every __all__ entry of the documented packages) documents itself."""
    api = _tool("public_api")
    pkgs = api.packages()
    assert {"fhrn_ode", "fhrn_ode.dynamics", "fhrn_ode.analysis", "fhrn_ode.figures"} <= set(pkgs)
    names = [(path, module, name) for p in pkgs for path, module, name in api.public_names(p)]
    assert len(names) > 150
    missing = [path for path, module, name in names if not api.docstring(module, name)]
    assert not missing, "write a docstring (constants: a `#:` comment above the assignment) for:\n" + "\n".join(missing)


def test_the_docstring_finder_can_fail():
    api = _tool("public_api")
    assert api.docstring("fhrn_ode", "integrate").startswith("Integrate")
    assert api.constant_docstring("fhrn_ode", "POLE_THRESHOLD").startswith("A state with")
    assert api.constant_docstring("fhrn_ode", "NO_SUCH_CONSTANT") is None

    import dataclasses

    @dataclasses.dataclass
    class Bare:
        x: int

    import types

    mod = types.ModuleType("_fake_docs_module")
    mod.Bare, mod.f = Bare, lambda: None
    import sys

    sys.modules["_fake_docs_module"] = mod
    try:
        assert api.docstring("_fake_docs_module", "Bare") is None  # the @dataclass signature is no docstring
        assert api.docstring("_fake_docs_module", "f") is None
    finally:
        del sys.modules["_fake_docs_module"]


def test_links_into_generated_pages_are_checked(tmp_path):
    """A link to a generated page resolves only to a page and an anchor the generators produce."""
    pages = generated_pages()
    assert "fhrn-ode-integrate" in pages["docs/reference/cli.md"]
    assert "fhrn_ode.dynamics.find_fixed_points" in pages["docs/reference/fhrn_ode.dynamics.md"]
    assert "docs/examples/matrix_stability.md" in pages
    assert "fhrn-ode-no-such-command" not in pages["docs/reference/cli.md"]
    # analysis re-exports the dynamics tools for one release: they are rendered (and linkable) on the dynamics page
    assert "fhrn_ode.analysis.find_fixed_points" not in pages["docs/reference/fhrn_ode.analysis.md"]


def test_the_cli_reference_does_not_depend_on_the_terminal(monkeypatch):
    from fhrn_ode.cli import build_parser

    ref = _tool("cli_reference")
    monkeypatch.setenv("COLUMNS", "40")
    narrow = ref.markdown(build_parser())
    monkeypatch.setenv("COLUMNS", "250")
    assert ref.markdown(build_parser()) == narrow
    import os

    assert os.environ["COLUMNS"] == "250"


def test_readme_is_a_front_page_with_the_cpu_note_before_the_first_install():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    commands = ["pip install -e . && fhrn-ode integrate --wr antisym", 'pip install -e ".[test]" && pytest',
                'pip install -e ".[docs]" && mkdocs build --strict']
    assert all(f"\n{c}\n" in text for c in commands)  # each on its own line, exactly
    cpu = text.index("--index-url https://download.pytorch.org/whl/cpu")
    first_install = min(text.index(f"\n{c}\n") for c in commands)
    assert cpu < first_install and "CPU build" in text[:cpu]
