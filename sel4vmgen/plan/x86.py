"""The x86 layout of one VM, as camkes-vm's VM/Init component runs it.

- component `Init<n>`, instance `vm<n>`; ONE thread per VM (role "vm": the VMM loop enters
  the guest with seL4_VMEnter on its own TCB), at the VM's priority or CAmkES's default 254;
- guest RAM is a size only (camkes-vm allocates it; the renderer writes it as
  `guest_ram_mb`, the rules having refused a size that is not whole MiB, E211), 128 MiB by default
  (apps/x86/minimal);
- `kernel_relocs` = the kernel's file-server name for ia32 guests and "" for x86_64 ones
  (real apps minimal vs minimal_64), unless `kernel.relocs` says otherwise;
- `iospace_domain` as written, else 0x0f + n, skipping ids other VMs wrote (optiplex9020:
  0x0f, 0x10);
- the VMM emulates COM1 for the guest: a route of kind "serial" to guest IRQ 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from sel4vmgen.defaults import INITRD_NAME, KERNEL_NAME
from sel4vmgen.model.system import System, Vm
from sel4vmgen.plan.common import image, settings
from sel4vmgen.plan.links import Links, mac
from sel4vmgen.plan.model import (
    CAMKES_DEFAULT_PRIORITY,
    Image,
    IoPortRange,
    IrqRoute,
    PciDevice,
    Region,
    Setting,
    Thread,
    VmPlan,
)
from sel4vmgen.units import MIB

DEFAULT_RAM = 128 * MIB  # guest_ram_mb = 128 (camkes-vm-examples apps/x86/minimal/minimal.camkes)
FIRST_IOSPACE_DOMAIN = 0x0F  # iospace_domain = 0x0f (apps/x86/minimal, optiplex9020)
GUEST_SERIAL_IRQ = 4  # COM1 as the guest sees it (seL4/camkes-tool serial_com1: ISA IRQ 4)
# kernel_cmdline of camkes-vm-examples apps/x86/minimal/minimal.camkes, for VMs that give none
DEFAULT_CMDLINE = (
    "earlyprintk=ttyS0,115200 console=ttyS0,115200 i8042.nokbd=y i8042.nomux=y i8042.noaux=y "
    "io_delay=udelay noisapnp pci=nomsi debug root=/dev/mem"
)


@dataclass(frozen=True)
class X86Vm:
    """One resolved x86 VM and its images (in file-server order)."""

    plan: VmPlan
    images: tuple[Image, ...]
    routes: tuple[IrqRoute, ...]


def iospace_domains(system: System, platform_name: str) -> tuple[int, ...]:
    """Each VM's IOMMU domain: as written, else the next free id from 0x0f + n."""
    vms = [vm.on(platform_name) for vm in system.vms]
    taken = {vm.iospace_domain for vm in vms if vm.iospace_domain is not None}
    out: list[int] = []
    used: set[int] = set()
    for n, vm in enumerate(vms):
        if vm.iospace_domain is not None:
            out.append(vm.iospace_domain)
            used.add(vm.iospace_domain)
            continue
        d = FIRST_IOSPACE_DOMAIN + n
        while d in taken or d in used:
            d += 1
        used.add(d)
        out.append(d)
    return tuple(out)


def _relocs(vm: Vm, system: System, kernel_name: str) -> str:
    return kernel_name if vm.kernel.loads_relocs(system.sel4_arch) else ""


def _images(vm: Vm, inst: str) -> tuple[Image, Image | None]:
    kname = vm.kernel.name or KERNEL_NAME["x86"]
    kernel = image("kernel", kname, vm.kernel.image, inst, fmt=vm.kernel.format or "bzImage")
    initrd = None
    if vm.initrd is not None:
        iname = vm.initrd.name or INITRD_NAME["x86"]
        initrd = image(
            "initrd", iname, vm.initrd.image, inst, max_size=vm.initrd.max_size, fmt="cpio"
        )
    return kernel, initrd


