"""Hand-built plans for the simulator's tests, independent of `resolve` and of the examples.

Values follow camkes-vm-examples: x86 `minimal` (one VM thread at priority
254 on core 0) and ARM qemu-arm-virt `vm_minimal` (VMM at base_prio 100,
VCPU threads at 99, a 4-list-register GICv2, vtimer PPI 27).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sel4vmgen.plan.model import (
    PLAN_FORMAT,
    Gic,
    Image,
    IrqRoute,
    Plan,
    Region,
    SimulationPlan,
    Thread,
    VmPlan,
)

QEMU_GIC = Gic(2, 0x08000000, 0x08010000, 0x08040000, 0x08030000, 4, 25, 27)
SIM = SimulationPlan(
    seed=0,
    duration_ms=100,
    timer_hz=250,
    device_irq_hz=1000,
    critical_section_us=50,
    max_states=200_000,
    max_depth=200,
)


def x86_vm(index: int = 0, latency_us: int | None = None) -> VmPlan:
    inst = f"vm{index}"
    return VmPlan(
        index=index,
        name=f"guest{index}",
        instance=inst,
        component=f"Init{index}",
        vcpus=1,
        priority=254,
        ram=Region("ram", "ram", 0x8000000),
        kernel=Image("kernel", "bzimage", "${CAMKES_VM_IMAGES_DIR}/bzimage", vm=inst),
        initrd=None,
        dtb=None,
        dtb_mode="none",
        cmdline="console=ttyS0",
        stdout=None,
        irq_latency_us=latency_us,
    )


def x86_plan(vms: int = 1, **sim: int) -> Plan:
    plans = tuple(x86_vm(i) for i in range(vms))
    routes = tuple(IrqRoute(v.instance, 11, 11, "level", "passthrough", "eth") for v in plans)
    return Plan(
        format=PLAN_FORMAT,
        tool_version="0.0-test",
        system="x86_test",
        arch="x86",
        sel4_arch="ia32",
        platform="ia32",
        kernel_platform="pc99",
        arm_platform=None,
        num_nodes=1,
        vms=plans,
        threads=tuple(Thread(v.instance, "vm", 254, 0, v.instance, 0) for v in plans),
        irq_routes=routes,
        file_server=(),
        cmake_options=(),
        simulation=replace(SIM, **sim),
    )


def arm_vm(
    vcpus: int = 1, latency_us: int | None = None, devices: tuple[Region, ...] = ()
) -> VmPlan:
    ram = Region("ram", "ram", 0x20000000, guest=0x40000000, paddr=0x40000000)
    return VmPlan(
        index=0,
        name="linux",
        instance="vm0",
        component="VM",
        vcpus=vcpus,
        priority=100,
        ram=ram,
        kernel=Image("kernel", "linux", "linux", guest=0x40080000, format="Image"),
        initrd=Image("initrd", "rootfs", "rootfs.cpio", guest=0x4D700000, max_size=0x1900000),
        dtb=Image("dtb", "", "", guest=0x4F000000, format="dtb"),
        dtb_mode="generate",
        cmdline="console=ttyAMA0",
        stdout="/pl011@9000000",
        irq_latency_us=latency_us,
        devices=(
            Region("gic_dist", "gicd", 0x1000, guest=0x08000000),
            Region("gic_cpu", "gicc", 0x1000, guest=0x08010000, paddr=0x08040000),
            *devices,
        ),
    )


def arm_plan(
    vm: VmPlan | None = None,
    *,
    vmm_priority: int = 100,
    vcpu_priority: int = 99,
    irqs: int = 1,
    lrs: int = 4,
    num_nodes: int = 1,
    **sim: int,
) -> Plan:
    vm = vm or arm_vm()
    threads = (
        Thread("vm0", "vmm", vmm_priority, vm="vm0"),
        *(
            Thread(f"vm0_vcpu{i}", "vcpu", vcpu_priority, i % num_nodes, "vm0", i)
            for i in range(vm.vcpus)
        ),
        Thread("vm0_irq_server", "irq_server", vmm_priority + 1, vm="vm0"),
    )
    routes = (
        IrqRoute("vm0", 27, 27, "level", "vtimer", "vtimer"),
        *(IrqRoute("vm0", 33 + i, 33 + i, "level", "passthrough", f"dev{i}") for i in range(irqs)),
    )
    return Plan(
        format=PLAN_FORMAT,
        tool_version="0.0-test",
        system="arm_test",
        arch="arm",
        sel4_arch="aarch64",
        platform="qemu-arm-virt",
        kernel_platform="qemu-arm-virt",
        arm_platform="qemu-arm-virt",
        num_nodes=num_nodes,
        vms=(vm,),
        threads=threads,
        irq_routes=routes,
        file_server=(),
        cmake_options=(),
        gic=replace(QEMU_GIC, list_registers=lrs),
        simulation=replace(SIM, **sim),
    )


def resolve_file(path: Path) -> tuple[Plan, ...]:
    """The plans a system file resolves to, as `simulate FILE` makes them."""
    from sel4vmgen.app.check import check_file
    from sel4vmgen.plan.resolution import resolve_all

    checked = check_file(str(path))
    assert checked.ok and checked.loaded is not None, checked.diagnostics
    return tuple(resolve_all(checked.loaded))


def resolve_example(name: str) -> Plan:
    """The first plan of examples/`name`."""
    return resolve_file(Path(__file__).resolve().parent.parent / "examples" / name)[0]
