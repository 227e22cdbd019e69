"""README.md stays true: its quick start, its CI command and its example systems."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from sel4vmgen.app.check import check_file

README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV = "python3 -m venv .venv"
INSTALL = (
    f"{VENV} && .venv/bin/pip install . && "
    ".venv/bin/sel4vmgen generate examples/minimal.yaml -o out/minimal"
)
TESTS = f"{VENV} && .venv/bin/pip install nox && .venv/bin/nox -s tests lint typecheck"
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/system.schema.json"


def fenced(lang: str, text: str = README) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def section(heading: str) -> str:
    return README.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def test_quick_start_is_exactly_two_commands() -> None:
    quick = section("## Quick start").split("\n### ", 1)[0]
    assert [b.strip() for b in fenced("sh", quick)] == [INSTALL, TESTS]


def test_ci_runs_the_packages_then_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [ln for ln in script.splitlines() if ln and not ln.startswith(("#", "set ", "cd "))]
    assert commands[0] == "bash .ci/install-packages"
    assert commands[-1] == TESTS
    assert [c for c in commands[1:-1] if not c.startswith("npm install ")] == []


def _table_packages() -> list[str]:
    rows = re.findall(r"^\| `([a-z0-9.+-]+)` \|", section("### System packages"), flags=re.M)
    return rows


def test_ci_installs_exactly_the_system_packages_readme_names() -> None:
    script = (ROOT / ".ci" / "install-packages").read_text(encoding="utf-8")
    (listed,) = re.findall(r"^packages=\(([^)]*)\)$", script, flags=re.M)
    table = _table_packages()
    assert listed.split() == table
    (command,) = fenced("sh", section("### System packages"))
    assert command.strip() == "sudo apt-get install " + " ".join(table)


def test_every_tool_a_test_skips_without_is_in_the_table() -> None:
    """The programs tests look up with shutil.which are the ones README's table names."""
    wanted: set[str] = set()
    for test in (ROOT / "tests").glob("*.py"):
        wanted |= set(re.findall(r"which\(\"([\w-]+)\"\)", test.read_text(encoding="utf-8")))
    wanted -= {"sel4vmgen", "pre-commit"}  # installed by pip with the package and its test extra
    programs = set(re.findall(r"^\|[^|]+\| ([^|]*) \|", section("### System packages"), flags=re.M))
    named = {p for cell in programs for p in re.findall(r"`([\w-]+)`", cell)}
    assert wanted and wanted <= named, wanted - named


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

    command = INSTALL.split(" && ")[-1].split()
    assert command[:2] == [".venv/bin/sel4vmgen", "generate"]
    out = tmp_path / command[-1]
    argv = [sys.executable, "-m", "sel4vmgen", *command[1:-1], str(out)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (out / "minimal.camkes").is_file() and (out / "plan.json").is_file()


# ---------------------------------------------------------------- .ci/install-packages


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _install_packages(tmp_path: Path, uid: int, sudo: bool) -> tuple[int, str, list[str]]:
    """Run .ci/install-packages with dpkg-query, apt-get, id (and sudo) stubbed: git and gcc
    installed, the rest missing.  Returns its exit code, stderr and the commands it ran."""
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    installed = "git|gcc"
    _stub(bin_dir, "dpkg-query", f'case "$3" in {installed}) printf "install ok installed";; '
                                 '*) exit 1;; esac')  # fmt: skip
    _stub(bin_dir, "apt-get", f'echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> {log}')
    _stub(bin_dir, "id", f"echo {uid}")
    if sudo:
        _stub(bin_dir, "sudo", f'echo "sudo $*" >> {log}; shift; exec "$@"')
    for tool in ("bash", "env", "true"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    script = ROOT / ".ci" / "install-packages"
    env = {"PATH": str(bin_dir)}
    done = subprocess.run(
        [str(bin_dir / "bash"), str(script)], env=env, capture_output=True, text=True, check=False
    )
    ran = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return done.returncode, done.stderr, ran


MISSING = "device-tree-compiler graphviz acpica-tools spin cmake python3-venv"


def test_install_packages_as_root_installs_what_is_missing_without_questions(
    tmp_path: Path,
) -> None:
    code, err, ran = _install_packages(tmp_path, uid=0, sudo=False)
    assert (code, err) == (0, "")
    assert ran == [
        "apt-get update -q DEBIAN_FRONTEND=",
        f"apt-get install -y -q --no-install-recommends {MISSING} DEBIAN_FRONTEND=noninteractive",
    ]


def test_install_packages_uses_sudo_when_not_root(tmp_path: Path) -> None:
    code, _, ran = _install_packages(tmp_path, uid=1000, sudo=True)
    assert code == 0
    assert "sudo -n apt-get update -q" in ran
    assert f"apt-get install -y -q --no-install-recommends {MISSING} " \
        "DEBIAN_FRONTEND=noninteractive" in ran  # fmt: skip


def test_install_packages_without_root_or_sudo_says_what_is_missing(tmp_path: Path) -> None:
    code, err, ran = _install_packages(tmp_path, uid=1000, sudo=False)
    assert (code, ran) == (0, [])
    assert err == f"cannot install {MISSING}: not root, and no sudo without a password\n"


# ---------------------------------------------------------------- skips in CI


def test_a_skipped_test_fails_in_ci_and_says_why(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    shutil.copy2(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_tool.py").write_text(
        "import pytest\n\n\n"
        '@pytest.mark.skipif(True, reason="frob is not installed")\n'
        "def test_needs_frob() -> None:\n    pass\n",
        encoding="utf-8",
    )
    argv = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)]

    def run(ci: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CI": ci}
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)

    local = run("")
    assert local.returncode == 0
    assert "SKIPPED [1] test_tool.py:4: frob is not installed" in local.stdout
    assert "1 test(s) skipped, each for the reason the summary gives" in local.stdout
    ci = run("true")
    assert ci.returncode == 1
    assert (
        "ERROR test_tool.py::test_needs_frob - skipped in CI, where every test must run: "
        "frob is not installed"
    ) in ci.stdout


# ---------------------------------------------------------------- README's commands, as a new user runs them


def _system_python() -> str:
    """The machine's own Python 3.11+ (Debian's /usr/bin/python3, which refuses `pip install`
    under PEP 668), not the one running the tests; else the base of the running one."""
    import subprocess
    import sys

    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).is_file():
            probe = [candidate, "-c", "import sys, venv; print(sys.version_info >= (3, 11))"]
            done = subprocess.run(probe, capture_output=True, text=True, check=False)
            if done.stdout.strip() == "True":
                return candidate
    return str(Path(getattr(sys, "_base_executable", sys.executable)).resolve())


