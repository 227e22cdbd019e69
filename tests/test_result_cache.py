"""validate's result cache: a re-run on unchanged inputs says the same without checking again;
any change to what the check read (the YAML, an included VM file, an image's size, the tool)
checks afresh; a corrupt or foreign entry, or a cache folder behind a symlink, is never trusted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from sel4vmgen.app import resultcache
from sel4vmgen.app.check import Checked
from sel4vmgen.cli import PLUGIN_LOADER
from sel4vmgen.commands import validate

SYSTEM = """\
name: cached
arch: arm
sel4_arch: aarch64
platform: qemu-arm-virt
vms:
  - include: vm.yaml
"""
VM = """\
name: vm0
ram: {base: 0x40000000, size: 512MiB}
kernel: {image: linux}
initrd:
  image: rootfs.cpio
  address: 0x4e000000
  max_size: 24MiB
dtb:
  address: 0x4f000000
"""
# The initrd's 24 MiB reach into the DTB (E220, with the other place).
E220 = (
    "vm.yaml:9:12: error[E220]: vm0 DTB 0x4f000000-0x4f200000 overlaps its initrd "
    "0x4e000000-0x4f800000 (line 6)"
)


@pytest.fixture
def checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cache on, in a folder of its own; the files validate checked afresh, in order."""
    monkeypatch.delenv("SEL4VMGEN_NO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "system.yaml").write_text(SYSTEM)
    (tmp_path / "vm.yaml").write_text(VM)
    sparse(tmp_path / "rootfs.cpio", 24 << 20)
    seen: list[str] = []
    real: Callable[[str], Checked] = validate.check_input

    def counted(path: str) -> Checked:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(validate, "check_input", counted)
    return seen


def sparse(path: Path, size: int) -> None:
    """A file of `size` bytes that takes no room."""
    with path.open("wb") as f:
        f.truncate(size)


def entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "sel4vmgen" / "validate").glob("*.json"))


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_hit_says_the_same_with_the_same_exit_code(checks: list[str], fmt: str) -> None:
    first = run_cli("validate", "--format", fmt, "system.yaml")
    second = run_cli("validate", "--format", fmt, "system.yaml")
    assert checks == ["system.yaml"]
    assert (second.exit_code, second.stdout, second.stderr) == (
        first.exit_code,
        first.stdout,
        first.stderr,
    )
    assert first.exit_code == 1
    assert E220 in first.stderr if fmt == "text" else '"E220"' in first.stdout


def test_a_clean_file_hits_with_exit_0(checks: list[str], tmp_path: Path) -> None:
    (tmp_path / "vm.yaml").write_text(VM.replace("0x4e000000", "0x48000000"))
    assert [run_cli("validate", "system.yaml").exit_code for _ in range(2)] == [0, 0]
    assert checks == ["system.yaml"]


