"""Example scripts, installed with the package as ``fhrn_ode.examples`` so that a pip user has them too.

``fhrn-ode examples`` prints the folder and what each script shows; ``fhrn-ode examples --copy DIR`` copies
them. Each is a script, run as ``python SCRIPT.py`` (``--quick`` or ``FHRN_EXAMPLE_QUICK=1`` for small sizes);
importing this package imports none of them. The documentation's gallery runs them when it is built
(tools/docs/gallery.py).
"""
