"""Pydantic validation errors to positioned diagnostics.

Each pydantic error has a location (a path into the data) and a type.  The
location is mapped to the nearest position the loader recorded (the key for
unknown keys, the value otherwise); the type is mapped to a stable code.  For
unknown keys the model's field names at that place give a "did you mean".
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.source import Document, PathKey

_TYPE_CODES: dict[str, str] = {
    "extra_forbidden": "E101",
    "missing": "E102",
    "size_format": "E105",
    "address_format": "E105",
    "value_range": "E104",
    "c_identifier": "E107",
    "bad_path": "E108",
    "literal_error": "E106",
    "enum": "E106",
    "union_tag_invalid": "E106",
    "union_tag_not_found": "E102",
    "value_error": "E109",
    "string_pattern_mismatch": "E109",
}
_RANGE_TYPES = (
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_long",
    "too_short",
    "string_too_long",
    "string_too_short",
    "int_too_big",
)


def code_for(error_type: str) -> str:
    if error_type in _TYPE_CODES:
        return _TYPE_CODES[error_type]
    if error_type in _RANGE_TYPES:
        return "E104"
    return "E103"


def _model_classes(annotation: Any) -> Iterator[type[BaseModel]]:
    """Every BaseModel class reachable from a field annotation (through Optional, tuple, dict...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return
    args = typing.get_args(annotation)
    if origin is dict:
        args = args[1:]
    for a in args:
        yield from _model_classes(a)


def fields_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the model(s) found by following `loc` from `root`."""
    current: list[type[BaseModel]] = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        nxt: list[type[BaseModel]] = []
        for model in current:
            field = model.model_fields.get(part)
            if field is not None:
                nxt.extend(_model_classes(field.annotation))
        if nxt:
            current = nxt
        # a dict key (platform name, pool size) keeps the models found so far
    names: list[str] = []
    for model in current:
        names.extend(n for n in model.model_fields if n not in names)
    return names


def _clean_loc(loc: tuple[int | str, ...], data: Any) -> PathKey:
    """Drop pydantic's union-branch labels ('tagged-union[...]', 'CrossVm', 'str') from a location."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and (
            part[:1].isupper() or "[" in part or part in _SCALAR_LABELS
        ):
            continue  # union branch label
        else:
            out.append(part)
            node = None
    return tuple(out)


_SCALAR_LABELS = {
    "str",
    "int",
    "bool",
    "tuple",
    "dict",
    "list",
    "function-before",
    "function-after",
}


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _message(err: ErrorDetails, path: PathKey, root: type[BaseModel]) -> tuple[str, str | None]:
    etype = err["type"]
    where = _dotted(path)
    if etype == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        options = fields_at(root, tuple(path[:-1]))
        close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else (f"allowed here: {', '.join(options)}" if options else None)
        )
        parent = _dotted(path[:-1]) or "the top level"
        return f"unknown key '{key}' in {parent}", hint
    if etype == "missing":
        return f"missing required field '{where}'", None
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        return (
            f"'{where or 'the document'}' must be a mapping, not {_describe(err.get('input'))}",
            None,
        )
    if etype in ("tuple_type", "list_type"):
        return f"'{where}' must be a list, not {_describe(err.get('input'))}", None
    if etype == "union_tag_invalid":
        ctx = err.get("ctx") or {}
        return (
            f"'{where}' has unknown type {ctx.get('tag')!r}; expected {ctx.get('expected_tags')}",
            None,
        )
    if etype == "union_tag_not_found":
        return f"'{where}' needs a 'type' key (cross_vm or virtio_net)", None
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return (f"{where}: {msg}" if where else msg), None


def _dotted(path: PathKey) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def to_diagnostics(exc: ValidationError, doc: Document, root: type[BaseModel]) -> list[Diagnostic]:
    """One diagnostic per pydantic error, positioned in `doc`."""
    out: list[Diagnostic] = []
    seen: set[tuple[PathKey, str]] = set()
    for err in exc.errors(include_url=False):
        path = _clean_loc(tuple(err["loc"]), doc.data)
        code = code_for(err["type"])
        if (path, code) in seen:
            continue  # one union failure reported by each branch
        seen.add((path, code))
        message, hint = _message(err, path, root)
        if err["type"] == "extra_forbidden":
            span = doc.key_span(path)
        elif err["type"] == "missing":
            span = doc.key_span(path[:-1]) if len(path) > 1 else doc.span(())
        else:
            span = doc.span(path)
        out.append(Diagnostic(code, message, span, hint=hint))
    return out