def test_no_cache_option_and_variable_check_afresh(
    checks: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run_cli("validate", "--no-cache", "system.yaml")
    assert entries(tmp_path) == []
    run_cli("validate", "system.yaml")
    run_cli("validate", "--no-cache", "system.yaml")
    monkeypatch.setenv("SEL4VMGEN_NO_CACHE", "1")
    run_cli("validate", "system.yaml")
    assert checks == ["system.yaml"] * 4


def test_a_changed_yaml_misses_even_with_its_size_and_mtime_kept(
    checks: list[str], tmp_path: Path
) -> None:
    vm = tmp_path / "vm.yaml"
    run_cli("validate", "system.yaml")
    st = os.stat(tmp_path / "system.yaml")
    (tmp_path / "system.yaml").write_text(SYSTEM.replace("cached", "cachex"))
    os.utime(tmp_path / "system.yaml", ns=(st.st_atime_ns, st.st_mtime_ns))
    run_cli("validate", "system.yaml")
    vm.write_text(VM.replace("0x4e000000", "0x48000000"))
    fixed = run_cli("validate", "system.yaml")
    assert checks == ["system.yaml"] * 3
    assert fixed.exit_code == 0


def test_a_changed_image_size_misses(checks: list[str], tmp_path: Path) -> None:
    run_cli("validate", "system.yaml")
    sparse(tmp_path / "rootfs.cpio", 1 << 20)
    assert run_cli("validate", "system.yaml").exit_code == 0
    (tmp_path / "rootfs.cpio").unlink()  # a file that goes away: max_size counts
    assert run_cli("validate", "system.yaml").exit_code == 1
    (tmp_path / "linux").write_bytes(b"\0" * 64)  # a file that was not there
    run_cli("validate", "system.yaml")
    run_cli("validate", "system.yaml")
    assert checks == ["system.yaml"] * 4


def test_an_include_retargeted_through_a_symlink_misses(checks: list[str], tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "vm.yaml").write_text(VM)
    (tmp_path / "b" / "vm.yaml").write_text(VM.replace("0x4e000000", "0x48000000"))
    (tmp_path / "vms").symlink_to("a")
    (tmp_path / "system.yaml").write_text(SYSTEM.replace("vm.yaml", "vms/vm.yaml"))
    assert run_cli("validate", "system.yaml").exit_code == 1
    (tmp_path / "vms").unlink()
    (tmp_path / "vms").symlink_to("b")
    assert run_cli("validate", "system.yaml").exit_code == 0
    assert checks == ["system.yaml"] * 2


def test_a_changed_permission_misses(checks: list[str], tmp_path: Path) -> None:
    """A file made readable (or unreadable) says otherwise though its mtime stays."""
    run_cli("validate", "system.yaml")
    (tmp_path / "vm.yaml").chmod(0o600)
    run_cli("validate", "system.yaml")
    run_cli("validate", "system.yaml")
    assert checks == ["system.yaml"] * 2


def test_another_tool_misses(checks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli("validate", "system.yaml")
    monkeypatch.setattr(resultcache, "tool_fingerprint", lambda: "another version")
    run_cli("validate", "system.yaml")
    run_cli("validate", "system.yaml")
    assert checks == ["system.yaml"] * 2


def test_another_working_folder_misses(checks: list[str], tmp_path: Path) -> None:
    run_cli("validate", "system.yaml")
    os.chdir(tmp_path / "cache")
    run = run_cli("validate", "../system.yaml")
    assert checks == ["system.yaml", "../system.yaml"]
    assert "../vm.yaml:9:12: error[E220]" in run.stderr


@pytest.mark.parametrize(
    "corrupt",
    [
        b"not json",
        b"[]",
        b'{"format": 1}',
        b"\xff\xfe",
    ],
)
def test_a_corrupt_entry_is_ignored_and_replaced(
    checks: list[str], tmp_path: Path, corrupt: bytes
) -> None:
    first = run_cli("validate", "system.yaml")
    [entry] = entries(tmp_path)
    entry.write_bytes(corrupt)
    again = run_cli("validate", "system.yaml")
    assert (again.exit_code, again.stderr) == (first.exit_code, first.stderr)
    run_cli("validate", "system.yaml")
    assert checks == ["system.yaml"] * 2


@pytest.mark.parametrize(
    "field, value",
    [
        ("ok", "yes"),
        ("diagnostics", [{"code": "E220"}]),
        ("diagnostics", [{"code": 1, "message": "m", "severity": "error"}]),
        ("diagnostics", [{"code": "E1", "message": "m", "severity": "fatal"}]),
        ("reads", [["x", [1, 2, 3], None, None]]),
        ("reads", "none"),
        ("tool", "another"),
        ("cwd", "/elsewhere"),
    ],
)
def test_a_foreign_entry_is_never_trusted(
    checks: list[str], tmp_path: Path, field: str, value: object
) -> None:
    first = run_cli("validate", "system.yaml")
    [entry] = entries(tmp_path)
    data = json.loads(entry.read_text())
    data[field] = value
    entry.write_text(json.dumps(data))
    again = run_cli("validate", "system.yaml")
    assert (again.exit_code, again.stderr) == (first.exit_code, first.stderr)
    assert checks == ["system.yaml"] * 2


def test_an_entry_records_every_file_the_check_looked_at(checks: list[str], tmp_path: Path) -> None:
    """The system file, the included VM file, the initrd, and the kernel that is not there."""
    run_cli("validate", "system.yaml")
    [entry] = entries(tmp_path)
    data = json.loads(entry.read_text())
    assert {os.path.basename(r[0]) for r in data["reads"]} >= {
        "system.yaml",
        "vm.yaml",
        "rootfs.cpio",
        "linux",
    }


def test_a_cache_folder_behind_a_symlink_is_not_written(checks: list[str], tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "sel4vmgen").symlink_to(tmp_path / "elsewhere")
    run_cli("validate", "system.yaml")
    run_cli("validate", "system.yaml")
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert checks == ["system.yaml"] * 2


def test_a_hit_imports_neither_pydantic_nor_the_rules(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom sel4vmgen.cli import main\n"
        f"try:\n    main(['validate', {str(ROOT / 'examples' / 'minimal.yaml')!r}])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    env = {k: v for k, v in os.environ.items() if k != "SEL4VMGEN_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    runs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        for _ in range(2)
    ]
    cold, warm = (set(r.stdout.split()) for r in runs)
    assert {"pydantic", "sel4vmgen.rules", "ruamel.yaml"} <= cold
    heavy = {m for m in warm if m.startswith(("pydantic", "sel4vmgen.rules", "ruamel"))}
    assert heavy == {PLUGIN_LOADER}  # the command line's stand-in, not pydantic's
    assert not {m for m in warm if m.startswith(("sel4vmgen.model", "sel4vmgen.source"))}
