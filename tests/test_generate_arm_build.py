"""The generated ARM app as its build tools read it.

CMake runs `settings.cmake` and configures `CMakeLists.txt` with stand-ins
for the camkes-vm helpers that record what they are given (file-server
images, import path, root server); a C compiler checks the cross-VM glue
against the declarations it uses; and the command line runs `generate` with
`--check` and `--force` on an example.  Each tool-dependent test is skipped
only when the tool is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from arm_app import EXAMPLE_FILES, EXAMPLES, ROOT, generated
from arm_plans import arm_plan, crossvm_vm, vm_plan

from sel4vmgen.plan.model import ComponentPlan
from sel4vmgen.render import RenderContext
from sel4vmgen.render.arm import render
from sel4vmgen.render.env import RenderError

CTX = RenderContext(Path("/srv/system"), "arm_test")


# ---------------------------------------------------------------- the command line


def run_cli(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from sel4vmgen.cli import cli

    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_generate_check_and_force_on_an_arm_example(tmp_path: Path) -> None:
    out = tmp_path / "vm_minimal"
    example = str(EXAMPLES / "vm_minimal.yaml")
    assert run_cli("generate", example, "-o", str(out))[0] == 0
    assert (out / "zcu102" / "devices.camkes").is_file()
    assert run_cli("generate", example, "-o", str(out), "--check")[0] == 0
    devices = out / "tx2" / "devices.camkes"
    devices.write_text(devices.read_text() + "// edited\n")
    code, output = run_cli("generate", example, "-o", str(out), "--check")
    assert code == 1 and "E402" in output and "tx2/devices.camkes differs" in output
    code, output = run_cli("generate", example, "-o", str(out))
    assert code == 1 and "E401" in output
    assert devices.read_text().endswith("// edited\n")  # refused: nothing overwritten
    assert run_cli("generate", example, "-o", str(out), "--force")[0] == 0
    assert not devices.read_text().endswith("// edited\n")
    assert run_cli("generate", example, "-o", str(out), "--check")[0] == 0


def test_a_command_line_camkes_cannot_carry_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    system = tmp_path / "quoted.yaml"
    system.write_text(
        "name: quoted\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\n"
        "vms:\n  - name: guest\n    vcpus: 1\n"
        '    kernel: {image: "${CAMKES_VM_IMAGES_DIR}/linux"}\n'
        "    cmdline: 'console=\"ttyAMA0\"'\n"
    )
    out = tmp_path / "app"
    code, output = run_cli("generate", str(system), "-o", str(out))
    assert code == 1
    # refused by validate's rules, at the line, before anything is rendered
    assert output.splitlines()[0] == (
        f"{system}:9:14: error[E240]: vms[0].cmdline: a double quote cannot be written in a "
        "CAmkES string (camkes-tool has no escapes)"
    )
    assert not out.exists()


# Just enough of the camkes, libsel4vm and sel4vmmplatsupport declarations the glue uses
# (shapes from camkes-vm components/VM_Arm/include/vmlinux.h and sel4vmmplatsupport's
# drivers/cross_vm_connection.h), to check that the generated C compiles.
GLUE_STUBS = {
    "camkes.h": """#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uintptr_t seL4_Word;
typedef struct dataport_caps_handle dataport_caps_handle_t;
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ZF_LOGF_IF(cond, ...) do { if (cond) { for (;;) {} } } while (0)
""",
    "vmlinux.h": """typedef struct vm vm_t;
