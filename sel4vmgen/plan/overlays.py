"""Guest rootfs overlays: files the build adds to an initrd before the file server gets it.

A guest whose console is the VMM's virtio console (`console=hvc0` on its command line)
must get a login prompt there, but the camkes-vm-images buildroot rootfs starts its getty
on the UART only.  camkes-vm-examples vm_multi therefore rebuilds the rootfs with an
`/etc/inittab` that starts a getty on hvc0 (apps/Arm/vm_multi/CMakeLists.txt:31-51).  The
same is planned here for every initrd all of whose VMs use hvc0 as their console.
The files a system adds to an initrd (`initrd.files`: init scripts such as vm_multi's
S90bridge_setup) go into the same overlay, copied into the app under overlay_files/.
"""

from __future__ import annotations

import re

from sel4vmgen.model.system import RootfsFile
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
    vms: tuple[VmPlan, ...],
    images: tuple[Image, ...],
    added: dict[str, tuple[RootfsFile, ...]] | None = None,
) -> tuple[RootfsOverlay, ...]:
    """One overlay per file-server initrd whose every VM has a virtio console as its console,
    or to which the system adds files (`added`: VM instance -> its initrd's files; VMs that
    share an initrd add the same files, rules/images.py)."""
    out: list[RootfsOverlay] = []
    added = added or {}
    for img in images:
        if img.role != "initrd":
            continue
        users = [v for v in vms if v.initrd is not None and v.initrd.fs_name == img.fs_name]
        if not users:
            continue
        files = [_copied(img.fs_name, f) for f in added.get(users[0].instance, ())]
        consoles = {console(v.cmdline) for v in users}
        tty = next(iter(consoles)) if len(consoles) == 1 else None
        if tty in VIRTIO_CONSOLES and not any(
            f.name == "inittab" and f.folder == "etc" for f in files
        ):
            files.insert(0, OverlayFile("inittab", "etc", f"overlay_files/inittab_{tty}", tty))
        if not files:
            continue
        out.append(
            RootfsOverlay(
                image=img.fs_name,
                target="overlay_" + re.sub(r"\W", "_", img.fs_name),
                distro="buildroot",
                gzip=img.source.endswith(".gz"),
                files=tuple(files),
            )
        )
    return tuple(out)


def _copied(image: str, f: RootfsFile) -> OverlayFile:
    """A user's file, copied into the app under overlay_files/<initrd>/<folder>/<name>."""
    folder = f.folder.strip("/")
    source = f"overlay_files/{image}/{folder}/{f.name}"
    return OverlayFile(f.name, folder, source, "", copy_of=f.source)
