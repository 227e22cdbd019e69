"""The pre-commit hook: its definition, and its command line run on a good and a bad file."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / ".pre-commit-hooks.yaml"

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
BAD_MESSAGE = "system.yaml:7:12: error[E103]: 'vms[0].vcpus' must be a whole number, not 'lots'"


def hook() -> dict[str, Any]:
    hooks = YAML(typ="safe").load(HOOKS.read_text(encoding="utf-8"))
    found = [h for h in hooks if h["id"] == "sel4vmgen-validate"]
    assert len(found) == 1
    entry: dict[str, Any] = found[0]
    return entry


def command_line(files: list[str]) -> list[str]:
    """The hook's entry and args as pre-commit runs them, with the installed program."""
    h = hook()
    words = shlex.split(h["entry"]) + [str(a) for a in h.get("args", [])]
    assert words[0] == "sel4vmgen"
    program = shutil.which("sel4vmgen")
    head = [program] if program else [sys.executable, "-m", "sel4vmgen"]
    return head + words[1:] + files


def test_the_hook_is_a_python_hook_on_yaml_system_files() -> None:
    h = hook()
    assert h["language"] == "python"
    assert h["types"] == ["yaml"]
    assert h["entry"].startswith("sel4vmgen validate")
    assert h.get("pass_filenames", True) is True
    pattern = re.compile(h["files"])
    for name in ("system.yaml", "a/b/system.yml", "board.system.yaml", "systems/two_vms.yaml"):
        assert pattern.search(name), name
    for name in ("guest.yaml", "vm1/guest.yaml", ".github/workflows/ci.yml", "systemd.yaml"):
        assert not pattern.search(name), name


def _run(tmp_path: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command_line(files), cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120
    )


def test_the_hook_command_passes_a_good_file_and_fails_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "good" / "system.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad" / "system.yaml").write_text(BAD, encoding="utf-8")
    good = _run(tmp_path, ["good/system.yaml"])
    assert good.returncode == 0, good.stderr
    bad = _run(tmp_path, ["bad/system.yaml"])
    assert bad.returncode == 1
    assert f"bad/{BAD_MESSAGE}" in bad.stderr
    both = _run(tmp_path, ["good/system.yaml", "bad/system.yaml"])
    assert both.returncode == 1
    assert "2 files checked: 1 error(s), 0 warning(s)" in both.stderr


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


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("pre-commit") is None or shutil.which("git") is None,
    reason="pre-commit or git is not installed",
)
def test_pre_commit_try_repo_runs_the_hook(tmp_path: Path) -> None:
    repo = _hook_repo(tmp_path)
    work = tmp_path / "work"
    (work / "systems").mkdir(parents=True)
    (work / "systems" / "good.yaml").write_text(GOOD, encoding="utf-8")
    _git(work, "init", "-q")
    _git(work, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    run = ["pre-commit", "try-repo", str(repo), "sel4vmgen-validate", "--all-files"]
    ok = subprocess.run(run, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"sel4vmgen validate\.+Passed", ok.stdout)
    (work / "systems" / "bad.yaml").write_text(BAD, encoding="utf-8")
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
    program = shutil.which("sel4vmgen")
    head = [program] if program else [sys.executable, "-m", "sel4vmgen"]
    env = {**os.environ, "_SEL4VMGEN_COMPLETE": f"{shell}_source"}
    done = subprocess.run(head, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout
