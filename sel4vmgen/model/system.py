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

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from sel4vmgen.defaults import SIMULATION
from sel4vmgen.facts import SEL4_MAX_PRIO
from sel4vmgen.model.types import Address, FileName, Identifier, ImagePath, Size


class Model(BaseModel):
    """Base of every model: frozen, no unknown keys.  Validators are built on first use
    (`defer_build`), so importing the models stays cheap for the command line."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False, defer_build=True)


MAX_SEED = (1 << 63) - 1
MAX_BUDGET_US = 3_600_000_000  # one hour; the Microkit tool reads budgets as u64 microseconds
KERNEL_DOC = "the guest kernel: image, file-server name, format, entry (ARM)"
FrameworkName = Literal["camkes", "microkit"]
# A platform name's place in the JSON Schema, which `jsonschema` fills with the names of
# the platform database (the models check only the spelling; the rules check the name).
PLATFORM_MARK = "x-sel4vmgen-platform"
PlatformName = Annotated[
    str,
    Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$"),
    WithJsonSchema({PLATFORM_MARK: True}),
]
Priority = Annotated[int, Field(ge=0, le=SEL4_MAX_PRIO)]
Cmdline = Annotated[str, Field(max_length=4096)]
DtbPath = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9/@,._+:-]+$")]


# ---------------------------------------------------------------- guest memory and images


class Ram(Model):
    """Guest RAM.  ARM: `base` is the guest-physical (IPA) base, `paddr` the host-physical
    base when it must be fixed (else the same as `base`, as camkes-vm's one-to-one
    layouts).  x86: only `size` (camkes-vm allocates it; `guest_ram_mb`)."""

    size: Size = Field(description="the guest's RAM size", examples=["512MiB"])
    base: Address | None = Field(
        default=None,
        description="ARM: the guest-physical (IPA) base of the RAM",
        examples=["0x40000000"],
    )
    paddr: Address | None = Field(
        default=None,
        description="ARM: the host-physical base, when it must be fixed (default: base)",
        examples=["0x40000000"],
    )


class Kernel(Model):
    """The guest kernel image and how the VMM loads it."""

    image: ImagePath = Field(
        description="the kernel image: relative to the system file, absolute, or under a "
        "checkout variable",
        examples=["${CAMKES_VM_IMAGES_DIR}/qemu-arm-virt/linux"],
    )
    name: FileName | None = Field(
        default=None,
        description="file-server name; default linux (ARM), bzimage (x86)",
        examples=["linux"],
    )
    entry: Address | None = Field(
        default=None,
        description="ARM kernel_entry_addr; default RAM base + 0x80000",
        examples=["0x40080000"],
    )
    format: Literal["bzImage", "Image", "zImage", "vmlinux"] | None = Field(
        default=None, description="the image's format", examples=["Image"]
    )
    relocs: bool | None = Field(
        default=None,
        description="x86: load relocations from the image (ia32 default)",
        examples=[True],
    )

    def loads_relocs(self, sel4_arch: str) -> bool:
        """x86: whether the VMM loads the kernel's relocations, i.e. the guest is 32-bit
        (`relocs`, else what seL4 is built for: ia32 guests on ia32, 64-bit on x86_64)."""
        return self.relocs if self.relocs is not None else sel4_arch == "ia32"


RootfsFolder = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*/?$")
]


class RootfsFile(Model):
    """A file the build adds to the initrd (camkes-vm-linux AddFileToOverlayDir), e.g. an
    init script: `source` (relative to the system file) is copied into the app and put in
    the rootfs as `folder`/`name`."""

    name: FileName = Field(description="the file's name in the rootfs", examples=["S90setup"])
    source: ImagePath = Field(
        description="the file to copy, relative to the system file", examples=["overlay/setup.sh"]
    )
    folder: RootfsFolder = Field(
        description="folder inside the rootfs, e.g. etc/init.d", examples=["etc/init.d"]
    )


# A CMake target name (ExternalProject_Add's first argument) and a -D cache argument.
BuildName = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
]
CMakeArg = Annotated[
    str,
    Field(
        min_length=3,
        max_length=256,
        pattern=r"""^-D[A-Za-z_][A-Za-z0-9_]*(:[A-Z]+)?=[^\s;"'\\$]*$""",
    ),
]


