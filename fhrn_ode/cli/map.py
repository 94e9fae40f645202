"""``fhrn-ode map``: spectral-abscissa map rho(J(y)) over a plane of state space (Fig. 2b)."""

from __future__ import annotations

import argparse

from ._common import (add_model_args, add_operator_args, add_seed_arg, check_out_dir, emit_json, param_sources,
                      params_from_args, resolve_wr_args, sources_note)


def register(sub) -> None:
    p = sub.add_parser("map", help="spectral-abscissa map of the Jacobian over a plane",
                       description="rho(J(y)) = max Re lambda(J(y)) on an N x N grid of [-L, L]^2 in a plane "
                                   "(C 10-11); NaN at the gain pole (beta >= 1).")
    add_operator_args(p)
    add_model_args(p, memory=False)
    p.add_argument("--grid", type=int, default=200, help="grid points per axis N >= 2 (default %(default)s)")
    p.add_argument("--extent", type=float, default=2.0, help="half-width L > 0 of the square (default %(default)s)")
    p.add_argument("--plane", default="0,1",
                   help="'i,j': coordinate axes i and j through 0; 'pca': top-2 principal plane of trajectories "
                        "from random initial states (default %(default)s)")
    add_seed_arg(p)
    p.add_argument("--out", default="runs/map", help="output folder (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON only")
    p.add_argument("--no-plot", action="store_true", help="do not draw or write the figure(s)")
    p.set_defaults(func=run)


def _plane(spec: str, W, params, seed: int):
    import numpy as np

    from .._errors import FHRNInputError

    d = W.shape[0]
    if spec == "pca":
        from ..analysis.phase import project
        from ..integration import initial_conditions, integrate

        res = integrate(W, initial_conditions(16, d, 2.0, seed=seed), params=params, t1=10.0, n_points=101)
        pr = project(res.y.detach().numpy())
        return pr.center, pr.basis, "pca"
    try:
        i, j = (int(v) for v in spec.split(","))
    except ValueError:
        raise FHRNInputError(f"`--plane` must be 'i,j' (two axis indices) or 'pca', got {spec!r}") from None
    if not (0 <= i < d and 0 <= j < d) or i == j:
        raise FHRNInputError(f"`--plane` axes must be two different indices in [0, {d - 1}], got {spec!r}")
    B = np.zeros((d, 2))
    B[i, 0] = B[j, 1] = 1.0
    return np.zeros(d), B, f"{i},{j}"


def run(args: argparse.Namespace) -> int:
    from .._errors import check_int, check_real
    from .._limits import check_sizes, map_cost

    n = check_int("--grid", args.grid, low=2)
    L = check_real("--extent", args.extent, low=0.0, low_open=True, high=1e6)
    d0 = 2 if args.dim is None else check_int("--dim", args.dim, low=1)
    check_sizes(map_cost, [("--dim", d0, 1), ("--grid", n, 2)], what="eigenvalues of grid^2 Jacobians")
    out = check_out_dir(args.out)
    import numpy as np

    from .._io import atomic_save_npz, atomic_savefig, atomic_write_json
    from ..analysis.spectra import spectral_map
    from ..field import FHRNField

    op = resolve_wr_args(args)
    name, W = op.name, op.W
    check_sizes(map_cost, [("--dim" if args.dim is not None else "the operator size d", W.shape[0], 1),
                           ("--grid", n, 2)], what="eigenvalues of grid^2 Jacobians")
    params = params_from_args(args, op)
    field = FHRNField(W, params)
    origin, basis, plane = _plane(args.plane, W, params, args.seed)
    m = spectral_map(field, extent=L, n=n, origin=origin, basis=basis)
    rho = m.spectral_abscissa
    files = [atomic_save_npz(out / "map.npz", y1=m.y1, y2=m.y2, spectral_abscissa=rho, origin=m.origin,
                             basis=m.basis, W=W)]
    if not args.no_plot:
        import matplotlib.pyplot as plt

        from ..figures.maps import plot_spectral_map

        fig = plot_spectral_map(m, title=f"W* = {name}, plane {plane}")
        files.append(atomic_savefig(fig, out / "map.png"))
        plt.close(fig)
    finite = rho[np.isfinite(rho)]
    summary = dict(wr=name, dim=int(W.shape[0]), plane=plane, grid=n, extent=L, method=m.method, params=params.to_dict(),
                   param_sources=param_sources(args, op), wr_source=op.to_dict(), n_nan=m.n_nan, rho_min=float(finite.min()) if finite.size else None,
                   rho_max=float(finite.max()) if finite.size else None,
                   stable_fraction=float((finite < 0).mean()) if finite.size else None,
                   files=[str(f) for f in files] + [str(out / "summary.json")])
    files.append(atomic_write_json(out / "summary.json", summary))
    if args.json:
        emit_json(summary)
    else:
        print(f"map {n}x{n} of rho(J) ({m.method}), rho in [{summary['rho_min']:.4g}, {summary['rho_max']:.4g}], "
              f"{m.n_nan} NaN{sources_note(params, summary['param_sources'])}; wrote {', '.join(str(f) for f in files)}")
    return 0
