"""Writing a generated application: safe paths, atomic replacement, manifest, check.

`write_tree(out_dir, files, ...)` renders nothing; it takes the finished
`{relative path: text}` map and puts it in place so that a reader sees the
old tree or the new one, never a mix:

1. every relative path is checked (`safe_relpath`): not absolute, no `..`,
   no backslash or NUL, and it must not pass through a symlink or a file of
   the existing output folder;
2. files the user edited since the last run (their SHA-256 differs from the
   previous `sel4vmgen-manifest.json`) or files sel4vmgen never wrote are
   not overwritten without `force`; the error names them;
3. an existing `out_dir` must be empty or hold a `sel4vmgen-manifest.json`
   (a folder sel4vmgen wrote); a file system root, the user's home folder
   and a path below a file are never output folders, whatever `force` says;
4. everything is written into a fresh temporary folder beside `out_dir`
   (same file system), files, symlinks (as links, never followed) and empty
   folders the user added are copied along, then the old folder is renamed
   aside, the new one renamed into place, the old removed.  A FIFO, socket
   or device in the folder cannot be carried over, so the write is refused.

`check_tree(out_dir, files)` writes nothing and lists the paths that differ.
The manifest holds the tool version, the input's hash and every file's
SHA-256, in sorted order, so the same input gives byte-identical output.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MANIFEST = "sel4vmgen-manifest.json"
MANIFEST_FORMAT = 1
MANIFEST_CAP = 16 * 1024 * 1024


class WriteError(Exception):
    """The output folder cannot be written as asked; `paths` names the files concerned."""

    def __init__(self, message: str, paths: tuple[str, ...] = (), *, kind: str = "unsafe") -> None:
        super().__init__(message)
        self.paths = paths
        self.kind = kind  # "unsafe" (a path), "edited" (user changes), "folder" (the output folder)


@dataclass(frozen=True)
class WriteResult:
    """What a write did."""

    out_dir: Path
    files: tuple[str, ...]  # every file of the new tree that sel4vmgen owns, manifest included
    changed: tuple[str, ...]  # files whose content is new or different
    removed: tuple[str, ...]  # files of the previous run no longer generated


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_relpath(rel: str) -> PurePosixPath:
    """`rel` as a normalised relative path, or `WriteError` if it could leave the folder."""
    if not rel or "\x00" in rel or "\\" in rel:
        raise WriteError(f"refusing to write {rel!r}: empty, NUL or backslash in the path", (rel,))
    p = PurePosixPath(rel)
    if p.is_absolute() or rel.startswith("/"):
        raise WriteError(f"refusing to write {rel!r}: the path is absolute", (rel,))
    if any(part in ("..", ".", "") for part in rel.split("/")):
        raise WriteError(f"refusing to write {rel!r}: '..', '.' or an empty part", (rel,))
    return p


def manifest_text(files: Mapping[str, bytes], version: str, input_sha256: str) -> str:
    """The manifest for a tree: stable key order, trailing newline."""
    body = {
        "format": MANIFEST_FORMAT,
        "tool": "sel4vmgen",
        "version": version,
        "input_sha256": input_sha256,
        "files": {k: sha256(files[k]) for k in sorted(files)},
    }
    return json.dumps(body, indent=2) + "\n"


def encoded(files: Mapping[str, str], version: str, input_sha256: str) -> dict[str, bytes]:
    """Every file as bytes, the manifest added; paths checked."""
    out: dict[str, bytes] = {}
    for rel in sorted(files):
        key = str(safe_relpath(rel))
        if key == MANIFEST or key in out:
            raise WriteError(f"refusing to write {rel!r}: reserved or duplicate path", (rel,))
        out[key] = files[rel].encode("utf-8")
    out[MANIFEST] = manifest_text(out, version, input_sha256).encode("utf-8")
    return out


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def previous_manifest(out_dir: Path) -> dict[str, str] | None:
    """`{path: sha256}` from the existing manifest, or None when there is none or it is not one
    sel4vmgen wrote: not a regular file (a symlink, a FIFO), too large, not JSON, another
    format or tool, a path that could leave the folder, or a value that is not a SHA-256."""
    from sel4vmgen.safeio import FileProblem, read_regular

    path = out_dir / MANIFEST
    if path.is_symlink():
        return None
    try:
        data = json.loads(read_regular(path, MANIFEST_CAP).decode("utf-8"))
    except (FileProblem, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    files = data.get("files")
    if data.get("tool") != "sel4vmgen" or not isinstance(files, dict):
        return None
    for rel, digest in files.items():
        if not isinstance(digest, str) or not _SHA256_RE.match(digest) or rel == MANIFEST:
            return None
        try:
            safe_relpath(rel)
        except WriteError:
            return None
    return dict(files)


def trusted(out_dir: Path, old: Mapping[str, str]) -> set[str]:
    """The files of the previous manifest that sel4vmgen may replace or remove: those still
    holding the content the manifest names.  Anything else listed (edited since, or a user's
    file the manifest names with another content) is the user's and is never removed."""
    return {rel for rel, digest in old.items() if _file_digest(out_dir / rel) == digest}


