"""The Microkit part of a Plan: the system description (SDF) decided element by element.

Frozen dataclasses that mirror the elements and attributes of a Microkit 2.3.0 SDF
(seL4/microkit 8780fab tool/microkit/src/sdf.rs): memory regions, protection domains
with their maps, IRQs, I/O ports and virtual machine, and channels.  `plan/microkit.py`
fills them; `render/microkit_sdf.py` only formats them.  Numbers are stored as the SDF
will hold them (budgets and periods in microseconds, sizes in bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sel4vmgen.codec import Hex
from sel4vmgen.platforms.model import SddfFacts


@dataclass(frozen=True)
class MkRegion:
    """A `memory_region`: `phys_addr` None when the tool places it."""

    name: str
    size: Hex
    page_size: Hex
    phys_addr: Hex | None = None


@dataclass(frozen=True)
class MkMap:
    """A `map` of a region into a PD or a VM."""

    mr: str
    vaddr: Hex
    perms: str  # a combination of r, w, x (never w alone)
    cached: bool = True
    setvar_vaddr: str = ""  # the VMM's symbol patched with `vaddr`


@dataclass(frozen=True)
class MkIrq:
    """An `irq` delivered to a PD on channel `id`: ARM `irq`, or an x86 I/O APIC `pin`
    with its `vector`.  `virq` is what the VMM injects into its guest for it (ARM GIC
    INTID, x86 guest I/O APIC pin)."""

    id: int
    irq: int  # ARM: GIC INTID; x86: I/O APIC pin
    trigger: Literal["level", "edge"]
    virq: int | None = None  # None when the PD handles it itself (the timer driver)
    ioapic: int | None = None  # x86 only
    vector: int | None = None  # x86 only
    polarity: Literal["high", "low"] | None = None  # x86 only


@dataclass(frozen=True)
class MkIoPort:
    """An x86 `ioport` range given to a PD (and passed through to its guest)."""

    id: int
    addr: Hex
    size: int


@dataclass(frozen=True)
class MkVcpu:
    """A `vcpu`: its id, and its core when fixed (None: the VMM's core)."""

    id: int
    cpu: int | None = None


@dataclass(frozen=True)
class MkVm:
    """A `virtual_machine`.  ARM VMs have their own scheduling context; x86 VMs share
    their VMM's TCB and scheduling context, so `priority`, `budget` and `period` are None."""

    name: str
    vcpus: tuple[MkVcpu, ...]
    maps: tuple[MkMap, ...]
    priority: int | None = None
    budget: int | None = None
    period: int | None = None


@dataclass(frozen=True)
class MkVirtio:
    """A virtio-mmio device a VMM emulates for its guest, backed by an sDDF subsystem: the
    guest window and SPI, and the sDDF device node it is served from (`partition` for blk,
    `mac` for net)."""

    kind: Literal["console", "blk", "net"]
    base: Hex
    size: Hex
    irq: int  # GIC INTID injected into the guest
    sddf_node: str
    partition: int | None = None
    mac: str | None = None


@dataclass(frozen=True)
class MkPd:
    """A `protection_domain` with its `program_image` and children."""

    name: str
    program_image: str
    priority: int
    budget: int
    period: int
    passive: bool = False
    maps: tuple[MkMap, ...] = ()
    irqs: tuple[MkIrq, ...] = ()
    ioports: tuple[MkIoPort, ...] = ()
    vm: MkVm | None = None
    vm_instance: str | None = None  # the VmPlan this PD is the VMM of
    role: Literal["vmm", "timer", "sddf"] = "vmm"
    stack_size: Hex | None = None  # None: the tool's default
    virtio: tuple[MkVirtio, ...] = ()  # the virtio-mmio devices this VMM emulates


@dataclass(frozen=True)
class MkEnd:
    """One `end` of a channel."""

    pd: str
    id: int
    notify: bool = True
    pp: bool = False


@dataclass(frozen=True)
class MkChannel:
    """A `channel` between two PDs."""

    a: MkEnd
    b: MkEnd


@dataclass(frozen=True)
class MicrokitSystem:
    """The whole SDF, and how the system is built (MICROKIT_BOARD, MICROKIT_CONFIG)."""

    board: str
    config: Literal["debug", "smp-debug"]
    regions: tuple[MkRegion, ...]
    pds: tuple[MkPd, ...]
    channels: tuple[MkChannel, ...] = ()
    timer_channel: int | None = None  # x86: the VMM's channel to the timer driver
    sddf: SddfFacts | None = None  # the board's sDDF facts, when a VM has virtio devices
