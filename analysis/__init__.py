"""fhrn_ode.analysis: pure functions returning result dataclasses (no plotting).

Depends on the core package only; installed as ``fhrn_ode.analysis``.
"""

from .phase import Projection, project

__all__ = ["Projection", "project"]
