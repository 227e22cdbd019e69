"""The JSON Schemas of the system format and of a VM file, generated from the models.

`schema()` is the schema of a system file, `vm_schema()` that of a VM file (what
`include:` names, `new-guest`'s guest.yaml).  Both are editor documentation as
much as checks: every property carries its field's description and an example
(from the models' `Field`s), a platform name is one of the platform database's,
and sizes and addresses say what they look like when they do not match.
`field_rows()` gives README's field tables from the same descriptions.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel

from sel4vmgen.model.system import PLATFORM_MARK, System, Vm, VmFile

SCHEMA_ID = "https://sel4vmgen.invalid/schemas/system.schema.json"
VM_SCHEMA_ID = "https://sel4vmgen.invalid/schemas/guest.schema.json"
SCHEMA_FILE = "system.schema.json"
VM_SCHEMA_FILE = "guest.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
PLATFORM_DEF = "PlatformName"
_PLATFORM_REF = {"$ref": f"#/$defs/{PLATFORM_DEF}"}
PLATFORM_KEYED = ("per_platform", "platform_options")  # mappings keyed by platform name

INCLUDE_DOC = (
    "a VM file to include (relative to this file); keys written beside it replace its keys"
)
INCLUDE_EXAMPLE = "guests/linux.yaml"
SYSTEM_FILE_DOC = "a sel4vmgen system file: one seL4 virtualisation system"
VM_FILE_DOC = "one VM's fields in a file of its own, for `- include: FILE` in a system's vms"


def _include(required: bool) -> dict[str, Any]:
    prop = {"type": "string", "description": INCLUDE_DOC, "examples": [INCLUDE_EXAMPLE]}
    if not required:
        return prop
    return {
        "type": "object",
        "required": ["include"],
        "properties": {"include": prop},
        "description": "a VM written in a file of its own",
    }


def _platform_names() -> dict[str, Any]:
    """The platform database's names as an enum, each with what it is."""
    from sel4vmgen.platforms import load, names

    found = [load(n) for n in names()]
    return {
        "type": "string",
        "enum": [p.name for p in found],
        "enumDescriptions": [f"{p.arch} ({', '.join(p.sel4_archs)}), {p.framework}" for p in found],
        "description": "a platform of the platform database (sel4vmgen platforms lists them)",
    }


def _finish(node: Any, key: str | None = None) -> Any:
    """The generated schema made for editors: platform names point at the enum, the
    keys of `per_platform` and `platform_options` are platform names, and pydantic's titles (which repeat the
    field names) are dropped so that hover shows the description."""
    if isinstance(node, list):
        return [_finish(v) for v in node]
    if not isinstance(node, dict):
        return node
    if node == {PLATFORM_MARK: True}:
        return dict(_PLATFORM_REF)
    out = {k: _finish(v, k) for k, v in node.items() if k != "title" or key == "properties"}
    props = out.get("properties")
    for name in PLATFORM_KEYED:
        if isinstance(props, dict) and isinstance(props.get(name), dict):
            props[name]["propertyNames"] = dict(_PLATFORM_REF)
    return out


def _generated(model: type[BaseModel], schema_id: str, description: str) -> dict[str, Any]:
    """`model`'s schema for editors.  It has a description but no title: the YAML language
    server heads every hover with the title of the schema, once per branch matched."""
    body = _finish(model.model_json_schema(mode="validation"))
    body.setdefault("$defs", {})[PLATFORM_DEF] = _platform_names()
    head = {"$schema": DRAFT, "$id": schema_id, "description": description}
    return head | {k: v for k, v in body.items() if k not in head}


def schema() -> dict[str, Any]:
    """The system file's JSON Schema; a `vms` entry is a VM or an `include:`."""
    s = _generated(System, SCHEMA_ID, SYSTEM_FILE_DOC)
    vms = s["properties"]["vms"]
    vms["items"] = {"anyOf": [vms.get("items", {}), _include(required=True)]}
    return s


def vm_schema() -> dict[str, Any]:
    """A VM file's JSON Schema: a VM's fields, none required, and `include:` of a base file."""
    s = _generated(VmFile, VM_SCHEMA_ID, VM_FILE_DOC)
    s["properties"]["include"] = _include(required=False)
    return s


def _text(s: dict[str, Any]) -> str:
    return json.dumps(s, indent=2, sort_keys=True) + "\n"


@cache
def schema_text() -> str:
    """The system schema as written to schemas/system.schema.json."""
    return _text(schema())


@cache
def vm_schema_text() -> str:
    """The VM file schema as written to schemas/guest.schema.json."""
    return _text(vm_schema())


# ---------------------------------------------------------------- README's field tables


def field_rows(model: type[BaseModel]) -> list[tuple[str, str]]:
    """(field, description) for each field of `model`: `name` first, then the model's order."""
    rows = [(name, info.description or "") for name, info in model.model_fields.items()]
    return sorted(rows, key=lambda row: row[0] != "name")


def field_table(heading: str, model: type[BaseModel]) -> str:
    """A Markdown table of `model`'s fields, as README.md shows it."""
    rows = [f"| {heading} | |", "|---|---|"]
    rows += [f"| `{name}` | {text} |" for name, text in field_rows(model)]
    return "\n".join(rows) + "\n"


def readme_tables() -> str:
    """README's two field tables: the top level of a system, and a VM."""
    return field_table("Top level", System) + "\n" + field_table("In a VM", Vm)
