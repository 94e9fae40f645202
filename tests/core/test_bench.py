"""Benchmark harness and the stage-major dopri5: contract and correctness only (no timed assertions)."""

import json
import sys
import types

import numpy as np
import pytest
import torch
import torchdiffeq

from fhrn_ode import FHRNParams
from fhrn_ode.bench.harness import RESULT_KEYS, best_of, collect_cases, format_table, make_row, run_cases
from fhrn_ode.bench.integrate import integrate_case
from fhrn_ode._dopri5 import odeint_stage_major
from fhrn_ode.cli import main
from fhrn_ode.field import FHRNField
from fhrn_ode.integration import initial_conditions
from fhrn_ode.operators import make_operator


# -- the stage-major dopri5 is torchdiffeq's dopri5 ----------------------------------------------
@pytest.mark.parametrize("memory", ["none", "hebbian"])
def test_stage_major_dopri5_matches_torchdiffeq(memory):
    d, n = 3, 5
    p = FHRNParams(memory=memory, beta=0.3, drive=0.1)
    W = make_operator("mixed", d, seed=2)
    y0 = initial_conditions(n, d, 2.0, seed=1)
    state = (y0, torch.zeros(n, d, d, dtype=torch.float64)) if memory != "none" else y0
    t = torch.linspace(0.0, 3.0, 31, dtype=torch.float64)
    f_ref, f_new = FHRNField(W, p), FHRNField(W, p)
    ref = torchdiffeq.odeint(f_ref, state, t, method="dopri5", rtol=1e-8, atol=1e-10)
    with torch.no_grad():
        new = odeint_stage_major(f_new, state, t, rtol=1e-8, atol=1e-10)
    assert f_new.nfe == f_ref.nfe  # same steps, same evaluations
    for a, b in zip(ref if isinstance(ref, tuple) else (ref,), new if isinstance(new, tuple) else (new,)):
        assert a.shape == b.shape
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=0, atol=1e-11)


def test_integrate_fast_path_matches_plain_torchdiffeq(monkeypatch):
    import importlib

    mod = importlib.import_module("fhrn_ode.integration")
    W = make_operator("antisym", 2, seed=0)
    y0 = initial_conditions(16, 2, 2.0, seed=0)
    fast = mod.integrate(W, y0, t1=4.0, n_points=41)
    monkeypatch.setattr(importlib.import_module("fhrn_ode.solver"), "_STAGE_MAJOR_DOPRI5", False)
    plain = mod.integrate(W, y0, t1=4.0, n_points=41)
    assert fast.status == plain.status == "success" and fast.nfe == plain.nfe
    np.testing.assert_allclose(fast.y.numpy(), plain.y.numpy(), rtol=0, atol=1e-12)


# -- harness ---------------------------------------------------------------------------------------
def _fake_module(monkeypatch, name="fhrn_ode.bench.fake"):
    mod = types.ModuleType(name)

    def trivial():
        secs, out = best_of(lambda: sum(range(100)), k=2)
        return [make_row("fake/sum/vs_loop", secs, "python loop", 2 * secs, 0.0, extra=out),
                make_row("fake/sum/vs_numpy", secs, "numpy", secs, float("nan"))]

    def broken():
        raise ValueError("boom")

    def no_keys():
        return [{"name": "fake/bad"}]

    trivial.bench_name = "sum"
    broken.bench_name = "broken"
    no_keys.bench_name = "nokeys"
    seen = {}

    def cases(quick, seed=0):
        seen.update(quick=quick, seed=seed)
        return [trivial, broken, no_keys]

    mod.cases = cases
    mod.seen = seen
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


def test_harness_runs_cases_skips_missing_modules_and_reports_errors(monkeypatch):
    mod = _fake_module(monkeypatch)
    cases, skipped = collect_cases(True, ("fhrn_ode.bench.fake", "fhrn_ode.bench.not_there"), seed=3)
    assert skipped == ["fhrn_ode.bench.not_there"]
    assert mod.seen == {"quick": True, "seed": 3}
    assert [c.label for c in cases] == ["fake/sum", "fake/broken", "fake/nokeys"]
    rows = run_cases(cases, progress=False)
    assert [r["name"] for r in rows] == ["fake/sum/vs_loop", "fake/sum/vs_numpy", "fake/broken", "fake/nokeys"]
    for r in rows:
        assert set(RESULT_KEYS) <= set(r)
    assert rows[0]["speedup"] == pytest.approx(2.0) and rows[0]["extra"] == 4950
    assert rows[1]["max_abs_err"] is None  # NaN becomes null (strict JSON)
    assert "boom" in rows[2]["error"] and rows[2]["ours_s"] is None
    assert "without ours_s" in rows[3]["error"]
    table = format_table(rows)
    assert "fake/sum/vs_loop" in table and "ERROR: ValueError: boom" in table