def _pci(vm: Vm) -> tuple[PciDevice, ...]:
    if vm.passthrough is None:
        return ()
    return tuple(
        PciDevice(
            p.name,
            p.bus,
            p.dev,
            p.fun,
            p.irq,
            tuple(
                Region("pci_bar", f"{p.name}_{i}", m.size, paddr=m.paddr, page_bits=m.page_bits)
                for i, m in enumerate(p.memory)
            ),
        )
        for p in vm.passthrough.pci
    )


def _routes(vm: Vm, inst: str) -> tuple[IrqRoute, ...]:
    out = [IrqRoute(inst, -1, GUEST_SERIAL_IRQ, "edge", "serial", "serial")]
    for irq in vm.passthrough.x86_irqs if vm.passthrough else ():
        out.append(
            IrqRoute(
                inst,
                irq.source,
                irq.dest,
                "level" if irq.level_trig else "edge",
                "passthrough",
                irq.name,
                active_low=irq.active_low,
                ioapic=irq.ioapic,
            )
        )
    return tuple(out)


# DMA memory of a virtio-blk VMM (camkes-vm-examples virtio_blk_sample.camkes vm0.dma_pool)
BLK_DMA_POOL = 0x20000


def _blk_settings(vm: Vm) -> tuple[Setting, ...]:
    """A virtio-blk VM's DMA pool."""
    if not (vm.virtio and vm.virtio.blk):
        return ()
    return (Setting("dma_pool", BLK_DMA_POOL),)


def x86_vm(vm: Vm, n: int, system: System, links: Links, domain: int) -> X86Vm:
    """Resolve one x86 VM (already patched for the platform)."""
    inst = f"vm{n}"
    size = vm.ram.size if vm.ram else DEFAULT_RAM
    kernel, initrd = _images(vm, inst)
    virtio_net = bool(vm.virtio and vm.virtio.net) or inst in links.ends
    ioports = tuple(
        IoPortRange(p.name, p.start, p.end, p.pci_device)
        for p in (vm.passthrough.ioports if vm.passthrough else ())
    )
    plan = VmPlan(
        index=n,
        name=vm.name,
        instance=inst,
        component=f"Init{n}",
        vcpus=1,
        priority=vm.priority if vm.priority is not None else CAMKES_DEFAULT_PRIORITY,
        ram=Region("ram", "ram", size),
        kernel=kernel,
        initrd=initrd,
        dtb=None,
        dtb_mode="none",
        cmdline=vm.cmdline if vm.cmdline is not None else DEFAULT_CMDLINE,
        stdout=vm.stdout,
        ioports=ioports,
        pci_devices=_pci(vm),
        iospace_domain=domain,
        virtio_console=bool(vm.virtio and vm.virtio.console),
        virtio_net=virtio_net,
        dataports=tuple(links.dataports.get(inst, ())),
        events=tuple(links.events.get(inst, ())),
        virtqueues=tuple(links.ends.get(inst, ())),
        settings=(*settings(vm), *_blk_settings(vm)),
        irq_latency_us=vm.requirements.irq_latency_us if vm.requirements else None,
        kernel_relocs=_relocs(vm, system, kernel.fs_name),
        mac=mac(n) if virtio_net else None,
        untyped_mmios=tuple(
            Region("untyped_mmio", f"untyped{i}", w.size, paddr=w.paddr)
            for i, w in enumerate(vm.passthrough.untyped_mmios if vm.passthrough else ())
        ),
        exclude_paddr=tuple(
            Region("ram", f"exclude{i}", w.size, paddr=w.paddr)
            for i, w in enumerate(vm.vmm.exclude_paddr if vm.vmm else ())
        ),
        framebuffer=bool(vm.framebuffer),
        blk_partitions=tuple(vm.virtio.blk.partitions) if vm.virtio and vm.virtio.blk else (),
    )
    images = tuple(i for i in (kernel, initrd) if i is not None)
    return X86Vm(plan, images, _routes(vm, inst))


def vm_thread(plan: VmPlan) -> Thread:
    """The single thread of an x86 VM: VMM and guest together."""
    return Thread(plan.instance, "vm", plan.priority, core=0, vm=plan.instance, vcpu=0)
