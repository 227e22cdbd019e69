"""The system format: what a user writes, as frozen pydantic models.

One file describes a whole system: its name, architecture, platform(s),
cores, kernel options, native components, VMs and the connections between
them.  Field names follow the words camkes-vm and seL4 use (`sel4_arch`,
`num_nodes`, `cmdline`, `stdout`, `untyped_mmios`, `iospace_domain`, ...).
These models check each value on its own; rules that relate several fields
(overlaps, platform limits, names that must exist) live in `rules/`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from sel4vmgen.defaults import SIMULATION
from sel4vmgen.model.types import Address, FileName, Identifier, ImagePath, Size


class Model(BaseModel):
    """Base of every model: frozen, no unknown keys.  Validators are built on first use
    (`defer_build`), so importing the models stays cheap for the command line."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False, defer_build=True)


MAX_SEED = (1 << 63) - 1
MAX_BUDGET_US = 3_600_000_000  # one hour; the Microkit tool reads budgets as u64 microseconds
FrameworkName = Literal["camkes", "microkit"]
PlatformName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Priority = Annotated[int, Field(ge=0, le=255)]
Cmdline = Annotated[str, Field(max_length=4096)]
DtbPath = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9/@,._+:-]+$")]


# ---------------------------------------------------------------- guest memory and images


class Ram(Model):
    """Guest RAM.  ARM: `base` is the guest-physical (IPA) base, `paddr` the host-physical
    base when it must be fixed (else the same as `base`, as camkes-vm's one-to-one
    layouts).  x86: only `size` (camkes-vm allocates it; `guest_ram_mb`)."""

    size: Size
    base: Address | None = None
    paddr: Address | None = None


class Kernel(Model):
    """The guest kernel image and how the VMM loads it."""

    image: ImagePath
    name: FileName | None = Field(
        default=None, description="file-server name; default linux (ARM), bzimage (x86)"
    )
    entry: Address | None = Field(
        default=None, description="ARM kernel_entry_addr; default RAM base + 0x80000"
    )
    format: Literal["bzImage", "Image", "zImage", "vmlinux"] | None = None
    relocs: bool | None = Field(
        default=None, description="x86: load relocations from the image (ia32 default)"
    )


class Initrd(Model):
    """The initial RAM disk."""

    image: ImagePath
    name: FileName | None = None
    address: Address | None = None
    max_size: Size | None = None


class Dtb(Model):
    """The guest device tree: built by the VMM at boot (`generate`) or given to it (`provide`).
    With `provide` and no `file`, sel4vmgen writes a .dts from the plan."""

    mode: Literal["generate", "provide"] = "generate"
    address: Address | None = None
    file: ImagePath | None = Field(
        default=None, description="a .dts or .dtb to provide instead of writing one"
    )
    base_name: FileName | None = Field(default=None, description="vm_image_config.dtb_base_name")


# ---------------------------------------------------------------- devices


class MemoryWindow(Model):
    """A physical window passed to the guest: `paddr` and `size` (ARM `mmios`/`untyped_mmios`)."""

    paddr: Address
    size: Size


class DtbNode(Model):
    """A platform DTB node to pass through, by path or by compatible string."""

    path: DtbPath | None = None
    compatible: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9,._+-]+$")] | None
    ) = None


class IoPorts(Model):
    """x86 IO port passthrough (`vm_ioports`)."""

    name: Identifier
    start: Annotated[int, Field(ge=0, le=0xFFFF)]
    end: Annotated[int, Field(ge=0, le=0xFFFF)]
    pci_device: Annotated[int, Field(ge=0, le=0xFF)] = 0


class PciMemory(Model):
    paddr: Address
    size: Size
    page_bits: Annotated[int, Field(ge=12, le=30)] = 12


class PciDevice(Model):
    """x86 PCI passthrough (`pci_devices`)."""

    name: Identifier
    bus: Annotated[int, Field(ge=0, le=255)]
    dev: Annotated[int, Field(ge=0, le=31)]
    fun: Annotated[int, Field(ge=0, le=7)]
    irq: Annotated[int, Field(ge=0, le=255)] | None = None
    memory: tuple[PciMemory, ...] = ()


