"""Cross-field rules over a validated system (filled in by the rules package)."""

from __future__ import annotations

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.model import Loaded


def check(loaded: Loaded) -> list[Diagnostic]:
    """Every problem that relates several fields, or a field and the platform."""
    return []
