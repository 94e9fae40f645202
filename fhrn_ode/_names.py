"""Names the CLI parser needs (choices of flags), in a module that imports nothing heavy.

``fhrn-ode --help`` and every ``fhrn-ode CMD --help`` build their parsers from these tuples without
importing torch, numpy, scipy, sympy or matplotlib. Each tuple mirrors the library's own list; a
test (tests/cli/test_startup.py) checks that they agree, so they cannot drift apart.
"""

from __future__ import annotations

__all__ = ["OPERATOR_KINDS", "SOLVERS", "JAC_METHODS", "SCOPES"]

#: Built-in reentry operators (fhrn_ode.operators.OPERATOR_KINDS).
OPERATOR_KINDS = ("antisym", "sym", "mixed", "random")
#: torchdiffeq methods ``integrate`` accepts (fhrn_ode.integration.SOLVERS).
SOLVERS = ("dopri8", "dopri5", "bosh3", "fehlberg2", "adaptive_heun", "euler", "midpoint", "heun2", "heun3",
           "rk4", "explicit_adams", "implicit_adams")
#: torch.func Jacobian modes of ``linearize`` (fhrn_ode.linearize.JAC_METHODS).
JAC_METHODS = ("jacfwd", "jacrev")
#: What H is in ``linearize`` / ``check`` (fhrn_ode.linearize.SCOPES).
SCOPES = ("layer", "block")
