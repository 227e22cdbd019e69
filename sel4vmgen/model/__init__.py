"""The system model: typed, frozen, validated form of one system file.

`load(path)` runs the loader and the model and returns a `Loaded` -- the
`System` plus the `Document` whose positions later stages use to point at
the user's lines.  Problems are raised as one `DiagnosticError` holding all
of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sel4vmgen.diagnostics import DiagnosticError
from sel4vmgen.model.system import System, Vm
from sel4vmgen.safeio import real_path
from sel4vmgen.source import Document, load_document

__all__ = ["Loaded", "System", "Vm", "load", "validate"]

VM_FILE_CODE = "E110"
VM_FILE_MESSAGE = "this is a VM file (what a system's `include:` names), not a system file"
VM_FILE_HINT = "include it from a system file's vms (`- include: FILE`); `validate` checks it alone"


@dataclass(frozen=True)
class Loaded:
    """A validated system and the source positions of everything in it."""

    system: System
    document: Document

    @property
    def base_dir(self) -> Path:
        """The folder relative image paths are resolved against."""
        return real_path(self.document.file).parent


def frozen_lists(value: Any) -> Any:
    """Lists as tuples, all the way down, so that strict validation accepts them."""
    if isinstance(value, list):
        return tuple(frozen_lists(v) for v in value)
    if isinstance(value, dict):
        return {k: frozen_lists(v) for k, v in value.items()}
    return value


def validate(doc: Document) -> System:
    """The document's data as a `System`, or `DiagnosticError` with every problem found.

    Validation is strict: YAML already gives numbers, booleans and text their
    types, so `vcpus: "2"`, `vcpus: true` and `console: "yes"` are errors
    rather than silently converted."""
    from sel4vmgen.model.vm_file import is_vm_file

    if is_vm_file(doc.data):
        from sel4vmgen.diagnostics import Diagnostic

        raise DiagnosticError(
            [Diagnostic(VM_FILE_CODE, VM_FILE_MESSAGE, doc.span(()), hint=VM_FILE_HINT)]
        )
    try:
        return System.model_validate(frozen_lists(doc.data), strict=True)
    except ValidationError as e:
        from sel4vmgen.model.errors import to_diagnostics  # only needed when something is wrong

        raise DiagnosticError(to_diagnostics(e, doc, System)) from None
    except (RecursionError, OverflowError, ValueError, TypeError) as e:
        from sel4vmgen.diagnostics import Diagnostic

        raise DiagnosticError(
            [Diagnostic("E109", f"invalid document: {e}", doc.span(()))]
        ) from None


def load(path: str | Path) -> Loaded:
    """Load and validate a system file."""
    doc = load_document(path)
    return Loaded(validate(doc), doc)