typedef int (*async_event_handler_fn_t)(vm_t *vm, void *cookie);
int register_async_event_handler(seL4_Word badge, async_event_handler_fn_t callback, void *cookie);
#define DEFINE_MODULE(name, cookie, init) \\
    void (*const name##_module_init)(vm_t *, void *) = init;
""",
    "sel4vm/guest_vm.h": "",
    "sel4vmmplatsupport/drivers/cross_vm_connection.h": """struct camkes_crossvm_connection {
    dataport_caps_handle_t *handle;
    void (*emit_fn)(void);
    seL4_Word consume_badge;
    const char *connection_name;
};
int cross_vm_connections_init(vm_t *vm, uintptr_t connection_base_addr,
                              struct camkes_crossvm_connection *connections, int num_connections);
void consume_connection_event(vm_t *vm, seL4_Word event_id, bool inject_irq);
""",
    "sel4vmmplatsupport/drivers/pci_helper.h": "",
    "pci/helper.h": "",
}
CC = shutil.which("cc")


@pytest.mark.skipif(CC is None, reason="no C compiler")
@pytest.mark.parametrize("events", ["both", "emit-only"])
def test_cross_vm_glue_compiles(events: str, tmp_path: Path) -> None:
    assert CC is not None
    vm = crossvm_vm()
    if events == "emit-only":
        vm = replace(vm, events=vm.events[:1])
    plan = replace(arm_plan(vm), components=(ComponentPlan("crossvm_init", "CrossvmInit"),))
    glue = render((plan,), CTX)["src/cross_vm_connections.c"]
    assert ("consume_callback" in glue) == (events == "both")
    for rel, text in GLUE_STUBS.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "glue.c").write_text("void ready_emit(void);\n" + glue)
    done = subprocess.run(
        [
            CC,
            "-std=gnu11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wno-unused-parameter",
            "-DCONFIG_PLAT_QEMU_ARM_VIRT",
            "-I",
            str(tmp_path),
            "-c",
            "-o",
            os.devnull,
            str(tmp_path / "glue.c"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


# ---------------------------------------------------------------- CMake reads what the plan says

CMAKE = shutil.which("cmake")
needs_cmake = pytest.mark.skipif(CMAKE is None, reason="cmake is not installed")


def cmake_script(tmp_path: Path, body: str, **defs: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "run.cmake"
    script.write_text("cmake_minimum_required(VERSION 3.7.2)\n" + body)
    assert CMAKE is not None
    args = [CMAKE, *(f"-D{k}={v}" for k, v in defs.items()), "-P", str(script)]
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=tmp_path)


def _cmake_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return str(value)


@needs_cmake
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_settings_cmake_sets_the_plan_options(path: Path, tmp_path: Path) -> None:
    plans, files = generated(path)
    (tmp_path / "settings.cmake").write_text(files["settings.cmake"])
    for plan in plans:
        names = [o.name for o in plan.cmake_options]
        show = "".join(f'message("{n}=${{{n}}}")\n' for n in ["AARCH64", *names])
        done = cmake_script(tmp_path, f"include(settings.cmake)\n{show}", PLATFORM=plan.platform)
        assert done.returncode == 0, done.stderr
        seen = dict(line.split("=", 1) for line in done.stderr.splitlines() if "=" in line)
        assert seen["AARCH64"] == ("ON" if plan.sel4_arch == "aarch64" else "OFF")
        for option in plan.cmake_options:
            assert seen[option.name] == _cmake_value(option.value), option.name
    done = cmake_script(tmp_path, "include(settings.cmake)\n", PLATFORM="exynos5410")
    assert done.returncode != 0 and "PLATFORM: exynos5410 not supported." in done.stderr


@needs_cmake
def test_settings_cmake_holds_an_smp_plan_to_its_node_count(tmp_path: Path) -> None:
    files = render((arm_plan(vm_plan(0, vcpus=2), num_nodes=2),), CTX)
    (tmp_path / "settings.cmake").write_text(files["settings.cmake"])
    show = 'include(settings.cmake)\nmessage("NUM_NODES=${NUM_NODES}")\n'
    done = cmake_script(tmp_path, show, PLATFORM="qemu-arm-virt")
    assert (done.returncode, done.stderr.strip()) == (0, "NUM_NODES=2")
    done = cmake_script(tmp_path, show, PLATFORM="qemu-arm-virt", NUM_NODES="4")
    assert done.returncode != 0
    assert "arm_test was planned for NUM_NODES=2, not 4" in done.stderr


# Stand-ins for the camkes-vm and camkes-vm-linux CMake functions the app calls: each
# records its arguments, so a configure run shows what the real build would be given.
HELPER_STUBS = """\
function(AddToFileServer name file)
    file(APPEND "${RECORD}" "AddToFileServer|${name}|${file}\\n")
endfunction()
function(DefineCAmkESVMFileServer)
endfunction()
function(AddCamkesCPPFlag)
endfunction()
function(CAmkESAddImportPath path)
    file(APPEND "${RECORD}" "ImportPath|${path}\\n")
endfunction()
function(DeclareCAmkESComponent name)
    file(APPEND "${RECORD}" "Component|${name}|${ARGN}\\n")
endfunction()
function(DeclareCAmkESRootserver adl)
    file(APPEND "${RECORD}" "Rootserver|${adl}|${ARGN}\\n")
endfunction()
"""
# seL4_tools' cmake-tool `simulation` module, which writes the `simulate` script
SIMULATION_STUB = """\
function(GenerateSimulateScript)
    file(APPEND "${RECORD}" "GenerateSimulateScript\\n")
endfunction()
"""

LINUX_STUBS = """\
function(UpdateDtbFromInitrd dtb initrd address target out)
    file(APPEND "${RECORD}" "UpdateDtbFromInitrd|${dtb}|${initrd}|${address}\\n")
    add_custom_target(${target})
    get_filename_component(base "${dtb}" NAME)
    set(${out} "${CMAKE_CURRENT_BINARY_DIR}/gen_dtb_${base}" PARENT_SCOPE)
endfunction()
# camkes-vm-linux vm-linux-helpers.cmake signatures
function(AddFileToOverlayDir filename file_location root_location overlay_name)
    file(APPEND "${RECORD}" "Overlay|${overlay_name}|${root_location}/${filename}|${file_location}\n")
endfunction()
function(AddOverlayDirToRootfs overlay image distro mode out target)
    file(APPEND "${RECORD}" "Rootfs|${overlay}|${image}|${distro}|${mode}|${ARGN}\n")
    add_custom_target(${target})
    set(${out} "overlaid:${overlay}" PARENT_SCOPE)
endfunction()
"""


# CMake's ExternalProject and camkes-vm-linux's external-project-helpers.cmake signatures
EXTERNAL_STUBS = {
    "ExternalProject.cmake": """\
function(ExternalProject_Add name)
    string(REPLACE ";" "," args "${ARGN}")
    file(APPEND "${RECORD}" "ExternalProject|${name}|${args}\n")
    add_custom_target(${name})
endfunction()
""",
    "external-project-helpers.cmake": """\
function(AddExternalProjFilesToOverlay external_target external_install_dir overlay_target
         overlay_root_location)
    string(REPLACE ";" "," args "${ARGN}")
    file(APPEND "${RECORD}" "OverlayBuilt|${overlay_target}|${overlay_root_location}|\
${external_target}|${external_install_dir}|${args}\n")
endfunction()
""",
}


def configure(files: dict[str, str], platform: str, tmp_path: Path) -> list[list[str]]:
    """Configure the app with the stand-ins; the calls they recorded."""
    app, stubs, build = tmp_path / "app", tmp_path / "stubs", tmp_path / "build"
    for rel, text in files.items():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(text)
    stubs.mkdir()
    (stubs / "arm_vm_helpers.cmake").write_text(HELPER_STUBS)
    (stubs / "linux_helpers.cmake").write_text(LINUX_STUBS)
    (stubs / "simulation.cmake").write_text(SIMULATION_STUB)
    for name, text in EXTERNAL_STUBS.items():
        (stubs / name).write_text(text)
    (stubs / "camkes-vm-linux-config.cmake").write_text(
        'set(CAMKES_VM_LINUX_HELPERS_PATH "${CMAKE_CURRENT_LIST_DIR}/linux_helpers.cmake")\n'
    )
    record = tmp_path / "record.txt"
    record.write_text("")
    assert CMAKE is not None
    done = subprocess.run(
        [
            CMAKE, "-S", str(app), "-B", str(build), "-Wno-dev",
            f"-DCAMKES_ARM_VM_HELPERS_PATH={stubs / 'arm_vm_helpers.cmake'}",
            f"-Dcamkes-vm-linux_DIR={stubs}",
            f"-DCMAKE_MODULE_PATH={stubs}",
            f"-DKernelARMPlatform={platform}",
            "-DCAMKES_VM_IMAGES_DIR=/images",
            "-DCAMKES_ARM_LINUX_DIR=/arm-linux",
            "-DCAMKES_VM_LINUX_DIR=/vm-linux",
            "-DCAMKES_VM_DIR=/camkes-vm",
            f"-DRECORD={record}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line.split("|") for line in record.read_text().splitlines()]


@needs_cmake
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_cmakelists_gives_the_file_server_the_plan_images(path: Path, tmp_path: Path) -> None:
    plans, files = generated(path)
    for plan in plans:
        calls = configure(files, plan.arm_platform or plan.platform, tmp_path / plan.platform)
        served = {c[1]: c[2] for c in calls if c[0] == "AddToFileServer"}
        assert set(served) == {i.fs_name for i in plan.file_server}
        rootfs = {c[1]: c[2] for c in calls if c[0] == "Rootfs"}
        overlaid = {o.image: o.target for o in plan.overlays}
        for image in plan.file_server:
            source = image.source.replace("${CAMKES_VM_IMAGES_DIR}", "/images").replace(
                "${CAMKES_ARM_LINUX_DIR}", "/arm-linux"
            )
            if image.fs_name in overlaid:  # served rebuilt from the plan's initrd
                target = overlaid[image.fs_name]
                assert served[image.fs_name] == f"overlaid:{target}"
                assert rootfs[target] == source
            elif image.role != "dtb":
                assert served[image.fs_name] == source
        assert ["ImportPath", plan.arm_platform or plan.platform] in calls
        [root] = [c for c in calls if c[0] == "Rootserver"]
        assert root[1] == f"{plan.system}.camkes"
        assert root[2].endswith("CPP_INCLUDES;/camkes-vm/components/VM_Arm")


@needs_cmake
def test_a_guest_program_is_built_then_added_to_the_rootfs(tmp_path: Path) -> None:
    _, files = generated(ROOT / "examples" / "vm_introspect.yaml")
    calls = configure(files, "qemu-arm-virt", tmp_path)
    built = [c for c in calls if c[0] in ("ExternalProject", "OverlayBuilt", "Rootfs")]
    url = "file:////vm-linux/camkes-linux-artifacts/camkes-linux-apps/camkes-introspect-app"
    binary = str(tmp_path / "build" / "introspect-app")
    assert built == [
        ["ExternalProject", "introspect-app",
         f"URL,{url}/pkgs/introspect,BINARY_DIR,{binary},INSTALL_COMMAND,,BUILD_ALWAYS,ON,"
         "EXCLUDE_FROM_ALL,CMAKE_ARGS,-DCMAKE_C_COMPILER=" + built[0][2].rsplit("=", 1)[1]],
        ["OverlayBuilt", "overlay_linux_initrd", "usr/bin", "introspect-app", binary,
         "FILES,introspect"],
        ["Rootfs", "overlay_linux_initrd", "/images/qemu-arm-virt/rootfs_crossvm.cpio.gz",
         "buildroot", "rootfs_install", "GZIP"],
    ]  # fmt: skip


@needs_cmake
def test_an_hvc0_rootfs_is_rebuilt_with_its_inittab(tmp_path: Path) -> None:
    _, files = generated(ROOT / "examples" / "vm_multi.yaml")
    calls = configure(files, "qemu-arm-virt", tmp_path)
    inittab = str(tmp_path / "app" / "overlay_files" / "inittab_hvc0")
    added = str(tmp_path / "app" / "overlay_files")
    assert [c for c in calls if c[0] in ("Overlay", "Rootfs")] == [
        ["Overlay", "overlay_linux_initrd_vm0", "etc/inittab", inittab],
        ["Overlay", "overlay_linux_initrd_vm0", "etc/init.d/S90bridge_setup",
         f"{added}/linux-initrd-vm0/etc/init.d/S90bridge_setup"],
        ["Rootfs", "overlay_linux_initrd_vm0", "/images/qemu-arm-virt/rootfs.cpio.gz",
         "buildroot", "rootfs_install", "GZIP"],
        ["Overlay", "overlay_linux_initrd_vm_client", "etc/inittab", inittab],
        ["Overlay", "overlay_linux_initrd_vm_client", "etc/init.d/S90client_net_vm",
         f"{added}/linux-initrd-vm-client/etc/init.d/S90client_net_vm"],
        ["Rootfs", "overlay_linux_initrd_vm_client", "/images/qemu-arm-virt/rootfs.cpio.gz",
         "buildroot", "rootfs_install", "GZIP"],
    ]  # fmt: skip


@needs_cmake
def test_hostile_image_paths_reach_cmake_unchanged(tmp_path: Path) -> None:
    source = '/img/a"b$(x)${HOME} \\ #c'
    vm = vm_plan(0, dtb_mode="provide")
    vm = replace(vm, kernel=replace(vm.kernel, source=source))
    plan = arm_plan(vm)
    plan = replace(plan, file_server=(vm.kernel, *plan.file_server[1:]))
    calls = configure(render((plan,), CTX), "qemu-arm-virt", tmp_path)
    served = {c[1]: c[2] for c in calls if c[0] == "AddToFileServer"}
    assert served["linux"] == source
    # the provided DTB: compiled from the generated .dts, then patched for the initrd
    assert served["linux-dtb"] == str(tmp_path / "build" / "gen_dtb_vm0_dtb")
    [patch] = [c for c in calls if c[0] == "UpdateDtbFromInitrd"]
    assert patch[1:] == [
        str(tmp_path / "build" / "vm0_dtb"),
        "/images/qemu-arm-virt/rootfs.cpio.gz",
        "0x5d700000",
    ]


def test_an_image_path_with_a_semicolon_is_refused() -> None:
    vm = vm_plan(0)
    vm = replace(vm, kernel=replace(vm.kernel, source="/img/a;b"))
    with pytest.raises(RenderError, match=re.escape("a CMake path cannot hold ';': '/img/a;b'")):
        render((arm_plan(vm),), CTX)


@pytest.mark.skipif(CMAKE is None, reason="cmake is not installed")
def test_qemu_arm_virt_builds_write_the_simulate_script(tmp_path: Path) -> None:
    _, files = generated(EXAMPLES / "vm_minimal.yaml")
    qemu = configure(files, "qemu-arm-virt", tmp_path / "qemu")
    tx2 = configure(files, "tx2", tmp_path / "tx2")
    assert ["GenerateSimulateScript"] in qemu
    assert ["GenerateSimulateScript"] not in tx2
