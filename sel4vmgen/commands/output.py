"""Printing diagnostics for a command, in the format the user chose."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from sel4vmgen.diagnostics import Diagnostic, render

FORMATS = ("text", "json", "github", "sarif")

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="how to print diagnostics: text, json, github (workflow annotations) or sarif",
)


def use_colour() -> bool:
    return sys.stderr.isatty() and "NO_COLOR" not in os.environ


def emit(diagnostics: Sequence[Diagnostic], fmt: str) -> None:
    """Text goes to stderr; machine formats to stdout so they can be piped."""
    if fmt == "text":
        if diagnostics:
            click.echo(render(diagnostics, "text", "", use_colour()), err=True)
        return
    if fmt == "sarif":  # the only format that names the tool's version
        from sel4vmgen.version import version

        click.echo(render(diagnostics, fmt, version()))
        return
    click.echo(render(diagnostics, fmt, ""))
