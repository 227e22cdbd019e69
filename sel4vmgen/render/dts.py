"""Guest device trees for ARM VMs whose DTB sel4vmgen provides.

When a VM's `dtb.mode` is `provide` and the user names no file, the VMM
loads a DTB that the app's CMake step compiles with `dtc` from a `.dts`
written here.  `guest_tree(plan, vm)` builds a small tree of `DtNode`s from
the Plan only (memory, CPUs and PSCI, the GIC at the guest-visible GICD and
GICC addresses, the architected timer, passthrough and virtio-mmio devices,
the VMM's PCI host bridge when the VM has virtio-PCI devices, `chosen`);
`format_dts(tree)` turns it into source text.  Nothing here picks an address:
every number is read from the Plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sel4vmgen.facts import GIC_FRAME_SIZE
from sel4vmgen.plan.model import Gic, IrqRoute, Plan, Region, VmPlan, Vpci
from sel4vmgen.render.env import RenderError

# A property value: a string list, a cell list (ints, or a "&label" reference),
# raw bytes, or an empty (boolean) property.
Cell = int | str
PropValue = tuple[str, ...] | tuple[Cell, ...] | None


@dataclass(frozen=True)
class Strings:
    """A string-list property value (`"a", "b"`)."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Cells:
    """A cell-list property value (`<0x1 0x2 &gic>`)."""

    items: tuple[Cell, ...]


Value = Strings | Cells | None


@dataclass(frozen=True)
class DtNode:
    """One device-tree node: name (with unit address), optional label, properties, children."""

    name: str
    props: tuple[tuple[str, Value], ...] = ()
    children: tuple[DtNode, ...] = ()
    label: str | None = None


# Interrupt specifier parts for an `arm,cortex-a15-gic` (GICv2) node: type 0 = SPI
# (IRQ id - 32), type 1 = PPI (IRQ id - 16); flags 1 = edge rising, 4 = level high
# (Linux bindings interrupt-controller/arm,gic.yaml).
GIC_SPI = 0
GIC_PPI = 1
IRQ_EDGE_RISING = 1
IRQ_LEVEL_HIGH = 4
# The architected timer's PPIs in the order its binding lists them: secure physical,
# non-secure physical, virtual, hypervisor (PPI 13, 14, 11, 10; every platform DTS of
# seL4 lists these, and the kernel's INTERRUPT_VTIMER_EVENT is 27 = PPI 11).
TIMER_PPIS = (13, 14, 11, 10)
GIC_LABEL = "gic"
# The VMM's PCI host bridge node, as camkes-vm writes it into a generated guest DTB
# (seL4/seL4_projects_libs libsel4vmmplatsupport src/arch/arm/devices/vpci.c,
# fdt_generate_vpci_node): a generic CAM host on bus 0, three PCI address cells whose
# first cell's space code is 1 = IO, 2 = 32-bit memory (bits 24-25), the device
# number at bits 11-15 of that cell, and an INTx map masked to device and pin.
PCI_COMPATIBLE = "pci-host-cam-generic"
PCI_BUS_RANGE = (0, 1)
PCI_SPACE_IO = 0x01000000
PCI_SPACE_MEM32 = 0x02000000
PCI_DEV_SHIFT = 11
PCI_MAP_MASK = (0xF800, 0, 0, 7)


def guest_tree(plan: Plan, vm: VmPlan) -> DtNode:
    """The device tree the guest of `vm` boots with, built from the Plan."""
    if plan.gic is None:
        raise RenderError(f"plan for {plan.platform} has no GIC; an ARM guest needs one")
    children = (
        _psci(plan),
        _cpus(plan, vm),
        _memory(vm.ram),
        _gic(plan.gic),
        _timer(plan, vm.vcpus),
        *_clocks(vm),
        *_devices(vm, _routes(plan, vm)),
        *_pci(vm, _routes(plan, vm)),
        _chosen(vm),
    )
    props: tuple[tuple[str, Value], ...] = (
        ("#address-cells", Cells((2,))),
        ("#size-cells", Cells((2,))),
        ("compatible", Strings(("linux,dummy-virt",))),
        ("model", Strings((f"sel4vmgen {plan.system} {vm.instance} on {plan.platform}",))),
        ("interrupt-parent", Cells((f"&{GIC_LABEL}",))),
    )
    return DtNode("/", props, tuple(sorted(children, key=_order)))


