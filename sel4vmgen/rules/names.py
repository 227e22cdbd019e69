"""Name rules: VM, component, dataport and event names unique, and clear of generated names.

The model already checks each name is a C identifier.  Here: no two VMs or
components share a name; a component (a CAmkES instance) does not take the
name of an instance the generated assembly declares -- `vm<n>` for VM n, the
fixed camkes-vm instances, or a `<a>_<b>` virtqueue instance; a VM named
`vm<k>` is the k-th VM, since `vm<k>` is the instance name of VM k; and the
dataports and events of one VM (or one component) have different names.
"""

from __future__ import annotations

import re

from sel4vmgen.defaults import DTB_NAME, INITRD_NAME, KERNEL_NAME, written_dtb_name
from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.model.system import CrossVm, VirtioNet, Vm
from sel4vmgen.rules.context import Ctx, error, line_of

# VM_COMPOSITION_DEF (camkes-vm components/VM/configurations/vm.h) declares these on x86;
# VM_GENERAL_COMPOSITION_DEF (components/VM_Arm/configurations/vm.h) declares fserv on ARM.
FIXED_INSTANCES = {
    "x86": ("fserv", "serial", "time_server", "pci_config", "rtc"),
    "arm": ("fserv",),
}
# The component types those macros instantiate (x86 also `Init<n>`, one per VM, VM_INIT_DEF).
FIXED_TYPES = {
    "x86": ("FileServer", "SerialServer", "PCIConfigIO", "TimeServer", "RTC"),
    "arm": ("FileServer", "VM"),
}
_VM_INSTANCE = re.compile(r"^vm(0|[1-9][0-9]*)$")
_INIT_TYPE = re.compile(r"^Init(0|[1-9][0-9]*)$")


def unique_names(ctx: Ctx) -> list[Diagnostic]:
    """E201: two VMs, two components, or a VM and a component with one name."""
    seen: dict[str, tuple[str, Span]] = {}
    out: list[Diagnostic] = []
    named = [("VM", ("vms", i), vm.name) for i, vm in enumerate(ctx.system.vms)]
    named += [("component", ("components", i), c.name) for i, c in enumerate(ctx.system.components)]
    for kind, path, name in named:
        span = ctx.span(*path, "name")
        first = seen.get(name)
        if first is None:
            seen[name] = (kind, span)
            continue
        out.append(
            error(
                "E201",
                f"{kind} name '{name}' is already used by a {first[0]} {line_of(first[1], span)}",
                span,
                first[1],
            )
        )
    return out


def generated_names(ctx: Ctx) -> list[Diagnostic]:
    """E202: names that collide with the instances the generated assembly declares."""
    out: list[Diagnostic] = []
    count = len(ctx.system.vms)
    for i, vm in enumerate(ctx.system.vms):
        m = _VM_INSTANCE.match(vm.name)
        if m and int(m.group(1)) != i and int(m.group(1)) < count:
            k = int(m.group(1))
            out.append(
                error(
                    "E202",
                    f"VM {i} is named '{vm.name}', the CAmkES instance name of VM {k} "
                    f"'{ctx.system.vms[k].name}' {line_of(ctx.span('vms', k, 'name'), ctx.span('vms', i, 'name'))}",
                    ctx.span("vms", i, "name"),
                    ctx.span("vms", k, "name"),
                    hint=f"name VM {i} 'vm{i}', or put the VMs in the order of their names",
                )
            )
    reserved = _reserved_instances(ctx)
    vm_names = {vm.name for vm in ctx.system.vms}
    for i, comp in enumerate(ctx.system.components):
        why = reserved.get(comp.name)
        if why is None or comp.name in vm_names:  # E201 says that one
            continue
        here = ctx.span("components", i, "name")
        where = f" {line_of(why[1], here)}" if why[1] else ""
        out.append(
            error("E202", f"component name '{comp.name}' is taken by {why[0]}{where}", here, why[1])
        )
    return out + _generated_types(ctx)


def _generated_types(ctx: Ctx) -> list[Diagnostic]:
    """E202: a component type that is a camkes-vm component type of the generated app."""
    out: list[Diagnostic] = []
    arch = ctx.system.arch
    for i, comp in enumerate(ctx.system.components):
        m = _INIT_TYPE.match(comp.type)
        if comp.type in FIXED_TYPES[arch]:
            why = "a camkes-vm component type"
        elif arch == "x86" and m and int(m.group(1)) < len(ctx.system.vms):
            why = f"the VMM component type of VM {m.group(1)}"
        else:
            continue
        out.append(
            error(
                "E202", f"component type '{comp.type}' is {why}", ctx.span("components", i, "type")
            )
        )
    return out


