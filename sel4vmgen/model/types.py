"""Value types of the system format: sizes, addresses, identifiers, file names, image paths.

Each is an `Annotated` type whose validator raises a `PydanticCustomError`
with a type name that `model.errors` maps to a stable diagnostic code:
`size_format`/`address_format` (E105), `value_range` (E104), `c_identifier`
(E107), `bad_path` (E108).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from sel4vmgen.units import GIB, KIB, MIB, TIB

MAX_U64 = (1 << 64) - 1

_UNITS = {
    "": 1,
    "B": 1,
    "KiB": KIB,
    "MiB": MIB,
    "GiB": GIB,
    "TiB": TIB,
}
# what people write for binary units, lower-cased -> the unit sel4vmgen takes
_UNIT_HINTS = {
    f"{p}{suffix}": f"{p.upper()}iB"
    for p in "kmgt"
    for suffix in ("", "b", "i", "ib", "ibyte", "byte", "bytes")
}
_SIZE_RE = re.compile(r"^\s*(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)(\s*)([A-Za-z]*)\s*$")

C_KEYWORDS = frozenset(
    [
        "auto",
        "break",
        "case",
        "char",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extern",
        "float",
        "for",
        "goto",
        "if",
        "inline",
        "int",
        "long",
        "register",
        "restrict",
        "return",
        "short",
        "signed",
        "sizeof",
        "static",
        "struct",
        "switch",
        "typedef",
        "union",
        "unsigned",
        "void",
        "volatile",
        "while",
        "_Bool",
        "_Complex",
        "_Imaginary",
        "bool",
        "true",
        "false",
        "NULL",
    ]
)
# Words CAmkES reserves in its own language (camkes-tool's parser keywords).
CAMKES_KEYWORDS = frozenset(
    [
        "assembly",
        "component",
        "composition",
        "configuration",
        "connection",
        "connector",
        "consumes",
        "control",
        "dataport",
        "dataports",
        "emits",
        "event",
        "events",
        "from",
        "has",
        "hardware",
        "import",
        "in",
        "include",
        "inout",
        "interface",
        "maybe",
        "out",
        "procedure",
        "provides",
        "refin",
        "semaphore",
        "binary_semaphore",
        "to",
        "uses",
        "group",
        "template",
        "attribute",
        "export",
    ]
)
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_FILE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}$")
_CHECKOUT_VARS = (
    "${CAMKES_VM_IMAGES_DIR}",
    "${CAMKES_VM_LINUX_DIR}",
    "${CAMKES_ARM_LINUX_DIR}",  # camkes-vm-examples linux/ (its settings.cmake), the tk1 images
    "${CMAKE_CURRENT_SOURCE_DIR}",
    # x86 workspaces: camkes-vm-examples settings.cmake:119 (@dd7da62) points it at libzmq
    "${LIBZMQ_PATH}",
    # a CakeML checkout: seL4_tools cmake-tool/helpers/cakeml.cmake:88 (@21d3f19)
    "${CAKEMLDIR}",
)


_RANGES = {"size": "1 to 2^64-1 bytes", "address": "0 to 2^64-1"}
_KINDS = {
    "size": "a size (write 0x1000, 4096 or 4KiB)",
    "address": "an address (write a number such as 0x40000000)",
}


def _number(value: Any, kind: str) -> tuple[int, str]:
    """Split `value` into an integer and a unit suffix; bools are not numbers."""
    if isinstance(value, bool):
        raise PydanticCustomError(f"{kind}_format", "expected a number, not true/false")
    if isinstance(value, int):
        return value, ""
    if isinstance(value, float):
        if value.is_integer():
            return int(value), ""
        raise PydanticCustomError(
            f"{kind}_format", "expected a whole number, not {n}", {"n": value}
        )
    if not isinstance(value, str):
        raise PydanticCustomError(
            f"{kind}_format",
            "expected {kind}, not {what}",
            {
                "kind": _KINDS[kind],
                "what": "a list" if isinstance(value, list | tuple) else "a mapping",
            },
        )
    m = _SIZE_RE.match(value)
    hex_run_on = m is not None and m.group(1)[:2].lower() == "0x" and not m.group(2) and m.group(3)
    bare_prefix = m is not None and m.group(1) == "0" and m.group(3)[:1] in ("x", "X")
    if not m or bare_prefix or (hex_run_on and m.group(3) not in _UNITS):
        raise PydanticCustomError(
            f"{kind}_format",
            "'{text}' is not {kind}",
            {"text": _printable(value), "kind": _KINDS[kind]},
        )
    digits, unit = m.group(1).replace("_", ""), m.group(3)
    if len(digits.lstrip("0xX")) > 40:  # far beyond 2^64; int() refuses 4300+ decimal digits
        raise PydanticCustomError(
            "value_range",
            "{kind} of {n} digits is out of range ({range})",
            {"kind": kind, "n": len(digits), "range": _RANGES[kind]},
        )
    n = int(digits, 16) if digits.lower().startswith("0x") else int(digits, 10)
    return n, unit


def parse_size(value: Any) -> int:
    """`512MiB`, `4KiB`, `0x1000`, `4096` -> bytes (0 < n < 2^64)."""
    n, unit = _number(value, "size")
    if unit not in _UNITS:
        hint = _UNIT_HINTS.get(unit.lower())
        extra = f"; did you mean '{hint}'?" if hint else ""
        raise PydanticCustomError(
            "size_format",
            "unknown size unit '{unit}' (use B, KiB, MiB, GiB or TiB){extra}",
            {"unit": unit[:10], "extra": extra},
        )
    n *= _UNITS[unit]
    if n <= 0 or n > MAX_U64:
        raise PydanticCustomError(
            "value_range", "size {n} is out of range (1 to 2^64-1 bytes)", {"n": _short(n)}
        )
    return n


def parse_address(value: Any) -> int:
    """An address: an integer (usually written in hex) from 0 to 2^64-1, no unit."""
    n, unit = _number(value, "address")
    if unit:
        raise PydanticCustomError(
            "address_format", "an address takes no unit ('{unit}')", {"unit": unit[:10]}
        )
    if n < 0 or n > MAX_U64:
        raise PydanticCustomError(
            "value_range", "address {n} is out of range (0 to 2^64-1)", {"n": _short(n)}
        )
    return n


def _short(n: int) -> str:
    from sel4vmgen.text import shown_int

    return shown_int(n)


def check_identifier(value: Any) -> str:
    """A name usable as a C identifier, a CAmkES instance name and a folder name."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "expected a name (text)")
    if not _IDENT_RE.match(value):
        raise PydanticCustomError(
            "c_identifier",
            "'{name}' is not a C identifier (letters, digits and '_', not starting with a digit, "
            "at most 64 characters)",
            {"name": _printable(value)},
        )
    if value in C_KEYWORDS or value in CAMKES_KEYWORDS:
        raise PydanticCustomError(
            "c_identifier", "'{name}' is a reserved word in C or CAmkES", {"name": value}
        )
    return value


