"""VM files (what `include:` names, new-guest's guest.yaml): `validate` recognises one and
checks it as a VM, with the diagnostics and positions the same VM gets inside a system;
commands that need a whole system refuse one with E110 rather than a list of unrelated errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from sel4vmgen.app.check import check_file
from sel4vmgen.app.inputs import check_input
from sel4vmgen.model.vm_file import is_vm_file

SYSTEM = """\
name: sys
arch: arm
sel4_arch: aarch64
platform: qemu-arm-virt
vms:
  - include: web.yaml
"""
VM = """\
name: web
vcpu: 2
ram:
  size: 512MB
  base: 0x40000000
kernel:
  image: linux
passthrough:
  irqs: [2000]
"""


def test_a_scaffolded_guest_file_validates_clean(tmp_path: Path) -> None:
    assert run_cli("new-guest", "-o", str(tmp_path), "vm1", "--no-input").exit_code == 0
    run = run_cli("validate", str(tmp_path / "vm1" / "guest.yaml"))
    assert (run.exit_code, run.stdout, run.stderr) == (
        0,
        "",
        "1 file checked: 0 error(s), 0 warning(s)\n",
    )


def test_a_vm_file_gets_the_diagnostics_it_gets_inside_a_system(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(VM, encoding="utf-8")
    (tmp_path / "sys.yaml").write_text(SYSTEM, encoding="utf-8")
    alone = check_input(tmp_path / "web.yaml").diagnostics
    inside = check_file(tmp_path / "sys.yaml").diagnostics
    assert [(d.code, d.span) for d in alone] == [(d.code, d.span) for d in inside]
    assert [d.message for d in alone] == [
        "unknown key 'vcpu' in the top level",
        "ram.size: unknown size unit 'MB' (use B, KiB, MiB, GiB or TiB); did you mean 'MiB'?",
        "'passthrough.irqs[0]' must be at most 1023, not 2000",
    ]
    assert [d.message.replace("vms[0].", "") for d in inside] == [
        "unknown key 'vcpu' in vms[0]",
        *[d.message for d in alone][1:],
    ]


def test_commands_that_need_a_system_refuse_a_vm_file_with_one_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text("name: web\nkernel:\n  image: linux\n", encoding="utf-8")
    run = run_cli("plan", str(tmp_path / "web.yaml"))
    assert run.exit_code == 1
    assert run.stderr.splitlines()[0] == (
        f"{tmp_path}/web.yaml:1:1: error[E110]: this is a VM file (what a system's "
        "`include:` names), not a system file"
    )
    assert run.stderr.count("error[") == 1


@pytest.mark.parametrize(
    ("data", "vm"),
    [
        ({"name": "web", "kernel": {"image": "linux"}}, True),
        ({"include": "base.yaml", "name": "web"}, True),
        ({"vcpus": 1}, True),
        ({"name": "web"}, False),  # nothing but a name: a system missing its fields
        ({"name": "s", "arch": "arm", "vcpus": 1}, False),  # a system with a stray key
        ({"name": "s", "vms": []}, False),
        (["name"], False),
    ],
)
def test_what_counts_as_a_vm_file(data: object, vm: bool) -> None:
    assert is_vm_file(data) is vm


def test_only_marked_checks_a_scaffolds_system_and_vm_files(tmp_path: Path) -> None:
    assert run_cli("new-guest", "-o", str(tmp_path), "vm1", "--no-input").exit_code == 0
    guest = tmp_path / "vm1" / "guest.yaml"
    text = guest.read_text(encoding="utf-8") + "vcpu: 1\n"
    guest.write_text(text, encoding="utf-8")
    line = text.count("\n")
    run = run_cli("validate", "--only-marked", str(tmp_path))
    assert run.exit_code == 1
    # the typo, once in the VM file checked alone and once through the system including it
    assert run.stderr.splitlines()[-1] == "2 files checked: 2 error(s), 0 warning(s)"
    heads = [ln for ln in run.stderr.splitlines() if "error[" in ln]
    assert [h.split(": error")[0] for h in heads] == [f"{guest}:{line}:1"] * 2
    assert [h.split("]: ")[1] for h in heads] == [
        "unknown key 'vcpu' in the top level",
        "unknown key 'vcpu' in vms[0]",
    ]
