"""The JSON Schema of the system format, generated from the models."""

from __future__ import annotations

import json

from sel4vmgen.model.system import System

SCHEMA_ID = "https://sel4vmgen.invalid/schemas/system.schema.json"


def schema() -> dict[str, object]:
    """System's JSON Schema with an id and title; `include:` entries allowed in `vms`."""
    s: dict[str, object] = System.model_json_schema(mode="validation")
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    s["title"] = "sel4vmgen system"
    props = s.get("properties")
    if isinstance(props, dict) and "vms" in props:
        vms = props["vms"]
        include = {
            "type": "object",
            "required": ["include"],
            "properties": {"include": {"type": "string", "description": "a VM file to include"}},
        }
        vms["items"] = {"anyOf": [vms.get("items", {}), include]}
    return s


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"
