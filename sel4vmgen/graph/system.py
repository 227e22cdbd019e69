"""The system picture: each VM's cluster with its threads, devices and IRQs; components,
connections and the file server around them; a legend of what the shapes and lines mean.

Everything drawn is read from the `Plan`; nothing is computed here but labels.
Node IDs are stable and typed (`vm:vm0`, `thread:vm0_vcpu0`, `component:ping`,
`device:vm0:uart`, `irq:33`, `virq:vm0:27`, `fileserver`, `legend`), so a picture can be
checked against its plan.

What belongs to one VM is drawn inside that VM's cluster: its threads, the devices passed
through to it and the interrupts it receives (a physical IRQ routed to one VM, and every
virtual one: the virtual timer is per VCPU, so IRQ 27 is one node per VM).  A device that
raises a routed IRQ is joined to that IRQ, so neither label repeats the other's name.
Words every node or edge of a kind would repeat ("passthrough", "core 0 (default)") are
said once, in the legend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sel4vmgen.graph.dot import Cluster, Graph, Html, esc
from sel4vmgen.plan.model import IrqRoute, Plan, Region, Thread, VmPlan

COLOURS = {
    "vm": "lightblue",
    "thread": "white",
    "component": "lightyellow",
    "device": "wheat",
    "irq": "mistyrose",
    "virq": "white",
    "fileserver": "lightgrey",
}
IRQ_COLOUR = "red3"
VIRTIO_NET_COLOUR = "blue"


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
    """`irq:<n>` for a physical IRQ given to one VM; `virq:<vm>:<n>` for a virtual one
    (the virtual timer is a per-VCPU interrupt even though it has a GIC number)."""
    if route.source >= 0 and route.kind != "vtimer":
        return f"irq:{route.source}"
    return f"virq:{route.vm}:{route.virq}"


@dataclass
class Legend:
    """Which kinds of node and line the picture uses, so the legend lists only those."""

    nodes: set[str] = field(default_factory=set)
    lines: set[str] = field(default_factory=set)
    default_core: bool = False


def _thread_label(t: Thread, multicore: bool) -> str:
    """The thread's name (without its VM's prefix inside that VM), its role when the name
    does not say it, its priority, and its core when fixed on a multi-core system."""
    name = t.name
    if t.vm is not None:
        name = t.role if name == t.vm else name.removeprefix(f"{t.vm}_")
    role = "" if t.role in name else f"{t.role}, "
    core = f", core {t.core}" if multicore and t.core is not None else ""
    return f"{name}\n{role}priority {t.priority}{core}"


def _vm_title(vm: VmPlan) -> str:
    return vm.name if vm.name == vm.instance else f"{vm.name} ({vm.instance})"


def _vm_label(vm: VmPlan) -> str:
    ram = size_text(vm.ram.size)
    where = f" at {vm.ram.guest:#x}" if vm.ram.guest is not None else ""
    vcpus = "1 VCPU" if vm.vcpus == 1 else f"{vm.vcpus} VCPUs"
    return f"{vm.component} component\n{vcpus}, RAM {ram}{where}"


def _peer_id(instances: frozenset[str], name: str) -> str:
    """A connection's other end: a VM instance or a native component."""
    return vm_id(name) if name in instances else component_id(name)


def ram_backing(vm: VmPlan, r: Region) -> bool:
    """Whether `r` is one of the untyped chunks that back the guest's RAM (not a device)."""
    ram = vm.ram
    if r.kind != "untyped_mmio" or ram.paddr is None or r.paddr is None:
        return False
    return ram.paddr <= r.paddr and r.paddr + r.size <= ram.paddr + ram.size


def _window(r: Region) -> str:
    at = f"{r.paddr:#x}" if r.paddr is not None else f"guest {r.guest or 0:#x}"
    return f"{r.kind} {at}, {size_text(r.size)}"


DTB_NODES_APART = 6  # more device-tree paths than this are listed in one table, not one note each
DTB_TABLE_COLUMNS = 3


def _dtb_table(paths: list[str]) -> Html:
    """The device-tree paths passed to a VM, in rows of DTB_TABLE_COLUMNS."""
    rows = [f'<TR><TD COLSPAN="{DTB_TABLE_COLUMNS}"><B>dtb: {len(paths)} nodes</B></TD></TR>']
    for n in range(0, len(paths), DTB_TABLE_COLUMNS):
        cells = "".join(f'<TD ALIGN="LEFT">{esc(p)}</TD>' for p in paths[n : n + DTB_TABLE_COLUMNS])
        rows.append(f"<TR>{cells}</TR>")
    return Html(
        '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
        + "".join(rows)
        + "</TABLE>"
    )