class X86Irq(Model):
    """x86 IOAPIC interrupt routed to the guest (`vm_irqs`)."""

    name: Identifier
    source: Annotated[int, Field(ge=0, le=255)]
    dest: Annotated[int, Field(ge=0, le=15)]
    level_trig: bool = False
    active_low: bool = False
    ioapic: Annotated[int, Field(ge=0, le=7)] = 0


class Passthrough(Model):
    """Hardware given to the guest.  ARM: DTB nodes, MMIO windows, IRQs, kept DTB nodes.
    x86: IO ports, PCI devices, IOAPIC IRQs."""

    devices: tuple[Annotated[DtbPath, Field()] | DtbNode, ...] = ()
    mmios: tuple[MemoryWindow, ...] = ()
    untyped_mmios: tuple[MemoryWindow, ...] = ()
    irqs: tuple[Annotated[int, Field(ge=0, le=1023)], ...] = ()
    keep_devices: tuple[DtbPath, ...] = ()
    keep_devices_and_subtree: tuple[DtbPath, ...] = ()
    ioports: tuple[IoPorts, ...] = ()
    pci: tuple[PciDevice, ...] = ()
    x86_irqs: tuple[X86Irq, ...] = ()


class Virtio(Model):
    """Virtio devices the VMM emulates for this guest."""

    console: bool = False
    net: bool = False


class Requirements(Model):
    """What the guest needs of the system, checked by the simulator."""

    irq_latency_us: Annotated[int, Field(ge=1, le=10_000_000)] | None = None


class Vmm(Model):
    """Per-VMM resources (CAmkES attributes of the VM instance)."""

    heap_size: Size | None = None
    cnode_size_bits: Annotated[int, Field(ge=8, le=28)] | None = None
    untyped_pools: dict[
        Annotated[int, Field(ge=12, le=40)], Annotated[int, Field(ge=0, le=4096)]
    ] = Field(default_factory=dict, description="size_bits -> count (simple_untypedNN_pool)")
    allow_smc: bool = False
    allowed_smc_functions: tuple[Annotated[int, Field(ge=0, le=0xFFFFFFFF)], ...] = ()


# ---------------------------------------------------------------- VM


class VmFields(Model):
    """Fields a VM has; every one optional so that a per-platform patch can reuse them."""

    vcpus: Annotated[int, Field(ge=1, le=64)] | None = None
    priority: Priority | None = None
    ram: Ram | None = None
    kernel: Kernel | None = None
    cmdline: Cmdline | None = None
    initrd: Initrd | None = None
    dtb: Dtb | None = None
    stdout: Annotated[str, Field(max_length=256)] | None = None
    passthrough: Passthrough | None = None
    virtio: Virtio | None = None
    requirements: Requirements | None = None
    iospace_domain: Annotated[int, Field(ge=0, le=0xFFFF)] | None = None
    vmm: Vmm | None = None
    budget_us: Annotated[int, Field(ge=1, le=MAX_BUDGET_US)] | None = Field(
        default=None, description="Microkit (MCS): the VM's scheduling budget in microseconds"
    )
    period_us: Annotated[int, Field(ge=1, le=MAX_BUDGET_US)] | None = Field(
        default=None, description="Microkit (MCS): the period of that budget in microseconds"
    )


class VmPatch(VmFields):
    """What a VM changes on one platform (`per_platform:`)."""


class Vm(VmFields):
    """One virtual machine: a guest and the VMM that runs it."""

    name: Identifier
    kernel: Kernel
    per_platform: dict[PlatformName, VmPatch] = Field(default_factory=dict)

    def on(self, platform: str) -> Vm:
        """This VM with the `per_platform` patch for `platform` applied (shallow, field by field)."""
        patch = self.per_platform.get(platform)
        if patch is None:
            return self
        update = {
            k: getattr(patch, k) for k in patch.model_fields_set if getattr(patch, k) is not None
        }
        return self.model_copy(update=update)


