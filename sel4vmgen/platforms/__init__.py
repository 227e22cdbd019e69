"""Platform facts: typed data loaded from one TOML file per platform.

`load(name)` reads `data/<name>.toml` (shipped inside the package) into the
frozen `Platform`; `names()` lists the platforms, sorted.  An unknown name
raises `UnknownPlatform` (a `KeyError`) whose message lists the known ones.
Results are cached: a `Platform` is immutable, so sharing it is safe.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from sel4vmgen.codec import decode
from sel4vmgen.platforms.model import (
    Device,
    GicFacts,
    GuestDefaults,
    MemRange,
    MicrokitFacts,
    Platform,
    ReservedIrq,
    X86Facts,
)

__all__ = [
    "Device",
    "GicFacts",
    "GuestDefaults",
    "MemRange",
    "MicrokitFacts",
    "Platform",
    "PlatformDataError",
    "ReservedIrq",
    "UnknownPlatform",
    "X86Facts",
    "load",
    "names",
]

_SUFFIX = ".toml"
# Fields of `Platform` that are None on some platforms and have no default.
_OPTIONAL = ("arm_platform", "arm_cpu")


class UnknownPlatform(KeyError):
    """No data file for this platform name."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown platform '{self.name}' (known: {', '.join(self.known)})"


class PlatformDataError(ValueError):
    """A platform data file does not have the shape of `Platform` (a packaging bug)."""


def _data_dir() -> Path:
    """The data files' folder, beside this module (importlib.resources would load
    tempfile, shutil and the compression modules for a plain folder: a part of the start)."""
    return Path(__file__).parent / "data"


@cache
def names() -> tuple[str, ...]:
    """The names of every platform with a data file, sorted."""
    found = (
        entry.name[: -len(_SUFFIX)]
        for entry in _data_dir().iterdir()
        if entry.name.endswith(_SUFFIX)
    )
    return tuple(sorted(found))


@cache
def load(name: str) -> Platform:
    """The facts of platform `name`; `UnknownPlatform` if there is none."""
    known = names()
    if name not in known:
        raise UnknownPlatform(name, known)
    text = _data_dir().joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
        for key in _OPTIONAL:
            data.setdefault(key, None)
        platform = decode(Platform, data)
    except (tomllib.TOMLDecodeError, ValueError) as e:
        raise PlatformDataError(f"platform data {name}{_SUFFIX}: {e}") from e
    if platform.name != name:
        raise PlatformDataError(f"platform data {name}{_SUFFIX} names itself '{platform.name}'")
    if (platform.vpci is None) != (platform.vpci_sizes is None):
        raise PlatformDataError(f"platform data {name}{_SUFFIX} gives vpci and vpci_sizes apart")
    return platform
