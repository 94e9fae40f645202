"""The training bench case module follows the harness interface (timings are never asserted)."""

import torch

from fhrn_ode.bench.harness import RESULT_KEYS
from fhrn_ode.bench.train import _layer_err, cases


def test_bench_train_rows():
    torch.set_num_threads(1)
    fns = cases(True)
    assert len(fns) == 2 and all(callable(f) for f in fns)
    rows = fns[0]()
    assert len(rows) == 1 and set(RESULT_KEYS) <= set(rows[0])
    r = rows[0]
    assert r["ours_s"] > 0 and r["baseline_s"] > 0 and r["max_abs_err"] < 1e-10
    assert abs(r["slowdown"] * r["speedup"] - 1) < 1e-9
    assert _layer_err(seed=1) < 1e-10  # fast two-pass layer vs the step-by-step reference, float64
