"""The Plan: what will be deployed, with every number decided.

Frozen dataclasses, produced by `resolve(system, platform)` and consumed by
the renderers and the simulator (directly, or from a generated app's
`plan.json`).  Nothing downstream computes an address, a priority or a name:
it reads it here, and each fact is stored once: what follows from a field
(camkes-vm's `guest_ram_mb` from `ram.size`, the ARM kernel entry from
`kernel.guest`, x86's `KernelSel4Arch` / `KernelMaxNumNodes` from
`sel4_arch` / `num_nodes`) is formatted by the renderer, not kept twice.
`Plan.to_json()` writes it; `app.planfile` is its one reader (checked, the
invariants included), and the two round-trip exactly; `PLAN_FORMAT` changes
whenever the shape does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from sel4vmgen.codec import Hex, encode
from sel4vmgen.defaults import SIMULATION
from sel4vmgen.plan.microkit_model import MicrokitSystem

PLAN_FORMAT = 2  # 2: derived copies dropped (guest_ram_mb, kernel_entry, x86 arch options)

# The priority CAmkES gives a thread whose component sets none (camkes-tool's default).
CAMKES_DEFAULT_PRIORITY = 254
# camkes-vm's ARM VMM thread priority when the app sets none: VM_CONFIGURATION_DEF's
# base_prio (seL4/camkes-vm components/VM_Arm/configurations/vm.h).
CAMKES_VM_BASE_PRIO = 100
# The vGIC list registers libsel4vm drives when a plan carries no GIC of its own
# (NUM_LIST_REGS, seL4/seL4_projects_libs libsel4vm/src/arch/arm/vgic/virq.h); a plan's
# `Gic.list_registers` comes from its platform's data.
LIBSEL4VM_LIST_REGISTERS = 4

ThreadRole = Literal[
    "vm", "vmm", "vcpu", "irq_server", "component", "time_server", "serial", "fserv"
]
RegionKind = Literal[
    "ram",
    "kernel",
    "dtb",
    "initrd",
    "mmio",
    "untyped_mmio",
    "gic_cpu",
    "gic_dist",
    "virtio",
    "crossvm",
    "pci_bar",
]


@dataclass(frozen=True)
class Thread:
    """One seL4 thread the system creates: who it serves, its priority and its core."""

    name: str
    role: ThreadRole
    priority: int
    core: int | None = None  # fixed affinity; None = the CAmkES default (core 0)
    vm: str | None = None  # instance name of the VM it belongs to
    vcpu: int | None = None


@dataclass(frozen=True)
class DtFacts:
    """How a passthrough device is described in a device tree sel4vmgen writes whole:
    its compatible strings and the fixed clock (Hz) fed to each of its named clock inputs."""

    compatible: tuple[str, ...]
    clock_names: tuple[str, ...] = ()
    clock_hz: int | None = None


@dataclass(frozen=True)
class Region:
    """A memory window: guest-physical and/or host-physical address, size, and what it is."""

    kind: RegionKind
    name: str
    size: Hex
    guest: Hex | None = None
    paddr: Hex | None = None
    page_bits: int = 12
    dt: DtFacts | None = None  # a platform device's device-tree description, when known

    @property
    def guest_end(self) -> int:
        return (self.guest or 0) + self.size


@dataclass(frozen=True)
class Image:
    """A file the VMM loads from the file server."""

    role: Literal["kernel", "initrd", "dtb"]
    fs_name: str  # name inside the file server (AddToFileServer's first argument)
    source: str  # path as the build refers to it: absolute, or ${CAMKES_VM_IMAGES_DIR}/...
    guest: Hex | None = None  # load address in guest memory, when fixed
    size: Hex | None = None  # bytes, when the file was found at resolve time
    max_size: Hex | None = None  # room reserved for it (initrd_max_size)
    format: str | None = None  # bzImage, Image, dts, dtb, cpio...
    vm: str | None = None  # instance name; None when shared by several VMs
    # How to read `source` (see plan/resolution.py): "build" = a CMake path kept as written
    # (${CAMKES_VM_IMAGES_DIR}/...), "absolute" = an absolute path the user wrote, "system" =
    # relative to the system file's folder (made absolute at render time), "generated" = a file
    # the renderer writes into the app (relative to the app folder).
    base: Literal["build", "absolute", "system", "generated"] = "build"

    @property
    def extent(self) -> int:
        """The bytes it takes in guest memory: its size when known, else the room reserved."""
        return self.size if self.size is not None else (self.max_size or 0)


@dataclass(frozen=True)
class IrqRoute:
    """An interrupt from a source to a VM: physical line -> virtual IRQ, with its trigger."""

    vm: str
    source: int  # physical IRQ (ARM GIC id; x86 IOAPIC pin), or -1 for a purely virtual source
    virq: int  # what the guest sees (ARM vIRQ id; x86 guest IRQ / PIC line)
    trigger: Literal["level", "edge"]
    kind: Literal["passthrough", "vtimer", "virtio", "crossvm", "serial"]
    name: str = ""
    active_low: bool = False
    ioapic: int = 0


@dataclass(frozen=True)
class Vpci:
    """The VMM's emulated PCI host bridge as an ARM guest sees it (camkes-vm puts its
    virtio console and net devices there): the config, IO and 32-bit memory windows,
    and the bus-0 device numbers of the virtio devices (device 0 is the bridge)."""

    cfg: Hex
    cfg_size: Hex
    io: Hex
    io_size: Hex
    mem: Hex
    mem_size: Hex
    slots: tuple[int, ...] = ()
    pin: int = 1  # INTx pin of each virtio device (1 = INTA)


@dataclass(frozen=True)
class IoPortRange:
    """x86 IO ports given to a VM (`vm_ioports`)."""

    name: str
    start: Hex
    end: Hex
    pci_device: int = 0


@dataclass(frozen=True)
class PciDevice:
    """x86 PCI passthrough (`pci_devices`)."""

    name: str
    bus: int
    dev: int
    fun: int
    irq: int | None
    memory: tuple[Region, ...] = ()


@dataclass(frozen=True)
class Dataport:
    """A cross-VM shared-memory window: the VM's end and the component's end."""

    name: str  # interface name on the VM component (e.g. dp1, crossvm_dp_0)
    size: Hex
    peer: str  # instance of the other end
    peer_name: str  # interface name on the other end
    id: int  # the `<name>_id` setting
    guest: Hex | None = None  # ARM: where the window appears in guest memory


@dataclass(frozen=True)
class Event:
    """A cross-VM notification, and the badge it is consumed with."""

    name: str
    direction: Literal["to_vm", "from_vm"]
    peer: str
    peer_name: str
    badge: int = 0


@dataclass(frozen=True)
class VirtqueueEnd:
    """One VM's end of a virtio-net link: its send/recv interfaces and their ids."""

    vm: str
    send: str  # interface names, e.g. send1 / ether_2_send
    recv: str
    send_id: int
    recv_id: int
    mac: str


