"""Property tests for the input gate: whatever is thrown at the loaders and validators, the answer is a
result or our one-line FHRNInputError, never another exception (docs/failure-modes.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fhrn_ode import FHRNInputError, load_operator
from fhrn_ode._io import JSON_MAX_DEPTH, read_json
from fhrn_ode._loaders import load_arrays

REF = Path(__file__).resolve().parents[2] / "fhrn_ode" / "data" / "reference_model"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

dtypes = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_,
                          np.complex128, "U3"])
arrays = dtypes.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)))


def _one_line(exc: FHRNInputError) -> None:
    msg = str(exc)
    assert msg and "\n" not in msg and "usecols" not in msg and "allow_pickle" not in msg, msg


@SETTINGS
@given(arr=arrays, suffix=st.sampled_from([".npy", ".npz", ".csv", ".safetensors"]))
def test_any_array_in_any_format_is_a_matrix_or_our_error(tmp_path, arr, suffix):
    p = tmp_path / f"W{suffix}"
    try:
        if suffix == ".npy":
            np.save(p, arr)
        elif suffix == ".npz":
            np.savez(p, W=arr)
        elif suffix == ".csv":
            np.savetxt(p, np.atleast_2d(arr) if arr.ndim <= 2 else arr.reshape(arr.shape[0], -1), delimiter=",",
                       fmt="%s")
        else:
            from safetensors.numpy import save_file

            save_file({"W": np.ascontiguousarray(arr)}, str(p))
    except Exception:  # a format that cannot hold this array: nothing to load
        return
    try:
        W = load_operator(p)
    except FHRNInputError as exc:
        _one_line(exc)
        return
    assert W.dtype == np.float64 and W.ndim == 2 and W.shape[0] == W.shape[1] and np.isfinite(W).all()
    assert not np.iscomplexobj(arr) and arr.dtype.kind in "fiub"


@SETTINGS
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".npy", ".npz", ".csv", ".txt", ".safetensors"]),
       magic=st.sampled_from([b"", b"\x93NUMPY\x01\x00", b"PK\x03\x04", b"\x10\x00\x00\x00\x00\x00\x00\x00{"]))
def test_any_bytes_are_refused_with_our_error(tmp_path, data, suffix, magic):
    p = tmp_path / f"W{suffix}"
    p.write_bytes(magic + data)
    try:
        load_operator(p)
    except FHRNInputError as exc:
        _one_line(exc)
    try:
        load_arrays(p, {"W_star": 3, "layer": 1})
    except FHRNInputError as exc:
        _one_line(exc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 80), max_value=2 ** 80) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20)


@SETTINGS
@given(obj=json_values, depth=st.integers(0, 3 * JSON_MAX_DEPTH))
def test_read_json_returns_bounded_json_or_our_error(tmp_path, obj, depth):
    p = tmp_path / "x.json"
    p.write_text("[" * depth + json.dumps(obj) + "]" * depth)
    try:
        got = read_json(p, "test")
    except FHRNInputError as exc:
        _one_line(exc)
        return
    # accepted: the whole value (the `depth` brackets around obj's own nesting) is within the documented
    # bound, "nesting depth at most JSON_MAX_DEPTH" (was `depth < JSON_MAX_DEPTH`: off by one, it failed on
    # depth = 32 around a scalar, which the bound allows)
    assert depth + _nesting(obj) <= JSON_MAX_DEPTH
    assert json.dumps(got) == json.dumps(json.loads(p.read_text()))


def _nesting(o) -> int:
    """Nesting depth of a JSON value: 0 for a scalar, 1 + the deepest child for a list or dict."""
    if isinstance(o, dict):
        o = list(o.values())
    return 1 + max(map(_nesting, o), default=0) if isinstance(o, list) else 0


def test_read_json_bound_is_inclusive(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("[" * JSON_MAX_DEPTH + "1" + "]" * JSON_MAX_DEPTH)
    assert _nesting(read_json(p, "test")) == JSON_MAX_DEPTH
    p.write_text("[" * (JSON_MAX_DEPTH + 1) + "1" + "]" * (JSON_MAX_DEPTH + 1))
    with pytest.raises(FHRNInputError, match=f"nested deeper than {JSON_MAX_DEPTH} levels"):
        read_json(p, "test")


@SETTINGS
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_read_json_on_arbitrary_text(tmp_path, text):
    p = tmp_path / "x.json"
    p.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    try:
        read_json(p, "test")
    except FHRNInputError as exc:
        _one_line(exc)


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck") / "ckpt"
    shutil.copytree(REF, d)
    return d


config_values = st.one_of(st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.floats(allow_nan=False),
                          st.booleans(), st.none(), st.text(max_size=3), st.lists(st.integers(), max_size=2))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(["d", "n_layer", "n_head", "context", "rank", "alpha", "sigma", "beta",
                                                "gamma", "fhrl", "seed", "eval_noise_seed", "extra"]),
                               config_values, min_size=1, max_size=3))
def test_hostile_configs_are_refused_before_anything_is_built(ckpt_dir, changes):
    from fhrn_ode.discrete.checkpoint import load_checkpoint

    base = json.loads((REF / "config.json").read_text())
    (ckpt_dir / "config.json").write_text(json.dumps({**base, **changes}))
    try:
        model, cfg = load_checkpoint(ckpt_dir)
    except FHRNInputError as exc:
        _one_line(exc)
        return
    assert cfg.d == base["d"] and cfg.n_layer == base["n_layer"] and cfg.context == base["context"]


@SETTINGS
@given(value=st.one_of(st.floats(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.text(max_size=4),
                       st.none(), st.booleans()))
def test_scalar_validators(value):
    from fhrn_ode._errors import check_int, check_real

    for fn, kw in ((check_real, dict(low=0.0, high=1e6)), (check_int, dict(low=1, high=10 ** 6))):
        try:
            v = fn("--x", value, **kw)
        except FHRNInputError as exc:
            _one_line(exc)
            continue
        assert kw["low"] <= v <= kw["high"]


@SETTINGS
@given(d=st.integers(1, 10 ** 7), n_init=st.integers(1, 10 ** 10), n_points=st.integers(2, 10 ** 10),
       memory=st.booleans())
def test_size_gate_refuses_or_accepts_and_names_the_flag(d, n_init, n_points, memory):
    from fhrn_ode._limits import check_sizes, fits, integrate_cost

    cost = lambda a, b, c: integrate_cost(a, b, c, memory=memory)  # noqa: E731
    try:
        check_sizes(cost, [("--dim", d, 1), ("--n-init", n_init, 1), ("--n-points", n_points, 2)])
    except FHRNInputError as exc:
        _one_line(exc)
        assert not fits(cost(d, n_init, n_points))
        flag = str(exc).split("`")[1]
        assert flag in ("--dim", "--n-init", "--n-points")
        return
    assert fits(cost(d, n_init, n_points))
