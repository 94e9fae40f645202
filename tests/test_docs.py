"""The documentation is self-contained and its references resolve (issue 9, item 4).

(a) no tracked file refers to a document outside the repository (the specification and the source
    texts the project was built from are not part of it; cite docs/model.md or a paper's arXiv id);
(b) every relative link in README.md and docs/*.md points to a file that exists, and an anchor into a
    Markdown page names one of its headings;
(c) every ``docs/model.md §N`` cited anywhere in the repository is a section of docs/model.md;
(d) every ``fhrn-ode`` command has a heading in a docs page, and each of its options is named on a docs page
    that mentions the command.
"""

from __future__ import annotations

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
                if rel not in PAGES_FROM_OTHER_BRANCHES:
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


def test_every_command_and_option_is_documented():
    """Each ``fhrn-ode`` command has a ``fhrn-ode CMD`` heading in a docs page; its options are named on a page about it."""
    pages = {p: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
    missing = []
    for name, sub in _subcommands().items():
        heading = re.compile(rf"^#{{1,6}} .*`fhrn-ode {re.escape(name)}(?:`| )", re.M)
        homes = [p for p, text in pages.items() if heading.search(text)]
        if not homes:
            missing.append(f"`fhrn-ode {name}`: no heading in docs/*.md")
            continue
        # an option may be documented on any page that talks about the command (e.g. a feature's own page)
        about = [p for p, text in pages.items() if re.search(rf"fhrn-ode {re.escape(name)}(?![\w-])", text)]
        text = "".join(pages[p] for p in about)
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help" and not re.search(rf"{re.escape(flag)}(?![\w-])", text):
                    missing.append(f"`fhrn-ode {name} {flag}`: not on any docs page about `fhrn-ode {name}`")
    assert not missing, "document these (docs/cli.md or the page of their area):\n" + "\n".join(missing)
