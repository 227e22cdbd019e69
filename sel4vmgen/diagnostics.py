"""Diagnostics: the one type every stage reports problems with, and its output formats.

A `Diagnostic` has a stable code (see `codes/`), a severity, a message, the
source span it points at (and a second span when two places conflict) and an
optional hint.  Formatters turn a list of them into text (file:line:col, the
source line and a caret), JSON, GitHub workflow annotations or SARIF 2.1.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class Severity(str, Enum):
    """How bad a diagnostic is; errors make a configuration invalid."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, order=True)
class Span:
    """A place in a source file: 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: stable code, severity, message, where, and how to fix it."""

    code: str
    message: str
    span: Span | None = None
    severity: Severity = Severity.ERROR
    hint: str | None = None
    related: tuple[Span, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        s = self.span
        return (
            (s.file, s.line, s.col, self.code, self.message)
            if s
            else ("", 0, 0, self.code, self.message)
        )

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
        }
        if self.span:
            d["file"], d["line"], d["col"] = self.span.file, self.span.line, self.span.col
        if self.hint:
            d["hint"] = self.hint
        if self.related:
            d["related"] = [{"file": r.file, "line": r.line, "col": r.col} for r in self.related]
        return d


class DiagnosticError(Exception):
    """Raised by a stage that cannot go on; carries every problem it found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(f"{d.code}: {d.message}" for d in self.diagnostics))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Stable order for output: by file, line, column, code."""
    unique = list(dict.fromkeys(diagnostics))
    return sorted(unique, key=Diagnostic.sort_key)


# ---------------------------------------------------------------- text


class _SourceCache:
    """Reads each source file once, for the caret snippets."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str] | None] = {}

    def line(self, file: str, line: int) -> str | None:
        if file not in self._lines:
            from sel4vmgen.safeio import TEXT_CAP, FileProblem, read_regular

            try:  # never blocks on a FIFO, never reads a device
                data = read_regular(Path(file), TEXT_CAP)
                self._lines[file] = data.decode("utf-8", "replace").splitlines()
            except FileProblem:
                self._lines[file] = None
        lines = self._lines[file]
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]


def _style(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def format_text(diagnostics: Sequence[Diagnostic], colour: bool = False) -> str:
    """Human form: `file:line:col: error[E101]: message`, source line, caret, hint."""
    cache = _SourceCache()
    out: list[str] = []
    colours = {Severity.ERROR: "1;31", Severity.WARNING: "1;33", Severity.NOTE: "1;36"}
    for d in diagnostics:
        where = f"{d.span}: " if d.span else ""
        label = _style(f"{d.severity.value}[{d.code}]", colours[d.severity], colour)
        out.append(f"{where}{label}: {d.message}")
        if d.span:
            src = cache.line(d.span.file, d.span.line)
            if src is not None and len(src) <= 400:
                gutter = f"{d.span.line:>5} | "
                out.append(gutter + src)
                pad = "".join(c if c == "\t" else " " for c in src[: d.span.col - 1])
                out.append(" " * (len(gutter) - 2) + "| " + pad + _style("^", "1;32", colour))
        for r in d.related:
            out.append(f"  {r}: note: the other place")
        if d.hint:
            out.append(f"  hint: {d.hint}")
    return "\n".join(out)


def summary_line(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    noun = "file" if files == 1 else "files"
    return f"{files} {noun} checked: {errors} error(s), {warnings} warning(s)"


# ---------------------------------------------------------------- machine formats


def format_json(diagnostics: Sequence[Diagnostic]) -> str:
    import json  # the machine formats only: the text report starts without it

    return json.dumps([d.to_dict() for d in diagnostics], indent=2, sort_keys=True)


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=T::message`."""
    kind = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}
    lines = []
    for d in diagnostics:
        props = []
        if d.span:
            props += [
                f"file={_gh_escape(d.span.file, True)}",
                f"line={d.span.line}",
                f"col={d.span.col}",
            ]
        props.append(f"title={_gh_escape(d.code, True)}")
        msg = d.message + (f" (hint: {d.hint})" if d.hint else "")
        lines.append(f"::{kind[d.severity]} {','.join(props)}::{_gh_escape(msg)}")
    return "\n".join(lines)


def format_sarif(diagnostics: Sequence[Diagnostic], tool_version: str) -> str:
    """SARIF 2.1.0 log with one run; rules are the codes that occur."""
    from sel4vmgen.codes import all_codes

    codes = all_codes()
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}
    used = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": c,
            "shortDescription": {"text": codes[c].title if c in codes else c},
        }
        for c in used
    ]
    results = []
    for d in diagnostics:
        r: dict[str, object] = {
            "ruleId": d.code,
            "level": level[d.severity],
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
        }
        if d.span:
            r["locations"] = [_sarif_location(d.span)]
        if d.related:
            r["relatedLocations"] = [_sarif_location(s) for s in d.related]
        results.append(r)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sel4vmgen",
                        "version": tool_version,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    import json

    return json.dumps(log, indent=2, sort_keys=True)


def _sarif_location(span: Span) -> dict[str, object]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": Path(span.file).as_posix()},
            "region": {"startLine": span.line, "startColumn": span.col},
        }
    }


def render(
    diagnostics: Sequence[Diagnostic], fmt: str, tool_version: str, colour: bool = False
) -> str:
    """Dispatch on the `--format` name."""
    if fmt == "json":
        return format_json(diagnostics)
    if fmt == "github":
        return format_github(diagnostics)
    if fmt == "sarif":
        return format_sarif(diagnostics, tool_version)
    return format_text(diagnostics, colour)
