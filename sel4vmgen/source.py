"""Loading a system file: YAML to plain data plus a parallel tree of source positions.

`load_document(path)` reads a file with ruamel.yaml, follows `include:`
entries, and returns a `Document`: the data as plain Python values (dict,
list, str, int, float, bool, None) and, for every path into that data, the
`Span` of its value and (for mapping entries) of its key.  Every failure -- a
missing file, bad bytes, YAML syntax, duplicate keys, alias bombs, include
cycles -- becomes a `Diagnostic` raised in a `DiagnosticError`; nothing here
lets an exception of another kind escape for any input.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sel4vmgen.diagnostics import Diagnostic, DiagnosticError, Span
from sel4vmgen.safeio import TEXT_CAP, FileProblem, path_text_problem, read_regular, real_path

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = TEXT_CAP
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_INCLUDE_DEPTH = 8
INCLUDE_KEY = "include"


@dataclass
class Document:
    """Plain data and where each part of it was written."""

    data: Any
    file: str
    values: dict[PathKey, Span] = field(default_factory=dict)
    keys: dict[PathKey, Span] = field(default_factory=dict)

    def span(self, path: PathKey) -> Span:
        """The position of `path`'s value, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), Span(self.file, 1, 1))

    def key_span(self, path: PathKey) -> Span:
        """The position of the key that introduces `path`, else of its value."""
        return self.keys.get(tuple(path)) or self.span(path)


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0


def _fail(code: str, message: str, span: Span | None, hint: str | None = None) -> DiagnosticError:
    return DiagnosticError([Diagnostic(code, message, span, hint=hint)])


def display_path(path: Path) -> str:
    """Paths in messages: relative to the working folder when below it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def shown_path(text: str) -> str:
    """A path as messages show it: as it is, or escaped when it holds what no terminal
    should print (a lone surrogate from undecodable bytes, a control or bidi character)."""
    if path_text_problem(text) is None:
        return text
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")


def read_text(path: Path, shown: str, at: Span | None = None) -> str:
    """Read a regular file as UTF-8 text, refusing folders, FIFOs, sockets, devices, symlink
    loops, huge files and binary data.  A FIFO is never waited on (`safeio`)."""
    where = at or Span(shown, 1, 1)
    try:
        raw = read_regular(path, MAX_FILE_BYTES)
    except FileProblem as e:
        raise _unreadable(e, shown, at, where) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(
            "E004", "the file is UTF-16 text", Span(shown, 1, 1), hint="save the file as UTF-8"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise _fail(
            "E004",
            f"byte 0x{raw[e.start]:02x} is not UTF-8",
            Span(shown, line, col),
            hint="save the file as UTF-8",
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise _fail("E004", "file contains a NUL byte: not a text file", Span(shown, line, col))
    return text


def _unreadable(e: FileProblem, shown: str, at: Span | None, where: Span) -> DiagnosticError:
    """E001/E002/E003/E005 for a file `safeio` refused."""
    if e.kind == "missing":
        return _fail("E001", f"{e.detail}: {shown}", at)
    if e.kind == "large":
        return _fail("E005", f"file is {e.detail}", where)
    if e.kind in ("directory", "fifo", "socket", "device", "other"):
        return _fail("E002", f"not a regular file: {shown} ({e.detail})", at)
    return _fail("E003", f"cannot read {shown}: {e.detail}", at)


def _yaml_error(e: Exception, shown: str) -> DiagnosticError:
    """Map a ruamel.yaml error to E006/E007 with the problem's position."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    span = Span(shown, mark.line + 1, mark.column + 1) if mark is not None else Span(shown, 1, 1)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    name = type(e).__name__
    if "Duplicate" in name:
        key = _duplicate_key(str(e))
        first = getattr(e, "context_mark", None)
        related = (Span(shown, first.line + 1, first.column + 1),) if first is not None else ()
        msg = f"duplicate key '{key}'" if key else "duplicate key"
        return DiagnosticError(
            [Diagnostic("E007", msg, span, hint="remove one of the two entries", related=related)]
        )
    text = problem.strip()
    if "'\\t'" in text:
        return _fail(
            "E006",
            "YAML syntax error: a tab character where YAML expects spaces",
            span,
            hint="indent with spaces; YAML does not allow tabs for indentation",
        )
    if context:
        text = f"{text} ({context.strip()})"
    return _fail("E006", f"YAML syntax error: {text}", span)


def _duplicate_key(message: str) -> str | None:
    marker = 'found duplicate key "'
    i = message.find(marker)
    if i < 0:
        return None
    rest = message[i + len(marker) :]
    return rest.split('"', 1)[0]


