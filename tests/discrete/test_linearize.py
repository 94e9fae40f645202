"""Linearization of trained FH-RL layers: J_H, W* = J_H W_r (docs/model.md §5, C 3-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fhrn_ode import FHRNInputError
from fhrn_ode.cli import main
from fhrn_ode.discrete.checkpoint import reference_model_path, save_checkpoint
from fhrn_ode.discrete.layer import fhrl_step
from fhrn_ode.discrete.model import GPTConfig, TinyGPT
from fhrn_ode.linearize import (finite_difference_jacobian, fixed_context, layer_map, linearize_map, linearize_model,
                                reference_layer_map)

SMALL = dict(d=16, n_layer=2, n_head=2, context=12, rank=3)


def _ctx(C, r, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [0.3 * torch.randn(C, r, d, dtype=torch.float64, generator=g) for _ in range(4)]


def _params(d, seed=1, beta=0.5):
    g = torch.Generator().manual_seed(seed)
    p = {k: torch.randn(d, d, dtype=torch.float64, generator=g) / d ** 0.5 for k in ("W_q", "W_k", "W_v")}
    p.update(alpha=0.2, beta=beta)
    return p


@pytest.mark.parametrize("method", ["jacfwd", "jacrev"])
def test_linearize_map_matches_analytic_and_finite_differences(method):
    g = torch.Generator().manual_seed(3)
    C, d = 5, 7
    A = torch.randn(C, d, d, dtype=torch.float64, generator=g)
    x = torch.randn(C, d, dtype=torch.float64, generator=g)

    def fn(x, A):
        return torch.tanh(A @ x)

    J = linearize_map(fn, x, A, method=method)
    exact = (1 - torch.tanh(torch.einsum("cij,cj->ci", A, x)) ** 2)[:, :, None] * A
    torch.testing.assert_close(J, exact, rtol=0, atol=1e-13)
    torch.testing.assert_close(J, finite_difference_jacobian(fn, x, A), rtol=0, atol=1e-8)


def test_layer_map_equals_fhrl_step_and_jacobian_matches_fd():
    C, r, d = 6, 3, 10
    p = _params(d)
    U, V, eU, eV = _ctx(C, r, d)
    x = torch.randn(C, d, dtype=torch.float64)
    ref = fhrl_step(p, U, V, eU, eV, x)[0]
    P, Q = fixed_context(U, V, eU, eV, p["alpha"])
    fast = torch.func.vmap(layer_map(p))(x, P, Q)
    torch.testing.assert_close(fast, ref, rtol=0, atol=1e-14)
    J = linearize_map(layer_map(p), x, P, Q)
    J_ref = linearize_map(reference_layer_map(p), x, U, V, eU, eV, method="jacfwd")
    torch.testing.assert_close(J, J_ref, rtol=0, atol=1e-13)
    torch.testing.assert_close(J, finite_difference_jacobian(layer_map(p), x, P, Q), rtol=0, atol=1e-8)


def test_linearize_map_rejects_bad_input():
    with pytest.raises(FHRNInputError, match="`x` must be a"):
        linearize_map(lambda x: x, torch.zeros(3))
    with pytest.raises(FHRNInputError, match="context 0 must be"):
        linearize_map(lambda x, c: x, torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(FHRNInputError, match="`method`"):
        linearize_map(lambda x: x, torch.zeros(3, 2), method="fd")


@pytest.fixture(scope="module")
def small_model():
    return TinyGPT(GPTConfig(**SMALL, gamma=0.2, seed=4))


def test_w_star_is_jh_times_wr_and_deterministic(small_model):
    lin = linearize_model(small_model, contexts=6, seed=5)
    assert lin.W_star.shape == (12, 16, 16) and lin.J_H.shape == (12, 16, 16) and lin.radius.shape == (12,)
    for i, L in enumerate(lin.layer):
        np.testing.assert_allclose(lin.W_star[i], lin.J_H[i] @ lin.W_r[L], rtol=0, atol=1e-14)
        Wr = small_model.fhrl_layers[L].W_r.detach().double().numpy()
        np.testing.assert_array_equal(lin.W_r[L], Wr)
    assert np.all(lin.position >= 1) and set(lin.layer.tolist()) == {0, 1}
    # the radius at x = h_t is |H(h_t)|, close to the run's |y_t| when the reentry is a small perturbation
    assert np.all(lin.radius > 0)
    lin2 = linearize_model(small_model, contexts=6, seed=5)
    np.testing.assert_array_equal(lin.W_star, lin2.W_star)
    np.testing.assert_array_equal(lin.sequence, lin2.sequence)


def test_contexts_are_nested_across_counts(small_model):
    """The first n contexts of a larger count are the n contexts (same seed), layer by layer, W* included."""
    small, big = linearize_model(small_model, contexts=5, seed=3), linearize_model(small_model, contexts=23, seed=3)
    for L in (0, 1):
        s, b = small.layer == L, big.layer == L
        np.testing.assert_array_equal(small.sequence[s], big.sequence[b][:5])
        np.testing.assert_array_equal(small.position[s], big.position[b][:5])
        np.testing.assert_allclose(small.W_star[s], big.W_star[b][:5], rtol=0, atol=1e-12)
        pairs = set(zip(big.sequence[b].tolist(), big.position[b].tolist()))
        assert len(pairs) == 23  # distinct (sequence, position) pairs
    np.testing.assert_array_equal(small.tokens, big.tokens[: small.tokens.shape[0]])
    other = linearize_model(small_model, contexts=5, seed=4)
    assert not np.array_equal(other.tokens, small.tokens)


def test_linear_by_construction_layer_has_known_jacobian():
    """W_q = W_k = 0 and beta = 0 make H linear: y = P^T Q W_v x / r, so J_H = P^T Q W_v / r exactly."""
    m = TinyGPT(GPTConfig(**SMALL, gamma=0.1, beta=0.0, seed=2)).double()
    with torch.no_grad():
        for lay in m.fhrl_layers:
            lay.W_q.zero_()
            lay.W_k.zero_()
    lin = linearize_model(m, contexts=4, seed=1, layers=(1,))
    tokens = torch.from_numpy(lin.tokens)
    with torch.no_grad():
        _, _, it = m.eval()(tokens, return_internals=True)
    lay = m.fhrl_layers[1]
    a, r = lay.cfg.alpha, lay.cfg.rank
    for i in range(4):
        b, t = lin.sequence[i], lin.position[i]
        P, Q = fixed_context(it[1]["U_prev"][b, t], it[1]["V_prev"][b, t], it[1]["eps_U"][b, t], it[1]["eps_V"][b, t], a)
        known = (P.T @ Q @ lay.W_v.detach() / r).numpy()
        np.testing.assert_allclose(lin.J_H[i], known, rtol=1e-12, atol=1e-15)


def test_linearize_model_rejects_bad_layer_and_contexts(small_model):
    with pytest.raises(FHRNInputError, match="`layers` must be integers in \\[0, 1\\]"):
        linearize_model(small_model, layers=(2,))
    with pytest.raises(FHRNInputError, match="`contexts` must be"):
        linearize_model(small_model, contexts=0)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return save_checkpoint(TinyGPT(GPTConfig(**SMALL, gamma=0.15, seed=3)), tmp_path_factory.mktemp("ck") / "g0.15")


def test_cli_linearize_writes_npz(ckpt, tmp_path, capsys):
    out = tmp_path / "w.npz"
    assert main(["linearize", str(ckpt), "--layer", "1", "--contexts", "5", "--seed", "2", "--out", str(out),
                 "--json"]) == 0
    import json

    s = json.loads(capsys.readouterr().out)
    assert s["n_contexts"] == 5 and s["layers"] == [1] and s["w_star_minus_jh_wr_max"] < 1e-14
    z = np.load(out)
    assert z["W_star"].shape == (5, 16, 16) and z["J_H"].shape == (5, 16, 16) and z["W_r"].shape == (16, 16)
    np.testing.assert_allclose(z["W_star"], z["J_H"] @ z["W_r"], rtol=0, atol=1e-14)
    assert float(z["gamma"]) == 0.15 and z["radius"].shape == (5,) and np.all(z["layer"] == 1)
    assert z["sequence"].shape == (5,) and np.all(z["position"] >= 1)


@pytest.mark.parametrize("argv, msg", [
    (["--layer", "7"], "`--layer` must be integers in"),
    (["--contexts", "0"], "`--contexts` must be >= 1"),
])
def test_cli_linearize_bad_options(ckpt, tmp_path, capsys, argv, msg):
    assert main(["linearize", str(ckpt), "--out", str(tmp_path / "x.npz"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0]


def test_cli_linearize_missing_and_corrupt_checkpoint(ckpt, tmp_path, capsys):
    assert main(["linearize", str(tmp_path / "nope"), "--out", str(tmp_path / "x.npz")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((ckpt / "config.json").read_text())
    (bad / "model.safetensors").write_bytes(b"\x80\x04 not safetensors")
    assert main(["linearize", str(bad), "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "safetensors" in err[0]


_REF = reference_model_path()


@pytest.mark.skipif(not (_REF / "model.safetensors").is_file(),
                    reason=f"bundled reference model not present at {_REF}")
def test_bundled_model_linearize_check_integrate(tmp_path, capsys):
    import json

    assert main(["linearize", "--contexts", "4", "--seq-len", "16", "--out", str(tmp_path / "w.npz"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["w_star_minus_jh_wr_max"] < 1e-12
    d = s["dim"]
    assert main(["check", "--contexts", "4", "--seq-len", "16", "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert {"stable", "spectral_abscissa", "spectral_abscissa_median", "r_e", "fraction_stable", "per_layer"} <= set(c)
    assert c["operator"] == "-I + gamma W*"
    assert c["paper_criterion"]["operator"] == "-I + gamma g(|y|) W*"
    assert main(["check", "--contexts", "4", "--seq-len", "16"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("fhrn-ode check reference: gamma=") and "paper criterion -I + gamma g(|y|) W*" in text
    assert str(_REF) not in text
    assert main(["integrate", "--wr", f"{tmp_path / 'w.npz'}:0", "--t1", "1", "--n-points", "5", "--n-init", "2",
                 "--no-plot", "--out", str(tmp_path / "int"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["dim"] == d and r["status"] == "success"


def test_block_scope_reproduces_block_and_matches_fd():
    """The block map at the run's context (with its reentry) reproduces the model's block output; J vs FD."""
    from fhrn_ode._linearize_block import block_context, block_maps

    m = TinyGPT(GPTConfig(**SMALL, gamma=0.3, seed=1)).double().eval()
    tok = torch.randint(0, 256, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        _, _, it = m(tok, return_internals=True)
    b, t = torch.tensor([0, 1, 1]), torch.tensor([1, 4, 11])
    for L in (0, 1):
        p = {k: (v.detach() if torch.is_tensor(v) else v) for k, v in m.fhrl_layers[L].step_params().items()}
        P, Q = fixed_context(it[L]["U_prev"][b, t], it[L]["V_prev"][b, t], it[L]["eps_U"][b, t],
                             it[L]["eps_V"][b, t], p["alpha"])
        fo, fy = block_maps(m.blocks[L], layer_map(p), m.cfg.n_head)
        x, ctx = block_context(m, tok, it, L, b, t, P, Q, with_reentry=True)
        o, blk = it[L]["out"][b, t], m.blocks[L]
        with torch.no_grad():
            ref = o + blk.mlp(blk.ln_2(o))
        torch.testing.assert_close(torch.func.vmap(fo)(x, *ctx), ref, rtol=0, atol=1e-13)
        torch.testing.assert_close(torch.func.vmap(fy)(x, *ctx), it[L]["y"][b, t], rtol=0, atol=1e-13)
        torch.testing.assert_close(linearize_map(fo, x, *ctx), finite_difference_jacobian(fo, x, *ctx),
                                   rtol=0, atol=1e-8)
    lin = linearize_model(m, contexts=3, scope="block", layers=(1,))
    assert lin.scope == "block" and lin.W_star.shape == (3, 16, 16)
    np.testing.assert_allclose(lin.W_star, lin.J_H @ lin.W_r[0], rtol=0, atol=1e-14)


def test_bench_jacobian_case_tiny():
    from fhrn_ode.bench.harness import RESULT_KEYS
    from fhrn_ode.bench.jacobian import cases, jacobian_case

    assert len(cases(True)) == 1
    rows = jacobian_case(2, 1, 1)
    assert [r["name"].rsplit("/", 1)[1] for r in rows] == ["vs_row_loop", "vs_finite_differences", "vs_jacfwd",
                                                             "vs_torchfunc_fhrl_step"]
    for r in rows:
        assert set(RESULT_KEYS) <= set(r)
    assert rows[0]["max_abs_err"] < 1e-12 and rows[1]["max_abs_err"] < 1e-7 and rows[3]["max_abs_err"] < 1e-12
