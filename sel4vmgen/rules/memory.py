"""Host-physical memory rules: guest RAM and passthrough windows against the platform and each other.

* guest RAM (ARM: `ram.paddr`, else `ram.base` with the platform's default
  offset) lies inside the platform's RAM or its guest-RAM (device untyped)
  ranges and clear of kernel-reserved memory; the RAM of all VMs fits;
* passthrough windows lie inside a device region of the platform (an
  `untyped_mmios` window may also be RAM), never on the GIC distributor, CPU
  or hypervisor interfaces (the VMM emulates the first, maps GICV at the
  second, and the kernel owns the third: seL4_projects_libs vgic_v2.c);
* alignment: 4 KiB pages; an `untyped_mmios` window is one untyped object,
  `"paddr:size_bits"`, so a power-of-two size aligned to itself;
* no two VMs' RAM, MMIO windows or passed-through devices overlap: one sort and
  one sweep (`intervals.overlaps`).  The GICV frame is shared by design, and a
  device frame two VMs both map (`mmios`) is only a warning;
* where the VMM maps guest RAM one-to-one, `ram.paddr` equals `ram.base`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.facts import GIC_FRAME_SIZE
from sel4vmgen.model.system import DtbNode, MemoryWindow, Vm
from sel4vmgen.platforms.model import MemRange, Platform
from sel4vmgen.rules.context import Ctx, error, hexr, line_of, warning
from sel4vmgen.rules.intervals import Interval, overlaps
from sel4vmgen.units import MIB, PAGE


@dataclass(frozen=True)
class Window:
    """A host-physical window VM `index` holds, how to name it, and the VM field it comes from."""

    vm: str
    what: str
    index: int
    field: tuple[str | int, ...]

    def describe(self, start: int, size: int) -> str:
        return f"{self.vm} {self.what} {hexr(start, size)}"


def merged(ranges: tuple[MemRange, ...]) -> list[tuple[int, int]]:
    """[start, end) pairs with touching or overlapping ranges joined."""
    out: list[tuple[int, int]] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if out and r.start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], r.end))
        else:
            out.append((r.start, r.end))
    return out


def ram_paddr(ctx: Ctx, vm: Vm) -> tuple[int, str] | None:
    """Host-physical base of VM RAM whose address the user wrote (ARM), and the field it
    comes from: `ram.paddr`, else `ram.base` moved by the platform's default IPA-to-PA
    offset (zero except on tk1), as `resolve` places it."""
    ram = vm.ram
    if ctx.system.arch != "arm" or ram is None:
        return None
    if ram.paddr is not None:
        return ram.paddr, "paddr"
    if ram.base is None:
        return None
    g = ctx.platform.guest if ctx.platform else None
    return ram.base + (g.ram_paddr - g.ram_base if g else 0), "base"


def ram_window(ctx: Ctx, i: int, vm: Vm) -> tuple[int, int, Span] | None:
    """(host-physical start, size, span) of VM RAM whose address the user wrote (ARM)."""
    found = ram_paddr(ctx, vm)
    if found is None or vm.ram is None:
        return None
    return found[0], vm.ram.size, ctx.at(i, "ram", found[1])


def one_to_one(ctx: Ctx) -> list[Diagnostic]:
    """E239: `ram.paddr` other than `ram.base` where the VMM maps guest RAM one-to-one.

    camkes-vm components/VM_Arm/src/main.c: only without map_one_to_one (tk1, behind its
    SMMU) may guest RAM addresses differ from the physical ones."""
    g = ctx.platform.guest if ctx.platform else None
    if g is None or not g.map_one_to_one:
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        ram = vm.ram
        if ram is None or ram.paddr is None or ram.base is None or ram.paddr == ram.base:
            continue
        there = ctx.at(i, "ram", "base")
        out.append(
            error(
                "E239",
                f"{vm.name} ram.paddr 0x{ram.paddr:x} differs from ram.base 0x{ram.base:x} "
                f"{line_of(there)}, but {ctx.plat_name} maps guest RAM one-to-one",
                ctx.at(i, "ram", "paddr"),
                there,
                hint="drop ram.paddr, or make it equal to ram.base",
            )
        )
    return out


def ram_inside(ctx: Ctx) -> list[Diagnostic]:
    """E207/E208: guest RAM inside the platform's memory and out of reserved memory."""
    p = ctx.platform
    if p is None or p.arch != "arm":
        return []
    usable = merged(p.ram + p.guest_ram)
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        w = ram_window(ctx, i, vm)
        if w is None:
            continue
        start, size, span = w
        hit = next((r for r in p.reserved if start < r.end and r.start < start + size), None)
        if hit is not None:
            what = f"reserved memory {hit.name}" if hit.name else "reserved memory"
            out.append(
                error(
                    "E208",
                    f"{vm.name} RAM {hexr(start, size)} overlaps {what} "
                    f"{hexr(hit.start, hit.size)} of {p.name}",
                    span,
                )
            )
        elif usable and not any(a <= start and start + size <= b for a, b in usable):
            shown = ", ".join(hexr(a, b - a) for a, b in usable)
            out.append(
                error(
                    "E207",
                    f"{vm.name} RAM {hexr(start, size)} is not inside the memory of {p.name} "
                    f"({shown})",
                    span,
                )
            )
    return out


