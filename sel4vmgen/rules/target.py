"""What the target cannot mean: values every field allows on its own, but seL4 and camkes-vm do not.

- E243 the same IRQ twice in one VM (its IRQ handler cap can be made once);
- E244 a platform listed twice (the second build would overwrite the first);
- E245 a dataport size that is not a whole number of 4 KiB pages (a CAmkES
  dataport is mapped in frames);
- E246 a size the target cannot hold: on a 32-bit seL4 (ia32, aarch32) the
  VMM is a 32-bit process, so its heap, dataports and virtqueues, and the
  guest's RAM, stay below 4 GiB; on a 64-bit one the heap stays inside the
  user half of the address space (47 bits on x86_64, 48 on aarch64).  x86
  guest RAM goes to camkes-vm as `attribute int guest_ram_mb`
  (components/VM/configurations/vm.h), a C int;
- E248 an x86 VM with more cross-VM events than dataports.
"""

from __future__ import annotations

from collections.abc import Iterator

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.model.system import CrossVm, VirtioNet
from sel4vmgen.rules.context import Ctx, error, line_of
from sel4vmgen.text import shown_size
from sel4vmgen.units import PAGE

C_INT_MAX = (1 << 31) - 1
ADDRESS_BITS = {"ia32": 32, "aarch32": 32, "x86_64": 47, "aarch64": 48}


def irqs_twice_in_a_vm(ctx: Ctx) -> list[Diagnostic]:
    """E243: one VM names one IRQ (or IOAPIC pin) twice."""
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        pt = vm.passthrough
        if pt is None:
            continue
        lists = (
            ("irqs", "IRQ", [(k, (k,), irq) for k, irq in enumerate(pt.irqs)]),
            (
                "x86_irqs",
                "IOAPIC pin",
                [(k, (k, "source"), x.source) for k, x in enumerate(pt.x86_irqs)],
            ),
        )
        for field, what, items in lists:
            first: dict[int, Span] = {}
            for _k, sub, irq in items:
                at = ctx.at(i, "passthrough", field, *sub)
                if irq in first:
                    out.append(
                        error(
                            "E243",
                            f"{vm.name} names {what} {irq} twice {line_of(first[irq], at)}",
                            at,
                            first[irq],
                            hint="remove one of them",
                        )
                    )
                else:
                    first[irq] = at
    return out


def platform_twice(ctx: Ctx) -> list[Diagnostic]:
    """E244: a platform listed twice."""
    if isinstance(ctx.system.platform, str):
        return []
    out: list[Diagnostic] = []
    first: dict[str, Span] = {}
    for k, name in enumerate(ctx.system.platform):
        at = ctx.span("platform", k)
        if name in first:
            out.append(
                error(
                    "E244",
                    f"platform {name} is listed twice {line_of(first[name], at)}",
                    at,
                    first[name],
                )
            )
        else:
            first[name] = at
    return out


def _dataports(ctx: Ctx) -> Iterator[tuple[str, int, Span]]:
    for c, conn in enumerate(ctx.system.connections):
        if isinstance(conn, CrossVm):
            for d, port in enumerate(conn.dataports):
                at = ctx.span("connections", c, "dataports", d, "size")
                yield f"dataport {port.name}", port.size, at
        elif isinstance(conn, VirtioNet) and conn.queue_size is not None:
            yield "virtio_net queue_size", conn.queue_size, ctx.span("connections", c, "queue_size")


def dataport_pages(ctx: Ctx) -> list[Diagnostic]:
    """E245 a dataport (or virtqueue) not a whole number of pages; E246 one too large."""
    out: list[Diagnostic] = []
    bits = ADDRESS_BITS[ctx.system.sel4_arch]
    for what, size, at in _dataports(ctx):
        if size % PAGE:
            out.append(
                error(
                    "E245",
                    f"{what} size {shown_size(size)} is not a whole number of 4 KiB pages",
                    at,
                    hint=f"use {shown_size((size // PAGE + 1) * PAGE)}",
                )
            )
        if size >= 1 << bits:
            out.append(_too_large(what, size, bits, ctx.system.sel4_arch, at))
    return out


def _too_large(what: str, size: int, bits: int, arch: str, at: Span) -> Diagnostic:
    return error(
        "E246",
        f"{what} {shown_size(size)} does not fit the {bits}-bit address space of a VMM "
        f"on sel4_arch {arch}",
        at,
    )


def sizes_the_target_holds(ctx: Ctx) -> list[Diagnostic]:
    """E246: a VMM heap or guest RAM larger than the architecture or camkes-vm can hold."""
    out: list[Diagnostic] = []
    arch = ctx.system.sel4_arch
    bits = ADDRESS_BITS[arch]
    for i, vm in ctx.vm_indices():
        heap = vm.vmm.heap_size if vm.vmm is not None else None
        if heap is not None and heap >= 1 << bits:
            out.append(
                _too_large(f"{vm.name} heap_size", heap, bits, arch, ctx.at(i, "vmm", "heap_size"))
            )
        if vm.ram is None:
            continue
        at = ctx.at(i, "ram", "size")
        if bits == 32 and vm.ram.size > 1 << 32:
            out.append(
                error(
                    "E246",
                    f"{vm.name} RAM {shown_size(vm.ram.size)} is more than a 32-bit guest on "
                    f"sel4_arch {arch} can address (4 GiB)",
                    at,
                )
            )
        elif ctx.system.arch == "x86" and vm.ram.size >> 20 > C_INT_MAX:
            out.append(
                error(
                    "E246",
                    f"{vm.name} RAM {shown_size(vm.ram.size)} does not fit camkes-vm's "
                    "guest_ram_mb (a C int of MiB)",
                    at,
                )
            )
    return out


def x86_events_with_dataports(ctx: Ctx) -> list[Diagnostic]:
    """E248: on x86 each cross-VM event of a VM travels with one of its dataports (the
    generated app pairs the n-th event with the n-th dataport, as optiplex9020 does), so a
    VM may not have more events than dataports."""
    if ctx.system.arch != "x86":
        return []
    events: dict[str, list[Span]] = {}
    ports: dict[str, int] = {}
    for c, conn in enumerate(ctx.system.connections):
        if isinstance(conn, CrossVm):
            ports[conn.vm] = ports.get(conn.vm, 0) + len(conn.dataports)
            spans = [ctx.span("connections", c, "events", e) for e in range(len(conn.events))]
            events.setdefault(conn.vm, []).extend(spans)
    out: list[Diagnostic] = []
    for vm, spans in events.items():
        n = ports.get(vm, 0)
        if len(spans) > n:
            out.append(
                error(
                    "E248",
                    f"{vm} has {len(spans)} cross-VM event(s) but {n} dataport(s); on x86 each "
                    "event travels with a dataport",
                    spans[n],
                    hint="add a dataport to the connection, or drop the event",
                )
            )
    return out


RULES_ONCE = (platform_twice, dataport_pages, x86_events_with_dataports)
RULES = (irqs_twice_in_a_vm, sizes_the_target_holds)
