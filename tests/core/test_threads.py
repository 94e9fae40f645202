"""The thread policy (fhrn_ode/_threads.py) and the shared ``--threads`` option of the CLI."""

from __future__ import annotations

import argparse
import os
import sys

import pytest
import torch

from fhrn_ode import _threads
from fhrn_ode._errors import FHRNInputError
from fhrn_ode._threads import (CROSSOVER_NUMEL, available_cpus, limit_threads, mark_worker, parse_threads,
                               threads_for)


@pytest.fixture(autouse=True)
def _restore():
    n, pin = torch.get_num_threads(), _threads._PINNED
    yield
    torch.set_num_threads(n)
    _threads._PINNED = pin


def test_parse_threads():
    assert parse_threads("auto") is None and parse_threads(" AUTO ") is None
    assert parse_threads("3") == 3
    for bad in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(argparse.ArgumentTypeError, match=r"must be 'auto' or an integer >= 1"):
            parse_threads(bad)


def test_policy_small_problems_get_one_thread():
    assert available_cpus() == len(os.sched_getaffinity(0))
    for numel in (0, 16, 8192, CROSSOVER_NUMEL - 1):
        assert threads_for(numel) == 1
    big = threads_for(CROSSOVER_NUMEL)
    assert 1 <= big <= available_cpus()


def test_policy_large_problems_leave_busy_cpus(monkeypatch):
    monkeypatch.setattr(_threads, "available_cpus", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 0.0, 0.0))  # only us: every CPU
    assert threads_for(CROSSOVER_NUMEL) == 4
    monkeypatch.setattr(os, "getloadavg", lambda: (2.9, 0.0, 0.0))  # two busy elsewhere
    assert threads_for(CROSSOVER_NUMEL) == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (40.0, 0.0, 0.0))  # all busy: still one
    assert threads_for(CROSSOVER_NUMEL) == 1


def test_limit_threads_sets_and_restores():
    torch.set_num_threads(2)
    with limit_threads(1):
        assert torch.get_num_threads() == 1
        assert threads_for(CROSSOVER_NUMEL * 4) >= 1  # not pinned: the policy still answers
    assert torch.get_num_threads() == 2
    with limit_threads(None):
        assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError, match="boom"):
        with limit_threads(1, pin=True):
            assert threads_for(10 ** 9) == 1 and threads_for(1) == 1
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2 and _threads._PINNED is None


def test_limit_threads_refuses_bad_counts():
    with pytest.raises(FHRNInputError, match=r"`threads` must be >= 1, got 0"):
        with limit_threads(0):
            pass
    with pytest.raises(FHRNInputError, match=r"`threads` must be an integer, got 1.5"):
        with limit_threads(1.5):
            pass


def test_limit_threads_before_torch_is_imported_uses_the_environment(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    with limit_threads(1, pin=True):
        assert os.environ["OMP_NUM_THREADS"] == "1" and threads_for(10 ** 9) == 1
    assert os.environ["OMP_NUM_THREADS"] == "7" and _threads._PINNED is None


def test_mark_worker_pins_one_thread_by_default():
    mark_worker(None)
    assert threads_for(10 ** 9) == 1
    mark_worker(3)
    assert threads_for(1) == 3


def test_every_command_has_threads():
    from fhrn_ode.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [name for name, sp in sub.choices.items() if "--threads" not in sp._option_string_actions]
    assert missing == []
    assert sub.choices["integrate"].parse_args(["--threads", "auto"]).threads is None
    assert sub.choices["check"].parse_args([]).threads == 1  # check keeps its default 1


def test_main_applies_threads(monkeypatch, capsys):
    import fhrn_ode.cli.integrate as cli_integrate
    from fhrn_ode.cli import main

    seen = []
    monkeypatch.setattr(cli_integrate, "run", lambda args: seen.append((torch.get_num_threads(),
                                                                        threads_for(10 ** 9))) or 0)
    torch.set_num_threads(2)
    assert main(["integrate"]) == 0  # auto: 1 thread outside the solver, the policy inside it
    assert main(["integrate", "--threads", "2"]) == 0  # pinned: the solver uses it too
    assert seen[0][0] == 1 and 1 <= seen[0][1] <= available_cpus()
    assert seen[1] == (2, 2)
    assert torch.get_num_threads() == 2 and _threads._PINNED is None
    with pytest.raises(SystemExit) as exc:
        main(["integrate", "--threads", "0"])
    assert exc.value.code == 2
    assert "--threads: must be 'auto' or an integer >= 1, got '0'" in capsys.readouterr().err


def test_solve_applies_the_policy_and_restores():
    from fhrn_ode.solver import solve

    seen = []

    def f(t, y):  # dy/dt = -y: exact solution e^{-t} y0
        seen.append(torch.get_num_threads())
        return -y

    torch.set_num_threads(2)
    y0 = torch.ones(8, 2, dtype=torch.float64)
    sol = solve(f, y0, torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert set(seen) == {1} and torch.get_num_threads() == 2  # 16 elements: one thread
    assert float((sol.y[-1] - torch.exp(torch.tensor(-1.0, dtype=torch.float64))).abs().max()) < 1e-7
    seen.clear()
    torch.set_num_threads(1)
    solve(f, y0, torch.tensor([0.0, 1.0], dtype=torch.float64), threads=2)
    assert set(seen) == {2} and torch.get_num_threads() == 1
    with pytest.raises(FHRNInputError, match=r"`threads` must be >= 1, got 0"):
        solve(f, y0, torch.tensor([0.0, 1.0], dtype=torch.float64), threads=0)
