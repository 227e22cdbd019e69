"""sel4vmgen: one YAML file to a checked, simulated seL4 CAmkES VMM application.

The Python API mirrors the command line: `load`, `check`, `resolve`,
`generate`, `simulate`, and `__version__` (from the package metadata,
`sel4vmgen.version`).  Submodules are imported on first use so that the
command line starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sel4vmgen.model import Loaded


def load(path: str) -> Loaded:
    """Load and validate a system file (raises `DiagnosticError`)."""
    from sel4vmgen.model import load as _load

    return _load(path)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from sel4vmgen.version import version

        return version()
    if name == "check":
        from sel4vmgen.rules import check

        return check
    if name == "resolve":
        from sel4vmgen.plan import resolve

        return resolve
    if name == "generate":
        from sel4vmgen.app.generate import generate

        return generate
    if name == "simulate":
        from sel4vmgen.sim import simulate

        return simulate
    raise AttributeError(name)
