"""`sel4vmgen explain CODE`: what a diagnostic code means, with a small example."""

from __future__ import annotations

import click

from sel4vmgen.codes import all_codes


@click.command()
@click.argument("code")
def command(code: str) -> None:
    """Say what diagnostic CODE (e.g. E101) means."""
    codes = all_codes()
    entry = codes.get(code.strip().upper())
    if entry is None:
        raise click.UsageError(f"unknown code '{code}'; known codes: {', '.join(sorted(codes))}")
    click.echo(f"{entry.code}: {entry.title}\n")
    click.echo(entry.explanation)
    if entry.example:
        click.echo("\nExample:\n")
        click.echo("\n".join("    " + line for line in entry.example.splitlines()))
