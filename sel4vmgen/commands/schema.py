"""`sel4vmgen schema [-o FILE]`: the JSON Schema of the system format.

FILE is written atomically, never through a symlink or onto a FIFO or device (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from sel4vmgen.model.schema import schema_text


@click.command()
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write to FILE"
)
def command(output: Path | None) -> None:
    """Print (or write) the JSON Schema that editors use to complete system files."""
    text = schema_text()
    if output is None:
        click.echo(text, nl=False)
    else:
        from sel4vmgen.safeio import FileProblem, atomic_write

        try:
            atomic_write(output, text.encode("utf-8"))
        except FileProblem as e:
            click.echo(f"error: cannot write {output}: {e.detail}", err=True)
            raise SystemExit(2) from None
