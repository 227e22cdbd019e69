"""What the shell completes for each kind of command-line value.

click's completion (`_SEL4VMGEN_COMPLETE=bash_source sel4vmgen`) asks a
parameter's `shell_complete` callback for candidates.  Files and folders are
left to the shell (`file`/`dir` items); platform names come from the
platform database and diagnostic codes from the code registry, each with its
one-line description for shells that show one (zsh, fish).  The callbacks
only offer values: what a command accepts is still decided by the command.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem


def files(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A file (or folder) name: the shell completes it."""
    return [CompletionItem(incomplete, type="file")]


def folders(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A folder name: the shell completes it."""
    return [CompletionItem(incomplete, type="dir")]


def platforms(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The platform names `sel4vmgen platforms` lists."""
    from sel4vmgen.platforms import load, names

    out = []
    for name in names():
        if name.startswith(incomplete):
            p = load(name)
            out.append(CompletionItem(name, help=f"{p.arch}, {p.framework}, {p.cores} core(s)"))
    return out


def codes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The diagnostic codes `sel4vmgen explain --list` prints, in either case."""
    from sel4vmgen.codes import all_codes

    want = incomplete.upper()
    return [
        CompletionItem(code, help=entry.title)
        for code, entry in sorted(all_codes().items())
        if code.startswith(want)
    ]