def _order(node: DtNode) -> tuple[int, int, str]:
    """Nodes without a unit address first, then by address (dtc prints in source order)."""
    if "@" not in node.name:
        return (0, 0, node.name)
    base, _, addr = node.name.partition("@")
    return (1, int(addr, 16), base)


# The PSCI node of a guest: libsel4vm (CAmkES) handles PSCI calls trapped from SMC
# (psci.c), and QEMU's virt machine with virtualization=on describes the same "smc"
# conduit; libvmm 0.2.0 also traps SMC only (src/arch/aarch64/fault.c handles
# HSR_SMC_64_EXCEPTION; an HVC is no PSCI call there) and its guests carry
# examples/simple/board/qemu_virt_aarch64/linux.dts's node.
PSCI_COMPATIBLE = {
    "camkes": ("arm,psci-1.0", "arm,psci-0.2"),
    "microkit": ("arm,psci-0.2", "arm,psci"),
}
PSCI_METHOD = "smc"


def _psci(plan: Plan) -> DtNode:
    return DtNode(
        "psci",
        (
            ("compatible", Strings(PSCI_COMPATIBLE[plan.framework])),
            ("method", Strings((PSCI_METHOD,))),
        ),
    )


def _cpu_compatible(plan: Plan) -> str:
    for option in plan.cmake_options:
        if option.name == "KernelArmCPU" and isinstance(option.value, str):
            return f"arm,{option.value}"
    return "arm,armv8" if plan.sel4_arch == "aarch64" else "arm,cortex-a15"


def _cpus(plan: Plan, vm: VmPlan) -> DtNode:
    compatible = _cpu_compatible(plan)
    cpus = tuple(
        DtNode(
            f"cpu@{n:x}",
            (
                ("device_type", Strings(("cpu",))),
                ("compatible", Strings((compatible,))),
                ("reg", Cells((n,))),
                ("enable-method", Strings(("psci",))),
            ),
        )
        for n in range(vm.vcpus)
    )
    return DtNode("cpus", (("#address-cells", Cells((1,))), ("#size-cells", Cells((0,)))), cpus)


def _reg(*windows: tuple[int, int]) -> Cells:
    cells: list[Cell] = []
    for addr, size in windows:
        cells += [addr >> 32, addr & 0xFFFFFFFF, size >> 32, size & 0xFFFFFFFF]
    return Cells(tuple(cells))


def _memory(ram: Region) -> DtNode:
    base = ram.guest if ram.guest is not None else (ram.paddr or 0)
    return DtNode(
        f"memory@{base:x}",
        (("device_type", Strings(("memory",))), ("reg", _reg((base, ram.size)))),
    )


def _gic(gic: Gic) -> DtNode:
    return DtNode(
        f"intc@{gic.dist:x}",
        (
            ("compatible", Strings(("arm,cortex-a15-gic",))),
            ("#interrupt-cells", Cells((3,))),
            ("#address-cells", Cells((0,))),
            ("interrupt-controller", None),
            ("reg", _reg((gic.dist, GIC_FRAME_SIZE), (gic.cpu, GIC_FRAME_SIZE))),
        ),
        label=GIC_LABEL,
    )


def _ppi_flags(vcpus: int, trigger: int) -> int:
    """GICv2 PPI flags carry a CPU mask in bits 8-15 (one bit per VCPU)."""
    return ((1 << min(vcpus, 8)) - 1) << 8 | trigger


def _timer(plan: Plan, vcpus: int) -> DtNode:
    compatible = "arm,armv8-timer" if plan.sel4_arch == "aarch64" else "arm,armv7-timer"
    flags = _ppi_flags(vcpus, IRQ_LEVEL_HIGH)
    cells: list[Cell] = []
    for ppi in TIMER_PPIS:
        cells += [GIC_PPI, ppi, flags]
    return DtNode(
        "timer",
        (
            ("compatible", Strings((compatible,))),
            ("interrupts", Cells(tuple(cells))),
            ("always-on", None),
        ),
    )