def check_file_name(value: Any) -> str:
    """A file-server entry name: one path component, no separators or dots in front."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "expected a file name (text)")
    if not _FILE_NAME_RE.match(value):
        raise PydanticCustomError(
            "bad_path",
            "'{name}' is not a plain file name (letters, digits, '.', '_', '+', '-'; "
            "no '/' and no leading '.')",
            {"name": _printable(value)},
        )
    return value


def check_image_path(value: Any) -> str:
    """A guest image path: relative to the system file, absolute, or `${CAMKES_VM_IMAGES_DIR}/...`."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "expected a file path (text)")
    if not value or len(value) > 1024:
        raise PydanticCustomError("bad_path", "an image path must be 1 to 1024 characters")
    bad = next((c for c in value if c in "\x00\n\r\"'\\;`" or ord(c) < 0x20), None)
    if bad is None:
        from sel4vmgen.safeio import path_text_problem

        problem = path_text_problem(value)
        if problem is not None:
            raise PydanticCustomError(
                "bad_path",
                "image path holds {problem}, which no file name should",
                {"problem": problem},
            )
    if bad is not None:
        raise PydanticCustomError(
            "bad_path",
            "image path contains the character {char}, which CMake cannot carry",
            {"char": repr(bad)},
        )
    if "$" in value and not value.startswith(_CHECKOUT_VARS):
        raise PydanticCustomError(
            "bad_path",
            "only {variables} may start an image path",
            {"variables": ", ".join(_CHECKOUT_VARS)},
        )
    if value.count("$") > 1:
        raise PydanticCustomError(
            "bad_path", "an image path may use one checkout variable, at its start"
        )
    return value


# Characters make or the shell reads as syntax in a prerequisite or a recipe word.
_MAKE_UNSAFE = frozenset(" \t#%:;=\"'\\`|&<>()*?[]~")


def make_unsafe(text: str) -> str | None:
    """The first character of `text` a Makefile cannot carry in a path, or None."""
    return next((c for c in text if c in _MAKE_UNSAFE or ord(c) < 0x20 or ord(c) == 0x7F), None)


def _printable(text: str) -> str:
    shown = text.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= 40 else shown[:37] + "..."


# What an editor says of a size or address that does not match the schema's pattern.
SIZE_HELP = (
    "a size is bytes (4096), hex (0x1000) or a number with a binary unit: B, KiB, MiB, GiB, "
    "TiB (512MiB, not 512MB)"
)
ADDRESS_HELP = "an address is a number, usually hex (0x40000000), with no unit"
_SIZE_SCHEMA = WithJsonSchema(
    {
        "type": ["integer", "string"],
        "minimum": 1,
        "pattern": r"^\s*(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)\s*(B|KiB|MiB|GiB|TiB)?\s*$",
        "patternErrorMessage": SIZE_HELP,
        "description": "bytes: 4096, 0x1000, 4KiB, 512MiB, 2GiB",
    }
)
_ADDRESS_SCHEMA = WithJsonSchema(
    {
        "type": ["integer", "string"],
        "minimum": 0,
        "pattern": r"^\s*(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)\s*$",
        "patternErrorMessage": ADDRESS_HELP,
        "description": "an address, usually hex: 0x40000000",
    }
)
Size = Annotated[int, BeforeValidator(parse_size), _SIZE_SCHEMA]
Address = Annotated[int, BeforeValidator(parse_address), _ADDRESS_SCHEMA]
Identifier = Annotated[str, BeforeValidator(check_identifier)]
FileName = Annotated[str, BeforeValidator(check_file_name)]
ImagePath = Annotated[str, BeforeValidator(check_image_path)]