class GuestProgram(Model):
    """A CMake project the build compiles for the guest (a camkes-vm-examples ExternalProject:
    zmq_samples' libzmq and demo programs, vm_cross_connector's dataport apps); the programs
    it `installs` are added to this initrd at `folder`."""

    name: BuildName = Field(
        description="the build's CMake target (ExternalProject_Add's name)",
        examples=["demoapps_external"],
    )
    source: ImagePath = Field(
        description="the project's folder (its CMakeLists.txt), relative to the system file or "
        "under a checkout variable",
        examples=["guest_programs/zmq_demo"],
    )
    build: Literal["cmake"] = Field(
        default="cmake",
        description="how it is built: cmake, with the guest's Linux toolchain",
        examples=["cmake"],
    )
    installs: tuple[FileName, ...] = Field(
        default=(),
        description="the programs it builds that go into the rootfs (none: a library other "
        "builds use)",
        examples=[["client", "server"]],
    )
    folder: RootfsFolder | None = Field(
        default=None,
        description="folder inside the rootfs for the programs; default bin/ (x86), usr/bin (ARM)",
        examples=["bin/"],
    )
    depends: tuple[BuildName, ...] = Field(
        default=(),
        description="builds of this initrd listed before it that it needs (a library)",
        examples=[["zmq_external"]],
    )
    cmake_args: tuple[CMakeArg, ...] = Field(
        default=(),
        description="extra -D arguments of its CMake configure step",
        examples=[["-DPOLLER=epoll"]],
    )


class Initrd(Model):
    """The initial RAM disk."""

    image: ImagePath = Field(
        description="the initrd image, a path as for the kernel",
        examples=["${CAMKES_VM_IMAGES_DIR}/qemu-arm-virt/rootfs.cpio.gz"],
    )
    name: FileName | None = Field(
        default=None, description="file-server name; default linux-initrd", examples=["initrd"]
    )
    address: Address | None = Field(
        default=None, description="ARM: guest-physical load address", examples=["0x4D700000"]
    )
    max_size: Size | None = Field(
        default=None, description="the most the initrd may occupy", examples=["25MiB"]
    )
    files: tuple[RootfsFile, ...] = Field(
        default=(),
        description="files the build adds to this rootfs (init scripts, ...)",
        examples=[[{"name": "S90bridge_setup", "source": "bridge.sh", "folder": "etc/init.d"}]],
    )
    programs: tuple[GuestProgram, ...] = Field(
        default=(),
        description="programs the build compiles for the guest and adds to this rootfs",
        examples=[[{"name": "hello", "source": "hello", "installs": ["hello"]}]],
    )


class Dtb(Model):
    """The guest device tree: built by the VMM at boot (`generate`) or given to it (`provide`).
    With `provide` and no `file`, sel4vmgen writes a .dts from the plan."""

    mode: Literal["generate", "provide"] = Field(
        default="generate",
        description="generate: the VMM builds the device tree; provide: it is given one",
        examples=["generate"],
    )
    address: Address | None = Field(
        default=None,
        description="ARM: guest-physical address of the device tree",
        examples=["0x4F000000"],
    )
    file: ImagePath | None = Field(
        default=None,
        description="a .dts or .dtb to provide instead of writing one",
        examples=["guest.dts"],
    )
    base_name: FileName | None = Field(
        default=None, description="vm_image_config.dtb_base_name", examples=["linux-dtb"]
    )


# ---------------------------------------------------------------- devices


class MemoryWindow(Model):
    """A physical window passed to the guest: `paddr` and `size` (ARM `mmios`/`untyped_mmios`)."""

    paddr: Address = Field(description="host-physical base of the window", examples=["0x9000000"])
    size: Size = Field(description="size of the window", examples=["4KiB"])


class DtbNode(Model):
    """A platform DTB node to pass through, by path or by compatible string."""

    path: DtbPath | None = Field(
        default=None, description="the node's path in the platform DTB", examples=["/pl011@9000000"]
    )
    compatible: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9,._+-]+$")] | None
    ) = Field(
        default=None,
        description="the node's compatible string, instead of a path",
        examples=["arm,pl011"],
    )