def _reserved_instances(ctx: Ctx) -> dict[str, tuple[str, Span | None]]:
    """Instance name -> (what declares it, where in the file if anywhere)."""
    out: dict[str, tuple[str, Span | None]] = {}
    for name in FIXED_INSTANCES.get(ctx.system.arch, ()):
        out[name] = ("a fixed camkes-vm instance", None)
    for i in range(len(ctx.system.vms)):
        span = ctx.span("vms", i, "name")
        out[f"vm{i}"] = (f"the CAmkES instance of VM {i}", span)
    for j, conn in enumerate(ctx.system.connections):
        if isinstance(conn, VirtioNet):
            name = f"{conn.between[0]}_{conn.between[1]}"
            span = ctx.span("connections", j, "between")
            out.setdefault(name, ("the virtqueue instance of the link", span))
    return out


def endpoint_names(ctx: Ctx) -> list[Diagnostic]:
    """E203: a VM (or component) with two dataports/events of one name."""
    out: list[Diagnostic] = []
    vm_side: dict[tuple[str, str], Span] = {}
    comp_side: dict[tuple[str, str], Span] = {}
    for j, conn in enumerate(ctx.system.connections):
        if not isinstance(conn, CrossVm):
            continue
        ends = [("dataports", k, d.name, d.peer) for k, d in enumerate(conn.dataports)]
        ends += [("events", k, e.name, e.peer) for k, e in enumerate(conn.events)]
        for group, k, name, peer in ends:
            here = ("connections", j, group, k)
            out += _claim(ctx, vm_side, (conn.vm, name), ctx.span(*here, "name"), conn.vm)
            out += _claim(
                ctx, comp_side, (conn.component, peer), ctx.span(*here, "peer"), conn.component
            )
    return out


def _claim(
    ctx: Ctx, taken: dict[tuple[str, str], Span], key: tuple[str, str], span: Span, owner: str
) -> list[Diagnostic]:
    first = taken.get(key)
    if first is None:
        taken[key] = span
        return []
    return [
        error(
            "E203",
            f"'{owner}' already has a dataport or event named '{key[1]}' {line_of(first, span)}",
            span,
            first,
        )
    ]


# (role, file-server name, file, written by sel4vmgen, where the name comes from)
_Served = tuple[str, str, str, bool, Span]


def _served(ctx: Ctx, i: int, vm: Vm, arch: str) -> list[_Served]:
    """The images VM `i` puts in the CAmkES file server, named as resolve names them."""

    def where(role: str, named: bool) -> Span:
        return ctx.at(i, role, "name" if named else "image")

    k = vm.kernel
    out = [("kernel", k.name or KERNEL_NAME[arch], k.image, False, where("kernel", bool(k.name)))]
    if vm.initrd is not None:
        r = vm.initrd
        name = r.name or INITRD_NAME[arch]
        out.append(("initrd", name, r.image, False, where("initrd", bool(r.name))))
    d = vm.dtb
    if arch == "arm" and d is not None and d.file is not None:
        named = d.base_name is not None
        span = ctx.at(i, "dtb", "base_name" if named else "file")
        out.append(("dtb", d.base_name or DTB_NAME, d.file, False, span))
    elif arch == "arm" and d is not None and d.mode == "provide":
        inst = f"vm{i}"
        out.append(
            ("dtb", written_dtb_name(inst, len(ctx.vms)), f"{inst}.dts", True, ctx.at(i, "dtb"))
        )
    return out


def file_server_names(ctx: Ctx) -> list[Diagnostic]:
    """E281: one file-server name for two different files (the file server holds one file a
    name; VMs that load the same file under one name share it)."""
    p = ctx.platform
    if p is None or p.framework != "camkes":
        return []
    first: dict[str, tuple[str, str, bool, str]] = {}
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        for role, name, source, ours, span in _served(ctx, i, vm, p.arch):
            seen = first.setdefault(name, (role, source, ours, vm.name))
            if seen[:3] != (role, source, ours):
                out.append(
                    error(
                        "E281",
                        f"file-server name '{name}' is used for {seen[1]} ({seen[3]}) and "
                        f"{source} ({vm.name})",
                        span,
                        hint="give one of them another `name`",
                    )
                )
    return out


RULES = (unique_names, generated_names, endpoint_names)
RULES_PER_PLATFORM = (file_server_names,)
