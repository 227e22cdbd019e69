"""Guest workloads derived from a Plan, for the explorer and the timed run.

A `Workload` is a guest program (a short script of operations the models
interpret: `cli`, `sti`, `work`, `mmio`, `halt`) and the interrupt sources
the VM is given, each fired a bounded number of times.  Boot touches every
device the guest is given once (an MMIO access that faults to the VMM when
the device is emulated); the run then alternates work, a critical section
with interrupts off, and an idle wait (HLT on x86, WFI on ARM).
"""

from __future__ import annotations

from dataclasses import dataclass

from sel4vmgen.plan.model import IrqRoute, Plan, VmPlan

# Guest operations the models interpret.
CLI, STI, WORK, MMIO, HALT = "cli", "sti", "work", "mmio", "halt"

EMULATED = frozenset({"gic_dist", "virtio", "pci_bar"})  # regions the VMM emulates by faults


def x86_flags_step(op: str, pc: int, if_: bool) -> tuple[int, bool, bool] | None:
    """An x86 guest instruction that stays in the guest: (pc, IF, STI blocking) after `cli`,
    `sti` (blocking only when IF was clear) or `work`; None for one that exits to the VMM."""
    if op == CLI:
        return pc + 1, False, False
    if op == STI:
        return pc + 1, True, not if_
    if op == WORK:
        return pc + 1, if_, False
    return None


@dataclass(frozen=True)
class Source:
    """An interrupt source: a name, the line or vIRQ, whether the kernel masks it until ack,
    and the PCI devices of the VM on its line (indices into `VmPlan.pci_devices`) when it is a
    level-triggered line more than one of them shares (`held`)."""

    name: str
    irq: int
    masked_until_ack: bool = True
    shared_by: tuple[int, ...] = ()

    @property
    def held(self) -> bool:
        """A level line shared by devices: one the guest does not clear holds it asserted."""
        return len(self.shared_by) > 1


@dataclass(frozen=True)
class Workload:
    """What one guest (or one VCPU) does in an exploration."""

    name: str
    program: tuple[str, ...]
    sources: tuple[Source, ...]
    fires: tuple[int, ...]  # how many times each source fires

    @property
    def interrupts(self) -> int:
        return sum(self.fires)


def run_program(critical: bool = True) -> tuple[str, ...]:
    """The steady-state script: enable, work, a critical section, enable, idle."""
    body: tuple[str, ...] = (STI, WORK)
    if critical:
        body += (CLI, WORK, STI)
    return (*body, HALT)


def boot_program(vm: VmPlan) -> tuple[str, ...]:
    """Touch the first emulated device once (further devices behave alike), then run."""
    touches = (MMIO,) if any(d.kind in EMULATED for d in vm.devices) or vm.virtio_console else ()
    return touches + run_program()


def sources_for(plan: Plan, vm: VmPlan, vcpu: int = 0) -> tuple[Source, ...]:
    """The timer, then each interrupt routed to the VM (secondary VCPUs get the timer only)."""
    if plan.arch == "arm":
        vtimer = plan.gic.vtimer_irq if plan.gic else 27  # PPI 27: the EL1 virtual timer
        timer = Source("vtimer", vtimer)
    else:
        timer = Source("timer", 0)  # the PIT/HPET tick the VMM's time server emulates on IRQ 0
    if vcpu:
        return (timer,)
    routes = [r for r in plan.irq_routes if r.vm == vm.instance and r.kind != "vtimer"]
    names = [r.name or f"irq{r.source}" for r in routes]
    routed = [
        Source(
            _label(n, r.virq, names.count(n) > 1),
            r.virq,
            r.kind == "passthrough",
            _sharers(vm, r) if r.trigger == "level" and r.kind == "passthrough" else (),
        )
        for n, r in zip(names, routes, strict=True)
    ]
    return (timer, *routed)


def _sharers(vm: VmPlan, r: IrqRoute) -> tuple[int, ...]:
    """The x86 PCI devices of `vm` whose interrupt line is route `r`'s IOAPIC pin, when
    there are two or more of them (one IRQ handler carries them all)."""
    on = tuple(k for k, d in enumerate(vm.pci_devices) if d.irq == r.source)
    return on if len(on) > 1 else ()


def held_cause(vm: VmPlan, src: Source) -> tuple[str, tuple[str | int, ...]]:
    """Why held line `src` stays masked, and the field of `vm` that causes it (the second
    device's `irq`), for E510."""
    names = ", ".join(vm.pci_devices[k].name for k in src.shared_by)
    pin = vm.pci_devices[src.shared_by[0]].irq
    why = (
        f"the level-triggered IOAPIC pin {pin} is shared by PCI devices {names}: while one "
        "holds it asserted and the guest clears another, the line fires unclaimed and the "
        "guest disables it without an EOI"
    )
    return why, ("passthrough", "pci", src.shared_by[1], "irq")


def _label(name: str, irq: int, shared_name: bool) -> str:
    """A source's name, with its line when another line of the VM has the same name (the
    INTx lines of one PCIe controller are one device's): each line is acked on its own."""
    return f"{name} IRQ {irq}" if shared_name else name


def workload(plan: Plan, vm: VmPlan, interrupts: int = 3, vcpu: int = 0) -> Workload:
    """The exploration workload of one VM (or one of its VCPUs) with `interrupts` firings."""
    sources = sources_for(plan, vm, vcpu)[: max(1, interrupts)]
    fires = [0] * len(sources)
    for i in range(interrupts):
        fires[i % len(sources)] += 1
    program = boot_program(vm) if vcpu == 0 else run_program()
    name = vm.instance if plan.arch == "x86" else f"{vm.instance}.vcpu{vcpu}"
    return Workload(name, program, sources, tuple(fires))