class IoPorts(Model):
    """x86 IO port passthrough (`vm_ioports`)."""

    name: Identifier = Field(description="a name for the port range", examples=["serial"])
    start: Annotated[int, Field(ge=0, le=0xFFFF)] = Field(
        description="first IO port", examples=[0x3F8]
    )
    end: Annotated[int, Field(ge=0, le=0xFFFF)] = Field(
        description="last IO port (inclusive)", examples=[0x3FF]
    )
    pci_device: Annotated[int, Field(ge=0, le=0xFF)] = Field(
        default=0, description="the PCI device the ports belong to", examples=[0]
    )


class PciMemory(Model):
    """A PCI device's memory BAR passed to the guest."""

    paddr: Address = Field(description="host-physical base of the BAR", examples=["0xF7E00000"])
    size: Size = Field(description="size of the BAR", examples=["128KiB"])
    page_bits: Annotated[int, Field(ge=12, le=30)] = Field(
        default=12, description="log2 of the page size it is mapped with", examples=[12]
    )


class PciDevice(Model):
    """x86 PCI passthrough (`pci_devices`)."""

    name: Identifier = Field(description="a name for the device", examples=["eth0"])
    bus: Annotated[int, Field(ge=0, le=255)] = Field(description="PCI bus", examples=[0])
    dev: Annotated[int, Field(ge=0, le=31)] = Field(description="PCI device", examples=[25])
    fun: Annotated[int, Field(ge=0, le=7)] = Field(description="PCI function", examples=[0])
    irq: Annotated[int, Field(ge=0, le=255)] | None = Field(
        default=None, description="the device's interrupt line", examples=[20]
    )
    memory: tuple[PciMemory, ...] = Field(
        default=(),
        description="memory BARs to map into the guest",
        examples=[[{"paddr": "0xF7E00000", "size": "128KiB"}]],
    )


class X86Irq(Model):
    """x86 IOAPIC interrupt routed to the guest (`vm_irqs`)."""

    name: Identifier = Field(description="a name for the interrupt", examples=["serial_irq"])
    source: Annotated[int, Field(ge=0, le=255)] = Field(
        description="the IOAPIC pin it comes in on", examples=[4]
    )
    dest: Annotated[int, Field(ge=0, le=15)] = Field(
        description="the guest interrupt it is delivered as", examples=[4]
    )
    level_trig: bool = Field(default=False, description="level-triggered", examples=[False])
    active_low: bool = Field(default=False, description="active low", examples=[False])
    ioapic: Annotated[int, Field(ge=0, le=7)] = Field(
        default=0, description="the IOAPIC it comes from", examples=[0]
    )


class Passthrough(Model):
    """Hardware given to the guest.  ARM: DTB nodes, MMIO windows, IRQs, kept DTB nodes.
    x86: IO ports, PCI devices, IOAPIC IRQs."""

    devices: tuple[Annotated[DtbPath, Field()] | DtbNode, ...] = Field(
        default=(),
        description="ARM: platform DTB nodes (paths or compatible strings) to pass through",
        examples=[["/pl011@9000000"]],
    )
    mmios: tuple[MemoryWindow, ...] = Field(
        default=(),
        description="ARM: device memory windows mapped into the guest (mmios)",
        examples=[[{"paddr": "0x9000000", "size": "4KiB"}]],
    )
    untyped_mmios: tuple[MemoryWindow, ...] = Field(
        default=(),
        description="ARM: untyped memory windows given to the VMM (untyped_mmios)",
        examples=[[{"paddr": "0x10000000", "size": "256MiB"}]],
    )
    irqs: tuple[Annotated[int, Field(ge=0, le=1023)], ...] = Field(
        default=(), description="ARM: interrupts routed to the guest (irqs)", examples=[[33]]
    )
    irq_caps: tuple[Annotated[int, Field(ge=0, le=1023)], ...] = Field(
        default=(),
        description="ARM: IRQs whose handler capabilities the VMM gets by number (VM_Arm "
        "`irqs`; the platform's vmlinux.h routes them), where `irqs` go with the DTB (`dtb_irqs`)",
        examples=[[27]],
    )
    smmu: tuple[Annotated[int, Field(ge=0, le=63)], ...] = Field(
        default=(),
        description="tk1: SMMU module ids (swgroups) of the devices given to the guest; the VM "
        "gets an IO space for each (VM_Arm `smmu`) and the kernel its SMMU (KernelTk1SMMU)",
        examples=[[2]],
    )
    keep_devices: tuple[DtbPath, ...] = Field(
        default=(),
        description="ARM: DTB nodes kept in the guest's device tree (plat_keep_devices)",
        examples=[["/psci"]],
    )
    keep_devices_and_subtree: tuple[DtbPath, ...] = Field(
        default=(),
        description="ARM: DTB nodes kept with all their children (plat_keep_devices_and_subtree)",
        examples=[["/soc"]],
    )
    ioports: tuple[IoPorts, ...] = Field(
        default=(),
        description="x86: IO port ranges passed through (vm_ioports)",
        examples=[[{"name": "serial", "start": 0x3F8, "end": 0x3FF}]],
    )
    pci: tuple[PciDevice, ...] = Field(
        default=(),
        description="x86: PCI devices passed through (pci_devices)",
        examples=[[{"name": "eth0", "bus": 0, "dev": 25, "fun": 0}]],
    )
    x86_irqs: tuple[X86Irq, ...] = Field(
        default=(),
        description="x86: IOAPIC interrupts routed to the guest (vm_irqs)",
        examples=[[{"name": "serial_irq", "source": 4, "dest": 4}]],
    )


