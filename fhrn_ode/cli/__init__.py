"""The ``fhrn-ode`` command line: one sub-command per job.

Sub-commands live in ``fhrn_ode/cli/<command>.py`` modules; each exposes ``register(subparsers)``
which adds its parser and sets ``func`` (a callable taking the parsed args and returning an exit
code). A command module's top level and its ``register`` import nothing heavy (no torch, numpy,
scipy, sympy, matplotlib): the heavy imports happen inside ``func``, so ``--help`` and a bad flag
answer at once (tests/cli/test_startup.py).

:func:`main` is the one place where failures become exit codes (docs/failure-modes.md):

=====  ==========================================================================================
code   meaning (always one line ``fhrn-ode CMD: ...`` on stderr, never a traceback)
=====  ==========================================================================================
0      success
1      the computation ran but failed (e.g. ``integrate`` status ``failed``), or out of memory
2      bad input: a flag, a file, an output folder that cannot be written, a size that cannot fit
130    interrupted by Ctrl-C (SIGINT)
141    stdout closed early (``fhrn-ode verify | head``): stdout is pointed at /dev/null and the
       command ends quietly, as Unix tools do on SIGPIPE (the Python docs' recipe)
143    terminated (SIGTERM), handled as SIGINT is
=====  ==========================================================================================

On every non-zero exit the temporary files of the atomic writers are removed, output folders this
run created and left empty are removed, and the ``--out`` locks are released.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import re
import sys
from contextlib import contextmanager
from typing import Any

from .._errors import FHRNInputError, Interrupted
from .._signals import Terminated, caught, exit_code, install, restore, signal_name

__all__ = ["main", "entry", "build_parser", "COMMAND_MODULES", "Terminated"]

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
    "fhrn_ode.cli.continue_",
    "fhrn_ode.cli.halting",
    "fhrn_ode.cli.saliency",
    "fhrn_ode.cli.slots",
    "fhrn_ode.cli.sweep",
    "fhrn_ode.cli.examples",
    "fhrn_ode.cli.explore",
)

#: A negative number as a flag's value: ``-1``, ``-1.5``, ``-.5``, ``-1e-7``, ``-inf``, ``-nan``, and a value that
#: starts with one (``--range -1:1:3``, ``--gamma -1,2``): no flag starts with ``-`` and a digit.
_NEGATIVE_NUMBER = re.compile(r"^-(\d|\.\d)\S*$|^-(inf|infinity|nan)$", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and exit code 2 (no usage dump).

    Negative numbers are values, in every form (``--rtol -1e-7`` reaches our validator); an invalid
    choice gets the closest valid one suggested.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if m:
            choices = re.findall(r"'([^']*)'", m.group(2))
            close = difflib.get_close_matches(m.group(1), choices, n=1, cutoff=0.5)
            if close:
                message += f"; did you mean {close[0]!r}?"
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``fhrn-ode`` parser (light: no command module imports anything heavy to register).

    ``command``: the command about to run (``argv[0]``); when a module of :data:`COMMAND_MODULES` is named
    after it and registers it, only that module is imported (the other ~20 cost ~50 ms of start-up,
    docs/performance.md); otherwise, and by default, every command is registered.
    """
    if command is not None and not command.startswith("-"):
        for name in COMMAND_MODULES:
            if name.rsplit(".", 1)[1].rstrip("_").replace("_", "-") == command:
                parser, sub = _bare_parser()
                importlib.import_module(name).register(sub)
                if command in sub.choices:
                    _add_threads(sub)
                    return parser
    parser, sub = _bare_parser()
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _add_threads(sub)
    return parser


def _bare_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The top-level parser and its (empty) sub-command action."""
    parser = _Parser(prog="fhrn-ode", description="Continuous-time dynamics of Fast-Weights Homeostatic Reentry Networks.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"fhrn-ode {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    return parser, sub


def _add_threads(sub) -> None:
    """The shared ``--threads N|auto`` (:func:`fhrn_ode._threads.add_threads_arg`) on every command without one."""
    from .._threads import add_threads_arg

    for sp in dict.fromkeys(sub.choices.values()):  # aliases map to the same parser
        if "--threads" not in sp._option_string_actions:
            add_threads_arg(sp)


def _subparser(parser: argparse.ArgumentParser, command: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(command)
    return None


def _options(sp) -> list[str]:
    return [s for a in sp._actions for s in a.option_strings if s.startswith("--")]


def _unknown_message(parser, command: str, extras: list[str]) -> str:
    sp = _subparser(parser, command)
    opts = _options(sp) if sp is not None else []
    flags = [e for e in extras if e.startswith("-")]
    if not flags:
        return f"fhrn-ode {command}: error: unexpected argument(s) {' '.join(extras)!r}"
    bad = flags[0].split("=", 1)[0]
    close = difflib.get_close_matches(bad, opts, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else f"; see `fhrn-ode {command} --help`"
    more = f" (and {len(flags) - 1} more)" if len(flags) > 1 else ""
    return f"fhrn-ode {command}: error: unrecognized option {bad}{more}{hint}"


#: Python argument names of the library whose flag is not simply ``--name`` (per command when needed).
_FLAG_ALIASES = {"scale": "--wr-scale", "radius": "--init-radius", "n": "--grid", "L": "--extent"}


def _flagify(message: str, parser, command: str) -> str:
    """Name the user's own flags: `` `n_init` `` -> `` `--n-init` `` where the command has that flag."""
    sp = _subparser(parser, command)
    if sp is None:
        return message
    opts = set(_options(sp))

    def repl(m: re.Match) -> str:
        name = m.group(1)
        for flag in (f"--{name.replace('_', '-')}", _FLAG_ALIASES.get(name)):
            if flag and flag in opts:
                return f"`{flag}`"
        return m.group(0)

    return re.sub(r"`([A-Za-z][A-Za-z0-9_\-]*)`", repl, message)


