"""Resolution: what `resolve` decides for a system, and how `sel4vmgen plan` reports it."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sel4vmgen.diagnostics import DiagnosticError
from sel4vmgen.model import Loaded, load
from sel4vmgen.plan import resolve, resolve_all
from sel4vmgen.plan.common import pow2_chunks
from sel4vmgen.plan.model import Plan
from sel4vmgen.platforms import load as platform
from tests.conftest import EXAMPLES, Run

ARM_VM = """\
  - name: {name}
    kernel: {{image: "${{CAMKES_VM_IMAGES_DIR}}/qemu-arm-virt/linux"}}
"""


def system(tmp_path: Path, body: str, name: str = "s.yaml") -> Loaded:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return load(path)


def arm(tmp_path: Path, vms: str, extra: str = "", head: str = "") -> Plan:
    text = (
        "name: t\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\n"
        + head
        + "vms:\n"
        + vms
        + extra
    )
    return resolve_all(system(tmp_path, text))[0]


def x86(tmp_path: Path, vms: str, sel4_arch: str = "ia32", extra: str = "") -> Plan:
    text = f"name: t\narch: x86\nsel4_arch: {sel4_arch}\nplatform: pc99\nvms:\n{vms}{extra}"
    return resolve_all(system(tmp_path, text))[0]


def x86_vm(name: str, more: str = "") -> str:
    return f'  - name: {name}\n    kernel: {{image: "${{CAMKES_VM_IMAGES_DIR}}/bzimage"}}\n{more}'


def test_resolve_is_the_function_exported_by_the_package() -> None:
    assert callable(resolve) and resolve.__name__ == "resolve"


@given(
    st.integers(0, 1 << 40).map(lambda a: a << 12), st.integers(1, 1 << 20).map(lambda s: s << 12)
)
def test_pow2_chunks_cover_the_window_with_aligned_powers_of_two(start: int, size: int) -> None:
    addr = start
    for at, bits in pow2_chunks(start, size):
        assert at == addr and at % (1 << bits) == 0
        addr += 1 << bits
    assert addr == start + size


def test_arm_defaults_come_from_the_platform_guest_layout(tmp_path: Path) -> None:
    plan = arm(tmp_path, ARM_VM.format(name="guest"))
    vm = plan.vms[0]
    assert (vm.instance, vm.component, vm.vcpus, vm.priority) == ("vm0", "VM", 2, 100)
    assert (vm.ram.guest, vm.ram.paddr, vm.ram.size) == (0x40000000, 0x40000000, 0x20000000)
    assert vm.kernel.guest == 0x40080000
    assert vm.stdout == "/pl011@9000000" and vm.cmdline == ""
    assert vm.dtb_nodes == ("/pl011@9000000",)
    assert [(r.paddr, r.size) for r in vm.untyped_mmios] == [
        (0x8040000, 0x1000),
        (0x40000000, 0x20000000),
    ]
    assert plan.gic is not None and plan.gic.list_registers == 4


def test_arm_threads_follow_base_prio_and_vcpu_cores(tmp_path: Path) -> None:
    vms = ARM_VM.format(name="a") + "    vcpus: 2\n    priority: 150\n"
    plan = arm(tmp_path, vms, head="num_nodes: 2\n")
    threads = [(t.name, t.role, t.priority, t.core) for t in plan.threads if t.vm == "vm0"]
    assert threads == [
        ("vm0", "vmm", 150, None),
        ("vm0_vcpu0", "vcpu", 149, 0),
        ("vm0_vcpu1", "vcpu", 149, 1),
        ("vm0_irq_server", "irq_server", 151, None),
    ]
    assert plan.vms[0].irq_server_priority == 151
    assert ("KernelMaxNumNodes", 2) in [(o.name, o.value) for o in plan.cmake_options]


def test_num_vcpus_is_kept_but_only_num_nodes_vcpu_threads_run(tmp_path: Path) -> None:
    plan = arm(tmp_path, ARM_VM.format(name="a") + "    vcpus: 4\n")
    assert plan.vms[0].vcpus == 4
    assert [t.core for t in plan.threads if t.role == "vcpu"] == [0]
    assert plan.notes == ("vm0: num_vcpus 4 > KernelMaxNumNodes 1; camkes-vm runs 1 VCPU(s)",)


def test_following_vms_are_placed_after_the_previous_ram(tmp_path: Path) -> None:
    vms = "".join(ARM_VM.format(name=n) + "    ram: {size: 128MiB}\n" for n in ("a", "b", "c"))
    plan = arm(tmp_path, vms)
    assert [vm.ram.guest for vm in plan.vms] == [0x40000000, 0x48000000, 0x50000000]
    dtbs = [vm.dtb.guest for vm in plan.vms if vm.dtb is not None]
    assert dtbs == [0x47000000, 0x4F000000, 0x57000000]
    assert [t.name for t in plan.threads if t.role == "vmm"] == ["vm0", "vm1", "vm2"]


def test_aarch32_entry_offset_and_cmake_options(tmp_path: Path) -> None:
    text = (
        "name: t\narch: arm\nsel4_arch: aarch32\nplatform: exynos5422\nvms:\n"
        '  - name: g\n    kernel: {image: "${CAMKES_VM_IMAGES_DIR}/exynos5422/linux"}\n'
        '    initrd: {image: "${CAMKES_VM_IMAGES_DIR}/exynos5422/rootfs.cpio.gz"}\n'
        "    virtio: {console: true}\n"
    )
    plan = resolve_all(system(tmp_path, text))[0]
    vm = plan.vms[0]
    assert vm.kernel.guest == 0x40008000 and vm.kernel.format == "zImage"
    assert (plan.kernel_platform, plan.arm_platform) == ("exynos5", "exynos5422")
    assert [(o.name, o.value) for o in plan.cmake_options] == [
        ("VmPCISupport", True),
        ("VmVirtioConsole", True),
        ("VmInitRdFile", True),
        ("KernelArmCPU", "cortex-a15"),
    ]
    virtio = [r for r in plan.irq_routes if r.kind == "virtio"]
    assert [(r.source, r.virq) for r in virtio] == [(-1, 124)]
    fixed = [(t.name, t.priority) for t in plan.threads if t.role in ("serial", "time_server")]
    assert fixed == [("time_server", 255), ("serial", 254)]


def test_irq_routes_of_an_arm_vm(tmp_path: Path) -> None:
    vms = (
        ARM_VM.format(name="a")
        + "    passthrough:\n      devices: [/pcie@10000000]\n      irqs: [35, 40]\n"
    )
    plan = arm(tmp_path, vms)
    routes = [(r.source, r.virq, r.trigger, r.kind) for r in plan.irq_routes]
    assert routes == [
        (27, 27, "level", "vtimer"),
        (35, 35, "level", "passthrough"),
        (36, 36, "level", "passthrough"),
        (37, 37, "level", "passthrough"),
        (38, 38, "level", "passthrough"),
        (40, 40, "level", "passthrough"),
    ]


def test_cross_vm_windows_ids_badges_and_irq(tmp_path: Path) -> None:
    extra = (
        "components:\n  - {name: peer, type: Peer}\n"
        "connections:\n  - type: cross_vm\n    vm: a\n    component: peer\n"
        "    dataports:\n      - {name: d0, size: 4KiB, peer: x}\n      - {name: d1, size: 8KiB, peer: y}\n"
        "    events:\n      - {name: go, direction: from_vm, peer: go}\n"
        "      - {name: e1, direction: to_vm, peer: e1}\n      - {name: e2, direction: to_vm, peer: e2}\n"
    )
    plan = arm(tmp_path, ARM_VM.format(name="a"), extra)
    vm = plan.vms[0]
    assert [(d.name, d.id, d.guest, d.peer, d.peer_name) for d in vm.dataports] == [
        ("d0", 0, 0xDF000000, "peer", "x"),
        ("d1", 0, 0xDF001000, "peer", "y"),
    ]
    assert [(e.name, e.badge) for e in vm.events] == [("go", 0), ("e1", 1), ("e2", 2)]
    assert [(r.virq, r.kind) for r in plan.irq_routes if r.kind == "crossvm"] == [(82, "crossvm")]
    assert [(c.name, c.type) for c in plan.components] == [("peer", "Peer")]


def test_x86_vm_defaults_relocs_and_iospace_domains(tmp_path: Path) -> None:
    vms = x86_vm("a") + x86_vm("b", "    iospace_domain: 0x10\n") + x86_vm("c")
    plan = x86(tmp_path, vms)
    got = [
        (v.component, v.ram.size >> 20, v.iospace_domain, v.kernel_relocs, v.priority)
        for v in plan.vms
    ]
    assert got == [
        ("Init0", 128, 0x0F, "bzimage", 254),
        ("Init1", 128, 0x10, "bzimage", 254),
        ("Init2", 128, 0x11, "bzimage", 254),
    ]
    assert [(t.name, t.role, t.priority) for t in plan.threads] == [
        ("fserv", "fserv", 254),
        ("time_server", "time_server", 255),
        ("serial", "serial", 200),
        ("vm0", "vm", 254),
        ("vm1", "vm", 254),
        ("vm2", "vm", 254),
    ]
    assert plan.platform == "ia32" and plan.kernel_platform == "pc99"


def test_x86_64_has_no_relocs_and_its_cmake_options_in_order(tmp_path: Path) -> None:
    extra = "kernel_options:\n  LibSel4VMMUseHPET: true\n  KernelHugePage: false\n"
    plan = x86(tmp_path, x86_vm("a"), "x86_64", extra)
    assert plan.vms[0].kernel_relocs == ""
    # KernelSel4Arch and KernelMaxNumNodes are these two fields, written first by the renderer
    assert (plan.sel4_arch, plan.num_nodes) == ("x86_64", 1)
    assert [(o.name, o.value) for o in plan.cmake_options] == [
        ("KernelX86_64VTX64BitGuests", True),
        ("LibSel4VMMUseHPET", True),
        ("KernelHugePage", False),
    ]


def test_x86_ram_in_whole_mib_is_a_rule_and_the_renderer_guards_it(tmp_path: Path) -> None:
    """The rules refuse the size at its line (E211); resolve assumes a checked system, and a
    plan that holds such RAM anyway breaks an invariant and is refused by the renderer
    (camkes-vm's guest_ram_mb cannot carry it) as an internal error, never rounded."""
    from sel4vmgen.app.generate import app_files
    from sel4vmgen.plan.invariants import problems
    from sel4vmgen.render import RenderContext
    from sel4vmgen.rules import check

    loaded = system(
        tmp_path,
        "name: t\narch: x86\nsel4_arch: ia32\nplatform: pc99\nvms:\n"
        + x86_vm("a", "    ram: {size: 0x180000}\n"),
    )
    assert [(d.code, d.span.line if d.span else 0) for d in check(loaded)] == [("E211", 8)]
    plan = resolve_all(loaded)[0]
    assert problems(plan) == ["VM vm0: RAM 0x180000 is not a whole number of MiB"]
    with pytest.raises(DiagnosticError) as info:
        app_files([plan], RenderContext(tmp_path, "t"))
    (d,) = info.value.diagnostics
    assert (d.code, d.message) == ("E405", "vm0: guest RAM 0x180000 is not a whole number of MiB")


def test_image_paths_are_kept_as_written_with_a_base(tmp_path: Path) -> None:
    vms = (
        "  - name: a\n    kernel: {image: images/linux}\n"
        "    initrd: {image: /srv/rootfs.cpio}\n"
        "  - name: b\n    kernel: {image: images/linux}\n"
        '    initrd: {image: "${CAMKES_VM_IMAGES_DIR}/rootfs.cpio", name: other}\n'
    )
    plan = arm(tmp_path, vms.replace("vms:\n", ""))
    got = [(i.fs_name, i.source, i.base, i.vm) for i in plan.file_server]
    assert got == [
        ("linux", "images/linux", "system", None),
        ("linux-initrd", "/srv/rootfs.cpio", "absolute", "vm0"),
        ("other", "${CAMKES_VM_IMAGES_DIR}/rootfs.cpio", "build", "vm1"),
    ]
    assert str(tmp_path) not in plan.to_json()


def test_virtqueues_are_numbered_like_vm_multi(tmp_path: Path) -> None:
    vms = "".join(ARM_VM.format(name=n) + "    ram: {size: 128MiB}\n" for n in ("a", "b", "c"))
    extra = (
        "connections:\n  - {type: virtio_net, between: [a, b]}\n"
        "  - {type: virtio_net, between: [a, c]}\n"
    )
    plan = arm(tmp_path, vms, extra)
    assert [q.instance for q in plan.virtqueues] == ["vm1_vm0", "vm2_vm0"]
    ends = [
        (e.vm, e.send, e.send_id, e.recv, e.recv_id, e.mac) for q in plan.virtqueues for e in q.ends
    ]
    assert ends == [
        ("vm0", "send1", 1, "recv1", 0, "02:00:00:00:AA:01"),
        ("vm1", "send1", 1, "recv1", 0, "02:00:00:00:AA:02"),
        ("vm0", "send2", 3, "recv2", 2, "02:00:00:00:AA:01"),
        ("vm2", "send1", 1, "recv1", 0, "02:00:00:00:AA:03"),
    ]
    assert ("VmVirtioNetVirtqueue", True) in [(o.name, o.value) for o in plan.cmake_options]


def test_resolve_is_pure(tmp_path: Path) -> None:
    loaded = load(EXAMPLES / "vm_multi.yaml")
    first = resolve(loaded.system, platform("qemu-arm-virt"))
    again = resolve(loaded.system, platform("qemu-arm-virt"))
    assert first == again and first.to_json() == again.to_json()


# ------------------------------------------------------------------ the command


def test_plan_command_prints_the_plan_json(cli: Callable[..., Run]) -> None:
    r = cli("plan", str(EXAMPLES / "minimal.yaml"))
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert (data["system"], data["platform"], data["vms"][0]["iospace_domain"]) == (
        "minimal",
        "ia32",
        15,
    )


def test_plan_command_several_platforms_and_one(cli: Callable[..., Run]) -> None:
    every = cli("plan", str(EXAMPLES / "vm_minimal.yaml"))
    assert every.exit_code == 0
    assert [p["platform"] for p in json.loads(every.stdout)] == [
        "qemu-arm-virt",
        "odroidc2",
        "tx1",
        "tx2",
        "zcu102",
    ]
    one = cli("plan", str(EXAMPLES / "vm_minimal.yaml"), "--platform", "tx2")
    assert json.loads(one.stdout)["vms"][0]["ram"]["guest"] == "0xf1000000"
    other = cli("plan", str(EXAMPLES / "vm_minimal.yaml"), "--platform", "tk1")
    assert other.exit_code == 2
    assert (
        "does not name platform 'tk1' (it names: qemu-arm-virt, odroidc2, tx1, tx2, zcu102)"
        in other.stderr
    )


def test_plan_command_reports_an_invalid_system_and_exits_1(
    tmp_path: Path, cli: Callable[..., Run]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\nvms: []\n")
    r = cli("plan", str(bad))
    assert r.exit_code == 1 and r.stdout == ""
    assert f"{bad}:5:" in r.stderr


def test_plan_command_unreadable_file_exits_2(tmp_path: Path, cli: Callable[..., Run]) -> None:
    r = cli("plan", str(tmp_path / "missing.yaml"))
    assert r.exit_code == 2 and "E001" in r.stderr


# Systems the rules refuse, fed to resolve anyway: (YAML, the rule's code, where resolve's
# internal error points).  Resolve assumes a checked system; what it still meets is a bug.
UNCHECKED = {
    "one file-server name for two files": (
        "name: t\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\nvms:\n"
        "  - name: a\n    kernel: {image: a/linux}\n  - name: b\n    kernel: {image: b/linux}\n",
        "E281",
        (8, 5),
    ),
    "cross-VM event, no free IRQ": (
        "name: t\narch: arm\nsel4_arch: aarch64\nplatform: zcu102\n"
        "components:\n  - {name: peer, type: Peer}\n"
        'vms:\n  - name: a\n    kernel: {image: "${CAMKES_VM_IMAGES_DIR}/zynqmp/linux"}\n'
        "connections:\n  - type: cross_vm\n    vm: a\n    component: peer\n"
        "    events: [{name: e, direction: to_vm, peer: e}]\n",
        "E280",
        (8, 11),
    ),
    "virtio console, no free IRQ": (
        "name: t\narch: arm\nsel4_arch: aarch64\nplatform: tx1\n"
        'vms:\n  - name: a\n    kernel: {image: "${CAMKES_VM_IMAGES_DIR}/tx1/linux"}\n'
        "    virtio: {console: true}\n",
        "E280",
        (8, 13),
    ),
    "unknown platform": (
        "name: t\narch: arm\nsel4_arch: aarch64\nplatform: rpi4\nvms:\n" + ARM_VM.format(name="a"),
        "E204",
        (4, 11),
    ),
    "connection to an unknown VM": (
        "name: t\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\nvms:\n"
        + ARM_VM.format(name="a")
        + "connections:\n  - {type: virtio_net, between: [a, ghost]}\n",
        "E228",
        (9, 37),
    ),
}


@pytest.mark.parametrize("case", UNCHECKED, ids=list(UNCHECKED))
def test_what_the_rules_refuse_is_an_internal_error_in_resolve(tmp_path: Path, case: str) -> None:
    from sel4vmgen.rules import check

    text, rule, (line, col) = UNCHECKED[case]
    loaded = system(tmp_path, text)
    assert rule in {d.code for d in check(loaded)}
    with pytest.raises(DiagnosticError) as info:
        resolve_all(loaded)
    (d,) = info.value.diagnostics
    assert d.code == "E309" and d.span is not None and (d.span.line, d.span.col) == (line, col)
    assert "internal error: " in d.message and "a bug in sel4vmgen" in d.message


def test_platform_without_guest_layout_is_an_internal_error(tmp_path: Path) -> None:
    import dataclasses

    from sel4vmgen.plan import PlanError

    loaded = load(EXAMPLES / "vm_cross_connector.yaml")
    bare = dataclasses.replace(platform("qemu-arm-virt"), guest=None)
    with pytest.raises(PlanError) as info:
        resolve(loaded.system, bare)
    assert (info.value.code, info.value.path) == ("E309", ("vms", 0))
    assert info.value.message.startswith(
        "internal error: platform qemu-arm-virt has no default guest layout; "
    )


def test_a_refusal_in_a_per_platform_patch_points_at_the_patch(tmp_path: Path) -> None:
    from sel4vmgen.rules import check

    text = "name: t\narch: x86\nsel4_arch: ia32\nplatform: pc99\nvms:\n" + x86_vm(
        "a", "    per_platform:\n      pc99:\n        ram: {size: 0x180000}\n"
    )
    (d,) = check(system(tmp_path, text))
    assert d.code == "E211" and d.span is not None and (d.span.line, d.span.col) == (10, 21)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_resolved_plans_keep_every_invariant(path: Path) -> None:
    from sel4vmgen.plan.invariants import problems

    for plan in resolve_all(load(path)):
        assert problems(plan) == []


def test_a_hand_broken_plan_lists_each_broken_invariant() -> None:
    from dataclasses import replace

    from sel4vmgen.plan.invariants import problems

    plan = resolve_all(load(EXAMPLES / "vm_multi.yaml"))[0]
    first = plan.threads[0]
    broken = replace(
        plan,
        num_nodes=0,
        vms=(
            replace(plan.vms[0], vcpus=0, priority=300),
            replace(plan.vms[1], name="vm0"),
            *plan.vms[2:],
        ),
        threads=(*plan.threads, replace(first, name="ghost", core=3, vm="vm7")),
        gic=None,
    )
    assert problems(broken) == [
        "num_nodes is 0; a system has at least one core",
        "an ARM plan needs its GIC",
        "VM name vm0 is used twice",
        "VM vm0 has 0 VCPUs",
        "VM vm0 has priority 300, outside 0-255",
        "thread ghost is on core 3; the system has 0",
        "thread ghost belongs to VM vm7, which the plan does not have",
    ]
