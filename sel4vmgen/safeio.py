"""Safe file access for every command: bounded reads of regular files, atomic writes.

Reading (`read_regular`): a path is opened with `O_NONBLOCK` (so a FIFO never
blocks the open) and `O_NOCTTY`, the opened descriptor is `fstat`ed, and only a
regular file under the caller's size cap is read -- at most cap + 1 bytes, since
`st_size` can understate.  A directory, FIFO, socket, device, symlink loop or
over-sized file raises `FileProblem` with a `kind` the caller turns into its own
positioned diagnostic.  `inspect_regular` does the same without reading, for
files whose size alone matters (guest images).

Writing (`atomic_write`): the data goes to a fresh temporary file in the target's
folder (`O_EXCL | O_NOFOLLOW`), is flushed to disk and renamed over the target,
so a reader sees the old file or the new one.  A target that is a symlink or not
a regular file is refused.  `exchange(a, b)` swaps two paths atomically with
Linux `renameat2(RENAME_EXCHANGE)` and says False where the system has none.

`path_text_problem(text)` says what in a path's text no file name should hold:
a lone surrogate, NUL, a control character, a line or paragraph separator, or a
bidirectional control.

Recording (`recording()`): while it is open, every read above (and every
`is_regular` test and `real_path` resolution, which the loader and the rules use
for the same purpose) notes a `Read`: the path, the file's state (mode, size,
mtime_ns, inode; None when it was not there) and, for a file read whole, a
digest of its bytes.  `unchanged(read)` says whether the file system still
shows the same; the result cache (`app/resultcache.py`) keys on them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TEXT_CAP = 4 * 1024 * 1024  # system files, includes, component sources
PLAN_CAP = 16 * 1024 * 1024  # a plan.json (the largest examples' are below 100 KiB)
IMAGE_CAP = 1 << 32  # guest images: camkes-vm's file server and loaders take 32-bit sizes

# Characters no path (and no text copied into C, CAmkES or CMake) may hold beside
# the C0/C1 controls: line and paragraph separators and the bidirectional controls
# (Unicode TR9: LRM, RLM, ALM, embeddings, overrides and isolates).
SEPARATORS = frozenset("\u2028\u2029")
BIDI = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class FileProblem(Exception):
    """Why a path cannot be used: `kind` is one of missing, loop, directory, fifo,
    socket, device, other, large, denied, io; `detail` says more."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return self.detail


_KINDS = (
    (stat.S_ISDIR, "directory", "a folder"),
    (stat.S_ISFIFO, "fifo", "a FIFO"),
    (stat.S_ISSOCK, "socket", "a socket"),
    (stat.S_ISCHR, "device", "a device"),
    (stat.S_ISBLK, "device", "a device"),
)


def kind_of(mode: int) -> tuple[str, str]:
    """(kind, words) for a file mode that is not a regular file."""
    for test, kind, words in _KINDS:
        if test(mode):
            return kind, words
    return "other", "not a regular file"


# ---------------------------------------------------------------- recording

State = tuple[int, int, int, int]  # (mode: type and permissions, size, mtime_ns, inode)


@dataclass(frozen=True)
class Read:
    """One thing a check depended on: `path` in the state it had (None: not there), the
    digest of its bytes when it was read whole, or, for a resolution, the path it named."""

    path: str
    state: State | None
    digest: str | None = None
    resolved: str | None = None


class Unrecordable(Exception):
    """A path whose state cannot be told (permission denied on its folder, a symlink loop)."""


_RECORDING: ContextVar[list[Read | None] | None] = ContextVar("sel4vmgen_reads", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[Read | None]]:
    """Note every read made inside the block; a None in the list is a read whose state could
    not be told, which makes the whole record unusable."""
    reads: list[Read | None] = []
    token = _RECORDING.set(reads)
    try:
        yield reads
    finally:
        _RECORDING.reset(token)


def _state(st: os.stat_result) -> State:
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino)


