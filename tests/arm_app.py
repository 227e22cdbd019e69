"""Helpers of the ARM generate tests: read generated `.camkes` files back, and run the
ARM examples through the pipeline.

The reader is a small parser of what the ARM templates write (settings,
`component` and `connection` lines, macro calls), enough to compare an app's
settings with its plan and with the real apps' resolved settings.  It is not
camkes-tool: strings are `"[^"]*"` with no escapes, as camkes-tool reads them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sel4vmgen.app.generate import app_files, resolve_plans
from sel4vmgen.diagnostics import DiagnosticError
from sel4vmgen.model import load
from sel4vmgen.plan.model import Plan
from sel4vmgen.render import RenderContext

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- a small CAmkES settings parser

_TOKEN = re.compile(
    r'\s+|//[^\n]*|/\*.*?\*/|(?P<str>"[^"]*")|(?P<num>-?0x[0-9a-fA-F]+|-?\d+)'
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_.]*)|(?P<p>[\[\]{}(),:;=])",
    re.S,
)


def tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"cannot read {text[pos : pos + 30]!r}"
        pos = m.end()
        kind = m.lastgroup
        if kind:
            out.append((kind, m.group(kind)))
    return out


def _value(toks: list[tuple[str, str]], i: int) -> tuple[Any, int]:
    kind, text = toks[i]
    if kind == "str":
        return text[1:-1], i + 1  # camkes-tool strings have no escapes
    if kind == "num":
        return int(text, 0), i + 1
    if kind == "id" and text in ("true", "false"):
        return text == "true", i + 1
    if kind == "id" and text == "dtb":  # dtb([...]) -> its list of queries
        value, i = _value(toks, i + 2)
        return {"dtb": value}, i + 1
    if text in "[{":
        close = "]" if text == "[" else "}"
        items: list[Any] = []
        pairs: dict[str, Any] = {}
        i += 1
        while toks[i][1] != close:
            if text == "{":
                key, i = _value(toks, i)
                val, i = _value(toks, i + 1)
                pairs[key] = val
            else:
                val, i = _value(toks, i)
                items.append(val)
            if toks[i][1] == ",":
                i += 1
        return (pairs if text == "{" else items), i + 1
    raise AssertionError(f"unexpected {text!r}")


def configuration(text: str) -> tuple[dict[str, Any], list[str]]:
    """`target.attr -> value` settings and the macro calls of a .camkes configuration block."""
    found = re.search(r"\bconfiguration\s*\{", text)
    toks = tokens(text[found.start() :]) if found else []
    settings: dict[str, Any] = {}
    macros: list[str] = []
    i = 2
    while i < len(toks) and toks[i][1] != "}":
        _, name = toks[i]
        if toks[i + 1][1] == "=":
            settings[name], i = _value(toks, i + 2)
            assert toks[i][1] == ";"
            i += 1
        else:  # MACRO(args)
            j = i + 2
            while toks[j][1] != ")":
                j += 1
            macros.append(name + "(" + ",".join(t for _, t in toks[i + 2 : j] if t != ",") + ")")
            i = j + 1
    return settings, macros


def app_settings(files: dict[str, str], name: str, folder: str) -> dict[str, Any]:
    """Every explicit setting the app gives on one platform."""
    app, _ = configuration(files[f"{name}.camkes"])
    plat, _ = configuration(files[f"{folder}/devices.camkes"])
    return {**app, **plat}


_END = re.compile(r"\('([^']+)', '([^']+)'\)")


def composition(text: str) -> tuple[dict[str, str], list[str], list[tuple[str, str, str]]]:
    """Instances, macro calls and (connector, from, to) ends of a .camkes composition."""
    found = re.search(r"\bcomposition\s*\{", text)
    toks = tokens(text[found.start() :]) if found else []
    instances: dict[str, str] = {}
    macros: list[str] = []
    ends: list[tuple[str, str, str]] = []
    i = 2
    while i < len(toks) and toks[i][1] != "}":
        word = toks[i][1]
        j = i
        while toks[j][1] not in (";", ")"):
            j += 1
        part = [t for _, t in toks[i:j] if t not in ",()"]
        if word == "component":
            instances[part[2]] = part[1]
        elif word == "connection":
            froms = [part[k + 1] for k in range(len(part)) if part[k] == "from"]
            tos = [part[k + 1] for k in range(len(part)) if part[k] == "to"]
            ends += [(part[1], f, t) for f in froms for t in tos]
        else:
            macros.append(word + "(" + ",".join(part[1:]) + ")")
        i = j + 1
    return instances, macros, ends


def real_ends(connection: str) -> list[tuple[str, str, str]]:
    connector, _, rest = connection.partition(": ")
    froms, _, tos = rest.partition(" -> ")
    f_ends = [f"{a}.{b}" for a, b in _END.findall(froms)]
    t_ends = [f"{a}.{b}" for a, b in _END.findall(tos)]
    return [(connector, f, t) for f in f_ends for t in t_ends]


def macro_ids(call: str) -> list[str]:
    return [a for a in call[call.index("(") + 1 : -1].split(",") if a]


# ---------------------------------------------------------------- the examples through the pipeline

EXAMPLES = ROOT / "examples"
# Relative image paths in a system are made absolute against its folder; hand-built plans
# render against this fixed folder so their golden files are free of this checkout's location.
FIXED_BASE = Path("/sel4vmgen")


def arm_examples() -> list[Path]:
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        try:
            system = load(path).system
            if system.arch == "arm" and system.frameworks == ("camkes",):  # CAmkES apps only
                found.append(path)
        except DiagnosticError:
            continue
    return found


EXAMPLE_FILES = arm_examples()


def generated(path: Path) -> tuple[tuple[Plan, ...], dict[str, str]]:
    """The plans and every file `generate` writes for a system file (plan.json included)."""
    loaded = load(path)
    plans = resolve_plans(loaded)
    files = app_files(plans, RenderContext(loaded.base_dir, loaded.system.name))
    # the examples name images by checkout variables and copy their component sources into
    # the app, so nothing generated may name this checkout's location
    assert not [rel for rel, text in files.items() if str(ROOT) in text]
    return plans, files