def ram_total(ctx: Ctx) -> list[Diagnostic]:
    """E223: the RAM of all VMs is more than the platform has."""
    p = ctx.platform
    if p is None:
        return []
    have = sum(b - a for a, b in merged(p.ram + p.guest_ram))
    if have == 0:
        return []
    total = 0
    for i, vm in ctx.vm_indices():
        size = vm.ram.size if vm.ram else (p.guest.ram_size if p.guest else 0)
        total += size
        if total > have:
            return [
                error(
                    "E223",
                    f"the guest RAM of the first {i + 1} VMs is {_mib(total)}, more than the "
                    f"{_mib(have)} of memory {p.name} has",
                    ctx.at(i, "ram", "size") if vm.ram else ctx.key_span("vms", i, "name"),
                )
            ]
    return []


def _mib(n: int) -> str:
    return f"{n // MIB} MiB" if n % MIB == 0 else f"0x{n:x} bytes"


def _windows(vm: Vm) -> list[tuple[str, int, MemoryWindow]]:
    pt = vm.passthrough
    if pt is None:
        return []
    out = [("mmios", k, w) for k, w in enumerate(pt.mmios)]
    out += [("untyped_mmios", k, w) for k, w in enumerate(pt.untyped_mmios)]
    return out


_LABEL = {"mmios": "MMIO window", "untyped_mmios": "untyped MMIO window"}


def alignment(ctx: Ctx) -> list[Diagnostic]:
    """E211: RAM and passthrough windows on page (and untyped-object) boundaries."""
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        if ctx.system.arch == "arm" and vm.ram is not None:
            for name in ("base", "paddr", "size"):
                value = getattr(vm.ram, name)
                if value is not None and value % PAGE:
                    out.append(
                        error(
                            "E211",
                            f"{vm.name} RAM {name} 0x{value:x} is not a multiple of 4 KiB",
                            ctx.at(i, "ram", name),
                        )
                    )
        for group, k, w in _windows(vm):
            out += _window_alignment(ctx, i, vm, group, k, w)
        out += _x86_alignment(ctx, i, vm)
    return out


def _x86_alignment(ctx: Ctx, i: int, vm: Vm) -> list[Diagnostic]:
    """x86: RAM in whole MiB (camkes-vm's `guest_ram_mb`); PCI BARs start on a page."""
    if ctx.system.arch != "x86":
        return []
    out: list[Diagnostic] = []
    microkit = ctx.platform is not None and ctx.platform.framework == "microkit"
    if vm.ram is not None and vm.ram.size % MIB and not microkit:  # Microkit: E266
        out.append(
            error(
                "E211",
                f"{vm.name} RAM size 0x{vm.ram.size:x} is not a whole number of MiB "
                "(x86 guest RAM is set as guest_ram_mb)",
                ctx.at(i, "ram", "size"),
            )
        )
    # camkes-vm Init seL4VMPCIDevices.template.c maps frames of 2^page_bits from paddr on;
    # the size may be less than a page (cma34cr's USB BARs are 1 KiB).
    for k, dev in enumerate(vm.passthrough.pci if vm.passthrough else ()):
        for m, mem in enumerate(dev.memory):
            page = 1 << mem.page_bits
            if mem.paddr % page:
                out.append(
                    error(
                        "E211",
                        f"{vm.name} PCI device {dev.name} memory {hexr(mem.paddr, mem.size)} does "
                        f"not start on a {page:#x}-byte page (page_bits {mem.page_bits})",
                        ctx.at(i, "passthrough", "pci", k, "memory", m),
                    )
                )
    return out


def _window_alignment(
    ctx: Ctx, i: int, vm: Vm, group: str, k: int, w: MemoryWindow
) -> list[Diagnostic]:
    shown = f"{vm.name} {_LABEL[group]} {hexr(w.paddr, w.size)}"
    if group == "untyped_mmios":
        if w.size & (w.size - 1) or w.paddr % w.size or w.size < PAGE:
            where = ctx.at(i, "passthrough", group, k)
            return [
                error(
                    "E211",
                    f"{shown} is not one untyped object: the size must be a power of two, "
                    "at least 4 KiB, and the address a multiple of it",
                    where,
                    hint="split it into power-of-two windows (untyped_mmios are paddr:size_bits)",
                )
            ]
        return []
    if w.paddr % PAGE or w.size % PAGE:
        where = ctx.at(i, "passthrough", group, k)
        return [error("E211", f"{shown} is not on 4 KiB page boundaries", where)]
    return []


