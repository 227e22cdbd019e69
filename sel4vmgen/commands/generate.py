"""`sel4vmgen generate FILE -o DIR`: validate, resolve, simulate, render and write an app.

Exit codes: 0 written (or, with --check, up to date); 1 configuration errors,
a simulation violation, edited files in the way, or --check differences;
2 unreadable input or an output folder that cannot be used (a file or a path
below one, a file system root, the home folder, a non-empty folder sel4vmgen
did not write, or one holding a FIFO, socket or device).  Diagnostics
(warnings included) are printed once, at the end, in the chosen format.
With --check, the text format also prints a unified diff of what differs
(commands/drift.py) on standard output; --quiet names the files only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from sel4vmgen.app.check import check_file, exit_code
from sel4vmgen.commands import completion
from sel4vmgen.commands.output import emit, format_option
from sel4vmgen.diagnostics import Diagnostic, DiagnosticError, has_errors

# Diagnostics that mean the input or the output folder cannot be used at all (exit 2).
_UNUSABLE = frozenset({"E001", "E002", "E003", "E404"})


def _finish(diagnostics: Sequence[Diagnostic], fmt: str, note: str | None = None) -> None:
    """Print everything found; exit 1 or 2 on errors, else print `note` and return."""
    if diagnostics or fmt != "text":
        emit(list(diagnostics), fmt)
    if has_errors(diagnostics):
        raise SystemExit(2 if any(d.code in _UNUSABLE for d in diagnostics) else 1)
    if note and fmt == "text":
        click.echo(note, err=True)


@click.command()
@click.argument("file", shell_complete=completion.files)
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    metavar="DIR",
    help="folder of the application",
    shell_complete=completion.folders,
)
@click.option(
    "--check", is_flag=True, help="write nothing; show how DIR differs (a diff), exit 1 if it does"
)
@click.option("-q", "--quiet", is_flag=True, help="with --check, name differing files, no diff")
@click.option("--force", is_flag=True, help="overwrite files edited since the last run")
@click.option(
    "--no-simulate", is_flag=True, help="write even when the quick simulation finds a violation"
)
@format_option
def command(
    file: str, out: str, check: bool, quiet: bool, force: bool, no_simulate: bool, fmt: str
) -> None:
    """Write the CAmkES VM application for system FILE into DIR, atomically."""
    from sel4vmgen.app.generate import generate

    checked = check_file(file)
    found = list(checked.diagnostics)
    if not checked.ok or checked.loaded is None:
        emit(found, fmt)
        raise SystemExit(exit_code([checked]))
    try:
        result = generate(checked.loaded, out, check=check, force=force, simulate=not no_simulate)
    except DiagnosticError as e:
        _finish([*found, *e.diagnostics], fmt)
        return
    if has_errors(result.violations):
        hint = "fix the system, or pass --no-simulate to write it anyway"
        note = Diagnostic(
            "E407", f"nothing written to {out}: the simulation found violations", hint=hint
        )
        _finish([*found, *result.violations, note], fmt)
    found += result.violations  # warnings of the quick simulation
    if check:
        if result.changed and fmt == "text" and not quiet:
            from sel4vmgen.commands.drift import drift_diff

            click.echo(drift_diff(Path(out), result.expected, result.changed), nl=False)
        differ = [
            Diagnostic("E402", f"{Path(out) / rel} differs from what would be generated")
            for rel in result.changed
        ]
        _finish([*found, *differ], fmt, f"up to date: {out}")
        return
    n = len(result.changed)
    wrote = f"wrote {n} changed file(s) in {out}" if n else f"up to date: {out}"
    microkit = any(p.framework == "microkit" for p in result.plans)
    _finish(found, fmt, f"{wrote}\n{_scope(no_simulate, microkit)}")


def _scope(no_simulate: bool, microkit: bool) -> str:
    """What the quick simulation checked before writing (or that it did not run)."""
    if no_simulate:
        return "not simulated (--no-simulate)"
    from sel4vmgen.sim.run import quick_check_scope

    return quick_check_scope(microkit)
