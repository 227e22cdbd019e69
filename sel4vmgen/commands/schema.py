"""`sel4vmgen schema [--vm] [-o FILE]`: the JSON Schema of the system format (or of a VM file).

FILE is written atomically, never through a symlink or onto a FIFO or device (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write to FILE"
)
@click.option(
    "--vm", "vm_file", is_flag=True, help="the schema of a VM file (guest.yaml, for include:)"
)
def command(output: Path | None, vm_file: bool) -> None:
    """Print (or write) the JSON Schema that editors use to complete system files."""
    from sel4vmgen.jsonschema import schema_text, vm_schema_text

    text = vm_schema_text() if vm_file else schema_text()
    if output is None:
        click.echo(text, nl=False)
    else:
        from sel4vmgen.safeio import FileProblem, atomic_write

        try:
            atomic_write(output, text.encode("utf-8"))
        except FileProblem as e:
            click.echo(f"error: cannot write {output}: {e.detail}", err=True)
            raise SystemExit(2) from None
