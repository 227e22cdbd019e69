"""Guest rootfs overlays: files the build adds to an initrd before the file server gets it.

A guest whose console is the VMM's virtio console (`console=hvc0` on its command line)
must get a login prompt there, but the camkes-vm-images buildroot rootfs starts its getty
on the UART only.  camkes-vm-examples vm_multi therefore rebuilds the rootfs with an
`/etc/inittab` that starts a getty on hvc0 (apps/Arm/vm_multi/CMakeLists.txt:31-51).  The
same is planned here for every initrd all of whose VMs use hvc0 as their console.
"""

from __future__ import annotations

import re

from sel4vmgen.plan.model import Image, OverlayFile, RootfsOverlay, VmPlan

# Consoles the stock rootfs starts no getty on: the VMM's virtio console (Linux hvc driver).
VIRTIO_CONSOLES = ("hvc0",)
_CONSOLE = re.compile(r"(?:^|\s)console=([^\s,]+)")


def console(cmdline: str) -> str | None:
    """The guest's console: the last `console=` of its command line (Linux takes the last
    one as /dev/console), without its options."""
    found = _CONSOLE.findall(cmdline)
    return found[-1] if found else None


def rootfs_overlays(
    vms: tuple[VmPlan, ...], images: tuple[Image, ...]
) -> tuple[RootfsOverlay, ...]:
    """One overlay per file-server initrd whose every VM has a virtio console as its console."""
    out: list[RootfsOverlay] = []
    for img in images:
        if img.role != "initrd":
            continue
        users = [v for v in vms if v.initrd is not None and v.initrd.fs_name == img.fs_name]
        consoles = {console(v.cmdline) for v in users}
        if len(consoles) != 1 or not users:
            continue
        (tty,) = consoles
        if tty not in VIRTIO_CONSOLES:
            continue
        inittab = OverlayFile("inittab", "etc", f"overlay_files/inittab_{tty}", tty)
        out.append(
            RootfsOverlay(
                image=img.fs_name,
                target="overlay_" + re.sub(r"\W", "_", img.fs_name),
                distro="buildroot",
                gzip=img.source.endswith(".gz"),
                files=(inittab,),
            )
        )
    return tuple(out)
