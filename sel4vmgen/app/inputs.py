"""What `validate` checks in one file: a system file through the pipeline's front, or a
VM file (what `include:` names) on its own, as a VM.

A file the model refuses as a VM file (E110) is loaded again as one and checked with
`model.vm_file`; its diagnostics are those the same VM gives inside a system, at the
same positions, without the system-level errors that do not concern it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sel4vmgen.app.check import Checked, check_file
from sel4vmgen.diagnostics import DiagnosticError, has_errors, sort_diagnostics


@dataclass(frozen=True)
class CheckedVmFile(Checked):
    """A VM file checked on its own: fine when no error was found (there is no system)."""

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def check_vm_file(path: str | Path) -> Checked:
    """Load and validate a VM file on its own."""
    from sel4vmgen.model.vm_file import load_vm_file

    try:
        load_vm_file(path)
    except DiagnosticError as e:
        return CheckedVmFile(str(path), None, tuple(sort_diagnostics(e.diagnostics)))
    return CheckedVmFile(str(path), None, ())


def check_input(path: str | Path) -> Checked:
    """`path` checked as what it is: a system file, or a VM file."""
    from sel4vmgen.model import VM_FILE_CODE

    checked = check_file(path)
    if [d.code for d in checked.diagnostics] == [VM_FILE_CODE]:
        return check_vm_file(path)
    return checked
