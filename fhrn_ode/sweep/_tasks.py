"""Sweep tasks: one self-contained unit of work that writes its result into its own folder.

A task is a frozen dataclass with a ``kind``, a ``key`` (its folder name under ``DIR/tasks/``), a
JSON form (:meth:`to_dict` / :func:`task_from_dict`) and :meth:`execute`, which does the work and
writes ``result.json`` into the folder *last* and atomically (``fhrn_ode._io``): a folder holding
``result.json`` is finished, whatever the manifest says, so a runner killed between the task and
the manifest update still recomputes nothing that finished.

Kinds:

- :class:`TrainTask` (``"train"``): train one FH-RL Tiny-GPT (preset, gamma, seed; docs/model.md §3)
  with :func:`fhrn_ode.discrete.training.train` into the folder (the same model + checkpoint files
  ``fhrn-ode train`` writes), then the reentry metrics of docs/model.md §4
  (:func:`fhrn_ode.analysis.metrics.model_metrics`). An interrupted training resumes from its last
  checkpoint (exact resume); an unusable checkpoint is discarded and the task starts over.
- :class:`OdeTask` (``"ode"``): one parameter point of the continuous FHRN (docs/model.md §1):
  integrate from a seeded initial state and record the final radius, the divergence status and the
  spectral abscissa of the linearization at the final state (docs/model.md §5).
- :class:`FailTask` (``"fail"``): raises (or not) by design; for testing retries and failure reports.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from .._errors import FHRNInputError, check_choice, check_int, check_real
from .._io import atomic_write_json, atomic_write_text, check_fields, read_typed

__all__ = ["Task", "TrainTask", "OdeTask", "FailTask", "task_from_dict", "RESULT_NAME", "read_result"]

#: The file each finished task writes into its folder (atomically): its result.
RESULT_NAME = "result.json"
#: Optional file a task appends one line to per execution (tests count executions with it).
COUNTER_ENV = "FHRN_SWEEP_COUNTER"


def _count_execution(key: str) -> None:
    path = os.environ.get(COUNTER_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(key + "\n")


#: Shape of every ``result.json`` (fhrn_ode._io.check_fields); each kind adds its own keys.
RESULT_SPEC = {"task": {"kind": str}, "seconds?": (float, type(None))}


def read_result(folder: str | os.PathLike, *, strict: bool = False) -> dict | None:
    """The ``result.json`` of a finished task folder, or None when the task has not finished.

    Args:
        folder: the task folder.
        strict: raise on a ``result.json`` that is not a task result (invalid JSON, a list, a
            ``task`` that is not an object, a key of the wrong type); default: treat it as
            unfinished (the runner runs the task again and replaces it).

    Raises:
        FHRNInputError: ``strict`` and the file is not a task result (naming the file and the key).
    """
    p = Path(folder) / RESULT_NAME
    if not p.is_file():
        return None
    try:
        res = read_typed(p, "task result", RESULT_SPEC)
        kind = _KINDS.get(res["task"]["kind"])
        return check_fields(res, kind.RESULT_KEYS, repr(str(p)), what="task result") if kind else res
    except FHRNInputError:
        if strict:
            raise
        return None


@dataclass(frozen=True)
class Task:
    """Base of every task kind (see the module docstring)."""

    kind: ClassVar[str] = ""
    #: Keys (and types) of this kind's ``result.json`` beyond :data:`RESULT_SPEC`.
    RESULT_KEYS: ClassVar[dict] = {}

    @property
    def key(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def failure(self, result: dict) -> str | None:
        """Why ``result`` (this task's finished result) is a failure, or None: a result that records a
        failed computation is reported ``failed``, never ``done`` (deterministic: not retried)."""
        return None

    @property
    def gamma(self) -> float | None:
        return getattr(self, "gain", None)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}

    def execute(self, folder: str | os.PathLike, *, threads: int | None = 1) -> dict:
        """Run the task into ``folder``; returns the result (also written to ``folder/result.json``)."""
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _count_execution(self.key)
        t0 = time.perf_counter()
        result = self._run(folder)
        result = {"task": self.to_dict(), "seconds": time.perf_counter() - t0, **result}
        atomic_write_json(folder / RESULT_NAME, result)
        return result

    def _run(self, folder: Path) -> dict:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class TrainTask(Task):
    """Train one Tiny-GPT + FH-RL (``preset`` at reentry gain ``gain``, seed ``seed``) and measure it.

    Args:
        gain: reentry gain gamma >= 0 (docs/model.md §3).
        seed: model/noise/batch seed (``preset(seed=)``); the corpus is the same for every seed.
        preset: ``"tiny"``, ``"quick"`` or ``"paper"`` (``fhrn_ode.discrete.training.PRESETS``).
        steps: optimizer steps (None: the preset's).
        batch_size, eval_batches, n_bytes: override the preset's options (None: the preset's;
            small values make the ~1 s test tasks).
        metrics_seq: random byte sequences for :func:`model_metrics` (seeded with ``metrics_seed``).
    """

    kind: ClassVar[str] = "train"
    gain: float = 0.0
    seed: int = 0
    preset: str = "quick"
    steps: int | None = None
    batch_size: int | None = None
    eval_batches: int | None = None
    n_bytes: int | None = None
    metrics_seq: int = 32
    metrics_seed: int = 0
    RESULT_KEYS: ClassVar[dict] = {"gamma": float, "seed": int, "preset": str, "step": int,
                                   "val_loss": (float, type(None)), "unigram_nats?": (float, type(None)),
                                   "metrics?": dict}

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", check_real("gamma", self.gain, low=0.0))
        check_int("seed", self.seed, low=0)
        from ..discrete.training import PRESETS

        check_choice("preset", self.preset, tuple(PRESETS))
        for name in ("steps", "batch_size", "eval_batches", "n_bytes"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), low=1)
        check_int("metrics_seq", self.metrics_seq, low=1)
        check_int("metrics_seed", self.metrics_seed, low=0)

    @property
    def key(self) -> str:
        s = "".join(f"_{tag}{v}" for tag, v in (("steps", self.steps), ("batch", self.batch_size),
                                                 ("evalb", self.eval_batches), ("bytes", self.n_bytes))
                    if v is not None)
        return f"{self.preset}{s}_gamma{self.gain:.3f}_seed{self.seed}"

    def _run(self, folder: Path) -> dict:
        from ..analysis.metrics import model_metrics
        from ..discrete._train_state import STATE_WEIGHTS
        from ..discrete.checkpoint import CONFIG_NAME, METRICS_NAME, WEIGHTS_NAME, load_checkpoint
        from ..discrete.training import STATE_JSON, preset, train

        cfg, opt = preset(self.preset, gamma=self.gain, steps=self.steps, seed=self.seed,
                          batch_size=self.batch_size, eval_batches=self.eval_batches, n_bytes=self.n_bytes)
        restarted = None
        try:
            res = train(cfg, opt, folder, resume=True, progress=False)
        except FHRNInputError as exc:
            if not (folder / STATE_JSON).exists():
                raise
            # a checkpoint left by a kill mid-write (step mismatch) or by other options: start over,
            # removing only the files a training writes (every other file in the folder is kept)
            restarted = f"unusable checkpoint discarded: {exc}"
            for name in (STATE_JSON, STATE_WEIGHTS, WEIGHTS_NAME, CONFIG_NAME, METRICS_NAME):
                (folder / name).unlink(missing_ok=True)
            res = train(cfg, opt, folder, resume=False, progress=False)
        model, _ = load_checkpoint(folder)
        m = model_metrics(model, n_seq=self.metrics_seq, seed=self.metrics_seed).to_dict() if cfg.fhrl else {}
        return {"gamma": self.gain, "seed": self.seed, "preset": self.preset, "step": res.step,
                "val_loss": res.val_loss, "train_loss": res.train_loss, "unigram_nats": res.unigram_nats,
                "n_params": res.n_params, "train_seconds": res.seconds, "metrics": m,
                **({"restarted": restarted} if restarted else {})}


@dataclass(frozen=True)
class OdeTask(Task):
    """Integrate the continuous FHRN (docs/model.md §1) at one parameter point; record where it ends.

    ``W* = make_operator(operator, dim, seed=seed)``, ``n_init`` seeded initial states of radius up to
    ``init_radius`` (:func:`fhrn_ode.initial_conditions`), integrated to ``t1`` with
    :func:`fhrn_ode.integrate` (dopri5). The result holds the final radii ``|y(t1)|``, the status
    ('success' / 'diverged' / 'failed'), the spectral abscissa of the Jacobian at the origin,
    ``rho(J(0))`` (docs/model.md §5), and the largest spectral abscissa of ``J(y(t1))`` over the
    trajectories (:func:`fhrn_ode.spectral_abscissa`, :meth:`FHRNField.jacobian`).
    """

    kind: ClassVar[str] = "ode"
    gain: float = 1.0
    seed: int = 0
    operator: str = "antisym"
    dim: int = 2
    kappa: float = 10.0
    theta: float = 1.0
    leak: float = 1.0
    beta: float = 0.0
    t1: float = 20.0
    n_init: int = 8
    init_radius: float = 2.0
    RESULT_KEYS: ClassVar[dict] = {"gamma": float, "status": str, "message?": (str, type(None)),
                                   "t_final": (float, type(None)), "final_radius": [(float, type(None))]}

    def failure(self, result: dict) -> str | None:
        """An integration whose status is ``failed`` (stiff, budget spent, t1 not reached) is a failure."""
        if result.get("status") == "failed":
            return (f"integration failed at t = {result.get('t_final')} of t1 = {self.t1}: "
                    f"{result.get('message') or 'no message'}")
        return None

    def __post_init__(self) -> None:
        from ..operators import OPERATOR_KINDS

        object.__setattr__(self, "gain", check_real("gamma", self.gain, low=0.0))
        check_int("seed", self.seed, low=0)
        check_choice("operator", self.operator, OPERATOR_KINDS)
        check_int("dim", self.dim, low=1)
        check_real("t1", self.t1, low=0.0, low_open=True)
        check_int("n_init", self.n_init, low=1)
        check_real("init_radius", self.init_radius, low=0.0, low_open=True)
        self.params()  # validates kappa, theta, leak, beta

    def params(self):
        from ..params import FHRNParams

        return FHRNParams(gamma=self.gain, kappa=self.kappa, theta=self.theta, leak=self.leak, beta=self.beta)

    @property
    def key(self) -> str:
        return (f"ode_{self.operator}{self.dim}_gamma{self.gain:.4g}_kappa{self.kappa:.4g}_theta{self.theta:.4g}"
                f"_leak{self.leak:.4g}_beta{self.beta:.4g}_seed{self.seed}")

    def _run(self, folder: Path) -> dict:
        import numpy as np
        import torch

        from ..field import FHRNField
        from ..integration import initial_conditions, integrate
        from ..operators import make_operator, spectral_abscissa

        W = make_operator(self.operator, self.dim, seed=self.seed)
        p = self.params()
        y0 = initial_conditions(self.n_init, self.dim, self.init_radius, seed=self.seed)
        res = integrate(W, y0, params=p, t1=self.t1, n_points=2)
        yf = res.y_final.detach()
        radii = torch.linalg.vector_norm(yf, dim=-1).numpy()
        field_ = FHRNField(W, p)
        ok = ~np.asarray(res.diverged, dtype=bool) if res.diverged.size else np.ones(len(radii), bool)
        J = field_.jacobian(yf[torch.as_tensor(ok)]).detach().numpy() if ok.any() else np.zeros((0,))
        rho_end = max((spectral_abscissa(j) for j in J), default=float("nan"))
        rho0 = spectral_abscissa(field_.jacobian(torch.zeros(self.dim, dtype=torch.float64)).numpy())
        return {"gamma": self.gain, "seed": self.seed, "status": res.status, "message": res.message,
                "t_final": res.t_final, "final_radius": radii.tolist(),
                "final_radius_mean": float(np.mean(radii[ok])) if ok.any() else float("nan"),
                "spectral_abscissa_origin": rho0, "spectral_abscissa_final_max": rho_end, "nfe": res.nfe}


@dataclass(frozen=True)
class FailTask(Task):
    """A test task: raises ``RuntimeError`` on its first ``fail_times`` executions (counted in its folder).

    With ``hold_s > 0`` it first writes its process id to ``pid.txt`` in its folder and waits up to
    ``hold_s`` seconds, or until a file ``release`` appears there (tests kill a worker mid-task with it).
    """

    kind: ClassVar[str] = "fail"
    name: str = "fail"
    fail_times: int = 1_000_000
    gain: float | None = None
    seed: int | None = None
    hold_s: float = 0.0

    def __post_init__(self) -> None:
        check_real("hold_s", self.hold_s, low=0.0, high=3600.0)

    @property
    def key(self) -> str:
        return f"fail_{self.name}"

    def _run(self, folder: Path) -> dict:
        tries = folder / "tries.txt"
        n = int(tries.read_text()) if tries.is_file() else 0
        atomic_write_text(tries, str(n + 1))
        if self.hold_s > 0:
            atomic_write_text(folder / "pid.txt", str(os.getpid()))
            deadline = time.monotonic() + self.hold_s
            while time.monotonic() < deadline and not (folder / "release").exists():
                time.sleep(0.05)
        if n < self.fail_times:
            raise RuntimeError(f"task {self.name!r} failed on purpose (execution {n + 1})")
        return {"executions": n + 1}


_KINDS = {c.kind: c for c in (TrainTask, OdeTask, FailTask)}


def task_from_dict(d: dict) -> Task:
    """Inverse of :meth:`Task.to_dict`.

    Raises:
        FHRNInputError: unknown kind or fields.
    """
    if not isinstance(d, dict):
        raise FHRNInputError(f"`task` must be an object with a `kind`, got {type(d).__name__}")
    d = dict(d)
    kind = d.pop("kind", None)
    if kind not in _KINDS:
        raise FHRNInputError(f"`task` kind must be one of {', '.join(map(repr, _KINDS))}; got {kind!r}")
    cls = _KINDS[kind]
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise FHRNInputError(f"`task` of kind {kind!r} has unknown fields {sorted(unknown)}")
    return cls(**d)
