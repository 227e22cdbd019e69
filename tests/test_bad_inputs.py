"""Bad input, fixture by fixture: every file under fixtures/bad-at-load and
fixtures/bad-at-validate names its fault and pins the exact diagnostics it
must produce (code, position and message), in order.

A fixture states its expectations in header lines

    # expect: E101 8:5 unknown key 'vcpu' in vms[0]
    # expect: E101 include/guest.yaml:2:1 unknown key ...   (a position in another file)

or, when the file cannot hold a comment (binary, empty, non-UTF-8), in a
sibling `NAME.expect` file with the same lines without `# expect: `.
Positions are relative to the fixture's folder, where each check runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURES, MINIMAL_X86, run_cli

from sel4vmgen.app.check import check_file, exit_code
from sel4vmgen.app.inputs import check_input

STAGES = ("bad-at-load", "bad-at-validate")
HEADER = "# expect: "
EXPECT_RE = re.compile(
    r"^(?P<code>[EW]\d{3}) (?:(?P<file>\S+?):)?(?P<line>\d+):(?P<col>\d+) (?P<message>.+)$"
)


@dataclass(frozen=True)
class Expected:
    code: str
    file: str
    line: int
    col: int
    message: str


def fixture_files() -> list[Path]:
    return sorted(p for stage in STAGES for p in (FIXTURES / stage).glob("*.yaml"))


def expectation_lines(fixture: Path) -> list[str]:
    sidecar = fixture.with_suffix(".expect")
    if sidecar.exists():
        return [ln for ln in sidecar.read_text(encoding="utf-8").splitlines() if ln.strip()]
    text = fixture.read_bytes().decode("utf-8", "replace")
    lines = []
    for line in text.splitlines():
        if not line.startswith(HEADER):
            break
        lines.append(line[len(HEADER) :])
    return lines


def expectations(fixture: Path) -> list[Expected]:
    out = []
    for line in expectation_lines(fixture):
        m = EXPECT_RE.match(line)
        assert m, f"{fixture.name}: malformed expectation {line!r}"
        out.append(
            Expected(
                m["code"],
                m["file"] or fixture.name,
                int(m["line"]),
                int(m["col"]),
                m["message"],
            )
        )
    return out


FIXTURE_FILES = fixture_files()


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_there_are_enough_fixtures() -> None:
    assert len(FIXTURE_FILES) >= 60


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=_id)
def test_fixture_gives_exactly_the_expected_diagnostics(
    fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = expectations(fixture)
    assert expected, f"{fixture.name} states no expectation"
    assert all(e.code[:2] in ("E0", "E1") for e in expected)
    monkeypatch.chdir(fixture.parent)
    result = check_input(fixture.name)
    got = [
        Expected(
            d.code,
            d.span.file if d.span else "",
            d.span.line if d.span else 0,
            d.span.col if d.span else 0,
            d.message,
        )
        for d in result.diagnostics
    ]
    assert got == expected
    assert exit_code([result]) == 1


@pytest.mark.parametrize(
    "name",
    [
        "bad-at-load/alias_bomb.yaml",
        "bad-at-load/binary_garbage.yaml",
        "bad-at-validate/name_escapes_output_folder.yaml",
        "bad-at-validate/unknown_key_did_you_mean.yaml",
    ],
)
def test_cli_reports_fixture_with_position_and_exit_1(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = FIXTURES / name
    monkeypatch.chdir(fixture.parent)
    first = expectations(fixture)[0]
    run = run_cli("validate", fixture.name)
    assert run.exit_code == 1
    head = f"{first.file}:{first.line}:{first.col}: error[{first.code}]: {first.message}"
    assert head in run.stderr.splitlines()
    assert run.stderr.splitlines()[-1].startswith("1 file checked: ")


def test_did_you_mean_hint_for_unknown_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "bad-at-validate")
    (d,) = check_file("unknown_key_did_you_mean.yaml").diagnostics
    assert d.hint == "did you mean 'vcpus'?"


def test_five_megabyte_file_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    filler = "# " + "x" * 1021 + "\n"
    big.write_text(MINIMAL_X86 + filler * (5 * 1024), encoding="utf-8")
    size = big.stat().st_size
    (d,) = check_file(big).diagnostics
    assert (d.code, d.span and (d.span.line, d.span.col)) == ("E005", (1, 1))
    assert d.message == f"file is {size} bytes; the limit is 4194304 bytes"
    run = run_cli("validate", str(big))
    assert run.exit_code == 1
    assert "error[E005]" in run.stderr


def test_missing_file_is_unreadable_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    run = run_cli("validate", str(missing))
    assert run.exit_code == 2
    assert f"error[E001]: file not found: {missing}" in run.stderr


def test_directory_is_unreadable_exit_2(tmp_path: Path) -> None:
    result = check_file(tmp_path)
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("E002", f"not a regular file: {tmp_path} (a folder)")
    ]
    assert exit_code([result]) == 2


def test_very_deep_block_nesting_stops_at_the_limit(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    levels = 1500  # deeper than the YAML composer's recursion could follow
    deep.write_text("".join("  " * i + "k:\n" for i in range(levels)) + "  " * levels + "v\n")
    (d,) = check_file(deep).diagnostics
    assert (d.code, d.message) == ("E008", "nesting deeper than 64 levels")
    assert d.span is not None and (d.span.line, d.span.col) == (65, 129)


def test_very_deep_flow_nesting_stops_at_the_limit(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: x\nvms: " + "[" * 20000 + "]" * 20000 + "\n")
    (d,) = check_file(deep).diagnostics
    assert (d.code, d.message) == ("E008", "nesting deeper than 64 levels")
    assert d.span is not None and (d.span.line, d.span.col) == (2, 69)  # the 64th `[`


def test_every_expect_file_belongs_to_a_fixture() -> None:
    for stage in STAGES:
        for sidecar in (FIXTURES / stage).glob("*.expect"):
            assert sidecar.with_suffix(".yaml").exists(), sidecar.name
