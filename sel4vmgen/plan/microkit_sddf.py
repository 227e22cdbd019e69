"""The sDDF subsystems behind a Microkit VM's virtio devices, decided once, here.

libvmm 0.2.0 (au-ts/libvmm 7069ab9) examples/virtio_mmio/meta.py has sdfgen 0.35.1 build
them; this module decides the same system element by element, so the Plan holds every
number and `render/microkit_sddf.py` uses sdfgen only to serialise the configuration data
the components read (and refuses to write when sdfgen's system differs from this one):

- PDs, programs, priorities, budgets and stack sizes as meta.py names them: serial
  (serial_driver 200, serial_virt_tx 199, serial_virt_rx 199), blk (blk_driver 200,
  blk_virt 199), net (eth_driver 101 with budget 100 / period 400, net_virt_tx 100,
  net_virt_rx 99, client0_net_copier 98); the VMM at 100 with a 0x4000 stack;
- regions, maps and channels as sdfgen 0.35.1 makes them for that example (read from the
  SDF it renders): each PD's maps placed from 0x20000000 up in the order they are made, a
  region whose size is a multiple of 2 MiB at a 2 MiB boundary; DMA regions placed down
  from the board's `paddr_top`; a device's register page made once (QEMU's virtio-blk and
  virtio-net transports share one page: the second driver maps the first one's region);
  each PD's channel ids 0.. in the order made, a driver's IRQ first; subsystems connected
  serial, blk, net.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sel4vmgen.plan.microkit_model import MkChannel, MkEnd, MkIrq, MkMap, MkPd, MkRegion, MkVirtio
from sel4vmgen.plan.model import IrqRoute, Region
from sel4vmgen.units import PAGE

if TYPE_CHECKING:
    from sel4vmgen.platforms.model import SddfDevice, SddfFacts

VMM_PRIORITY = 100  # meta.py ProtectionDomain("CLIENT_VMM", ..., priority=100, stack_size=0x4000)
VMM_STACK = 0x4000
VADDR_BASE = 0x20000000  # sdfgen 0.35.1: the first vaddr of every PD's maps
LARGE = 0x200000
REGS = 0x1000  # sDDF drivers/*/config.json "regs" size 4096
SERIAL_QUEUE, SERIAL_DATA = 0x1000, 0x10000
BLK_INFO, BLK_QUEUE, BLK_DRIVER_DATA, BLK_CLIENT_DATA = 0x1000, 0x4000, 0xA000, 0x200000
NET_QUEUE, NET_DATA, NET_VIRT_METADATA = 0x3000, 0x100000, 0x1000
COPIER = "client0_net_copier"  # meta.py's one client's copier


@dataclass(frozen=True)
class SddfParts:
    """What the virtio devices of one VM add to its Microkit system."""

    regions: tuple[MkRegion, ...]
    pds: tuple[MkPd, ...]  # the sDDF protection domains
    vmm_maps: tuple[MkMap, ...]  # the VMM's maps of its client regions
    channels: tuple[MkChannel, ...]
    vmm_channels: int  # the VMM's channel ids 0.. these take
    virtio: tuple[MkVirtio, ...]
    devices: tuple[Region, ...]  # the guest's virtio-mmio windows
    routes: tuple[IrqRoute, ...]  # their interrupts


@dataclass
class _Builder:
    """Places regions, maps, IRQs and channels the way sdfgen 0.35.1 does."""

    paddr_top: int
    regions: list[MkRegion] = field(default_factory=list)
    maps: dict[str, list[MkMap]] = field(default_factory=dict)
    tops: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    irqs: dict[str, list[MkIrq]] = field(default_factory=dict)
    channels: list[MkChannel] = field(default_factory=list)

    def region(self, name: str, size: int, *, dma: bool = False, paddr: int | None = None) -> str:
        if dma:
            self.paddr_top -= size
            paddr = self.paddr_top
        self.regions.append(MkRegion(name, size, PAGE, paddr))
        return name

    def device_regs(self, dev: SddfDevice) -> str:
        """The register page of `dev`, made once per physical page."""
        page = dev.paddr - dev.paddr % PAGE
        for r in self.regions:
            if r.phys_addr == page:
                return r.name
        return self.region(f"{dev.node}/drivers/{dev.driver}/regs", REGS, paddr=page)

    def map(self, pd: str, mr: str, perms: str = "rw", cached: bool = True) -> None:
        size = next(r.size for r in self.regions if r.name == mr)
        align = LARGE if size % LARGE == 0 else PAGE
        top = self.tops.get(pd, VADDR_BASE)
        vaddr = (top + align - 1) // align * align
        self.tops[pd] = vaddr + size
        self.maps.setdefault(pd, []).append(MkMap(mr, vaddr, perms, cached))

    def _id(self, pd: str) -> int:
        n = self.ids.get(pd, 0)
        self.ids[pd] = n + 1
        return n

    def irq(self, pd: str, dev: SddfDevice) -> None:
        self.irqs.setdefault(pd, []).append(MkIrq(self._id(pd), dev.irq, dev.trigger))

    def channel(self, a: str, b: str) -> None:
        self.channels.append(MkChannel(MkEnd(a, self._id(a)), MkEnd(b, self._id(b))))


def _serial(b: _Builder, dev: SddfDevice, vmm: str) -> None:
    d, rx, tx, n = "serial_driver", "serial_virt_rx", "serial_virt_tx", dev.node
    regs = b.device_regs(dev)
    mrs = {}
    for one, two in ((d, rx), (rx, vmm), (d, tx), (tx, vmm)):
        mrs[one, two] = (
            b.region(f"{n}/serial/queue/{one}/{two}", SERIAL_QUEUE),
            b.region(f"{n}/serial/data/{one}/{two}", SERIAL_DATA),
        )
    b.map(d, regs, cached=False)
    for pd, pairs in (
        (d, ((d, rx), (d, tx))),
        (tx, ((d, tx), (tx, vmm))),
        (rx, ((d, rx), (rx, vmm))),
        (vmm, ((rx, vmm), (tx, vmm))),
    ):
        for pair in pairs:
            for mr in mrs[pair]:
                b.map(pd, mr)
    b.irq(d, dev)
    for one, two in ((d, rx), (rx, vmm), (d, tx), (tx, vmm)):
        b.channel(one, two)


def _blk(b: _Builder, dev: SddfDevice, vmm: str) -> None:
    d, virt = "blk_driver", "blk_virt"
    regs = b.device_regs(dev)
    extra = [
        (b.region(f"{dev.node}/drivers/{dev.driver}/{n}", s, dma=True), c)
        for n, s, c in dev.regions
    ]
    names = ("storage_info", "request", "response", "data")
    sizes = (BLK_INFO, BLK_QUEUE, BLK_QUEUE)
    drv = [b.region(f"blk_driver_{n}", s) for n, s in zip(names, sizes, strict=False)]
    drv.append(b.region("blk_driver_data", BLK_DRIVER_DATA, dma=True))
    cli = [b.region(f"blk_client_{vmm}_{n}", s) for n, s in zip(names, sizes, strict=False)]
    cli.append(b.region(f"blk_client_{vmm}_data", BLK_CLIENT_DATA, dma=True))
    b.map(d, regs, cached=False)
    for mr, cached in extra:
        b.map(d, mr, cached=cached)
    for mr in drv[:3]:
        b.map(d, mr)
    for k, mr in enumerate(drv + cli):
        b.map(virt, mr, "r" if k == 0 else "rw")
    for k, mr in enumerate(cli):
        b.map(vmm, mr, "r" if k == 0 else "rw")
    b.irq(d, dev)
    b.channel(virt, d)
    b.channel(virt, vmm)


def _net(b: _Builder, dev: SddfDevice, vmm: str) -> None:
    d, rx, tx, cp, n = "eth_driver", "net_virt_rx", "net_virt_tx", COPIER, dev.node
    regs = b.device_regs(dev)
    extra = [(b.region(f"{n}/drivers/{dev.driver}/{m}", s, dma=True), c) for m, s, c in dev.regions]

    def queues(one: str, two: str) -> list[str]:
        return [b.region(f"{n}/net/queue/{one}/{two}/{k}", NET_QUEUE) for k in ("free", "active")]

    d_rx = queues(d, rx)
    rx_data = b.region(f"{n}/net/rx/data/device", NET_DATA, dma=True)
    meta = b.region(f"{n}/net/rx/virt_metadata", NET_VIRT_METADATA)
    d_tx = queues(d, tx)
    rx_cp = queues(rx, cp)
    cp_vmm = queues(cp, vmm)
    cp_data = b.region(f"{n}/net/rx/data/client/{vmm}", NET_DATA)
    tx_vmm = queues(tx, vmm)
    tx_data = b.region(f"{n}/net/tx/data/client/{vmm}", NET_DATA, dma=True)
    b.map(d, regs, cached=False)
    for mr, cached in extra:
        b.map(d, mr, cached=cached)
    read = {(rx, rx_data), (tx, tx_data)}  # the virtualisers only read the data they pass on
    for pd, mrs in (
        (d, [*d_rx, *d_tx]),
        (rx, [*d_rx, rx_data, meta, *rx_cp]),
        (tx, [*d_tx, *tx_vmm, tx_data]),
        (cp, [*rx_cp, *cp_vmm, rx_data, cp_data]),
        (vmm, [*cp_vmm, cp_data, *tx_vmm, tx_data]),
    ):
        for mr in mrs:
            b.map(pd, mr, "r" if (pd, mr) in read else "rw")
    b.irq(d, dev)
    for one, two in ((d, rx), (d, tx), (rx, cp), (cp, vmm), (tx, vmm)):
        b.channel(one, two)


# (name, program, priority, budget, period, stack_size) of each sDDF PD (meta.py)
_PDS: dict[str, tuple[tuple[str, str, int, int | None, int | None, int | None], ...]] = {
    "console": (
        ("serial_driver", "serial_driver.elf", 200, None, None, None),
        ("serial_virt_tx", "serial_virt_tx.elf", 199, None, None, None),
        ("serial_virt_rx", "serial_virt_rx.elf", 199, None, None, 0x2000),
    ),
    "blk": (
        ("blk_driver", "blk_driver.elf", 200, None, None, None),
        ("blk_virt", "blk_virt.elf", 199, None, None, 0x2000),
    ),
    "net": (
        ("eth_driver", "eth_driver.elf", 101, 100, 400, None),
        ("net_virt_tx", "network_virt_tx.elf", 100, 20000, None, None),
        ("net_virt_rx", "network_virt_rx.elf", 99, None, None, None),
        (COPIER, "network_copy.elf", 98, 20000, None, None),
    ),
}
BUDGET_DEFAULT_US = 1000  # seL4/microkit 2.3.0 tool/microkit/src/sdf.rs BUDGET_DEFAULT


def _pd(b: _Builder, spec: tuple[str, str, int, int | None, int | None, int | None]) -> MkPd:
    name, program, priority, budget, period, stack = spec
    budget = budget if budget is not None else BUDGET_DEFAULT_US
    return MkPd(
        name=name,
        program_image=program,
        priority=priority,
        budget=budget,
        period=period if period is not None else budget,
        maps=tuple(b.maps.get(name, ())),
        irqs=tuple(b.irqs.get(name, ())),
        role="sddf",
        stack_size=stack,
    )


Kind = Literal["console", "blk", "net"]
KINDS: tuple[Kind, ...] = ("console", "blk", "net")  # the order sdfgen connects them


def sddf_parts(
    vm_instance: str,
    vmm: str,
    facts: SddfFacts,
    kinds: tuple[Kind, ...],
    partition: int | None,
    mac: str | None,
) -> SddfParts:
    """The sDDF subsystems, guest windows and interrupts of the virtio devices `kinds`."""
    b = _Builder(facts.paddr_top)
    devices = {"console": facts.serial, "blk": facts.blk, "net": facts.net}
    for kind, build in (("console", _serial), ("blk", _blk), ("net", _net)):
        if kind in kinds:
            build(b, devices[kind], vmm)
    guest = {g.kind: g for g in facts.guest}
    virtio = tuple(
        MkVirtio(
            k,
            guest[k].base,
            guest[k].size,
            guest[k].irq,
            devices[k].node,
            partition if k == "blk" else None,
            mac if k == "net" else None,
        )
        for k in ("console", "blk", "net")
        if k in kinds
    )
    return SddfParts(
        regions=tuple(b.regions),
        pds=tuple(_pd(b, s) for k in ("console", "blk", "net") if k in kinds for s in _PDS[k]),
        vmm_maps=tuple(b.maps.get(vmm, ())),
        channels=tuple(b.channels),
        vmm_channels=b.ids.get(vmm, 0),
        virtio=virtio,
        devices=tuple(Region("virtio", f"virtio_{v.kind}", v.size, guest=v.base) for v in virtio),
        routes=tuple(
            IrqRoute(vm_instance, -1, v.irq, "level", "virtio", f"virtio_{v.kind}") for v in virtio
        ),
    )