def _routes(plan: Plan, vm: VmPlan) -> tuple[IrqRoute, ...]:
    return tuple(r for r in plan.irq_routes if r.vm == vm.instance and r.kind != "vtimer")


def _interrupts(routes: Iterable[IrqRoute], vcpus: int) -> Cells:
    cells: list[Cell] = []
    for route in routes:
        trigger = IRQ_EDGE_RISING if route.trigger == "edge" else IRQ_LEVEL_HIGH
        if 16 <= route.virq < 32:
            cells += [GIC_PPI, route.virq - 16, _ppi_flags(vcpus, trigger)]
        else:
            cells += [GIC_SPI, route.virq - 32, trigger]
    return Cells(tuple(cells))


def node_base_name(region: Region) -> str:
    """A DT node name (without unit address) for a device region: the last path
    component of a DTB path such as `/pl011@9000000`, else the region's name."""
    last = region.name.rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]
    safe = "".join(c if c.isalnum() or c in ",._+-" else "-" for c in last)
    return safe or "device"


def _routed_to(route: IrqRoute, region: Region, base: int) -> bool:
    """A route belongs to a device node when it names the region, or names a DTB node
    whose unit address is the region's address (`/pl011@9000000`)."""
    if route.name == region.name:
        return True
    _, at, unit = route.name.rpartition("@")
    try:
        return bool(at) and int(unit, 16) == base
    except ValueError:
        return False


_DEVICE_KINDS = ("mmio", "untyped_mmio", "virtio", "crossvm", "pci_bar")


def _clock_label(hz: int) -> str:
    return f"clk{hz}"


def _clocks(vm: VmPlan) -> tuple[DtNode, ...]:
    """One `fixed-clock` node per clock rate the VM's described devices take (QEMU virt's
    apb-pclk is such a 24 MHz clock, libvmm examples/simple qemu_virt_aarch64 linux.dts)."""
    rates = sorted({r.dt.clock_hz for r in vm.devices if r.dt and r.dt.clock_hz is not None})
    return tuple(
        DtNode(
            f"clock-{hz}",
            (
                ("compatible", Strings(("fixed-clock",))),
                ("#clock-cells", Cells((0,))),
                ("clock-frequency", Cells((hz,))),
            ),
            label=_clock_label(hz),
        )
        for hz in rates
    )


def _devices(vm: VmPlan, routes: tuple[IrqRoute, ...]) -> tuple[DtNode, ...]:
    nodes: list[DtNode] = []
    for region in vm.devices:
        if region.kind not in _DEVICE_KINDS:
            continue
        base = region.guest if region.guest is not None else (region.paddr or 0)
        mine = [r for r in routes if _routed_to(r, region, base)]
        props: list[tuple[str, Value]] = []
        if region.dt is not None:
            props.append(("compatible", Strings(region.dt.compatible)))
            if region.dt.clock_hz is not None and region.dt.clock_names:
                label = f"&{_clock_label(region.dt.clock_hz)}"
                props.append(("clocks", Cells(tuple(label for _ in region.dt.clock_names))))
                props.append(("clock-names", Strings(region.dt.clock_names)))
        if region.kind == "virtio":
            props.append(("compatible", Strings(("virtio,mmio",))))
            props.append(("dma-coherent", None))
        props.append(("reg", _reg((base, region.size))))
        if mine:
            props.append(("interrupts", _interrupts(mine, vm.vcpus)))
        name = "virtio_mmio" if region.kind == "virtio" else node_base_name(region)
        nodes.append(DtNode(f"{name}@{base:x}", tuple(props)))
    return tuple(nodes)


