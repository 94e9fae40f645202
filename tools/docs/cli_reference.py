"""The command-line reference page, generated from the ``fhrn-ode`` argparse parsers.

``markdown(parser)`` turns :func:`fhrn_ode.cli.build_parser` into one Markdown page: the top-level usage,
a table of the commands, then per command (and nested sub-command) its description, its usage line and a
table of every argument with its metavar or choices, its default and its help text. Nothing here is
written by hand: a command or flag added to the parser appears on the next docs build, and
tests/test_docs.py compares this page with the parser.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["markdown", "commands", "anchor"]


def commands(parser: argparse.ArgumentParser, prefix: str = "fhrn-ode") -> dict[str, argparse.ArgumentParser]:
    """Every (sub-)command of ``parser`` by its full name, e.g. ``{"fhrn-ode integrate": <parser>}``, in help order."""
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}"
                out[full] = sub
                out.update(commands(sub, full))
    return out


def anchor(command: str) -> str:
    """The heading anchor of a command on the generated page (GitHub style): ``fhrn-ode integrate`` -> ``fhrn-ode-integrate``."""
    return command.lower().replace(" ", "-")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, ``|`` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    """Inline code that survives backticks inside it."""
    text = str(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _argument(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    """What an argument takes: its choices, its metavar, or nothing for a switch."""
    if action.nargs == 0:
        return ""
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return _code("{" + ",".join(map(str, action.choices)) + "}")
    default = action.dest.upper() if action.option_strings else action.dest
    metavar = formatter._format_args(action, default)
    return _code(metavar)


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS) or action.required:
        return ""
    value = action.default
    if isinstance(value, (list, tuple)):
        value = ",".join(map(str, value))
    return _code(value)


def _help(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    if action.help is None:
        return ""
    if action.help == argparse.SUPPRESS:
        return "(not shown in `--help`)"
    return _cell(formatter._expand_help(action))


def _command_section(name: str, parser: argparse.ArgumentParser, summary: str | None) -> list[str]:
    formatter = parser._get_formatter()
    lines = [f"## `{name}`", ""]
    if summary:
        lines += [f"*{_cell(summary)}*", ""]
    if parser.description:
        lines += [parser.description.strip(), ""]
    usage = parser.format_usage().strip()
    lines += ["```text", usage, "```", ""]
    rows = [a for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]
    if rows:
        lines += ["| argument | takes | default | meaning |", "| --- | --- | --- | --- |"]
        for a in rows:
            names = ", ".join(_code(s) for s in a.option_strings) or _code(a.dest) + " (positional)"
            if a.required and a.option_strings:
                names += " (required)"
            lines.append(f"| {names} | {_argument(a, formatter)} | {_default(a)} | {_help(a, formatter)} |")
        lines.append("")
    if parser.epilog:
        lines += [parser.epilog.strip(), ""]
    return lines


def _summaries(parser: argparse.ArgumentParser, prefix: str) -> dict[str, str]:
    """The one-line help of each sub-command (what ``--help`` lists), by full name."""
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                out[f"{prefix} {choice.dest}"] = choice.help or ""
            for name, sub in action.choices.items():
                out.update(_summaries(sub, f"{prefix} {name}"))
    return out


def markdown(parser: argparse.ArgumentParser) -> str:
    """The CLI reference page for ``parser`` (the ``fhrn-ode`` parser), as Markdown.

    Usage lines are wrapped at 100 columns whatever the terminal (argparse reads ``COLUMNS``), so the page
    is the same on every build.
    """
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        return _markdown(parser)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _markdown(parser: argparse.ArgumentParser) -> str:
    prog = parser.prog
    cmds = commands(parser, prog)
    summaries = _summaries(parser, prog)
    lines = [
        "# Command-line reference",
        "",
        "Generated from the argparse parsers of `fhrn-ode` when the documentation is built (every command, every",
        "flag, its default and its help text, as `--help` prints them). What the commands write and what their",
        "results mean: [the command guide](../cli.md).",
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
        "| command | what it does |",
        "| --- | --- |",
    ]
    for name in cmds:
        lines.append(f"| [`{name}`](#{anchor(name)}) | {_cell(summaries.get(name, ''))} |")
    lines.append("")
    for name, sub in cmds.items():
        lines += _command_section(name, sub, summaries.get(name))
    return "\n".join(lines) + "\n"
