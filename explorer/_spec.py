"""One view of ``fhrn-ode explore``: the controls' values, validated, and the equivalent command line.

The browser sends every control's value with every request (the server keeps no per-view state, so two
tabs never interfere); :func:`parse_view` turns that JSON object into a :class:`ViewSpec` or raises
:class:`~fhrn_ode._errors.FHRNInputError` naming the control, the value and what is allowed. The model
parameters are validated by :class:`~fhrn_ode.params.FHRNParams` itself (docs/model.md §1).
"""

from __future__ import annotations

import math
import shlex
from dataclasses import asdict, dataclass
from typing import Any

from fhrn_ode._errors import FHRNInputError, check_choice, check_int, check_real

__all__ = ["DEFAULTS", "MODEL_KEYS", "MAX_DIM", "MAX_INIT", "MAX_POINTS", "ViewSpec", "parse_view", "point_of"]

#: The slider parameters of the model (docs/model.md §1; C 2, C 7-8).
MODEL_KEYS = ("gamma", "kappa", "theta", "leak", "beta")
#: Largest magnitude accepted for a parameter (as the CLI's flags: fhrn_ode.cli._common.MAX_MAGNITUDE).
_MAX = 1e6
#: The explorer draws interactively: beyond these sizes use ``fhrn-ode integrate`` (the page says so).
MAX_DIM, MAX_INIT, MAX_POINTS = 64, 256, 2001

#: Defaults of the page: 64 trajectories of the 2-D antisymmetric field to t = 10 (a redraw within ~150 ms).
DEFAULTS: dict[str, Any] = dict(wr="antisym", dim=2, seed=0, wr_scale=1.0, gamma=1.0, kappa=10.0, theta=1.0,
                                leak=1.0, beta=0.0, memory="none", n_init=64, init_radius=2.0, t1=10.0,
                                n_points=101, rtol=1e-4, atol=1e-6, extent=2.2)


@dataclass(frozen=True)
class ViewSpec:
    """The controls of one view (every value validated).

    Attributes:
        wr: the ``--wr`` spec (a built-in kind, a matrix file, ``CKPT[:layer[:context]]``, ``reference``, ...).
        dim: size of a built-in operator (None: the matrix's own size). seed: the operator's and the initial
        states' seed. wr_scale: ``|W*|_2`` of a built-in operator (None for any other source).
        gamma, kappa, theta, leak, beta: model parameters; None (only after choosing a trained operator)
        takes the trained model's gamma/beta or the default. memory: 'none' or 'hebbian'.
        n_init, init_radius: the batch, ``fhrn_ode.initial_conditions(n_init, d, init_radius, seed=seed)``.
        t1, n_points, rtol, atol: the integration (dopri5). extent: half-width of the drawn plane.
    """

    wr: str
    dim: int | None
    seed: int
    wr_scale: float | None
    gamma: float | None
    kappa: float | None
    theta: float | None
    leak: float | None
    beta: float | None
    memory: str
    n_init: int
    init_radius: float
    t1: float
    n_points: int
    rtol: float
    atol: float
    extent: float

    def to_dict(self) -> dict[str, Any]:
        """JSON of the view's parameters (the export)."""
        return asdict(self)

    def command(self, params, y0=None) -> str:
        """The ``fhrn-ode integrate`` command line that computes this view's batch (same numbers), or with
        ``y0`` (states ``(N, d)``, e.g. a clicked point) the trajectories from exactly those states (``--y0``).

        ``params``: the :class:`~fhrn_ode.params.FHRNParams` the view used (trained defaults filled in).
        Floats are written with ``repr`` so the command reproduces the view to the last bit; the view's
        tolerances (``--rtol``/``--atol``) are written too, so the CLI integrates exactly as the view did.
        """
        from fhrn_ode.cli._y0 import format_y0

        parts = ["fhrn-ode", "integrate", "--wr", self.wr]
        if self.dim is not None:
            parts += ["--dim", str(self.dim)]
        if self.wr_scale is not None:
            parts += ["--wr-scale", repr(self.wr_scale)]
        for k in MODEL_KEYS:
            parts += [f"--{k}", repr(float(getattr(params, k)))]
        if params.memory != "none":
            parts += ["--memory", params.memory]
        parts += ["--seed", str(self.seed)]
        if y0 is None:
            parts += ["--n-init", str(self.n_init), "--init-radius", repr(self.init_radius)]
        else:
            parts += ["--y0", format_y0(y0)]
        parts += ["--t1", repr(self.t1), "--n-points", str(self.n_points), "--rtol", repr(self.rtol),
                  "--atol", repr(self.atol), "--out", "runs/explore", "--no-plot", "--json"]
        return " ".join(shlex.quote(p) for p in parts)


