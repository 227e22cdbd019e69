"""The ARM layout of one VM: RAM, boot images, untypeds, devices, threads, IRQ routes.

Follows camkes-vm's VM_Arm component and the camkes-vm-examples apps:
- component `VM`, instance `vm<n>`; VMM thread at `base_prio` (default 100), VCPU threads at
  `base_prio - 1` pinned to core = VCPU id when the kernel has more than one node, the IRQ
  server (and `_priority`) at `base_prio + 1` (VM_CONFIGURATION_DEF);
- `num_vcpus` kept as written; camkes-vm caps the VCPUs it creates at KernelMaxNumNodes at
  run time (VM_Arm src/main.c), so only that many VCPU threads are planned;
- guest RAM defaults to the platform's vm_minimal layout; further VMs without a base follow
  the previous VM's RAM (vm_multi: 0x40000000, 0x48000000, 0x50000000);
- a VM on a RAM other than the platform default puts its DTB 16 MiB (at most 1/8 of RAM)
  below the end of RAM and its initrd `max_size` below that (vm_multi);
- kernel entry = RAM base + the platform's `kernel_entry_offset` (0x80000 on aarch64,
  0x8000 on aarch32: VM_Arm vm.h);
- `untyped_mmios` = the GICV page (`<GICV>:12`, mapped at the guest's GICC) unless the VM
  maps it as an mmio itself, then the VM's own untypeds, then guest RAM split into aligned
  power-of-two pieces when the platform's apps list RAM there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sel4vmgen.defaults import DTB_NAME, INITRD_NAME, KERNEL_NAME, written_dtb_name
from sel4vmgen.facts import ARM64_IMAGE_ALIGN
from sel4vmgen.model.system import DtbNode, System, Vm
from sel4vmgen.plan.common import PlanError, image, internal, pow2_chunks, settings
from sel4vmgen.plan.links import Links, mac
from sel4vmgen.plan.model import (
    CAMKES_VM_BASE_PRIO,
    Dataport,
    DtFacts,
    Image,
    IrqRoute,
    Region,
    Setting,
    Thread,
    VmPlan,
    Vpci,
)
from sel4vmgen.units import PAGE

if TYPE_CHECKING:
    from sel4vmgen.platforms.model import GicFacts, GuestDefaults, Platform

RAM_ALIGN = ARM64_IMAGE_ALIGN  # each VM's RAM starts where an arm64 Image's base may
DTB_TAIL = 0x1000000  # vm_multi: DTB at RAM end - 16 MiB
# INTx pin of camkes-vm's virtio-PCI devices (VIRTIO_INTERRUPT_PIN, libsel4vmmplatsupport
# drivers/virtio.h).
VIRTIO_PCI_PIN = 1


@dataclass(frozen=True)
class ArmVm:
    """One resolved ARM VM and its images (in file-server order)."""

    plan: VmPlan
    images: tuple[Image, ...]
    routes: tuple[IrqRoute, ...]


def _guest(platform: Platform, where: tuple[str | int, ...]) -> GuestDefaults:
    if platform.guest is None:
        raise internal(f"platform {platform.name} has no default guest layout", where)
    return platform.guest


def _gic(platform: Platform) -> GicFacts:
    if platform.gic is None:  # every ARM data file has one; guarded for the type checker
        raise internal(f"platform {platform.name} has no GIC facts")
    return platform.gic


def _align_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def ram_region(vm: Vm, g: GuestDefaults, next_base: int) -> Region:
    """Guest RAM: as written, else the platform default, placed after the previous VM."""
    size = vm.ram.size if vm.ram else g.ram_size
    base = vm.ram.base if vm.ram and vm.ram.base is not None else next_base
    if vm.ram and vm.ram.paddr is not None:
        paddr = vm.ram.paddr
    else:
        paddr = base + (g.ram_paddr - g.ram_base)
    return Region("ram", "ram", size, guest=base, paddr=paddr)


def boot_addresses(
    base: int, size: int, g: GuestDefaults, initrd_max_size: int | None = None
) -> tuple[int, int, int]:
    """(dtb, initrd, initrd max size) guest addresses in a RAM of `size` bytes at `base`:
    the platform's vm_minimal addresses on its default RAM, else the DTB 16 MiB (at most
    1/8 of RAM) below the top and the initrd right under it (vm_multi).  The one placement
    rule: `resolve` and the new-guest scaffold both use it."""
    max_size = initrd_max_size or g.initrd_max_size
    if base == g.ram_base and size == g.ram_size:
        return g.dtb_addr, g.initrd_addr, max_size
    dtb = base + size - min(DTB_TAIL, size // 8)
    return dtb, dtb - max_size, max_size


def _boot_addresses(vm: Vm, ram: Region, g: GuestDefaults) -> tuple[int, int, int]:
    """(dtb, initrd, initrd max size) guest addresses: `boot_addresses`, unless written."""
    asked = vm.initrd.max_size if vm.initrd else None
    dtb, initrd, max_size = boot_addresses(ram.guest or 0, ram.size, g, asked)
    if vm.dtb and vm.dtb.address is not None:
        dtb = vm.dtb.address
    if vm.initrd and vm.initrd.address is not None:
        initrd = vm.initrd.address
    return dtb, initrd, max_size


def _images(
    vm: Vm, inst: str, system: System, ram: Region, g: GuestDefaults
) -> tuple[Image, Image | None, Image | None]:
    dtb_addr, initrd_addr, max_size = _boot_addresses(vm, ram, g)
    entry = vm.kernel.entry
    if entry is None:
        entry = (ram.guest or 0) + g.kernel_entry_offset
    fmt = vm.kernel.format or ("Image" if system.sel4_arch == "aarch64" else "zImage")
    kname = vm.kernel.name or KERNEL_NAME["arm"]
    kernel = image("kernel", kname, vm.kernel.image, inst, guest=entry, fmt=fmt)
    initrd = None
    if vm.initrd is not None:
        name = vm.initrd.name or INITRD_NAME["arm"]
        initrd = image(
            "initrd", name, vm.initrd.image, inst, guest=initrd_addr, max_size=max_size, fmt="cpio"
        )
    return kernel, initrd, _dtb_image(vm, inst, len(system.vms), dtb_addr)


def _dtb_image(vm: Vm, inst: str, count: int, addr: int) -> Image | None:
    d = vm.dtb
    if d is None or (d.mode == "generate" and d.file is None):
        # built by the VMM at boot and placed at `addr` (vm_address_config.dtb_addr);
        # no file-server entry (empty fs_name and source)
        return image("dtb", "", "", inst, guest=addr, fmt="dtb", base="generated")
    if d.file is None:  # provide, written by sel4vmgen from the plan
        name = written_dtb_name(inst, count)
        return image("dtb", name, f"{inst}.dts", inst, guest=addr, fmt="dts", base="generated")
    fmt = "dts" if d.file.endswith(".dts") else "dtb"
    return image("dtb", d.base_name or DTB_NAME, d.file, inst, guest=addr, fmt=fmt)


def _dtb_query(vm: Vm, g: GuestDefaults) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if vm.passthrough is None:
        return g.dtb_nodes, ()
    paths: list[str] = []
    compatibles: list[str] = []
    for dev in vm.passthrough.devices:
        if isinstance(dev, DtbNode):
            if dev.path:
                paths.append(dev.path)
            if dev.compatible:
                compatibles.append(dev.compatible)
        else:
            paths.append(dev)
    return tuple(paths), tuple(compatibles)


def _untyped(
    vm: Vm, ram: Region, platform: Platform, mmios: tuple[Region, ...], ram_untyped: bool
) -> tuple[Region, ...]:
    """The VM's untyped windows: the GICV frame, the user's, and its RAM unless the RAM is a
    shared dataport (vm_introspect lists only the GICV)."""
    gic = _gic(platform)
    out: list[Region] = []
    if not any(m.paddr is not None and m.paddr <= gic.vcpu < m.paddr + m.size for m in mmios):
        out.append(Region("untyped_mmio", "gicv", PAGE, guest=gic.cpu, paddr=gic.vcpu))
    user = vm.passthrough.untyped_mmios if vm.passthrough else ()
    for i, w in enumerate(user):
        out.append(Region("untyped_mmio", f"untyped{i}", w.size, guest=w.paddr, paddr=w.paddr))
    if platform.ram_untyped and ram_untyped:
        off = (ram.paddr or 0) - (ram.guest or 0)
        for addr, bits in pow2_chunks(ram.paddr or 0, ram.size):
            out.append(Region("untyped_mmio", "ram", 1 << bits, guest=addr - off, paddr=addr))
    return tuple(out)


def _devices(
    platform: Platform, paths: tuple[str, ...], mmios: tuple[Region, ...]
) -> tuple[Region, ...]:
    gic = _gic(platform)
    out = [
        Region("gic_dist", "gicd", PAGE, guest=gic.dist),
        Region("gic_cpu", "gicc", PAGE, guest=gic.cpu, paddr=gic.vcpu),
    ]
    wanted = set(paths)
    for dev in platform.devices:
        if dev.path and dev.path in wanted:
            dt = DtFacts(dev.compatible, dev.clock_names, dev.clock_hz) if dev.compatible else None
            out.append(Region("mmio", dev.name, dev.size, guest=dev.paddr, paddr=dev.paddr, dt=dt))
    return (*out, *mmios)


def _routes(
    vm: Vm, inst: str, platform: Platform, paths: tuple[str, ...], virtio: bool, crossvm: bool
) -> tuple[IrqRoute, ...]:
    gic = _gic(platform)
    out = [IrqRoute(inst, gic.vtimer_irq, gic.vtimer_irq, "level", "vtimer", "vtimer")]
    seen: set[int] = set()
    wanted = set(paths)
    for dev in platform.devices:
        if dev.path and dev.path in wanted:
            for irq in dev.irqs:
                if irq not in seen:
                    seen.add(irq)
                    out.append(IrqRoute(inst, irq, irq, dev.trigger, "passthrough", dev.path))
    for irq in vm.passthrough.irqs if vm.passthrough else ():
        if irq not in seen:
            seen.add(irq)
            out.append(IrqRoute(inst, irq, irq, "level", "passthrough", "dtb_irqs"))
    if virtio:
        out.append(IrqRoute(inst, -1, _virtio_irq(platform, vm.name), "level", "virtio", "virtio"))
    if crossvm:
        out.append(IrqRoute(inst, -1, _free_irq(platform, vm.name), "edge", "crossvm", "crossvm"))
    return tuple(out)


def _virtio_irq(platform: Platform, vm: str) -> int:
    if platform.virtio_irq is not None:
        return platform.virtio_irq
    return _free_irq(platform, vm)


def _free_irq(platform: Platform, vm: str) -> int:
    if not platform.free_irqs:
        # rules/irqs.py refuses it (E280)
        raise internal(f"VM {vm}: platform {platform.name} has no free interrupt for notifications")
    return platform.free_irqs[0]


def vm_threads(plan: VmPlan, num_nodes: int) -> tuple[Thread, ...]:
    """VMM, VCPU (as many as camkes-vm creates) and IRQ-server threads of one VM."""
    inst, prio = plan.instance, plan.priority
    out = [Thread(inst, "vmm", prio, vm=inst)]
    for i in range(min(plan.vcpus, num_nodes)):
        core = i if num_nodes > 1 else 0
        out.append(Thread(f"{inst}_vcpu{i}", "vcpu", prio - 1, core=core, vm=inst, vcpu=i))
    out.append(Thread(f"{inst}_irq_server", "irq_server", prio + 1, vm=inst))
    return tuple(out)


def arm_vm(
    vm: Vm, n: int, system: System, platform: Platform, links: Links, next_base: int
) -> ArmVm:
    """Resolve one ARM VM (already patched for the platform)."""
    where: tuple[str | int, ...] = ("vms", n)
    g = _guest(platform, where)
    inst = f"vm{n}"
    ram = ram_region(vm, g, next_base)
    kernel, initrd, dtb = _images(vm, inst, system, ram, g)
    paths, compatibles = _dtb_query(vm, g)
    mmios = tuple(
        Region("mmio", f"mmio{i}", w.size, guest=w.paddr, paddr=w.paddr)
        for i, w in enumerate(vm.passthrough.mmios if vm.passthrough else ())
    )
    ends = tuple(links.ends.get(inst, ()))
    events = tuple(links.events.get(inst, ()))
    virtio_console = bool(vm.virtio and vm.virtio.console)
    virtio_net = bool(vm.virtio and vm.virtio.net) or bool(ends)
    prio = vm.priority if vm.priority is not None else CAMKES_VM_BASE_PRIO
    shared = links.guest_ram.get(inst)
    ram_dp = (
        Dataport(shared[0], ram.size, shared[1], shared[2], 0, guest=ram.guest)
        if shared is not None
        else None
    )
    plan = VmPlan(
        index=n,
        name=vm.name,
        instance=inst,
        component="VM",
        vcpus=vm.vcpus if vm.vcpus is not None else g.vcpus,
        priority=prio,
        ram=ram,
        kernel=kernel,
        initrd=initrd,
        dtb=dtb,
        dtb_mode=vm.dtb.mode if vm.dtb else "generate",
        cmdline=vm.cmdline if vm.cmdline is not None else g.cmdline,
        stdout=vm.stdout if vm.stdout is not None else g.stdout,
        dtb_nodes=paths,
        dtb_compatibles=compatibles,
        dtb_irqs=tuple(vm.passthrough.irqs) if vm.passthrough else (),
        irqs=tuple(vm.passthrough.irq_caps) if vm.passthrough else (),
        mmios=mmios,
        untyped_mmios=_untyped(vm, ram, platform, mmios, ram_dp is None),
        keep_devices=tuple(vm.passthrough.keep_devices) if vm.passthrough else (),
        keep_devices_and_subtree=(
            tuple(vm.passthrough.keep_devices_and_subtree) if vm.passthrough else ()
        ),
        virtio_console=virtio_console,
        virtio_net=virtio_net,
        dataports=tuple(links.dataports.get(inst, ())),
        events=events,
        virtqueues=ends,
        settings=(*settings(vm), *_smmu(vm)),
        map_one_to_one=g.map_one_to_one,
        clean_cache=g.clean_cache,
        irq_latency_us=vm.requirements.irq_latency_us if vm.requirements else None,
        devices=_devices(platform, paths, mmios),
        irq_server_priority=prio + 1,
        mac=mac(n) if virtio_net else None,
        vpci=_vpci(platform, (virtio_console, virtio_net)),
        ram_dataport=ram_dp,
    )
    crossvm = any(e.direction == "to_vm" for e in events)
    try:
        routes = _routes(vm, inst, platform, paths, virtio_console or virtio_net, crossvm)
    except PlanError as e:  # no free interrupt: point at what asked for one
        asked = "virtio" if vm.virtio is not None and not crossvm else "name"
        raise PlanError(e.code, e.message, (*where, asked)) from None
    images = tuple(i for i in (kernel, initrd, dtb) if i is not None and i.fs_name)
    return ArmVm(plan, images, routes)


def _smmu(vm: Vm) -> tuple[Setting, ...]:
    """The VM's SMMU module ids (camkes-tool gives it an IO space for each)."""
    if vm.passthrough is None or not vm.passthrough.smmu:
        return ()
    return (Setting("smmu", tuple(vm.passthrough.smmu)),)


