"""FH-RL layer and Tiny-GPT (docs/model.md §3): gamma = 0, detached feedback, rank collapse, reference loop."""

import pytest
import torch
from torch.func import jacrev

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.discrete.layer import FHRL, FHRLConfig, fhrl_step, reference_forward
from fhrn_ode.discrete.model import GPTConfig, TinyGPT

SMALL = dict(d=24, n_layer=2, n_head=2, context=16, rank=3)


def _layer(dtype=torch.float32, **kw):
    torch.manual_seed(0)
    cfg = FHRLConfig(**{"d": 8, "rank": 3, **kw})
    return FHRL(cfg).to(dtype)


def test_gamma0_reentry_is_exactly_zero_and_model_bit_for_bit():
    m = TinyGPT(GPTConfig(gamma=0.0, **SMALL)).eval()
    idx = torch.randint(0, 256, (3, 16), generator=torch.Generator().manual_seed(1))
    logits, _, ints = m(idx, return_internals=True)
    for it in ints:
        assert torch.equal(it["x"], it["h"])  # x_t == h_t bit for bit
        assert torch.count_nonzero(it["reentry"]) == 0
    logits_off, _, _ = m(idx, reentry=False)
    assert torch.equal(logits, logits_off)
    # and gamma > 0 does change the output (the test can fail)
    m2 = TinyGPT(GPTConfig(gamma=0.3, **SMALL)).eval()
    m2.load_state_dict(m.state_dict())
    assert not torch.equal(m2(idx)[0], logits)


def test_fhrl_false_is_plain_gpt():
    m = TinyGPT(GPTConfig(fhrl=False, **SMALL))
    assert m.fhrl_layers == [] and not any("fhrl" in n for n, _ in m.named_parameters())
    assert m(torch.zeros(1, 4, dtype=torch.long))[0].shape == (1, 4, 256)


def test_fast_layer_matches_reference_loop_float64():
    layer = _layer(torch.float64, gamma=0.3, sigma=0.1, alpha=0.3, beta=0.4)
    h = torch.randn(2, 12, 8, dtype=torch.float64)
    eU, eV = layer.noise(2, 12, torch.Generator().manual_seed(3), dtype=torch.float64)
    out, ints = layer(h, noise=(eU, eV), return_internals=True)
    ref = reference_forward(layer, h, eU, eV)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-10)
    # internals rebuild each step with the pure step function
    p = layer.step_params()
    for t in (0, 5, 11):
        y, U, V = fhrl_step(p, ints["U_prev"][:, t], ints["V_prev"][:, t], eU[:, t], eV[:, t], ints["x"][:, t])
        torch.testing.assert_close(y, ints["y"][:, t], rtol=0, atol=1e-12)
        torch.testing.assert_close(U, ints["U"][:, t], rtol=0, atol=1e-12)


def test_jacobian_of_step_matches_finite_differences():
    layer = _layer(torch.float64, sigma=0.1)
    p = {k: (v.detach() if torch.is_tensor(v) else v) for k, v in layer.step_params().items()}
    U, V = torch.randn(3, 8, dtype=torch.float64), torch.randn(3, 8, dtype=torch.float64)
    eU, eV = 0.1 * torch.randn(3, 8, dtype=torch.float64), 0.1 * torch.randn(3, 8, dtype=torch.float64)
    x = torch.randn(8, dtype=torch.float64)
    J = jacrev(lambda xx: fhrl_step(p, U, V, eU, eV, xx)[0])(x)
    eps = 1e-6
    for j in range(8):
        e = torch.zeros(8, dtype=torch.float64)
        e[j] = eps
        fd = (fhrl_step(p, U, V, eU, eV, x + e)[0] - fhrl_step(p, U, V, eU, eV, x - e)[0]) / (2 * eps)
        torch.testing.assert_close(J[:, j], fd, rtol=1e-6, atol=1e-8)


