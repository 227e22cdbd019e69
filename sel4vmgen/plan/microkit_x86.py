"""`resolve` for the x86_64 Microkit board: one VM per VMM, sharing its TCB.

As libvmm 0.2.0's x86_64 example (examples/simple/board/x86_64_generic_vtx/simple.system,
examples/simple/vmm.c):
- one vCPU; the `virtual_machine` carries no priority, budget or period (Microkit 2.3.0
  CHANGES.md: the VM shares the VMM's TCB and scheduling context);
- guest RAM from guest-physical 0 (LOW_RAM_START_GPA, include/libvmm/arch/x86_64/
  memory_space.h), described to the guest by the E820 map libvmm's `linux_setup_images`
  builds; 128 MiB by default, as the CAmkES x86 layout;
- the VMM maps guest RAM at 0x80000000 (simple.system);
- passthrough I/O ports are `ioport`s of the VMM, ids 0.. in the order written;
  passthrough IRQs are I/O APIC `irq`s on channels 1.., vectors 0.. (the tool takes
  0-107), injected at the guest I/O APIC pin `dest`;
- the sDDF HPET timer driver, which the VMM calls (channel 10, pp) to measure the TSC
  when CPUID does not give it: PD `timer_driver`, priority 254, passive, its HPET page at
  0x50000000, its IRQ pin 2 vector 107 on channel 0, its end of the channel id 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sel4vmgen.model.system import System, Vm
from sel4vmgen.plan.common import image
from sel4vmgen.plan.microkit import (
    BUDGET_DEFAULT_US,
    RAM_SETVAR,
    page_size,
    scheduling,
    sdf,
    vcpus,
    vmm_pd,
)
from sel4vmgen.plan.microkit_model import (
    MicrokitSystem,
    MkChannel,
    MkEnd,
    MkIoPort,
    MkIrq,
    MkMap,
    MkPd,
    MkRegion,
    MkVm,
)
from sel4vmgen.plan.model import IoPortRange, IrqRoute, Region, VmPlan
from sel4vmgen.units import MIB

if TYPE_CHECKING:
    from sel4vmgen.platforms.model import Platform

DEFAULT_RAM = 128 * MIB
VMM_RAM_VADDR = 0x80000000  # simple.system map of guest_ram into the VMM
VMM_PRIORITY = 0  # simple.system: the x86 VMM runs at priority 0, below the timer driver
# GUEST_CMDLINE_QEMU of libvmm examples/simple/vmm.c, for VMs that give none
DEFAULT_CMDLINE = (
    "earlyprintk=serial,0x3f8,115200 debug console=ttyS0,115200 "
    "earlycon=serial,0x3f8,115200 loglevel=8 tsc=nowatchdog"
)
# The timer driver of simple.system
TIMER_PD = "timer_driver"
TIMER_PRIORITY = 254
TIMER_VADDR = 0x50000000
TIMER_IRQ_PIN = 2
TIMER_IRQ_VECTOR = 107
TIMER_VMM_CHANNEL = 10
TIMER_END_ID = 1


def x86_vm(vm: Vm, n: int) -> tuple[VmPlan, tuple[IrqRoute, ...]]:
    """One VM's plan (already patched for the board) and its IRQ routes."""
    inst = f"vm{n}"
    size = vm.ram.size if vm.ram else DEFAULT_RAM
    kernel = image("kernel", "", vm.kernel.image, inst, fmt=vm.kernel.format or "bzImage")
    initrd = image("initrd", "", vm.initrd.image, inst, fmt="cpio") if vm.initrd else None
    pt = vm.passthrough
    ioports = (
        tuple(IoPortRange(p.name, p.start, p.end, p.pci_device) for p in pt.ioports) if (pt) else ()
    )
    routes = tuple(
        IrqRoute(
            inst,
            q.source,
            q.dest,
            "level" if q.level_trig else "edge",
            "passthrough",
            q.name,
            q.active_low,
            q.ioapic,
        )
        for q in (pt.x86_irqs if pt else ())
    )
    plan = VmPlan(
        index=n,
        name=vm.name,
        instance=inst,
        component=f"vmm_{vm.name}",
        vcpus=1,
        priority=vm.priority if vm.priority is not None else VMM_PRIORITY,
        ram=Region("ram", "ram", size, guest=0),
        kernel=kernel,
        initrd=initrd,
        dtb=None,
        dtb_mode="none",
        cmdline=vm.cmdline if vm.cmdline is not None else DEFAULT_CMDLINE,
        stdout=None,
        ioports=ioports,
        irq_latency_us=vm.requirements.irq_latency_us if vm.requirements else None,
    )
    return plan, routes


def x86_pd(vm: VmPlan, written: Vm, routes: tuple[IrqRoute, ...], first_vector: int) -> MkPd:
    """The VMM protection domain of one x86 VM."""
    budget, period = scheduling(written)
    ram_mr = f"{vm.name}_ram"
    irqs = tuple(
        MkIrq(
            k + 1,
            r.source,
            r.trigger,
            virq=r.virq,
            ioapic=r.ioapic,
            vector=first_vector + k,
            polarity="low" if r.active_low else "high",
        )
        for k, r in enumerate(routes)
    )
    ports = tuple(MkIoPort(k, p.start, p.end - p.start + 1) for k, p in enumerate(vm.ioports))
    machine = MkVm(vm.name, vcpus(1, 1), (MkMap(ram_mr, 0, "rwx"),))
    ram = MkMap(ram_mr, VMM_RAM_VADDR, "rw", True, RAM_SETVAR)
    return vmm_pd(vm, (budget, period), ram, irqs, machine, ports)


def _timer(platform: Platform) -> tuple[MkRegion, MkPd]:
    hpet = next(d for d in platform.devices if d.name == "hpet")
    region = MkRegion("hpet_regs", hpet.size, 0x1000, hpet.paddr)
    irq = MkIrq(0, TIMER_IRQ_PIN, hpet.trigger, ioapic=0, vector=TIMER_IRQ_VECTOR, polarity="high")
    pd = MkPd(
        name=TIMER_PD,
        program_image=f"{TIMER_PD}.elf",
        priority=TIMER_PRIORITY,
        budget=BUDGET_DEFAULT_US,
        period=BUDGET_DEFAULT_US,
        passive=True,
        maps=(MkMap("hpet_regs", TIMER_VADDR, "rw", False),),
        irqs=(irq,),
        role="timer",
    )
    return region, pd


def x86_system(
    system: System, platform: Platform
) -> tuple[tuple[VmPlan, ...], tuple[IrqRoute, ...], MicrokitSystem]:
    """The VMs, their IRQ routes and the SDF of an x86_64 Microkit system."""
    resolved = [x86_vm(vm.on(platform.name), n) for n, vm in enumerate(system.vms)]
    plans = tuple(p for p, _ in resolved)
    pds: list[MkPd] = []
    vector = 0
    for p, routes in resolved:
        pds.append(x86_pd(p, system.vms[p.index].on(platform.name), routes, vector))
        vector += len(routes)
    regions = [MkRegion(f"{p.name}_ram", p.ram.size, page_size(p.ram.size), None) for p in plans]
    timer_region, timer = _timer(platform)
    channels = tuple(
        MkChannel(MkEnd(TIMER_PD, TIMER_END_ID), MkEnd(pd.name, TIMER_VMM_CHANNEL, False, True))
        for pd in pds
    )
    mk = sdf(platform, system, (*regions, timer_region), (*pds, timer), channels, TIMER_VMM_CHANNEL)
    return plans, tuple(r for _, rs in resolved for r in rs), mk
