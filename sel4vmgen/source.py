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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sel4vmgen.diagnostics import Diagnostic, DiagnosticError, Span

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 4 * 1024 * 1024
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


def read_text(path: Path, shown: str, at: Span | None = None) -> str:
    """Read a file as UTF-8 text, refusing directories, huge files and binary data."""
    where = at or Span(shown, 1, 1)
    try:
        if not path.exists():
            raise _fail("E001", f"file not found: {shown}", at)
        if not path.is_file():
            raise _fail("E002", f"not a regular file: {shown}", at)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _fail(
                "E005",
                f"file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes",
                where,
            )
        raw = path.read_bytes()
    except OSError as e:
        raise _fail("E003", f"cannot read {shown}: {e.strerror or e}", at) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
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


def parse_yaml(text: str, shown: str) -> Any:
    """Parse one YAML document with the round-trip loader (which keeps positions)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        docs = list(yaml.load_all(text))
    except (MarkedYAMLError, YAMLError) as e:
        raise _yaml_error(e, shown) from None
    except RecursionError:
        raise _fail("E008", f"nesting deeper than {MAX_DEPTH} levels", Span(shown, 1, 1)) from None
    except (ValueError, TypeError, OverflowError) as e:
        raise _fail("E006", f"YAML value cannot be read: {e}", Span(shown, 1, 1)) from None
    if not docs or (len(docs) == 1 and docs[0] is None and not text.strip("\ufeff \t\r\n")):
        raise _fail(
            "E009", "the file is empty", Span(shown, 1, 1), hint="a system file is a YAML mapping"
        )
    if len(docs) > 1:
        raise _fail(
            "E012", f"the file holds {len(docs)} YAML documents; one is expected", Span(shown, 1, 1)
        )
    return docs[0]


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
            key = _scalar(k)
            if not isinstance(key, str | int | bool) or isinstance(key, float):
                raise _fail("E103", f"mapping key {k!r} must be a plain word", self.doc.span(path))
            if isinstance(key, bool):
                key = str(key).lower()
            sub = (*path, key)
            if lc is not None:
                try:
                    kl, kc = lc.key(k)
                    vl, vc = lc.value(k)
                    self.doc.keys[sub] = Span(self.shown, kl + 1, kc + 1)
                    self.doc.values[sub] = Span(self.shown, vl + 1, vc + 1)
                except (KeyError, TypeError, AttributeError):
                    pass
            out[key] = self.convert(v, sub, depth + 1, stack)
        return out

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
    if isinstance(value, bytes):
        return value.decode("latin-1")
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


def _expand_includes(doc: Document, base: Path, chain: tuple[Path, ...], budget: _Budget) -> None:
    """Replace every `- include: FILE` VM entry by the file's mapping, merged under local keys."""
    vms = doc.data.get("vms") if isinstance(doc.data, dict) else None
    if not isinstance(vms, list):
        return
    for i, entry in enumerate(vms):
        if not (isinstance(entry, dict) and INCLUDE_KEY in entry):
            continue
        at = doc.span(("vms", i, INCLUDE_KEY))
        ref = entry[INCLUDE_KEY]
        if not isinstance(ref, str) or not ref or "\x00" in ref:
            raise _fail("E011", "`include` takes the path of a YAML file", at)
        target = (base.parent / ref).resolve()
        if target in chain:
            raise _fail("E011", f"include cycle: {ref} is already being loaded", at)
        if len(chain) > MAX_INCLUDE_DEPTH:
            raise _fail("E011", f"includes nest deeper than {MAX_INCLUDE_DEPTH} files", at)
        shown = display_path(target)
        try:
            sub = load_fragment(target, shown, at, budget)
        except DiagnosticError as e:
            raise _include_failed(e, ref, at) from None
        if not isinstance(sub.data, dict):
            raise _fail("E010", "an included VM file must be a YAML mapping", sub.span(()))
        _expand_includes(sub, target, (*chain, target), budget)
        merged = dict(sub.data)
        prefix: PathKey = ("vms", i)
        stale = [p for p in list(doc.values) if p[:2] == prefix and len(p) > 2]
        local = {p: doc.values[p] for p in stale}
        local_keys = {p: doc.keys[p] for p in list(doc.keys) if p[:2] == prefix and len(p) > 2}
        _graft(doc, sub, prefix)
        for k, v in entry.items():
            if k != INCLUDE_KEY:
                merged[k] = v
        doc.values.update({p: s for p, s in local.items() if p[2] != INCLUDE_KEY})
        doc.keys.update({p: s for p, s in local_keys.items() if p[2] != INCLUDE_KEY})
        vms[i] = merged


def _include_failed(e: DiagnosticError, ref: str, at: Span) -> DiagnosticError:
    """Errors in an included file keep their own position; unreadable ones point at the include."""
    out = []
    for d in e.diagnostics:
        if d.code in ("E001", "E002", "E003"):
            out.append(Diagnostic("E011", f"cannot include {ref}: {d.message}", at, hint=d.hint))
        else:
            out.append(d)
    return DiagnosticError(out)


def load_document(path: str | Path) -> Document:
    """Load a system file with its includes; raise `DiagnosticError` on any problem."""
    p = Path(path)
    shown = str(path)
    budget = _Budget()
    doc = load_fragment(p, shown, None, budget)
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__}"
        raise _fail(
            "E010",
            f"the top level of a system file must be a mapping, not {kind}",
            doc.span(()),
            hint="start with `name:`, `arch:`, `platform:` and `vms:`",
        )
    _expand_includes(doc, p.resolve(), (p.resolve(),), budget)
    return doc