def test_feedback_is_detached():
    # alpha = 1: no memory, so y_t depends on h_{t-1} ONLY through the feedback path
    layer = _layer(torch.float64, gamma=0.5, alpha=1.0, sigma=0.0)
    h = torch.randn(1, 6, 8, dtype=torch.float64, requires_grad=True)
    eU = eV = torch.zeros(1, 6, 3, 8, dtype=torch.float64)
    out, _ = layer(h, noise=(eU, eV))
    (g,) = torch.autograd.grad(out[0, -1].sum(), h)
    assert torch.count_nonzero(g[0, :-1]) == 0 and torch.count_nonzero(g[0, -1]) > 0
    ref = reference_forward(layer, h, eU, eV, detach=False)  # the undetached variant does carry it
    (g2,) = torch.autograd.grad(ref[0, -1].sum(), h)
    assert g2[0, :-1].abs().max() > 1e-6
    # W_r gradient equals the one with an explicit detach in the reference loop
    h2 = h.detach()
    gw = torch.autograd.grad(layer(h2, noise=(eU, eV))[0].pow(2).sum(), layer.W_r)[0]
    gw_ref = torch.autograd.grad(reference_forward(layer, h2, eU, eV).pow(2).sum(), layer.W_r)[0]
    torch.testing.assert_close(gw, gw_ref, rtol=1e-10, atol=1e-12)


def test_sigma0_collapses_slots_sigma_positive_does_not():
    h = torch.randn(2, 10, 8)
    for sigma, collapsed in ((0.0, True), (0.1, False)):
        layer = _layer(sigma=sigma).train()
        _, ints = layer(h, generator=torch.Generator().manual_seed(0), return_internals=True)
        U, V = ints["U"], ints["V"]
        same = torch.equal(U, U[:, :, :1].expand_as(U)) and torch.equal(V, V[:, :, :1].expand_as(V))
        assert same is collapsed


def test_noise_is_seeded_and_eval_is_deterministic():
    layer = _layer(sigma=0.2)
    h = torch.randn(1, 5, 8)
    a = layer(h, generator=torch.Generator().manual_seed(7))[0]
    b = layer(h, generator=torch.Generator().manual_seed(7))[0]
    assert torch.equal(a, b)
    layer.eval()
    assert torch.equal(layer(h)[0], layer(h)[0])


@pytest.mark.parametrize("kw, match", [
    (dict(beta=1.0), "beta"), (dict(beta=2.0), "pole"), (dict(alpha=0.0), "alpha"),
    (dict(sigma=-1.0), "sigma"), (dict(gamma=-0.1), "gamma"), (dict(rank=0), "rank"),
])
def test_config_errors(kw, match):
    with pytest.raises(FHRNInputError, match=match):
        FHRLConfig(d=8, **kw)


def test_gpt_config_errors():
    with pytest.raises(FHRNInputError, match="divisible"):
        GPTConfig(d=10, n_head=3)
    with pytest.raises(FHRNInputError, match="unknown keys"):
        GPTConfig.from_dict({"d": 8, "evil": 1})
    with pytest.raises(FHRNInputError, match="`d` must be int"):
        GPTConfig.from_dict({"d": "8"})
    with pytest.raises(FHRNInputError, match="missing keys"):
        GPTConfig.from_dict({"d": 8})
    with pytest.raises(FHRNInputError, match="JSON object"):
        GPTConfig.from_dict([1, 2])
    assert GPTConfig.from_dict(GPTConfig(**SMALL).to_dict()) == GPTConfig(**SMALL)
    with pytest.raises(FHRNInputError, match="context"):
        TinyGPT(GPTConfig(**SMALL))(torch.zeros(1, 17, dtype=torch.long))


@pytest.mark.parametrize("gamma", [0.0, 0.25])
def test_fast_layer_gradients_match_reference_loop(gamma):
    """The two-pass forward has the same gradients (all weights and the input) as the plain loop."""
    layer = _layer(torch.float64, gamma=gamma, sigma=0.1, alpha=0.4, beta=0.3)
    h = torch.randn(2, 9, 8, dtype=torch.float64, requires_grad=True)
    eU, eV = layer.noise(2, 9, torch.Generator().manual_seed(5), dtype=torch.float64)
    w = torch.randn(2, 9, 8, dtype=torch.float64)
    params = [h, layer.W_q, layer.W_k, layer.W_v, layer.W_r]
    g_fast = torch.autograd.grad((layer(h, noise=(eU, eV))[0] * w).sum(), params, allow_unused=True,
                                 materialize_grads=True)
    g_ref = torch.autograd.grad((reference_forward(layer, h, eU, eV) * w).sum(), params)
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    if gamma == 0.0:
        assert torch.count_nonzero(g_fast[-1]) == 0  # W_r unused at gamma = 0
