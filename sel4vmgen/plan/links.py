"""Connections between VMs and components: virtio-net virtqueues and cross-VM windows.

Names and numbers follow the real apps:
- ARM (vm_multi): a link between `vm0` and `vm1` is the VirtQueueInit instance `vm1_vm0`;
  a VM's k-th link (from 1) uses interfaces `send<k>`/`recv<k>` with ids recv 2(k-1), send
  2(k-1)+1.
- x86 (zmq_samples): links between VMs share the VirtQueueInit instance `init`; when a
  link has a component end (zmq_cakeml), the k-th link (from 0) is instance `init<k>`.  An
  end's interfaces are `ether_<peer index>_send`/`_recv` with ids send 2j, recv 2j+1 for
  its j-th link; a component's index follows the VMs' (its instance is `vm<index>`).
- Every VM's MAC is 02:00:00:00:AA:<n+1> (vm_multi, zmq_samples `vswitch_mac_address`); a
  component with two links relays between them, so its ends carry the MAC of the VM beyond.
- Cross-VM dataports: x86 ids count from 1 per VM (optiplex9020 dp1_id 1, dp2_id 2); ARM
  leaves `<dp>_id` at 0 (vm_cross_connector: the ARM crossvm module finds windows by their
  order, not their id) and maps the windows one after another from the platform's VMM PCI
  memory window (0xDF000000 on qemu-arm-virt, 0x3F000000 on exynos5422).
- Events the VM consumes get badges 1, 2, 4, ... in the order written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sel4vmgen.model.system import CrossVm, System, VirtioNet
from sel4vmgen.plan.common import internal
from sel4vmgen.plan.model import Dataport, Event, Virtqueue, VirtqueueEnd
from sel4vmgen.units import PAGE

if TYPE_CHECKING:
    from sel4vmgen.platforms.model import Platform


@dataclass
class Links:
    """Per-instance connection ends, filled in connection order."""

    virtqueues: list[Virtqueue] = field(default_factory=list)
    ends: dict[str, list[VirtqueueEnd]] = field(default_factory=dict)
    dataports: dict[str, list[Dataport]] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    # VM instance -> (its dataport name, component instance, the component's dataport name)
    guest_ram: dict[str, tuple[str, str, str]] = field(default_factory=dict)


# Shared memory of each virtqueue when the system gives none: what the real apps use.
# x86: camkes-vm components/VM/configurations/connections.h (VM_CONNECTION_CONFIG) gives
# 32768; ARM: camkes-vm-examples apps/Arm/vm_multi sets <vq>_shmem_size = 8192.
X86_QUEUE_SIZE = 32768
# The VirtQueueInit instance x86 links between VMs share (zmq_samples.camkes `init`)
SHARED_INIT = "init"
ARM_QUEUE_SIZE = 8192


def mac(index: int) -> str:
    """The vswitch MAC of the instance with this index: 02:00:00:00:AA:01 for index 0."""
    value = 0xAA00 + index + 1
    return f"02:00:00:00:{value >> 8:02X}:{value & 0xFF:02X}"


def instances(system: System) -> dict[str, tuple[int, str]]:
    """User name -> (index, instance name) for VMs (vm<n>) and then native components."""
    out = {vm.name: (n, f"vm{n}") for n, vm in enumerate(system.vms)}
    for k, comp in enumerate(system.components):
        out.setdefault(comp.name, (len(system.vms) + k, comp.name))
    return out


def resolve_links(system: System, platform: Platform) -> Links:
    """Every connection of the system, numbered."""
    names = instances(system)
    links = Links()
    for i, conn in enumerate(system.connections):
        where = ("connections", i)
        if isinstance(conn, VirtioNet):
            _virtqueue(conn, names, platform, links, where)
        else:
            _cross_vm(conn, names, platform, links, where)
    vms = {f"vm{n}" for n in range(len(system.vms))}
    if platform.arch == "x86" and any(e.vm not in vms for v in links.virtqueues for e in v.ends):
        _one_init_per_link(links)
    for comp in system.components if platform.arch == "x86" else ():
        _relay_macs(names[comp.name][1], links)
    return links


def _one_init_per_link(links: Links) -> None:
    """x86 links with a component end: each link its own VirtQueueInit, init<k>, as
    zmq_cakeml.camkes (init0, init1); links between VMs only share `init` (zmq_samples)."""
    links.virtqueues = [replace(v, instance=f"init{k}") for k, v in enumerate(links.virtqueues)]


def _relay_macs(inst: str, links: Links) -> None:
    """A component with two links passes frames from one to the other (zmq_cakeml's filter
    forwards between vm0 and vm1), so each of its ends shows its VM the MAC of the VM at
    its other end: vm0's vswitch layout lists vm1's MAC (zmq_cakeml.camkes vswitch_layout)."""
    ends = links.ends.get(inst, [])
    if len(ends) != 2:
        return
    peers = [next(e for e in _link(links, end).ends if e != end) for end in ends]
    swapped = [replace(ends[0], mac=peers[1].mac), replace(ends[1], mac=peers[0].mac)]
    for old, new in zip(ends, swapped, strict=True):
        links.virtqueues = [
            replace(
                v,
                ends=(
                    new if v.ends[0] == old else v.ends[0],
                    new if v.ends[1] == old else v.ends[1],
                ),
            )
            for v in links.virtqueues
        ]
    links.ends[inst] = swapped


def _link(links: Links, end: VirtqueueEnd) -> Virtqueue:
    return next(v for v in links.virtqueues if end in v.ends)


def _lookup(
    name: str, names: dict[str, tuple[int, str]], where: tuple[str | int, ...]
) -> tuple[int, str]:
    found = names.get(name)
    if found is None:
        # rules/links.py refuses it (E228)
        raise internal(f"connection names '{name}', which is not a VM or component", where)
    return found


def _virtqueue(
    conn: VirtioNet,
    names: dict[str, tuple[int, str]],
    platform: Platform,
    links: Links,
    where: tuple[str | int, ...],
) -> None:
    (ia, a), (ib, b) = (
        _lookup(n, names, (*where, "between", j)) for j, n in enumerate(conn.between)
    )
    arm = platform.arch == "arm"
    instance = f"{b}_{a}" if arm else SHARED_INIT
    ends = (_end(a, ia, ib, arm, links), _end(b, ib, ia, arm, links))
    size = conn.queue_size or (ARM_QUEUE_SIZE if arm else X86_QUEUE_SIZE)
    links.virtqueues.append(Virtqueue(instance, ends, size))


def _end(inst: str, index: int, peer_index: int, arm: bool, links: Links) -> VirtqueueEnd:
    mine = links.ends.setdefault(inst, [])
    j = len(mine)
    if arm:
        end = VirtqueueEnd(inst, f"send{j + 1}", f"recv{j + 1}", 2 * j + 1, 2 * j, mac(index))
    else:
        stem = f"ether_{peer_index}"
        end = VirtqueueEnd(inst, f"{stem}_send", f"{stem}_recv", 2 * j, 2 * j + 1, mac(index))
    mine.append(end)
    return end


def _cross_vm(
    conn: CrossVm,
    names: dict[str, tuple[int, str]],
    platform: Platform,
    links: Links,
    where: tuple[str | int, ...],
) -> None:
    _, vm = _lookup(conn.vm, names, (*where, "vm"))
    _, comp = _lookup(conn.component, names, (*where, "component"))
    arm = platform.arch == "arm"
    dps = links.dataports.setdefault(vm, [])
    window = platform.vpci[2] if arm and platform.vpci else None
    for dp in conn.dataports:
        guest = None
        if window is not None:
            guest = window + sum(_pages(d.size) for d in dps)
        ident = 0 if arm else len(dps) + 1
        dps.append(Dataport(dp.name, dp.size, comp, dp.peer, ident, guest))
    if conn.guest_ram is not None:
        if vm in links.guest_ram:
            # rules/links.py refuses it (E253)
            raise internal(f"{conn.vm} shares its RAM twice", (*where, "guest_ram"))
        links.guest_ram[vm] = (conn.guest_ram.name, comp, conn.guest_ram.peer)
    evs = links.events.setdefault(vm, [])
    for ev in conn.events:
        consumed = sum(1 for e in evs if e.direction == "to_vm")
        badge = 1 << consumed if ev.direction == "to_vm" else 0
        evs.append(Event(ev.name, ev.direction, comp, ev.peer, badge))


def _pages(size: int) -> int:
    return (size + PAGE - 1) // PAGE * PAGE
