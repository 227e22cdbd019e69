"""The system picture: VMs with their threads, native components, connections, devices, IRQs.

Everything drawn is read from the `Plan`; nothing is computed here but labels.
Node IDs are stable and typed (`vm:vm0`, `thread:vm0_vcpu0`, `component:ping`,
`device:vm0:uart`, `irq:33`, `virq:vm0:27`, `fileserver`), so a picture can be
checked against its plan.
"""

from __future__ import annotations

from sel4vmgen.graph.dot import Graph
from sel4vmgen.plan.model import IrqRoute, Plan, Region, Thread, VmPlan

COLOURS = {"vm": "lightblue", "thread": "white", "component": "lightyellow", "device": "wheat"}


def size_text(n: int) -> str:
    """Bytes in the largest exact binary unit: 512 MiB, 4 KiB, 0x1800 B."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n:#x} B"


def vm_id(instance: str) -> str:
    return f"vm:{instance}"


def thread_id(t: Thread) -> str:
    return f"thread:{t.name}"


def component_id(name: str) -> str:
    return f"component:{name}"


def device_id(vm: VmPlan, name: str) -> str:
    return f"device:{vm.instance}:{name}"


def irq_id(route: IrqRoute) -> str:
    return f"irq:{route.source}" if route.source >= 0 else f"virq:{route.vm}:{route.virq}"


def _thread_label(t: Thread) -> str:
    core = "core 0 (default)" if t.core is None else f"core {t.core}"
    return f"{t.name}\n{t.role}, priority {t.priority}, {core}"


def _vm_label(vm: VmPlan) -> str:
    ram = size_text(vm.ram.size)
    where = f" at {vm.ram.guest:#x}" if vm.ram.guest is not None else ""
    vcpus = "1 VCPU" if vm.vcpus == 1 else f"{vm.vcpus} VCPUs"
    return f"{vm.name} ({vm.instance}: {vm.component})\n{vcpus}, RAM {ram}{where}"


def _peer_id(instances: frozenset[str], name: str) -> str:
    """A connection's other end: a VM instance or a native component."""
    return vm_id(name) if name in instances else component_id(name)


def _add_vms(g: Graph, plan: Plan) -> None:
    vm2threads: dict[str, list[Thread]] = {}
    for t in plan.threads:
        if t.vm is not None:
            vm2threads.setdefault(t.vm, []).append(t)
    for vm in plan.vms:
        c = g.cluster(vm.instance, label=f"{vm.instance}", style="rounded", color="grey40")
        c.node(vm_id(vm.instance), label=_vm_label(vm), shape="box3d", fillcolor=COLOURS["vm"])
        for t in vm2threads.get(vm.instance, ()):
            c.node(
                thread_id(t),
                label=_thread_label(t),
                shape="box",
                style="rounded,filled",
                fillcolor=COLOURS["thread"],
            )


def _add_native(g: Graph, plan: Plan) -> None:
    """Threads of no VM (VMM helpers, time server, serial, file server) and components."""
    native = [t for t in plan.threads if t.vm is None]
    names = {c.name for c in plan.components}
    if native:
        c = g.cluster("native", label="native threads", style="dashed", color="grey60")
        for t in native:
            c.node(
                thread_id(t),
                label=_thread_label(t),
                shape="box",
                style="rounded,filled",
                fillcolor=COLOURS["thread"],
            )
    for comp in plan.components:
        prio = f"\npriority {comp.priority}" if comp.priority is not None else ""
        g.node(
            component_id(comp.name),
            label=f"{comp.name}: {comp.type}{prio}",
            shape="component",
            fillcolor=COLOURS["component"],
        )
    instances = frozenset(v.instance for v in plan.vms)
    for peer in _connection_peers(plan):
        if peer not in names and peer not in instances:
            names.add(peer)
            g.node(component_id(peer), label=peer, shape="component", fillcolor="white")


def _connection_peers(plan: Plan) -> list[str]:
    peers: list[str] = []
    for vm in plan.vms:
        peers += [d.peer for d in vm.dataports] + [e.peer for e in vm.events]
    for q in plan.virtqueues:
        peers += [end.vm for end in q.ends]
    return list(dict.fromkeys(peers))


def _add_connections(g: Graph, plan: Plan) -> None:
    instances = frozenset(v.instance for v in plan.vms)
    for vm in plan.vms:
        me = vm_id(vm.instance)
        for d in vm.dataports:
            label = f"dataport {d.name} / {d.peer_name}\n{size_text(d.size)}"
            g.edge(me, _peer_id(instances, d.peer), label=label, dir="both", style="bold")
        for e in vm.events:
            label = f"event {e.name} / {e.peer_name}"
            if e.direction == "to_vm":
                g.edge(_peer_id(instances, e.peer), me, label=label, style="dashed")
            else:
                g.edge(me, _peer_id(instances, e.peer), label=label, style="dashed")
    for q in plan.virtqueues:
        a, b = q.ends
        label = f"virtio-net {q.instance}\n{a.send}/{a.recv} - {b.send}/{b.recv}"
        g.edge(
            _peer_id(instances, a.vm),
            _peer_id(instances, b.vm),
            label=label,
            dir="both",
            color="blue",
        )