def _tag_text(tag: Any) -> str:
    """A tag as written: `!!int` for the core schema's, else as the parser gives it."""
    text = str(getattr(tag, "value", tag))
    core = "tag:yaml.org,2002:"
    return "!!" + text[len(core) :] if text.startswith(core) else text


def _directive_span(text: str, shown: str) -> Span:
    m = _DIRECTIVE_RE.search(text)
    line = text.count("\n", 0, m.start()) + 1 if m else 1
    return Span(shown, line, 1)


def _scan_events(yaml: Any, text: str, shown: str) -> None:
    """Refuse what the loader would get wrong or take long over: several documents,
    aliases to a node that contains them (which load as null), tags, deep nesting."""
    open_anchors: list[str | None] = []
    documents = 0
    for event in yaml.parse(text):
        kind = type(event).__name__
        mark = event.start_mark
        here = Span(shown, mark.line + 1, mark.column + 1)
        if kind == "DocumentStartEvent":
            if getattr(event, "version", None) or getattr(event, "tags", None):
                raise _fail(
                    "E006",
                    "YAML directives (`%YAML`, `%TAG`) are not supported",
                    _directive_span(text, shown),
                    hint="remove the `%` line: a system file is read as YAML 1.2",
                )
            documents += 1
            if documents > 1:
                raise _fail(
                    "E012",
                    "a second YAML document starts here; a system file holds one",
                    here,
                    hint="remove the `---` line and what follows, or split the file",
                )
        elif kind in ("MappingStartEvent", "SequenceStartEvent"):
            open_anchors.append(event.anchor)
            if len(open_anchors) > MAX_DEPTH:  # stop early: deep nesting is slow to scan
                raise _fail("E008", f"nesting deeper than {MAX_DEPTH} levels", here)
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            open_anchors.pop()
        elif kind == "AliasEvent" and event.anchor in open_anchors:
            raise _fail(
                "E008",
                f"alias '*{event.anchor}' refers to the node that contains it",
                here,
                hint="an alias may only repeat a node that is complete",
            )
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise _fail(
                "E006",
                f"YAML tag '{_tag_text(tag)}' is not supported: it changes how the value is read",
                here,
                hint="write the plain value without a `!tag`",
            )


_MARKER_RE = re.compile(r"^(---|\.\.\.)", re.M)
_DIRECTIVE_RE = re.compile(r"^%", re.M)
_DEEP_INDENT_RE = re.compile(rf"^[ \t]{{{MAX_DEPTH},}}\S", re.M)


def _needs_scan(text: str) -> bool:
    """Whether `_scan_events` could find anything: it looks for a second document
    (needs a `---` or `...` line), aliases (`*`), tags (`!`) and nesting deeper
    than the limit (more `[`/`{`, or deeper indentation, than the limit).  Most
    files need none."""
    return (
        "*" in text
        or "!" in text
        or _MARKER_RE.search(text) is not None
        or _DIRECTIVE_RE.search(text) is not None
        or text.count("[") + text.count("{") > MAX_DEPTH
        or _DEEP_INDENT_RE.search(text) is not None
    )


def _empty_message(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines()]
    if any(ln.startswith("#") for ln in lines):
        return "the file holds only comments"
    return "the file is empty"


def parse_yaml(text: str, shown: str) -> Any:
    """Parse one YAML document with the round-trip loader (which keeps positions)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        if _needs_scan(text):
            _scan_events(yaml, text, shown)
        data = yaml.load(text)
    except (MarkedYAMLError, YAMLError) as e:
        raise _yaml_error(e, shown) from None
    except RecursionError:
        raise _fail("E008", f"nesting deeper than {MAX_DEPTH} levels", Span(shown, 1, 1)) from None
    except (ValueError, TypeError, OverflowError, AttributeError, IndexError) as e:
        raise _fail("E006", f"YAML value cannot be read: {e}", Span(shown, 1, 1)) from None
    if data is None and _is_blank(text):
        raise _fail(
            "E009",
            _empty_message(text),
            Span(shown, 1, 1),
            hint="a system file is a YAML mapping: `name:`, `arch:`, `platform:`, `vms:`",
        )
    return data


def _is_blank(text: str) -> bool:
    """No YAML content: only whitespace, comments and document markers."""
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#") and s not in ("---", "..."):
            return False
    return True


def describe(value: Any) -> str:
    """What kind of value the user wrote, in words: 'a list', 'text', 'nothing (null)'..."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a fraction" if not value.is_integer() else "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


