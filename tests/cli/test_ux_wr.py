"""--wr from a trained model: its gains are the defaults, flags win, sources are reported; one table of messages."""

import json

import numpy as np
import pytest
import torch

from fhrn_ode._wr import resolve_wr
from fhrn_ode.cli import build_parser, main
from fhrn_ode.discrete.checkpoint import save_checkpoint
from fhrn_ode.discrete.model import GPTConfig, TinyGPT
from fhrn_ode.linearize import linearize_model

CFG = GPTConfig(d=8, n_layer=2, n_head=2, context=8, rank=2, gamma=0.2, beta=0.3)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    root = tmp_path_factory.mktemp("ux_wr")
    torch.manual_seed(0)
    for g in (0.0, 0.2):
        cfg = GPTConfig(**{**CFG.to_dict(), "gamma": g})
        save_checkpoint(TinyGPT(cfg), root / "sweep" / f"gamma_{g:.2f}")
    save_checkpoint(TinyGPT(CFG), root / "one")
    np.save(root / "w.npy", np.array([[0.0, -1.0], [1.0, 0.0]]))
    (root / "plain").mkdir()
    return root


def _json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_checkpoint_gains_are_defaults_and_flags_win(ckpts, tmp_path, capsys):
    ck = str(ckpts / "one")
    s = _json(["integrate", "--wr", ck, "--n-init", "2", "--t1", "0.5", "--n-points", "3", "--no-plot",
               "--out", str(tmp_path / "a"), "--json"], capsys)
    assert (s["params"]["gamma"], s["params"]["beta"]) == (0.2, 0.3)
    assert s["param_sources"]["gamma"] == s["param_sources"]["beta"] == "checkpoint"
    assert s["param_sources"]["kappa"] == "default" and s["wr_source"]["source"] == "checkpoint"
    s = _json(["integrate", "--wr", ck, "--beta", "0", "--kappa", "3", "--n-init", "2", "--t1", "0.5", "--n-points",
               "3", "--no-plot", "--out", str(tmp_path / "b"), "--json"], capsys)
    assert (s["params"]["gamma"], s["params"]["beta"], s["params"]["kappa"]) == (0.2, 0.0, 3.0)
    assert s["param_sources"] == {**s["param_sources"], "gamma": "checkpoint", "beta": "flag", "kappa": "flag"}
    # a built-in operator: everything from the defaults
    s = _json(["integrate", "--n-init", "2", "--t1", "0.5", "--n-points", "3", "--no-plot",
               "--out", str(tmp_path / "c"), "--json"], capsys)
    assert set(s["param_sources"].values()) == {"default"} and s["params"]["gamma"] == 1.0
    for cmd, extra in (("map", ["--grid", "4"]), ("lyapunov", ["--radii", "0.5", "--t1", "0.2", "--n-points", "3"])):
        s = _json([cmd, "--wr", f"{ck}:1", "--gamma", "0.05", *extra, "--out", str(tmp_path / cmd), "--json"], capsys)
        assert s["params"]["gamma"] == 0.05 and s["params"]["beta"] == 0.3
        assert s["param_sources"]["gamma"] == "flag" and s["param_sources"]["beta"] == "checkpoint"
    s = _json(["stability", "--wr", ck, "--json"], capsys)
    assert (s["gamma"], s["beta"]) == (0.2, 0.3) and set(s["param_sources"].values()) == {"checkpoint"}
    assert s["radius"] == pytest.approx(resolve_wr(ck).radius)


def test_checkpoint_operator_is_the_seeded_mean_w_star(ckpts):
    from fhrn_ode.discrete.checkpoint import load_checkpoint

    model, _ = load_checkpoint(ckpts / "one")
    for seed in (0, 3):
        lin = linearize_model(model, layers=(1,), contexts=32, seed=seed)
        op = resolve_wr(f"{ckpts / 'one'}:1", seed=seed)
        np.testing.assert_allclose(op.W, lin.W_star.mean(axis=0), rtol=0, atol=1e-14)
        assert op.layer == 1 and op.n_contexts == 32
    assert not np.allclose(resolve_wr(str(ckpts / "one"), seed=0).W, resolve_wr(str(ckpts / "one"), seed=3).W)
    one = resolve_wr(f"{ckpts / 'one'}:0:5")
    lin = linearize_model(model, layers=(0,), contexts=32, seed=0)
    np.testing.assert_allclose(one.W, lin.W_star[5], atol=1e-14)


