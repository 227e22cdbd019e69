"""The registry of stable diagnostic codes, for `explain` and for SARIF rule names.

Ranges: E0xx loading (files, YAML, includes); E1xx the model (types, keys,
values); E2xx/W2xx cross-field rules; E3xx plan resolution; E4xx generation;
E5xx simulation properties.  Each stage's codes are a plain table in a module of
this package (`codes/rules.py`, `codes/plan.py`, ...), data with no import of
the stage they belong to, so that reading them (for `explain`, for SARIF)
loads nothing else; `all_codes()` joins them.  A code, once published, keeps its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Code:
    """What a code means, and a small example that triggers it."""

    code: str
    title: str
    explanation: str
    example: str = ""


def _c(code: str, title: str, explanation: str, example: str = "") -> Code:
    return Code(code, title, explanation, example)


LOAD_CODES: tuple[Code, ...] = (
    _c("E001", "file not found", "The named file does not exist.", "sel4vmgen validate nope.yaml"),
    _c(
        "E002",
        "not a file",
        "The path names a folder, a FIFO, a socket or a device (perhaps through a symlink) "
        "rather than a regular file.  A FIFO is never waited on: it is refused at once.",
        "sel4vmgen plan examples/   # a folder, not a system file",
    ),
    _c(
        "E003",
        "file cannot be read",
        "The operating system refused to read the file (permissions, I/O error), or its path "
        "is a symlink loop.",
        "chmod 000 system.yaml && sel4vmgen validate system.yaml",
    ),
    _c(
        "E004",
        "not UTF-8 text",
        "System files must be UTF-8 text; the file has bytes that are not UTF-8 (Latin-1, "
        "UTF-16, binary data) or NUL bytes.",
        "printf 'name: caf\\xe9\\n' > system.yaml   # Latin-1, not UTF-8",
    ),
    _c(
        "E005",
        "file too large",
        "A system file may be at most 4 MiB; larger inputs are refused before parsing.",
        "head -c 5000000 /dev/zero > system.yaml",
    ),
    _c(
        "E006",
        "YAML syntax error",
        "The file is not well-formed YAML: an unclosed bracket or quote, a bad escape, an "
        "undefined alias, a tab used for indentation, a `!tag` or `!!int`-style tag, or a "
        "`%YAML`/`%TAG` directive (tags and directives change how values are read, so "
        "they are not supported).",
        "vms: [vm0\nname: x   # the flow list is never closed",
    ),
    _c(
        "E007",
        "duplicate key",
        "A mapping names the same key twice; YAML forbids it and the later value would hide the first.",
        "name: a\nname: b",
    ),
    _c(
        "E008",
        "document too large after aliases",
        "Anchors and aliases expand to more than 200000 nodes (an alias bomb), the data nests "
        "deeper than 64 levels, or an alias refers to the node that contains it.",
        'a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]  # and so on',
    ),
    _c(
        "E009",
        "empty document",
        "The file holds no YAML content: it is empty, blank or only comments.",
        "# a file with nothing but this comment",
    ),
    _c(
        "E010",
        "wrong top-level type",
        "A system file is a YAML mapping (key: value), and a VM fragment too.",
        "- just\n- a list",
    ),
    _c(
        "E011",
        "include failed",
        "An `include:` names a file that cannot be loaded, its value is not a path, or "
        "includes form a cycle.  Paths are relative to the including file.",
        "vms:\n  - include: guests/missing.yaml",
    ),
    _c(
        "E012",
        "more than one document",
        "A system file holds exactly one YAML document; a `---` line starts a second one.",
        "name: a\n---\nname: b",
    ),
    _c(
        "E013",
        "no system files in a folder",
        "`validate` was given a folder, and no `*.yaml` or `*.yml` file lies below it (hidden "
        "folders are not looked into).  Name the files, or a glob, instead.",
        "sel4vmgen validate docs/   # a folder with no YAML file in it",
    ),
)

MODEL_CODES: tuple[Code, ...] = (
    _c(
        "E101",
        "unknown key",
        "The key is not part of the system format at this place.",
        "vms:\n  - name: vm0\n    vcpu: 2   # did you mean 'vcpus'?",
    ),
    _c("E102", "missing field", "A required field is not given.", "vms:\n  - vcpus: 1  # no name"),
    _c(
        "E103",
        "wrong type",
        "The value has the wrong type: a list where a mapping belongs, text or true/false where "
        'a number belongs, a quoted number ("2") where a number belongs.  Values are not '
        "converted from one type to another.",
        "vms:\n  - name: vm0\n    vcpus: two",
    ),
    _c("E104", "value out of range", "A number is outside the range the field allows.", "vcpus: 0"),
    _c(
        "E105",
        "bad size or address",
        "Sizes are written `512MiB`, `4KiB`, `0x1000` or plain bytes; addresses as integers, usually hex.",
        "size: 512MB   # use MiB",
    ),
    _c(
        "E106",
        "not one of the choices",
        "The field takes one of a fixed set of words.",
        "arch: risc-v",
    ),
    _c(
        "E107",
        "not a C identifier",
        "Names become C and CAmkES identifiers and folder names: letters, digits and `_`, "
        "not starting with a digit, at most 64 characters, and not a C keyword.",
        "name: ../evil",
    ),
    _c(
        "E108",
        "bad path",
        "Image paths are relative to the system file, absolute, or start with one checkout "
        "variable (`${CAMKES_VM_IMAGES_DIR}`, `${CAMKES_VM_LINUX_DIR}`, "
        "`${CMAKE_CURRENT_SOURCE_DIR}`); they hold no NUL bytes, newlines, quotes, backslashes "
        "or `;`.  File-server names are one plain file name: no `/` and no leading `.`.",
        'kernel:\n  image: "a\\nb"',
    ),
    _c(
        "E109",
        "invalid value",
        "The value does not satisfy the field's rule; the message says which.",
        "platform: PC99   # platform names are lowercase",
    ),
    _c(
        "E110",
        "a VM file, not a system",
        "The file holds one VM's fields (what a system's `- include: FILE` names, like the "
        "guest.yaml `new-guest` writes) but a command that needs a whole system was given it.  "
        "`validate` checks a VM file on its own (its keys and values, against "
        "schemas/guest.schema.json); `generate`, `simulate`, `plan` and `graph` take the "
        "system file that includes it.",
        "sel4vmgen generate guest/guest.yaml -o out   # give it guest/system.yaml",
    ),
)


# Codes whose diagnostics may carry no position, on purpose: the problem is the whole
# input file (it cannot be opened or read), or the whole run (the output folder, the
# rendering of a plan, a simulation finding about a plan rather than a line).  Every
# other diagnostic points at the line it concerns.
WHOLE_FILE = frozenset({"E001", "E002", "E003"})


def whole(code: str) -> str | None:
    """'file' or 'run' when a diagnostic of `code` may be positionless on purpose, else None."""
    if code in WHOLE_FILE:
        return "file"
    if code[1:2] in ("4", "5"):  # E4xx generation, E5xx/W5xx simulation
        return "run"
    return None


@cache
def all_codes() -> dict[str, Code]:
    """Every stage's codes, by code: the tables of this package, joined (no stage is imported)."""
    from sel4vmgen.codes import plan, render, rules, rules_microkit, sim

    groups = (LOAD_CODES, MODEL_CODES, rules.CODES, rules_microkit.CODES, plan.CODES)
    return {c.code: c for group in (*groups, render.CODES, sim.CODES) for c in group}
