"""Boot image placement in ARM guest RAM: kernel, initrd and DTB inside RAM and apart.

Checked when the user places the RAM (`ram.base`): the kernel at
`kernel.entry` (default RAM base + the platform's entry offset, camkes-vm
VM_Arm vm.h), the initrd at `initrd.address`, the DTB at `dtb.address`, each
when given (otherwise `resolve` places it).  Sizes: the image file's size
when the file is present, else `initrd.max_size`, and for the DTB its .dtb
file's size or 2 MiB, the most arm64 allows.

Linux Documentation/arch/arm64/booting.rst: the DTB "must be placed on an
8-byte boundary and must not exceed 2 megabytes in size"; the Image "must be
placed text_offset bytes from a 2MB aligned base address" (text_offset was
0x80000 before Linux 5.8 and is 0 since), so an aarch64 entry must sit at a
2 MiB boundary or 0x80000 above one.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.facts import ARM64_DTB_ALIGN, ARM64_DTB_MAX, ARM64_IMAGE_ALIGN, arm64_entry_ok
from sel4vmgen.model.system import Vm
from sel4vmgen.rules.context import Ctx, error, hexr, image_file, line_of
from sel4vmgen.safeio import IMAGE_CAP, FileProblem, inspect_regular


@dataclass(frozen=True)
class Placed:
    """One boot image where it goes in guest RAM; `size` 0 when it is not known."""

    what: str
    start: int
    size: int
    span: Span

    def shown(self) -> str:
        if self.size:
            return f"{self.what} {hexr(self.start, self.size)}"
        return f"{self.what} at 0x{self.start:x}"


def _ram(vm: Vm) -> tuple[int, int] | None:
    """(IPA base, size) when the user placed the RAM; otherwise `resolve` lays the guest out."""
    ram = vm.ram
    if ram is None or ram.base is None:
        return None
    return ram.base, ram.size


def _file_size(ctx: Ctx, image: str | None) -> int:
    path = image_file(ctx.base_dir, image) if image else None
    try:
        return inspect_regular(path, IMAGE_CAP)[0] if path else 0
    except FileProblem:
        return 0  # not a usable file: E241 says so


def placements(ctx: Ctx, i: int, vm: Vm, base: int) -> list[Placed]:
    """Kernel, initrd and DTB with their addresses and sizes, where the user placed them."""
    g = ctx.platform.guest if ctx.platform else None
    out: list[Placed] = []
    entry = vm.kernel.entry
    if entry is None and g is not None:
        entry = base + g.kernel_entry_offset
    if entry is not None:
        size = _file_size(ctx, vm.kernel.image)
        out.append(Placed("kernel", entry, size, ctx.at(i, "kernel", "entry")))
    initrd = vm.initrd
    if initrd is not None and initrd.address is not None:
        size = _file_size(ctx, initrd.image) or initrd.max_size or 0
        out.append(Placed("initrd", initrd.address, size, ctx.at(i, "initrd", "address")))
    dtb = vm.dtb
    if dtb is not None and dtb.address is not None:
        size = _file_size(ctx, dtb.file) if dtb.file and dtb.file.endswith(".dtb") else 0
        out.append(Placed("DTB", dtb.address, size or ARM64_DTB_MAX, ctx.at(i, "dtb", "address")))
    return out


def boot_images(ctx: Ctx) -> list[Diagnostic]:
    """E219 outside RAM, E220 overlapping, E221 DTB alignment, E212 arm64 entry alignment."""
    if ctx.system.arch != "arm":
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        ram = _ram(vm)
        if ram is None:
            continue
        base, size = ram
        placed = placements(ctx, i, vm, base)
        out += _inside(vm, placed, base, size, ctx.at(i, "ram"))
        for a, b in combinations(placed, 2):
            if a.start < b.start + max(b.size, 1) and b.start < a.start + max(a.size, 1):
                later, earlier = (a, b) if a.start >= b.start else (b, a)
                out.append(
                    error(
                        "E220",
                        f"{vm.name} {later.shown()} overlaps its {earlier.shown()} "
                        f"{line_of(earlier.span, later.span)}",
                        later.span,
                        earlier.span,
                    )
                )
        out += _alignment(ctx, vm, placed, base)
    return out


def _inside(vm: Vm, placed: list[Placed], base: int, size: int, ram_span: Span) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for p in placed:
        end = p.start + max(p.size, 1)
        if p.start < base or end > base + size:
            out.append(
                error(
                    "E219",
                    f"{vm.name} {p.shown()} is not inside its RAM {hexr(base, size)} "
                    f"{line_of(ram_span, p.span)}",
                    p.span,
                    ram_span,
                )
            )
    return out


def _alignment(ctx: Ctx, vm: Vm, placed: list[Placed], base: int) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for p in placed:
        if p.what == "DTB" and p.start % ARM64_DTB_ALIGN:
            out.append(
                error(
                    "E221",
                    f"{vm.name} DTB address 0x{p.start:x} is not 8-byte aligned "
                    "(arm64 booting.rst)",
                    p.span,
                )
            )
        if p.what == "kernel" and _arm64_image(ctx, vm) and not arm64_entry_ok(p.start):
            out.append(
                error(
                    "E212",
                    f"{vm.name} kernel entry 0x{p.start:x} is not at a 2 MiB boundary or 0x80000 "
                    "above one (an arm64 Image goes text_offset bytes from a 2 MiB-aligned base, "
                    "Linux Documentation/arch/arm64/booting.rst)",
                    p.span,
                    hint=f"use 0x{(p.start // ARM64_IMAGE_ALIGN) * ARM64_IMAGE_ALIGN + 0x80000:x}",
                )
            )
    return out


def _arm64_image(ctx: Ctx, vm: Vm) -> bool:
    return ctx.system.sel4_arch == "aarch64" and vm.kernel.format in (None, "Image")


def dtb_file(ctx: Ctx) -> list[Diagnostic]:
    """E222: a provided DTB file larger than 2 MiB."""
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        if vm.dtb is None or vm.dtb.file is None or not vm.dtb.file.endswith(".dtb"):
            continue
        size = _file_size(ctx, vm.dtb.file)
        if size > ARM64_DTB_MAX:
            out.append(
                error(
                    "E222",
                    f"{vm.name} DTB {vm.dtb.file} is {size} bytes; a DTB may be at most 2 MiB "
                    "(arm64 booting.rst)",
                    ctx.at(i, "dtb", "file"),
                )
            )
    return out


def initrd_max_size(ctx: Ctx) -> list[Diagnostic]:
    """E237: an initrd file larger than the `max_size` the VMM is told to expect."""
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        initrd = vm.initrd
        if initrd is None or initrd.max_size is None:
            continue
        size = _file_size(ctx, initrd.image)
        if size > initrd.max_size:
            out.append(
                error(
                    "E237",
                    f"{vm.name} initrd {initrd.image} is {size} bytes, more than its max_size "
                    f"0x{initrd.max_size:x}",
                    ctx.at(i, "initrd", "max_size"),
                )
            )
    return out


RULES = (boot_images, dtb_file, initrd_max_size)
