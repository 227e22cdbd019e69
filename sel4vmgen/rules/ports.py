"""x86 passthrough rules: IO port ranges and PCI functions belong to one holder.

IO port ranges (`vm_ioports`) of two VMs may not overlap, nor cover the ports
the fixed camkes-vm components hold (serial COM1, the PIT of time_server, the
CMOS of rtc, pci_config: the platform's `x86.reserved_ioports`).  A PCI
function (bus:dev.fun) is passed to one VM only.
"""

from __future__ import annotations

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.rules.context import Ctx, error, line_of
from sel4vmgen.rules.intervals import Interval, overlaps


def _ports(start: int, end: int) -> str:
    return f"0x{start:x}-0x{end:x}"


def ioports(ctx: Ctx) -> list[Diagnostic]:
    """E235: IO port ranges that are empty, shared by two VMs, or held by a fixed component."""
    if ctx.system.arch != "x86":
        return []
    out: list[Diagnostic] = []
    held: list[Interval[tuple[str, Span]]] = []
    reserved = ctx.platform.x86.reserved_ioports if ctx.platform and ctx.platform.x86 else ()
    for i, vm in ctx.vm_indices():
        for k, io in enumerate(vm.passthrough.ioports if vm.passthrough else ()):
            where = ctx.at(i, "passthrough", "ioports", k)
            shown = f"{vm.name} IO ports {io.name} {_ports(io.start, io.end)}"
            if io.end < io.start:
                out.append(error("E235", f"{shown}: the end is below the start", where))
                continue
            held.append(Interval(io.start, io.end - io.start + 1, i, (shown, where)))
            for start, end, holder in reserved:
                if io.start <= end and start <= io.end:
                    out.append(
                        error("E235", f"{shown} overlaps {_ports(start, end)} of {holder}", where)
                    )
    for later, earlier in overlaps(held):
        out.append(
            error(
                "E235",
                f"{later.info[0]} overlaps {earlier.info[0]} {line_of(earlier.info[1], later.info[1])}",
                later.info[1],
                earlier.info[1],
            )
        )
    return out


def pci_functions(ctx: Ctx) -> list[Diagnostic]:
    """E236: one PCI function passed to two VMs (or twice to one)."""
    seen: dict[tuple[int, int, int], tuple[str, Span]] = {}
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        for k, dev in enumerate(vm.passthrough.pci if vm.passthrough else ()):
            where = ctx.at(i, "passthrough", "pci", k)
            bdf = (dev.bus, dev.dev, dev.fun)
            first = seen.setdefault(bdf, (vm.name, where))
            if first[1] is where:
                continue
            out.append(
                error(
                    "E236",
                    f"{vm.name} PCI device {dev.name} {dev.bus:02x}:{dev.dev:02x}.{dev.fun} is "
                    f"already given to {first[0]} {line_of(first[1], where)}",
                    where,
                    first[1],
                )
            )
    return out


RULES = (ioports, pci_functions)
