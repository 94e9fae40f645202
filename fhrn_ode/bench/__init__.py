"""``fhrn-ode bench``: the benchmark harness and its cases (each a ratio against a same-run baseline).

The harness is :mod:`fhrn_ode.bench.harness`; each other module is one family of cases and exposes
``cases(quick, seed=...)``.
"""

from .harness import (CASE_MODULES, RESULT_KEYS, BenchCase, best_of, collect_cases, format_table, interleaved,
                      make_row, run_cases)

__all__ = ["CASE_MODULES", "RESULT_KEYS", "BenchCase", "best_of", "collect_cases", "format_table", "interleaved", "make_row",
           "run_cases"]
