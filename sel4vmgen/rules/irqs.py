"""Interrupt rules: an IRQ belongs to one VM, never to the kernel, and exists on the platform.

A VM holds the IRQs it names (`passthrough.irqs`; x86 `x86_irqs` sources and
PCI device IRQs) and those of the DTB nodes it passes through (the platform's
device list).  Two VMs holding one IRQ cannot both get its IRQ handler cap.
The platform lists the IRQs the kernel keeps (timer, VGIC maintenance, virtual
timer; on x86 the fixed components' PIT and COM1); naming one is an error.  The
ARM kernel serial port's IRQ is not one: the kernel polls its UART, and the real
apps give that IRQ to the guest.
"""

from __future__ import annotations

from dataclasses import dataclass

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.model.system import CrossVm, DtbNode, Vm
from sel4vmgen.platforms.model import Platform
from sel4vmgen.rules.context import Ctx, error, line_of, warning


@dataclass(frozen=True)
class Held:
    """An IRQ one VM holds, whether it was named outright, and where."""

    irq: int
    vm: int
    named: bool
    span: Span
    how: str
    device: str = ""

    def shown(self) -> str:
        return f"{self.how} {self.irq}" + (f" of {self.device}" if self.device else "")


def held_irqs(ctx: Ctx, i: int, vm: Vm) -> list[Held]:
    pt = vm.passthrough
    if pt is None:
        return []
    out = [
        Held(irq, i, True, ctx.at(i, "passthrough", "irqs", k), "IRQ")
        for k, irq in enumerate(pt.irqs)
    ]
    out += [
        Held(x.source, i, True, ctx.at(i, "passthrough", "x86_irqs", k, "source"), "IOAPIC pin")
        for k, x in enumerate(pt.x86_irqs)
    ]
    out += [
        Held(d.irq, i, True, ctx.at(i, "passthrough", "pci", k, "irq"), f"PCI device {d.name} IRQ")
        for k, d in enumerate(pt.pci)
        if d.irq is not None
    ]
    p = ctx.platform
    for k, dev in enumerate(pt.devices):
        path = dev if isinstance(dev, str) else (dev.path if isinstance(dev, DtbNode) else None)
        for d in p.devices if p and path else ():
            if d.path == path:
                span = ctx.at(i, "passthrough", "devices", k)
                out += [Held(irq, i, False, span, "IRQ", path) for irq in d.irqs]
    return out


def irq_owners(ctx: Ctx) -> list[Diagnostic]:
    """E213: one IRQ held by two VMs."""
    first: dict[int, Held] = {}
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        for h in held_irqs(ctx, i, vm):
            prev = first.setdefault(h.irq, h)
            if prev.vm == h.vm:
                continue
            out.append(
                error(
                    "E213",
                    f"{vm.name} {h.shown()} is already given to {ctx.vms[prev.vm].name}"
                    + (f" with {prev.device}" if prev.device else "")
                    + f" {line_of(prev.span, h.span)}",
                    h.span,
                    prev.span,
                )
            )
    return out


def irq_platform(ctx: Ctx) -> list[Diagnostic]:
    """E214 an IRQ the kernel keeps; E233 an IRQ the interrupt controller does not have."""
    p = ctx.platform
    if p is None:
        return []
    reserved = _reserved(p)
    top = p.gic.max_irq if p.gic else None
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        for h in held_irqs(ctx, i, vm):
            if not h.named:
                continue
            if h.irq in reserved:
                out.append(
                    error(
                        "E214",
                        f"{vm.name} {h.how} {h.irq} is reserved on {p.name}: {reserved[h.irq]}",
                        h.span,
                    )
                )
            elif top is not None and h.how == "IRQ" and h.irq > top:
                out.append(
                    error(
                        "E233",
                        f"{vm.name} IRQ {h.irq} does not exist on {p.name} (the GIC's highest "
                        f"interrupt is {top})",
                        h.span,
                    )
                )
            elif p.x86 is not None and h.how == "IOAPIC pin" and h.irq >= p.x86.ioapic_pins:
                out.append(
                    error(
                        "E233",
                        f"{vm.name} IOAPIC pin {h.irq} does not exist on {p.name} (its IOAPIC "
                        f"has {p.x86.ioapic_pins} pins)",
                        h.span,
                    )
                )
    return out


def _reserved(p: Platform) -> dict[int, str]:
    """IRQs no VM may name.  On ARM the kernel's serial port is the exception: the kernel
    prints by polling and claims no IRQ for it, and camkes-vm-examples give its IRQ to the
    guest (tk1 vm_minimal: vm0.irqs = [63, 122], 122 being UARTD, the kernel console).
    On x86 the serial component holds COM1's IRQ."""
    shared = set(p.serial.irqs) if p.arch == "arm" else set()
    return {r.irq: r.why for r in p.reserved_irqs if r.irq not in shared}


