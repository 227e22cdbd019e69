"""Text the generated app cannot hold (E240), refused where it was written.

The renderers write free text in two kinds of literal, and each refuses what
it cannot write (`render.env`):

- a CAmkES string (`camkes_string`): camkes-tool reads `"[^"]*"` with no
  escapes, after the C preprocessor, so no double quote, no control character
  (C0, DEL, C1 with NEL, U+2028/U+2029, or a bidirectional control, which
  would reorder what a reviewer of the generated file sees) and no odd run of backslashes at the end (the
  preprocessor would read `\\"` as an escaped quote).  A VM's `cmdline` is one
  on both architectures (ARM `vm_image_config.kernel_bootcmdline`, x86
  `kernel_cmdline`), and so is `stdout` on ARM (`kernel_stdout`).
- a CMake argument (`cmake_quote`): no `;` (CMake has no escape that keeps a
  bare one, and an unescaped one splits the argument into a list) and no
  control character other than newline, tab and carriage return, which have
  escapes.  `kernel_options` string values are written so.

Every other text that reaches these literals is refused by the model already:
names are identifiers, file-server names plain file names, image and
component source paths may not hold quotes, backslashes, `;` or control
characters, and DTB paths and compatibles are limited to their own alphabets.

The rule runs for each platform on the VMs as they are there, so a value a
`per_platform` patch sets is refused at its place in the patch, and a base
value every platform replaces is not refused at all.
"""

from __future__ import annotations

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.rules.context import Ctx, error
from sel4vmgen.safeio import BIDI, SEPARATORS
from sel4vmgen.source import PathKey

_NAMED = {
    '"': "a double quote",
    "\n": "a newline (\\n)",
    "\t": "a tab (\\t)",
    "\r": "a carriage return (\\r)",
    ";": "a ';'",
}
# Control characters a CMake quoted argument writes as escapes (render.env._cmake_char).
_CMAKE_ESCAPED = frozenset("\n\t\r")
_NO_CAMKES_ESCAPES = "camkes-tool has no escapes"


def _control(ch: str) -> bool:
    """A C0 or C1 control (NEL is U+0085), a line or paragraph separator, a bidirectional
    control: characters that end a line or reorder text wherever the output is read."""
    o = ord(ch)
    return o < 0x20 or 0x7F <= o <= 0x9F or ch in SEPARATORS or ch in BIDI


def _named(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    if ch in BIDI:
        return f"the bidirectional control \\u{ord(ch):04x}"
    if ch in SEPARATORS:
        return f"the line separator \\u{ord(ch):04x}"
    return f"the control character \\x{ord(ch):02x}" if ord(ch) < 0x100 else repr(ch)


def _listed(chars: list[str]) -> str:
    words = [_named(c) for c in chars]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def camkes_refused(text: str) -> list[str]:
    """The characters of `text` a CAmkES string cannot hold, each once, in order of appearance."""
    return list(dict.fromkeys(c for c in text if c == '"' or _control(c)))


def odd_trailing_backslashes(text: str) -> bool:
    """Whether `text` ends in an odd run of backslashes."""
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def cmake_refused(text: str) -> list[str]:
    """The characters of `text` a CMake argument cannot hold, each once, in order of appearance."""
    return list(
        dict.fromkeys(c for c in text if c == ";" or (_control(c) and c not in _CMAKE_ESCAPED))
    )


def _dotted(path: PathKey) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _camkes_text(ctx: Ctx, path: PathKey, text: str) -> list[Diagnostic]:
    where = ctx.span(*path)
    field = _dotted(path)
    out: list[Diagnostic] = []
    bad = camkes_refused(text)
    if bad:
        hint = None
        if bad == ["\n"] and "\n" not in text.rstrip("\n"):
            hint = "a YAML `>` or `|` block keeps its last line break; write `>-`"
        elif "\n" in bad:
            hint = "write it on one line, or as a folded `>-` block"
        elif '"' in bad:
            hint = "leave the double quotes out"
        message = f"{field}: {_listed(bad)} cannot be written in a CAmkES string"
        out.append(error("E240", f"{message} ({_NO_CAMKES_ESCAPES})", where, hint=hint))
    if odd_trailing_backslashes(text):
        out.append(
            error(
                "E240",
                f"{field}: a CAmkES string cannot end in an odd run of backslashes "
                '(the C preprocessor reads `\\"` as an escaped quote)',
                where,
                hint="remove the last backslash",
            )
        )
    return out


def _vm_field(ctx: Ctx, i: int, name: str) -> PathKey:
    """Where the value VM `i` has on this platform was written: its patch, when it sets it."""
    patch = ctx.system.vms[i].per_platform.get(ctx.plat_name) if ctx.plat_name else None
    if patch is not None and getattr(patch, name) is not None:
        return ("vms", i, "per_platform", ctx.plat_name, name)
    return ("vms", i, name)


def vm_text(ctx: Ctx) -> list[Diagnostic]:
    """E240: a VM's `cmdline` (and, on ARM, `stdout`) must be writable as a CAmkES string."""
    fields = ("cmdline", "stdout") if ctx.system.arch == "arm" else ("cmdline",)
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        for name in fields:
            text = getattr(vm, name)
            if text is not None:
                out += _camkes_text(ctx, _vm_field(ctx, i, name), text)
    return out


def kernel_option_text(ctx: Ctx) -> list[Diagnostic]:
    """E240: a `kernel_options` string value must be writable as a CMake argument."""
    out: list[Diagnostic] = []
    for name, value in ctx.system.kernel_options.items():
        if not isinstance(value, str):
            continue
        bad = cmake_refused(value)
        if bad:
            them = "it" if len(bad) == 1 else "them"
            out.append(
                error(
                    "E240",
                    f"kernel_options.{name}: {_listed(bad)} cannot be written in a CMake "
                    f"argument (no CMake escape yields {them})",
                    ctx.span("kernel_options", name),
                )
            )
    return out


RULES_ONCE = (kernel_option_text,)
RULES = (vm_text,)