def _cleanup_after_failure() -> None:
    from .._io import remove_temp_files
    from ._common import release_out_dirs

    remove_temp_files()
    release_out_dirs(failed=True)


def _stdout_to_devnull() -> None:
    """After EPIPE: point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout without a descriptor
        pass


@contextmanager
def _threads_scope(threads):
    """``--threads N``: N threads, pinned (the solver uses them); ``auto`` (None): 1 thread outside the solver,
    which picks its own count per problem (:func:`fhrn_ode._threads.threads_for`)."""
    if threads is not None and not isinstance(threads, int):
        yield  # a command whose own --threads is not a count
        return
    from .._threads import limit_threads

    with limit_threads(threads if threads is not None else 1, pin=threads is not None):
        yield


def main(argv: list[str] | None = None) -> int:
    """Run one ``fhrn-ode`` command; return its exit code (table in the module docstring)."""
    args_in = sys.argv[1:] if argv is None else argv
    parser = build_parser(args_in[0] if args_in else None)
    if not args_in:
        sys.stderr.write(parser.format_usage())
        print("fhrn-ode: error: a COMMAND is required; `fhrn-ode --help` lists them, `fhrn-ode COMMAND --help` "
              "explains one (start with `fhrn-ode integrate --help`)", file=sys.stderr)
        return 2
    args, extras = parser.parse_known_args(argv)
    if extras:
        print(_unknown_message(parser, args.command, extras), file=sys.stderr)
        return 2
    cmd = args.command
    previous = None
    code = 1
    try:
        previous = install()  # SIGTERM -> Terminated, a KeyboardInterrupt (inside the try: a signal right after
        # the handlers are set is still this handler's one line)
        with _threads_scope(getattr(args, "threads", None)):
            code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except FHRNInputError as exc:
        code = 2
        print(f"fhrn-ode {cmd}: error: {_flagify(str(exc), parser, cmd)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM as Terminated
        caught()
        code = exit_code(exc)
        info = exc  # a repeated signal may land on top of the library's Interrupted: look down the chain
        while info is not None and not isinstance(info, Interrupted):
            info = info.__context__
        kept = str(info) if info is not None and str(info) != "interrupted" else "no partial files left"
        print(f"fhrn-ode {cmd}: {'terminated' if code == 143 else 'interrupted'} ({signal_name(code)}); {kept}",
              file=sys.stderr)
        return code
    except BrokenPipeError:
        code = 141
        _stdout_to_devnull()
        return 141
    except OSError as exc:
        code = 2
        where = f" {exc.filename!s}" if getattr(exc, "filename", None) else ""
        print(f"fhrn-ode {cmd}: error: cannot write or read{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except MemoryError:
        code = 1
        print(f"fhrn-ode {cmd}: error: out of memory; use smaller sizes (see docs/failure-modes.md)", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        if "can't allocate memory" in str(exc) or "not enough memory" in str(exc):
            code = 1
            print(f"fhrn-ode {cmd}: error: out of memory; use smaller sizes (see docs/failure-modes.md)",
                  file=sys.stderr)
            return 1
        raise
    finally:
        if code != 0:
            _cleanup_after_failure()
        else:
            from ._common import release_out_dirs

            release_out_dirs(failed=False)
        restore(previous)


def _fast_exit(code: int) -> None:  # pragma: no cover - exercised by the subprocess tests
    """End a finished command without the interpreter's module teardown (~0.4 s of CPU after ``import
    torch``, 0.5x of the main job's own work): exit handlers run (Ray, multiprocessing, logging), stdout and
    stderr are flushed, then ``os._exit``. Every file the commands write is closed by then (atomic writes).
    Only when no other Python thread is alive (those are joined by a normal exit) and never with
    ``FHRN_ODE_SLOW_EXIT`` set; otherwise this returns and ``sys.exit`` ends the process as usual."""
    import atexit
    import threading

    if threading.active_count() > 1 or os.environ.get("FHRN_ODE_SLOW_EXIT"):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:  # None when the process started with that descriptor closed
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (the reader went away): nothing left to say
            pass
    os._exit(code)


def entry() -> None:  # pragma: no cover - exercised by the subprocess tests
    """The ``fhrn-ode`` console script and ``python -m fhrn_ode``: :func:`main`, then exit with its code.

    After an interrupt (130 / 143) the process ends with ``os._exit`` once stdout and stderr are
    flushed: a second, late interrupt (e.g. the signal landing in the clean-up after the one-line
    message) can then neither print a traceback nor turn the exit status into "killed by SIGINT".
    """
    try:
        code = main()
    except KeyboardInterrupt as exc:  # raised after main's own handler (its clean-up); same exit code
        code = exit_code(exc)
    if code not in (130, 143):
        _fast_exit(code)
    if code in (130, 143):
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None:  # a process pool ran (sweep): release its semaphores as atexit would, else the
            try:  # resource tracker prints a "leaked semaphore objects" warning after os._exit
                mp_util._run_finalizers(0)  # priority >= 0 only: closes and unlinks, joins nothing
            except Exception:  # pragma: no cover - best effort on the way out
                pass
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
