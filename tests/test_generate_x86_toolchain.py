"""The generated x86 files read back through the real tools: CMake runs the CMakeLists
against recording stubs of camkes-vm's helpers, the C preprocessor expands the .camkes
against stub camkes-vm macros, and the C compiler checks the cross-VM glue.  Each test is
skipped when its tool (cmake, cpp, cc) is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_generate_x86 import camkes_settings, plan_settings, rendered
from x86_plans import KERNEL, minimal, optiplex9020, plan, vm_plan, zmq_samples

from sel4vmgen.plan.model import Image, Plan

# Recording stand-ins for camkes-vm's CMake helpers (camkes_vm_helpers.cmake and the
# camkes-vm-linux helpers): each prints its arguments, one per line, prefixed by its name.
CMAKE_STUBS = """
function(record what)
  foreach(arg IN LISTS ARGN)
    message("${what}|${arg}")
  endforeach()
endfunction()
function(DeclareCAmkESVM)
  record(DeclareCAmkESVM ${ARGN})
endfunction()
function(DeclareCAmkESComponent)
  record(DeclareCAmkESComponent ${ARGN})
endfunction()
function(DecompressLinuxKernel target var kernel)
  record(DecompressLinuxKernel "${kernel}")
  set(${var} "decomp/${target}" PARENT_SCOPE)
endfunction()
function(AddToFileServer name file)
  message("AddToFileServer|${name}|${file}")
endfunction()
function(DeclareCAmkESVMRootServer)
  record(DeclareCAmkESVMRootServer ${ARGN})
endfunction()
"""

CMAKE_DRIVER = """
cmake_minimum_required(VERSION 3.8.2)
function(project)
endfunction()
function(find_package)
  message("find_package|${ARGV0}")
