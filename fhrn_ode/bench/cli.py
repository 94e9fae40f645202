"""Benchmark: CLI start-up, ``fhrn-ode --help`` as a subprocess against ``python -c "pass"``.

Rows ``cli/startup/vs_python`` (``fhrn-ode --help``) and ``cli/startup_integrate/vs_python``
(``fhrn-ode integrate --help``): best-of-k wall time of a fresh interpreter running the CLI
(``python -m fhrn_ode``, the same entry point as the ``fhrn-ode`` script) against one that does
nothing. ``speedup`` is below 1 by construction; ``overhead_s = ours_s - baseline_s`` is what the
CLI's own imports cost (the goal is ``ours_s`` well under a second: heavy imports happen inside
the command that needs them). ``max_abs_err`` is null (no numbers).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile

from .harness import best_of, interleaved, make_row

__all__ = ["cases", "main_job_row", "startup_rows"]


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} exited {proc.returncode}: {proc.stderr.strip()[-200:]}")


def startup_rows(k: int = 5) -> list[dict]:
    py = sys.executable
    t_py, _ = best_of(lambda: _run([py, "-c", "pass"]), k)
    rows = []
    for tag, args in (("startup", ["--help"]), ("startup_integrate", ["integrate", "--help"])):
        t_cli, _ = best_of(lambda args=args: _run([py, "-m", "fhrn_ode", *args]), k)
        rows.append(make_row(f"cli/{tag}/vs_python", t_cli, 'python -c "pass" (interpreter start)', t_py, None,
                             command="fhrn-ode " + " ".join(args), overhead_s=t_cli - t_py, repeats=k))
    return rows


def main_job_row(k: int = 5, extra: tuple[str, ...] = ()) -> list[dict]:
    """Row ``cli/main_job/vs_import_torch`` (module docstring); ``extra``: more ``integrate`` flags."""
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="fhrn-bench-") as tmp:
        job = [py, "-m", "fhrn_ode", "integrate", "--wr", "antisym", "--out", tmp, *extra]
        (t_job, _), (t_torch, _) = interleaved([lambda: _run(job), lambda: _run([py, "-c", "import torch"])], k=k)
    return [make_row("cli/main_job/vs_import_torch", t_job, 'python -c "import torch"', t_torch, None,
                     command="fhrn-ode integrate --wr antisym " + " ".join(extra), ratio=t_job / t_torch, repeats=k)]


def cases(quick: bool, seed: int = 0) -> list:
    def startup():
        return startup_rows(k=3 if quick else 5)

    def main_job():
        return main_job_row(k=2 if quick else 5)

    startup.bench_name = "startup"
    main_job.bench_name = "main_job"
    return [startup, main_job]
