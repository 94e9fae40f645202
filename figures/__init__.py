"""fhrn_ode.figures: thin plotting scripts (call analysis, plot, save). Installed as ``fhrn_ode.figures``."""