@dataclass(frozen=True)
class Virtqueue:
    """A virtio-net link: one VirtQueueInit instance joining two ends."""

    instance: str  # e.g. vm1_vm0
    ends: tuple[VirtqueueEnd, VirtqueueEnd]
    shmem_size: Hex


@dataclass(frozen=True)
class Setting:
    """An extra CAmkES attribute of a VM instance, in the order it is written."""

    name: str
    value: int | str | bool | tuple[int, ...] | tuple[str, ...]


@dataclass(frozen=True)
class VmPlan:
    """Everything about one VM, decided."""

    index: int
    name: str  # the user's name
    instance: str  # vm0, vm1, ...
    component: str  # Init0 (x86) or VM (ARM)
    vcpus: int
    priority: int  # ARM: base_prio (the VMM thread); x86: the VM thread
    ram: Region
    kernel: Image
    initrd: Image | None
    dtb: Image | None
    dtb_mode: Literal["generate", "provide", "none"]
    cmdline: str
    stdout: str | None
    dtb_nodes: tuple[str, ...] = ()  # dtb passthrough query paths
    dtb_compatibles: tuple[str, ...] = ()
    dtb_irqs: tuple[int, ...] = ()
    irqs: tuple[int, ...] = ()
    mmios: tuple[Region, ...] = ()
    untyped_mmios: tuple[Region, ...] = ()
    keep_devices: tuple[str, ...] = ()
    keep_devices_and_subtree: tuple[str, ...] = ()
    ioports: tuple[IoPortRange, ...] = ()
    pci_devices: tuple[PciDevice, ...] = ()
    iospace_domain: int | None = None
    virtio_console: bool = False
    virtio_net: bool = False
    dataports: tuple[Dataport, ...] = ()
    events: tuple[Event, ...] = ()
    virtqueues: tuple[VirtqueueEnd, ...] = ()
    settings: tuple[Setting, ...] = ()
    map_one_to_one: bool = False
    clean_cache: bool = False
    irq_latency_us: int | None = None
    devices: tuple[
        Region, ...
    ] = ()  # every device window the guest sees (for the DT and the simulator)
    kernel_relocs: str | None = None  # x86 `kernel_relocs`: the kernel's file-server name, or ""
    irq_server_priority: int | None = None  # ARM: base_prio + 1
    mac: str | None = None  # vswitch MAC of a VM with virtio-net (02:00:00:00:AA:<n+1>)
    vpci: Vpci | None = None  # ARM: the emulated PCI bus of its virtio devices
    # ARM: the VM's RAM is this dataport, shared with a component (introspection); its size
    # and guest address are the RAM's, and the RAM is then not in `untyped_mmios`
    ram_dataport: Dataport | None = None
    exclude_paddr: tuple[Region, ...] = ()  # x86: host memory the VMM must not use as RAM
    framebuffer: bool = False  # x86: the guest is given the VESA frame buffer (VBE info)
    blk_partitions: tuple[int, ...] = ()  # x86: a virtio-blk disk of these SATA partitions