class _Converter:
    """Turns ruamel nodes into plain data and records positions, within a node budget."""

    def __init__(self, doc: Document, shown: str, budget: _Budget) -> None:
        self.doc = doc
        self.shown = shown
        self.budget = budget

    def convert(self, node: Any, path: PathKey, depth: int, stack: frozenset[int]) -> Any:
        self.budget.nodes += 1
        if self.budget.nodes > MAX_NODES:
            raise _fail(
                "E008",
                f"the document expands to more than {MAX_NODES} nodes (anchors and aliases?)",
                self.doc.span(path),
                hint="write the values out, or use fewer nested aliases",
            )
        if depth > MAX_DEPTH:
            raise _fail("E008", f"nesting deeper than {MAX_DEPTH} levels", self.doc.span(path))
        if isinstance(node, Mapping | list):
            if id(node) in stack:
                raise _fail(
                    "E008", "an alias refers to the node that contains it", self.doc.span(path)
                )
            stack = stack | {id(node)}
        if isinstance(node, Mapping):
            return self._mapping(node, path, depth, stack)
        if isinstance(node, list):
            return self._sequence(node, path, depth, stack)
        return _scalar(node)

    def _mapping(
        self, node: Any, path: PathKey, depth: int, stack: frozenset[int]
    ) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        lc = getattr(node, "lc", None)
        for k, v in node.items():
            key_at, value_at = self._positions(lc, k)
            key = _scalar(k) if not isinstance(k, tuple) else tuple(k)
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise _fail(
                    "E103",
                    f"a mapping key must be a plain word, not {describe(key)}",
                    key_at or self.doc.span(path),
                )
            sub = (*path, key)
            if key_at is not None and value_at is not None:
                self.doc.keys[sub] = key_at
                self.doc.values[sub] = value_at
            out[key] = self.convert(v, sub, depth + 1, stack)
        return out

    def _positions(self, lc: Any, k: Any) -> tuple[Span | None, Span | None]:
        """Where key `k` and its value were written (None for merged `<<` keys)."""
        if lc is None:
            return None, None
        try:
            kl, kc = lc.key(k)
            vl, vc = lc.value(k)
        except (KeyError, TypeError, AttributeError):
            return None, None
        return Span(self.shown, kl + 1, kc + 1), Span(self.shown, vl + 1, vc + 1)

    def _sequence(self, node: Any, path: PathKey, depth: int, stack: frozenset[int]) -> list[Any]:
        out: list[Any] = []
        lc = getattr(node, "lc", None)
        for i, v in enumerate(node):
            sub = (*path, i)
            if lc is not None:
                try:
                    il, ic = lc.item(i)
                    self.doc.values[sub] = Span(self.shown, il + 1, ic + 1)
                except (KeyError, TypeError, AttributeError, IndexError):
                    pass
            out.append(self.convert(v, sub, depth + 1, stack))
        return out


def _scalar(value: Any) -> Any:
    """ruamel scalar subclasses to the plain Python type they stand for."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _root_position(node: Any, shown: str) -> Span:
    lc = getattr(node, "lc", None)
    if lc is not None and getattr(lc, "line", None) is not None:
        return Span(shown, lc.line + 1, lc.col + 1)
    return Span(shown, 1, 1)


def load_fragment(path: Path, shown: str, at: Span | None, budget: _Budget) -> Document:
    """Read and convert one file (no include processing)."""
    text = read_text(path, shown, at)
    node = parse_yaml(text, shown)
    doc = Document(data=None, file=shown)
    doc.values[()] = _root_position(node, shown)
    doc.data = _Converter(doc, shown, budget).convert(node, (), 0, frozenset())
    return doc


def _graft(target: Document, source: Document, prefix: PathKey) -> None:
    """Copy `source`'s positions into `target` under `prefix`."""
    for p, s in source.values.items():
        target.values[prefix + p] = s
    for p, s in source.keys.items():
        target.keys[prefix + p] = s


def _subdoc(doc: Document, prefix: PathKey) -> Document:
    """The part of `doc` under `prefix`, as a document of its own."""
    n = len(prefix)
    sub = Document(data=None, file=doc.file)
    sub.values = {p[n:]: s for p, s in doc.values.items() if p[:n] == prefix}
    sub.keys = {p[n:]: s for p, s in doc.keys.items() if p[:n] == prefix and len(p) > n}
    return sub


def _overlay(base: Document, top: Document, top_data: dict[Any, Any]) -> Document:
    """`top_data`'s keys (but `include`) over `base`'s mapping; each key keeps its own positions."""
    data = dict(base.data)
    local = {k: v for k, v in top_data.items() if k != INCLUDE_KEY}
    data.update(local)
    out = Document(data=data, file=top.file)
    for src, from_top in ((base, False), (top, True)):
        out.values.update(
            {p: s for p, s in src.values.items() if p and (p[0] in local) == from_top}
        )
        out.keys.update({p: s for p, s in src.keys.items() if (p[0] in local) == from_top})
    out.values[()] = top.span(())
    return out


@dataclass(frozen=True)
class _Loading:
    """One file of an include chain: its real path and the name messages show."""

    path: Path
    shown: str


