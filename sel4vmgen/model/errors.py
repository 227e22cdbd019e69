"""Pydantic validation errors to positioned diagnostics.

Each pydantic error has a location (a path into the data) and a type.  The
location is mapped to the nearest position the loader recorded (the key for
unknown keys, the value otherwise); the type is mapped to a stable code.  For
unknown keys the model's field names at that place give a "did you mean".
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.source import Document, PathKey, describe
from sel4vmgen.text import did_you_mean

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


KEY_LABEL = "[key]"


@dataclass(frozen=True)
class _Located:
    """One pydantic error, its location cleaned to a path into the user's data."""

    err: ErrorDetails
    path: PathKey
    via_union: bool
    at_key: bool

    @property
    def type(self) -> str:
        return self.err["type"]


def _clean_loc(err: ErrorDetails, data: Any) -> _Located:
    """Drop pydantic's union-branch labels ('tagged-union[...]', 'virtio_net', 'str') from a
    location: a part that is not in the data is a label, except a missing field's name."""
    loc = tuple(err["loc"])
    out: list[str | int] = []
    node = data
    via_union = at_key = False
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif part == KEY_LABEL:
            at_key = True
        elif err["type"] == "missing" and i == len(loc) - 1:
            out.append(part)
        else:
            via_union = True  # a branch label: it names no data, so stay at this node
    return _Located(err, tuple(out), via_union, at_key)


_EXPECTED: dict[str, str] = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "float_type": "a number",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUNDS: dict[str, str] = {
    "greater_than_equal": "at least {ge}",
    "greater_than": "greater than {gt}",
    "less_than_equal": "at most {le}",
    "less_than": "less than {lt}",
}
_PATTERNS: dict[str, str] = {
    r"^[a-z0-9][a-z0-9_-]*$": "a platform name (lowercase letters, digits, '_' and '-')",
    r"^[A-Za-z][A-Za-z0-9_]{0,63}$": "a kernel option name (letters, digits and '_', "
    "starting with a letter)",
    r"^[A-Za-z0-9/@,._+:-]+$": "a device-tree path (letters, digits and '/@,._+:-')",
    r"^[A-Za-z0-9,._+-]+$": "a compatible string (letters, digits and ',._+-')",
}


def _shown(value: Any) -> str:
    """A value quoted for a message, short and printable; non-scalars described."""
    if isinstance(value, str):
        text = value.encode("unicode_escape").decode("ascii")
        return f"'{text}'" if len(text) <= 40 else f"'{text[:37]}...'"
    if isinstance(value, bool | None | dict | list | tuple):
        return describe(value)
    from sel4vmgen.text import shown

    return shown(value)


def _count_message(err: ErrorDetails, where: str) -> str:
    ctx = err.get("ctx") or {}
    etype = err["type"]
    if "min_length" not in ctx and "max_length" not in ctx:
        return f"{where}: {err['msg']}"
    if etype in ("string_too_short", "string_too_long"):
        if ctx.get("min_length") == 1:
            return f"'{where}' must not be empty"
        bound = ctx.get("min_length", ctx.get("max_length"))
        word = "at least" if etype == "string_too_short" else "at most"
        return f"'{where}' must be {word} {bound} characters long"
    word = "at least" if etype == "too_short" else "at most"
    bound = ctx.get("min_length", ctx.get("max_length"))
    items = "item" if bound == 1 else "items"
    return f"'{where}' must have {word} {bound} {items}, not {ctx.get('actual_length')}"