def _checkout_copy(dest: Path) -> Path:
    """The project's files as a fresh checkout has them (tracked and new, not ignored)."""
    import subprocess

    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    copy = dest / "sel4vmgen"
    if listed.returncode == 0:
        for rel in filter(None, listed.stdout.decode().split("\0")):
            if (ROOT / rel).is_file():
                (copy / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, copy / rel)
    else:  # an unpacked sdist
        junk = shutil.ignore_patterns(".venv", ".nox", "out", "__pycache__", "*.pyc", ".*_cache")
        shutil.copytree(ROOT, copy, ignore=junk)
    return copy


def _new_user_env(python: str) -> dict[str, str]:
    """The environment of a shell on a stock machine: the system Python's folder first on PATH
    (so `python3` is the system's), no virtual environment (this run's included) active or on
    PATH."""
    import os
    import sys

    ours = {str(Path(sys.prefix) / "bin"), os.environ.get("VIRTUAL_ENV", "") + "/bin"}
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and d not in ours]
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["PATH"] = os.pathsep.join([str(Path(python).parent), *path])
    return env


@pytest.mark.slow
def test_readme_commands_work_in_a_fresh_venv_from_the_system_python(tmp_path: Path) -> None:
    import subprocess
    import time

    python = _system_python()
    copy = _checkout_copy(tmp_path)
    env = _new_user_env(python)

    started = time.monotonic()
    first = subprocess.run(
        ["bash", "-c", INSTALL], cwd=copy, env=env, capture_output=True, text=True, timeout=1800
    )
    seconds = time.monotonic() - started
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (copy / "out" / "minimal" / "minimal.camkes").is_file()
    assert "wrote " in first.stderr and "file(s) in out/minimal" in first.stderr
    home = (copy / ".venv" / "pyvenv.cfg").read_text(encoding="utf-8")
    assert f"home = {Path(python).parent}" in home.splitlines()
    print(f"pip install to first generated app: {seconds:.1f} s with {python}")

    # README's test command as it stands, with pytest narrowed to one test (the whole suite
    # would run this test again); lint and typecheck run in full.
    one = "tests/test_readme.py::test_quick_start_is_exactly_two_commands"
    second = subprocess.run(
        ["bash", "-c", f"{TESTS} -- -q -p no:cacheprovider {one}"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    shown = second.stdout[-4000:] + second.stderr[-4000:]
    assert second.returncode == 0, shown
    assert "1 passed" in second.stdout, shown
    for session in ("tests", "lint", "typecheck"):
        assert f"Session {session} was successful" in second.stderr, shown


def test_readme_states_the_check_diff_limit_the_command_uses() -> None:
    from sel4vmgen.commands.drift import DIFF_LINES

    assert f"prints a unified diff of what differs (at most {DIFF_LINES} lines;" in " ".join(
        README.split()
    )
