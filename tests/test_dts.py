"""Guest device trees written from the plan (`dtb.mode: provide` without a user file).

Each generated `.dts` must compile with `dtc` with no error and no warning,
and the compiled DTB, read back with the `fdt` package, must say what the
plan says: guest RAM, one PSCI CPU per VCPU, the GIC at the guest-visible
GICD/GICC, the timer PPIs, each device's registers and interrupts, and the
chosen node (command line byte for byte, stdout, initrd range).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import fdt
import pytest
from arm_plans import arm_plan, vm_plan

from sel4vmgen.model import load
from sel4vmgen.plan import resolve_all
from sel4vmgen.plan.model import IrqRoute, Plan, Region, VmPlan
from sel4vmgen.render.dts import dts_string, guest_dts, guest_tree
from sel4vmgen.render.env import RenderError

DTC = shutil.which("dtc")
needs_dtc = pytest.mark.skipif(DTC is None, reason="dtc is not installed")

HOSTILE = "console=ttyAMA0 x=\"a;b\" y=\\ z=*/ /* }; #include <evil.h> 'q' $(rm -rf /)"


def compile_dts(text: str, tmp_path: Path) -> bytes:
    """The DTB dtc makes of `text`; fails the test on any error or warning."""
    src = tmp_path / "guest.dts"
    src.write_text(text)
    out = tmp_path / "guest.dtb"
    assert DTC is not None
    done = subprocess.run(
        [DTC, "-I", "dts", "-O", "dtb", "-o", str(out), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", f"dtc warned:\n{done.stderr}"
    return out.read_bytes()


def read_back(plan: Plan, vm: VmPlan, tmp_path: Path) -> fdt.FDT:
    return fdt.parse_dtb(compile_dts(guest_dts(plan, vm), tmp_path))


def cells64(words: list[int]) -> list[int]:
    return [(words[i] << 32) | words[i + 1] for i in range(0, len(words), 2)]


VARIANTS = {
    "one-vcpu": vm_plan(0, dtb_mode="provide", vcpus=1),
    "four-vcpus": vm_plan(0, dtb_mode="provide", vcpus=4),
    "hostile-cmdline": vm_plan(0, dtb_mode="provide", cmdline=HOSTILE, stdout='/x"y'),
    "no-stdout-no-initrd-size": vm_plan(0, dtb_mode="provide", stdout=None, initrd_size=None),
    "high-ram": vm_plan(0, dtb_mode="provide", ram_base=0x8_8000_0000, ram_size=0x1000_0000),
}


@needs_dtc
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_dts_compiles_and_reads_back_as_the_plan(name: str, tmp_path: Path) -> None:
    vm = VARIANTS[name]
    plan = arm_plan(vm)
    tree = read_back(plan, vm, tmp_path)
    base = vm.ram.guest
    assert base is not None
    mem = f"/memory@{base:x}"
    assert tree.get_property("device_type", mem).value == "memory"
    assert cells64(tree.get_property("reg", mem).data) == [base, vm.ram.size]
    cpus = tree.get_node("/cpus").nodes
    assert [c.name for c in cpus] == [f"cpu@{n:x}" for n in range(vm.vcpus)]
    for n, cpu in enumerate(cpus):
        assert cpu.get_property("reg").data == [n]
        assert cpu.get_property("enable-method").value == "psci"
    assert tree.get_property("method", "/psci").value == "smc"
    chosen = "/chosen"
    assert tree.get_property("bootargs", chosen).value == vm.cmdline
    if vm.stdout is None:
        assert not tree.exist_property("stdout-path", chosen)
    else:
        assert tree.get_property("stdout-path", chosen).value == vm.stdout
    assert vm.initrd is not None and vm.initrd.guest is not None
    size = vm.initrd.size if vm.initrd.size is not None else vm.initrd.max_size
    assert size is not None
    start = cells64(tree.get_property("linux,initrd-start", chosen).data)
    end = cells64(tree.get_property("linux,initrd-end", chosen).data)
    assert (start, end) == ([vm.initrd.guest], [vm.initrd.guest + size])


@needs_dtc
def test_gic_and_timer_are_where_the_plan_puts_them(tmp_path: Path) -> None:
    vm = vm_plan(0, dtb_mode="provide", vcpus=2)
    plan = arm_plan(vm)
    assert plan.gic is not None
    tree = read_back(plan, vm, tmp_path)
    gic = f"/intc@{plan.gic.dist:x}"
    assert tree.exist_property("interrupt-controller", gic)
    assert tree.get_property("#interrupt-cells", gic).data == [3]
    assert cells64(tree.get_property("reg", gic).data) == [
        plan.gic.dist,
        0x1000,
        plan.gic.cpu,
        0x1000,
    ]
    phandle = tree.get_property("phandle", gic).data[0]
    assert tree.get_property("interrupt-parent", "/").data == [phandle]
    timer = tree.get_property("interrupts", "/timer").data
    # (PPI, number, flags) triples: secure, non-secure, virtual, hypervisor timers;
    # a CPU-mask bit per VCPU (0x300 for two) and level-high (4)
    assert timer == [1, 13, 0x304, 1, 14, 0x304, 1, 11, 0x304, 1, 10, 0x304]
    # the virtual timer PPI is the kernel's vtimer IRQ
    assert 16 + timer[7] == plan.gic.vtimer_irq


@needs_dtc
def test_passthrough_and_virtio_devices_carry_regs_and_interrupts(tmp_path: Path) -> None:
    virtio = Region("virtio", "virtio-net0", 0x200, guest=0x0A000000)
    vm = vm_plan(0, dtb_mode="provide")
    vm = replace(vm, devices=(*vm.devices, virtio))
    plan = arm_plan(vm)
    plan = replace(
        plan,
        irq_routes=(*plan.irq_routes, IrqRoute("vm0", -1, 48, "edge", "virtio", "virtio-net0")),
    )
    tree = read_back(plan, vm, tmp_path)
    uart = "/pl011@9000000"
    assert cells64(tree.get_property("reg", uart).data) == [0x09000000, 0x1000]
    assert tree.get_property("interrupts", uart).data == [0, 33 - 32, 4]  # SPI 1, level
    node = "/virtio_mmio@a000000"
    assert tree.get_property("compatible", node).value == "virtio,mmio"
    assert cells64(tree.get_property("reg", node).data) == [0x0A000000, 0x200]
    assert tree.get_property("interrupts", node).data == [0, 48 - 32, 1]  # SPI 16, edge


def test_dts_strings_escape_quotes_backslashes_and_control_bytes() -> None:
    assert dts_string('a"b\\c') == '"a\\"b\\\\c"'
    assert dts_string("x\ny\tz\x01") == '"x\\ny\\tz\\x01"'
    assert dts_string("é") == '"\\xc3\\xa9"'


@needs_dtc
def test_control_characters_survive_the_compile(tmp_path: Path) -> None:
    vm = vm_plan(0, dtb_mode="provide", cmdline="a\tb\nc é")
    dtb = compile_dts(guest_dts(arm_plan(vm), vm), tmp_path)
    assert b"a\tb\nc \xc3\xa9\x00" in dtb


def test_a_plan_without_a_gic_is_refused() -> None:
    vm = vm_plan(0, dtb_mode="provide")
    plan = replace(arm_plan(vm), gic=None)
    with pytest.raises(RenderError, match="plan for qemu-arm-virt has no GIC"):
        guest_tree(plan, vm)


def test_same_plan_same_text() -> None:
    vm = vm_plan(0, dtb_mode="provide", vcpus=3)
    assert guest_dts(arm_plan(vm), vm) == guest_dts(arm_plan(vm), vm)


def _provide_system(tmp_path: Path, virtio: str) -> Plan:
    """A one-VM qemu-arm-virt system with a provided DTB, resolved from YAML."""
    body = (
        "name: t\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\nvms:\n"
        "  - name: vm0\n"
        '    kernel: {image: "${CAMKES_VM_IMAGES_DIR}/qemu-arm-virt/linux"}\n'
        "    dtb: {mode: provide}\n" + virtio
    )
    path = tmp_path / "s.yaml"
    path.write_text(body)
    return resolve_all(load(path))[0]


@needs_dtc
def test_a_virtio_console_vm_gets_the_vmm_pci_host_bridge(tmp_path: Path) -> None:
    plan = _provide_system(tmp_path, "    virtio: {console: true}\n")
    vm = plan.vms[0]
    assert vm.vpci is not None
    (route,) = [r for r in plan.irq_routes if r.kind == "virtio"]
    tree = read_back(plan, vm, tmp_path)
    # qemu-arm-virt's vPCI windows (libsel4vmmplatsupport plat_include/qemu-arm-virt vpci.h)
    node = "/pci@de000000"
    assert tree.get_property("compatible", node).value == "pci-host-cam-generic"
    assert tree.get_property("device_type", node).value == "pci"
    assert tree.exist_property("dma-coherent", node)
    assert tree.get_property("bus-range", node).data == [0, 1]
    assert cells64(tree.get_property("reg", node).data) == [0xDE000000, 0x1000000]
    ranges = tree.get_property("ranges", node).data
    assert ranges == [
        *(0x01000000, 0, 0, 0, 0xDD000000, 0, 0x10000),  # IO from PCI 0 at the IO window
        *(0x02000000, 0, 0xDF000000, 0, 0xDF000000, 0, 0x1000000),  # MEM32, 1:1
    ]
    assert tree.get_property("interrupt-map-mask", node).data == [0xF800, 0, 0, 7]
    gic = tree.get_property("phandle", f"/intc@{plan.gic.dist:x}" if plan.gic else "").data[0]
    # device 1 (after the bridge), INTA -> the GIC's SPI of the VM's virtio IRQ, level high
    imap = tree.get_property("interrupt-map", node).data
    assert imap == [1 << 11, 0, 0, 1, gic, 0, route.virq - 32, 4]


@needs_dtc
def test_console_and_net_map_two_devices(tmp_path: Path) -> None:
    plan = _provide_system(tmp_path, "    virtio: {console: true, net: true}\n")
    vm = plan.vms[0]
    tree = read_back(plan, vm, tmp_path)
    imap = tree.get_property("interrupt-map", "/pci@de000000").data
    assert [imap[0], imap[8]] == [1 << 11, 2 << 11]


def test_a_vm_without_virtio_gets_no_pci_node(tmp_path: Path) -> None:
    plan = _provide_system(tmp_path, "")
    vm = plan.vms[0]
    assert vm.vpci is None
    assert "pci" not in guest_dts(plan, vm)
    assert all(not c.name.startswith("pci") for c in guest_tree(plan, vm).children)