def state_of(path: str) -> State | None:
    """The state of `path` now (following symlinks), None when nothing is there."""
    try:
        return _state(os.stat(path))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as e:
        raise Unrecordable(str(e)) from None


def digest(data: bytes) -> str:
    """The digest a whole-file read is recorded with."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _note(path: Path, st: os.stat_result | None = None, data: bytes | None = None) -> None:
    """Record a read of `path` when a recording is open (`st`: the opened file's status)."""
    reads = _RECORDING.get()
    if reads is None:
        return
    where = os.path.abspath(path)
    try:
        state = _state(st) if st is not None else state_of(where)
    except Unrecordable:
        reads.append(None)
        return
    reads.append(Read(where, state, digest(data) if data is not None else None))


def unchanged(read: Read) -> bool:
    """Whether the file system still shows what `read` recorded."""
    try:
        if read.resolved is not None:
            return os.path.realpath(read.path) == read.resolved
        if state_of(read.path) != read.state:
            return False
        if read.digest is None:
            return True
        return digest(read_regular(Path(read.path), TEXT_CAP)) == read.digest
    except (Unrecordable, FileProblem, OSError, ValueError):
        return False


def is_regular(path: Path) -> bool:
    """Whether `path` is (through symlinks) a regular file; recorded like a read."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        _note(path)
        return False
    _note(path, st)
    return stat.S_ISREG(st.st_mode)


def real_path(path: str | Path) -> Path:
    """`path` with its symlinks resolved, absolute; recorded, since what it names can change."""
    resolved = os.path.realpath(path)
    reads = _RECORDING.get()
    if reads is not None:
        reads.append(Read(os.path.abspath(path), None, resolved=resolved))
    return Path(resolved)


def _os_problem(e: OSError) -> FileProblem:
    if e.errno == errno.ENOENT:
        return FileProblem("missing", "file not found")
    if e.errno == errno.ELOOP:
        return FileProblem("loop", "a symlink loop")
    if e.errno == errno.ENOTDIR:
        return FileProblem("missing", "a folder on its path is a file")
    if e.errno == errno.EISDIR:
        return FileProblem("directory", "a folder")
    if e.errno in (errno.EACCES, errno.EPERM):
        return FileProblem("denied", "permission denied")
    if e.errno == errno.ENAMETOOLONG:
        return FileProblem("missing", "the path is too long")
    return FileProblem("io", e.strerror or str(e))


def _open(path: Path) -> int:
    """A descriptor for reading `path`; a path that cannot be opened is recorded as it is."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        return os.open(path, flags)
    except OSError as e:
        _note(path)
        raise _os_problem(e) from None
    except (ValueError, UnicodeEncodeError):
        _note(path)
        raise FileProblem("missing", "the path cannot name a file") from None


def _regular(fd: int, cap: int) -> os.stat_result:
    """The status of the opened regular file, or `FileProblem`."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        kind, words = kind_of(st.st_mode)
        raise FileProblem(kind, words)
    if st.st_size > cap:
        raise FileProblem("large", f"{st.st_size} bytes; the limit is {cap} bytes")
    return st


def read_regular(path: Path, cap: int) -> bytes:
    """The bytes of the regular file `path`, at most `cap` of them; `FileProblem` otherwise."""
    fd = _open(path)
    try:
        st = _regular(fd, cap)
        chunks: list[bytes] = []
        got = 0
        while got <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > cap:
            raise FileProblem("large", f"over the limit of {cap} bytes")
        data = b"".join(chunks)
        _note(path, st, data)
        return data
    except FileProblem:
        _note(path, os.fstat(fd))
        raise
    except OSError as e:
        _note(path, os.fstat(fd))
        raise _os_problem(e) from None
    finally:
        os.close(fd)


def inspect_regular(path: Path, cap: int, head: int = 0) -> tuple[int, bytes]:
    """(size, first `head` bytes) of the regular file `path`; `FileProblem` otherwise."""
    fd = _open(path)
    try:
        _note(path, os.fstat(fd))
        size = _regular(fd, cap).st_size
        return size, os.read(fd, head) if head else b""
    except OSError as e:
        raise _os_problem(e) from None
    finally:
        os.close(fd)


def path_text_problem(text: str) -> str | None:
    """What in `text` no path may hold, in words, or None."""
    for ch in text:
        o = ord(ch)
        if 0xD800 <= o <= 0xDFFF:
            return f"a lone surrogate (\\u{o:04x})"
        if o == 0:
            return "a NUL character"
        if o < 0x20 or 0x7F <= o <= 0x9F:
            return f"the control character \\x{o:02x}"
        if ch in SEPARATORS:
            return f"the line separator \\u{o:04x}"
        if ch in BIDI:
            return f"the bidirectional control \\u{o:04x}"
    return None


# ---------------------------------------------------------------- writing


def writable_target(path: Path) -> os.stat_result | None:
    """Refuse a target that is a symlink or exists and is not a regular file; the target's
    status when it exists."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _os_problem(e) from None
    if stat.S_ISLNK(st.st_mode):
        raise FileProblem("symlink", "it is a symlink, and no output is written through one")
    if not stat.S_ISREG(st.st_mode):
        kind, words = kind_of(st.st_mode)
        raise FileProblem(kind, f"it is {words}, not a regular file")
    return st


def atomic_write(path: Path, data: bytes, *, make_parents: bool = False) -> None:
    """Replace (or create) the regular file `path` with `data` atomically."""
    path = Path(path)
    before = writable_target(path)
    parent = path.parent
    try:
        if make_parents:
            parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o666)
    except OSError as e:
        raise FileProblem("io", e.strerror or str(e)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            if before is not None:
                os.fchmod(f.fileno(), before.st_mode & 0o7777)  # keep the file's mode
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        writable_target(path)  # not swapped for a symlink or FIFO meanwhile
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise FileProblem("io", e.strerror or str(e)) from None
        raise


# ---------------------------------------------------------------- the user's cache

NO_CACHE_ENV = "SEL4VMGEN_NO_CACHE"


def caching() -> bool:
    """Whether the caches are on: SEL4VMGEN_NO_CACHE unset, empty or 0."""
    return os.environ.get(NO_CACHE_ENV, "") in ("", "0")


def cache_folder(kind: str, make: bool = False) -> Path | None:
    """`$XDG_CACHE_HOME/sel4vmgen/<kind>` (else `~/.cache/...`), made when `make`; None when
    caching is off, when `sel4vmgen` or `<kind>` is a symlink or not a folder, or when it is
    not there (and not to be made) or cannot be made."""
    if not caching():
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    where = Path(base) / "sel4vmgen" / kind
    if make:
        try:
            os.makedirs(base, 0o700, exist_ok=True)
        except OSError:
            return None
    for p in (where.parent, where):
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            if not make:
                return None
            try:
                os.mkdir(p, 0o700)
            except OSError:
                return None
            continue
        except OSError:
            return None
        if not stat.S_ISDIR(st.st_mode):  # a symlink (lstat) or a file
            return None
    return where


# ---------------------------------------------------------------- renameat2

_AT_FDCWD = -100
RENAME_NOREPLACE = 1  # linux/fs.h
RENAME_EXCHANGE = 2


@cache
def _renameat2() -> Any:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def rename2(src: Path, dst: Path, flags: int) -> bool:
    """`renameat2(src, dst, flags)`: True when done, False when the system has no such call
    (or the file system does not support the flag); other failures raise OSError."""
    import ctypes

    fn = _renameat2()
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def exchange(a: Path, b: Path) -> bool:
    """Swap `a` and `b` atomically; False when the system cannot (then nothing changed)."""
    return rename2(a, b, RENAME_EXCHANGE)
