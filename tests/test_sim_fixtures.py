"""Configuration faults the simulator finds from the YAML alone: tests/fixtures/bad-at-simulate/.

Each fixture is a system that validates and checks clean but whose configuration breaks a
simulated property with no command-line flag.  Its header pins the diagnostics `simulate`
prints, in order, with the line:col of the field it blames:

    # expect: E506 13:23 <message>
    # trace: <text the printed kernel timeline must contain>   (optional)
    # explore: E510 17:55 <message>   (what `simulate --explore` finds beyond those; optional)
    # explore-trace: <text the printed counterexample must contain>   (optional)

`simulate --explore` prints the `expect` findings, then the `explore` ones.

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
def test_explore_finds_the_fault_without_a_flag(cli: Cli, fixture: Path) -> None:
    r = cli("simulate", str(fixture), "--explore")
    assert r.exit_code == 1
    assert found(r.stderr) == header(fixture, "expect") + header(fixture, "explore")
    for step in header(fixture, "explore-trace"):
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


def test_the_shared_line_edge_triggered_is_rearmed_by_the_ack(cli: Cli, tmp_path: Path) -> None:
    """The contrast of level_line_shared_by_two_pci_devices: the ack re-arms an edge line, so
    a device the guest does not clear costs one spurious interrupt, not the line."""
    level = ROOT / "tests/fixtures/bad-at-simulate/level_line_shared_by_two_pci_devices.yaml"
    edge = tmp_path / "edge.yaml"
    edge.write_text(level.read_text().replace("level_trig: true", "level_trig: false"))
    r = cli("simulate", str(edge), "--explore")
    assert r.exit_code == 0, r.stderr
    assert "no violation in" in r.stdout and "exhaustive; ok" in r.stdout


def test_the_smp_vm_with_one_vcpu_keeps_its_latency_bound(cli: Cli, tmp_path: Path) -> None:
    """The contrast of vcpus_on_two_cores_served_by_one_vmm_thread: with one VCPU nothing
    else's faults take the VMM's core, and the stated bound holds."""
    smp = ROOT / "tests/fixtures/bad-at-simulate/vcpus_on_two_cores_served_by_one_vmm_thread.yaml"
    one = tmp_path / "one.yaml"
    one.write_text(smp.read_text().replace("vcpus: 2", "vcpus: 1"))
    r = cli("simulate", str(one))
    assert r.exit_code == 0, r.stderr