class VirtioBlk(Model):
    """x86: a virtio-blk disk the VMM serves from partitions of the SATA disk that camkes-vm's
    Sataserver drives (the system's `sata:`), as camkes-vm-examples virtio_blk_sample."""

    partitions: Annotated[
        tuple[Annotated[int, Field(ge=1, le=128)], ...], Field(min_length=1, max_length=16)
    ] = Field(
        default=(1,), description="the disk's partitions the guest sees, from 1", examples=[[1]]
    )


class Virtio(Model):
    """Virtio devices the VMM emulates for this guest."""

    console: bool = Field(
        default=False, description="a virtio console (the guest's hvc0)", examples=[True]
    )
    net: bool = Field(default=False, description="a virtio network device", examples=[True])
    blk: VirtioBlk | None = Field(
        default=None,
        description="a virtio-blk disk: x86 from partitions of the system's SATA disk, Microkit "
        "one partition of the sDDF disk",
        examples=[{"partitions": [1]}],
    )


class Requirements(Model):
    """What the guest needs of the system, checked by the simulator."""

    irq_latency_us: Annotated[int, Field(ge=1, le=10_000_000)] | None = Field(
        default=None,
        description="the longest an interrupt may wait for the guest, in microseconds",
        examples=[500],
    )


class Vmm(Model):
    """Per-VMM resources (CAmkES attributes of the VM instance)."""

    heap_size: Size | None = Field(
        default=None, description="the VMM's heap (heap_size)", examples=["4MiB"]
    )
    cnode_size_bits: Annotated[int, Field(ge=8, le=28)] | None = Field(
        default=None, description="log2 of the VMM's CNode slots (cnode_size_bits)", examples=[18]
    )
    untyped_pools: dict[
        Annotated[int, Field(ge=12, le=40)], Annotated[int, Field(ge=0, le=4096)]
    ] = Field(
        default_factory=dict,
        description="size_bits -> count (simple_untypedNN_pool)",
        examples=[{24: 4, 12: 64}],
    )
    exclude_paddr: tuple[MemoryWindow, ...] = Field(
        default=(),
        description="x86: host-physical ranges the VMM must not use for guest RAM (camkes-vm "
        "`exclude_paddr`; e.g. the IOMMU's RMRR regions, which stay mapped)",
        examples=[[{"paddr": "0xAD000000", "size": "16MiB"}]],
    )
    allow_smc: bool = Field(
        default=False, description="ARM: let the guest make SMC calls (allow_smc)", examples=[True]
    )
    allowed_smc_functions: tuple[Annotated[int, Field(ge=0, le=0xFFFFFFFF)], ...] = Field(
        default=(),
        description="ARM: the SMC function ids the guest may call (allowed_smc_functions)",
        examples=[[0xC2000001]],
    )


