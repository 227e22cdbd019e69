"""`sel4vmgen validate FILE...`: check system files and report every problem."""

from __future__ import annotations

import glob
import os

import click

from sel4vmgen.app.check import check_file, exit_code
from sel4vmgen.commands.output import emit, format_option
from sel4vmgen.diagnostics import summary_line


def expand(patterns: tuple[str, ...]) -> list[str]:
    """Arguments as given; a pattern with wildcards that names no file is expanded as a glob."""
    files: list[str] = []
    for p in patterns:
        if any(c in p for c in "*?[") and not os.path.exists(p):
            matched = sorted(glob.glob(p, recursive=True))
            files.extend(matched or [p])
        else:
            files.append(p)
    return list(dict.fromkeys(files))


@click.command()
@click.argument("files", nargs=-1, required=True)
@format_option
@click.option("-q", "--quiet", is_flag=True, help="print no summary line")
def command(files: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """Check system FILES (paths or globs) and report every problem with file:line:col."""
    results = [check_file(f) for f in expand(files)]
    diagnostics = [d for r in results for d in r.diagnostics]
    emit(diagnostics, fmt)
    if fmt == "text" and not quiet:
        click.echo(summary_line(diagnostics, len(results)), err=True)
    raise SystemExit(exit_code(results))
