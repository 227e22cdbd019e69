"""`sel4vmgen validate FILE...`: check system files and report every problem.

Each argument is a file, a folder (every `*.yaml` and `*.yml` below it, in
name order, hidden folders left out) or a glob.  `--only-marked` passes over
the files whose opening comments lack one of the project's schema lines
(`# yaml-language-server: $schema=.../system.schema.json`, or `guest.schema.json`
for a VM file), so that a pre-commit hook given every YAML file of a repository
checks only its system and VM files.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import click

from sel4vmgen.app import resultcache
from sel4vmgen.app.check import Checked, exit_code
from sel4vmgen.app.inputs import check_input
from sel4vmgen.commands import completion
from sel4vmgen.commands.output import emit, format_option
from sel4vmgen.diagnostics import Diagnostic, summary_line

YAML_SUFFIXES = (".yaml", ".yml")
# The comment that marks a system file or a VM file (README.md, "Completion in editors";
# new-guest writes them).
SCHEMA_LINE = re.compile(
    rb"#\s*yaml-language-server:\s*\$schema=\S*\b(system|guest)\.schema\.json\s*"
)


def expand(patterns: tuple[str, ...]) -> list[str]:
    """Arguments as given; a folder is replaced by the YAML files below it, and a pattern with
    wildcards that names no file is expanded as a glob."""
    files: list[str] = []
    for p in patterns:
        if os.path.isdir(p):
            files.extend(below(p) or [p])  # a folder with none is reported (E013)
        elif any(c in p for c in "*?[") and not os.path.exists(p):
            matched = sorted(glob.glob(p, recursive=True))
            files.extend(matched or [p])
        else:
            files.append(p)
    return list(dict.fromkeys(files))


def below(folder: str) -> list[str]:
    """Every `*.yaml`/`*.yml` file under `folder`, sorted, not looking into hidden folders."""
    found: list[str] = []
    for top, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(top)
        found.extend(
            str(here / n)
            for n in sorted(names)
            if n.endswith(YAML_SUFFIXES) and not n.startswith(".")
        )
    return found


@click.command()
@click.argument("files", nargs=-1, required=True, shell_complete=completion.files)
@format_option
@click.option("-q", "--quiet", is_flag=True, help="print no summary line")
@click.option(
    "--only-marked",
    is_flag=True,
    help="check only files whose opening comments hold the `# yaml-language-server: "
    "$schema=.../system.schema.json` (or guest.schema.json) line; pass over the others",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="check every file afresh and keep no result (as SEL4VMGEN_NO_CACHE=1 does)",
)
def command(
    files: tuple[str, ...], fmt: str, quiet: bool, only_marked: bool, no_cache: bool
) -> None:
    """Check system FILES (files, folders or globs) and report every problem with file:line:col.

    A VM file (what `include:` names, like new-guest's guest.yaml) is checked as a VM.  A
    file whose inputs are unchanged since its last check reports that check's diagnostics
    again, from the cache (`$XDG_CACHE_HOME/sel4vmgen`)."""
    chosen = expand(files)
    if only_marked:
        chosen = [f for f in chosen if marked(f)]
    use = resultcache.enabled(no_cache)
    results = [
        _empty_folder(f) if os.path.isdir(f) else resultcache.checked(f, check_input, use)
        for f in chosen
    ]
    diagnostics = [d for r in results for d in r.diagnostics]
    emit(diagnostics, fmt)
    if fmt == "text" and not quiet:
        click.echo(summary_line(diagnostics, len(results)), err=True)
    raise SystemExit(exit_code(results))


def _empty_folder(folder: str) -> Checked:
    """E013 for a folder argument with no YAML file below it."""
    message = f"no *.yaml or *.yml file in folder {folder}"
    hint = "name the system files, or a glob such as 'systems/**/*.yaml'"
    found = Diagnostic("E013", message, hint=hint)
    return Checked(folder, None, (found,))


def marked(path: str) -> bool:
    """Whether the file's opening comment lines hold the schema line.  A path that is not a
    readable regular file counts as marked, so that checking it says what is wrong with it."""
    from sel4vmgen.safeio import FileProblem, inspect_regular

    try:
        _, head = inspect_regular(Path(path), cap=1 << 62, head=8192)
    except FileProblem:
        return True
    for line in head.removeprefix(b"\xef\xbb\xbf").splitlines():
        text = line.strip()
        if SCHEMA_LINE.fullmatch(text):
            return True
        if text and not text.startswith(b"#"):
            return False
    return False