@dataclass(frozen=True)
class CakemlLibrary:
    """A CakeML library script configured into the build folder before it is compiled, its
    `@DEPENDENCY_PATH@` replaced by the theory it extends (camkes-vm-examples zmq_samples
    libs/cakeml_helpers.cmake, CakeMLPP)."""

    source: str  # the user's script
    configured: str  # the configured copy, under ${CMAKE_CURRENT_BINARY_DIR}
    extends: str  # the theory @DEPENDENCY_PATH@ names (camkesStart for the first)


@dataclass(frozen=True)
class CakemlPlan:
    """A CakeML component's build (DeclareCAmkESComponent CAKEML_* arguments)."""

    sources: tuple[str, ...]
    libraries: tuple[CakemlLibrary, ...] = ()
    includes: tuple[str, ...] = ()
    heap_size: int | None = None  # MiB; None: camkes-tool's default
    stack_size: int | None = None


@dataclass(frozen=True)
class ComponentPlan:
    """A native CAmkES component instance."""

    name: str
    type: str
    sources: tuple[str, ...] = ()
    priority: int | None = None
    # Its ends of virtio-net links (x86: the component is a vswitch node, vm<index>)
    virtqueues: tuple[VirtqueueEnd, ...] = ()
    index: int | None = None  # its number among the linked instances (set with virtqueues)
    cakeml: CakemlPlan | None = None
    libs: tuple[str, ...] = ()  # libraries it links (LIBS)
    settings: tuple[Setting, ...] = ()  # its CAmkES attributes, in the order written


@dataclass(frozen=True)
class Gic:
    """The interrupt controller as the guests see it (ARM)."""

    version: int
    dist: Hex  # GICD, emulated by the VMM at this guest address
    cpu: Hex  # GICC as the guest sees it (the host GICV frame is mapped here)
    vcpu: Hex  # host GICV frame
    hyp: Hex  # GICH, kernel only
    list_registers: int
    maintenance_irq: int
    vtimer_irq: int


@dataclass(frozen=True)
class CMakeOption:
    """A CMake cache option the app sets, in the order it is written."""

    name: str
    value: str | int | bool


@dataclass(frozen=True)
class OverlayFile:
    """A file the build adds to a guest rootfs: where it goes in the rootfs, and the file of
    the app it is made from (written by the renderer from `getty`)."""

    name: str  # file name inside the rootfs folder (inittab)
    folder: str  # folder inside the rootfs (etc)
    source: str  # path inside the app (overlay_files/inittab_hvc0)
    getty: str  # the console the inittab starts a getty on (hvc0); "" for a user's file
    copy_of: str = ""  # a user's file (as the system names it) copied into the app at `source`


@dataclass(frozen=True)
class GuestBuild:
    """A CMake project built for the guests with their Linux toolchain (an ExternalProject of
    the app, as camkes-vm-examples zmq_samples' demoapps_external), built once; the overlays
    that list it get its `installs` at `folder`."""

    name: str  # the CMake target (ExternalProject_Add's name)
    source: str  # the project's folder, as the system names it (copied into the app if local)
    installs: tuple[str, ...]  # the programs it builds that go into the rootfs
    folder: str  # folder inside the rootfs (bin/ on x86, usr/bin on ARM, as the real apps)
    depends: tuple[str, ...] = ()  # builds it needs first (a library)
    cmake_args: tuple[str, ...] = ()  # the user's -D arguments, after the toolchain's


