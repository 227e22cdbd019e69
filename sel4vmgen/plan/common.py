"""Pieces of resolution shared by the x86 and ARM layouts.

`PlanError` carries an E3xx code and the path in the system file that caused
it; `image` classifies an image path (see `resolve` for what each base
means); `settings` turns a VM's `vmm:` block into ordered CAmkES settings;
`pow2_chunks` splits a window into naturally aligned power-of-two untypeds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sel4vmgen.model.system import Vm
from sel4vmgen.plan.model import CAMKES_DEFAULT_PRIORITY, Image, Setting, Thread

ImageBase = Literal["build", "absolute", "system", "generated"]
ImageRole = Literal["kernel", "initrd", "dtb"]
PathKey = tuple[str | int, ...]

# CAmkESDefaultPriority: component threads without a priority attribute
# (seL4/camkes-tool camkes.cmake).
# time_server.priority = 255 (seL4/camkes-vm components/VM/configurations/vm.h,
# VM_CONFIGURATION_DEF; real-apps x86_minimal and arm_vm_multi_qemu-arm-virt).
TIME_SERVER_PRIORITY = 255
# serial.serial_irq_priority = 200 (seL4/camkes-vm components/VM/configurations/vm.h).
SERIAL_IRQ_PRIORITY = 200


@dataclass(frozen=True)
class PlanError(Exception):
    """A system that cannot be laid out: code, message and the path of the cause."""

    code: str
    message: str
    path: PathKey = ()

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


INTERNAL = "E309"


def internal(message: str, path: PathKey = ()) -> PlanError:
    """The error resolve raises when the system breaks what the rules guarantee (or the
    platform data what its loader guarantees): a bug in sel4vmgen, not a problem of the
    input, said as such."""
    return PlanError(
        INTERNAL,
        f"internal error: {message}; the rules should have refused this system, so this is "
        "a bug in sel4vmgen: please report it with the system file",
        path,
    )


def image_base(path: str) -> ImageBase:
    """How a path as written is to be read: a CMake variable, absolute, or system-relative."""
    if path.startswith("${"):
        return "build"
    if path.startswith("/"):
        return "absolute"
    return "system"


def image(
    role: ImageRole,
    fs_name: str,
    source: str,
    vm: str,
    *,
    guest: int | None = None,
    max_size: int | None = None,
    fmt: str | None = None,
    base: ImageBase | None = None,
) -> Image:
    """A file-server image with its path kept exactly as written."""
    return Image(
        role=role,
        fs_name=fs_name,
        source=source,
        guest=guest,
        max_size=max_size,
        format=fmt,
        vm=vm,
        base=base or image_base(source),
    )


def settings(vm: Vm) -> tuple[Setting, ...]:
    """The VM's `vmm:` block as CAmkES settings, in a fixed order (pools by size)."""
    v = vm.vmm
    if v is None:
        return ()
    out: list[Setting] = []
    if v.heap_size is not None:
        out.append(Setting("heap_size", v.heap_size))
    if v.cnode_size_bits is not None:
        out.append(Setting("cnode_size_bits", v.cnode_size_bits))
    for bits in sorted(v.untyped_pools):
        out.append(Setting(f"simple_untyped{bits}_pool", v.untyped_pools[bits]))
    if v.allow_smc:
        out.append(Setting("allow_smc", True))
    if v.allowed_smc_functions:
        out.append(Setting("allowed_smc_functions", tuple(v.allowed_smc_functions)))
    return tuple(out)


def pow2_chunks(start: int, size: int) -> Iterator[tuple[int, int]]:
    """(address, size_bits) pieces covering [start, start+size): each the largest power of
    two that is aligned at its address and fits what is left (as the tx2 vm_minimal
    `untyped_mmios` split 128 MiB at 0xF1000000 into 16, 32, 64 and 16 MiB)."""
    addr, end = start, start + size
    while addr < end:
        left = end - addr
        bits = left.bit_length() - 1
        if addr:
            bits = min(bits, (addr & -addr).bit_length() - 1)
        yield addr, bits
        addr += 1 << bits


def fixed_threads(*, serial: int | None, time_server: bool) -> tuple[Thread, ...]:
    """The fixed CAmkES components' threads: file server, time server when present, and the
    serial server at priority `serial` when present (x86 sets its IRQ thread to 200; ARM
    apps leave the SerialServer at CAmkES's default)."""
    out = [Thread("fserv", "fserv", CAMKES_DEFAULT_PRIORITY)]
    if time_server:
        out.append(Thread("time_server", "time_server", TIME_SERVER_PRIORITY))
    if serial is not None:
        out.append(Thread("serial", "serial", serial))
    return tuple(out)


def share_images(images: list[Image]) -> tuple[tuple[Image, ...], list[tuple[Image, Image]]]:
    """File-server entries: one per name, `vm=None` when several VMs load the same file.
    Also returns the (first, clash) pairs where one name stands for two different files."""
    by_name: dict[str, int] = {}
    out: list[Image] = []
    clashes: list[tuple[Image, Image]] = []
    for img in images:
        at = by_name.get(img.fs_name)
        if at is None:
            by_name[img.fs_name] = len(out)
            out.append(img)
            continue
        first = out[at]
        if (first.source, first.base, first.role) != (img.source, img.base, img.role):
            clashes.append((first, img))
        elif first.vm is not None and first.vm != img.vm:
            out[at] = _shared(first)
    return tuple(out), clashes


def _shared(img: Image) -> Image:
    from dataclasses import replace

    return replace(img, vm=None, guest=None)
