"""`new-guest`'s answers checked one at a time, with `validate`'s own diagnostics.

`problems(answers)` renders the guest folder for the answers (the missing ones
defaulted) into a temporary folder, checks it exactly as `validate` does, and sorts
each error by the answer it comes from: the place it points at is traced back,
through the document's positions, to the field that answer fills (`ram` fills the
RAM and the DTB and initrd addresses laid out in it, `console` the command line,
stdout and virtio console, ...).  An error at a place no answer fills is filed
under None.  `AnswerType` is the click parameter type of one question: it refuses
an answer with the errors filed under its own question, so that click asks that
question again and keeps every other answer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sel4vmgen import scaffold
from sel4vmgen.diagnostics import Diagnostic, DiagnosticError, Span
from sel4vmgen.source import PathKey

VM: PathKey = ("vms", 0)
# The places of the rendered system each answer fills; the longest matching prefix wins.
_FILLS: tuple[tuple[PathKey, str], ...] = (
    (("name",), "name"),
    ((*VM, "name"), "name"),
    (("arch",), "arch"),
    (("sel4_arch",), "arch"),
    (("platform",), "platform"),
    (("num_nodes",), "vcpus"),
    ((*VM, "vcpus"), "vcpus"),
    ((*VM, "ram"), "ram"),
    ((*VM, "dtb"), "ram"),
    ((*VM, "initrd", "address"), "ram"),
    ((*VM, "kernel"), "os"),
    ((*VM, "initrd"), "os"),
    ((*VM, "cmdline"), "console"),
    ((*VM, "stdout"), "console"),
    ((*VM, "virtio"), "console"),
    ((*VM, "passthrough"), "passthrough"),
)


def answer_for(path: PathKey) -> str | None:
    """The question whose answer fills `path` of the rendered system, if any."""
    best: tuple[int, str | None] = (0, None)
    for prefix, key in _FILLS:
        if path[: len(prefix)] == prefix and len(prefix) > best[0]:
            best = (len(prefix), key)
    return best[1]


def _places(system_file: Path) -> dict[tuple[str, int, int], PathKey]:
    """Each position the loader recorded in the rendered files -> the most specific path there."""
    from sel4vmgen.source import load_document

    try:
        doc = load_document(system_file)
    except DiagnosticError:
        return {}
    out: dict[tuple[str, int, int], PathKey] = {}
    for table in (doc.values, doc.keys):
        for path, span in table.items():
            at = (span.file, span.line, span.col)
            if len(path) >= len(out.get(at, ())):
                out[at] = path
    return out


def _where(span: Span | None, places: Mapping[tuple[str, int, int], PathKey]) -> str | None:
    if span is None:
        return None
    path = places.get((span.file, span.line, span.col))
    return answer_for(path) if path is not None else None


def problems(answers: Mapping[str, str], output_dir: Path) -> dict[str | None, list[Diagnostic]]:
    """The errors of the guest folder these answers make, by the question they come from."""
    from sel4vmgen.app.check import check_file
    from sel4vmgen.diagnostics import has_errors

    full = scaffold.complete(answers)
    final = output_dir / scaffold.folder_name(full["name"])
    with tempfile.TemporaryDirectory(prefix="sel4vmgen-answer-") as tmp:
        system_file = scaffold.render(full, Path(tmp), final) / "system.yaml"
        found = check_file(system_file).diagnostics
        places = _places(system_file) if has_errors(found) else {}
    out: dict[str | None, list[Diagnostic]] = {}
    for d in found:
        if d.is_error:
            out.setdefault(_where(d.span, places), []).append(d)
    return out


def one_line(d: Diagnostic) -> str:
    """A diagnostic as a prompt shows it: code and message, and the hint when there is one."""
    text = f"error[{d.code}]: {d.message}"
    return f"{text}\n  hint: {d.hint}" if d.hint else text


if TYPE_CHECKING:  # recent click's ParamType takes type arguments, older ones not at run time
    from typing import TypeAlias

    _ParamType: TypeAlias = click.ParamType[str, Any]
else:
    _ParamType = click.ParamType


class AnswerType(_ParamType):
    """One question's answer, refused with `validate`'s diagnostics for what it fills."""

    def __init__(self, key: str, answers: Mapping[str, str], output_dir: Path) -> None:
        self.name = key
        self.key = key
        self.answers = answers
        self.output_dir = output_dir

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        usage = scaffold.answer_problem(self.key, text)
        if usage is not None:
            self.fail(usage, param, ctx)
        found = problems({**self.answers, self.key: text}, self.output_dir).get(self.key)
        if found:
            self.fail("\n".join(one_line(d) for d in found), param, ctx)
        return text
