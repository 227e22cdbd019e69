"""Hand-built x86 plans for the x86 renderer's tests (independent of `resolve`).

They mirror camkes-vm-examples' x86 apps (minimal, minimal_64, optiplex9020,
zmq_samples) value for value, plus a VM with passthrough devices, so a test
can check the renderer on a plan it controls completely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sel4vmgen.plan.model import (
    PLAN_FORMAT,
    CMakeOption,
    ComponentPlan,
    Dataport,
    Event,
    Image,
    IoPortRange,
    IrqRoute,
    PciDevice,
    Plan,
    Region,
    Setting,
    Virtqueue,
    VirtqueueEnd,
    VmPlan,
)

MIB = 1 << 20


CMD_MINIMAL = (
    "earlyprintk=ttyS0,115200 console=ttyS0,115200 i8042.nokbd=y i8042.nomux=y "
    "i8042.noaux=y io_delay=udelay noisapnp pci=nomsi debug root=/dev/mem"
)
CMD_OPTIPLEX = (
    "earlyprintk=ttyS0,115200 console=ttyS0,115200 root=/dev/mem i8042.nokbd=iy "
    "i8042.nomux=y i8042.noaux=y io_delay=udelay noisapnp pci=nomsi"
)
KERNEL = Image(
    "kernel",
    "bzimage",
    "${CAMKES_VM_LINUX_DIR}/images/kernel/default_bzimage_4.8.16",
    format="bzImage",
)
ROOTFS = Image(
    "initrd", "rootfs.cpio", "${CAMKES_VM_LINUX_DIR}/images/rootfs/default_buildroot_rootfs.cpio"
)


def vm_plan(index: int, **kw: Any) -> VmPlan:
    base: dict[str, Any] = dict(
        index=index,
        name=f"vm{index}",
        instance=f"vm{index}",
        component=f"Init{index}",
        vcpus=1,
        priority=254,
        ram=Region("ram", f"vm{index}_ram", 128 * MIB),
        kernel=KERNEL,
        initrd=ROOTFS,
        dtb=None,
        dtb_mode="none",
        cmdline=CMD_MINIMAL,
        stdout=None,
        iospace_domain=0x0F + index,
        kernel_relocs="bzimage",
    )
    base.update(kw)
    return VmPlan(**base)


def plan(system: str, sel4_arch: str, vms: tuple[VmPlan, ...], **kw: Any) -> Plan:
    images = kw.pop("file_server", (KERNEL, ROOTFS))
    return Plan(
        format=PLAN_FORMAT,
        tool_version="0.1.0",
        system=system,
        arch="x86",
        sel4_arch=sel4_arch,  # type: ignore[arg-type]
        platform="pc99",
        kernel_platform="pc99",
        arm_platform=None,
        num_nodes=1,
        vms=vms,
        threads=(),
        irq_routes=kw.pop("irq_routes", ()),
        file_server=images,
        cmake_options=kw.pop("cmake_options", ()),
        **kw,
    )


def minimal() -> Plan:
    pools = (Setting("simple_untyped23_pool", 20), Setting("heap_size", 0x2000000))
    return plan("minimal", "ia32", (vm_plan(0, settings=pools),))


def minimal_64() -> Plan:
    pools = (Setting("simple_untyped23_pool", 20), Setting("heap_size", 0x2000000))
    opts = (CMakeOption("KernelX86_64VTX64BitGuests", True), CMakeOption("LibSel4VMMUseHPET", True))
    return plan(
        "minimal_64", "x86_64", (vm_plan(0, settings=pools, kernel_relocs=""),), cmake_options=opts
    )


def optiplex_settings(n: int) -> tuple[Setting, ...]:
    return (
        Setting("simple_untyped23_pool", 21),
        Setting("simple_untyped22_pool", 1),
        Setting("heap_size", 0x10000),
    )


def optiplex9020() -> Plan:
    dps = (
        Dataport("dp1", 8192, "string_reverse", "src_dp", 1),
        Dataport("dp2", 8192, "string_reverse", "dest_dp", 2),
    )
    evs = (
        Event("ready", "from_vm", "string_reverse", "ready"),
        Event("done", "to_vm", "string_reverse", "done", badge=1),
    )
    vm0 = vm_plan(0, cmdline=CMD_OPTIPLEX, settings=optiplex_settings(1), dataports=dps, events=evs)
    vm1 = vm_plan(1, cmdline=CMD_OPTIPLEX, settings=optiplex_settings(2))
    comps = (ComponentPlan("string_reverse", "StringReverse"),)
    return plan("optiplex9020", "x86_64", (vm0, vm1), components=comps)


ZMQ_MAC = ("02:00:00:00:AA:01", "02:00:00:00:AA:02", "02:00:00:00:AA:03")


def zmq_samples() -> Plan:
    peers = {0: (1, 2), 1: (0, 2), 2: (0, 1)}
    ends = {
        (a, b): VirtqueueEnd(
            f"vm{a}", f"ether_{b}_send", f"ether_{b}_recv", 2 * i, 2 * i + 1, ZMQ_MAC[a]
        )
        for a, bs in peers.items()
        for i, b in enumerate(bs)
    }
    links = tuple(
        Virtqueue("init", (ends[a, b], ends[b, a]), 32768) for a, b in ((0, 1), (0, 2), (1, 2))
    )
    rootfs = tuple(
        Image("initrd", f"vm{i}_rootfs.cpio", f"rootfs/vm{i}.cpio", vm=f"vm{i}") for i in range(3)
    )
    vms = tuple(
        vm_plan(
            i,
            cmdline=CMD_OPTIPLEX,
            settings=optiplex_settings(i + 1),
            initrd=rootfs[i],
            virtqueues=tuple(ends[i, b] for b in peers[i]),
            virtio_net=True,
        )
        for i in range(3)
    )
    return plan("zmq_samples", "x86_64", vms, virtqueues=links, file_server=(KERNEL, *rootfs))


PLANS: dict[str, Callable[[], Plan]] = {
    "minimal": minimal,
    "minimal_64": minimal_64,
    "optiplex9020": optiplex9020,
    "zmq_samples": zmq_samples,
}


def passthrough() -> Plan:
    """A VM given IO ports, a PCI device and its IOAPIC interrupt."""
    pci = PciDevice("eth", 5, 0, 0, 17, (Region("pci_bar", "eth_bar0", 0x20000, paddr=0xC0500000),))
    vm = vm_plan(0, ioports=(IoPortRange("eth", 0x3000, 0x3020),), pci_devices=(pci,), priority=120)
    route = IrqRoute("vm0", 17, 10, "level", "passthrough", name="eth", active_low=True)
    return plan("passthrough", "x86_64", (vm,), irq_routes=(route,))
