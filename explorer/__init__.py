"""fhrn_ode.explore: ``fhrn-ode explore``, an interactive phase-plane and stability explorer in the browser.

A small Starlette app (served by uvicorn on 127.0.0.1) with a static page drawn by Plotly.js, the copy
bundled in the ``plotly`` Python package (nothing from a CDN). Every number comes from the library
(:mod:`fhrn_ode._wr`, :func:`fhrn_ode.integrate`, :mod:`fhrn_ode.analysis`, :mod:`fhrn_ode.dynamics`);
this package only validates the controls, calls them and serves JSON. See docs/explore.md.
Needs the ``explore`` extra (``pip install -e ".[explore]"``) for the server; the numerics need nothing more.
"""

from ._spec import DEFAULTS, MODEL_KEYS, ViewSpec, parse_view, point_of
from ._views import portrait, resolve, trajectory, view_plane
from ._panels import SLIDERS, equilibria, point_stability, stability_test
from ._continuation import SLIDER_RANGE, continuation_diagram
from .server import bind_socket, create_app, is_loopback, make_server, plotly_js

__all__ = ["DEFAULTS", "MODEL_KEYS", "ViewSpec", "parse_view", "point_of", "portrait", "resolve", "trajectory",
           "view_plane", "SLIDERS", "SLIDER_RANGE", "continuation_diagram", "equilibria", "point_stability", "stability_test",
           "bind_socket", "create_app", "is_loopback", "make_server", "plotly_js"]
