"""The Microkit rules: every code of codes/rules_microkit.py is pinned by a bad-at-check
fixture (tests/test_rules.py checks each fixture's exact diagnostics), and the Microkit
examples check clean."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from test_rules import FIXTURES, checked, expected, shown

from sel4vmgen.codes import all_codes
from sel4vmgen.codes.rules_microkit import CODES

ROOT = Path(__file__).resolve().parent.parent
# Codes raised outside the rules: E307 by resolve as a guard (names made from distinct VM
# names cannot collide).  E277 depends on the machine (sdfgen not installed), so its
# test below takes sdfgen away rather than a fixture.
NOT_RULES = {"E307", "E277"}


def test_every_microkit_code_is_pinned_by_a_fixture() -> None:
    pinned = {line.split()[0] for p in FIXTURES for line in expected(p)}
    assert sorted({c.code for c in CODES} - pinned - NOT_RULES) == []


def test_microkit_codes_are_registered_for_explain() -> None:
    codes = all_codes()
    assert all(codes[c.code] == c for c in CODES)


def test_microkit_examples_check_without_diagnostics() -> None:
    for name in ("microkit_simple", "microkit_x86", "microkit_vm_minimal", "microkit_virtio_mmio"):
        assert checked(ROOT / "examples" / f"{name}.yaml") == [], name


def test_virtio_on_microkit_without_sdfgen_is_refused_at_the_virtio_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "sdfgen" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    found = checked(ROOT / "examples" / "microkit_virtio_mmio.yaml")
    assert [shown(d) for d in found] == [
        "E277 24:5 client_linux: virtio devices on a Microkit board need the sdfgen package 0.35.1, "
        "which serialises their sDDF configuration, and it is not installed"
    ]
    assert found[0].hint == (
        "pip install sdfgen==0.35.1 (PyPI has it for Linux on x86_64 and aarch64), or drop virtio"
    )
