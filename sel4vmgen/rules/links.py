"""Connection rules, and warnings for what is declared but never used.

Errors: a connection that names a VM or component the system does not have
(E228), a virtio-net link from a VM to itself (E229), the same link twice
(E230).  Warnings: a native component no connection uses (W202), a
`per_platform` patch for a platform the system does not name (W203), a field
that has no effect given another (W205), `virtio.net` on a VM no virtio_net
link names (W206), a cross-VM connection with no dataports and no events (W207).
A VM's RAM shared with a component (`guest_ram`) is refused on x86 (E252) and when two
connections share the same VM's RAM (E253).
"""

from __future__ import annotations

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.model.system import CrossVm, VirtioNet
from sel4vmgen.rules.arch import on_microkit
from sel4vmgen.rules.context import Ctx, error, line_of, warning
from sel4vmgen.text import did_you_mean


def peers_exist(ctx: Ctx) -> list[Diagnostic]:
    """E228: every name a connection uses is a VM (or, where allowed, a component)."""
    vms = [vm.name for vm in ctx.system.vms]
    comps = [c.name for c in ctx.system.components]
    vm_set, comp_set = set(vms), set(comps)
    both = vm_set | comp_set
    out: list[Diagnostic] = []
    for j, conn in enumerate(ctx.system.connections):
        checks: list[tuple[str, tuple[str | int, ...], list[str], str]]
        if isinstance(conn, CrossVm):
            checks = [
                (conn.vm, ("vm",), vms, "VM"),
                (conn.component, ("component",), comps, "component"),
            ]
        else:
            checks = [
                (name, ("between", k), vms + comps, "VM or component")
                for k, name in enumerate(conn.between)
            ]
        for name, sub, options, kind in checks:
            if name not in (vm_set if kind == "VM" else comp_set if kind == "component" else both):
                out.append(
                    error(
                        "E228",
                        f"connection {j} names {kind} '{name}', which the system does not have",
                        ctx.span("connections", j, *sub),
                        hint=did_you_mean(name, options),
                    )
                )
    return out


def links(ctx: Ctx) -> list[Diagnostic]:
    """E229 a virtio-net link to itself or between two components; E230 the same link twice."""
    out: list[Diagnostic] = []
    seen: dict[tuple[str, ...], Span] = {}
    comps = {c.name for c in ctx.system.components}
    for j, conn in enumerate(ctx.system.connections):
        where = ctx.span("connections", j, "type")
        if isinstance(conn, VirtioNet):
            a, b = conn.between
            wrong = f"from {a} to itself" if a == b else ""
            if a in comps and b in comps and not wrong:
                wrong = f"between components {a} and {b}: one end must be a VM"
            if wrong:
                out.append(
                    error("E229", f"virtio_net link {wrong}", ctx.span("connections", j, "between"))
                )
                continue
            key: tuple[str, ...] = ("virtio_net", *sorted((a, b)))
            what = f"virtio_net link between {a} and {b}"
        else:
            key = ("cross_vm", conn.vm, conn.component)
            what = f"cross_vm connection between {conn.vm} and {conn.component}"
        first = seen.setdefault(key, where)
        if first is not where:
            out.append(
                error(
                    "E230",
                    f"{what} is already declared {line_of(first)}",
                    where,
                    first,
                    hint="merge the two into one connection",
                )
            )
    return out


def unused_components(ctx: Ctx) -> list[Diagnostic]:
    """W202: a native component that no connection uses."""
    used: set[str] = set()
    for conn in ctx.system.connections:
        used.update((conn.component,) if isinstance(conn, CrossVm) else conn.between)
    return [
        warning(
            "W202",
            f"component {c.name} is not used by any connection",
            ctx.span("components", k, "name"),
        )
        for k, c in enumerate(ctx.system.components)
        if c.name not in used
    ]


def unused_patches(ctx: Ctx) -> list[Diagnostic]:
    """W203: a `per_platform` patch for a platform the system does not name."""
    named = set(ctx.system.platforms)
    out: list[Diagnostic] = []
    for i, vm in enumerate(ctx.system.vms):
        for plat in vm.per_platform:
            if plat not in named:
                out.append(
                    warning(
                        "W203",
                        f"{vm.name} has a per_platform patch for {plat}, which the system "
                        f"does not name (platforms: {', '.join(ctx.system.platforms)})",
                        ctx.key_span("vms", i, "per_platform", plat),
                        ctx.span("platform"),
                    )
                )
    return out