def _message(err: ErrorDetails, path: PathKey, root: type[BaseModel]) -> tuple[str, str | None]:
    etype = err["type"]
    where = _dotted(path)
    ctx = err.get("ctx") or {}
    got = _shown(err.get("input"))
    if etype == "extra_forbidden":
        return _unknown_key(path, root)
    if etype == "missing":
        return f"missing required field '{where}'", None
    if etype in _EXPECTED:
        return f"'{where or 'the document'}' must be {_EXPECTED[etype]}, not {got}", None
    if etype in _BOUNDS:
        return f"'{where}' must be {_BOUNDS[etype].format(**ctx)}, not {got}", None
    if etype in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return _count_message(err, where), None
    if etype == "literal_error":
        return f"'{where}' must be {ctx.get('expected')}, not {got}", None
    if etype == "string_pattern_mismatch":
        what = _PATTERNS.get(str(ctx.get("pattern")), f"text matching {ctx.get('pattern')}")
        return f"{where}: {got} is not {what}", None
    if etype == "union_tag_invalid":
        return (
            f"'{where}' has unknown type {got if 'tag' not in ctx else _shown(ctx['tag'])}; "
            f"expected {ctx.get('expected_tags')}",
            None,
        )
    if etype == "union_tag_not_found":
        return f"'{where}' needs a 'type' key (cross_vm or virtio_net)", None
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return (f"{where}: {msg}" if where else msg), None


def _unknown_key(path: PathKey, root: type[BaseModel]) -> tuple[str, str | None]:
    key = str(path[-1]) if path else "?"
    options = fields_at(root, tuple(path[:-1]))
    hint = did_you_mean(key[:64], options)
    if hint is None and options:
        hint = f"allowed here: {', '.join(options)}"
    parent = _dotted(path[:-1]) or "the top level"
    return f"unknown key {_shown(key)} in {parent}", hint


def _dotted(path: PathKey) -> str:
    """`vms[0].ram.size`; keys the user made up are escaped and cut short."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            word = _shown(p)[1:-1]
            out += f".{word}" if out else word
    return out


def _combine_types(group: list[_Located]) -> list[_Located]:
    """One error per place: a union's type mismatches give way to a branch that got
    further, and several mismatches at one place merge into 'must be A or B'."""
    typed = [e for e in group if e.type in _EXPECTED and e.via_union]
    other = [e for e in group if e not in typed]
    if not typed:
        return group
    if other:
        return other
    wanted = list(dict.fromkeys(_EXPECTED[e.type] for e in typed))
    first = typed[0]
    msg = ", ".join(wanted[:-1]) + (" or " if len(wanted) > 1 else "") + wanted[-1]
    err = dict(first.err)
    err["type"] = "union_type"
    err["msg"] = f"'{_dotted(first.path)}' must be {msg}, not {_shown(first.err.get('input'))}"
    return [_Located(ErrorDetails(**err), first.path, True, first.at_key)]  # type: ignore[typeddict-item]


def _span(e: _Located, doc: Document) -> Span:
    if e.type == "extra_forbidden" or e.at_key:
        return doc.key_span(e.path)
    if e.type == "missing":
        return doc.key_span(e.path[:-1]) if len(e.path) > 1 else doc.span(())
    return doc.span(e.path)


def to_diagnostics(exc: ValidationError, doc: Document, root: type[BaseModel]) -> list[Diagnostic]:
    """One diagnostic per problem pydantic found, positioned in `doc`."""
    groups: dict[PathKey, list[_Located]] = {}
    for err in exc.errors(include_url=False):
        located = _clean_loc(err, doc.data)
        groups.setdefault(located.path, []).append(located)
    ancestors = {p[:n] for p in groups for n in range(len(p))}
    out: list[Diagnostic] = []
    seen: set[tuple[PathKey, str]] = set()
    for path, group in groups.items():
        if path in ancestors and all(e.via_union and e.type in _EXPECTED for e in group):
            continue  # a union branch of the wrong kind, where another branch got further
        for e in _combine_types(group):
            code = code_for(e.type) if e.type != "union_type" else "E103"
            if (path, code) in seen:
                continue
            seen.add((path, code))
            if e.type == "union_type":
                message, hint = e.err["msg"], None
            else:
                message, hint = _message(e.err, path[:-1] if e.at_key else path, root)
            out.append(Diagnostic(code, message, _span(e, doc), hint=hint))
    return out