# ---------------------------------------------------------------- VM


class VmFields(Model):
    """Fields a VM has; every one optional so that a per-platform patch can reuse them."""

    vcpus: Annotated[int, Field(ge=1, le=64)] | None = Field(
        default=None, description="the VM's VCPU count (1-64)", examples=[2]
    )
    priority: Priority | None = Field(
        default=None, description="the VM's scheduling priority (0-255)", examples=[100]
    )
    ram: Ram | None = Field(
        default=None,
        description="guest RAM: size; on ARM also base (guest-physical) and paddr (host-physical)",
        examples=[{"size": "512MiB", "base": "0x40000000"}],
    )
    kernel: Kernel | None = Field(
        default=None,
        description=KERNEL_DOC,
        examples=[{"image": "${CAMKES_VM_IMAGES_DIR}/qemu-arm-virt/linux"}],
    )
    cmdline: Cmdline | None = Field(
        default=None,
        description="the guest's kernel command line",
        examples=["console=ttyAMA0 earlycon"],
    )
    initrd: Initrd | None = Field(
        default=None,
        description="the initial RAM disk",
        examples=[{"image": "${CAMKES_VM_IMAGES_DIR}/qemu-arm-virt/rootfs.cpio.gz"}],
    )
    dtb: Dtb | None = Field(
        default=None,
        description="the device tree, generated by the VMM or provided",
        examples=[{"mode": "generate", "address": "0x4F000000"}],
    )
    stdout: Annotated[str, Field(max_length=256)] | None = Field(
        default=None,
        description="the guest's console: a DTB path or alias (ARM), hvc0 for virtio",
        examples=["/pl011@9000000"],
    )
    passthrough: Passthrough | None = Field(
        default=None,
        description="hardware given to the guest: ARM devices, mmios, untyped_mmios, irqs, "
        "keep_devices; x86 ioports, pci, x86_irqs",
        examples=[{"devices": ["/pl011@9000000"]}],
    )
    virtio: Virtio | None = Field(
        default=None,
        description="virtio devices the VMM emulates: console, net, blk (Microkit: over sDDF)",
        examples=[{"console": True}],
    )
    requirements: Requirements | None = Field(
        default=None,
        description="what the guest needs of the system, checked by the simulator",
        examples=[{"irq_latency_us": 500}],
    )
    iospace_domain: Annotated[int, Field(ge=0, le=0xFFFF)] | None = Field(
        default=None, description="x86: the IOMMU domain of the VM's PCI devices", examples=[15]
    )
    framebuffer: bool | None = Field(
        default=None,
        description="x86: give the guest the VESA frame buffer the boot loader set up (the "
        "kernel passes its VBE information; its memory goes in passthrough.untyped_mmios)",
        examples=[True],
    )
    vmm: Vmm | None = Field(
        default=None,
        description="the VMM's resources: heap, CNode size, untyped pools, SMC filtering",
        examples=[{"heap_size": "4MiB"}],
    )
    budget_us: Annotated[int, Field(ge=1, le=MAX_BUDGET_US)] | None = Field(
        default=None,
        description="Microkit (MCS): the VM's scheduling budget in microseconds",
        examples=[1000],
    )
    period_us: Annotated[int, Field(ge=1, le=MAX_BUDGET_US)] | None = Field(
        default=None,
        description="Microkit (MCS): the period of that budget in microseconds",
        examples=[10000],
    )


# Parts of a VM a `per_platform` patch may remove by writing `null` (e.g. a board whose guest
# boots from its own disk and loads no initrd, as vm_minimal on tx1 and tk1).
REMOVABLE = frozenset({"initrd"})


class VmPatch(VmFields):
    """What a VM changes on one platform (`per_platform:`); `initrd: null` removes the
    VM's initrd on that platform."""


