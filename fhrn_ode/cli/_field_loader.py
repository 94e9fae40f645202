"""Minimal ``--field MODULE:CLASS|FILE.py:CLASS`` loader for ``continue`` (private stand-in: helper h21b's
shared ``add_field_args``/``user_field`` in cli/_dynamics.py replaces it once merged)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

from .._errors import FHRNInputError

__all__ = ["load_field"]


def load_field(spec: str, kw_items: list[str]):
    """``(module instance, kwargs)`` from ``MODULE:CLASS`` or ``FILE.py:CLASS`` and ``NAME=VALUE`` strings.

    Raises:
        FHRNInputError: malformed spec, import failure, missing class, bad NAME=VALUE, constructor error.
    """
    from torch import nn

    if ":" not in str(spec):
        raise FHRNInputError(f"`--field` must be MODULE:CLASS or FILE.py:CLASS, got {spec!r}")
    where, cls_name = str(spec).rsplit(":", 1)
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise FHRNInputError(f"`--field` {spec!r}: no file {where}")
            s = importlib.util.spec_from_file_location(path.stem, path)
            mod = importlib.util.module_from_spec(s)
            s.loader.exec_module(mod)
        else:
            mod = importlib.import_module(where)
    except FHRNInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code: one line, no traceback
        raise FHRNInputError(f"`--field` {spec!r}: importing {where} failed: {type(exc).__name__}: {exc}") from None
    cls = getattr(mod, cls_name, None)
    if cls is None:
        raise FHRNInputError(f"`--field` {spec!r}: {where} has no {cls_name!r}")
    kw = {}
    for item in kw_items:
        name, _, text = item.partition("=")
        try:
            kw[name.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise FHRNInputError(f"`--param` {item!r}: VALUE must be a Python literal") from None
    try:
        field = cls(**kw)
    except Exception as exc:  # noqa: BLE001
        raise FHRNInputError(f"`--field` {spec!r}: {cls_name}({kw}) failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(field, nn.Module):
        raise FHRNInputError(f"`--field` {spec!r}: {cls_name} is not an nn.Module")
    return field, kw