def test_linearize_npz_brings_its_gains(ckpts, tmp_path, capsys):
    npz = tmp_path / "lin.npz"
    assert main(["linearize", str(ckpts / "one"), "--contexts", "6", "--out", str(npz), "--json"]) == 0
    capsys.readouterr()
    op = resolve_wr(f"{npz}:1:2")
    with np.load(npz) as z:
        np.testing.assert_array_equal(op.W, z["W_star"][z["layer"] == 1][2])
    assert (op.gamma, op.beta, op.source) == (0.2, 0.3, "linearization")


@pytest.mark.parametrize("cmd", ["integrate", "map", "stability", "lyapunov"])
def test_help_lists_every_wr_form(cmd):
    sub = build_parser()._subparsers._group_actions[0].choices[cmd]
    text = " ".join(sub.format_help().split())
    for form in ("CKPT[:layer[:context]]", "reference[:layer[:context]]", "LIN.npz[:layer[:context]]", ".safetensors"):
        assert form in text, (cmd, form)


@pytest.mark.parametrize("cmd", ["metrics", "check", "linearize"])
def test_every_checkpoint_command_accepts_reference(cmd, tmp_path, capsys):
    argv = {"metrics": ["metrics", "reference", "--n-seq", "1", "--json"],
            "check": ["check", "reference", "--contexts", "2", "--json"],
            "linearize": ["linearize", "reference", "--contexts", "2", "--out", str(tmp_path / "l.npz"), "--json"]}[cmd]
    out = _json(argv, capsys)
    assert "reference_model" in out["checkpoint"]


# (argv, substrings the one-line message must hold, substrings it must not hold)
MESSAGES = [
    (["integrate", "--wr", "nope/missing.npy"], ["does not exist", "CKPT[:layer[:context]]", "reference[:layer"], []),
    (["integrate", "--wr", "spiral"], ["not a built-in kind", "antisym", "CKPT[:layer[:context]]",
                                       "reference[:layer[:context]]"], []),
    (["map", "--wr", "{root}/sweep"], ["is a sweep folder", "gamma_0.00", "pass one of its checkpoints",
                                       "--wr {root}/sweep/gamma_0.00"], []),
    (["integrate", "--wr", "{root}/plain"], ["not a checkpoint", "config.json"], []),
    (["integrate", "--wr", "{root}/one:7"], ["layer index 7", "[0, 1]"], ["--layer"]),
    (["integrate", "--wr", "{root}/one:0:99999"], ["context index 99999", "[0, 9999]"], ["`contexts`", "--contexts"]),
    (["integrate", "--wr", "{root}/one:x"], ["must be integers"], ["--layer"]),
    (["integrate", "--wr", "{root}/w.npy", "--wr-scale", "2"], ["`--wr-scale` applies to the built-in"], []),
    (["integrate", "--wr", "{root}/w.npy:1"], ["takes no ':layer"], []),
    (["stability", "--wr", "{root}/one", "--wr-scale", "3"], ["`--wr-scale` applies"], []),
    (["stability", "--wr", "antisym", "--beta", "0", "--radius", "1"], ["`--gamma` is required", "trained"], []),
    (["lyapunov", "--wr", "{root}/one", "--dim", "3"], ["`--dim` must equal", "8"], []),
]


@pytest.mark.parametrize("argv,must,must_not", MESSAGES, ids=[" ".join(m[0][:3]) for m in MESSAGES])
def test_wr_messages(ckpts, tmp_path, capsys, argv, must, must_not):
    argv = [a.format(root=ckpts) for a in argv]
    if argv[0] != "stability":
        argv += ["--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"fhrn-ode {argv[0]}: error: "), err
    for m in must:
        assert m.format(root=ckpts) in err[0], (m, err[0])
    for m in must_not:
        assert m not in err[0], (m, err[0])
    assert not (tmp_path / "o").exists()