def _vpci(platform: Platform, virtio: tuple[bool, ...]) -> Vpci | None:
    """The emulated PCI bus of a VM with virtio devices: one bus-0 device per virtio
    device after the host bridge at device 0 (libsel4vmmplatsupport arch/arm/devices/vpci.c
    fdt_generate_vpci_node maps devices 1.. until the first empty slot)."""
    count = sum(virtio)
    if not count or platform.vpci is None:
        return None
    if platform.vpci_sizes is None:  # the loader requires both
        raise internal(f"platform {platform.name} gives vpci without vpci_sizes")
    cfg, io, mem = platform.vpci
    cfg_size, io_size, mem_size = platform.vpci_sizes
    return Vpci(
        cfg=cfg,
        cfg_size=cfg_size,
        io=io,
        io_size=io_size,
        mem=mem,
        mem_size=mem_size,
        slots=tuple(range(1, count + 1)),
        pin=VIRTIO_PCI_PIN,
    )


def next_ram_base(prev: Region) -> int:
    """Where a following VM without a RAM base starts: after `prev`, 2 MiB aligned."""
    return _align_up((prev.guest or 0) + prev.size, RAM_ALIGN)


def first_ram_base(platform: Platform) -> int:
    return platform.guest.ram_base if platform.guest else 0