def _inside(out_dir: Path, rel: str) -> bool:
    """Whether `out_dir/rel` stays inside `out_dir` when every existing symlink is followed."""
    root = os.path.realpath(out_dir)
    target = os.path.realpath(out_dir / rel)
    return target == root or target.startswith(root + os.sep)


def _file_digest(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes()) if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


def check_paths(out_dir: Path, new: Mapping[str, bytes]) -> None:
    """Refuse any path that would pass through a symlink or a non-folder of the existing tree."""
    if not out_dir.exists():
        return
    for rel in new:
        parts = PurePosixPath(rel).parts
        for i in range(1, len(parts) + 1):
            p = out_dir.joinpath(*parts[:i])
            if p.is_symlink():
                raise WriteError(
                    f"refusing to write {rel}: {'/'.join(parts[:i])} is a symlink", (rel,)
                )
            if i < len(parts) and p.exists() and not p.is_dir():
                raise WriteError(
                    f"refusing to write {rel}: {'/'.join(parts[:i])} is not a folder", (rel,)
                )
        if not _inside(out_dir, rel):
            raise WriteError(f"refusing to write {rel}: it resolves outside {out_dir}", (rel,))


def blocked(out_dir: Path, new: Mapping[str, bytes]) -> tuple[str, ...]:
    """Files that would be overwritten or removed although the user edited or added them."""
    if not out_dir.exists():
        return ()
    old = previous_manifest(out_dir) or {}
    found: list[str] = []
    for rel in sorted(set(old) | set(new)):
        if rel == MANIFEST:
            continue
        digest = _file_digest(out_dir / rel)
        if digest is None:
            continue  # absent: nothing to lose
        if rel in old and digest != old[rel]:
            found.append(rel)  # edited since the last run
        elif rel not in old and digest != sha256(new[rel]):
            found.append(rel)  # never written by sel4vmgen, and we would change it
    return tuple(found)


def check_tree(
    out_dir: Path, files: Mapping[str, str], version: str, input_sha256: str
) -> tuple[str, ...]:
    """Paths whose content differs from what would be generated (missing and stale included)."""
    new = encoded(files, version, input_sha256)
    old = previous_manifest(out_dir) or {}
    differ = [rel for rel, data in new.items() if _file_digest(out_dir / rel) != sha256(data)]
    stale = [rel for rel in old if rel not in new and (out_dir / rel).exists()]
    return tuple(sorted(set(differ) | set(stale)))


def write_tree(
    out_dir: Path,
    files: Mapping[str, str],
    *,
    version: str,
    input_sha256: str,
    force: bool = False,
) -> WriteResult:
    """Replace `out_dir` with `files` (plus the manifest) atomically; see the module docstring.

    When `out_dir` itself is a symlink, the folder it names is the one replaced."""
    out_dir = Path(os.path.realpath(out_dir))
    if out_dir.exists() and not out_dir.is_dir():
        raise WriteError(f"{out_dir} exists and is not a folder", kind="folder")
    _never_an_output_folder(out_dir)
    _parent_is_a_folder(out_dir)
    new = encoded(files, version, input_sha256)
    check_paths(out_dir, new)
    _written_by_sel4vmgen(out_dir)
    _not_the_working_folder(out_dir)
    old = previous_manifest(out_dir) or {}
    changed = tuple(rel for rel, data in new.items() if _file_digest(out_dir / rel) != sha256(data))
    removed = tuple(sorted(rel for rel in trusted(out_dir, old) if rel not in new))
    result = WriteResult(out_dir, tuple(new), changed, removed)
    if not changed and not removed:
        return result
    keep = _user_entries(out_dir, trusted(out_dir, old) | set(new), set(old) | set(new))
    if not force:
        edited = blocked(out_dir, new)
        if edited:
            raise WriteError(
                "files in the output folder were edited or not written by sel4vmgen; "
                "use --force to overwrite them: " + ", ".join(edited),
                edited,
                kind="edited",
            )
    _replace(out_dir, new, keep=keep)
    return result


def _never_an_output_folder(out_dir: Path) -> None:
    """A file system root or the home folder is never replaced by a generated app."""
    if out_dir == out_dir.parent:
        why = "the root folder"
    elif os.path.ismount(out_dir):
        why = "a file system root"
    elif out_dir == _home():
        why = "your home folder"
    else:
        return
    raise WriteError(
        f"refusing to use {out_dir} as the output folder: it is {why}; "
        "choose an empty or new folder",
        kind="folder",
    )


def _home() -> Path | None:
    try:
        return Path(os.path.realpath(Path.home()))
    except (RuntimeError, KeyError, OSError):
        return None


def _parent_is_a_folder(out_dir: Path) -> None:
    """The nearest existing folder above `out_dir` must be a folder, not a file."""
    for parent in out_dir.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise WriteError(
                    f"cannot create the output folder {out_dir}: "
                    f"{parent} exists and is not a folder",
                    kind="folder",
                )
            return


