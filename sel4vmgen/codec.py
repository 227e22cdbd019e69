"""Exact JSON round-trip for frozen dataclass trees (the Plan and the platform facts).

`encode(obj)` turns a dataclass tree into JSON-ready values; `decode(cls,
data)` rebuilds it from the type hints.  Integers annotated `Hex` are written
as "0x..." strings so addresses read naturally in plan.json; everything else
keeps its JSON type.  Only the shapes the Plan uses are supported: dataclasses,
tuples (fixed or variadic), str/int/bool/float, `X | None`, Literal.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

HEX = "hex"
Hex = Annotated[int, HEX]

T = TypeVar("T")


class CodecError(ValueError):
    """The JSON does not have the shape of the Plan."""


def encode(obj: Any, hint: Any = None) -> Any:
    """A dataclass tree as JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        hints = _hints(type(obj))
        return {
            f.name: encode(getattr(obj, f.name), hints[f.name]) for f in dataclasses.fields(obj)
        }
    if isinstance(obj, tuple):
        return [encode(v, _item_hint(hint, i)) for i, v in enumerate(obj)]
    if isinstance(obj, int) and not isinstance(obj, bool) and _is_hex(hint):
        return f"0x{obj:x}"
    return obj


def decode(cls: type[T], data: Any) -> T:
    """Rebuild a dataclass of type `cls` from `encode`'s output."""
    value: T = _decode(cls, data, "$")
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _is_hex(hint: Any) -> bool:
    if typing.get_origin(hint) is Annotated:
        return HEX in typing.get_args(hint)[1:]
    if _is_union(hint):
        return any(_is_hex(a) for a in typing.get_args(hint))
    return False


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _item_hint(hint: Any, i: int) -> Any:
    if _is_union(hint):
        hint = next((a for a in typing.get_args(hint) if typing.get_origin(a) is tuple), hint)
    if typing.get_origin(hint) is not tuple:
        return None
    args = typing.get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return args[i] if i < len(args) else None


def _decode(hint: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base = typing.get_args(hint)[0]
        if HEX in typing.get_args(hint)[1:]:
            return _decode_hex(data, where)
        return _decode(base, data, where)
    if _is_union(hint):
        return _decode_union(hint, data, where)
    if origin is Literal:
        if data not in typing.get_args(hint):
            raise CodecError(f"{where}: {data!r} is not one of {typing.get_args(hint)}")
        return data
    if origin is tuple:
        return _decode_tuple(hint, data, where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, data, where)
    if hint is Any:
        return _freeze(data)
    if hint in (int, str, float, bool):
        ok = isinstance(data, hint) and not (hint is int and isinstance(data, bool))
        if hint is float and isinstance(data, int) and not isinstance(data, bool):
            return float(data)
        if not ok:
            raise CodecError(f"{where}: expected {hint.__name__}, got {type(data).__name__}")
        return data
    raise CodecError(f"{where}: unsupported type {hint!r}")


def _decode_hex(data: Any, where: str) -> int:
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return int(data, 16)
        except ValueError:
            pass
    if isinstance(data, int) and not isinstance(data, bool):
        return data
    raise CodecError(f"{where}: expected a hex number, got {data!r}")


def _decode_union(hint: Any, data: Any, where: str) -> Any:
    args = typing.get_args(hint)
    if data is None and type(None) in args:
        return None
    errors = []
    for a in args:
        if a is type(None):
            continue
        try:
            return _decode(a, data, where)
        except CodecError as e:
            errors.append(str(e))
    raise CodecError("; ".join(errors) or f"{where}: no type matches")


def _decode_tuple(hint: Any, data: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(data, list):
        raise CodecError(f"{where}: expected a list")
    args = typing.get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
    if len(args) != len(data):
        raise CodecError(f"{where}: expected {len(args)} items")
    return tuple(
        _decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True))
    )


def _decode_dataclass(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise CodecError(f"{where}: expected an object for {cls.__name__}")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise CodecError(f"{where}: unknown keys {unknown} for {cls.__name__}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _decode(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise CodecError(f"{where}: missing {f.name} for {cls.__name__}")
    return cls(**kwargs)


def _freeze(data: Any) -> Any:
    """JSON values made hashable: lists become tuples, objects sorted key/value tuples."""
    if isinstance(data, list):
        return tuple(_freeze(v) for v in data)
    if isinstance(data, dict):
        return tuple((k, _freeze(v)) for k, v in data.items())
    return data