@dataclass(frozen=True)
class RootfsOverlay:
    """An initrd rebuilt with extra files at build time (camkes-vm-linux's
    AddFileToOverlayDir / AddOverlayDirToRootfs), loaded under the initrd's file-server name."""

    image: str  # fs_name of the initrd it replaces
    target: str  # CMake name of the overlay and its targets (an identifier)
    distro: Literal["buildroot"]  # the rootfs flavour install_artifacts_rootfs.sh unpacks
    gzip: bool  # the rootfs is a .cpio.gz and the result is compressed again
    files: tuple[OverlayFile, ...]
    builds: tuple[str, ...] = ()  # names of the GuestBuilds whose programs it gets, in order


@dataclass(frozen=True)
class QemuPlan:
    """How the build runs the platform under QEMU: the RAM it gives the machine (`-m`),
    written as QEMU_MEMORY so that the DTB the kernel is built against and the `simulate`
    script both see it (seL4/seL4_tools cmake-tool/helpers/simulation.cmake)."""

    memory_mb: int


@dataclass(frozen=True)
class SataPlan:
    """The SATA controller camkes-vm's Sataserver drives for virtio-blk guests."""

    ioports: str
    iospaces: str
    pci_bdfs: str
    num_bdfs: int
    iospace_id: int
    drive: int
    hardware: str  # CAmkESVMDestHardware: the board's AHCI details for the Sataserver


@dataclass(frozen=True)
class SimulationPlan:
    """Scenario knobs for the simulator, resolved from the system's `simulation:`."""

    seed: int
    duration_ms: int
    timer_hz: int
    device_irq_hz: int
    critical_section_us: int
    max_states: int
    max_depth: int


DEFAULT_SIMULATION = SimulationPlan(**SIMULATION)


@dataclass(frozen=True)
class Plan:
    """A whole system on one platform, ready to render or to simulate."""

    format: int
    tool_version: str
    system: str
    arch: Literal["x86", "arm"]
    sel4_arch: Literal["ia32", "x86_64", "aarch64", "aarch32"]
    platform: str  # the -DPLATFORM name (pc99 is written x86_64/ia32 there)
    kernel_platform: str  # KernelPlatform
    arm_platform: str | None  # KernelARMPlatform
    num_nodes: int
    vms: tuple[VmPlan, ...]
    threads: tuple[Thread, ...]
    irq_routes: tuple[IrqRoute, ...]
    file_server: tuple[Image, ...]
    cmake_options: tuple[CMakeOption, ...]
    components: tuple[ComponentPlan, ...] = ()
    virtqueues: tuple[Virtqueue, ...] = ()
    gic: Gic | None = None
    simulation: SimulationPlan | None = None
    input_sha256: str = ""
    notes: tuple[str, ...] = field(default=())
    framework: Literal["camkes", "microkit"] = "camkes"
    microkit: MicrokitSystem | None = None  # the SDF of a Microkit plan
    qemu: QemuPlan | None = None  # the platform is a QEMU machine
    overlays: tuple[RootfsOverlay, ...] = ()  # initrds rebuilt with extra files
    guest_builds: tuple[GuestBuild, ...] = ()  # programs built for the guests, in build order
    sata: SataPlan | None = None  # x86: the Sataserver's disk, when a VM has virtio-blk

    def to_json(self) -> str:
        """Stable JSON: keys in field order, two-space indent, trailing newline."""
        return json.dumps(encode(self), indent=2) + "\n"

    def link_of(self, end: VirtqueueEnd) -> tuple[Virtqueue, VirtqueueEnd]:
        """The virtio-net link `end` is an end of, and the end at its other side
        (`KeyError` when no link has it)."""
        for link in self.virtqueues:
            if end in link.ends:
                return link, link.ends[1] if link.ends[0] == end else link.ends[0]
        raise KeyError(end.send)

    def vm(self, instance: str) -> VmPlan:
        """The VM with this instance name."""
        for v in self.vms:
            if v.instance == instance:
                return v
        raise KeyError(instance)
