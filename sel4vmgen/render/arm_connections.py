"""Connections of an ARM app: virtqueues between VMs, cross-VM dataports and events.

Builds, from a Plan, what `<name>.camkes` declares beyond the camkes-vm
macros (the VM component's extra interfaces, `VirtQueueInit` instances,
`seL4VirtQueues` / `seL4SharedDataWithCaps` / `seL4Notification` /
`seL4GlobalAsynch` connections, the `<vq>_id`, `<vq>_shmem_size`,
`vswitch_*`, `init_topology` and `<dp>_id` / `<dp>_size` settings), the
definitions of native components, and the view of the C glue that registers
the cross-VM connections with the VMM (camkes-vm-examples
apps/Arm/vm_cross_connector shows the shape).

Pairing in the glue: the n-th dataport of a VM is announced to the guest
with the n-th `from_vm` event as its emit function and the n-th `to_vm`
event as its consume badge (none when there are fewer events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sel4vmgen.plan.model import Event, Plan, VirtqueueEnd, VmPlan
from sel4vmgen.render.arm_values import CamkesValue, HexInt, identifier
from sel4vmgen.render.env import RenderError

Settings = tuple[tuple[str, str, CamkesValue], ...]
# VM_INIT_DEF declares these without a default and VM_Arm's main.c and map_frame_hack.c
# read them, so every camkes-vm-examples ARM app sets them (to 0: no extra frames).
VM_REQUIRED_ZERO = ("num_extra_frame_caps", "extra_frame_map_address")


@dataclass(frozen=True)
class Connection:
    """`connection <connector> <name>(<ends>);`"""

    connector: str
    name: str
    ends: str


@dataclass(frozen=True)
class ComponentType:
    """A native component's definition: its interfaces and the C sources it is built from."""

    type: str
    interfaces: tuple[str, ...]
    sources: tuple[str, ...]  # as the plan gives them; arm.py turns them into CMake paths


@dataclass(frozen=True)
class GlueEntry:
    """One row of the `{handle, emit_fn, consume_badge, name}` table."""

    handle: str
    emit: str  # "<event>_emit" or "NULL"
    consume: str  # "" or the to_vm event whose badge is the consume badge
    name: str


@dataclass(frozen=True)
class Glue:
    """The cross-VM C glue of the VM component."""

    entries: tuple[GlueEntry, ...]
    bases: tuple[tuple[str, str], ...]  # (CONFIG_PLAT_* macro, guest base address) per platform

    @property
    def consumers(self) -> bool:
        """Whether any entry has a consume badge (and so an event handler to register)."""
        return any(e.consume for e in self.entries)


def event_type(name: str) -> str:
    """The CAmkES event type of an event interface: its name in CamelCase (ready -> Ready)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) or "Event"


def _links(plan: Plan, vm: VmPlan) -> list[tuple[str, str, CamkesValue]]:
    out: list[tuple[str, str, CamkesValue]] = []
    layout: list[CamkesValue] = []
    for end in vm.virtqueues:
        try:
            link, peer = plan.link_of(end)
        except KeyError:
            raise RenderError(
                f"{vm.instance}: virtqueue end {end.send}/{end.recv} has no link"
            ) from None
        out += [
            (vm.instance, f"{end.recv}_id", end.recv_id),
            (vm.instance, f"{end.recv}_shmem_size", link.shmem_size),
            (vm.instance, f"{end.send}_id", end.send_id),
            (vm.instance, f"{end.send}_shmem_size", link.shmem_size),
        ]
        layout.append({"mac_addr": peer.mac, "recv_id": end.recv_id, "send_id": end.send_id})
    mac = vm.mac or (vm.virtqueues[0].mac if vm.virtqueues else None)
    if mac is not None:
        # read by VM_Arm's virtio_net_arping.c and virtio_net_virtqueue.c
        out.append((vm.instance, "vswitch_mac_address", mac))
    if vm.virtqueues:
        out.append((vm.instance, "vswitch_layout", layout))
    return out


def app_settings(plan: Plan) -> Settings:
    """VM, VirtQueueInit and component settings that are not tied to the platform."""
    out: list[tuple[str, str, CamkesValue]] = []
    for vm in plan.vms:
        given = {s.name for s in vm.settings}
        out += [(vm.instance, a, 0) for a in VM_REQUIRED_ZERO if a not in given]
        out += [(vm.instance, s.name, _setting_value(s.value)) for s in vm.settings]
        out += _links(plan, vm)
        for dp in vm.dataports:
            out += [
                (vm.instance, f"{dp.name}_id", dp.id),
                (vm.instance, f"{dp.name}_size", dp.size),
            ]
        out += _guest_ram_settings(vm)
    for q in plan.virtqueues:
        a, b = q.ends
        topology: list[CamkesValue] = [
            {"drv": f"{a.vm}.{a.send}", "dev": f"{b.vm}.{b.recv}"},
            {"drv": f"{b.vm}.{b.send}", "dev": f"{a.vm}.{a.recv}"},
        ]
        out.append((q.instance, "init_topology", topology))
    for comp in plan.components:
        if comp.priority is not None:
            out.append((comp.name, "priority", comp.priority))
        out += _component_link_settings(plan, comp.name)
    return tuple(out)


def _component_ends(plan: Plan, name: str) -> list[tuple[VirtqueueEnd, int]]:
    """The virtqueue ends of a native component, with each link's queue size."""
    return [(e, q.shmem_size) for q in plan.virtqueues for e in q.ends if e.vm == name]


