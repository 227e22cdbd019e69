"""`sel4vmgen explain CODE`: what a diagnostic code means, with a small example.

`explain --list` prints every code with its title, one a line, in code order.
"""

from __future__ import annotations

import click

from sel4vmgen.codes import all_codes
from sel4vmgen.commands import completion


@click.command()
@click.argument("code", required=False, shell_complete=completion.codes)
@click.option("--list", "listing", is_flag=True, help="print every code with its title")
def command(code: str | None, listing: bool) -> None:
    """Say what diagnostic CODE (e.g. E101) means."""
    codes = all_codes()
    if listing:
        if code is not None:
            raise click.UsageError("give a CODE or --list, not both")
        for entry in sorted(codes.values(), key=lambda c: c.code):
            click.echo(f"{entry.code}  {entry.title}")
        return
    if code is None:
        raise click.UsageError("missing CODE (or --list for every code)")
    found = codes.get(code.strip().upper())
    if found is None:
        raise click.UsageError(f"unknown code '{code}'; `sel4vmgen explain --list` lists them")
    click.echo(f"{found.code}: {found.title}\n")
    click.echo(found.explanation)
    if found.example:
        click.echo("\nExample:\n")
        click.echo("\n".join("    " + line for line in found.example.splitlines()))
