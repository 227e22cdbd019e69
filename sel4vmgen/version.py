"""The tool's version, read once from the installed package's metadata (pyproject.toml's
`version`): the one place every stage and command takes it from.

It is a function, not a module constant, so that commands that never show it (`validate`
with text output) do not pay for reading the metadata.
"""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    """The installed sel4vmgen's version, as pyproject.toml gives it."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("sel4vmgen")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