def irq_virtual_devices(ctx: Ctx) -> list[Diagnostic]:
    """E238 a named IRQ the VMM's virtio devices or cross-VM events already use in this guest;
    W208 the kernel serial port's IRQ (shared with the kernel's console)."""
    p = ctx.platform
    if p is None or p.arch != "arm":
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        uses = _virtual_irqs(ctx, p, vm)
        for k, irq in enumerate(vm.passthrough.irqs if vm.passthrough else ()):
            if irq in uses:
                out.append(
                    error(
                        "E238",
                        f"{vm.name} IRQ {irq} is the virtual IRQ of its {uses[irq]} on {p.name}",
                        ctx.at(i, "passthrough", "irqs", k),
                    )
                )
            elif irq in p.serial.irqs:
                where = ctx.at(i, "passthrough", "irqs", k)
                out.append(
                    warning(
                        "W208",
                        f"{vm.name} IRQ {irq} is the IRQ of {p.serial.path or p.serial.name}, "
                        "the kernel's console: the guest shares that UART with the kernel",
                        where,
                    )
                )
    return out


def _virtual_irqs(ctx: Ctx, p: Platform, vm: Vm) -> dict[int, str]:
    """IRQs camkes-vm injects into this guest: libvirtio's (virtio-net and virtio-console,
    libs/libvirtio plat_include) and the cross-VM one (free_plat_interrupts[0], vmlinux.h)."""
    out: dict[int, str] = {}
    virtio = vm.virtio is not None and (vm.virtio.net or vm.virtio.console)
    if p.virtio_irq is not None and (virtio or vm.name in ctx.virtio_linked):
        out[p.virtio_irq] = "virtio devices"
    if p.free_irqs and vm.name in ctx.cross_vm_vms:
        out.setdefault(p.free_irqs[0], "cross-VM connection")
    return out


def irq_without_device(ctx: Ctx) -> list[Diagnostic]:
    """W204: an ARM passthrough IRQ that no device the VM is given raises."""
    p = ctx.platform
    if p is None or p.arch != "arm":
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        pt = vm.passthrough
        if pt is None or not pt.irqs:
            continue
        raised = _device_irqs(ctx, vm)
        reserved = set(_reserved(p))
        top = p.gic.max_irq if p.gic else 1 << 16
        for k, irq in enumerate(pt.irqs):
            said = irq in reserved or irq > top or irq in _virtual_irqs(ctx, p, vm)
            if irq not in raised and not said:  # else another diagnostic says it
                out.append(
                    warning(
                        "W204",
                        f"{vm.name} IRQ {irq} belongs to no device it is given",
                        ctx.at(i, "passthrough", "irqs", k),
                        hint="pass the device through (passthrough.devices or mmios), "
                        "or drop the IRQ",
                    )
                )
    return out


def _device_irqs(ctx: Ctx, vm: Vm) -> set[int]:
    """IRQs of the platform devices the VM gets by DTB path or by an MMIO window over them."""
    p = ctx.platform
    pt = vm.passthrough
    if p is None or pt is None:
        return set()
    paths = {d if isinstance(d, str) else d.path for d in pt.devices}
    windows = [(w.paddr, w.paddr + w.size) for w in pt.mmios + pt.untyped_mmios]
    out: set[int] = set()
    for d in p.devices:
        if d.path in paths or any(a < d.paddr + d.size and d.paddr < b for a, b in windows):
            out.update(d.irqs)
    return out


def free_irq_needed(ctx: Ctx) -> list[Diagnostic]:
    """E280: an ARM VM whose virtio devices (on a platform without a virtio IRQ) or whose
    cross-VM events towards it need one of the platform's free interrupts, where the
    platform lists none (camkes-vm takes them from free_plat_interrupts, vmlinux.h)."""
    p = ctx.platform
    if p is None or p.arch != "arm" or p.framework != "camkes" or p.free_irqs:
        return []
    to_vm = {
        c.vm
        for c in ctx.system.connections
        if isinstance(c, CrossVm) and any(e.direction == "to_vm" for e in c.events)
    }
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        virtio = vm.virtio is not None and (vm.virtio.net or vm.virtio.console)
        linked = virtio or vm.name in ctx.virtio_linked
        if not (vm.name in to_vm or (linked and p.virtio_irq is None)):
            continue
        at = "virtio" if vm.virtio is not None and vm.name not in to_vm else "name"
        out.append(
            error(
                "E280",
                f"VM {vm.name}: platform {p.name} has no free interrupt for notifications",
                ctx.at(i, at),
                hint="drop the virtio device or the cross-VM event, or add `free_irqs` to "
                "the platform data file",
            )
        )
    return out


RULES = (irq_owners, irq_platform, irq_virtual_devices, irq_without_device, free_irq_needed)
