"""The command line as a user meets it: validate (files, folders, globs, formats,
exit codes, summary), explain and --list, shell completion, --version and help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, MINIMAL_X86, ROOT, Writer, run_cli

from sel4vmgen import __version__
from sel4vmgen.codes import LOAD_CODES, MODEL_CODES, all_codes

BAD_VCPUS = MINIMAL_X86.replace("    ram:", "    vcpus: 0\n    ram:")
TYPO = MINIMAL_X86.replace("    ram:", "    vcpu: 2\n    ram:")


def test_version() -> None:
    run = run_cli("--version")
    assert run.exit_code == 0
    assert run.stdout == f"sel4vmgen, version {__version__}\n"


def test_help_lists_the_commands() -> None:
    run = run_cli("--help")
    assert run.exit_code == 0
    for name in ("validate", "schema", "explain"):
        assert f"  {name} " in run.stdout


def test_unknown_command_is_a_usage_error() -> None:
    assert run_cli("frobnicate").exit_code == 2


def test_validate_needs_a_file() -> None:
    run = run_cli("validate")
    assert run.exit_code == 2
    assert "Missing argument 'FILES...'" in run.stderr


def test_validate_a_good_file(write: Writer) -> None:
    path = write("ok.yaml", MINIMAL_X86)
    run = run_cli("validate", str(path))
    assert run.exit_code == 0
    assert run.stderr == "1 file checked: 0 error(s), 0 warning(s)\n"
    assert run.stdout == ""


def test_validate_the_minimal_example() -> None:
    run = run_cli("validate", str(EXAMPLES / "minimal.yaml"))
    assert run.exit_code == 0, run.stderr


def test_validate_reports_every_file_and_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text(MINIMAL_X86, encoding="utf-8")
    Path("b.yaml").write_text(BAD_VCPUS, encoding="utf-8")
    Path("sub").mkdir()
    Path("sub/c.yaml").write_text(TYPO, encoding="utf-8")
    run = run_cli("validate", "*.yaml", "sub/*.yaml")
    assert run.exit_code == 1
    lines = run.stderr.splitlines()
    assert "b.yaml:7:12: error[E104]: 'vms[0].vcpus' must be at least 1, not 0" in lines
    assert "sub/c.yaml:7:5: error[E101]: unknown key 'vcpu' in vms[0]" in lines
    assert "  hint: did you mean 'vcpus'?" in lines
    assert lines[-1] == "3 files checked: 2 error(s), 0 warning(s)"


def test_validate_recursive_glob_and_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("x/y").mkdir(parents=True)
    Path("x/y/deep.yaml").write_text(MINIMAL_X86, encoding="utf-8")
    Path("x/top.yaml").write_text(MINIMAL_X86, encoding="utf-8")
    run = run_cli("validate", "x/**/*.yaml")
    assert run.stderr == "2 files checked: 0 error(s), 0 warning(s)\n"
    assert run_cli("validate", "-q", "x/**/*.yaml").stderr == ""


def test_a_glob_that_matches_nothing_is_reported_as_a_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = run_cli("validate", "nothing*.yaml")
    assert run.exit_code == 2
    assert "error[E001]: file not found: nothing*.yaml" in run.stderr


def test_unreadable_input_wins_over_config_errors(write: Writer) -> None:
    bad = write("bad.yaml", BAD_VCPUS)
    run = run_cli("validate", str(bad), str(bad.parent / "missing.yaml"))
    assert run.exit_code == 2
    assert run.stderr.splitlines()[-1] == "2 files checked: 2 error(s), 0 warning(s)"


def test_json_format_goes_to_stdout(write: Writer) -> None:
    bad = write("bad.yaml", BAD_VCPUS)
    run = run_cli("validate", "--format", "json", str(bad))
    assert run.exit_code == 1
    assert json.loads(run.stdout) == [
        {
            "code": "E104",
            "severity": "error",
            "message": "'vms[0].vcpus' must be at least 1, not 0",
            "file": str(bad),
            "line": 7,
            "col": 12,
        }
    ]
    assert run.stderr == ""


def test_json_format_of_a_clean_file_is_an_empty_list(write: Writer) -> None:
    ok = write("ok.yaml", MINIMAL_X86)
    run = run_cli("validate", "--format=json", str(ok))
    assert (run.exit_code, json.loads(run.stdout)) == (0, [])


def test_github_format(write: Writer) -> None:
    bad = write("bad.yaml", TYPO)
    run = run_cli("validate", "--format", "github", str(bad))
    assert run.exit_code == 1
    shown = str(bad).replace(":", "%3A").replace(",", "%2C")
    assert run.stdout == (
        f"::error file={shown},line=7,col=5,title=E101::"
        "unknown key 'vcpu' in vms[0] (hint: did you mean 'vcpus'?)\n"
    )


def test_sarif_format(write: Writer) -> None:
    bad = write("bad.yaml", TYPO)
    run = run_cli("validate", "--format", "sarif", str(bad))
    log = json.loads(run.stdout)
    assert log["version"] == "2.1.0"
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "E101"
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 7,
        "startColumn": 5,
    }


def test_unknown_format_is_a_usage_error(write: Writer) -> None:
    ok = write("ok.yaml", MINIMAL_X86)
    assert run_cli("validate", "--format", "xml", str(ok)).exit_code == 2


@pytest.mark.parametrize("code", sorted(all_codes()))
def test_explain_every_code(code: str) -> None:
    entry = all_codes()[code]
    run = run_cli("explain", code.lower())
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0] == f"{code}: {entry.title}"
    assert entry.explanation in run.stdout
    if entry.example:
        at = lines.index("Example:")
        assert lines[at + 2] == "    " + entry.example.splitlines()[0]


@pytest.mark.parametrize("code", [c.code for c in (*LOAD_CODES, *MODEL_CODES)])
def test_load_and_model_codes_come_with_an_example(code: str) -> None:
    assert all_codes()[code].example
    assert "Example:" in run_cli("explain", code).stdout


def test_explain_unknown_code_is_a_usage_error() -> None:
    run = run_cli("explain", "E999")
    assert run.exit_code == 2
    assert "unknown code 'E999'" in run.stderr


def test_module_entry_point_runs() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "sel4vmgen", "validate", "examples/minimal.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "1 file checked: 0 error(s), 0 warning(s)\n"


# ---------------------------------------------------------------- folders


def test_validate_a_folder_checks_every_yaml_file_below_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("systems/boards").mkdir(parents=True)
    Path("systems/.hidden").mkdir()
    Path("systems/a.yaml").write_text(MINIMAL_X86, encoding="utf-8")
    Path("systems/boards/b.yml").write_text(BAD_VCPUS, encoding="utf-8")
    Path("systems/boards/notes.txt").write_text("not a system", encoding="utf-8")
    Path("systems/.hidden/c.yaml").write_text(TYPO, encoding="utf-8")
    Path("systems/.d.yaml").write_text(TYPO, encoding="utf-8")
    run = run_cli("validate", "systems/")
    assert run.exit_code == 1
    lines = run.stderr.splitlines()
    assert (
        "systems/boards/b.yml:7:12: error[E104]: 'vms[0].vcpus' must be at least 1, not 0" in lines
    )
    assert lines[-1] == "2 files checked: 1 error(s), 0 warning(s)"


def test_validate_the_examples_folder() -> None:
    run = run_cli("validate", str(EXAMPLES))
    assert run.exit_code == 0, run.stderr
    count = len(list(EXAMPLES.rglob("*.yaml")))
    assert run.stderr.splitlines()[-1].startswith(f"{count} files checked: 0 error(s)")


def test_a_folder_and_a_file_in_it_are_checked_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL_X86, encoding="utf-8")
    run = run_cli("validate", str(tmp_path), str(tmp_path / "a.yaml"))
    assert run.stderr == "1 file checked: 0 error(s), 0 warning(s)\n"


def test_a_folder_with_no_yaml_file_is_e013_exit_2(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hello", encoding="utf-8")
    run = run_cli("validate", str(tmp_path))
    assert run.exit_code == 2
    assert run.stderr.splitlines()[:2] == [
        f"error[E013]: no *.yaml or *.yml file in folder {tmp_path}",
        "  hint: name the system files, or a glob such as 'systems/**/*.yaml'",
    ]


# ---------------------------------------------------------------- explain --list


def test_explain_list_prints_every_code_with_its_title() -> None:
    run = run_cli("explain", "--list")
    assert run.exit_code == 0
    codes = all_codes()
    assert run.stdout.splitlines() == [f"{c}  {codes[c].title}" for c in sorted(codes)]
    assert "E013  no system files in a folder" in run.stdout.splitlines()


def test_explain_needs_a_code_or_list() -> None:
    run = run_cli("explain")
    assert run.exit_code == 2
    assert "Error: missing CODE (or --list for every code)" in run.stderr
    assert run_cli("explain", "E101", "--list").exit_code == 2


# ---------------------------------------------------------------- shell completion


def complete(line: str) -> list[tuple[str, str]]:
    """What click's bash completion answers for `line` (the cursor at its end), as
    (type, value) pairs: the protocol the script from `bash_source` speaks."""
    from click.testing import CliRunner

    from sel4vmgen.cli import cli

    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    env = {
        "_SEL4VMGEN_COMPLETE": "bash_complete",
        "COMP_WORDS": line,
        "COMP_CWORD": str(cword),
    }
    result = CliRunner().invoke(cli, [], env=env, prog_name="sel4vmgen")
    assert result.exit_code == 0, result.output
    return [tuple(row.split(",", 1)) for row in result.stdout.splitlines()]  # type: ignore[misc]


@pytest.mark.parametrize(
    "line",
    [
        "sel4vmgen validate exa",
        "sel4vmgen validate examples/minimal.yaml exa",
        "sel4vmgen generate exa",
        "sel4vmgen plan exa",
        "sel4vmgen simulate exa",
        "sel4vmgen graph exa",
        "sel4vmgen graph x.yaml -o pic",
        "sel4vmgen schema -o sch",
        "sel4vmgen simulate x.yaml --trace tr",
    ],
)
def test_every_file_argument_completes_file_names(line: str) -> None:
    assert complete(line) == [("file", line.split()[-1])]


def test_output_folders_complete_folder_names() -> None:
    assert complete("sel4vmgen generate x.yaml -o ou") == [("dir", "ou")]
    assert complete("sel4vmgen new-guest -o ou") == [("dir", "ou")]


def test_platform_names_complete_from_the_platform_database() -> None:
    from sel4vmgen.platforms import names

    assert complete("sel4vmgen platforms t") == [
        ("plain", "tk1"),
        ("plain", "tx1"),
        ("plain", "tx2"),
    ]
    assert complete("sel4vmgen plan x.yaml --platform ") == [("plain", n) for n in names()]
    assert complete("sel4vmgen graph x.yaml --platform qemu-") == [("plain", "qemu-arm-virt")]


def test_explain_completes_diagnostic_codes_in_either_case() -> None:
    codes = sorted(all_codes())
    assert complete("sel4vmgen explain ") == [("plain", c) for c in codes]
    assert complete("sel4vmgen explain e01") == [("plain", c) for c in codes if c.startswith("E01")]


def test_zsh_completion_shows_each_code_with_its_title() -> None:
    from click.testing import CliRunner

    from sel4vmgen.cli import cli

    env = {
        "_SEL4VMGEN_COMPLETE": "zsh_complete",
        "COMP_WORDS": "sel4vmgen explain E10",
        "COMP_CWORD": "2",
    }
    out = CliRunner().invoke(cli, [], env=env, prog_name="sel4vmgen").stdout.splitlines()
    assert out[:3] == ["plain", "E101", "unknown key"]


def test_simulate_completes_the_vmm_models() -> None:
    from sel4vmgen.sim.run import MODELS

    offered = complete("sel4vmgen simulate x.yaml --vmm-model ")
    assert offered == [("plain", m) for models in MODELS.values() for m in models]
    assert [v for _, v in offered] == ["x86", "x86_split", "arm"]


# ---------------------------------------------------------------- generate --check


def _generated(tmp_path: Path) -> tuple[str, Path]:
    out = tmp_path / "app"
    system = str(EXAMPLES / "minimal.yaml")
    assert run_cli("generate", system, "-o", str(out)).exit_code == 0
    return system, out


def test_check_prints_a_unified_diff_of_an_edited_file(tmp_path: Path) -> None:
    system, out = _generated(tmp_path)
    camkes = out / "minimal.camkes"
    camkes.write_text(camkes.read_text().replace("guest_ram_mb = 128", "guest_ram_mb = 256"))
    run = run_cli("generate", system, "-o", str(out), "--check")
    assert run.exit_code == 1
    assert run.stdout.splitlines()[:3] == [
        f"--- {camkes} (on disk)",
        f"+++ {camkes} (would be generated)",
        "@@ -20,7 +20,7 @@",
    ]
    changed = [ln for ln in run.stdout.splitlines()[3:] if ln[:1] in "+-"]
    assert changed == ["-        vm0.guest_ram_mb = 256;", "+        vm0.guest_ram_mb = 128;"]
    assert run.stderr == f"error[E402]: {camkes} differs from what would be generated\n"


def test_check_quiet_names_the_files_only(tmp_path: Path) -> None:
    system, out = _generated(tmp_path)
    (out / "app_settings.cmake").write_text("# edited\n")
    run = run_cli("generate", system, "-o", str(out), "--check", "--quiet")
    assert (run.exit_code, run.stdout) == (1, "")
    assert run.stderr == (
        f"error[E402]: {out / 'app_settings.cmake'} differs from what would be generated\n"
    )


def test_check_names_missing_left_over_and_binary_files(tmp_path: Path) -> None:
    system, out = _generated(tmp_path)
    (out / "README.md").unlink()
    (out / "app_settings.cmake").write_bytes(b"\xff\xfe not text\n")
    run = run_cli("generate", system, "-o", str(out), "--check")
    assert run.exit_code == 1
    assert run.stdout == (
        f"{out / 'README.md'}: missing\n{out / 'app_settings.cmake'}: not UTF-8 text; not diffed\n"
    )


def test_check_diff_is_cut_at_its_limit(tmp_path: Path) -> None:
    from sel4vmgen.commands.drift import DIFF_LINES

    system, out = _generated(tmp_path)
    generated = len((out / "minimal.camkes").read_text().splitlines())
    (out / "minimal.camkes").write_text("".join(f"line {i}\n" for i in range(1000)))
    run = run_cli("generate", system, "-o", str(out), "--check")
    lines = run.stdout.splitlines()
    assert len(lines) == DIFF_LINES + 1
    whole = 3 + 1000 + generated  # ---, +++ and one hunk: every old line out, every new one in
    assert lines[-1] == (
        f"... {whole - DIFF_LINES} more line(s) of diff in 1 file(s) not shown; "
        "run generate without --check to bring the folder up to date"
    )


def test_check_in_a_machine_format_prints_no_diff(tmp_path: Path) -> None:
    system, out = _generated(tmp_path)
    (out / "app_settings.cmake").write_text("# edited\n")
    run = run_cli("generate", system, "-o", str(out), "--check", "--format", "json")
    assert run.exit_code == 1
    assert [d["code"] for d in json.loads(run.stdout)] == ["E402"]


def test_check_of_an_up_to_date_folder_prints_no_diff(tmp_path: Path) -> None:
    system, out = _generated(tmp_path)
    run = run_cli("generate", system, "-o", str(out), "--check")
    assert (run.exit_code, run.stdout) == (0, "")
    assert run.stderr == f"up to date: {out}\n"