class Vm(VmFields):
    """One virtual machine: a guest and the VMM that runs it."""

    name: Identifier = Field(
        description="the VM's name (a C identifier; it names the VMM instance)", examples=["vm0"]
    )
    kernel: Kernel = Field(
        description=KERNEL_DOC, examples=[{"image": "${CAMKES_VM_IMAGES_DIR}/qemu-arm-virt/linux"}]
    )
    per_platform: dict[PlatformName, VmPatch] = Field(
        default_factory=dict,
        description="changes to this VM on one platform: platform name -> VM fields",
        examples=[{"tx2": {"ram": {"base": "0xF1000000", "size": "128MiB"}}}],
    )

    def on(self, platform: str) -> Vm:
        """This VM with the `per_platform` patch for `platform` applied (shallow, field by field)."""
        patch = self.per_platform.get(platform)
        if patch is None:
            return self
        update = {
            k: getattr(patch, k)
            for k in patch.model_fields_set
            if getattr(patch, k) is not None or k in REMOVABLE
        }
        return self.model_copy(update=update)


class VmFile(VmFields):
    """A VM in a file of its own, what a system's `- include: FILE` names: a VM's fields,
    none of them required, since the including entry may give any of them."""

    name: Identifier | None = Field(
        default=None,
        description=Vm.model_fields["name"].description,
        examples=Vm.model_fields["name"].examples,
    )
    per_platform: dict[PlatformName, VmPatch] = Field(
        default_factory=dict,
        description=Vm.model_fields["per_platform"].description,
        examples=Vm.model_fields["per_platform"].examples,
    )


# ---------------------------------------------------------------- native components and connections


class CakeML(Model):
    """A component written in CakeML: the HOL theory scripts camkes-tool builds into it
    (DeclareCAmkESComponent's CAKEML_* arguments, camkes-tool camkes.cmake), compiled with
    the CakeML checkout the build is given (-DCAKEMLDIR=...)."""

    sources: tuple[ImagePath, ...] = Field(
        min_length=1,
        description="its HOL theory scripts (<theory>Script.sml), in order (CAKEML_SOURCES)",
        examples=[["${CMAKE_CURRENT_SOURCE_DIR}/filter/componentScript.sml"]],
    )
    libraries: tuple[ImagePath, ...] = Field(
        default=(),
        description="library scripts chained before it: each is configured into the build "
        "folder with @DEPENDENCY_PATH@ set to the theory before it (camkesStart for the "
        "first), as camkes-vm-examples zmq_samples' CakeMLPP; added to CAKEML_SOURCES after "
        "`sources`",
        examples=[["${CMAKE_CURRENT_SOURCE_DIR}/filter/virtqueueScript.sml"]],
    )
    includes: tuple[ImagePath, ...] = Field(
        default=(),
        description="extra folders the HOL build reads (CAKEML_INCLUDES)",
        examples=[["${CAKEMLDIR}/semantics/alt_semantics"]],
    )
    heap_size: Annotated[int, Field(ge=1, le=4096)] | None = Field(
        default=None,
        description="the CakeML heap in MiB (CAKEML_HEAP_SIZE; camkes-tool's default 50)",
        examples=[50],
    )
    stack_size: Annotated[int, Field(ge=1, le=4096)] | None = Field(
        default=None,
        description="the CakeML stack in MiB (CAKEML_STACK_SIZE; camkes-tool's default 50)",
        examples=[50],
    )


class Component(Model):
    """A native CAmkES component in the system (e.g. the peer of a cross-VM connection)."""

    name: Identifier = Field(description="the component instance's name", examples=["ping"])
    type: Identifier = Field(description="the CAmkES component type", examples=["Ping"])
    sources: tuple[ImagePath, ...] = Field(
        default=(), description="its C sources, relative to the system file", examples=[["ping.c"]]
    )
    priority: Priority | None = Field(
        default=None, description="its scheduling priority (0-255)", examples=[101]
    )
    cakeml: CakeML | None = Field(
        default=None,
        description="x86: the component is a CakeML program (environment cakeml)",
        examples=[
            {"sources": ["${CMAKE_CURRENT_SOURCE_DIR}/filter/componentScript.sml"], "heap_size": 50}
        ],
    )
    heap_size: Size | None = Field(
        default=None, description="its C heap (heap_size)", examples=["64KiB"]
    )
    untyped_pools: dict[
        Annotated[int, Field(ge=12, le=40)], Annotated[int, Field(ge=0, le=4096)]
    ] = Field(
        default_factory=dict,
        description="size_bits -> count of untyped memory its `simple` is given "
        "(simple_untypedNN_pool, with simple and asid_pool on)",
        examples=[{23: 21, 22: 1}],
    )