def _passthrough(vm: VmPlan) -> list[tuple[str, str | Html, tuple[str, ...]]]:
    """(key, label, names) of every device given to the VM, in plan order; keys are unique,
    `names` are what an IRQ route may call the device.  Many device-tree paths are one node
    `dtb`, a table of them."""
    found: list[tuple[str, str | Html, str, tuple[str, ...]]] = []  # name, label, where, names
    for r in (*vm.mmios, *vm.untyped_mmios):
        if not ram_backing(vm, r):
            at = f"{r.paddr:#x}" if r.paddr is not None else f"guest {r.guest or 0:#x}"
            found.append((r.name, f"{r.name}\n{_window(r)}", at, (r.name,)))
    # a device-tree path or compatible listed twice (as some real apps do) is one device
    paths = list(dict.fromkeys(vm.dtb_nodes))
    if len(paths) > DTB_NODES_APART:
        found.append(("dtb", _dtb_table(paths), "", tuple(paths)))
    else:
        found += [(path, f"dtb {path}", "", (path,)) for path in paths]
    compatibles = dict.fromkeys(vm.dtb_compatibles)
    found += [(f"compatible {c}", f"dtb compatible {c}", "", (c,)) for c in compatibles]
    for p in vm.pci_devices:
        pci = f"{p.name}\nPCI {p.bus:02x}:{p.dev:02x}.{p.fun}"
        found.append((p.name, pci, "", (p.name,)))
    for io in vm.ioports:
        found.append((io.name, f"{io.name}\nIO ports {io.start:#x}-{io.end:#x}", "", (io.name,)))
    out: list[tuple[str, str | Html, tuple[str, ...]]] = []
    keys: set[str] = set()
    for name, shown, at, names in found:
        key = name if name not in keys else f"{name}@{at}"
        if key not in keys:
            keys.add(key)
            out.append((key, shown, names))
    return out


def _irq_label(plan: Plan, r: IrqRoute, named: bool) -> str:
    """What the IRQ is, what the guest sees and how it triggers; the device's name only when
    no device node is joined to it."""
    x86 = plan.arch == "x86"
    guest = f"guest IRQ {r.virq}" if x86 else f"vIRQ {r.virq}"
    if r.source < 0 or r.kind == "vtimer":
        what = {"vtimer": "virtual timer", "serial": "serial (COM1)"}.get(r.kind, r.kind)
        return f"{what}\n{guest}, {r.trigger}"
    first = f"IOAPIC {r.ioapic} pin {r.source}" if x86 else f"IRQ {r.source}"
    name = f" {r.name}" if named and r.name and r.name != r.kind else ""
    seen = "" if (r.virq == r.source and not x86) else f"{guest}, "
    polarity = ", active low" if r.active_low else ""
    return f"{first}{name}\n{seen}{r.trigger}{polarity}"


def _irq_node(place: Graph | Cluster, node: str, label: str, virtual: bool) -> None:
    if virtual:
        place.node(
            node, label=label, shape="ellipse", style="dashed,filled", fillcolor=COLOURS["virq"]
        )
    else:
        place.node(node, label=label, shape="ellipse", fillcolor=COLOURS["irq"])


@dataclass(frozen=True)
class VmParts:
    """What is drawn inside one VM's cluster besides its devices."""

    threads: list[Thread]
    routes: list[IrqRoute]


def _add_vm(
    g: Graph, plan: Plan, vm: VmPlan, parts: VmParts, shared: frozenset[str], key: Legend
) -> None:
    c = g.cluster(vm.instance, label=_vm_title(vm), style="rounded", color="grey40")
    c.node(vm_id(vm.instance), label=_vm_label(vm), shape="box3d", fillcolor=COLOURS["vm"])
    key.nodes.add("vm")
    multicore = plan.num_nodes > 1
    for t in parts.threads:
        c.node(
            thread_id(t),
            label=_thread_label(t, multicore),
            shape="box",
            style="rounded,filled",
            fillcolor=COLOURS["thread"],
        )
        key.nodes.add("thread")
        key.default_core |= multicore and t.core is None
    by_name: dict[str, str] = {}
    for name, label, names in _passthrough(vm):
        node = device_id(vm, name)
        c.node(node, label=label, shape="note", fillcolor=COLOURS["device"])
        g.edge(node, vm_id(vm.instance), style="dashed")
        key.nodes.add("device")
        key.lines.add("passthrough")
        for n in names:
            by_name.setdefault(n, node)
    for r in parts.routes:
        node = irq_id(r)
        device = by_name.get(r.name) if r.source >= 0 else None
        virtual = r.source < 0 or r.kind == "vtimer"
        if node not in shared:
            _irq_node(c, node, _irq_label(plan, r, device is None), virtual)
            key.nodes.add("virq" if virtual else "irq")
        if device is not None:
            g.edge(device, node, color=IRQ_COLOUR, style="dashed", arrowhead="none")
            key.lines.add("raised")
        g.edge(node, vm_id(vm.instance), color=IRQ_COLOUR)
        key.lines.add("irq")


