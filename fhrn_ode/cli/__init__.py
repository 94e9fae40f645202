"""The ``fhrn-ode`` command line: one sub-command per job.

Sub-commands live in ``fhrn_ode/cli/<command>.py`` modules; each exposes ``register(subparsers)``
which adds its parser and sets ``func`` (a callable taking the parsed args and returning an exit
code). Bad input anywhere ends as one line on stderr and exit code 2, with no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .._errors import FHRNInputError

__all__ = ["main", "build_parser"]

#: The modules that register sub-commands, in the order they appear in ``--help``.
COMMAND_MODULES = (
    "fhrn_ode.cli.integrate",
    "fhrn_ode.cli.bench",
    "fhrn_ode.cli.map",
    "fhrn_ode.cli.stability",
    "fhrn_ode.cli.lyapunov",
    "fhrn_ode.cli.figures",
    "fhrn_ode.cli.linearize",
    "fhrn_ode.cli.check",
    "fhrn_ode.cli.train",
    "fhrn_ode.cli.verify",
    "fhrn_ode.cli.claims",
    "fhrn_ode.cli.metrics",
    "fhrn_ode.cli.fixed_points", "fhrn_ode.cli.exponents", "fhrn_ode.cli.cycles", "fhrn_ode.cli.bifurcation",
    "fhrn_ode.cli.halting",
    "fhrn_ode.cli.saliency",
    "fhrn_ode.cli.slots",
    "fhrn_ode.cli.sweep",
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fhrn-ode", description="Continuous-time dynamics of Fast-Weights Homeostatic Reentry Networks.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"fhrn-ode {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FHRNInputError as exc:
        print(f"fhrn-ode {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fhrn-ode {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
