"""Hand-built ARM plans for the ARM renderer's tests (independent of `resolve`).

Values follow camkes-vm-examples' qemu-arm-virt apps (vm_minimal's guest
layout; the vGIC addresses of the QEMU virt machine), so a test can check
the renderer on a plan it controls completely, e.g. a hostile command line.
"""

from __future__ import annotations

from dataclasses import replace

from sel4vmgen.plan.model import (
    PLAN_FORMAT,
    CMakeOption,
    Dataport,
    Event,
    Gic,
    Image,
    IrqRoute,
    Plan,
    QemuPlan,
    Region,
    Thread,
    Virtqueue,
    VirtqueueEnd,
    VmPlan,
)

QEMU_GIC = Gic(
    version=2,
    dist=0x08000000,
    cpu=0x08010000,
    vcpu=0x08040000,
    hyp=0x08030000,
    list_registers=4,
    maintenance_irq=25,
    vtimer_irq=27,
)


def vm_plan(
    index: int = 0,
    *,
    vcpus: int = 2,
    ram_base: int = 0x40000000,
    ram_size: int = 0x20000000,
    dtb_mode: str = "generate",
    cmdline: str = "console=ttyAMA0 earlycon",
    stdout: str | None = "/pl011@9000000",
    initrd_size: int | None = 0x800000,
) -> VmPlan:
    """One qemu-arm-virt VM; `dtb_mode="provide"` makes the renderer write its .dts."""
    inst = f"vm{index}"
    dtb_addr = ram_base + ram_size - 0x1000000
    initrd_addr = dtb_addr - 0x1900000
    provide = dtb_mode == "provide"
    dtb = Image(
        role="dtb",
        fs_name="linux-dtb" if index == 0 else f"linux-dtb-{inst}",
        source=f"{inst}.dts" if provide else "",
        guest=dtb_addr,
        format="dts" if provide else None,
        vm=inst,
        **({"base": "generated"} if provide else {}),  # type: ignore[arg-type]
    )
    uart = Region("mmio", "/pl011@9000000", 0x1000, guest=0x09000000, paddr=0x09000000)
    return VmPlan(
        index=index,
        name=f"guest{index}",
        instance=inst,
        component="VM",
        vcpus=vcpus,
        priority=100,
        ram=Region("ram", "ram", ram_size, guest=ram_base, paddr=ram_base),
        kernel=Image(
            "kernel",
            "linux",
            "${CAMKES_VM_IMAGES_DIR}/qemu-arm-virt/linux",
            guest=ram_base + 0x80000,
        ),
        initrd=Image(
            "initrd",
            "linux-initrd",
            "${CAMKES_VM_IMAGES_DIR}/qemu-arm-virt/rootfs.cpio.gz",
            guest=initrd_addr,
            size=initrd_size,
            max_size=0x1900000,
        ),
        dtb=dtb if (provide or index == 0) else replace(dtb, fs_name=""),
        dtb_mode="provide" if provide else "generate",
        cmdline=cmdline,
        stdout=stdout,
        dtb_nodes=("/pl011@9000000",) if index == 0 else (),
        untyped_mmios=(
            Region("untyped_mmio", "gicv", 0x1000, paddr=0x08040000),
            Region("untyped_mmio", "ram", ram_size, paddr=ram_base),
        ),
        devices=(uart,) if index == 0 else (),
        map_one_to_one=True,
    )


def threads(vms: tuple[VmPlan, ...], num_nodes: int) -> tuple[Thread, ...]:
    """camkes-vm's layout: VMM at base_prio, VCPUs (at most num_nodes) at base_prio - 1."""
    out: list[Thread] = []
    for vm in vms:
        out.append(Thread(f"{vm.instance}.vmm", "vmm", vm.priority, vm=vm.instance))
        out += [
            Thread(f"{vm.instance}.vcpu{n}", "vcpu", vm.priority - 1, n, vm.instance, n)
            for n in range(min(vm.vcpus, num_nodes))
        ]
    return tuple(out)


def arm_plan(*vms: VmPlan, platform: str = "qemu-arm-virt", num_nodes: int = 2) -> Plan:
    """A plan for qemu-arm-virt with these VMs (vm_plan(0) when none)."""
    vms = vms or (vm_plan(),)
    images: list[Image] = []
    for vm in vms:
        images += [vm.kernel] + ([vm.initrd] if vm.initrd else [])
        if vm.dtb is not None and vm.dtb.source:
            images.append(vm.dtb)
    routes = tuple(
        IrqRoute(vm.instance, 33, 33, "level", "passthrough", "/pl011@9000000")
        for vm in vms
        if vm.devices
    ) + tuple(IrqRoute(vm.instance, 27, 27, "level", "vtimer", "vtimer") for vm in vms)
    return Plan(
        format=PLAN_FORMAT,
        tool_version="0.0-test",
        system="arm_test",
        arch="arm",
        sel4_arch="aarch64",
        platform=platform,
        kernel_platform=platform,
        arm_platform=platform,
        num_nodes=num_nodes,
        vms=vms,
        threads=threads(vms, num_nodes),
        irq_routes=routes,
        file_server=tuple(images),
        cmake_options=(
            CMakeOption("KernelArmCPU", "cortex-a53"),
            CMakeOption("VmInitRdFile", True),
        ),
        gic=QEMU_GIC,
        qemu=QemuPlan(2048) if platform == "qemu-arm-virt" else None,
    )


def linked_vms() -> tuple[VmPlan, VmPlan, Virtqueue]:
    """vm0 and vm1 joined by one virtio-net link, as vm_multi's vm1_vm0."""
    a = VirtqueueEnd("vm0", "send1", "recv1", 1, 0, "02:00:00:00:AA:01")
    b = VirtqueueEnd("vm1", "send1", "recv1", 1, 0, "02:00:00:00:AA:02")
    vm0 = replace(vm_plan(0, vcpus=1), virtqueues=(a,), virtio_net=True, virtio_console=True)
    vm1 = replace(
        vm_plan(1, vcpus=1, ram_base=0x48000000, ram_size=0x8000000),
        virtqueues=(b,),
        virtio_net=True,
        virtio_console=True,
    )
    return vm0, vm1, Virtqueue("vm1_vm0", (a, b), 8192)


def crossvm_vm() -> VmPlan:
    """vm0 with two dataports and two events to `crossvm_init`, as vm_cross_connector."""
    return replace(
        vm_plan(0),
        dataports=(
            Dataport("crossvm_dp_0", 4096, "crossvm_init", "dest", 0, guest=0xDF000000),
            Dataport("crossvm_dp_1", 4096, "crossvm_init", "src", 0, guest=0xDF001000),
        ),
        events=(
            Event("ready", "from_vm", "crossvm_init", "ready"),
            Event("done", "to_vm", "crossvm_init", "done"),
        ),
    )
