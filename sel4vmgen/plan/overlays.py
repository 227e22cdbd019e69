"""Guest rootfs overlays: files the build adds to an initrd before the file server gets it.

A guest whose console is the VMM's virtio console (`console=hvc0` on its command line)
must get a login prompt there, but the camkes-vm-images buildroot rootfs starts its getty
on the UART only.  camkes-vm-examples vm_multi therefore rebuilds the rootfs with an
`/etc/inittab` that starts a getty on hvc0 (apps/Arm/vm_multi/CMakeLists.txt:31-51).  The
same is planned here for every initrd all of whose VMs use hvc0 as their console.
The files a system adds to an initrd (`initrd.files`: init scripts such as vm_multi's
S90bridge_setup) go into the same overlay, copied into the app under overlay_files/, and
so do the programs it builds for the guest (`initrd.programs`): each build is planned once
(`guest_builds`), and every overlay that lists it gets the programs it installs.
"""

from __future__ import annotations

import re

from sel4vmgen.model.system import GuestProgram, RootfsFile
from sel4vmgen.plan.model import GuestBuild, Image, OverlayFile, RootfsOverlay, VmPlan

# Consoles the stock rootfs starts no getty on: the VMM's virtio console (Linux hvc driver).
VIRTIO_CONSOLES = ("hvc0",)
# Where the programs go in the rootfs when the system does not say: as the real apps put them,
# camkes-vm-examples zmq_samples/CMakeLists.txt:122 ("bin/") and
# vm_introspect/CMakeLists.txt:80, vm_cross_connector/CMakeLists.txt ("usr/bin") @dd7da62.
PROGRAM_FOLDER = {"x86": "bin/", "arm": "usr/bin"}
_CONSOLE = re.compile(r"(?:^|\s)console=([^\s,]+)")


def console(cmdline: str) -> str | None:
    """The guest's console: the last `console=` of its command line (Linux takes the last
    one as /dev/console), without its options."""
    found = _CONSOLE.findall(cmdline)
    return found[-1] if found else None


def guest_builds(
    programs: dict[str, tuple[GuestProgram, ...]], arch: str
) -> tuple[GuestBuild, ...]:
    """Each build the initrds list (`programs`: VM instance -> its initrd's programs), once,
    in the order first listed (a build follows what it depends on, rules/files.py E283; one
    name is one build, E285)."""
    out: dict[str, GuestBuild] = {}
    for progs in programs.values():
        for p in progs:
            out.setdefault(
                p.name,
                GuestBuild(
                    name=p.name,
                    source=p.source,
                    installs=tuple(p.installs),
                    folder=p.folder or PROGRAM_FOLDER[arch],
                    depends=tuple(p.depends),
                    cmake_args=tuple(p.cmake_args),
                ),
            )
    return tuple(out.values())


def rootfs_overlays(
    vms: tuple[VmPlan, ...],
    images: tuple[Image, ...],
    added: dict[str, tuple[RootfsFile, ...]] | None = None,
    programs: dict[str, tuple[GuestProgram, ...]] | None = None,
) -> tuple[RootfsOverlay, ...]:
    """One overlay per file-server initrd whose every VM has a virtio console as its console,
    or to which the system adds files or programs (`added`, `programs`: VM instance -> its
    initrd's; VMs that share an initrd add the same ones, rules/files.py E255)."""
    out: list[RootfsOverlay] = []
    added = added or {}
    programs = programs or {}
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
        builds = tuple(p.name for p in programs.get(users[0].instance, ()))
        if not files and not builds:
            continue
        out.append(
            RootfsOverlay(
                image=img.fs_name,
                target="overlay_" + re.sub(r"\W", "_", img.fs_name),
                distro="buildroot",
                gzip=img.source.endswith(".gz"),
                files=tuple(files),
                builds=builds,
            )
        )
    return tuple(out)


def _copied(image: str, f: RootfsFile) -> OverlayFile:
    """A user's file, copied into the app under overlay_files/<initrd>/<folder>/<name>."""
    folder = f.folder.strip("/")
    source = f"overlay_files/{image}/{folder}/{f.name}"
    return OverlayFile(f.name, folder, source, "", copy_of=f.source)
