"""Spectral map and stability verdict of a given reentry matrix ``W*`` (docs/model.md §1, §5; Fig. 2b, Fig. 4).

Usage: ``python examples/matrix_stability.py [W.npy] [--gamma G] [--beta B] [--radius R] [--plot map.png]``
(default matrix: a mixed 3x3 operator with |W|_2 = 1.5). ``--quick`` (or ``FHRN_EXAMPLE_QUICK=1``) uses a
coarse grid.

It prints
1. the operator: |W|_2, its antisymmetric/symmetric split, rho(W);
2. the linear verdict at radius |y| = R: exact ``rho(-I + gamma g(R) W) < 0`` vs small gain
   ``r_e = gamma |g(R)| |W|_2 < 1``, and the critical norms of both;
3. the spectral map ``rho(J(y))`` of the full nonlinear field on the plane of the first two axes: the
   fraction of the plane where the Jacobian is unstable.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import fhrn_ode as F
from fhrn_ode import analysis as A

#: The arguments the docs gallery runs this script with (tools/docs/gallery.py): draw the map.
GALLERY_ARGV = ["--plot", "matrix_stability_map.png"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("matrix", nargs="?", help="W* file (.npy/.npz/.safetensors/.csv/.txt); default: built in")
    p.add_argument("--gamma", type=float, default=1.0)
    p.add_argument("--beta", type=float, default=0.5)
    p.add_argument("--radius", type=float, default=1.0)
    p.add_argument("--plot", help="write the spectral map as a PNG")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    quick = args.quick or os.environ.get("FHRN_EXAMPLE_QUICK") == "1"

    W = F.load_operator(args.matrix) if args.matrix else F.make_operator("mixed", 3, seed=0, scale=1.5)
    info = F.operator_info(W, args.matrix or "mixed (built in)")
    Wa, Ws = F.decompose(W)
    print(f"W*: {info.name}, d = {info.dim}, |W|_2 = {info.norm2:.4g}, rho(W) = {info.spectral_abscissa:.4g}, "
          f"|W_a|_2 = {info.antisym_norm:.4g}, |W_s|_2 = {info.sym_norm:.4g}")

    c = A.check_operator(W, args.gamma, args.beta, args.radius)
    verdict = "STABLE" if c.stable else "UNSTABLE"
    print(f"at |y| = {c.radius:g} (gamma = {c.gamma:g}, beta = {c.beta:g}, g = {c.gain:.4g}): {verdict}, "
          f"rho(-I + gamma g W) = {c.spectral_abscissa:.4g}; small gain r_e = {c.r_e:.4g} "
          f"({'certifies' if c.stable_small_gain else 'does not certify'} stability)")
    print(f"critical |W|_2: small gain {c.wr_norm_critical_small_gain:.4g}, exact {c.wr_norm_critical_exact:.4g}")

    params = F.FHRNParams(gamma=args.gamma, beta=args.beta, kappa=2.0)
    n = 40 if quick else 200
    m = A.spectral_map(F.FHRNField(W, params), extent=2.0, n=n)
    rho = m.spectral_abscissa
    finite = np.isfinite(rho)
    print(f"spectral map of the nonlinear field ({n}x{n}, {m.method}): rho(J) in "
          f"[{np.nanmin(rho):.3g}, {np.nanmax(rho):.3g}], unstable on {100 * np.mean(rho[finite] > 0):.1f}% of the plane"
          f" ({m.n_nan} points on the gain pole)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import TwoSlopeNorm

        fig, ax = plt.subplots(figsize=(4.8, 4.2))
        lo, hi = min(float(np.nanmin(rho)), -1e-9), max(float(np.nanmax(rho)), 1e-9)
        norm = TwoSlopeNorm(0.0, lo, hi)
        im = ax.pcolormesh(m.y1, m.y2, rho, cmap="RdBu_r", shading="auto", norm=norm)  # red: unstable
        ax.contour(m.y1, m.y2, rho, levels=[0.0], colors="k", linewidths=1.0)
        cb = fig.colorbar(im, ax=ax, label="rho(J(y))  (red: unstable)")
        cb.set_ticks([lo, lo / 2, 0.0, hi / 2, hi])  # ticks on both sides of zero
        cb.ax.set_yticklabels([f"{v:.3g}" for v in (lo, lo / 2, 0.0, hi / 2, hi)])
        ax.set_xlabel("y1")
        ax.set_ylabel("y2")
        ax.set_aspect("equal")
        ax.set_title(f"linear check at |y| = {c.radius:g}: {verdict}\nrho(J(y)) of the nonlinear field; black: rho = 0",
                     fontsize=9)
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
