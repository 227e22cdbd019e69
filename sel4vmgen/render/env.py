"""The Jinja2 environment every backend renders with, and its few filters.

Templates only FORMAT a plan, so the environment is deliberately small: a
sandbox with no globals and no access to Python builtins, `StrictUndefined`
(a misspelt field is an error, never an empty string), no autoescaping, and
an explicit list of filters -- `hex`, `c_string`, `camkes_string`,
`cmake_quote` and a handful of Jinja's own list helpers.  Each escaping
filter either produces a literal the target language reads back as exactly
the input, or raises `RenderError`; it never lets a value break out of its
literal.

Templates are found in the installed package (`sel4vmgen/templates`, put
there by the wheel) or, in a source checkout, in the top-level `templates/`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.bccache
from jinja2.sandbox import ImmutableSandboxedEnvironment

if TYPE_CHECKING:
    from sel4vmgen.plan.model import OverlayFile


class RenderError(Exception):
    """A value cannot be written safely, or a template failed."""


def template_root() -> Path:
    """The folder that holds `x86/`, `arm/`, ...: packaged copy first, else the source tree."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "templates"
    if packaged.is_dir():
        return packaged
    return here.parent / "templates"


def hex_filter(value: int, width: int = 0) -> str:
    """`0x` and lower-case hex digits, zero-padded to `width` digits."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RenderError(f"hex expects an integer, not {value!r}")
    if value < 0:
        return f"-0x{-value:0{width}x}"
    return f"0x{value:0{width}x}"


_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "?": "\\?"}


def c_string(value: str) -> str:
    """A double-quoted C string literal holding exactly `value` (UTF-8 bytes, octal escapes).

    `?` is escaped so that no trigraph can form; every byte outside printable
    ASCII becomes a three-digit octal escape, so the literal is one line and
    cannot end early, start a comment or continue a preprocessor line.
    """
    if not isinstance(value, str):
        raise RenderError(f"c_string expects text, not {value!r}")
    out: list[str] = []
    for byte in value.encode("utf-8"):
        ch = chr(byte)
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def camkes_string(value: str) -> str:
    """A double-quoted CAmkES string literal holding exactly `value`.

    camkes-tool's grammar reads a string as `"[^"]*"` with no escapes
    (camkes/parser/camkes.g `quoted_string`), and the C preprocessor runs
    first and must see one string token.  So the text goes in as it is, and
    what cannot be written is refused: a double quote, a control character
    (it would end or split the token), or an odd run of backslashes at the
    end (the preprocessor would read `\\"` as an escaped quote).
    """
    if not isinstance(value, str):
        raise RenderError(f"camkes_string expects text, not {value!r}")
    bad = [c for c in value if _control(c)]
    if bad:
        raise RenderError(f"a CAmkES string cannot hold the control character {bad[0]!r}")
    if '"' in value:
        raise RenderError(f"a CAmkES string cannot hold a double quote: {value!r}")
    trailing = len(value) - len(value.rstrip("\\"))
    if trailing % 2:
        raise RenderError(f"a CAmkES string cannot end with an odd run of backslashes: {value!r}")
    return '"' + value + '"'


_CMAKE_VAR = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def cmake_quote(value: str, variables: bool = False) -> str:
    """A CMake quoted argument holding exactly `value`.

    `\\`, `"` and `$` are escaped.  A `;` is refused: CMake has no escape that
    yields a bare `;` (`\\;` stays two characters in the value, so a file path
    holding it names another file) and an unescaped one splits the argument
    wherever it is later expanded as a list.  With `variables=True`, references
    of the exact form `${NAME}` are kept (for `${CAMKES_VM_IMAGES_DIR}/...`
    image paths); any other `$` is still escaped.
    """
    if not isinstance(value, str):
        raise RenderError(f"cmake_quote expects text, not {value!r}")
    if ";" in value:
        raise RenderError(f"a ';' cannot be written in a CMake argument: {value[:80]!r}")
    keep = {m.start(): m.group(0) for m in _CMAKE_VAR.finditer(value)} if variables else {}
    out: list[str] = []
    i = 0
    while i < len(value):
        if i in keep:
            out.append(keep[i])
            i += len(keep[i])
            continue
        out.append(_cmake_char(value[i]))
        i += 1
    return '"' + "".join(out) + '"'


def overlay_files(
    files: Iterable[OverlayFile], quote_path: Callable[[str], str]
) -> tuple[tuple[str, str, str], ...]:
    """(name, source, folder) of each file a rootfs overlay adds, CMake-quoted, as
    AddFileToOverlayDir takes them; `quote_path` quotes the source's place in the app."""
    return tuple(
        (
            cmake_quote(f.name),
            quote_path("${CMAKE_CURRENT_SOURCE_DIR}/" + f.source),
            cmake_quote(f.folder),
        )
        for f in files
    )