def _pci(vm: VmPlan, routes: tuple[IrqRoute, ...]) -> tuple[DtNode, ...]:
    """The emulated PCI host bridge of a VM with virtio-PCI devices, each device's
    INTx mapped to the VM's virtio interrupt (one level-high SPI, as the VMM does)."""
    vpci = vm.vpci
    virtio = [r for r in routes if r.kind == "virtio"]
    if vpci is None or not virtio:
        return ()
    irq_map: list[Cell] = []
    for slot in vpci.slots:
        irq_map += [slot << PCI_DEV_SHIFT, 0, 0, vpci.pin, f"&{GIC_LABEL}"]
        irq_map += _interrupts(virtio[:1], vm.vcpus).items
    props: tuple[tuple[str, Value], ...] = (
        ("compatible", Strings((PCI_COMPATIBLE,))),
        ("device_type", Strings(("pci",))),
        ("#address-cells", Cells((3,))),
        ("#size-cells", Cells((2,))),
        ("#interrupt-cells", Cells((1,))),
        ("dma-coherent", None),
        ("bus-range", Cells(PCI_BUS_RANGE)),
        ("reg", _reg((vpci.cfg, vpci.cfg_size))),
        ("ranges", _pci_ranges(vpci)),
        ("interrupt-map-mask", Cells(PCI_MAP_MASK)),
        ("interrupt-map", Cells(tuple(irq_map))),
    )
    return (DtNode(f"pci@{vpci.cfg:x}", props),)


def _pci_ranges(vpci: Vpci) -> Cells:
    """IO space from PCI address 0 at the IO window; 32-bit memory mapped 1:1."""
    cells: list[Cell] = []
    for space, pci_addr, cpu, size in (
        (PCI_SPACE_IO, 0, vpci.io, vpci.io_size),
        (PCI_SPACE_MEM32, vpci.mem, vpci.mem, vpci.mem_size),
    ):
        cells += [space, pci_addr >> 32, pci_addr & 0xFFFFFFFF]
        cells += _reg((cpu, size)).items
    return Cells(tuple(cells))


def _chosen(vm: VmPlan) -> DtNode:
    props: list[tuple[str, Value]] = [("bootargs", Strings((vm.cmdline,)))]
    if vm.stdout:
        props.append(("stdout-path", Strings((vm.stdout,))))
    if vm.initrd is not None and vm.initrd.guest is not None:
        start = vm.initrd.guest
        end = start + vm.initrd.extent
        props.append(("linux,initrd-start", Cells((start >> 32, start & 0xFFFFFFFF))))
        props.append(("linux,initrd-end", Cells((end >> 32, end & 0xFFFFFFFF))))
    return DtNode("chosen", tuple(props))


# ---------------------------------------------------------------- formatting

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def dts_string(text: str) -> str:
    """A DTS string literal: quotes, backslashes and control bytes escaped (dtc's
    escapes: \\\\, \\", \\n, \\t, \\r, \\xNN)."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) > 0x7E:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _format_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Strings):
        return " = " + ", ".join(dts_string(s) for s in value.items)
    cells = " ".join(c if isinstance(c, str) else f"0x{c:x}" for c in value.items)
    return f" = <{cells}>"


def _format_node(node: DtNode, depth: int, out: list[str]) -> None:
    pad = "\t" * depth
    label = f"{node.label}: " if node.label else ""
    out.append(f"{pad}{label}{node.name} {{")
    for name, value in node.props:
        out.append(f"{pad}\t{name}{_format_value(value)};")
    for child in node.children:
        out.append("")
        _format_node(child, depth + 1, out)
    out.append(f"{pad}}};")


def format_dts(tree: DtNode, header: str = "") -> str:
    """DTS source text for `tree` (the root node), with an optional comment header."""
    out = ["/dts-v1/;", ""]
    if header:
        out[1:1] = ["", f"/* {header.replace('*/', '* /')} */"]
    _format_node(tree, 0, out)
    return "\n".join(out) + "\n"


def guest_dts(plan: Plan, vm: VmPlan) -> str:
    """The `.dts` text for `vm` on the Plan's platform."""
    header = f"Guest device tree of {vm.instance} ({plan.system}, {plan.platform}); generated by sel4vmgen from the system's plan."
    return format_dts(guest_tree(plan, vm), header)