def _written_by_sel4vmgen(out_dir: Path) -> None:
    """An existing non-empty folder must hold a manifest: anything else is not ours to replace."""
    if not out_dir.is_dir():
        return
    if previous_manifest(out_dir) is not None:
        return
    try:
        with os.scandir(out_dir) as entries:
            empty = next(entries, None) is None
    except OSError as e:
        raise WriteError(
            f"cannot read the output folder {out_dir}: {e.strerror}", kind="folder"
        ) from e
    if not empty:
        raise WriteError(
            f"refusing to write into {out_dir}: the folder is not empty and was not written "
            f"by sel4vmgen (it has no {MANIFEST}); choose an empty or new folder",
            kind="folder",
        )


def _not_the_working_folder(out_dir: Path) -> None:
    """Replacing the folder a shell stands in would leave that shell in a deleted folder."""
    here = os.path.realpath(os.getcwd())
    target = os.path.realpath(out_dir)
    if here == target or here.startswith(target + os.sep):
        raise WriteError(
            f"the output folder {out_dir} is the current folder or holds it; "
            "sel4vmgen replaces the whole folder, so write to a folder below it",
            kind="folder",
        )


def _user_entries(out_dir: Path, owned: set[str], listed: set[str]) -> list[str]:
    """What in `out_dir` sel4vmgen does not own, to carry over: files, symlinks (never followed)
    and empty folders (but the folders of `listed` files, which were made for them).  A FIFO,
    socket or device cannot be carried over: `WriteError`."""
    if not out_dir.is_dir():
        return []
    ours = {str(parent) for rel in listed for parent in PurePosixPath(rel).parents}
    found: list[str] = []

    def unreadable(e: OSError) -> None:
        raise WriteError(
            f"cannot read {e.filename} in the output folder: {e.strerror}", kind="folder"
        )

    for dirpath, dirnames, filenames in os.walk(out_dir, onerror=unreadable):
        base = Path(dirpath)
        rel_dir = base.relative_to(out_dir).as_posix()
        if base != out_dir and not dirnames and not filenames and rel_dir not in ours:
            found.append(rel_dir)  # an empty folder the user made
        for d in list(dirnames):
            if (base / d).is_symlink():
                found.append((base / d).relative_to(out_dir).as_posix())
                dirnames.remove(d)
        for f in filenames:
            path = base / f
            rel = path.relative_to(out_dir).as_posix()
            if not path.is_symlink() and not path.is_file():
                raise WriteError(
                    f"refusing to replace {out_dir}: {rel} is not a regular file, folder or "
                    "symlink (a FIFO, socket or device), so it cannot be carried over; "
                    "move it out of the output folder",
                    (rel,),
                    kind="folder",
                )
            if rel not in owned:
                found.append(rel)
    return sorted(found)


def _replace(out_dir: Path, new: Mapping[str, bytes], keep: list[str]) -> None:
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=parent))
    except OSError as e:
        raise WriteError(
            f"cannot create the output folder beside {out_dir}: {e.strerror}", kind="folder"
        ) from e
    try:
        for rel, data in new.items():
            _write_file(tmp, rel, data)
        for rel in keep:
            _copy_entry(out_dir / rel, tmp / rel)
        mode = out_dir.stat().st_mode & 0o7777 if out_dir.is_dir() else 0o777 & ~_umask()
        os.chmod(tmp, mode)
        _swap(tmp, out_dir)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise WriteError(f"cannot write {out_dir}: {e.strerror or e}", kind="folder") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_file(root: Path, rel: str, data: bytes) -> None:
    """Create `root/rel` (new, never through a symlink) with `data`."""
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(root, rel):
        raise WriteError(f"refusing to write {rel}: it resolves outside the output folder", (rel,))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())  # on disk before the rename makes it visible


def _copy_entry(src: Path, dst: Path) -> None:
    """Copy a file, a symlink (as a link: never followed) or an empty folder."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        dst.mkdir(exist_ok=True)
        shutil.copystat(src, dst)
    elif src.is_file():
        shutil.copy2(src, dst, follow_symlinks=False)
    else:
        raise WriteError(f"{src} changed while being copied", kind="folder")


def _swap(tmp: Path, out_dir: Path) -> None:
    """Put `tmp` in place of `out_dir`.  An existing `out_dir` is exchanged with `tmp` in one
    step (Linux renameat2 RENAME_EXCHANGE), so no moment leaves `out_dir` missing, and the old
    tree (now at `tmp`) is removed; where the system cannot exchange, `out_dir` is renamed
    aside, `tmp` renamed into place, and the old tree removed."""
    from sel4vmgen.safeio import RENAME_NOREPLACE, exchange, rename2

    if not os.path.lexists(out_dir):
        if not rename2(tmp, out_dir, RENAME_NOREPLACE):
            os.rename(tmp, out_dir)
        return
    if exchange(tmp, out_dir):
        shutil.rmtree(tmp, ignore_errors=True)
        return
    aside = out_dir.parent / f".{out_dir.name}.old-{os.urandom(4).hex()}"
    os.rename(out_dir, aside)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(aside, out_dir)
        raise
    shutil.rmtree(aside, ignore_errors=True)