def _cmake_char(ch: str) -> str:
    if ch in '\\"$':
        return "\\" + ch
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    if _control(ch):
        raise RenderError(f"a CMake argument cannot hold the control character {ch!r}")
    return ch


def _control(ch: str) -> bool:
    """C0/C1 controls, line separators and bidirectional controls (`safeio`)."""
    from sel4vmgen.safeio import BIDI, SEPARATORS

    o = ord(ch)
    return o < 0x20 or 0x7F <= o <= 0x9F or ch in SEPARATORS or ch in BIDI


def c_comment(value: str) -> str:
    """Text safe inside a `/* ... */` or `//` comment: one line, no comment terminator."""
    if not isinstance(value, str):
        raise RenderError(f"c_comment expects text, not {value!r}")
    text = "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in value)
    return text.replace("*/", "* /").replace("/*", "/ *")


_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def xml_attr(value: str) -> str:
    """A double-quoted XML attribute value holding exactly `value` (control characters,
    which XML 1.0 cannot carry, are refused)."""
    if not isinstance(value, str):
        raise RenderError(f"xml_attr expects text, not {value!r}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise RenderError(f"an XML attribute cannot hold a control character: {value!r}")
    return '"' + "".join(_XML_ESCAPES.get(c, c) for c in value) + '"'


def xml_comment(value: str) -> str:
    """Text safe inside an XML comment: one line of printable ASCII, no `--`."""
    text = c_comment(value)
    while "--" in text:
        text = text.replace("--", "- -")
    return text.rstrip("-")


def make_path(value: str) -> str:
    """A file path as a Makefile prerequisite and a C string in a recipe: refused when it
    holds a character make or the shell would read as syntax."""
    if not isinstance(value, str):
        raise RenderError(f"make_path expects text, not {value!r}")
    from sel4vmgen.model.types import make_unsafe

    bad = make_unsafe(value)
    if bad is not None:
        raise RenderError(f"a Makefile path cannot hold {bad!r}: {value[:80]!r}")
    return value


FILTERS: dict[str, Callable[..., Any]] = {
    "hex": hex_filter,
    "c_string": c_string,
    "camkes_string": camkes_string,
    "cmake_quote": cmake_quote,
    "c_comment": c_comment,
    "xml_attr": xml_attr,
    "xml_comment": xml_comment,
    "make_path": make_path,
}
# Jinja's own filters that only format a sequence; nothing else is reachable.
_KEPT_BUILTIN_FILTERS = ("join", "length", "first", "last")


class TemplateCodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in the user's cache folder (`safeio.cache_folder("templates")`),
    so that a start need not compile them again.  Jinja2 names an entry after the template's
    name and file and checks it against the digest of the template's source and the
    Python version; an entry is read with `safeio.read_regular` (never a FIFO, never over
    the cap) and written with `safeio.atomic_write`; one that does not load is compiled
    afresh.  What is rendered is the same either way."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _entry(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / f"{bucket.key}.jinja"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        from sel4vmgen.safeio import PLAN_CAP, FileProblem, read_regular

        try:
            bucket.bytecode_from_string(read_regular(self._entry(bucket), PLAN_CAP))
        except (FileProblem, ValueError, EOFError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        from sel4vmgen.safeio import FileProblem, atomic_write

        try:
            atomic_write(self._entry(bucket), bucket.bytecode_to_string())
        except FileProblem:
            return


def code_cache() -> TemplateCodeCache | None:
    """The compiled-template cache, or None when caching is off or its folder unusable."""
    from sel4vmgen.safeio import cache_folder

    folder = cache_folder("templates", make=True)
    return TemplateCodeCache(folder) if folder is not None else None


@cache
def environment(subdir: str) -> ImmutableSandboxedEnvironment:
    """The environment for one backend's templates (`templates/<subdir>/`)."""
    root = template_root() / subdir
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(root)),
        bytecode_cache=code_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.clear()
    kept = {name: env.filters[name] for name in _KEPT_BUILTIN_FILTERS}
    env.filters.clear()
    env.filters.update(kept)
    env.filters.update(FILTERS)
    return env


def render_template(env: jinja2.Environment, name: str, **values: Any) -> str:
    """Render one template; template errors become `RenderError` naming the template."""
    try:
        return env.get_template(name).render(**values)
    except jinja2.TemplateError as e:
        raise RenderError(f"template {name}: {e}") from e
