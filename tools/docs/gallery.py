"""The examples gallery: every script in examples/ is run when the docs are built, and its page shows the
script, what it printed and the figures it drew.

Each script runs in a fresh Python process in an empty folder, with ``FHRN_EXAMPLE_QUICK=1`` (the scripts'
small sizes, so the build stays short), the Agg backend and one torch thread, and with the arguments of
its module-level ``GALLERY_ARGV`` list when it has one (e.g. ``--plot map.png``). The figures are every
PNG it wrote there plus every pyplot figure it left open without saving it. A script that fails fails the build.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["EXAMPLES", "scripts", "run", "pages"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

_WRAPPER = """
import runpy, sys
import matplotlib
matplotlib.use("Agg")
from matplotlib.figure import Figure
_savefig = Figure.savefig
def _marking_savefig(self, *args, **kwargs):  # a figure the script saved itself is not saved twice
    self._gallery_saved = True
    return _savefig(self, *args, **kwargs)
Figure.savefig = _marking_savefig
script, argv = sys.argv[1], sys.argv[2:]
sys.argv = [script, *argv]
runpy.run_path(script, run_name="__main__")
import matplotlib.pyplot as plt
for n in plt.get_fignums():
    if not getattr(plt.figure(n), "_gallery_saved", False):
        _savefig(plt.figure(n), f"figure_{n}.png", dpi=110, bbox_inches="tight")
"""


def scripts() -> list[Path]:
    """The example scripts (``examples/*.py`` except the package's ``__init__.py``), sorted by name."""
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _gallery_argv(path: Path) -> list[str]:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "GALLERY_ARGV" for t in node.targets):
            return [str(a) for a in ast.literal_eval(node.value)]
    return []


def run(path: Path) -> tuple[str, list[tuple[str, bytes]]]:
    """Run one example as described in the module docstring: (its stdout, [(figure file name, PNG bytes)])."""
    env = {**os.environ, "FHRN_EXAMPLE_QUICK": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="fhrn-gallery-") as tmp:
        proc = subprocess.run([sys.executable, "-c", _WRAPPER, str(path), *_gallery_argv(path)], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"example {path.name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        figures = [(p.name, p.read_bytes()) for p in sorted(Path(tmp).glob("*.png"))]
    return proc.stdout, figures


def _title_and_text(path: Path) -> tuple[str, str]:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or path.stem
    first, _, rest = doc.partition("\n")
    return first.strip(), rest.strip()


def pages() -> dict[str, str | bytes]:
    """``{site path: page text or PNG bytes}`` for the gallery: ``examples/index.md`` and one page per script."""
    out: dict[str, str | bytes] = {}
    index = ["# Examples", "", "Scripts that use the library the way a researcher would. They are installed with the "
             "package (`fhrn-ode examples` prints where, `fhrn-ode examples --copy DIR` copies them) and were run "
             "when this site was built, with `FHRN_EXAMPLE_QUICK=1` (small sizes): the outputs and figures below "
             "are theirs.", "", "| script | what it shows |", "| --- | --- |"]
    for path in scripts():
        title, text = _title_and_text(path)
        stdout, figures = run(path)
        argv = " ".join(_gallery_argv(path))
        lines = [f"# `{path.name}`", "", f"*{title}*", "", text, "",
                 f"Run: `python {path.name}{' ' + argv if argv else ''}` in the folder `fhrn-ode examples` prints "
                 "(full sizes; `--quick` or `FHRN_EXAMPLE_QUICK=1` for the small ones used here).", "",
                 "## Output", "", "```text", stdout.rstrip() or "(nothing printed)", "```", ""]
        for name, data in figures:
            out[f"examples/{path.stem}/{name}"] = data
            lines += [f"![{name} drawn by {path.name}]({path.stem}/{name})", ""]
        lines += ["## Source", "", "```python", path.read_text(encoding="utf-8").rstrip(), "```", ""]
        out[f"examples/{path.stem}.md"] = "\n".join(lines)
        index.append(f"| [`{path.name}`]({path.stem}.md) | {title} |")
    out["examples/index.md"] = "\n".join(index) + "\n"
    return out
