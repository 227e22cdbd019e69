"""`generate --check`'s picture of drift: a unified diff of each file that differs.

Given the folder, the bytes each file would hold and the paths that differ,
`drift_diff` shows what is on disk (`---`) against what would be generated
(`+++`), in `diff -u` form, with no more than `limit` lines in all: the rest
is counted, not shown.  A missing file, a file left over from an earlier run,
one that is not UTF-8 text or cannot be read, and the manifest (whose lines
are the other files' hashes) are named with what is the matter, not diffed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from sel4vmgen.app.writer import MANIFEST
from sel4vmgen.safeio import TEXT_CAP, FileProblem, read_regular

DIFF_LINES = 400  # lines of diff printed at most; enough for a few edits, short of a flood


def drift_diff(
    out_dir: Path, expected: Mapping[str, bytes], differ: Sequence[str], limit: int = DIFF_LINES
) -> str:
    """The unified diff of every path in `differ`, cut after `limit` lines, as text."""
    lines: list[str] = []
    hidden = 0
    hidden_files: set[str] = set()
    for rel in differ:
        for line in _file_diff(out_dir, rel, expected.get(rel)):
            if len(lines) < limit:
                lines.append(line)
            else:
                hidden += 1
                hidden_files.add(rel)
    if hidden:
        lines.append(
            f"... {hidden} more line(s) of diff in {len(hidden_files)} file(s) not shown; "
            "run generate without --check to bring the folder up to date"
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _file_diff(out_dir: Path, rel: str, new: bytes | None) -> Iterator[str]:
    """The diff lines of one file, or one line saying why there is no diff."""
    path = out_dir / rel
    if rel == MANIFEST:
        yield f"{path}: the manifest differs (it lists the files' hashes)"
        return
    old = _read(path)
    if isinstance(old, str):  # a reason: unreadable
        yield f"{path}: {old}; not diffed"
        return
    if old is None:
        yield f"{path}: missing"
        return
    if new is None:
        yield f"{path}: left from an earlier run; generating removes it"
        return
    before, after = _text(old), _text(new)
    if before is None or after is None:
        yield f"{path}: not UTF-8 text; not diffed"
        return
    yield from difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"{path} (on disk)",
        f"{path} (would be generated)",
    )


def _read(path: Path) -> bytes | str | None:
    """The file's bytes; None when it does not exist; a reason when it cannot be read."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        return read_regular(path, TEXT_CAP)
    except FileProblem as e:
        return str(e.detail)


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
