"""``fhrn-ode examples``: the installed example scripts, listed and copied (issue 21, item 2)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from fhrn_ode.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(capsys, *argv):
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _scripts() -> dict[str, str]:
    out = {}
    for p in sorted(EXAMPLES.glob("*.py")):
        if not p.name.startswith("_"):
            out[p.name] = ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))).strip().splitlines()[0]
    return out


def test_examples_lists_every_script_of_the_installed_package(capsys):
    import fhrn_ode.examples

    rc, out, err = _run(capsys, "examples", "--json")
    obj = json.loads(out)
    assert rc == 0 and err == ""
    assert Path(obj["folder"]) == Path(fhrn_ode.examples.__file__).parent == EXAMPLES
    assert {e["name"]: e["summary"] for e in obj["examples"]} == _scripts() and len(obj["examples"]) >= 3
    assert obj["copied"] == []
    rc, out, _ = _run(capsys, "examples")
    assert rc == 0 and f"{len(_scripts())} scripts in {EXAMPLES}" in out
    assert all(name in out for name in _scripts())


def test_examples_copy_writes_identical_files_and_replaces_them(tmp_path, capsys):
    dest = tmp_path / "mine"
    for _ in range(2):  # a second copy into the same folder replaces the files
        rc, out, _ = _run(capsys, "examples", "--copy", str(dest), "--json")
        assert rc == 0
    assert sorted(Path(p).name for p in json.loads(out)["copied"]) == sorted(_scripts())
    for name in _scripts():
        assert (dest / name).read_bytes() == (EXAMPLES / name).read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == sorted(_scripts())  # no lock or temp file left


def test_examples_copy_onto_a_file_is_refused_in_one_line(tmp_path, capsys):
    target = tmp_path / "f"
    target.write_text("x")
    rc, out, err = _run(capsys, "examples", "--copy", str(target))
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "fhrn-ode examples: error: `--copy`" in err and "not a directory" in err
    assert target.read_text() == "x"
