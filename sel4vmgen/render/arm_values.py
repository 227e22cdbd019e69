"""CAmkES and CMake value literals for the ARM backend.

The ARM templates write settings as `<instance>.<attribute> = <value>;` and
CMake options as `set(<name> <value> ...)`; this module turns plan values
into those literals, so the templates only lay them out.  Strings go through
the shared escaping filters of `render.env` (which refuse what cannot be
written); numbers are written in the base camkes-vm's own files use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sel4vmgen.plan.model import Region
from sel4vmgen.render.env import RenderError, camkes_string, cmake_quote

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# The build variables an image path may start with (as the system format allows).
CMAKE_PATH_VARS = (
    "${CAMKES_VM_IMAGES_DIR}",
    "${CAMKES_VM_LINUX_DIR}",
    "${CAMKES_ARM_LINUX_DIR}",
    "${CMAKE_CURRENT_SOURCE_DIR}",
    "${CMAKE_CURRENT_BINARY_DIR}",
    "${LIBZMQ_PATH}",
    # a CakeML checkout: seL4_tools cmake-tool/helpers/cakeml.cmake:88 (@21d3f19)
    "${CAKEMLDIR}",
)


@dataclass(frozen=True)
class HexInt:
    """An integer to be written in hex (addresses, sizes, SMC function ids)."""

    value: int


@dataclass(frozen=True)
class Query:
    """camkes-tool's `dtb([...])` query against the platform device tree."""

    paths: tuple[str, ...]
    compatibles: tuple[str, ...] = ()


CamkesValue = (
    bool | int | str | HexInt | Query | Sequence["CamkesValue"] | Mapping[str, "CamkesValue"]
)


def identifier(name: str) -> str:
    """`name` if it is a C/CAmkES/CMake identifier, else `RenderError`."""
    if not _IDENT.match(name):
        raise RenderError(f"{name!r} is not an identifier and cannot be written as a name")
    return name


def platform_name(name: str) -> str:
    """`name` if it is a platform name (safe bare in CMake strings, lists and folder names)."""
    if not _PLATFORM.match(name):
        raise RenderError(f"{name!r} is not a platform name")
    return name


def cmake_path(path: str) -> str:
    """A quoted CMake path: a leading build variable (`CMAKE_PATH_VARS`) stays a
    reference, every other character is literal.  A `;` is refused: CMake keeps `\\;`
    as two characters in a quoted argument, and a bare `;` splits the path wherever the
    helpers expand it unquoted."""
    if ";" in path:
        raise RenderError(f"a CMake path cannot hold ';': {path!r}")
    for var in CMAKE_PATH_VARS:
        if path.startswith(var):
            return '"' + var + cmake_quote(path[len(var) :])[1:]
    return cmake_quote(path)


def camkes_value(value: CamkesValue) -> str:
    """A CAmkES literal for `value`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, HexInt):
        return f"0x{value.value:x}" if value.value >= 0 else f"-0x{-value.value:x}"
    if isinstance(value, str):
        return camkes_string(value)
    if isinstance(value, Query):
        return dtb_query(value)
    if isinstance(value, Mapping):
        items = (f"{camkes_string(k)}: {camkes_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return "[" + ", ".join(camkes_value(v) for v in value) + "]"


def dtb_query(query: Query) -> str:
    """`dtb([{"path": ...}, {"properties": {"compatible[0]": ...}}])`; `dtb([{}])` when empty,
    as camkes-vm-examples writes a VM that passes nothing through (vm_multi vm1, vm2)."""
    entries = [f'{{"path": {camkes_string(p)}}}' for p in query.paths]
    entries += [
        f'{{"properties": {{"compatible[0]": {camkes_string(c)}}}}}' for c in query.compatibles
    ]
    return "dtb([" + (", ".join(entries) if entries else "{}") + "])"


def size_bits(size: int) -> int:
    """log2 of a power-of-two size (an untyped's size_bits)."""
    if size <= 0 or size & (size - 1):
        raise RenderError(f"untyped size 0x{size:x} is not a power of two")
    return size.bit_length() - 1


def host_address(region: Region) -> int:
    """The host-physical address of a window (the guest address when it is one-to-one)."""
    if region.paddr is not None:
        return region.paddr
    if region.guest is not None:
        return region.guest
    raise RenderError(f"window {region.name!r} has no address")


def untyped_entry(region: Region) -> str:
    """An `untyped_mmios` entry, `"paddr:size_bits"` (camkes-tool simple template)."""
    return f"0x{host_address(region):x}:{size_bits(region.size)}"


def untyped_mmio_list(regions: Sequence[Region]) -> list[CamkesValue]:
    """`untyped_mmios` entries for these windows, in plan order."""
    return [untyped_entry(r) for r in regions]


def mmio_entry(region: Region) -> str:
    """An `mmios` entry, `"paddr:size:page_bits"` (camkes-tool simple template)."""
    return f"0x{host_address(region):x}:0x{region.size:x}:{region.page_bits}"


def cmake_option(value: str | int | bool) -> str:
    """`ON CACHE BOOL "" FORCE` and the like: the tail of a forced `set(...)`."""
    if isinstance(value, bool):
        return ("ON" if value else "OFF") + ' CACHE BOOL "" FORCE'
    if isinstance(value, int):
        return f'{value} CACHE STRING "" FORCE'
    return f'{cmake_quote(value)} CACHE STRING "" FORCE'
