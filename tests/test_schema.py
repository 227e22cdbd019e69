"""The JSON Schema editors use: generated from the models, committed, and referenced by examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, run_cli

from sel4vmgen.model.schema import schema_text

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