def test_harness_only_filters_by_label_then_by_row_name(monkeypatch):
    _fake_module(monkeypatch)
    cases, _ = collect_cases(False, ("fhrn_ode.bench.fake",))
    assert [r["name"] for r in run_cases(cases, only="broken", progress=False)] == ["fake/broken"]
    assert [r["name"] for r in run_cases(cases, only="vs_numpy", progress=False)] == ["fake/sum/vs_numpy"]
    assert run_cases(cases, only="nothing-matches", progress=False) == []


def test_harness_progress_lines_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    """Issue 11 item 9: progress reaches a log file too (plain lines with count, rate and ETA)."""
    _fake_module(monkeypatch)
    monkeypatch.setenv("FHRN_ODE_PROGRESS_SECONDS", "0")
    cases, _ = collect_cases(False, ("fhrn_ode.bench.fake",))
    run_cases(cases)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("fhrn-ode bench:")]
    assert any(f"case 1/{len(cases)}" in ln and "ETA" in ln for ln in lines)
    assert lines[-1].startswith(f"fhrn-ode bench: done: case {len(cases)}/{len(cases)}")
    run_cases(cases, progress=False)
    assert "fhrn-ode bench" not in capsys.readouterr().err


def test_cli_bench_json_text_and_only(monkeypatch, capsys):
    _fake_module(monkeypatch)
    monkeypatch.setattr("fhrn_ode.cli.bench.CASE_MODULES", ("fhrn_ode.bench.fake", "fhrn_ode.bench.not_there"))
    assert main(["bench", "--quick", "--json", "--only", "sum", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out)
    assert isinstance(rows, list) and [r["name"] for r in rows] == ["fake/sum/vs_loop", "fake/sum/vs_numpy"]
    assert all(set(RESULT_KEYS) <= set(r) for r in rows)
    assert main(["bench", "--only", "sum"]) == 0
    text = capsys.readouterr().out
    assert "speedup" in text and "fake/sum/vs_numpy" in text and "not present: fhrn_ode.bench.not_there" in text
    assert main(["bench", "--only", "broken"]) == 1  # a failing case: exit 1, message on stderr
    assert "case fake/broken failed: ValueError: boom" in capsys.readouterr().err


def test_cli_bench_bad_input_is_one_line(capsys):
    assert main(["bench", "--seed", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`--seed` must be >= 0" in err[0]
    assert main(["bench", "--only", " "]) == 2
    assert "`--only` must be a non-empty substring" in capsys.readouterr().err


# -- the real integrate case, tiny -------------------------------------------------------------------
def test_integrate_case_tiny():
    rows = integrate_case(2, 12, t1=1.0, n_points=11, n_loop=4, n_ref=2, k=1)
    names = [r["name"] for r in rows]
    assert names == ["integrate/d2_n12/vs_loop", "integrate/d2_n12/vs_vectorised", "integrate/d2_n12/vs_torchdiffeq"]
    for r in rows:
        assert set(RESULT_KEYS) <= set(r)
        assert r["ours_s"] > 0 and r["baseline_s"] > 0 and r["speedup"] == pytest.approx(r["baseline_s"] / r["ours_s"])
        # every solver at rtol 1e-7 / atol 1e-9 is close to the DOP853 rtol 1e-12 reference
        assert r["max_abs_err"] < 1e-5 and r["baseline_max_abs_err"] < 1e-5
    assert rows[0]["loop_scale"] == pytest.approx(3.0)
    json.dumps(rows, allow_nan=False)


@pytest.mark.parametrize("params", [FHRNParams(), FHRNParams(beta=0.4, drive=0.2), FHRNParams(beta=2.0)])
def test_field_on_columns_equals_field_on_rows(params):
    W = make_operator("random", 3, seed=4)
    f = FHRNField(W, params, max_norm=5.0)
    y = initial_conditions(6, 3, 2.0, seed=2)
    y[1] = 10.0  # beyond max_norm: frozen (zero derivative) by the guard in both layouts
    t = torch.tensor(0.0, dtype=torch.float64)
    rows, cols = f(t, y), f._forward_columns(t, y.T.contiguous())
    np.testing.assert_allclose(cols.T.numpy(), rows.numpy(), rtol=1e-13, atol=1e-13)
    assert torch.all(rows[1] == 0) and f.nfe == 2


def test_plot_from_json_names_the_rows_source_not_this_machine(tmp_path, monkeypatch):
    """`bench --plot --from-json` redraws stored rows: the figure's note says where they come from (the rows do
    not record their machine), never this machine and this time as if it had measured them."""
    import fhrn_ode.figures.bench as fb

    rows = [make_row("integrate/d2_n8/vs_vectorised", 0.2, "solve_ivp", 0.1, 1e-7, d=2, n=8)]
    src = tmp_path / "rows.json"
    src.write_text(json.dumps(rows))
    notes = []
    real = fb.plot_bench_scaling
    monkeypatch.setattr(fb, "plot_bench_scaling", lambda r, note="": notes.append(note) or real(r, note=note))
    assert main(["bench", "--plot", str(tmp_path / "b.png"), "--from-json", str(src)]) == 0
    assert notes and notes[0].startswith("redrawn from rows.json (written ")
    assert (tmp_path / "b.png").stat().st_size > 0
