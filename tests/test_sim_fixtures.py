"""Configuration faults the simulator finds from the YAML alone: tests/fixtures/bad-at-simulate/.

Each fixture is a system that validates and checks clean but whose configuration breaks a
simulated property with no command-line flag.  Its header pins the diagnostics `simulate`
prints, in order, with the line:col of the field it blames:

    # expect: E506 13:23 <message>
    # trace: <text the printed kernel timeline must contain>   (optional)

`generate` refuses each of them with the same findings (its quick check), writing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "bad-at-simulate").glob("*.yaml"))
_FOUND = re.compile(r"^\S+?:(\d+):(\d+): error\[(E\d+)\]: (.*)$")

Cli = Callable[..., Run]


def header(path: Path, key: str) -> list[str]:
    prefix = f"# {key}: "
    return [ln[len(prefix) :] for ln in path.read_text().splitlines() if ln.startswith(prefix)]


def found(stderr: str) -> list[str]:
    return [
        f"{m.group(3)} {m.group(1)}:{m.group(2)} {m.group(4)}"
        for line in stderr.splitlines()
        if (m := _FOUND.match(line))
    ]


def test_there_are_fixtures() -> None:
    assert len(FIXTURES) >= 2


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_simulate_finds_the_fault_without_a_flag(cli: Cli, fixture: Path) -> None:
    assert cli("validate", str(fixture)).exit_code == 0
    r = cli("simulate", str(fixture))
    assert r.exit_code == 1
    assert found(r.stderr) == header(fixture, "expect")
    for step in header(fixture, "trace"):
        assert step in r.stdout


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_generate_refuses_it_with_the_same_findings(
    cli: Cli, fixture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "app"
    r = cli("generate", str(fixture), "-o", str(out))
    assert r.exit_code == 1
    assert found(r.stderr) == header(fixture, "expect")
    assert "error[E407]: nothing written to" in r.stderr
    assert not out.exists()
