"""`sel4vmgen plan FILE [--platform P]`: print the resolved Plan as JSON.

The file is checked first (load, validate, rules); any error is reported as
diagnostics and the command exits 1 (2 when the file cannot be read).  With
several platforms and no `--platform`, the plans are printed as a JSON list
in the order the system names them.
"""

from __future__ import annotations

import json

import click

from sel4vmgen.app.check import check_file, exit_code
from sel4vmgen.commands import completion
from sel4vmgen.commands.output import emit, format_option
from sel4vmgen.diagnostics import DiagnosticError


@click.command()
@click.argument("file", shell_complete=completion.files)
@click.option(
    "--platform",
    "platform",
    help="resolve for this platform only (one the system names)",
    shell_complete=completion.platforms,
)
@format_option
def command(file: str, platform: str | None, fmt: str) -> None:
    """Print the resolved plan of system FILE as JSON (every address, priority and name)."""
    from sel4vmgen.plan import resolve_all

    checked = check_file(file)
    emit(
        [d for d in checked.diagnostics if not d.is_error] if checked.ok else checked.diagnostics,
        fmt,
    )
    if not checked.ok or checked.loaded is None:
        raise SystemExit(exit_code([checked]))
    names = checked.loaded.system.platforms
    if platform is not None and platform not in names:
        click.echo(
            f"error: {file} does not name platform '{platform}' (it names: {', '.join(names)})",
            err=True,
        )
        raise SystemExit(2)
    try:
        plans = resolve_all(checked.loaded)
    except DiagnosticError as e:
        emit(e.diagnostics, fmt)
        raise SystemExit(1) from None
    if platform is not None:
        plans = tuple(p for p, n in zip(plans, names, strict=True) if n == platform)
    if len(plans) == 1:
        click.echo(plans[0].to_json(), nl=False)
    else:
        items = [json.loads(p.to_json()) for p in plans]
        click.echo(json.dumps(items, indent=2))
