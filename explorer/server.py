"""The web app of ``fhrn-ode explore``: a Starlette app and a uvicorn server on a loopback socket.

Routes: ``GET /`` (the page), ``GET /static/*`` (its script and style), ``GET /vendor/plotly.min.js``
(Plotly.js from the installed ``plotly`` package: offline, no CDN), and ``POST /api/<name>`` with the
page's control values as a JSON object, answering ``{"ok": true, ...}`` or ``{"ok": false, "error":
"one line"}``. A bad value, operator file or checkpoint is an ``ok: false`` answer (status 400) shown on
the page; any other failure of one request is logged as one line and answered with status 500; the
server goes on serving either way. Requests carry the whole view, so the server holds no per-view state.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
from pathlib import Path
from typing import Callable

from fhrn_ode._errors import FHRNInputError

from . import _continuation, _panels, _views
from ._spec import DEFAULTS, parse_view, point_of

__all__ = ["STATIC", "create_app", "plotly_js", "is_loopback", "bind_socket", "make_server"]

_LOG = logging.getLogger("fhrn_ode.explore")

#: The page's own files (index.html, app.js, app.css).
STATIC = Path(__file__).with_name("static")


def plotly_js() -> Path:
    """Path of the ``plotly.min.js`` bundled in the ``plotly`` Python package.

    Raises:
        FHRNInputError: the ``plotly`` package (the ``explore`` extra) is not installed.
    """
    try:
        import plotly
    except ImportError:
        raise FHRNInputError("`fhrn-ode explore` needs the `explore` extra: pip install -e \".[explore]\" "
                             "(plotly, starlette, uvicorn)") from None
    p = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
    if not p.is_file():  # pragma: no cover - a broken plotly install
        raise FHRNInputError(f"the plotly package has no bundled plotly.min.js at {p}")
    return p


def _trajectory(data: dict) -> dict:
    spec, point = parse_view(_view_keys(data)), point_of(data)
    out = _views.trajectory(spec, point)
    out["stability"] = _panels.point_stability(spec, point)
    return out


def _analysis(data: dict) -> dict:
    spec = parse_view(_view_keys(data))
    out = dict(equilibria=_panels.equilibria(spec), test=_panels.stability_test(spec))
    if data.get("point") is not None:
        out["stability"] = _panels.point_stability(spec, point_of(data))
    return out


def _view_keys(data) -> dict:
    return {k: v for k, v in data.items() if k not in ("point", "param")} if isinstance(data, dict) else data


#: ``POST /api/<name>``: the request's JSON object -> the answer's fields.
HANDLERS: dict[str, Callable[[dict], dict]] = {
    "portrait": lambda data: _views.portrait(parse_view(_view_keys(data))),
    "trajectory": _trajectory,
    "analysis": _analysis,
    "continuation": lambda data: _continuation.continuation_diagram(parse_view(_view_keys(data)),
                                                                    (data or {}).get("param")),
    "defaults": lambda data: dict(defaults=DEFAULTS),
}


def _dumps(out: dict) -> str:
    """Strict JSON (non-finite floats, e.g. an infinite critical norm, become null)."""
    try:
        return json.dumps(out, allow_nan=False)
    except (TypeError, ValueError):
        from fhrn_ode._io import to_jsonable

        return json.dumps(to_jsonable(out), allow_nan=False)


def _answer(name: str, body: bytes) -> tuple[int, str]:
    """Run one API call: ``(status, JSON text)``. Never raises an ``Exception``: a failing request is an
    answer; an interrupt (``KeyboardInterrupt``) is not caught, it ends this request only (worker thread)."""
    t0 = time.perf_counter()
    try:
        data = json.loads(body.decode("utf-8") or "{}")
        out = HANDLERS[name](data)
        code, out = 200, {"ok": True, **out}
    except (FHRNInputError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = str(exc) if isinstance(exc, FHRNInputError) else f"the request body is not JSON: {exc}"
        code, out = 400, {"ok": False, "error": msg}
    except Exception as exc:  # noqa: BLE001 - one request fails, the server keeps serving
        _LOG.warning("fhrn-ode explore: %s failed: %s: %s", name, type(exc).__name__, exc)
        code, out = 500, {"ok": False, "error": f"internal error in {name}: {type(exc).__name__}: {exc}"}
    out["compute_ms"] = 1e3 * (time.perf_counter() - t0)
    try:
        return code, _dumps(out)
    except Exception as exc:  # noqa: BLE001 - an answer that cannot be encoded is still an answer
        _LOG.warning("fhrn-ode explore: %s answer not encodable: %s: %s", name, type(exc).__name__, exc)
        return 500, json.dumps({"ok": False, "error": f"internal error in {name}: the answer is not JSON ({exc})"})


def create_app():
    """The Starlette app (routes in the module docstring).

    Raises:
        FHRNInputError: the ``explore`` extra (starlette, plotly) is missing.
    """
    plotly_path = plotly_js()
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import FileResponse, JSONResponse, Response
        from starlette.routing import Mount, Route
        from starlette.staticfiles import StaticFiles
    except ImportError:
        raise FHRNInputError("`fhrn-ode explore` needs the `explore` extra: pip install -e \".[explore]\"") from None

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def plotly(request):
        return FileResponse(plotly_path, media_type="application/javascript")

    async def favicon(request):
        return Response(status_code=204)

    async def api(request):
        name = request.path_params["name"]
        if name not in HANDLERS:
            return JSONResponse({"ok": False, "error": f"unknown API call {name!r}; known: {', '.join(HANDLERS)}"},
                                status_code=404)
        body = await request.body()
        code, out = await run_in_threadpool(_answer, name, body)  # compute off the event loop: tabs in parallel
        return Response(out, status_code=code, media_type="application/json")

    routes = [Route("/", index), Route("/favicon.ico", favicon), Route("/vendor/plotly.min.js", plotly),
              Route("/api/{name}", api, methods=["POST"]), Mount("/static", StaticFiles(directory=STATIC))]
    return Starlette(routes=routes)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names a loopback address (``127.0.0.0/8``, ``::1`` or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one chosen by the system).

    Raises:
        FHRNInputError: the address cannot be bound (in use, not an address of this machine).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FHRNInputError(f"`host` {host!r} is not an address: {exc.strerror}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise FHRNInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(64)
    return sock


def make_server(app, sock: socket.socket):
    """A uvicorn server for ``app`` on ``sock``, quiet (no access log), without its own signal handlers:
    the caller runs it in a thread and handles Ctrl-C/SIGTERM (the CLI's top-level handler)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # older uvicorn; newer ones skip it outside the main thread
    return server
