"""The typed, frozen form of one platform's facts.

A `Platform` is loaded from a TOML data file in `platforms/data/` (one per
platform, each number with a comment naming its public source) and passed
as a parameter to the rules, `resolve` and the backends.  No module keeps a
platform in global state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sel4vmgen.codec import Hex


@dataclass(frozen=True)
class MemRange:
    """[start, end) of physical memory, with what it is."""

    start: Hex
    end: Hex
    name: str = ""

    @property
    def size(self) -> int:
        return self.end - self.start

    def contains(self, start: int, size: int) -> bool:
        return self.start <= start and start + size <= self.end


@dataclass(frozen=True)
class Device:
    """A device of the platform: DTB node path, register window, interrupts."""

    name: str
    path: str  # DTB node path ('' on x86)
    paddr: Hex
    size: Hex
    irqs: tuple[int, ...] = ()
    trigger: Literal["level", "edge"] = "level"
    compatible: tuple[str, ...] = ()  # DT compatible strings, for guest trees written whole
    clock_names: tuple[str, ...] = ()  # DT clock inputs, each fed the fixed clock below
    clock_hz: int | None = None


@dataclass(frozen=True)
class ReservedIrq:
    """An interrupt the kernel or the platform keeps for itself."""

    irq: int
    why: str


@dataclass(frozen=True)
class GicFacts:
    """ARM GIC addresses and counts (GICv2 on every supported platform)."""

    version: int
    dist: Hex  # GICD
    cpu: Hex  # GICC (where the guest expects its CPU interface)
    hyp: Hex  # GICH (kernel only)
    vcpu: Hex  # GICV (mapped into the guest at `cpu`)
    list_registers: int
    maintenance_irq: int
    vtimer_irq: int
    max_irq: int


@dataclass(frozen=True)
class GuestDefaults:
    """The guest layout the platform's camkes-vm-examples apps use, for VMs that name none."""

    ram_base: Hex
    ram_paddr: Hex
    ram_size: Hex
    dtb_addr: Hex
    initrd_addr: Hex
    initrd_max_size: Hex
    kernel_entry_offset: Hex  # entry = ram_base + offset (0x80000 on 64-bit, 0x8000 on 32-bit)
    vcpus: int
    stdout: str
    cmdline: str
    dtb_nodes: tuple[str, ...] = ()
    keep_devices: tuple[str, ...] = ()
    keep_devices_and_subtree: tuple[str, ...] = ()
    map_one_to_one: bool = False
    clean_cache: bool = False


@dataclass(frozen=True)
class X86Facts:
    """pc99 facts: IO ports and IRQs the fixed CAmkES components and the kernel hold."""

    reserved_ioports: tuple[tuple[int, int, str], ...]  # (start, end, holder)
    ioapic_pins: int
    max_iospace_domain: int


@dataclass(frozen=True)
class SddfDevice:
    """A host device an sDDF driver drives: its node in the board's device tree (au-ts/sddf
    dts/<board>.dts) and the driver's folder under sDDF drivers/ with that driver's
    resources (its config.json)."""

    node: str  # node name in the host device tree, e.g. pl011@9000000
    compatible: tuple[str, ...]
    paddr: Hex  # reg base
    size: Hex  # reg size
    irq: int  # GIC INTID
    trigger: Literal["level", "edge"]
    driver: str  # folder under sDDF drivers/, e.g. serial/arm
    regions: tuple[tuple[str, int, bool], ...] = ()  # the driver's DMA regions (name, size, cached)


@dataclass(frozen=True)
class GuestVirtio:
    """Where a guest of libvmm's virtio_mmio example finds one virtio-mmio device."""

    kind: Literal["console", "blk", "net"]
    base: Hex
    size: Hex
    irq: int  # GIC INTID the VMM injects


@dataclass(frozen=True)
class SddfFacts:
    """The sDDF subsystems behind a board's virtio devices (au-ts/libvmm 0.2.0
    examples/virtio_mmio/meta.py with au-ts/sddf tools/meta/board.py)."""

    paddr_top: Hex  # where sdfgen starts placing DMA regions, downwards
    serial: SddfDevice
    blk: SddfDevice
    net: SddfDevice
    guest: tuple[GuestVirtio, ...]


@dataclass(frozen=True)
class MicrokitFacts:
    """What the Microkit SDK knows of a board (seL4/microkit build_sdk.py `BoardInfo`) and
    what libvmm's examples use on it."""

    board: str  # MICROKIT_BOARD; `Platform.cores` is BoardInfo.smp_cores (smp-* configs)
    sddf: SddfFacts | None = None  # None: no virtio devices generated on this board


@dataclass(frozen=True)
class Platform:
    """Everything sel4vmgen knows about one platform."""

    name: str  # what the user writes, and -DPLATFORM (pc99 is built as x86_64/ia32)
    arch: Literal["x86", "arm"]
    sel4_archs: tuple[str, ...]  # the seL4 architectures the platform builds for
    kernel_platform: str  # KernelPlatform
    arm_platform: str | None  # KernelARMPlatform
    arm_cpu: str | None  # KernelArmCPU
    cores: int
    smp: bool  # whether camkes-vm-examples allows NUM_NODES > 1
    ram: tuple[MemRange, ...]  # physical RAM
    reserved: tuple[MemRange, ...]  # kernel- or firmware-reserved memory guests may not use
    guest_ram: tuple[MemRange, ...]  # device-untyped ranges reserved for guest RAM
    devices: tuple[Device, ...]
    reserved_irqs: tuple[ReservedIrq, ...]
    serial: Device
    free_irqs: tuple[int, ...]  # camkes-vm plat free IRQs (virtio / cross-VM)
    gic: GicFacts | None = None
    guest: GuestDefaults | None = None
    x86: X86Facts | None = None
    cmake_options: tuple[tuple[str, str], ...] = ()  # options the platform's apps set
    sources: tuple[str, ...] = ()  # where the facts come from
    virtio_irq: int | None = None  # the IRQ camkes-vm's libvirtio injects (virtio net/console)
    dtb_gic_path: str = ""  # the GIC node the VMM keeps in a generated guest DTB (vmlinux.h)
    vpci: tuple[int, int, int] | None = None  # VMM virtual PCI (CFG, IO, MEM) guest addresses
    vpci_sizes: tuple[int, int, int] | None = None  # and the sizes of those three windows
    ram_untyped: bool = True  # the platform's apps list guest RAM in `untyped_mmios`
    framework: Literal["camkes", "microkit"] = "camkes"  # which framework builds for it
    microkit: MicrokitFacts | None = None  # Microkit boards only
    # The platform is a QEMU machine whose RAM is what `-m` gives it: the build passes the
    # platform's RAM (`ram`) to QEMU as QEMU_MEMORY, both when it dumps the DTB the kernel is
    # built against and in the `simulate` script.
    qemu: bool = False
    # CMake options a TimeServer (libplatsupport's ltimer) needs on this platform; None when
    # the data does not say (a system that needs a TimeServer there is refused).
    time_server_options: tuple[tuple[str, str], ...] | None = None
    # CMake options the kernel needs to give guests the platform's SMMU (a VM's
    # `passthrough.smmu`); None when the data does not say (such a VM is refused).
    smmu_options: tuple[tuple[str, str], ...] | None = None
    # CMake options an app must choose on this platform, with the values it may take (zcu102:
    # the Petalinux release its VMM and guest images are built for); a system that does not
    # set one in `platform_options` is refused rather than built with camkes-vm's default.
    required_options: tuple[tuple[str, tuple[str, ...]], ...] = ()
