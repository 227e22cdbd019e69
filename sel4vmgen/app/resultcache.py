"""The result cache of `validate`: a file's diagnostics kept until anything they came from changes.

What ruff and mypy do for their everyday runs.  An entry is keyed on the tool (the
installed distributions' names and versions, the Python that runs it, and the size and
mtime of each of the package's own files, so an edited source tree or platform file
misses), the working folder and the path as given (diagnostics show it); it holds every
`safeio.Read` the check made (each YAML file with the digest of its bytes, each image
and other file with its type, size, mtime_ns and inode, each path that was not there,
each symlink resolution) and the diagnostics.  A hit re-reads and re-hashes the YAML
files and stats the rest, and imports neither pydantic nor the rules.

Entries live in `safeio.cache_folder("validate")` (`$XDG_CACHE_HOME/sel4vmgen/validate/`,
else `~/.cache/sel4vmgen/...`); `SEL4VMGEN_NO_CACHE=1` or `validate --no-cache` turns the
cache off.  An entry is written atomically (`safeio.atomic_write`); an unreadable, corrupt
or foreign entry is ignored (and then overwritten), never trusted; a cache folder reached
through a symlink is neither read nor written.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sel4vmgen.app.check import Checked
from sel4vmgen.diagnostics import Diagnostic, Severity, Span
from sel4vmgen.safeio import (
    PLAN_CAP,
    FileProblem,
    Read,
    atomic_write,
    cache_folder,
    caching,
    digest,
    read_regular,
    recording,
    unchanged,
)

FORMAT = 1  # the entry layout; a change makes every older entry foreign
PACKAGE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CachedCheck(Checked):
    """A check's outcome read back from the cache: `clean` is what `ok` said when it ran."""

    clean: bool = False

    @property
    def ok(self) -> bool:
        return self.clean


def enabled(no_cache: bool = False) -> bool:
    """Whether the cache is used: not with `--no-cache`, nor with SEL4VMGEN_NO_CACHE set."""
    return not no_cache and caching()


@cache
def tool_fingerprint() -> str:
    """What identifies the running tool: Python, the installed distributions beside it, and
    the package's own files (size, mtime_ns), without importing any of them."""
    import importlib.util

    parts: list[object] = [sys.version, sys.executable]
    spec = importlib.util.find_spec("pydantic")
    if spec is not None and spec.origin:
        site = Path(spec.origin).parent.parent
        parts.append(sorted(n for n in os.listdir(site) if n.endswith(".dist-info")))
    for top, dirs, names in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            st = os.stat(os.path.join(top, name))
            parts.append((os.path.relpath(os.path.join(top, name), PACKAGE), st.st_size))
            parts.append(st.st_mtime_ns)
    return digest(json.dumps(parts).encode())


def _key(path: str) -> str:
    """The entry's name: the working folder and the path as given (fingerprint inside)."""
    return digest(json.dumps([FORMAT, os.getcwd(), path]).encode())


def _read_entry(where: Path, path: str) -> dict[str, Any] | None:
    """The entry's JSON when it is this tool's entry for this path, else None."""
    try:
        data = json.loads(read_regular(where, PLAN_CAP))
    except (FileProblem, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    mine = {"format": FORMAT, "tool": tool_fingerprint(), "cwd": os.getcwd(), "path": path}
    return data if all(data.get(k) == v for k, v in mine.items()) else None


def _span(value: Any) -> Span:
    if not (isinstance(value, dict) and set(value) == {"file", "line", "col"}):
        raise ValueError("not a span")
    file, line, col = value["file"], value["line"], value["col"]
    if not (isinstance(file, str) and type(line) is int and type(col) is int):
        raise ValueError("not a span")
    return Span(file, line, col)


def _diagnostic(d: Any) -> Diagnostic:
    """`Diagnostic.to_dict`'s output read back, every field's type checked."""
    if not isinstance(d, dict):
        raise ValueError("not a diagnostic")
    code, message, hint = d["code"], d["message"], d.get("hint")
    if not (isinstance(code, str) and isinstance(message, str)):
        raise ValueError("not a diagnostic")
    if hint is not None and not isinstance(hint, str):
        raise ValueError("not a hint")
    span = _span({k: d[k] for k in ("file", "line", "col")}) if "file" in d else None
    related = d.get("related", [])
    if not isinstance(related, list):
        raise ValueError("not a list of spans")
    return Diagnostic(
        code, message, span, Severity(d["severity"]), hint, tuple(_span(r) for r in related)
    )


def _reads(value: Any) -> list[Read]:
    """The recorded reads, every field's type checked."""
    out: list[Read] = []
    for r in value:
        path, state, dig, resolved = r
        if not isinstance(path, str) or not all(
            x is None or isinstance(x, str) for x in (dig, resolved)
        ):
            raise ValueError("not a read")
        if state is not None and not (len(state) == 4 and all(type(x) is int for x in state)):
            raise ValueError("not a state")
        fixed = None if state is None else (state[0], state[1], state[2], state[3])
        out.append(Read(path, fixed, dig, resolved))
    return out


def lookup(path: str) -> CachedCheck | None:
    """The cached outcome of checking `path`, when nothing it read has changed since."""
    where = cache_folder("validate")
    if where is None:
        return None
    data = _read_entry(where / f"{_key(path)}.json", path)
    if data is None:
        return None
    try:
        reads = _reads(data["reads"])
        found = tuple(_diagnostic(d) for d in data["diagnostics"])
        clean = data["ok"]
        if not isinstance(clean, bool):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    if not all(unchanged(r) for r in reads):
        return None
    return CachedCheck(path, None, found, clean)


def store(path: str, checked: Checked, reads: list[Read | None]) -> None:
    """Keep `checked` for `path`; nothing is kept when a read's state could not be told, and a
    cache folder that cannot be written is passed over in silence."""
    if any(r is None for r in reads):
        return
    entry = {
        "format": FORMAT,
        "tool": tool_fingerprint(),
        "cwd": os.getcwd(),
        "path": path,
        "ok": checked.ok,
        "reads": [[r.path, r.state, r.digest, r.resolved] for r in reads if r is not None],
        "diagnostics": [d.to_dict() for d in checked.diagnostics],
    }
    where = cache_folder("validate", make=True)
    if where is None:
        return
    try:
        atomic_write(where / f"{_key(path)}.json", json.dumps(entry).encode())
    except FileProblem:
        return


def checked(path: str, check: Callable[[str], Checked], use_cache: bool) -> Checked:
    """`check(path)`, or its cached outcome when nothing it read has changed."""
    if not use_cache:
        return check(path)
    hit = lookup(path)
    if hit is not None:
        return hit
    with recording() as reads:
        result = check(path)
    store(path, result, reads)
    return result
