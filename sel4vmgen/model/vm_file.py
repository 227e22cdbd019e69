"""VM files: one VM's fields in a file of their own, what a system's `- include: FILE` names
(`new-guest` writes one as guest.yaml).

`is_vm_file(data)` recognises one by its keys: a VM's keys and none that only a system
has.  `load_vm_file(path)` loads it with the base VM file it may include and validates it
as a `VmFile`: the same checks, messages and positions as inside a system, without the
platform rules, which apply where it is included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sel4vmgen.diagnostics import DiagnosticError
from sel4vmgen.model.system import System, VmFile
from sel4vmgen.source import INCLUDE_KEY, Document, load_vm_document

_SYSTEM_ONLY = frozenset(System.model_fields) - frozenset(VmFile.model_fields)
_VM_ONLY = (frozenset(VmFile.model_fields) | {INCLUDE_KEY}) - frozenset(System.model_fields)


def is_vm_file(data: Any) -> bool:
    """Whether a file's top level is a VM's fields rather than a system."""
    if not isinstance(data, dict):
        return False
    keys = frozenset(k for k in data if isinstance(k, str))
    return not keys & _SYSTEM_ONLY and bool(keys & _VM_ONLY)


def load_vm_file(path: str | Path) -> tuple[VmFile, Document]:
    """The VM file at `path`, validated, or `DiagnosticError` with every problem found."""
    from sel4vmgen.model import frozen_lists

    doc = load_vm_document(path)
    try:
        return VmFile.model_validate(frozen_lists(doc.data), strict=True), doc
    except ValidationError as e:
        from sel4vmgen.model.errors import to_diagnostics

        raise DiagnosticError(to_diagnostics(e, doc, VmFile)) from None