def _gic_parts(p: Platform) -> list[tuple[int, str]]:
    if p.gic is None:
        return []
    return [
        (p.gic.dist, "the GIC distributor, which the VMM emulates"),
        (p.gic.cpu, "the GIC CPU interface, where the VMM maps the GICV frame"),
        (p.gic.hyp, "the GIC hypervisor interface, which belongs to the kernel"),
    ]


def passthrough_devices(ctx: Ctx) -> list[Diagnostic]:
    """E210/E234: passthrough windows inside device regions, and off the GIC's own frames."""
    p = ctx.platform
    if p is None or p.arch != "arm":
        return []
    devices = [(d.paddr, d.paddr + d.size) for d in p.devices]
    memory = merged(p.ram + p.guest_ram)
    gics = _gic_parts(p)
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        for group, k, w in _windows(vm):
            shown = f"{vm.name} {_LABEL[group]} {hexr(w.paddr, w.size)}"
            gic = [why for at, why in gics if w.paddr < at + PAGE and at < w.paddr + w.size]
            if gic:
                where = ctx.at(i, "passthrough", group, k)
                out.append(error("E234", f"{shown} maps {gic[0]}", where))
                continue
            inside = devices + (memory if group == "untyped_mmios" else [])
            if not any(a <= w.paddr and w.paddr + w.size <= b for a, b in inside):
                kind = "device region or memory" if group == "untyped_mmios" else "device region"
                where = ctx.at(i, "passthrough", group, k)
                out.append(error("E210", f"{shown} is not inside a {kind} of {p.name}", where))
    return out


def _gicv(p: Platform | None, start: int, size: int) -> bool:
    """The GICV frame every VM is given (camkes-vm apps list it for each VM)."""
    if p is None or p.gic is None:
        return False
    return p.gic.vcpu <= start and start + size <= p.gic.vcpu + max(GIC_FRAME_SIZE, size)


def vm_intervals(ctx: Ctx) -> list[Interval[Window]]:
    """Every host-physical window of every VM: RAM, MMIO windows, passed-through devices."""
    out: list[Interval[Window]] = []
    p = ctx.platform
    by_path = _device_regions(p)
    for i, vm in ctx.vm_indices():
        found = ram_paddr(ctx, vm)
        if found is not None and vm.ram is not None:
            where: tuple[str | int, ...] = ("ram", found[1])
            out.append(Interval(found[0], vm.ram.size, i, Window(vm.name, "RAM", i, where)))
        for group, k, mw in _windows(vm):
            if not _gicv(p, mw.paddr, mw.size):
                where = ("passthrough", group, k)
                out.append(Interval(mw.paddr, mw.size, i, Window(vm.name, _LABEL[group], i, where)))
        pt = vm.passthrough
        for k, dev in enumerate(pt.devices if pt else ()):
            path = dev if isinstance(dev, str) else (dev.path if isinstance(dev, DtbNode) else None)
            for start, size in by_path.get(path or "", ()):
                if not _gicv(p, start, size):
                    where = ("passthrough", "devices", k)
                    out.append(
                        Interval(start, size, i, Window(vm.name, f"device {path}", i, where))
                    )
    return out


def _device_regions(p: Platform | None) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for d in p.devices if p else ():
        if d.path:
            out.setdefault(d.path, []).append((d.paddr, d.size))
    return out


def shared_memory(ctx: Ctx) -> list[Diagnostic]:
    """E209: host-physical windows of two VMs that overlap (one sort, one sweep).

    RAM, untyped windows and DTB nodes (whose registers go as untypeds) are given to one
    VM only.  Two `mmios` windows on one device are device frames mapped into both guests:
    possible, and what camkes-vm-examples vm_multi does with the read-only exynos chip-id
    page, so that is a warning (W209)."""
    out: list[Diagnostic] = []
    for later, earlier in overlaps(vm_intervals(ctx)):
        a, b = later.info, earlier.info
        here, there = ctx.at(a.index, *a.field), ctx.at(b.index, *b.field)
        this = a.describe(later.start, later.size)
        that = f"{b.describe(earlier.start, earlier.size)} {line_of(there, here)}"
        if a.what == b.what == _LABEL["mmios"]:
            out.append(
                warning(
                    "W209", f"{this} is also mapped by {that}: both guests drive it", here, there
                )
            )
        else:
            out.append(error("E209", f"{this} overlaps {that}", here, there))
    return out


RULES = (ram_inside, ram_total, alignment, one_to_one, passthrough_devices, shared_memory)
