"""`resolve` for Microkit boards: the VMs as the CAmkES layouts decide them, and the SDF.

A VM means the same in both frameworks: guest RAM, images, command line, passthrough
devices and IRQs are resolved by the same code (`plan/arm.py`), with the board's guest
defaults (libvmm 0.2.0 examples/simple).  What only Microkit has is decided here, once:

- one VMM protection domain `vmm_<name>` per VM, program `vmm_<name>.elf`, priority as
  written or 254 (libvmm examples/simple simple.system `VMM` priority="254");
- ARM: the `virtual_machine` has its own scheduling context, one priority below its VMM
  (the VMM handles its faults before the guest runs on), the same budget and period;
  x86: it shares the VMM's TCB and scheduling context (Microkit 2.3.0 CHANGES.md);
- budget and period as written, else the tool's BUDGET_DEFAULT 1000 us, the period
  equal to the budget (seL4/microkit 2.3.0 tool/microkit/src/sdf.rs);
- vCPU ids 0.. (libvmm boots vCPU 0, GUEST_BOOT_VCPU_ID); with several cores vCPU i on
  core i mod num_nodes, else the VMM's core;
- memory regions `<name>_ram` (no phys_addr unless the VM's RAM has a `paddr`; 2 MiB
  pages when size and base allow, as libvmm's example suggests), one `gic_vcpu` (the
  GICV page, mapped at each guest's GICC, simple.system; one region for all VMs, as the
  tool refuses two regions over one physical page) and one per passthrough window;
  guest RAM is mapped into the VMM at its guest address (ARM, simple.system) or at
  0x80000000 (x86, x86_64_generic_vtx/simple.system), with setvar_vaddr guest_ram_vaddr;
- passthrough IRQs are channels 1.. of the VMM in the order resolved (simple.system
  gives the serial IRQ id 1), after the channels of its sDDF clients when it has virtio
  devices; x86 IOAPIC IRQs take vectors 0.. in the same order;
- virtio devices: the sDDF subsystems of `plan/microkit_sddf.py`, the VMM at priority
  100 unless written (libvmm 0.2.0 examples/virtio_mmio/meta.py).
x86 specifics live in `plan/microkit_x86.py`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from sel4vmgen.model.system import System, Vm
from sel4vmgen.plan import microkit_sddf as sddf
from sel4vmgen.plan.arm import arm_vm, first_ram_base, next_ram_base
from sel4vmgen.plan.common import PlanError, internal
from sel4vmgen.plan.links import mac, resolve_links
from sel4vmgen.plan.microkit_model import (
    MicrokitSystem,
    MkChannel,
    MkIoPort,
    MkIrq,
    MkMap,
    MkPd,
    MkRegion,
    MkVcpu,
    MkVm,
)
from sel4vmgen.plan.model import IrqRoute, Region, Thread, VmPlan
from sel4vmgen.units import PAGE

if TYPE_CHECKING:
    from sel4vmgen.platforms.model import Platform

VMM_PRIORITY = 254  # libvmm 0.2.0 examples/simple/board/qemu_virt_aarch64/simple.system
BUDGET_DEFAULT_US = 1000  # seL4/microkit 2.3.0 tool/microkit/src/sdf.rs BUDGET_DEFAULT
LARGE_PAGE = 0x200000  # seL4/microkit 2.3.0 tool/microkit/src/sel4.rs page_sizes
RAM_SETVAR = "guest_ram_vaddr"  # the symbol libvmm's example VMMs read (examples/simple/vmm.c)
GIC_VCPU_MR = "gic_vcpu"  # libvmm 0.2.0 examples/simple/board/qemu_virt_aarch64/simple.system


def page_size(*values: int) -> int:
    """2 MiB pages when every value is a multiple of 2 MiB, else 4 KiB."""
    return LARGE_PAGE if all(v % LARGE_PAGE == 0 for v in values) else PAGE


def scheduling(vm: Vm) -> tuple[int, int]:
    """(budget, period) in microseconds, with the tool's defaults."""
    budget = vm.budget_us if vm.budget_us is not None else BUDGET_DEFAULT_US
    return budget, vm.period_us if vm.period_us is not None else budget


def vcpus(n: int, num_nodes: int) -> tuple[MkVcpu, ...]:
    return tuple(MkVcpu(i, i % num_nodes if num_nodes > 1 else None) for i in range(n))


def pd_name(vm: VmPlan) -> str:
    return f"vmm_{vm.name}"