class Dataport(Model):
    """A shared-memory window between a VM and a component."""

    name: Identifier = Field(description="the dataport's name in the VM", examples=["shared"])
    size: Size = Field(default=4096, description="the shared memory's size", examples=["4KiB"])
    peer: Identifier = Field(description="the component's dataport name", examples=["shared"])


class Event(Model):
    """A notification between a VM and a component."""

    name: Identifier = Field(description="the event's name in the VM", examples=["ready"])
    direction: Literal["to_vm", "from_vm"] = Field(
        description="to_vm: the component notifies the VM; from_vm: the VM notifies it",
        examples=["to_vm"],
    )
    peer: Identifier = Field(description="the component's event name", examples=["ready"])


class GuestRam(Model):
    """The VM's whole RAM shared with the component, for introspection (camkes-vm-examples
    vm_introspect's `memdev`): the VMM builds the guest's RAM from this dataport's frames,
    so the component can read guest memory."""

    name: Identifier = Field(description="the VM's dataport name", examples=["memdev"])
    peer: Identifier = Field(description="the component's dataport name", examples=["memdev"])


class CrossVm(Model):
    """Dataports and events between a VM and a native component (camkes-vm cross-VM)."""

    type: Literal["cross_vm"] = Field(description="the connection's kind", examples=["cross_vm"])
    vm: Identifier = Field(description="the VM's name", examples=["vm0"])
    component: Identifier = Field(description="the component's name", examples=["ping"])
    dataports: tuple[Dataport, ...] = Field(
        default=(),
        description="shared-memory windows",
        examples=[[{"name": "shared", "size": "4KiB", "peer": "shared"}]],
    )
    events: tuple[Event, ...] = Field(
        default=(),
        description="notifications",
        examples=[[{"name": "ready", "direction": "to_vm", "peer": "ready"}]],
    )
    guest_ram: GuestRam | None = Field(
        default=None,
        description="ARM: share the VM's whole RAM with the component",
        examples=[{"name": "memdev", "peer": "memdev"}],
    )


class VirtioNet(Model):
    """A virtio-net link between two VMs (or a VM and a component) over a pair of virtqueues."""

    type: Literal["virtio_net"] = Field(
        description="the connection's kind", examples=["virtio_net"]
    )
    between: Annotated[tuple[Identifier, Identifier], Field()] = Field(
        description="the two ends: VM or component names", examples=[["vm0", "vm1"]]
    )
    queue_size: Size | None = Field(
        default=None,
        description="shared memory of each virtqueue; default 32 KiB on x86 (camkes-vm "
        "configurations/connections.h), 8 KiB on ARM (vm_multi)",
        examples=["32KiB"],
    )


Connection = Annotated[CrossVm | VirtioNet, Field(discriminator="type")]


SataList = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[0-9a-fA-Fx:.,]+$")]


class Sata(Model):
    """x86: the AHCI SATA controller camkes-vm's Sataserver drives for virtio-blk guests, as
    its `sataserver.*` settings name it (camkes-vm-examples virtio_blk_sample.camkes)."""

    ioports: SataList = Field(
        description="the controller's IO port ranges, first:last,...",
        examples=["0xf090:0xf097,0xf080:0xf083"],
    )
    iospaces: SataList = Field(
        description="IO space of the controller: domain:bus:dev:fun", examples=["0x12:0x0:0x1f:2"]
    )
    pci_bdfs: SataList = Field(
        description="PCI bus:dev.fun of the controller(s)", examples=["0x0:0x1f.2"]
    )
    iospace_id: Annotated[int, Field(ge=0, le=0xFFFF)] = Field(
        description="its IOMMU domain", examples=[18]
    )
    drive: Annotated[int, Field(ge=0, le=31)] = Field(
        default=0, description="the disk's port", examples=[0]
    )
    hardware: Literal["optiplex", "supermicro"] = Field(
        description="the board whose AHCI details the Sataserver is built with "
        "(CAmkESVMDestHardware; camkes-vm components/Sataserver/include/plat/pc99/<board>)",
        examples=["optiplex"],
    )


# ---------------------------------------------------------------- simulation knobs