endfunction()
set(CAMKES_VM_HELPERS_PATH "${CMAKE_CURRENT_LIST_DIR}/stubs.cmake")
set(CAMKES_VM_LINUX_HELPERS_PATH "${CMAKE_CURRENT_LIST_DIR}/empty.cmake")
set(CAMKES_VM_LINUX_DIR "/linux")
set(CMAKE_CURRENT_SOURCE_DIR "/app")
include("${CMAKE_CURRENT_LIST_DIR}/app/CMakeLists.txt")
"""


def run_cmake(files: dict[str, str], tmp: Path) -> list[str]:
    """The helper calls the generated CMakeLists.txt makes, as `name|argument` lines."""
    (tmp / "app").mkdir()
    (tmp / "app" / "CMakeLists.txt").write_text(files["CMakeLists.txt"])
    (tmp / "stubs.cmake").write_text(CMAKE_STUBS)
    (tmp / "empty.cmake").write_text("")
    (tmp / "driver.cmake").write_text(CMAKE_DRIVER)
    done = subprocess.run(
        ["cmake", "-P", str(tmp / "driver.cmake")], capture_output=True, text=True, check=True
    )
    return done.stderr.splitlines()


needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
needs_cpp = pytest.mark.skipif(shutil.which("cpp") is None, reason="cpp is not installed")
needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="cc is not installed")


@needs_cmake
def test_cmake_sees_every_image_and_vm(tmp_path: Path) -> None:
    assert run_cmake(rendered(optiplex9020()), tmp_path) == [
        "find_package|camkes-vm-linux",
        "DeclareCAmkESVM|Init0",
        "DeclareCAmkESVM|EXTRA_SOURCES",
        "DeclareCAmkESVM|/app/src/cross_vm_connections.c",
        "DeclareCAmkESVM|Init1",
        "DecompressLinuxKernel|/linux/images/kernel/default_bzimage_4.8.16",
        "AddToFileServer|bzimage|decomp/extract_linux_kernel",
        "AddToFileServer|rootfs.cpio|/linux/images/rootfs/default_buildroot_rootfs.cpio",
        "DeclareCAmkESVMRootServer|optiplex9020.camkes",
    ]


@needs_cmake
def test_hostile_image_path_reaches_cmake_as_one_argument(tmp_path: Path) -> None:
    # `${NAME}` references are kept on purpose (image paths name checkout variables);
    # everything else, including a `${` that is not one, arrives as written
    path = '/imgs/a "b" \\ c $e ${F #x (y) [[z]] $ENV{HOME}'
    image = Image("initrd", "rootfs.cpio", path)
    p = plan("hostile", "x86_64", (vm_plan(0, initrd=image),), file_server=(KERNEL, image))
    calls = run_cmake(rendered(p), tmp_path)
    assert f"AddToFileServer|rootfs.cpio|{path}" in calls


# Stand-ins for camkes-vm's vm.h and connections.h: each macro becomes a marker, so what
# the preprocessor leaves shows that every setting line stays one line and one token.
CPP_STUBS = {
    "configurations/vm.h": "\n".join(
        f"#define {m}(...) /* {m} */"
        for m in (
            "VM_INIT_DEF",
            "VM_COMPOSITION_DEF",
            "VM_PER_VM_COMP_DEF",
            "VM_CONFIGURATION_DEF",
            "VM_PER_VM_CONFIG_DEF",
        )
    ),
    "configurations/connections.h": "\n".join(
        f"#define {m}(...) /* {m} */"
        for m in (
            "VM_CONNECTION_COMPONENT_DEF",
            "VM_CONNECTION_CONNECT_VMS",
            "VM_CONNECTION_INIT_HANDLER",
        )
    ),
}


def preprocess(text: str, tmp: Path) -> str:
    for rel, body in CPP_STUBS.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(body + "\n")
    done = subprocess.run(
        ["cpp", "-P", "-undef", "-nostdinc", "-I", str(tmp), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


HOSTILE = "a /* b */ c // d \\ e %s #define vm0 ?? ' \\\\"


@needs_cpp
@pytest.mark.parametrize(
    "p",
    [
        minimal(),
        optiplex9020(),
        zmq_samples(),
        plan("hostile", "ia32", (vm_plan(0, cmdline=HOSTILE),)),
    ],
    ids=["minimal", "optiplex9020", "zmq_samples", "hostile"],
)
def test_settings_survive_the_c_preprocessor(p: Plan, tmp_path: Path) -> None:
    files = rendered(p)
    after = camkes_settings(preprocess(files[f"{p.system}.camkes"], tmp_path))
    for key, value in plan_settings(p).items():
        assert after[key] == value, key


C_STUBS = """
#include <stddef.h>
#include <stdint.h>
typedef unsigned long seL4_CPtr;
typedef struct vm vm_t;
typedef struct vmm_pci_space vmm_pci_space_t;
typedef struct { int unused; } dataport_caps_handle_t;
typedef int (*emit_fn)(void);
typedef void (*event_callback_fn)(void *arg);
struct camkes_consumes_event {
    vm_t *vm;
    unsigned int id;
    int (*reg_callback)(event_callback_fn, void *arg);
    seL4_CPtr irq_notification;
};
struct camkes_crossvm_connection {
    dataport_caps_handle_t *handle;
    emit_fn emit_fn;
    struct camkes_consumes_event consume_event;
};
int cross_vm_connections_init(vm_t *vm, uintptr_t base, struct camkes_crossvm_connection *c,
                              int n, vmm_pci_space_t *pci, seL4_CPtr irq);
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
"""


@needs_cc
def test_cross_vm_glue_compiles(tmp_path: Path) -> None:
    p = optiplex9020()
    source = rendered(p)["src/cross_vm_connections.c"]
    inc = tmp_path / "inc"
    for header in (
        "camkes.h",
        "camkes/dataport_caps.h",
        "sel4vm/guest_vm.h",
        "sel4vmmplatsupport/drivers/cross_vm_connection.h",
        "sel4vmmplatsupport/drivers/pci_helper.h",
    ):
        (inc / header).parent.mkdir(parents=True, exist_ok=True)
        (inc / header).write_text("")
    # the CAmkES glue of vm0's events, as camkes-tool generates it
    glue = "int ready_emit(void);\nint done_reg_callback(event_callback_fn, void *);\n"
    (inc / "crossvm.h").write_text(C_STUBS + glue)
    (tmp_path / "x.c").write_text(source)
    done = subprocess.run(
        ["cc", "-fsyntax-only", "-Wall", "-Werror", "-I", str(inc), str(tmp_path / "x.c")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
