"""Boot image sizes read from the files, where a system's images are files on this machine.

A plan resolved from a system file knows where each kernel, initrd and DTB is loaded but
not how big it is; `with_file_sizes` fills in `Image.size` for each image whose file is
present (a path relative to the system file, or absolute; checkout variables such as
`${CAMKES_VM_IMAGES_DIR}` are not read).  An arm64 `Image` kernel occupies the
`image_size` its header states, which is more than the file (its BSS); other files occupy
their length.  A DTB is read only when it is a `.dtb` file (a `.dts` is compiled later).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sel4vmgen.plan.model import Image, Plan, VmPlan
from sel4vmgen.rules.context import image_file
from sel4vmgen.safeio import IMAGE_CAP, FileProblem, inspect_regular

# Linux Documentation/arch/arm64/booting.rst, the Image header: image_size is the
# little-endian u64 at offset 16 (0 before Linux 3.17), the magic "ARM\x64" at offset 56.
ARM64_MAGIC = b"ARM\x64"
ARM64_HEADER = 64


def image_size(path: Path, role: str) -> int | None:
    """Bytes the image occupies once loaded, or None when it cannot be read."""
    try:
        size, head = inspect_regular(path, IMAGE_CAP, ARM64_HEADER)
    except FileProblem:
        return None
    if role == "kernel" and len(head) == ARM64_HEADER and head[56:60] == ARM64_MAGIC:
        stated = int.from_bytes(head[16:24], "little")
        return max(stated, size)
    return size


def _sized(img: Image, base: Path) -> Image:
    if img.size is not None or img.base not in ("system", "absolute"):
        return img
    if img.role == "dtb" and not img.source.endswith(".dtb"):
        return img
    path = image_file(base, img.source)
    size = image_size(path, img.role) if path is not None else None
    return img if size is None else replace(img, size=size)


def _vm(vm: VmPlan, base: Path) -> VmPlan:
    initrd = _sized(vm.initrd, base) if vm.initrd is not None else None
    dtb = _sized(vm.dtb, base) if vm.dtb is not None else None
    return replace(vm, kernel=_sized(vm.kernel, base), initrd=initrd, dtb=dtb)


def with_file_sizes(plan: Plan, base: Path) -> Plan:
    """`plan` with the size of every image whose file is present under `base` or absolute."""
    return replace(plan, vms=tuple(_vm(vm, base) for vm in plan.vms))
