"""Guest rootfs overlays: an initrd whose guests' console is hvc0 gets a getty there.

The camkes-vm-images buildroot rootfs starts its getty on the UART only, so a guest whose
console is the virtio console would boot to no login prompt (camkes-vm-examples vm_multi
overlays an inittab for hvc0).  The plan decides the overlay; the ARM renderer writes the
inittab and the camkes-vm-linux overlay steps.
"""

from __future__ import annotations

from pathlib import Path

from sel4vmgen.app.generate import app_files, resolve_plans
from sel4vmgen.model import load
from sel4vmgen.plan.overlays import console
from sel4vmgen.render import RenderContext

ROOT = Path(__file__).resolve().parent.parent


def test_console_is_the_last_console_argument() -> None:
    assert console("earlycon console=ttyAMA0,115200 console=hvc0 rw") == "hvc0"
    assert console("console=ttyS0,115200n8 debug") == "ttyS0"
    assert console("root=/dev/ram rw") is None


def test_vm_multi_rebuilds_each_initrd_with_an_hvc0_getty() -> None:
    (plan,) = resolve_plans(load(ROOT / "examples" / "vm_multi.yaml"))
    got = [
        (o.image, o.distro, o.gzip, [(f.folder, f.name, f.getty, f.copy_of) for f in o.files])
        for o in plan.overlays
    ]
    # the hvc0 getty, then the network set-up script each initrd's VMs add (initrd.files)
    assert got == [
        (
            "linux-initrd-vm0",
            "buildroot",
            True,
            [
                ("etc", "inittab", "hvc0", ""),
                ("etc/init.d", "S90bridge_setup", "", "overlay_files/vm_multi_bridge.sh"),
            ],
        ),
        (
            "linux-initrd-vm-client",
            "buildroot",
            True,
            [
                ("etc", "inittab", "hvc0", ""),
                ("etc/init.d", "S90client_net_vm", "", "overlay_files/vm_multi_client.sh"),
            ],
        ),
    ]


def test_an_added_rootfs_file_is_copied_into_the_app() -> None:
    path = ROOT / "examples" / "vm_multi.yaml"
    files = app_files(resolve_plans(load(path)), RenderContext(path.parent, "vm_multi"))
    script = (ROOT / "examples" / "overlay_files" / "vm_multi_bridge.sh").read_text()
    assert files["overlay_files/linux-initrd-vm0/etc/init.d/S90bridge_setup"] == script
    assert (
        'AddFileToOverlayDir("S90bridge_setup" "${CMAKE_CURRENT_SOURCE_DIR}/overlay_files/'
        'linux-initrd-vm0/etc/init.d/S90bridge_setup" "etc/init.d" overlay_linux_initrd_vm0)'
    ) in files["CMakeLists.txt"]


def test_a_uart_console_gets_no_overlay() -> None:
    (plan,) = resolve_plans(load(ROOT / "examples" / "vm_cross_connector.yaml"))
    assert plan.overlays == ()


def test_the_overlay_is_built_and_loaded_under_the_initrd_name() -> None:
    path = ROOT / "examples" / "vm_multi.yaml"
    files = app_files(resolve_plans(load(path)), RenderContext(path.parent, "vm_multi"))
    cmake = files["CMakeLists.txt"]
    assert (
        'AddFileToOverlayDir("inittab" "${CMAKE_CURRENT_SOURCE_DIR}/overlay_files/inittab_hvc0"'
        ' "etc" overlay_linux_initrd_vm0)'
    ) in cmake
    assert (
        'AddToFileServer("linux-initrd-vm0" "${overlay_linux_initrd_vm0_rootfs}" '
        "DEPENDS overlay_linux_initrd_vm0_target)"
    ) in cmake
    inittab = files["overlay_files/inittab_hvc0"].splitlines()
    assert "hvc0::respawn:/sbin/getty -L 115200 hvc0" in inittab
    assert "::sysinit:/etc/init.d/rcS" in inittab
