"""README.md stays true: its quick start, its CI command and its example systems."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

from sel4vmgen.app.check import check_file

README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALL = (
    "python3 -m pip install . && python3 -m sel4vmgen generate examples/minimal.yaml -o out/minimal"
)
TESTS = "python3 -m pip install nox && nox -s tests lint typecheck"
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/system.schema.json"


def fenced(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_quick_start_is_exactly_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", quick, flags=re.S)
    assert [b.strip() for b in blocks] == [INSTALL, TESTS]


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [ln for ln in script.splitlines() if ln and not ln.startswith(("#", "set ", "cd "))]
    assert commands == [TESTS]


def test_readme_has_the_sections_others_fill() -> None:
    for heading in ("Generating an application", "Simulation", "Platforms"):
        assert f"\n## {heading}\n" in README


SYSTEMS = [b for b in fenced("yaml") if b.startswith(SCHEMA_LINE) and "\nvms:" in b]


def test_readme_shows_an_x86_and_an_arm_system() -> None:
    arches = sorted(re.findall(r"^arch: (\w+)$", "\n".join(SYSTEMS), flags=re.M))
    assert arches == ["arm", "x86"]


@pytest.mark.parametrize("text", SYSTEMS, ids=["first", "second"])
def test_readme_systems_validate(text: str, tmp_path: Path) -> None:
    path = tmp_path / "systems" / "readme.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    result = check_file(path)
    assert result.ok, result.diagnostics


def test_quick_start_main_job_generates_the_minimal_app(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = INSTALL.split(" && ", 1)[1].split()
    assert command[:3] == ["python3", "-m", "sel4vmgen"]
    out = tmp_path / command[-1]
    argv = [sys.executable, *command[1:-1], str(out)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (out / "minimal.camkes").is_file() and (out / "plan.json").is_file()
