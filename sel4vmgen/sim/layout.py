"""Static checks of what the guest boots with: images in RAM (E507), devices backed (E508).

The VMM loads the kernel, initrd and device tree at the plan's guest
addresses; each must lie inside the VM's RAM, apart from the others, and be
aligned as the guest kernel requires.  Every device window the guest is given
must be mapped (passthrough or untyped MMIO, the GIC CPU interface) or
emulated by the VMM (the distributor, virtio); otherwise the guest's first
touch of it faults with no one to answer.  A size not known at resolve time
counts as one byte, so these checks never guess an overlap.
"""

from __future__ import annotations

from sel4vmgen.facts import ARM64_DTB_ALIGN, arm64_entry_ok
from sel4vmgen.plan.model import Image, Plan, Region, VmPlan
from sel4vmgen.sim.monitor import Violation
from sel4vmgen.units import PAGE

EMULATED = frozenset({"gic_dist", "virtio"})
VMM_MAPPED = frozenset({"gic_cpu"})  # libsel4vm maps the GICV frame at the guest's GICC itself
INITRD_ALIGN = PAGE  # the VMM maps the initrd by pages


def check_layout(plan: Plan) -> list[Violation]:
    """E507 and E508 for every VM of the plan."""
    found: list[Violation] = []
    for vm in plan.vms:
        found += _images(plan, vm)
        found += _devices(vm)
    return found


def _placed(vm: VmPlan) -> list[tuple[str, int, int]]:
    """(role, start, size) of each image with a fixed guest address."""
    out: list[tuple[str, int, int]] = []
    images: list[Image | None] = [vm.kernel, vm.initrd, vm.dtb]
    for img in images:
        if img is None or img.guest is None:
            continue
        start = img.guest
        out.append((img.role, start, max(1, img.extent)))
    return out


def _images(plan: Plan, vm: VmPlan) -> list[Violation]:
    found: list[Violation] = []
    placed = _placed(vm)
    lo = vm.ram.guest
    hi = vm.ram.guest_end
    for role, start, size in placed:
        if lo is not None and not (lo <= start and start + size <= hi):
            found.append(_v(vm, f"{role} {_r(start, size)} is outside RAM {_r(lo, vm.ram.size)}"))
    for i, (a, sa, za) in enumerate(placed):
        for b, sb, zb in placed[i + 1 :]:
            if sa < sb + zb and sb < sa + za:
                found.append(_v(vm, f"{a} {_r(sa, za)} overlaps {b} {_r(sb, zb)}"))
    for role, start, _ in placed:
        why = _misaligned(plan, vm, role, start)
        if why:
            found.append(_v(vm, f"{role} at {start:#x} {why}"))
    return found


def _misaligned(plan: Plan, vm: VmPlan, role: str, start: int) -> str:
    if role == "dtb" and start % ARM64_DTB_ALIGN:
        return f"is not {ARM64_DTB_ALIGN}-byte aligned"
    if role == "initrd" and start % INITRD_ALIGN:
        return "is not page aligned"
    arm64_image = plan.sel4_arch == "aarch64" and (vm.kernel.format or "Image") == "Image"
    if role == "kernel" and arm64_image and not arm64_entry_ok(start):
        return "is not 2 MiB aligned plus the Image text offset (0 or 0x80000)"
    return ""


def _devices(vm: VmPlan) -> list[Violation]:
    maps = [*vm.mmios, *vm.untyped_mmios, *(m for d in vm.pci_devices for m in d.memory)]
    found: list[Violation] = []
    for d in vm.devices:
        if d.kind in EMULATED | VMM_MAPPED or d.guest is None or _in_dtb(vm, d):
            continue
        if d.kind == "crossvm" and any(p.guest == d.guest for p in vm.dataports):
            continue
        if not any(_covers(m, d) for m in maps):
            found.append(
                Violation(
                    "E508",
                    f"{vm.name}: device {d.name} {_r(d.guest, d.size)} is neither mapped nor "
                    "emulated",
                    vm.instance,
                )
            )
    return found


def _in_dtb(vm: VmPlan, d: Region) -> bool:
    """Passed through by a `dtb` query: the VMM maps the node's `reg` (unit address = paddr)."""
    for path in vm.dtb_nodes:
        node, _, unit = path.rpartition("/")[2].partition("@")
        if d.name == node or d.name.startswith(node + "-"):  # another `reg` window of the node
            return True
        try:
            if unit and int(unit.split(",")[0], 16) in (d.paddr, d.guest):
                return True
        except ValueError:
            continue
    return False


def _covers(m: Region, d: Region) -> bool:
    if m.guest is None or d.guest is None:
        return False
    return m.guest <= d.guest and d.guest + d.size <= m.guest + m.size


def _v(vm: VmPlan, what: str) -> Violation:
    return Violation("E507", f"{vm.name}: {what}", vm.instance)


def _r(start: int, size: int) -> str:
    return f"{start:#x}-{start + size:#x}"