def _add_vms(g: Graph, plan: Plan, key: Legend) -> None:
    parts = {vm.instance: VmParts([], []) for vm in plan.vms}
    for t in plan.threads:
        if t.vm in parts:
            parts[t.vm].threads.append(t)
    owners: dict[str, list[str]] = {}
    for r in plan.irq_routes:
        if r.vm in parts:
            parts[r.vm].routes.append(r)
        vms = owners.setdefault(irq_id(r), [])
        if r.vm not in vms:
            vms.append(r.vm)
    shared = frozenset(n for n, vms in owners.items() if len(vms) > 1)
    for vm in plan.vms:
        _add_vm(g, plan, vm, parts[vm.instance], shared, key)
    for node in sorted(shared):
        source = node.removeprefix("irq:")
        label = f"IRQ {source}\nrouted to {', '.join(owners[node])}"
        g.node(node, label=label, shape="ellipse", fillcolor=COLOURS["irq"], color="red")
        key.nodes.add("irq")


def _add_native(g: Graph, plan: Plan, key: Legend) -> None:
    """Threads of no VM (VMM helpers, time server, serial, file server) and components."""
    native = [t for t in plan.threads if t.vm is None]
    names = {c.name for c in plan.components}
    multicore = plan.num_nodes > 1
    if native:
        c = g.cluster("native", label="native threads", style="dashed", color="grey60")
        for t in native:
            c.node(
                thread_id(t),
                label=_thread_label(t, multicore),
                shape="box",
                style="rounded,filled",
                fillcolor=COLOURS["thread"],
            )
            key.nodes.add("thread")
            key.default_core |= multicore and t.core is None
    for comp in plan.components:
        prio = f"\npriority {comp.priority}" if comp.priority is not None else ""
        g.node(
            component_id(comp.name),
            label=f"{comp.name}: {comp.type}{prio}",
            shape="component",
            fillcolor=COLOURS["component"],
        )
        key.nodes.add("component")
    instances = frozenset(v.instance for v in plan.vms)
    for peer in _connection_peers(plan):
        if peer not in names and peer not in instances:
            names.add(peer)
            g.node(component_id(peer), label=peer, shape="component", fillcolor="white")
            key.nodes.add("component")


def _connection_peers(plan: Plan) -> list[str]:
    peers: list[str] = []
    for vm in plan.vms:
        peers += [d.peer for d in vm.dataports] + [e.peer for e in vm.events]
    for q in plan.virtqueues:
        peers += [end.vm for end in q.ends]
    return list(dict.fromkeys(peers))


def _add_connections(g: Graph, plan: Plan, key: Legend) -> None:
    instances = frozenset(v.instance for v in plan.vms)
    for vm in plan.vms:
        me = vm_id(vm.instance)
        for d in vm.dataports:
            label = f"dataport {d.name} / {d.peer_name}\n{size_text(d.size)}"
            g.edge(me, _peer_id(instances, d.peer), label=label, dir="both", style="bold")
            key.lines.add("dataport")
        for e in vm.events:
            label = f"event {e.name} / {e.peer_name}"
            if e.direction == "to_vm":
                g.edge(_peer_id(instances, e.peer), me, label=label, style="dotted")
            else:
                g.edge(me, _peer_id(instances, e.peer), label=label, style="dotted")
            key.lines.add("event")
    for q in plan.virtqueues:
        a, b = q.ends
        label = f"virtio-net {q.instance}\n{a.send}/{a.recv} - {b.send}/{b.recv}"
        g.edge(
            _peer_id(instances, a.vm),
            _peer_id(instances, b.vm),
            label=label,
            dir="both",
            color=VIRTIO_NET_COLOUR,
        )
        key.lines.add("virtio-net")