def _include_target(ref: Any, at: Span, chain: tuple[_Loading, ...]) -> _Loading:
    """The file an `include:` names, refusing bad values, cycles and deep nesting.
    It is shown as the including file's folder joined with the reference."""
    if not isinstance(ref, str) or not ref.strip():
        raise _fail(
            "E011",
            f"`include` takes the path of a YAML file, not {describe(ref) if ref else 'empty text'}",
            at,
        )
    bad = path_text_problem(ref)
    if bad is not None:
        raise _fail("E011", f"`include` path holds {bad}, which no file name should", at)
    parent = chain[-1]
    target = _Loading(
        real_path(parent.path.parent / ref),
        os.path.normpath(os.path.join(os.path.dirname(parent.shown), ref)),
    )
    paths = [c.path for c in chain]
    if target.path in paths:
        loop = [c.shown for c in chain[paths.index(target.path) :]]
        raise _fail("E011", f"include cycle: {' -> '.join([*loop, target.shown])}", at)
    if len(chain) > MAX_INCLUDE_DEPTH:
        raise _fail("E011", f"includes nest deeper than {MAX_INCLUDE_DEPTH} files", at)
    return target


def _fragment(ref: Any, at: Span, chain: tuple[_Loading, ...], budget: _Budget) -> Document:
    """Load an included VM file (itself perhaps including a base VM file)."""
    target = _include_target(ref, at, chain)
    try:
        doc = load_fragment(target.path, target.shown, at, budget)
    except DiagnosticError as e:
        raise _include_failed(e, ref, at, target.shown) from None
    if not isinstance(doc.data, dict):
        raise _fail(
            "E010",
            f"an included VM file must be a mapping, not {describe(doc.data)}",
            doc.span(()),
        )
    if INCLUDE_KEY not in doc.data:
        return doc
    inner = _fragment(doc.data[INCLUDE_KEY], doc.span((INCLUDE_KEY,)), (*chain, target), budget)
    return _overlay(inner, doc, doc.data)


def _expand_includes(doc: Document, top: _Loading, budget: _Budget) -> None:
    """Replace every `- include: FILE` VM entry by the file's mapping, under the entry's own keys."""
    vms = doc.data.get("vms")
    if not isinstance(vms, list):
        return
    for i, entry in enumerate(vms):
        if not (isinstance(entry, dict) and INCLUDE_KEY in entry):
            continue
        prefix: PathKey = ("vms", i)
        at = doc.span((*prefix, INCLUDE_KEY))
        included = _fragment(entry[INCLUDE_KEY], at, (top,), budget)
        merged = _overlay(included, _subdoc(doc, prefix), entry)
        for table in (doc.values, doc.keys):
            for p in [p for p in table if p[:2] == prefix and len(p) > 2]:
                del table[p]
        _graft(doc, merged, prefix)
        vms[i] = merged.data


def _include_failed(e: DiagnosticError, ref: str, at: Span, shown: str) -> DiagnosticError:
    """Errors in an included file keep their own position; unreadable ones point at the include."""
    out = []
    for d in e.diagnostics:
        if d.code in ("E001", "E002", "E003"):
            reason = d.message.replace(f": {shown}", "").replace(f" {shown}:", " it:")
            out.append(Diagnostic("E011", f"cannot include '{ref}': {reason}", at, hint=d.hint))
        else:
            out.append(d)
    return DiagnosticError(out)


def load_document(path: str | Path) -> Document:
    """Load a system file with its includes; raise `DiagnosticError` on any problem."""
    p = Path(path)
    shown = shown_path(str(path))
    budget = _Budget()
    doc = load_fragment(p, shown, None, budget)
    if not isinstance(doc.data, dict):
        raise _fail(
            "E010",
            f"the top level of a system file must be a mapping, not {describe(doc.data)}",
            doc.span(()),
            hint="start with `name:`, `arch:`, `platform:` and `vms:`",
        )
    _expand_includes(doc, _Loading(Path(os.path.realpath(p)), shown), budget)
    return doc


def load_vm_document(path: str | Path) -> Document:
    """Load a VM file (what a system's `include:` names) on its own, with the base VM file it
    may itself include; raise `DiagnosticError` on any problem."""
    p = Path(path)
    shown = shown_path(str(path))
    budget = _Budget()
    doc = load_fragment(p, shown, None, budget)
    if not isinstance(doc.data, dict):
        raise _fail("E010", f"a VM file must be a mapping, not {describe(doc.data)}", doc.span(()))
    if INCLUDE_KEY not in doc.data:
        return doc
    top = _Loading(Path(os.path.realpath(p)), shown)
    inner = _fragment(doc.data[INCLUDE_KEY], doc.span((INCLUDE_KEY,)), (top,), budget)
    return _overlay(inner, doc, doc.data)
