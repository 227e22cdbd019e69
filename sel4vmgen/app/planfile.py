"""The plan.json of a generated application: its layout, writing it, reading it back.

The one module that knows the layout (`plan_files` writes it, `plan_paths`
finds it): with one platform, `plan.json` at the top of the app; with
several, `<platform>/plan.json` for each (beside that platform's own files,
as the real ARM apps keep per-platform folders).  `generate`, `simulate` and
`graph` all go through here.

A generated app's `plan.json` may have been edited, truncated or replaced.
`read_plan(path)` trusts nothing: the file must be a regular file of at most
`safeio.PLAN_CAP` bytes of UTF-8 JSON, nested at most `MAX_DEPTH` deep, with
no number beyond 64 bits (nor NaN or infinity), in the Plan's exact shape
(`codec.decode`), keeping every invariant `resolve` gives a plan
(`plan.invariants`); `parse_plan(text, where)` checks a plan's text the same way.  Anything else raises `CorruptPlan`, whose message
starts with the path and says "corrupt plan"; commands exit 2 on it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sel4vmgen.plan.model import Plan
from sel4vmgen.safeio import PLAN_CAP, FileProblem, read_regular

PLAN_FILE = "plan.json"
MAX_DEPTH = 32  # the Plan nests 6 levels; 32 leaves room and stays far from recursion limits
MAX_INT = 1 << 64
MAX_HEX_DIGITS = 17  # "0x" and 16 hex digits: 64 bits


class CorruptPlan(Exception):
    """A plan file that cannot be trusted; the message says where and why."""


def _depth(text: str) -> int:
    """The deepest nesting of `[` / `{` outside strings, found without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _number(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > 20:
        raise ValueError(f"a number of {len(digits)} digits is beyond 64 bits")
    n = int(text)
    if not -MAX_INT < n < MAX_INT:
        raise ValueError("a number beyond 64 bits")
    return n


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a plan holds")


# A hex number as the plan writes one; other strings (a command line, the Sataserver's
# "0xf090:0xf097,..." port list) may start with 0x too.
_HEX = re.compile(r"0x[0-9a-fA-F]+")


def _check_values(data: Any) -> None:
    """Hex strings no longer than 64 bits, floats finite (iteratively: no recursion)."""
    stack = [data]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and len(v) > MAX_HEX_DIGITS + 1 and _HEX.fullmatch(v):
            raise ValueError(f"the hex number {v[:12]}... is beyond 64 bits")


def _parse(text: str) -> Any:
    if _depth(text) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    data = json.loads(text, parse_int=_number, parse_constant=_constant)
    _check_values(data)
    return data


def plan_files(plans: Sequence[Plan]) -> dict[str, str]:
    """The plan files of an application, by relative path: `plan.json` for one plan,
    `<platform>/plan.json` for each of several."""
    if len(plans) == 1:
        return {PLAN_FILE: plans[0].to_json()}
    return {f"{p.platform}/{PLAN_FILE}": p.to_json() for p in plans}


def plan_paths(folder: Path) -> list[Path]:
    """The plan files of a generated application, in a stable order: its `plan.json`, or
    else each `<platform>/plan.json`; empty when the folder holds none."""
    # present at all (a FIFO or a dangling link too): the reader says what is wrong with it
    if os.path.lexists(folder / PLAN_FILE):
        return [folder / PLAN_FILE]
    return sorted(folder.glob(f"*/{PLAN_FILE}"))


def read_plan(path: Path) -> Plan:
    """The plan in `path`, checked, invariants included; `CorruptPlan` when it cannot be
    trusted."""
    from sel4vmgen.text import shown_text

    where = shown_text(str(path), 200)
    try:
        raw = read_regular(path, PLAN_CAP)
    except FileProblem as e:
        raise CorruptPlan(f"{where}: corrupt plan: cannot read it: {e.detail}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorruptPlan(
            f"{where}: corrupt plan: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})"
        ) from None
    return parse_plan(text, where)


def parse_plan(text: str, where: str) -> Plan:
    """The plan a plan.json's text holds, checked as `read_plan` checks a file (`where`
    starts the message of the `CorruptPlan` it raises otherwise)."""
    from sel4vmgen.codec import CodecError, decode
    from sel4vmgen.plan.invariants import problems
    from sel4vmgen.plan.model import PLAN_FORMAT
    from sel4vmgen.text import shown_text

    try:
        data = _parse(text)
        if not isinstance(data, dict):
            raise CodecError("the file holds a JSON value that is not an object")
        if data.get("format") != PLAN_FORMAT:
            got = data.get("format")
            raise CodecError(f"plan format {shown_text(repr(got))} is not {PLAN_FORMAT}")
        plan = decode(Plan, data)
    except (ValueError, TypeError, KeyError, RecursionError) as e:
        raise CorruptPlan(f"{where}: corrupt plan: {shown_text(str(e), 300)}") from None
    broken = problems(plan)
    if broken:
        raise CorruptPlan(
            f"{where}: corrupt plan: not a plan sel4vmgen would make: {'; '.join(broken)}"
        )
    return plan