def _component_link_settings(plan: Plan, name: str) -> list[tuple[str, str, CamkesValue]]:
    """A component's end of a virtio-net link: ids and queue sizes as the VM's end has them,
    and its MAC (camkes-vm-examples vm_virtio_net vm_echo_ping.camkes, ping_client)."""
    ends = _component_ends(plan, name)
    out: list[tuple[str, str, CamkesValue]] = []
    for end, size in ends:
        out += [
            (name, f"{end.recv}_id", end.recv_id),
            (name, f"{end.recv}_shmem_size", size),
            (name, f"{end.send}_id", end.send_id),
            (name, f"{end.send}_shmem_size", size),
        ]
    if ends:
        out.append((name, "vswitch_mac_address", ends[0][0].mac))
    return out


def guest_ram_connection(vm: VmPlan) -> str:
    """The name of the connection that shares the VM's RAM with a component."""
    dp = vm.ram_dataport
    return identifier(f"{vm.instance}_{dp.name}_conn") if dp is not None else ""


def _guest_ram_settings(vm: VmPlan) -> list[tuple[str, str, CamkesValue]]:
    """The RAM window's physical range (on the connection) and, on both ends, uncached
    frames, as camkes-vm-examples vm_introspect sets them (vm_memdev.paddr/size,
    <end>.memdev_hardware_cached = false)."""
    dp = vm.ram_dataport
    if dp is None:
        return []
    conn = guest_ram_connection(vm)
    paddr = vm.ram.paddr if vm.ram.paddr is not None else vm.ram.guest
    return [
        (conn, "paddr", HexInt(paddr or 0)),
        (conn, "size", HexInt(dp.size)),
        (vm.instance, f"{dp.name}_hardware_cached", False),
        (dp.peer, f"{dp.peer_name}_hardware_cached", False),
    ]


def _setting_value(value: int | str | bool | tuple[int, ...] | tuple[str, ...]) -> CamkesValue:
    if isinstance(value, tuple):
        return list(value)
    return value


def vm_interfaces(plan: Plan) -> tuple[str, ...]:
    """Interfaces the VM component declares besides VM_INIT_DEF(), in first-seen order."""
    lines: list[str] = []
    for vm in plan.vms:
        for end in vm.virtqueues:
            lines.append(f"maybe uses VirtQueueDev {identifier(end.recv)};")
            lines.append(f"maybe uses VirtQueueDrv {identifier(end.send)};")
        for dp in vm.dataports:
            lines.append(f"dataport Buf({dp.size}) {identifier(dp.name)};")
        if vm.ram_dataport is not None:  # sized by its connection's `size`
            lines.append(f"dataport Buf {identifier(vm.ram_dataport.name)};")
        for ev in vm.events:
            verb = "emits" if ev.direction == "from_vm" else "consumes"
            lines.append(f"{verb} {event_type(ev.name)} {identifier(ev.name)};")
    return tuple(dict.fromkeys(lines))