def empty_cross_vm(ctx: Ctx) -> list[Diagnostic]:
    """W207: a cross-VM connection that shares nothing."""
    return [
        warning(
            "W207",
            f"cross_vm connection between {c.vm} and {c.component} has no dataports and no events",
            ctx.span("connections", j, "type"),
        )
        for j, c in enumerate(ctx.system.connections)
        if isinstance(c, CrossVm) and not c.dataports and not c.events and c.guest_ram is None
    ]


def virtio_net_unlinked(ctx: Ctx) -> list[Diagnostic]:
    """W206: `virtio.net` on a VM that no virtio_net link names (on a CAmkES platform: on a
    Microkit board the device is served by sDDF's network subsystem)."""
    if on_microkit(ctx.platform):
        return []
    linked = ctx.virtio_linked
    return [
        warning(
            "W206",
            f"{vm.name} enables virtio.net but no virtio_net connection names it; only the "
            "VMM's own responder (VmVirtioNetArping) will answer it",
            ctx.at(i, "virtio", "net"),
        )
        for i, vm in ctx.vm_indices()
        if vm.virtio is not None and vm.virtio.net and vm.name not in linked
    ]


def ignored_fields(ctx: Ctx) -> list[Diagnostic]:
    """W205: fields that have no effect because of another field."""
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        dtb = vm.dtb
        if dtb is not None and dtb.mode == "generate" and dtb.file and not dtb.base_name:
            out.append(
                warning(
                    "W205",
                    f"{vm.name} dtb.file is not used: dtb.mode is generate and no dtb.base_name "
                    "names it as the base of the generated DTB",
                    ctx.at(i, "dtb", "file"),
                    hint="set dtb.mode: provide, or dtb.base_name",
                )
            )
        if dtb is not None and dtb.mode == "provide" and dtb.base_name is not None:
            out.append(
                warning(
                    "W205",
                    f"{vm.name} dtb.base_name is not used: it is the base of a generated DTB, "
                    "and dtb.mode is provide",
                    ctx.at(i, "dtb", "base_name"),
                )
            )
        vmm = vm.vmm
        if vmm is not None and vmm.allowed_smc_functions and not vmm.allow_smc:
            out.append(
                warning(
                    "W205",
                    f"{vm.name} vmm.allowed_smc_functions is not used: vmm.allow_smc is false",
                    ctx.at(i, "vmm", "allowed_smc_functions"),
                    hint="set vmm.allow_smc: true",
                )
            )
    return out


def shared_guest_ram(ctx: Ctx) -> list[Diagnostic]:
    """E252: `guest_ram` on x86, whose VMM allocates guest RAM itself; E253: a VM whose RAM
    two connections share (the VMM builds the RAM from one dataport)."""
    out: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for j, conn in enumerate(ctx.system.connections):
        if not isinstance(conn, CrossVm) or conn.guest_ram is None:
            continue
        where = ctx.key_span("connections", j, "guest_ram")
        if ctx.system.arch == "x86":
            out.append(
                error(
                    "E252",
                    f"{conn.vm}'s RAM cannot be shared with {conn.component} on x86: the x86 "
                    "VMM allocates guest RAM itself",
                    where,
                    hint="share a dataport of its own instead (dataports:)",
                )
            )
        elif conn.vm in seen:
            other = ctx.key_span("connections", seen[conn.vm], "guest_ram")
            out.append(
                error(
                    "E253",
                    f"{conn.vm}'s RAM is shared by two connections {line_of(other, where)}",
                    where,
                    other,
                    hint="share it with one component",
                )
            )
        seen.setdefault(conn.vm, j)
    return out


RULES_ONCE = (
    peers_exist,
    links,
    unused_components,
    unused_patches,
    empty_cross_vm,
    shared_guest_ram,
)
RULES = (virtio_net_unlinked, ignored_fields)
