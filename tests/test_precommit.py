"""The pre-commit hook: its definition, its command line on marked, unmarked and bad files,
and `pre-commit try-repo` running it over the examples."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / ".pre-commit-hooks.yaml"
MARK = "# yaml-language-server: $schema=../schemas/system.schema.json\n"

GOOD = """\
name: ok
arch: x86
sel4_arch: ia32
platform: pc99
vms:
  - name: vm0
    ram: {size: 128MiB}
    kernel: {image: "${CAMKES_VM_IMAGES_DIR}/bzimage"}
"""
BAD = GOOD.replace("ram: {size: 128MiB}", "vcpus: lots\n    ram: {size: 128MiB}")
# as the hook sees BAD, below the schema line
BAD_MESSAGE = "system.yaml:8:12: error[E103]: 'vms[0].vcpus' must be a whole number, not 'lots'"
# YAML that is not a system: the hook must pass over it
WORKFLOW = "name: ci\non: [push]\njobs: {}\n"


def hook() -> dict[str, Any]:
    hooks = YAML(typ="safe").load(HOOKS.read_text(encoding="utf-8"))
    found = [h for h in hooks if h["id"] == "sel4vmgen-validate"]
    assert len(found) == 1
    entry: dict[str, Any] = found[0]
    return entry


def program(name: str) -> str | None:
    """An installed program: on PATH, or beside the running Python (an unactivated venv)."""
    beside = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside) if beside.is_file() else None)


def command_line(files: list[str], args: list[str] | None = None) -> list[str]:
    """The hook's entry and args as pre-commit runs them, with the installed program."""
    h = hook()
    words = shlex.split(h["entry"]) + [
        str(a) for a in (h.get("args", []) if args is None else args)
    ]
    assert words[0] == "sel4vmgen"
    found = program("sel4vmgen")
    head = [found] if found else [sys.executable, "-m", "sel4vmgen"]
    return head + words[1:] + files


def test_the_hook_is_a_python_hook_given_every_yaml_file() -> None:
    h = hook()
    assert h["language"] == "python"
    assert h["types"] == ["yaml"]
    assert "files" not in h  # every YAML file; the command picks the system files
    assert h["entry"] == "sel4vmgen validate"
    assert h["args"] == ["--only-marked"]
    assert h.get("pass_filenames", True) is True


def test_the_documented_override_names_files_and_drops_the_filter() -> None:
    comment = [
        line.removeprefix("#")
        for line in HOOKS.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    ]
    at = [i for i, line in enumerate(comment) if line.strip() == "- id: sel4vmgen-validate"][-1]
    indent = len(comment[at]) - len(comment[at].lstrip())
    block = [comment[at]]
    for line in comment[at + 1 :]:
        if len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    (override,) = YAML(typ="safe").load(textwrap.dedent("\n".join(block)))
    assert override["args"] == []
    pattern = re.compile(override["files"])
    assert pattern.search("systems/board.yaml") and pattern.search("systems/a/b.yml")
    assert not pattern.search("docs/mkdocs.yaml")


def _run(
    tmp_path: Path, files: list[str], args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command_line(files, args),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_hook_command_passes_a_good_file_and_fails_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "good" / "system.yaml").write_text(MARK + GOOD, encoding="utf-8")
    (tmp_path / "bad" / "system.yaml").write_text(MARK + BAD, encoding="utf-8")
    good = _run(tmp_path, ["good/system.yaml"])
    assert good.returncode == 0, good.stderr
    bad = _run(tmp_path, ["bad/system.yaml"])
    assert bad.returncode == 1
    assert f"bad/{BAD_MESSAGE}" in bad.stderr
    both = _run(tmp_path, ["good/system.yaml", "bad/system.yaml"])
    assert both.returncode == 1
    assert "2 files checked: 1 error(s), 0 warning(s)" in both.stderr