# ---------------------------------------------------------------- native components and connections


class Component(Model):
    """A native CAmkES component in the system (e.g. the peer of a cross-VM connection)."""

    name: Identifier
    type: Identifier
    sources: tuple[ImagePath, ...] = ()
    priority: Priority | None = None


class Dataport(Model):
    """A shared-memory window between a VM and a component."""

    name: Identifier
    size: Size = 4096
    peer: Identifier = Field(description="the component's dataport name")


class Event(Model):
    """A notification between a VM and a component."""

    name: Identifier
    direction: Literal["to_vm", "from_vm"]
    peer: Identifier = Field(description="the component's event name")


class CrossVm(Model):
    """Dataports and events between a VM and a native component (camkes-vm cross-VM)."""

    type: Literal["cross_vm"]
    vm: Identifier
    component: Identifier
    dataports: tuple[Dataport, ...] = ()
    events: tuple[Event, ...] = ()


class VirtioNet(Model):
    """A virtio-net link between two VMs (or a VM and a component) over a pair of virtqueues."""

    type: Literal["virtio_net"]
    between: Annotated[tuple[Identifier, Identifier], Field()]
    queue_size: Size | None = Field(
        default=None,
        description="shared memory of each virtqueue; default 32 KiB on x86 (camkes-vm "
        "configurations/connections.h), 8 KiB on ARM (vm_multi)",
    )


Connection = Annotated[CrossVm | VirtioNet, Field(discriminator="type")]


# ---------------------------------------------------------------- simulation knobs


class Simulation(Model):
    """Scenario knobs for the reference simulator (also settable on the command line)."""

    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = SIMULATION["seed"]
    duration_ms: Annotated[int, Field(ge=1, le=60_000)] = SIMULATION["duration_ms"]
    timer_hz: Annotated[int, Field(ge=1, le=10_000)] = SIMULATION["timer_hz"]
    device_irq_hz: Annotated[int, Field(ge=0, le=1_000_000)] = SIMULATION["device_irq_hz"]
    critical_section_us: Annotated[int, Field(ge=0, le=1_000_000)] = SIMULATION[
        "critical_section_us"
    ]
    max_states: Annotated[int, Field(ge=1, le=100_000_000)] = SIMULATION["max_states"]
    max_depth: Annotated[int, Field(ge=1, le=100_000)] = SIMULATION["max_depth"]


# ---------------------------------------------------------------- the system


class System(Model):
    """A whole seL4 virtualisation system."""

    name: Identifier
    arch: Literal["x86", "arm"]
    sel4_arch: Literal["ia32", "x86_64", "aarch64", "aarch32"]
    platform: PlatformName | Annotated[tuple[PlatformName, ...], Field(min_length=1, max_length=16)]
    framework: (
        FrameworkName | Annotated[tuple[FrameworkName, ...], Field(min_length=1, max_length=2)]
    ) = Field(
        default="camkes",
        description="camkes (camkes-vm apps) or microkit (Microkit SDF with libvmm VMMs), or "
        "both as a list; each platform belongs to one of them",
    )
    num_nodes: Annotated[int, Field(ge=1, le=64)] = 1
    kernel_options: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")], bool | int | str
    ] = Field(default_factory=dict)
    components: tuple[Component, ...] = ()
    vms: Annotated[tuple[Vm, ...], Field(max_length=4096)]
    connections: tuple[Connection, ...] = ()
    simulation: Simulation = Field(default_factory=lambda: Simulation())

    @field_validator("vms")
    @classmethod
    def _at_least_one_vm(cls, vms: tuple[Vm, ...]) -> tuple[Vm, ...]:
        if not vms:
            raise PydanticCustomError("too_short", "a system needs at least one VM")
        return vms

    @property
    def frameworks(self) -> tuple[str, ...]:
        """The frameworks named, in the order written."""
        return (self.framework,) if isinstance(self.framework, str) else tuple(self.framework)

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platform names, in the order written."""
        return (self.platform,) if isinstance(self.platform, str) else tuple(self.platform)