class Simulation(Model):
    """Scenario knobs for the reference simulator (also settable on the command line)."""

    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = Field(
        default=SIMULATION["seed"], description="the random seed of a run", examples=[42]
    )
    duration_ms: Annotated[int, Field(ge=1, le=60_000)] = Field(
        default=SIMULATION["duration_ms"],
        description="simulated time, in milliseconds",
        examples=[100],
    )
    timer_hz: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=SIMULATION["timer_hz"], description="the guests' timer tick rate", examples=[250]
    )
    device_irq_hz: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        default=SIMULATION["device_irq_hz"],
        description="the rate of passed-through device interrupts",
        examples=[1000],
    )
    critical_section_us: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        default=SIMULATION["critical_section_us"],
        description="the longest a guest runs with interrupts masked, in microseconds",
        examples=[50],
    )
    max_states: Annotated[int, Field(ge=1, le=100_000_000)] = Field(
        default=SIMULATION["max_states"],
        description="explore: the most states visited",
        examples=[200000],
    )
    max_depth: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=SIMULATION["max_depth"],
        description="explore: the longest path followed",
        examples=[200],
    )


# ---------------------------------------------------------------- the system


class System(Model):
    """A whole seL4 virtualisation system."""

    name: Identifier = Field(
        description="the application's name (a C identifier; it names the output folder)",
        examples=["vm_minimal"],
    )
    arch: Literal["x86", "arm"] = Field(description="x86 or arm", examples=["arm"])
    sel4_arch: Literal["ia32", "x86_64", "aarch64", "aarch32"] = Field(
        description="ia32 or x86_64 (x86), aarch64 or aarch32 (arm)", examples=["aarch64"]
    )
    platform: (
        PlatformName | Annotated[tuple[PlatformName, ...], Field(min_length=1, max_length=16)]
    ) = Field(
        description="a platform name (sel4vmgen platforms lists them), or a list of them",
        examples=["qemu-arm-virt"],
    )
    framework: (
        FrameworkName | Annotated[tuple[FrameworkName, ...], Field(min_length=1, max_length=2)]
    ) = Field(
        default="camkes",
        description="camkes (camkes-vm apps) or microkit (Microkit SDF with libvmm VMMs), or "
        "both as a list; each platform belongs to one of them",
        examples=["camkes"],
    )
    num_nodes: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description="cores the kernel runs on (KernelMaxNumNodes), default 1",
        examples=[2],
    )
    kernel_options: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")], bool | int | str
    ] = Field(
        default_factory=dict,
        description="extra seL4 / CAmkES CMake options, Name: value",
        examples=[{"KernelPrinting": True}],
    )
    platform_options: dict[
        PlatformName,
        dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")], bool | int | str],
    ] = Field(
        default_factory=dict,
        description="CMake options written for one platform only, by platform name (zcu102: "
        "VmZynqmpPetalinuxVersion, the Petalinux release of its guest images)",
        examples=[{"zcu102": {"VmZynqmpPetalinuxVersion": "2022_1"}}],
    )
    components: tuple[Component, ...] = Field(
        default=(),
        description="native CAmkES components",
        examples=[[{"name": "ping", "type": "Ping"}]],
    )
    vms: Annotated[tuple[Vm, ...], Field(max_length=4096)] = Field(
        description="the virtual machines (at least one)",
        examples=[[{"name": "vm0", "kernel": {"image": "linux"}}]],
    )
    connections: tuple[Connection, ...] = Field(
        default=(),
        description="cross_vm and virtio_net links",
        examples=[[{"type": "virtio_net", "between": ["vm0", "vm1"]}]],
    )
    sata: Sata | None = Field(
        default=None,
        description="x86: the disk of virtio-blk guests",
        examples=[
            {
                "ioports": "0xf090:0xf097",
                "iospaces": "0x12:0x0:0x1f:2",
                "pci_bdfs": "0x0:0x1f.2",
                "iospace_id": 18,
                "hardware": "optiplex",
            }
        ],
    )
    simulation: Simulation = Field(
        default_factory=lambda: Simulation(),
        description="seed, duration and rates for the reference simulator",
        examples=[{"seed": 42, "duration_ms": 100}],
    )

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