def arm_vms(system: System, platform: Platform) -> list[tuple[VmPlan, tuple[IrqRoute, ...]]]:
    """The VMs as the ARM layout resolves them, then stripped of what only CAmkES has."""
    links = resolve_links(system, platform)
    out: list[tuple[VmPlan, tuple[IrqRoute, ...]]] = []
    base = first_ram_base(platform)
    for n, written in enumerate(system.vms):
        vm = written.on(platform.name)
        # virtio devices are sDDF-backed here (plan/microkit_sddf.py), not camkes-vm's
        resolved = arm_vm(vm.model_copy(update={"virtio": None}), n, system, platform, links, base)
        base = max(base, next_ram_base(resolved.plan.ram))
        plan = resolved.plan
        default_priority = VMM_PRIORITY if vm.virtio is None else sddf.VMM_PRIORITY
        paddr = vm.ram.paddr if vm.ram is not None else None
        dtb = (
            replace(plan.dtb, fs_name="", source=f"{plan.instance}.dts", format="dts")
            if (plan.dtb is not None)
            else None
        )
        plan = replace(
            plan,
            component=pd_name(plan),
            priority=vm.priority if vm.priority is not None else default_priority,
            ram=replace(plan.ram, paddr=paddr),
            dtb=dtb,
            dtb_mode="provide",
            untyped_mmios=(),
            keep_devices=(),
            keep_devices_and_subtree=(),
            settings=(),
            map_one_to_one=False,
            irq_server_priority=None,
            vpci=None,
        )
        out.append((plan, resolved.routes))
    return out


def virtio_kinds(vm: Vm) -> tuple[sddf.Kind, ...]:
    """The virtio devices a VM asks for, in the order the sDDF subsystems are connected."""
    v = vm.virtio
    if v is None:
        return ()
    wanted = {"console": v.console, "blk": v.blk is not None, "net": v.net}
    return tuple(k for k in sddf.KINDS if wanted[k])


def virtio_parts(vm: VmPlan, written: Vm, platform: Platform) -> sddf.SddfParts | None:
    """The sDDF subsystems behind the VM's virtio devices (None without any)."""
    kinds = virtio_kinds(written)
    if not kinds:
        return None
    facts = platform.microkit.sddf if platform.microkit is not None else None
    if facts is None:  # rules/microkit.py refuses it (E273)
        raise internal(f"board {platform.name} has no sDDF facts for virtio devices")
    blk = written.virtio.blk if written.virtio is not None else None
    partition = blk.partitions[0] - 1 if blk is not None else None
    return sddf.sddf_parts(vm.instance, pd_name(vm), facts, kinds, partition, mac(vm.index))


def arm_pd(
    vm: VmPlan,
    written: Vm,
    routes: tuple[IrqRoute, ...],
    num_nodes: int,
    virtio: sddf.SddfParts | None = None,
) -> MkPd:
    """The VMM protection domain of one ARM VM, with its virtual machine (passthrough IRQs
    on the channel ids after those of its sDDF clients)."""
    budget, period = scheduling(written)
    first = virtio.vmm_channels if virtio is not None else 1
    ram_mr = f"{vm.name}_ram"
    guest_maps = [MkMap(ram_mr, vm.ram.guest or 0, "rwx")]
    for region in vm.devices:
        if region.kind == "gic_cpu":
            guest_maps.append(MkMap(GIC_VCPU_MR, region.guest or 0, "rw", False))
        elif region.kind == "mmio":
            guest_maps.append(MkMap(f"{vm.name}_{region.name}", region.guest or 0, "rw", False))
    irqs = tuple(
        MkIrq(first + k, r.source, r.trigger, virq=r.virq)
        for k, r in enumerate(r for r in routes if r.kind == "passthrough")
    )
    # the guest below its VMM and, with virtio devices, below every sDDF PD serving it
    # (sDDF: a client runs below its virtualisers; a busy guest then starves none of them)
    serving = [pd.priority for pd in virtio.pds] if virtio is not None else []
    machine = MkVm(
        vm.name,
        vcpus(vm.vcpus, num_nodes),
        tuple(guest_maps),
        min([vm.priority, *serving]) - 1,
        budget,
        period,
    )
    pd = vmm_pd(
        vm,
        (budget, period),
        MkMap(ram_mr, vm.ram.guest or 0, "rw", True, RAM_SETVAR),
        irqs,
        machine,
    )
    if virtio is None:
        return pd
    return replace(
        pd,
        maps=(*pd.maps, *virtio.vmm_maps),
        stack_size=sddf.VMM_STACK,
        virtio=virtio.virtio,
    )


