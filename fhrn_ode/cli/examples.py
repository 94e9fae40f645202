"""``fhrn-ode examples``: where the installed example scripts are, what each shows, and a copy on request."""

from __future__ import annotations

import argparse

from ._common import emit_json


def register(sub) -> None:
    p = sub.add_parser("examples", help="where the example scripts are installed (and a copy of them)",
                       description="List the example scripts installed with fhrn-ode (the package fhrn_ode.examples): "
                                   "their folder and the first line of each docstring. Run one with `python PATH`; "
                                   "--quick (or FHRN_EXAMPLE_QUICK=1) gives small sizes. The documentation's "
                                   "gallery shows their output.")
    p.add_argument("--copy", metavar="DIR", default=None,
                   help="copy the scripts into DIR (created if needed; files of the same name are replaced)")
    p.add_argument("--json", action="store_true",
                   help="print {folder, examples: [{name, path, summary}], copied} as JSON (and nothing else)")
    p.add_argument("--seed", type=int, default=0,
                   help="accepted for uniformity; listing and copying use no random draw (default %(default)s)")
    p.set_defaults(func=run)


def example_scripts():
    """(folder, [(name, path, summary)]) of the installed examples, sorted by name."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("fhrn_ode.examples")
    folder = Path(next(iter(spec.submodule_search_locations)))
    out = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        out.append((path.name, path, doc.strip().splitlines()[0] if doc.strip() else ""))
    return folder, out


def run(args: argparse.Namespace) -> int:
    from .._errors import check_int
    from .._io import atomic_write_bytes
    from ._common import check_out_dir

    check_int("--seed", args.seed, low=0)  # accepted for uniformity: nothing here is random
    folder, scripts = example_scripts()
    copied = []
    if args.copy is not None:
        dest = check_out_dir(args.copy, flag="--copy")
        copied = [str(atomic_write_bytes(dest / name, path.read_bytes())) for name, path, _ in scripts]
    if args.json:
        emit_json({"folder": str(folder), "copied": copied,
                   "examples": [{"name": n, "path": str(p), "summary": s} for n, p, s in scripts]})
        return 0
    print(f"fhrn-ode examples: {len(scripts)} scripts in {folder}")
    width = max((len(n) for n, _, _ in scripts), default=0)
    for name, _, summary in scripts:
        print(f"  {name:<{width}}  {summary}")
    if copied:
        print(f"copied {len(copied)} scripts to {args.copy}")
    first = scripts[0][0] if scripts else "SCRIPT.py"
    print(f"run one: python {folder / first} --quick   (docs: the Examples gallery)")
    return 0