def _add_file_server(g: Graph, plan: Plan) -> None:
    if not plan.file_server:
        return
    g.node("fileserver", label=f"file server\n{len(plan.file_server)} images", shape="folder")
    for vm in plan.vms:
        names = [i.fs_name for i in plan.file_server if i.vm in (None, vm.instance)]
        if names:
            g.edge("fileserver", vm_id(vm.instance), label="\n".join(names), style="dotted")


def ram_backing(vm: VmPlan, r: Region) -> bool:
    """Whether `r` is one of the untyped chunks that back the guest's RAM (not a device)."""
    ram = vm.ram
    if r.kind != "untyped_mmio" or ram.paddr is None or r.paddr is None:
        return False
    return ram.paddr <= r.paddr and r.paddr + r.size <= ram.paddr + ram.size


def _passthrough(vm: VmPlan) -> list[tuple[str, str]]:
    """(key, label) of every device given to the VM, in plan order; keys are unique."""
    found: list[tuple[str, str, str]] = []  # (name, label, where it is, to tell twins apart)
    for r in (*vm.mmios, *vm.untyped_mmios):
        if not ram_backing(vm, r):
            at = f"{r.paddr:#x}" if r.paddr is not None else f"guest {r.guest or 0:#x}"
            found.append((r.name, f"{r.name}\n{_window(r)}", at))
    found += [(path, f"dtb {path}", "") for path in vm.dtb_nodes]
    found += [(f"compatible {c}", f"dtb compatible {c}", "") for c in vm.dtb_compatibles]
    for p in vm.pci_devices:
        found.append((p.name, f"{p.name}\nPCI {p.bus:02x}:{p.dev:02x}.{p.fun}", ""))
    for io in vm.ioports:
        found.append((io.name, f"{io.name}\nIO ports {io.start:#x}-{io.end:#x}", ""))
    out: list[tuple[str, str]] = []
    keys: set[str] = set()
    for name, label, at in found:
        key = name if name not in keys else f"{name}@{at}"
        if key not in keys:
            keys.add(key)
            out.append((key, label))
    return out


def _window(r: Region) -> str:
    at = f"{r.paddr:#x}" if r.paddr is not None else f"guest {r.guest or 0:#x}"
    return f"{r.kind} {at}, {size_text(r.size)}"


def _add_devices(g: Graph, plan: Plan) -> None:
    for vm in plan.vms:
        for name, label in _passthrough(vm):
            node = device_id(vm, name)
            g.node(node, label=label, shape="note", fillcolor=COLOURS["device"])
            g.edge(node, vm_id(vm.instance), label="passthrough", style="dashed")


def _add_irqs(g: Graph, plan: Plan) -> None:
    seen: set[str] = set()
    for r in plan.irq_routes:
        node = irq_id(r)
        if node not in seen:
            seen.add(node)
            if r.source >= 0:
                g.node(node, label=f"IRQ {r.source}", shape="circle", fillcolor="mistyrose")
            else:
                g.node(node, label=f"{r.kind}\n(virtual)", shape="circle", style="dashed")
        name = f" {r.name}" if r.name and r.name != r.kind else ""
        label = f"{r.kind}{name}: vIRQ {r.virq}, {r.trigger}"
        g.edge(node, vm_id(r.vm), label=label, color="red3")


def system_graph(plan: Plan) -> Graph:
    """The whole system as a `Graph`."""
    # x86 plans carry -DPLATFORM=ia32/x86_64; the platform's own name is KernelPlatform.
    platform = plan.kernel_platform if plan.platform == plan.sel4_arch else plan.platform
    title = (
        f"{plan.system}: {platform} ({plan.sel4_arch}), "
        f"{plan.num_nodes} core{'s' if plan.num_nodes != 1 else ''}"
    )
    g = Graph(
        plan.system,
        attrs={"label": title, "labelloc": "t", "rankdir": "LR", "fontname": "Helvetica"},
        node_defaults={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
        edge_defaults={"fontname": "Helvetica", "fontsize": "9"},
    )
    _add_vms(g, plan)
    _add_native(g, plan)
    _add_file_server(g, plan)
    _add_connections(g, plan)
    _add_devices(g, plan)
    _add_irqs(g, plan)
    return g
