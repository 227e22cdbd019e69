"""The Microkit rules: every code of codes/rules_microkit.py is pinned by a bad-at-check
fixture (tests/test_rules.py checks each fixture's exact diagnostics), and the Microkit
examples check clean."""

from __future__ import annotations

from pathlib import Path

from test_rules import FIXTURES, checked, expected

from sel4vmgen.codes import all_codes
from sel4vmgen.codes.rules_microkit import CODES

ROOT = Path(__file__).resolve().parent.parent
# Codes raised outside the rules: E307 by resolve as a guard (names made from distinct VM
# names cannot collide).
NOT_RULES = {"E307"}


def test_every_microkit_code_is_pinned_by_a_fixture() -> None:
    pinned = {line.split()[0] for p in FIXTURES for line in expected(p)}
    assert sorted({c.code for c in CODES} - pinned - NOT_RULES) == []


def test_microkit_codes_are_registered_for_explain() -> None:
    codes = all_codes()
    assert all(codes[c.code] == c for c in CODES)


def test_microkit_examples_check_without_diagnostics() -> None:
    for name in ("microkit_simple", "microkit_x86", "microkit_vm_minimal", "microkit_virtio_mmio"):
        assert checked(ROOT / "examples" / f"{name}.yaml") == [], name