def test_the_hook_passes_over_yaml_files_without_the_schema_line(tmp_path: Path) -> None:
    files = {
        "ci.yml": WORKFLOW,
        "unmarked.yaml": BAD,  # a system, but not marked: left to a `files:` override
        "licensed.yaml": "# Copyright line\n#\n" + MARK + GOOD,  # the mark below other comments
        "late.yaml": GOOD + MARK,  # after the content: not a mark
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    run = _run(tmp_path, sorted(files))
    assert run.returncode == 0, run.stderr
    assert run.stderr == "1 file checked: 0 error(s), 0 warning(s)\n"
    overridden = _run(tmp_path, ["unmarked.yaml"], args=[])
    assert overridden.returncode == 1
    assert "unmarked.yaml:7:12: error[E103]" in overridden.stderr


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def _hook_repo(dest: Path) -> Path:
    """A git repository holding this project's sources, as pre-commit clones hook repos."""
    repo = dest / "hook-repo"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("sel4vmgen", "templates", "schemas"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "hook")
    return repo


PRE_COMMIT = program("pre-commit")


@pytest.mark.slow
@pytest.mark.skipif(
    PRE_COMMIT is None or shutil.which("git") is None, reason="pre-commit or git is not installed"
)
def test_pre_commit_try_repo_checks_the_examples_and_nothing_else(tmp_path: Path) -> None:
    assert PRE_COMMIT is not None
    repo = _hook_repo(tmp_path)
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    (work / ".github" / "workflows").mkdir(parents=True)
    (work / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW, encoding="utf-8")
    (work / "docs").mkdir()
    (work / "docs" / "mkdocs.yaml").write_text("site_name: x\nnav: [index.md]\n", encoding="utf-8")
    _git(work, "init", "-q")
    _git(work, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    run = [PRE_COMMIT, "try-repo", str(repo), "sel4vmgen-validate", "--all-files", "--verbose"]
    ok = subprocess.run(run, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"sel4vmgen validate\.+Passed", ok.stdout)
    # the examples were checked: their deliberate warnings are shown; the rest passed over
    assert "examples/vm_minimal.yaml:14:12: warning[W201]" in ok.stdout
    assert "ci.yml" not in ok.stdout and "mkdocs" not in ok.stdout
    checked = [int(n) for n in re.findall(r"^(\d+) files? checked", ok.stdout, flags=re.M)]
    assert sum(checked) == len(list((ROOT / "examples").glob("*.yaml")))
    (work / "systems").mkdir()
    (work / "systems" / "bad.yaml").write_text(MARK + BAD, encoding="utf-8")
    _git(work, "add", ".")
    bad = subprocess.run(run, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert bad.returncode == 1
    assert re.search(r"sel4vmgen validate\.+Failed", bad.stdout)
    assert BAD_MESSAGE.replace("system.yaml", "systems/bad.yaml") in bad.stdout


# ---------------------------------------------------------------- docs/ci.md


def _workflow() -> dict[str, Any]:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# \.github/workflows/.*?)```", text, re.S)
    assert block is not None
    data: dict[str, Any] = YAML(typ="safe").load(block.group(1))
    return data


def test_the_documented_workflow_annotates_and_checks_for_drift() -> None:
    steps = _workflow()["jobs"]["check"]["steps"]
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    assert "sel4vmgen validate --format github" in runs
    assert re.search(r"sel4vmgen generate \S+ -o \S+ --check", runs)


def test_the_documented_workflow_commands_exist_with_those_options() -> None:
    from click.testing import CliRunner

    from sel4vmgen.cli import cli

    for args in (["validate", "--help"], ["generate", "--help"], ["graph", "--help"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        if args[0] != "graph":
            assert "github" in result.output
    assert "--check" in CliRunner().invoke(cli, ["generate", "--help"]).output


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "_sel4vmgen_completion()"), ("zsh", "#compdef sel4vmgen"), ("fish", "complete")],
)
def test_shell_completion_scripts_as_documented(shell: str, marker: str) -> None:
    doc = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert f"_SEL4VMGEN_COMPLETE={shell}_source sel4vmgen" in doc
    found = program("sel4vmgen")
    head = [found] if found else [sys.executable, "-m", "sel4vmgen"]
    env = {**os.environ, "_SEL4VMGEN_COMPLETE": f"{shell}_source"}
    done = subprocess.run(head, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout
