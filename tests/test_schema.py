"""The JSON Schema editors use: generated from the models, committed, and referenced by examples."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT, run_cli

from sel4vmgen.jsonschema import readme_tables, schema, schema_text, vm_schema, vm_schema_text
from sel4vmgen.model.system import System, VmFile

SCHEMA = ROOT / "schemas" / "system.schema.json"
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/system.schema.json"


def test_committed_schema_is_what_the_models_generate() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == schema_text(), (
        "schemas/system.schema.json is stale: run `sel4vmgen schema -o schemas/system.schema.json`"
    )


def test_schema_command_prints_the_schema() -> None:
    run = run_cli("schema")
    assert run.exit_code == 0
    assert run.stdout == schema_text()


def test_schema_command_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert run_cli("schema", "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8") == schema_text()


def test_schema_describes_the_top_level_fields() -> None:
    s = json.loads(schema_text())
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["type"] == "object"
    assert s["additionalProperties"] is False
    assert {"name", "arch", "sel4_arch", "platform", "vms"} <= set(s["required"])
    include = s["properties"]["vms"]["items"]["anyOf"][1]
    assert include["required"] == ["include"]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_points_editors_at_the_schema(example: Path) -> None:
    first = example.read_text(encoding="utf-8").splitlines()[0]
    assert first == SCHEMA_LINE


def test_schema_to_an_unwritable_place_is_exit_2(tmp_path: Path) -> None:
    run = run_cli("schema", "-o", str(tmp_path / "no" / "such" / "dir.json"))
    assert run.exit_code == 2
    assert run.stderr.startswith("error: cannot write ")
    assert "No such file or directory" in run.stderr


# ---------------------------------------------------------------- the schema as documentation

VM_SCHEMA = ROOT / "schemas" / "guest.schema.json"


def properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema in `node`, with a path naming it."""
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield f"{where}.{key}", value
        for key, value in node.items():
            yield from properties(value, f"{where}/{key}" if key != "properties" else where)
    elif isinstance(node, list):
        for value in node:
            yield from properties(value, where)


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_committed_vm_schema_is_what_the_models_generate() -> None:
    assert VM_SCHEMA.read_text(encoding="utf-8") == vm_schema_text(), (
        "schemas/guest.schema.json is stale: run `sel4vmgen schema --vm -o schemas/guest.schema.json`"
    )
    assert run_cli("schema", "--vm").stdout == vm_schema_text()


@pytest.mark.parametrize("make", [schema, vm_schema], ids=["system", "vm"])
def test_every_property_has_a_description_and_an_example(make: Callable[[], Any]) -> None:
    found = list(properties(make()))
    assert len(found) > 80
    assert [p for p, s in found if not s.get("description")] == []
    assert [p for p, s in found if not s.get("examples")] == []


@pytest.mark.parametrize("make", [schema, vm_schema], ids=["system", "vm"])
def test_every_reference_resolves(make: Callable[[], Any]) -> None:
    s = make()
    for ref in set(refs(s)):
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in s["$defs"], ref


def test_every_example_is_accepted_by_its_field() -> None:
    from typing import Annotated

    from pydantic import BaseModel, TypeAdapter

    from sel4vmgen.model import frozen_lists
    from sel4vmgen.model.errors import _model_classes

    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [System, VmFile]
    checked = 0
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            todo.extend(_model_classes(info.annotation))
            annotation = info.annotation
            if info.metadata:
                annotation = Annotated[annotation, *info.metadata]  # type: ignore[valid-type]
            adapter = TypeAdapter(annotation)
            for example in info.examples or []:
                adapter.validate_python(frozen_lists(example), strict=True)
                checked += 1
            assert info.examples, f"{model.__name__}.{name} has no example"
    assert checked > 100


def test_platform_is_an_enum_of_the_platform_database() -> None:
    from sel4vmgen.platforms import names

    s = schema()
    platform = s["$defs"]["PlatformName"]
    assert platform["enum"] == list(names())
    assert len(platform["enumDescriptions"]) == len(names())
    assert s["properties"]["platform"]["anyOf"][0] == {"$ref": "#/$defs/PlatformName"}
    per_platform = s["$defs"]["Vm"]["properties"]["per_platform"]
    assert per_platform["propertyNames"] == {"$ref": "#/$defs/PlatformName"}


@pytest.mark.parametrize(
    ("text", "ok"),
    [("4096", True), ("0x1000", True), ("4 KiB", True), ("512MiB", True), ("1_000", True),
     ("512MB", False), ("4k", False), ("0x", False), ("MiB", False), ("1.5GiB", False)],
)  # fmt: skip
def test_the_size_pattern_agrees_with_the_model(text: str, ok: bool) -> None:
    import re

    from pydantic_core import PydanticCustomError

    from sel4vmgen.model.types import SIZE_HELP, parse_size

    size = schema()["$defs"]["Ram"]["properties"]["size"]
    assert size["patternErrorMessage"] == SIZE_HELP
    assert bool(re.search(size["pattern"], text)) is ok
    try:
        parse_size(text)
        parsed = True
    except PydanticCustomError:
        parsed = False
    assert parsed is ok


def test_readme_field_tables_are_the_models_descriptions() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_tables() in readme, (
        "README.md's field tables differ from the models' descriptions; they should read:\n"
        + readme_tables()
    )
