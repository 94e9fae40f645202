"""``fhrn-ode explore``: the interactive phase-plane and stability explorer in the browser (docs/explore.md)."""

from __future__ import annotations

import argparse

from ._common import add_seed_arg
from .._wr import WR_HELP

__all__ = ["register", "run", "bind_address"]


def register(sub) -> None:
    p = sub.add_parser("explore", help="interactive phase plane and stability explorer in the browser",
                       description="Start a local web app (127.0.0.1, a free port) with the phase plane of the FHRN "
                                   "field, sliders for its parameters, the Jacobian, the small-gain vs exact test, "
                                   "V(t) and a bifurcation diagram; print its URL and open the browser. Ctrl-C stops "
                                   "it. Needs the `explore` extra.")
    p.add_argument("--wr", default="antisym", help=f"the page's initial operator: {WR_HELP} (default %(default)s)")
    p.add_argument("--dim", type=int, default=None, help="dimension of a built-in operator (default 2)")
    p.add_argument("--port", type=int, default=0, help="TCP port (default 0: a free one)")
    p.add_argument("--host", default=None,
                   help="bind address (default 127.0.0.1; any other address only when given here, with a warning: "
                        "the explorer has no authentication)")
    p.add_argument("--no-browser", action="store_true", help="do not open the default browser")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default %(default)s)")
    add_seed_arg(p)
    p.add_argument("--json", action="store_true",
                   help="print {url, host, port, loopback} as one JSON line (instead of the text line)")
    p.set_defaults(func=run)


def bind_address(args: argparse.Namespace) -> tuple[str, int, str | None]:
    """``(host, port, warning)`` from the flags: 127.0.0.1 unless ``--host`` is given; a warning line for a
    non-loopback ``--host``.

    Raises:
        FHRNInputError: a port outside 0..65535 or an empty host.
    """
    from .._errors import FHRNInputError, check_int
    from ..explore.server import is_loopback

    port = check_int("--port", args.port, low=0, high=65535)
    if args.host is None:
        return "127.0.0.1", port, None
    host = str(args.host).strip()
    if not host:
        raise FHRNInputError("`--host` must be an address, got ''")
    if is_loopback(host):
        return host, port, None
    return host, port, (f"fhrn-ode explore: warning: listening on {host}, reachable from other machines; the "
                        f"explorer has no authentication (omit --host to stay on 127.0.0.1)")


def _url(host: str, port: int, args: argparse.Namespace) -> str:
    from urllib.parse import urlencode

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    q = {"wr": args.wr, "seed": args.seed}
    if args.dim is not None:
        q["dim"] = args.dim
    return f"http://{shown}:{port}/?{urlencode(q)}"


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import threading

    from .._errors import check_int
    from .._wr import resolve_wr
    from ._common import flag_names

    host, port, warning = bind_address(args)
    threads = check_int("--threads", args.threads, low=1)
    with flag_names(spec="--wr", dim="--dim"):
        resolve_wr(args.wr, args.dim, seed=args.seed)  # a bad --wr fails here (exit 2), not on the page
    import torch

    from ..explore.server import bind_socket, create_app, make_server

    torch.set_num_threads(threads)
    app = create_app()
    sock = bind_socket(host, port)
    port = sock.getsockname()[1]
    url = _url(host, port, args)
    if warning:
        print(warning, file=sys.stderr)
    if args.json:
        print(json.dumps({"url": url, "host": host, "port": port, "loopback": warning is None}), flush=True)
    else:
        print(f"fhrn-ode explore: serving {url} (Ctrl-C stops it)", flush=True)
    server = make_server(app, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="explore-server", daemon=True)
    thread.start()
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        while thread.is_alive():
            thread.join(0.2)
    finally:  # Ctrl-C / SIGTERM reach the main thread here; the CLI's handler prints and exits 130/143
        server.should_exit = True
        sock.close()
    print("fhrn-ode explore: the server stopped", file=sys.stderr)
    return 1
