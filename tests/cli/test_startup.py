"""Fast CLI start: building the parser imports nothing heavy; the package root is lazy (PEP 562)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "numpy", "scipy", "sympy", "matplotlib", "torchdiffeq", "safetensors")
ROOT = Path(__file__).resolve().parents[2]


def _imported_after(code: str) -> list[str]:
    probe = code + f"\nimport sys, json; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_building_the_parser_imports_no_heavy_module():
    assert _imported_after("import fhrn_ode.cli as c; c.build_parser()") == []


def test_import_fhrn_ode_is_light_and_names_resolve_lazily():
    assert _imported_after("import fhrn_ode; fhrn_ode.FHRNParams; fhrn_ode.FHRNInputError") == []
    assert "torch" in _imported_after("import fhrn_ode; fhrn_ode.integrate")


@pytest.mark.parametrize("argv", [["--help"], ["integrate", "--help"], ["train", "--help"], ["map", "--bogus"],
                                  ["integrate", "--rtol", "-1e-7", "--out", "/proc/x"]])
def test_help_and_bad_flags_answer_without_heavy_imports(argv):
    code = ("import os, sys, runpy\nos.environ['FHRN_ODE_SLOW_EXIT'] = '1'\nsys.argv = ['fhrn-ode', *%r]\n"
            "try:\n    runpy.run_module('fhrn_ode', run_name='__main__')\nexcept SystemExit:\n    pass" % (argv,))
    assert _imported_after(code) == []


def test_every_command_module_top_level_is_light():
    """No command module (nor _common, nor cli/__init__) imports a heavy package at module level (functions may;
    helper modules that only a command's run() imports, like cli/_slots_run.py, may too)."""
    from fhrn_ode.cli import COMMAND_MODULES

    names = [m.rsplit(".", 1)[1] for m in COMMAND_MODULES] + ["_common", "__init__"]
    for path in [ROOT / "fhrn_ode" / "cli" / f"{n}.py" for n in names]:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for n in names:
                assert n.split(".")[0] not in HEAVY, f"{path.name} imports {n} at module level"


def test_all_is_unchanged_and_every_name_resolves():
    import fhrn_ode

    expected = {"ADAPTIVE_SOLVERS", "FHRL", "FHRLConfig", "GPTConfig", "Linearization", "PRESETS", "TinyGPT",
                "TrainOptions", "fhrl_step", "finite_difference_jacobian", "linearize_checkpoint", "linearize_map",
                "linearize_model", "load_checkpoint", "mean_w_star", "reference_model_path", "save_checkpoint",
                "train", "FHRNField", "FHRNInputError", "FHRNParams", "IntegrationResult", "MEMORY_KINDS",
                "OPERATOR_KINDS", "OperatorInfo", "SOLVERS", "check_matrix", "decompose", "gain", "gain_derivative",
                "homeostatic_field", "initial_conditions", "integrate", "load_operator", "lyapunov_V",
                "make_operator", "operator_info", "resolve_operator", "ring_radius", "spectral_abscissa"}
    assert expected <= set(fhrn_ode.__all__)
    for name in fhrn_ode.__all__:
        assert getattr(fhrn_ode, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        fhrn_ode.nope  # noqa: B018


def test_light_choice_tuples_agree_with_the_library():
    from fhrn_ode import _names, integration, linearize, operators

    assert _names.SOLVERS == integration.SOLVERS
    assert _names.OPERATOR_KINDS == operators.OPERATOR_KINDS
    assert _names.JAC_METHODS == linearize.JAC_METHODS
    assert _names.SCOPES == linearize.SCOPES


def test_a_named_command_registers_only_its_module_and_others_fall_back_to_all():
    from fhrn_ode.cli import COMMAND_MODULES, build_parser

    def commands(parser):
        return next(a for a in parser._actions if a.dest == "command").choices

    everything = set(commands(build_parser()))
    assert len(everything) >= len(COMMAND_MODULES)
    one = commands(build_parser("integrate"))
    assert list(one) == ["integrate"] and "--threads" in one["integrate"]._option_string_actions
    assert set(commands(build_parser("continue"))) == {"continue"}  # module continue_.py
    assert set(commands(build_parser("fixed-points"))) == {"fixed-points"}  # module fixed_points.py
    for other in ("no-such-command", "--help", None):  # unknown command, a flag, nothing: every command
        assert set(commands(build_parser(other))) == everything


def test_an_unknown_command_still_gets_the_closest_suggestion(capsys):
    from fhrn_ode.cli import main

    with pytest.raises(SystemExit, match="2"):
        main(["integratee", "--out", "x"])
    assert "did you mean 'integrate'?" in capsys.readouterr().err


def test_a_finished_command_ends_fast_but_runs_exit_handlers_and_flushes(tmp_path):
    """entry() skips the interpreter's teardown (os._exit) after a finished command: registered exit handlers
    still run and buffered stdout still arrives; FHRN_ODE_SLOW_EXIT=1 gives the ordinary exit (same output)."""
    import os

    mark = tmp_path / "atexit.txt"
    code = ("import atexit, sys, pathlib\n"
            f"atexit.register(lambda: pathlib.Path({str(mark)!r}).write_text('ran'))\n"
            "sys.stdout.write('buffered line\\n')\n"
            "sys.argv = ['fhrn-ode', 'map', '--bogus']\n"
            "from fhrn_ode.cli import entry\nentry()")
    for slow in ("", "1"):
        mark.unlink(missing_ok=True)
        env = {**os.environ, "FHRN_ODE_SLOW_EXIT": slow}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert r.returncode == 2, r.stderr
        assert r.stdout == "buffered line\n"
        assert "--bogus" in r.stderr and "Traceback" not in r.stderr
        assert mark.read_text() == "ran"
