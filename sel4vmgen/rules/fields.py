"""Fields that belong to the other architecture, and guest kernels the architecture cannot boot.

x86 VMs are configured through the camkes-vm VM/Init attributes (IO ports, PCI
devices, IOAPIC IRQs, IOMMU domains, relocations); ARM VMs through VM_Arm's
(`vm_address_config`, the DTB, MMIO windows, GIC IRQs, SMC).  A field of one
on the other is a mistake the camkes-tool parser would not catch.

Kernel formats: `Image` is arm64 (Linux Documentation/arch/arm64/booting.rst),
`zImage` 32-bit ARM, `bzImage` x86.  When the image file is present its header
decides: the arm64 magic "ARM\\x64" at offset 0x38, the x86 boot protocol's
"HdrS" at 0x202 with XLF_KERNEL_64 (bit 0 of xloadflags at 0x236,
Documentation/arch/x86/boot.rst), or the ELF class byte.  A 64-bit x86 guest
needs sel4_arch x86_64 (KernelX86_64VTX64BitGuests depends on it, seL4
src/arch/x86/config.cmake).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.model.system import Vm
from sel4vmgen.rules.arch import on_microkit
from sel4vmgen.rules.context import Ctx, error, image_file
from sel4vmgen.safeio import IMAGE_CAP, FileProblem, inspect_regular

X86_ONLY: tuple[tuple[str, ...], ...] = (
    ("iospace_domain",),
    ("kernel", "relocs"),
    ("passthrough", "ioports"),
    ("passthrough", "pci"),
    ("passthrough", "x86_irqs"),
    ("framebuffer",),
    ("virtio", "blk"),
    ("vmm", "exclude_paddr"),
)
ARM_ONLY: tuple[tuple[str, ...], ...] = (
    ("dtb",),
    ("stdout",),
    ("ram", "base"),
    ("ram", "paddr"),
    ("kernel", "entry"),
    ("initrd", "address"),
    ("passthrough", "devices"),
    ("passthrough", "mmios"),
    ("passthrough", "irqs"),
    ("passthrough", "irq_caps"),
    ("passthrough", "smmu"),
    ("passthrough", "keep_devices"),
    ("passthrough", "keep_devices_and_subtree"),
    ("vmm", "allow_smc"),
    ("vmm", "allowed_smc_functions"),
)


def _is_set(model: BaseModel, path: tuple[str, ...]) -> bool:
    node: Any = model
    for part in path:
        if not isinstance(node, BaseModel) or part not in node.model_fields_set:
            return False
        node = getattr(node, part)
    return node is not None and node != ()


def other_arch_fields(ctx: Ctx) -> list[Diagnostic]:
    """E227: an x86 field on an ARM VM, or an ARM field on an x86 VM."""
    arch = ctx.system.arch
    foreign = X86_ONLY if arch == "arm" else ARM_ONLY
    theirs, ours = ("x86", "ARM") if arch == "arm" else ("ARM", "x86")
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        for path in foreign:
            if path == ("virtio", "blk") and on_microkit(ctx.platform):
                continue  # Microkit boards serve virtio-blk from sDDF (rules/microkit.py)
            if _is_set(vm, path):
                out.append(
                    error(
                        "E227",
                        f"{vm.name}: `{'.'.join(path)}` is an {theirs} field; "
                        f"this system is {ours}",
                        ctx.key_at(i, *path),
                    )
                )
    return out


_FORMAT_ARCHS = {"Image": ("aarch64",), "zImage": ("aarch32",), "bzImage": ("ia32", "x86_64")}


def kernel_format(ctx: Ctx) -> list[Diagnostic]:
    """E226: a guest kernel the system's sel4_arch cannot boot."""
    out: list[Diagnostic] = []
    sel4_arch = ctx.system.sel4_arch
    for i, vm in ctx.vm_indices():
        fmt = vm.kernel.format
        if fmt in _FORMAT_ARCHS and sel4_arch not in _FORMAT_ARCHS[fmt]:
            out.append(
                error(
                    "E226",
                    f"{vm.name}: {'an' if fmt == 'Image' else 'a'} {fmt} kernel cannot boot on sel4_arch {sel4_arch} "
                    f"(it needs {' or '.join(_FORMAT_ARCHS[fmt])})",
                    ctx.at(i, "kernel", "format"),
                )
            )
            continue
        found = _header_kind(ctx.base_dir, vm)
        if found is not None and sel4_arch not in found[1]:
            out.append(
                error(
                    "E226",
                    f"{vm.name}: {vm.kernel.image} is {found[0]}, which sel4_arch "
                    f"{sel4_arch} cannot boot",
                    ctx.at(i, "kernel", "image"),
                    hint="x86_64" if "x86_64" in found[1] else None,
                )
            )
    return out


def _header_kind(base: Path, vm: Vm) -> tuple[str, tuple[str, ...]] | None:
    """What the kernel file's header says it is, and which sel4_archs can boot it."""
    path = image_file(base, vm.kernel.image)
    if path is None:
        return None
    try:
        head = inspect_regular(path, IMAGE_CAP, 0x240)[1]
    except FileProblem:
        return None  # not a usable file: E241 says so
    if head[0x38:0x3C] == b"ARM\x64":
        return "an arm64 Image", ("aarch64",)
    if head[:4] == b"\x7fELF" and len(head) > 4:
        return ("a 64-bit ELF kernel", ("x86_64", "aarch64")) if head[4] == 2 else None
    if head[0x202:0x206] == b"HdrS" and len(head) > 0x236 and head[0x236] & 1:
        return "a 64-bit x86 kernel (XLF_KERNEL_64)", ("x86_64",)
    return None


def guests_64bit_option(ctx: Ctx) -> list[Diagnostic]:
    """E226: KernelX86_64VTX64BitGuests on a 32-bit seL4."""
    opts = ctx.system.kernel_options
    on = opts.get("KernelX86_64VTX64BitGuests")
    if ctx.system.arch != "x86" or on in (None, False, "OFF", "off", 0):
        return []
    if ctx.system.sel4_arch == "x86_64":
        return []
    return [
        error(
            "E226",
            "KernelX86_64VTX64BitGuests (64-bit guests) needs sel4_arch x86_64, "
            f"not {ctx.system.sel4_arch}",
            ctx.key_span("kernel_options", "KernelX86_64VTX64BitGuests"),
            ctx.span("sel4_arch"),
        )
    ]


def virtio_blk_disk(ctx: Ctx) -> list[Diagnostic]:
    """E254: a virtio-blk VM in a system with no `sata:` controller for the Sataserver, or a
    `sata:` controller in an ARM system (camkes-vm's Sataserver is x86 only)."""
    if ctx.system.arch == "arm":
        if ctx.system.sata is None:
            return []
        return [
            error(
                "E254",
                "`sata` is an x86 field: camkes-vm's Sataserver serves x86 guests only",
                ctx.key_span("sata"),
            )
        ]
    if ctx.system.sata is not None:
        return []
    for i, vm in ctx.vm_indices():
        if vm.virtio is not None and vm.virtio.blk is not None:
            return [
                error(
                    "E254",
                    f"{vm.name}'s virtio-blk disk needs the SATA controller the Sataserver "
                    "drives, and the system has no `sata:`",
                    ctx.key_at(i, "virtio", "blk"),
                    hint="add `sata:` with the controller's ioports, iospaces, pci_bdfs and "
                    "iospace_id",
                )
            ]
    return []


RULES_ONCE = (guests_64bit_option, virtio_blk_disk)
RULES = (other_arch_fields, kernel_format)