def _loaders(plan: Plan) -> dict[str, list[str]]:
    """Each file-server name and the VMs whose kernel, initrd or DTB it is, in VM order."""
    out: dict[str, list[str]] = {}
    for vm in plan.vms:
        for img in (vm.kernel, vm.initrd, vm.dtb):
            if img is not None and vm.instance not in out.setdefault(img.fs_name, []):
                out[img.fs_name].append(vm.instance)
    return out


def _file_server_label(plan: Plan, loaders: dict[str, list[str]]) -> Html:
    """A table: each image once, with its role and the VMs that load it."""
    rows = [
        '<TR><TD COLSPAN="3"><B>file server</B></TD></TR>',
        "<TR><TD><I>image</I></TD><TD><I>role</I></TD><TD><I>loaded by</I></TD></TR>",
    ]
    for img in plan.file_server:
        who = ", ".join(loaders.get(img.fs_name, [img.vm] if img.vm else [])) or "-"
        rows.append(
            f'<TR><TD ALIGN="LEFT">{esc(img.fs_name)}</TD><TD>{esc(img.role)}</TD>'
            f'<TD ALIGN="LEFT">{esc(who)}</TD></TR>'
        )
    return Html(
        '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
        + "".join(rows)
        + "</TABLE>"
    )


def _add_file_server(g: Graph, plan: Plan, key: Legend) -> None:
    if not plan.file_server:
        return
    loaders = _loaders(plan)
    g.node("fileserver", label=_file_server_label(plan, loaders), shape="folder", margin="0.1")
    key.nodes.add("fileserver")
    served = {i.fs_name for i in plan.file_server}
    for vm in plan.vms:
        if any(vm.instance in who for name, who in loaders.items() if name in served):
            g.edge("fileserver", vm_id(vm.instance), style="dashed", color="grey50")
            key.lines.add("images")


# (kind, shape, what it is) in the order the legend lists them
NODE_WORDS = (
    ("vm", "3-D box", "VM: its VMM component, VCPUs and guest RAM"),
    ("thread", "rounded box", "thread: priority (core when fixed)"),
    ("component", "component", "native component"),
    ("device", "note", "device passed through to the VM"),
    ("irq", "ellipse", "physical IRQ routed to the VM"),
    ("virq", "dashed ellipse", "virtual IRQ the VMM raises"),
    ("fileserver", "folder", "file server: the images each VM loads"),
)
LINE_WORDS = (
    ("passthrough", "black", "dashed", "device to the VM it is passed to"),
    ("irq", IRQ_COLOUR, "solid", "IRQ delivered to the VM"),
    ("raised", IRQ_COLOUR, "dashed", "device that raises the IRQ"),
    ("dataport", "black", "bold, both ends", "shared-memory dataport"),
    ("event", "black", "dotted", "event (notification)"),
    ("virtio-net", VIRTIO_NET_COLOUR, "solid, both ends", "virtio-net link"),
    ("images", "grey50", "dashed grey", "boot images the VM loads"),
)


def _legend_label(key: Legend) -> Html:
    rows = ['<TR><TD COLSPAN="2"><B>legend</B></TD></TR>']
    for kind, shape, words in NODE_WORDS:
        if kind in key.nodes:
            rows.append(
                f'<TR><TD BGCOLOR="{COLOURS[kind]}">{esc(shape)}</TD>'
                f'<TD ALIGN="LEFT">{esc(words)}</TD></TR>'
            )
    for kind, colour, style, words in LINE_WORDS:
        if kind in key.lines:
            rows.append(
                f'<TR><TD><FONT COLOR="{colour}">{esc(style)}</FONT></TD>'
                f'<TD ALIGN="LEFT">{esc(words)}</TD></TR>'
            )
    if key.default_core:
        rows.append('<TR><TD COLSPAN="2">threads showing no core run on core 0</TD></TR>')
    return Html(
        '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
        + "".join(rows)
        + "</TABLE>"
    )


def system_graph(plan: Plan) -> Graph:
    """The whole system as a `Graph`, its legend last."""
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
    key = Legend()
    _add_vms(g, plan, key)
    _add_native(g, plan, key)
    _add_file_server(g, plan, key)
    _add_connections(g, plan, key)
    g.node("legend", label=_legend_label(key), shape="plaintext", style="")
    return g
