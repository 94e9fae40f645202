"""The one resolver of ``--wr`` specs: every command that takes a reentry operator uses :func:`resolve_wr`.

Accepted forms (:data:`WR_FORMS`):

* a built-in kind ``antisym``, ``sym``, ``mixed``, ``random`` (``--dim``, ``--wr-scale``, ``--seed``);
* a matrix file: ``.npy``, ``.npz`` (key ``W``), ``.safetensors`` (key ``W``), ``.csv``/``.txt``;
* a trained model's ``W* = J_H W_r`` (docs/model.md §5): ``CKPT[:layer[:context]]`` (a checkpoint
  folder), ``reference[:layer[:context]]`` (the bundled model), or ``LIN.npz[:layer[:context]]``
  written by ``fhrn-ode linearize``. Layer default 0; without ``context`` the mean ``W*`` over the
  contexts (``contexts`` of them, drawn with ``seed``, for a checkpoint), with it that one context's.

A trained operator carries the model's ``gamma`` and ``beta`` (and the median ``|y|`` at its
linearization points): the commands use them as the defaults of ``--gamma`` / ``--beta`` /
``--radius`` (a flag the user gives still wins) and say where each value came from
(``param_sources``). Messages name the Python arguments (`spec`, `dim`, `scale`); the CLI maps
them to ``--wr``, ``--dim``, ``--wr-scale`` (``fhrn_ode.cli._common.flag_names``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import FHRNInputError

if TYPE_CHECKING:  # annotations only: numpy loads lazily (fast --help)
    import numpy as np

__all__ = ["MAX_CONTEXTS", "WR_FORMS", "WR_HELP", "WrOperator", "resolve_wr", "resolve_wr_spec"]

#: At most this many contexts are linearized per layer (the ``check_int`` bound of ``linearize_model``).
MAX_CONTEXTS = 10000

WR_FORMS = ("antisym | sym | mixed | random",
            "a matrix file (.npy, .npz key W, .safetensors key W, .csv/.txt)",
            "CKPT[:layer[:context]] (a checkpoint folder)",
            "reference[:layer[:context]] (the bundled reference model)",
            "LIN.npz[:layer[:context]] (written by `fhrn-ode linearize`)")
_FORMS_TEXT = "; ".join(WR_FORMS)

#: The ``--help`` text of ``--wr`` (every command that takes one).
WR_HELP = ("reentry operator W*: " + _FORMS_TEXT + ". A trained W* (CKPT, reference, LIN.npz) brings the "
           "model's gamma and beta as defaults (flags given still win)")


@dataclass(frozen=True)
class WrOperator:
    """A resolved ``--wr``: the matrix and what it came from.

    ``source`` is ``"builtin"``, ``"file"``, ``"checkpoint"`` or ``"linearization"``; ``gamma``,
    ``beta`` (the trained model's gains) and ``radius`` (median ``|y|`` at the linearization points)
    are None unless the source is a trained model.
    """

    name: str
    W: np.ndarray
    source: str
    gamma: float | None = None
    beta: float | None = None
    radius: float | None = None
    checkpoint: str | None = None
    layer: int | None = None
    context: int | None = None
    n_contexts: int | None = None

    @property
    def trained(self) -> bool:
        return self.gamma is not None

    def to_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "checkpoint": self.checkpoint, "layer": self.layer,
                "context": self.context, "n_contexts": self.n_contexts, "gamma": self.gamma, "beta": self.beta,
                "radius": self.radius}


def _forms_error(spec: str, why: str) -> FHRNInputError:
    return FHRNInputError(f"`spec` {spec!r} {why}; accepted: {_FORMS_TEXT}")


def _layer_context(spec: str, rest: list[str]) -> tuple[int | None, int | None]:
    if len(rest) > 2:
        raise FHRNInputError(f"`spec` must be CKPT[:layer[:context]] (at most two ':' fields), got {spec!r}")
    try:
        layer = int(rest[0]) if rest and rest[0] != "" else None
        ctx = int(rest[1]) if len(rest) > 1 and rest[1] != "" else None
    except ValueError:
        raise FHRNInputError(f"`spec` layer and context in {spec!r} must be integers (CKPT[:layer[:context]])") from None
    if layer is not None and layer < 0:
        raise FHRNInputError(f"`spec` layer index must be >= 0, got {layer} in {spec!r}")
    if ctx is not None and ctx < 0:
        raise FHRNInputError(f"`spec` context index must be >= 0, got {ctx} in {spec!r}")
    return layer, ctx


def _split(spec: str) -> tuple[str, list[str]]:
    if Path(spec).exists():  # a path that itself contains ':'
        return spec, []
    head, *rest = spec.split(":")
    return head, rest


def _sweep_subs(p: Path) -> list[Path]:
    try:
        return sorted(d for d in p.iterdir() if d.is_dir() and (d / "config.json").is_file())
    except OSError:
        return []


def resolve_wr(spec, dim: int | None = None, *, seed: int = 0, scale: float | None = None,
               contexts: int = 32) -> WrOperator:
    """Resolve a ``--wr`` spec (see the module docstring) to a :class:`WrOperator`.

    Args:
        spec: the spec string (or a matrix, taken as is).
        dim: required size (``--dim``); for a built-in kind its dimension (default 2).
        seed: seed of a built-in kind's draw and of a checkpoint's random contexts.
        scale: ``|W*|_2`` of a built-in kind (``--wr-scale``; default 1). Given with any other
            source it is an error, never silently ignored.
        contexts: contexts per layer averaged for ``CKPT`` / ``reference`` without ``:context``.

    Raises:
        FHRNInputError: an unknown kind, a path that does not exist, a sweep folder or a plain
            folder, a layer or context index out of range (the message names which and the
            range), ``--wr-scale`` with a non-built-in source, ``--dim`` not matching the matrix,
            an unreadable or invalid file.
    """
    from .operators import OPERATOR_KINDS, check_matrix, load_operator, make_operator

    if not isinstance(spec, (str, Path)):
        if scale is not None:
            raise FHRNInputError("`scale` applies to the built-in operators only")
        return WrOperator("matrix", check_matrix(spec, "W", dim), "matrix")
    spec = str(spec)
    if spec in OPERATOR_KINDS:
        W = make_operator(spec, 2 if dim is None else dim, seed=seed, scale=1.0 if scale is None else scale)
        return WrOperator(spec, W, "builtin")
    head, rest = _split(spec)
    if scale is not None:
        raise FHRNInputError(f"`scale` applies to the built-in operators ({', '.join(OPERATOR_KINDS)}) only; "
                             f"--wr {spec!r} is used as stored (rescale the matrix itself)")
    if head == "reference":
        from .discrete.checkpoint import reference_model_path

        return _from_checkpoint(spec, reference_model_path(), rest, dim, seed, contexts, name="reference")
    p = Path(head)
    if not p.exists():
        if p.suffix == "" and "/" not in head and "\\" not in head:
            import difflib

            close = difflib.get_close_matches(head, [*OPERATOR_KINDS, "reference"], n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _forms_error(spec, f"is not a built-in kind{hint}, and no file or folder of that name exists")
        raise _forms_error(spec, f"names {head!r}, which does not exist")
    if p.is_dir():
        if (p / "config.json").is_file():
            return _from_checkpoint(spec, p, rest, dim, seed, contexts)
        subs = _sweep_subs(p)
        if subs:
            names = ", ".join(d.name for d in subs[:4]) + (", ..." if len(subs) > 4 else "")
            raise FHRNInputError(f"`spec` {spec!r} is a sweep folder (one checkpoint per gain: {names}), not one "
                                 f"model; pass one of its checkpoints, e.g. --wr {subs[0]}[:layer[:context]]")
        raise _forms_error(spec, "is a folder but not a checkpoint (it has no config.json)")
    if p.suffix.lower() == ".npz":
        from ._loaders import array_keys

        has_w_star = "W_star" in array_keys(p, name="spec")  # the one loader's checks (docs/failure-modes.md)
        if has_w_star:
            return _from_linearization(spec, p, rest, dim)
    if p.suffix.lower() == ".safetensors" and p.name == "model.safetensors" and (p.parent / "config.json").is_file():
        return _from_checkpoint(spec, p.parent, rest, dim, seed, contexts)
    if rest:
        raise FHRNInputError(f"`spec` {spec!r}: a matrix file takes no ':layer[:context]' (only checkpoints and "
                             f"linearize .npz files do)")
    return WrOperator(spec, load_operator(p, dim), "file")


def _finish(W: np.ndarray, dim: int | None, spec: str) -> np.ndarray:
    import numpy as np  # imported here: the CLI's parser reads WR_HELP without numpy
    from .operators import check_matrix

    W = check_matrix(W, name=f"wr ({spec})")
    if dim is not None and dim != W.shape[0]:
        raise FHRNInputError(f"`dim` must equal the trained operator's size {W.shape[0]} (--wr {spec!r}), got {dim}")
    return np.ascontiguousarray(W, dtype=np.float64)


def _from_checkpoint(spec: str, folder: Path, rest: list[str], dim, seed: int, contexts: int,
                     name: str | None = None) -> WrOperator:
    import numpy as np  # imported here: the CLI's parser reads WR_HELP without numpy
    from .discrete.checkpoint import load_checkpoint
    from .linearize import linearize_model

    layer, ctx = _layer_context(spec, rest)
    model, cfg = load_checkpoint(folder)
    n_layers = len(list(model.fhrl_layers))
    if n_layers == 0:
        raise FHRNInputError(f"`spec` {spec!r}: the model has no FH-RL layer (fhrl=false), so no W*")
    L = 0 if layer is None else layer
    if L >= n_layers:
        raise FHRNInputError(f"`spec` {spec!r}: layer index {L} is out of range; the model has {n_layers} FH-RL "
                             f"layer(s), so it must be in [0, {n_layers - 1}]")
    if ctx is not None and ctx >= MAX_CONTEXTS:
        raise FHRNInputError(f"`spec` {spec!r}: context index {ctx} is out of range; at most {MAX_CONTEXTS} "
                             f"contexts per layer are drawn, so it must be in [0, {MAX_CONTEXTS - 1}]")
    n = contexts if ctx is None else max(contexts, ctx + 1)
    lin = linearize_model(model, layers=(L,), contexts=n, seed=seed)
    if ctx is None:
        W, rad, label = lin.W_star.mean(axis=0), float(np.median(lin.radius)), f"mean{n}"
    else:
        W, rad, label = lin.W_star[ctx], float(lin.radius[ctx]), f"context{ctx}"
    tag = name or folder.name
    return WrOperator(f"W*({tag}:layer{L}:{label})", _finish(W, dim, spec), "checkpoint", gamma=float(cfg.gamma),
                      beta=float(cfg.beta), radius=rad, checkpoint=str(folder), layer=L, context=ctx, n_contexts=n)


def _from_linearization(spec: str, p: Path, rest: list[str], dim) -> WrOperator:
    import numpy as np  # imported here: the CLI's parser reads WR_HELP without numpy
    layer, ctx = _layer_context(spec, rest)
    from ._loaders import array_keys, load_arrays

    keys = array_keys(p, name="spec")
    arrays = load_arrays(p, {k: None for k in ("W_star", "layer", "radius", "gamma", "beta") if k in keys}, name="spec")
    Ws = np.asarray(arrays["W_star"])
    if Ws.ndim != 3 or Ws.shape[0] == 0 or Ws.shape[1] != Ws.shape[2] or not np.issubdtype(Ws.dtype, np.floating):
        raise FHRNInputError(f"`spec` file {str(p)!r}: `W_star` must be a non-empty float (C, d, d) stack, got "
                             f"{Ws.dtype} {Ws.shape}")
    lay = np.asarray(arrays.get("layer", np.zeros(Ws.shape[0], np.int64)))
    if lay.shape != (Ws.shape[0],) or not np.issubdtype(lay.dtype, np.integer):
        raise FHRNInputError(f"`spec` file {str(p)!r}: `layer` must be {Ws.shape[0]} integers, got {lay.dtype} {lay.shape}")
    have = sorted(set(lay.tolist()))
    L = have[0] if layer is None else layer
    sel = np.flatnonzero(lay == L)
    if sel.size == 0:
        raise FHRNInputError(f"`spec` {spec!r}: layer index {L} is not in the file; it holds layers {have}")
    if ctx is not None and ctx >= sel.size:
        raise FHRNInputError(f"`spec` {spec!r}: context index {ctx} is out of range; the file holds {sel.size} "
                             f"contexts of layer {L}, so it must be in [0, {sel.size - 1}]")
    rad = arrays.get("radius")
    rad = np.asarray(rad, dtype=np.float64) if rad is not None and np.shape(rad) == lay.shape else None

    def scalar(k):
        v = arrays.get(k)
        if v is None or np.ndim(v) != 0 or not np.isfinite(float(v)):
            return None
        return float(v)

    if ctx is None:
        W, r, label = Ws[sel].mean(axis=0), None if rad is None else float(np.median(rad[sel])), f"mean{sel.size}"
    else:
        W, r, label = Ws[sel[ctx]], None if rad is None else float(rad[sel[ctx]]), f"context{ctx}"
    gamma, beta = scalar("gamma"), scalar("beta")
    if gamma is None or beta is None:
        gamma = beta = None
    return WrOperator(f"W*({p.name}:layer{L}:{label})", _finish(W, dim, spec), "linearization", gamma=gamma,
                      beta=beta, radius=r, checkpoint=str(p), layer=L, context=ctx, n_contexts=int(sel.size))


def resolve_wr_spec(spec: str, dim: int | None = None, *, contexts: int = 32, seed: int = 0):
    """The mean trained ``W*`` of a ``--wr`` spec as ``(name, W)``, or None if the spec is not a trained model.

    Kept for callers of the old hook (formerly ``fhrn_ode.linearize.resolve_wr_spec``, moved here to end the
    ``_wr`` <-> ``linearize`` import circle; exported as ``fhrn_ode.resolve_wr_spec``); the resolver of every
    ``--wr`` form is :func:`resolve_wr` (specs ``CKPT[:layer[:context]]``, ``reference[:layer[:context]]``,
    ``FILE.npz[:layer[:context]]``).

    Raises:
        FHRNInputError: a spec that names no operator, or a bad ``dim``/``contexts``.
    """
    try:
        op = resolve_wr(spec, dim, seed=seed, contexts=contexts)
    except FHRNInputError:
        raise
    return (op.name, op.W) if op.source in ("checkpoint", "linearization") else None
