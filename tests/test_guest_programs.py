"""Guest programs (`initrd.programs`): CMake projects built for the guests and added to their
rootfs, as camkes-vm-examples zmq_samples (x86) and vm_introspect (ARM) build theirs.

The plan holds each build once, in build order, and each overlay the builds it gets; the x86
renderer installs into a sysroot with the 32-bit Linux toolchain and adds the programs from
there, the ARM one builds with the app's C compiler and adds them from the build folder; a
project folder the user wrote is copied into the app.  The rules' refusals are pinned by the
bad-at-check fixtures (E282-E285, E267); the real apps' lines by test_settings_parity.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sel4vmgen.app.generate import app_files, resolve_plans
from sel4vmgen.diagnostics import DiagnosticError
from sel4vmgen.model import load
from sel4vmgen.plan.invariants import problems
from sel4vmgen.plan.model import GuestBuild
from sel4vmgen.render import RenderContext

ROOT = Path(__file__).resolve().parent.parent
DEMOS = ("client", "server", "sink", "source", "worker", "pub", "sub")


def _files(example: str) -> dict[str, str]:
    path = ROOT / "examples" / f"{example}.yaml"
    return app_files(resolve_plans(load(path)), RenderContext(path.parent, example))


def test_zmq_samples_plans_libzmq_then_the_demo_programs_once_for_three_guests() -> None:
    (plan,) = resolve_plans(load(ROOT / "examples" / "zmq_samples.yaml"))
    assert plan.guest_builds == (
        GuestBuild(
            "zmq_external",
            "${LIBZMQ_PATH}",
            (),
            "bin/",
            (),
            ("-DPOLLER=epoll", "-DWITH_PERF_TOOL=ON", "-DBUILD_TESTS=OFF"),
        ),
        GuestBuild(
            "demoapps_external", "guest_programs/zmq_demo", DEMOS, "bin/", ("zmq_external",)
        ),
    )
    assert [(o.image, o.builds) for o in plan.overlays] == [
        (f"vm{n}_rootfs.cpio", ("zmq_external", "demoapps_external")) for n in range(3)
    ]
    assert problems(plan) == []


def test_x86_adds_each_program_from_the_sysroot_to_each_guest() -> None:
    text = _files("zmq_samples")["CMakeLists.txt"]
    for n in range(3):
        target = f"overlay_vm{n}_rootfs_cpio"
        for prog in DEMOS:
            line = (
                f'AddFileToOverlayDir("{prog}" ${{CMAKE_CURRENT_BINARY_DIR}}/sysroot/bin/{prog} '
                f'"bin/" {target})'
            )
            assert text.count(line) == 1, line
    # built before the rootfs that holds them is rebuilt
    assert text.index("DeclareExternalProjObjectFiles(") < text.index("AddOverlayDirToRootfs(")


def test_the_users_project_folder_is_copied_into_the_app() -> None:
    files = _files("zmq_samples")
    folder = ROOT / "examples" / "guest_programs" / "zmq_demo"
    copied = {k for k in files if k.startswith("guest_programs/")}
    assert copied == {
        "guest_programs/demoapps_external/CMakeLists.txt",
        "guest_programs/demoapps_external/zmq_demo.c",
    }
    for name in ("CMakeLists.txt", "zmq_demo.c"):
        assert files[f"guest_programs/demoapps_external/{name}"] == (folder / name).read_text()


def test_arm_builds_with_the_apps_compiler_and_adds_from_the_build_folder() -> None:
    text = _files("vm_introspect")["CMakeLists.txt"]
    want = [
        "AddExternalProjFilesToOverlay(",
        "introspect-app",
        "${CMAKE_CURRENT_BINARY_DIR}/introspect-app",
        "overlay_linux_initrd",
        '"usr/bin"',
        "FILES",
        "introspect",
        ")",
    ]
    lines = [line.strip() for line in text.splitlines()]
    at = lines.index(want[0])
    assert lines[at : at + len(want)] == want
    assert lines.index("ExternalProject_Add(") < at < lines.index("AddOverlayDirToRootfs(")


def test_a_library_build_adds_nothing_to_the_rootfs(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "CMakeLists.txt").write_text("project(lib C)\n")
    system = tmp_path / "s.yaml"
    system.write_text(
        "name: s\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\nvms:\n"
        "  - name: vm0\n    kernel: {image: linux}\n    initrd:\n      image: rootfs.cpio.gz\n"
        "      programs: [{name: lib, source: lib, folder: opt}]\n"
    )
    (plan,) = resolve_plans(load(system))
    assert plan.guest_builds[0].folder == "opt"
    files = app_files((plan,), RenderContext(tmp_path, "s"))
    assert "AddExternalProjFilesToOverlay" not in files["CMakeLists.txt"]
    assert files["guest_programs/lib/CMakeLists.txt"] == "project(lib C)\n"


def test_a_folder_that_cannot_be_copied_is_e408(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "CMakeLists.txt").write_text("project(p C)\n")
    (tmp_path / "p" / "blob.bin").write_bytes(b"\xff\xfe")
    system = tmp_path / "s.yaml"
    system.write_text(
        "name: s\narch: x86\nsel4_arch: ia32\nplatform: pc99\nvms:\n"
        "  - name: vm0\n    kernel: {image: bzimage}\n    initrd:\n      image: rootfs.cpio\n"
        "      programs: [{name: p, source: p, installs: [p]}]\n"
    )
    plans = resolve_plans(load(system))
    with pytest.raises(DiagnosticError) as caught:
        app_files(plans, RenderContext(tmp_path, "s"))
    (d,) = caught.value.diagnostics
    assert d.code == "E408"
    assert d.message.startswith(f"guest program file {tmp_path / 'p' / 'blob.bin'}: cannot copy")
