"""The front of the pipeline shared by every command: load, validate, check.

`check_file(path)` returns the loaded system (or None when it could not be
built) and every diagnostic found, in a stable order: the loader's, the
model's and the rules'.  The rules are the one place input is refused, so
nothing is resolved here: what they accept, resolve lays out (the property
run in tests/test_fuzz.py holds them to it).  `UNREADABLE` names the codes
that mean the input could not be read at all (exit code 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sel4vmgen.diagnostics import Diagnostic, DiagnosticError, has_errors, sort_diagnostics

if TYPE_CHECKING:
    from sel4vmgen.model import Loaded

UNREADABLE = frozenset({"E001", "E002", "E003", "E013"})


@dataclass(frozen=True)
class Checked:
    """The outcome of the front of the pipeline for one file."""

    path: str
    loaded: Loaded | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.loaded is not None and not has_errors(self.diagnostics)

    @property
    def unreadable(self) -> bool:
        return any(d.code in UNREADABLE for d in self.diagnostics)


def check_file(path: str | Path) -> Checked:
    """Load, validate and run the cross-field rules on one system file."""
    from sel4vmgen.model import load  # not at the top: a result-cache hit needs no model

    try:
        loaded = load(path)
    except DiagnosticError as e:
        return Checked(str(path), None, tuple(sort_diagnostics(e.diagnostics)))
    from sel4vmgen.rules import check

    return Checked(str(path), loaded, tuple(sort_diagnostics(check(loaded))))


def exit_code(results: list[Checked]) -> int:
    """0 all clean, 2 any input unreadable, else 1 when any has errors."""
    if any(r.unreadable for r in results):
        return 2
    return 1 if any(not r.ok for r in results) else 0