def vmm_pd(
    vm: VmPlan,
    budget_period: tuple[int, int],
    ram: MkMap,
    irqs: tuple[MkIrq, ...],
    machine: MkVm,
    ioports: tuple[MkIoPort, ...] = (),
) -> MkPd:
    """The VMM protection domain of a VM: `vmm_<vm>.elf` at the VM's priority, the guest RAM
    mapped in (its address set into the VMM as `RAM_SETVAR`), the VM's IRQs and ports."""
    budget, period = budget_period
    return MkPd(
        name=pd_name(vm),
        program_image=f"{pd_name(vm)}.elf",
        priority=vm.priority,
        budget=budget,
        period=period,
        maps=(ram,),
        irqs=irqs,
        ioports=ioports,
        vm=machine,
        vm_instance=vm.instance,
    )


def gic_vcpu_region(plans: tuple[VmPlan, ...], platform: Platform) -> tuple[MkRegion, ...]:
    """The one GICV page region every VM maps at its GICC (none without a GIC)."""
    wanted = any(r.kind == "gic_cpu" for vm in plans for r in vm.devices)
    if not wanted or platform.gic is None:
        return ()
    return (MkRegion(GIC_VCPU_MR, PAGE, PAGE, platform.gic.vcpu),)


def arm_regions(vm: VmPlan) -> tuple[MkRegion, ...]:
    """The memory regions of one ARM VM: its RAM and passthrough windows."""
    ram = vm.ram
    out = [MkRegion(f"{vm.name}_ram", ram.size, page_size(ram.size, ram.guest or 0), ram.paddr)]
    for region in vm.devices:
        if region.kind == "mmio":
            out.append(MkRegion(f"{vm.name}_{region.name}", region.size, PAGE, region.paddr))
    return tuple(out)


def arm_system(
    system: System, platform: Platform
) -> tuple[tuple[VmPlan, ...], tuple[IrqRoute, ...], MicrokitSystem]:
    """The VMs, their IRQ routes and the SDF of an ARM Microkit system."""
    plans: list[VmPlan] = []
    routes: list[IrqRoute] = []
    pds: list[MkPd] = []
    extra: list[MkPd] = []
    regions: list[MkRegion] = []
    channels: list[MkChannel] = []
    for p, rs in arm_vms(system, platform):
        written = system.vms[p.index].on(platform.name)
        parts = virtio_parts(p, written, platform)
        if parts is not None:
            p = replace(
                p,
                devices=(*p.devices, *parts.devices),
                virtio_console="console" in virtio_kinds(written),
                virtio_net="net" in virtio_kinds(written),
                mac=mac(p.index) if "net" in virtio_kinds(written) else None,
            )
            rs = (*rs, *parts.routes)
            extra.extend(parts.pds)
            channels.extend(parts.channels)
        plans.append(p)
        routes.extend(rs)
        pds.append(arm_pd(p, written, rs, system.num_nodes, parts))
        regions.extend(arm_regions(p))
        regions.extend(parts.regions if parts is not None else ())
    gic = gic_vcpu_region(tuple(plans), platform)
    mk = sdf(platform, system, (*regions, *gic), (*pds, *extra), tuple(channels))
    if extra and platform.microkit is not None:
        mk = replace(mk, sddf=platform.microkit.sddf)
    return tuple(plans), tuple(routes), mk


def sdf(
    platform: Platform,
    system: System,
    regions: tuple[MkRegion, ...],
    pds: tuple[MkPd, ...],
    channels: tuple[MkChannel, ...] = (),
    timer_channel: int | None = None,
) -> MicrokitSystem:
    """The SDF, with its names checked unique (E307)."""
    if platform.microkit is None:
        raise internal(f"platform {platform.name} is not a Microkit board")
    _unique("memory region", [r.name for r in regions])
    _unique("protection domain", [p.name for p in pds])
    config: Literal["debug", "smp-debug"] = "smp-debug" if system.num_nodes > 1 else "debug"
    return MicrokitSystem(
        platform.microkit.board, config, regions, pds, tuple(channels), timer_channel
    )


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise PlanError("E307", f"{what} name '{n}' is made twice", ("vms",))
        seen.add(n)


def threads(plans: tuple[VmPlan, ...], mk: MicrokitSystem) -> tuple[Thread, ...]:
    """One thread per PD and, on ARM, one per vCPU (each vCPU is a TCB of the VM)."""
    out: list[Thread] = []
    for pd in mk.pds:
        out.append(
            Thread(
                pd.name, "vmm" if pd.role == "vmm" else "component", pd.priority, vm=pd.vm_instance
            )
        )
        if pd.vm is not None and pd.vm.priority is not None:
            for v in pd.vm.vcpus:
                out.append(
                    Thread(
                        f"{pd.name}_vcpu{v.id}",
                        "vcpu",
                        pd.vm.priority,
                        core=v.cpu,
                        vm=pd.vm_instance,
                        vcpu=v.id,
                    )
                )
    return tuple(out)


__all__ = ["Region", "arm_system", "page_size", "scheduling", "sdf", "threads", "vcpus"]
