"""Trained checkpoint -> ``W* = J_H W_r`` -> integrate the continuous FHRN -> stability verdict.

docs/model.md §5 (linearization), §1 (the continuous field), §3 (the discrete layer). Default checkpoint:
the bundled reference model (``fhrn_ode.reference_model_path()``); pass another checkpoint folder as the
first argument. ``--quick`` (or ``FHRN_EXAMPLE_QUICK=1``) linearizes fewer contexts.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

import fhrn_ode as F
from fhrn_ode import analysis as A


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv or os.environ.get("FHRN_EXAMPLE_QUICK") == "1"
    paths = [a for a in argv if not a.startswith("--")]
    ckpt = paths[0] if paths else F.reference_model_path()

    # 1. Linearize the FH-RL layer at many contexts: W* = J_H W_r per context (docs/model.md §5).
    lin = F.linearize_checkpoint(ckpt, contexts=8 if quick else 64, seed=0)
    print(f"{ckpt}: {lin.layer.size} contexts, layers {list(lin.layers)}, d = {lin.W_star.shape[-1]}, "
          f"gamma = {lin.gamma:g}, beta = {lin.beta:g}, median radius {np.median(lin.radius):.3g}")

    # 2. Verdict of the linear check -I + gamma g(|y|) W* at every context (exact and small gain).
    check = A.check_trained(lin.W_star, lin.gamma, lin.beta, lin.radius, lin.layer)
    for lc in check.per_layer:
        print("  " + lc.verdict)

    # 3. The continuous FHRN with the mean W* of layer 0 as its reentry operator: integrate and look at
    #    where the flow goes and how stable its Jacobian is there.
    W = F.mean_w_star(lin, layer=lin.layers[0])
    params = F.FHRNParams(gamma=lin.gamma, beta=lin.beta)
    y0 = F.initial_conditions(4 if quick else 16, W.shape[0], 2.0, seed=0)
    res = F.integrate(W, y0, params=params, t1=10.0, n_points=51)
    print(f"integrate: {res.status}: {res.message}")
    yf = res.y_final
    rho = F.spectral_abscissa(F.FHRNField(W, params).jacobian(yf))
    print(f"  final |y| in [{float(yf.norm(dim=-1).min()):.3f}, {float(yf.norm(dim=-1).max()):.3f}], "
          f"V = {float(F.lyapunov_V(yf, params.theta).max()):.3g}, max rho(J(y_final)) = {float(np.max(rho)):.3g}")
    r = float(np.median(lin.radius))
    c = A.check_operator(W, lin.gamma, lin.beta, r)
    print(f"  mean W* at |y| = {r:.3g}: {'stable' if c.stable else 'UNSTABLE'} "
          f"(rho = {c.spectral_abscissa:.3g}, r_e = {c.r_e:.3g}, exact critical |W|_2 = {c.wr_norm_critical_exact:.3g})")
    with torch.no_grad():
        speed = float(F.FHRNField(W, params).velocity(yf).norm(dim=-1).max())
    print(f"  max |dy/dt| at t = {res.t_final:g}: {speed:.2e}")


if __name__ == "__main__":
    main()