def _number(name: str, value: Any, *, low=None, high=None, low_open=False, allow_none=False):
    """A control's value (a number or the text typed into a field) as a float."""
    if value is None and allow_none:  # null: the trained model's value or the default (never an empty field)
        return None
    if value is None or (isinstance(value, str) and value.strip() == ""):
        raise FHRNInputError(f"`{name}` is empty; type a number")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise FHRNInputError(f"`{name}` must be a number, got {value!r}") from None
    return check_real(name, value, low=low, high=high, low_open=low_open)


def _integer(name: str, value: Any, *, low: int, high: int) -> int:
    v = _number(name, value)
    if not float(v).is_integer():
        raise FHRNInputError(f"`{name}` must be a whole number, got {value!r}")
    n = int(v)
    if n > high:
        raise FHRNInputError(f"`{name}` must be <= {high} in the explorer (it redraws on every change; "
                             f"`fhrn-ode integrate` takes more), got {n}")
    return check_int(name, n, low=low)


def parse_view(data: Any) -> ViewSpec:
    """Validate the JSON object a page sends (missing keys take :data:`DEFAULTS`).

    Raises:
        FHRNInputError: a value that is not a number, out of range, or an unknown key or choice.
    """
    if not isinstance(data, dict):
        raise FHRNInputError(f"the request must be a JSON object of control values, got {type(data).__name__}")
    unknown = sorted(set(data) - set(DEFAULTS) - {"point", "param"})
    if unknown:
        raise FHRNInputError(f"unknown control(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
    v = {**DEFAULTS, **data}
    wr = v["wr"]
    if not isinstance(wr, str) or not wr.strip():
        raise FHRNInputError(f"`wr` must name an operator (antisym, sym, mixed, random, a file or a checkpoint), "
                             f"got {wr!r}")
    from fhrn_ode.operators import OPERATOR_KINDS

    builtin = wr.strip() in OPERATOR_KINDS
    dim = _integer("dim", v["dim"], low=2, high=MAX_DIM) if builtin else None
    scale = _number("wr_scale", v["wr_scale"], low=0.0, high=_MAX) if builtin else None
    model = {k: _number(k, v[k], low=0.0, high=_MAX, allow_none=True) for k in MODEL_KEYS}
    t1 = _number("t1", v["t1"], low=0.0, high=1e4, low_open=True)
    rtol = _number("rtol", v["rtol"], low=1e-12, high=1e-1)
    atol = _number("atol", v["atol"], low=1e-14, high=1e-1)
    return ViewSpec(wr=wr.strip(), dim=dim, seed=_integer("seed", v["seed"], low=0, high=2 ** 31 - 1),
                    wr_scale=scale, memory=check_choice("memory", v["memory"], ("none", "hebbian")),
                    n_init=_integer("n_init", v["n_init"], low=1, high=MAX_INIT),
                    init_radius=_number("init_radius", v["init_radius"], low=0.0, high=_MAX, low_open=True),
                    t1=t1, n_points=_integer("n_points", v["n_points"], low=2, high=MAX_POINTS), rtol=rtol,
                    atol=atol, extent=_number("extent", v["extent"], low=0.0, high=_MAX, low_open=True), **model)


def point_of(data: dict) -> tuple[float, float]:
    """The clicked point ``(u, v)`` in the plane's coordinates (key ``point``).

    Raises:
        FHRNInputError: missing, not two finite numbers.
    """
    p = data.get("point") if isinstance(data, dict) else None
    if not isinstance(p, (list, tuple)) or len(p) != 2:
        raise FHRNInputError(f"`point` must be two numbers [u, v] in the plane, got {p!r}")
    u, w = (_number(f"point[{i}]", x, low=-_MAX, high=_MAX) for i, x in enumerate(p))
    if not (math.isfinite(u) and math.isfinite(w)):  # pragma: no cover - check_real refuses non-finite
        raise FHRNInputError(f"`point` must be finite, got {p!r}")
    return u, w