def connections(plan: Plan) -> tuple[Connection, ...]:
    """Every connection besides those of the camkes-vm macros, in a stable order."""
    out: list[Connection] = []
    for q in plan.virtqueues:
        a, b = q.ends
        queue_ends = [f"to {q.instance}.init"] + [
            f"from {e.vm}.{n}" for e in (a, b) for n in (e.send, e.recv)
        ]
        out.append(Connection("seL4VirtQueues", f"{q.instance}_conn", ", ".join(queue_ends)))
    for vm in plan.vms:
        for dp in vm.dataports:
            out.append(
                Connection(
                    "seL4SharedDataWithCaps",
                    f"{vm.instance}_{dp.name}_conn",
                    f"from {dp.peer}.{dp.peer_name}, to {vm.instance}.{dp.name}",
                )
            )
        if vm.ram_dataport is not None:
            dp = vm.ram_dataport
            ends = f"from {dp.peer}.{dp.peer_name}, to {vm.instance}.{dp.name}"
            out.append(Connection("seL4SharedDataWithCaps", guest_ram_connection(vm), ends))
        out += [_event_connection(vm, ev) for ev in vm.events]
    single = len(plan.vms) == 1
    for vm in plan.vms:
        name = "vm_dtb" if single else f"{vm.instance}_dtb"
        ends = f"from {vm.instance}.dtb_self, to {vm.instance}.dtb"
        out.append(Connection("seL4VMDTBPassthrough", name, ends))
    for c in out:
        identifier(c.name)
    return tuple(out)


def _event_connection(vm: VmPlan, ev: Event) -> Connection:
    name = f"{vm.instance}_{ev.name}_conn"
    if ev.direction == "from_vm":
        # the guest signals the component: a plain notification (vm_cross_connector event_conn_0)
        return Connection(
            "seL4Notification", name, f"from {vm.instance}.{ev.name}, to {ev.peer}.{ev.peer_name}"
        )
    # the component signals the VMM, whose notifications arrive through its global
    # endpoint (vm_cross_connector event_conn_1)
    return Connection(
        "seL4GlobalAsynch", name, f"from {ev.peer}.{ev.peer_name}, to {vm.instance}.{ev.name}"
    )


def component_types(plan: Plan) -> tuple[ComponentType, ...]:
    """The definition of each native component type, from the connections to its instances."""
    types: dict[str, ComponentType] = {}
    for comp in plan.components:
        if comp.type in types:
            continue
        lines = ["control;"]
        for vm in plan.vms:
            lines += [
                f"dataport Buf({dp.size}) {identifier(dp.peer_name)};"
                for dp in vm.dataports
                if dp.peer == comp.name
            ]
            ram = vm.ram_dataport
            if ram is not None and ram.peer == comp.name:
                lines.append(f"dataport Buf {identifier(ram.peer_name)};")
            for ev in vm.events:
                if ev.peer != comp.name:
                    continue
                verb = "consumes" if ev.direction == "from_vm" else "emits"
                lines.append(f"{verb} {event_type(ev.name)} {identifier(ev.peer_name)};")
        ends = _component_ends(plan, comp.name)
        for end, _ in ends:
            lines.append(f"uses VirtQueueDev {identifier(end.recv)};")
            lines.append(f"uses VirtQueueDrv {identifier(end.send)};")
        if ends:
            lines.append('attribute string vswitch_mac_address = "";')
        types[comp.type] = ComponentType(
            identifier(comp.type), tuple(dict.fromkeys(lines)), comp.sources
        )
    return tuple(types.values())


def crossvm_glue(plans: Sequence[Plan]) -> Glue | None:
    """The glue table of the first VM with dataports, and its guest base on each platform."""
    first = plans[0]
    vm = next((v for v in first.vms if v.dataports), None)
    if vm is None:
        return None
    emits = [e.name for e in vm.events if e.direction == "from_vm"]
    consumes = [e.name for e in vm.events if e.direction == "to_vm"]
    entries = tuple(
        GlueEntry(
            handle=f"{identifier(dp.name)}_handle",
            emit=f"{emits[i]}_emit" if i < len(emits) else "NULL",
            consume=consumes[i] if i < len(consumes) else "",
            name=dp.name,
        )
        for i, dp in enumerate(vm.dataports)
    )
    bases = tuple(_guest_base(p, vm.instance) for p in plans)
    return Glue(entries, bases)


def _guest_base(plan: Plan, instance: str) -> tuple[str, str]:
    vm = plan.vm(instance)
    base = vm.dataports[0].guest if vm.dataports else None
    if base is None:
        raise RenderError(
            f"{instance} on {plan.platform}: cross-VM dataports have no guest address"
        )
    macro = "CONFIG_PLAT_" + plan.kernel_platform.upper().replace("-", "_")
    return identifier(macro), f"0x{base:x}"
