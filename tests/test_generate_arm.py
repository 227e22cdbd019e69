"""`generate` for ARM: the VM_Arm application a user drops into camkes-vm-examples.

Golden files under tests/golden/arm/ pin every generated file (run with
UPDATE_GOLDEN=1 to regenerate them; any other difference fails).  The
settings written to the `.camkes` files, parsed back, must agree with the
plan; the apps that mirror camkes-vm-examples' vm_minimal and vm_multi must
resolve to the same instances, connections and settings as the real ones
(tests/data/real_arm_subset.json), apart from the documented differences
(docs/arm.md); and the output is safe: strings written so that they read back
exactly or refused, names checked, nothing outside the output folder,
deterministic.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from arm_app import (
    EXAMPLE_FILES,
    EXAMPLES,
    FIXED_BASE,
    ROOT,
    app_settings,
    composition,
    configuration,
    generated,
    macro_ids,
    real_ends,
)
from arm_plans import arm_plan, crossvm_vm, linked_vms, vm_plan
from hypothesis import given, settings
from hypothesis import strategies as st

from sel4vmgen.app.generate import app_files, resolve_plans
from sel4vmgen.app.planfile import parse_plan
from sel4vmgen.app.writer import WriteError, check_tree, safe_relpath, write_tree
from sel4vmgen.diagnostics import DiagnosticError
from sel4vmgen.model import load
from sel4vmgen.plan.model import ComponentPlan, Plan, Setting
from sel4vmgen.render import RenderContext
from sel4vmgen.render.arm import render
from sel4vmgen.render.env import RenderError

GOLDEN = ROOT / "tests" / "golden" / "arm"
REAL = json.loads((ROOT / "tests" / "data" / "real_arm_subset.json").read_text())
CTX = RenderContext(Path("/srv/system"), "arm_test")


# ---------------------------------------------------------------- the cases


def _minimal_provide() -> tuple[Plan, ...]:
    return (arm_plan(vm_plan(0, dtb_mode="provide")),)


def _multi() -> tuple[Plan, ...]:
    vm0, vm1, link = linked_vms()
    return (replace(arm_plan(vm0, vm1, num_nodes=1), virtqueues=(link,)),)


def _crossvm() -> tuple[Plan, ...]:
    comp = ComponentPlan("crossvm_init", "CrossvmInit", ("components/crossvm_init.c",), 120)
    return (replace(arm_plan(crossvm_vm(), num_nodes=1), components=(comp,)),)


def _two_platforms() -> tuple[Plan, ...]:
    vm = replace(vm_plan(0), settings=(Setting("cnode_size_bits", 23),))
    other = replace(
        vm_plan(0, ram_base=0xF1000000, ram_size=0x8000000, vcpus=4),
        settings=(Setting("cnode_size_bits", 23), Setting("allow_smc", True)),
    )
    return (
        arm_plan(vm),
        replace(arm_plan(other, platform="tx2", num_nodes=4), cmake_options=()),
    )


CASES: dict[str, Callable[[], tuple[Plan, ...]]] = {
    "minimal_provide": _minimal_provide,
    "multi": _multi,
    "crossvm": _crossvm,
    "two_platforms": _two_platforms,
}


def rendered(case: str) -> dict[str, str]:
    return render(CASES[case](), CTX)


# ---------------------------------------------------------------- golden files


def compare_with_golden(folder: Path, files: dict[str, str]) -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(folder, ignore_errors=True)
        for rel, text in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
    have = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert have == set(files), "generated files differ from the golden list"
    for rel, text in files.items():
        assert (folder / rel).read_text() == text, f"{rel} differs from {folder / rel}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_golden_files(case: str) -> None:
    compare_with_golden(GOLDEN / case, rendered(case))


# ---------------------------------------------------------------- settings agree with the plan


def expected_from_plan(plan: Plan) -> dict[str, Any]:
    """What the .camkes files must say for each VM, read from plan.json."""
    out: dict[str, Any] = {}
    for vm in plan.vms:
        i = vm.instance
        assert vm.ram.guest is not None and vm.dtb is not None
        out[f"{i}.num_vcpus"] = vm.vcpus
        addr = {
            "ram_base": vm.ram.guest,
            "ram_paddr_base": vm.ram.paddr,
            "ram_size": vm.ram.size,
            "dtb_addr": vm.dtb.guest,
        }
        if vm.initrd is not None:
            addr["initrd_addr"] = vm.initrd.guest
        out[f"{i}.vm_address_config"] = addr
        out[f"{i}.vm_image_config"] = {
            "kernel_name": vm.kernel.fs_name,
            "kernel_bootcmdline": vm.cmdline,
            "kernel_stdout": vm.stdout or "",
            "provide_dtb": vm.dtb_mode == "provide",
            "generate_dtb": vm.dtb_mode == "generate",
            "provide_initrd": vm.initrd is not None,
            "map_one_to_one": vm.map_one_to_one,
        }
        out[f"{i}.untyped_mmios"] = [
            (r.paddr if r.paddr is not None else r.guest, r.size) for r in vm.untyped_mmios
        ]
        query: list[dict[str, Any]] = [{"path": p} for p in vm.dtb_nodes]
        query += [{"properties": {"compatible[0]": c}} for c in vm.dtb_compatibles]
        out[f"{i}.dtb"] = query or [{}]
        for s in vm.settings:
            out[f"{i}.{s.name}"] = list(s.value) if isinstance(s.value, tuple) else s.value
    return out


def as_written(settings: dict[str, Any], key: str) -> Any:
    value = settings[key]
    attr = key.split(".", 1)[1]
    if attr == "vm_address_config":
        return {k: int(v, 16) for k, v in value.items() if k != "kernel_entry_addr"}
    if attr == "untyped_mmios":
        return [(int(e.split(":")[0], 16), 1 << int(e.split(":")[1])) for e in value]
    if attr == "dtb":
        return value["dtb"]
    return value


@pytest.mark.parametrize("case", sorted(CASES))
def test_camkes_settings_parse_back_to_the_plan(case: str) -> None:
    plans = CASES[case]()
    files = render(plans, CTX)
    for plan in plans:
        plan = parse_plan(plan.to_json(), plan.platform)  # what plan.json holds
        written = app_settings(files, plan.system, plan.arm_platform or plan.platform)
        for key, want in expected_from_plan(plan).items():
            got = as_written(written, key)
            if isinstance(want, dict):
                got = {k: got.get(k) for k in want}
            assert got == want, f"{plan.platform} {key}"


# ---------------------------------------------------------------- VCPU threads


def check_vcpu_threads(plans: tuple[Plan, ...], files: dict[str, str]) -> None:
    """camkes-vm: the VMM at base_prio, one VCPU thread per VCPU it creates (num_vcpus,
    capped at KernelMaxNumNodes) at base_prio - 1 with affinity = VCPU id on SMP, the IRQ
    server at base_prio + 1; the app says the same with num_vcpus and base_prio."""
    for plan in plans:
        written = app_settings(files, plan.system, plan.arm_platform or plan.platform)
        for vm in plan.vms:
            mine = [t for t in plan.threads if t.vm == vm.instance]
            vmm = [t for t in mine if t.role == "vmm"]
            vcpus = sorted((t for t in mine if t.role == "vcpu"), key=lambda t: t.vcpu or 0)
            assert [t.priority for t in vmm] == [vm.priority]
            assert [t.vcpu for t in vcpus] == list(range(min(vm.vcpus, plan.num_nodes)))
            assert {t.priority for t in vcpus} == {vm.priority - 1}
            if plan.num_nodes > 1:
                assert [t.core for t in vcpus] == [t.vcpu for t in vcpus]
            servers = [t.priority for t in mine if t.role == "irq_server"]
            assert servers in ([], [vm.priority + 1])
            assert written[f"{vm.instance}.num_vcpus"] == vm.vcpus
            base_prio = written.get(f"{vm.instance}.base_prio", 100)  # VM_CONFIGURATION_DEF
            assert base_prio == vm.priority


@pytest.mark.parametrize("case", sorted(CASES))
def test_vcpu_threads_follow_camkes_vm(case: str) -> None:
    plans = CASES[case]()
    check_vcpu_threads(plans, render(plans, CTX))


def test_a_vmm_priority_other_than_the_default_is_written() -> None:
    plan = arm_plan(replace(vm_plan(0), priority=150))
    written = app_settings(render((plan,), CTX), plan.system, "qemu-arm-virt")
    assert written["vm0.base_prio"] == 150


def test_smp_systems_set_the_node_count() -> None:
    files = render((arm_plan(vm_plan(0, vcpus=2), num_nodes=2),), CTX)
    assert 'set(NUM_NODES 2 CACHE STRING "" FORCE)' in files["settings.cmake"]
    files = render((arm_plan(vm_plan(0, vcpus=1), num_nodes=1),), CTX)
    assert "NUM_NODES" not in files["settings.cmake"]


# ---------------------------------------------------------------- structure


def test_platform_specific_settings_stay_per_platform() -> None:
    files = rendered("two_platforms")
    app, _ = configuration(files["arm_test.camkes"])
    qemu, _ = configuration(files["qemu-arm-virt/devices.camkes"])
    tx2, _ = configuration(files["tx2/devices.camkes"])
    # the same on both platforms; the zeros are required by VM_Arm (no default in VM_INIT_DEF)
    assert app == {
        "vm0.num_extra_frame_caps": 0,
        "vm0.extra_frame_map_address": 0,
        "vm0.cnode_size_bits": 23,
    }
    assert "vm0.allow_smc" not in qemu and tx2["vm0.allow_smc"] is True
    assert qemu["vm0.num_vcpus"] == 2 and tx2["vm0.num_vcpus"] == 4
    assert 'set(supported "qemu-arm-virt;tx2")' in files["settings.cmake"]
    cmake = files["CMakeLists.txt"]
    assert '("${KernelARMPlatform}" STREQUAL "qemu-arm-virt")' in cmake
    assert '("${KernelARMPlatform}" STREQUAL "tx2")' in cmake


def test_assembly_uses_the_camkes_vm_macros_and_dtb_passthrough() -> None:
    text = rendered("minimal_provide")["arm_test.camkes"]
    _, macros = configuration(text)
    assert macros == ["VM_GENERAL_CONFIGURATION_DEF()", "VM_CONFIGURATION_DEF(0)"]
    for line in (
        "VM_GENERAL_COMPOSITION_DEF()",
        "VM_COMPOSITION_DEF(0)",
        "connection seL4VMDTBPassthrough vm_dtb(from vm0.dtb_self, to vm0.dtb);",
    ):
        assert line in text


def test_virtqueues_are_wired_as_vm_multi() -> None:
    files = rendered("multi")
    text = files["arm_test.camkes"]
    assert "component VirtQueueInit vm1_vm0;" in text
    assert "maybe uses VirtQueueDev recv1;" in text and "maybe uses VirtQueueDrv send1;" in text
    assert (
        "connection seL4VirtQueues vm1_vm0_conn(to vm1_vm0.init, from vm0.send1, "
        "from vm0.recv1, from vm1.send1, from vm1.recv1);"
    ) in text
    settings, macros = configuration(text)
    assert "VM_VIRTUAL_SERIAL_CONFIGURATION_DEF(0,1)" in macros
    assert settings["vm1_vm0.init_topology"] == [
        {"drv": "vm0.send1", "dev": "vm1.recv1"},
        {"drv": "vm1.send1", "dev": "vm0.recv1"},
    ]
    assert settings["vm0.vswitch_layout"] == [
        {"mac_addr": "02:00:00:00:AA:02", "recv_id": 0, "send_id": 1}
    ]
    assert settings["vm0.vswitch_mac_address"] == "02:00:00:00:AA:01"
    assert settings["vm1.recv1_shmem_size"] == 8192


def test_cross_vm_glue_and_native_component() -> None:
    files = rendered("crossvm")
    glue = files["src/cross_vm_connections.c"]
    assert '{&crossvm_dp_0_handle, ready_emit, -1, "crossvm_dp_0"},' in glue
    assert '{&crossvm_dp_1_handle, NULL, -1, "crossvm_dp_1"},' in glue
    assert "connections[0].consume_badge = done_notification_badge();" in glue
    assert "#define CONNECTION_BASE_ADDRESS 0xdf000000" in glue
    assert "cross_vm_connections_init(vm, CONNECTION_BASE_ADDRESS, connections," in glue
    assert "DEFINE_MODULE(cross_vm_connections, NULL, init_cross_vm_connections)" in glue
    comp = files["components/CrossvmInit/CrossvmInit.camkes"]
    for line in (
        "control;",
        "dataport Buf(4096) dest;",
        "consumes Ready ready;",
        "emits Done done;",
    ):
        assert line in comp
    cmake = files["CMakeLists.txt"]
    assert "DeclareCAmkESComponent(VM SOURCES src/cross_vm_connections.c)" in cmake
    assert (
        'DeclareCAmkESComponent(CrossvmInit SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/components/CrossvmInit/src/crossvm_init.c")'
        in cmake
    )
    settings, _ = configuration(files["arm_test.camkes"])
    assert settings["crossvm_init.priority"] == 120
    assert settings["vm0.crossvm_dp_0_id"] == 0 and settings["vm0.crossvm_dp_0_size"] == 4096


def test_a_provided_dtb_is_compiled_and_patched_for_the_initrd() -> None:
    cmake = rendered("minimal_provide")["CMakeLists.txt"]
    assert (
        'COMMAND dtc -q -I dts -O dtb -o "${CMAKE_CURRENT_BINARY_DIR}/vm0_dtb" '
        '"${CMAKE_CURRENT_SOURCE_DIR}/qemu-arm-virt/vm0.dts"'
    ) in cmake
    assert "UpdateDtbFromInitrd(" in cmake
    assert 'AddToFileServer("linux-dtb" "${vm0_dtb_file}" DEPENDS vm0_dtb_initrd)' in cmake


DTC = shutil.which("dtc")


@pytest.mark.skipif(DTC is None, reason="dtc is not installed")
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_generated_dts_compiles_cleanly(case: str, tmp_path: Path) -> None:
    assert DTC is not None
    for rel, text in rendered(case).items():
        if not rel.endswith(".dts"):
            continue
        src = tmp_path / "x.dts"
        src.write_text(text)
        done = subprocess.run(
            [DTC, "-I", "dts", "-O", "dtb", "-o", os.devnull, str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, ""), rel


# ---------------------------------------------------------------- safety


HOSTILE = "x=y \\n \\; vm0.evil = 1; /* */ // #include <x> ${HOME} $(id) 'q' \\\\"


def test_hostile_strings_are_written_verbatim_and_read_back_exactly() -> None:
    vm = vm_plan(0, dtb_mode="provide", cmdline=HOSTILE, stdout="/a\\b")
    vm = replace(vm, dtb_nodes=("/x;y",), keep_devices=("/k/*",))
    files = render((arm_plan(vm),), CTX)
    written = app_settings(files, "arm_test", "qemu-arm-virt")
    assert "vm0.evil" not in written
    image = written["vm0.vm_image_config"]
    assert (image["kernel_bootcmdline"], image["kernel_stdout"]) == (HOSTILE, "/a\\b")
    assert written["vm0.dtb"] == {"dtb": [{"path": "/x;y"}]}
    assert written["vm0.plat_keep_devices"] == ["/k/*"]


@pytest.mark.parametrize(
    ("cmdline", "message"),
    [
        ('console="ttyAMA0"', "a CAmkES string cannot hold a double quote"),
        (
            "console=ttyAMA0\n#include <x>",
            "a CAmkES string cannot hold the control character '\\n'",
        ),
        ("ends with \\", "a CAmkES string cannot end with an odd run of backslashes"),
    ],
)
def test_a_string_camkes_cannot_carry_is_refused_not_written(cmdline: str, message: str) -> None:
    plan = arm_plan(vm_plan(0, cmdline=cmdline))
    with pytest.raises(DiagnosticError) as e:
        app_files((plan,), CTX)
    [d] = e.value.diagnostics
    assert d.code == "E405"
    assert d.message.startswith(message)


def test_hostile_image_paths_stay_one_cmake_argument() -> None:
    vm = vm_plan(0)
    vm = replace(vm, kernel=replace(vm.kernel, source='/img/a"b$(x)${HOME}\\'))
    files = render((arm_plan(vm),), CTX)
    assert 'AddToFileServer("linux" "/img/a\\"b\\$(x)\\${HOME}\\\\")' in files["CMakeLists.txt"]


def test_names_that_are_not_identifiers_are_refused() -> None:
    comp = ComponentPlan("crossvm_init", "../../Evil", ())
    plan = replace(arm_plan(crossvm_vm()), components=(comp,))
    with pytest.raises(RenderError, match=re.escape("'../../Evil' is not an identifier")):
        render((plan,), CTX)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_path_stays_inside_the_app(case: str) -> None:
    for rel in rendered(case):
        assert str(safe_relpath(rel)) == rel


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_is_deterministic(case: str) -> None:
    assert rendered(case) == rendered(case)


def test_written_app_checks_clean_and_edits_need_force(tmp_path: Path) -> None:
    files = app_files(_multi(), CTX)
    out = tmp_path / "app"
    write_tree(out, files, version="t", input_sha256="0")
    assert check_tree(out, files, "t", "0") == ()
    (out / "arm_test.camkes").write_text("edited\n")
    assert check_tree(out, files, "t", "0") == ("arm_test.camkes",)
    with pytest.raises(WriteError) as e:
        write_tree(out, files, version="t", input_sha256="0")
    assert e.value.kind == "edited"
    write_tree(out, files, version="t", input_sha256="0", force=True)
    assert (out / "arm_test.camkes").read_text() == files["arm_test.camkes"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_generates_the_golden_app(path: Path) -> None:
    _, files = generated(path)
    compare_with_golden(GOLDEN / "examples" / path.stem, files)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_settings_read_back_equal_its_plan_json(path: Path) -> None:
    plans, files = generated(path)
    for plan in plans:
        rel = "plan.json" if len(plans) == 1 else f"{plan.platform}/plan.json"
        plan = parse_plan(files[rel], rel)
        written = app_settings(files, plan.system, plan.arm_platform or plan.platform)
        for key, want in expected_from_plan(plan).items():
            got = as_written(written, key)
            if isinstance(want, dict):
                got = {k: got.get(k) for k in want}
            assert got == want, f"{plan.platform} {key}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_vcpu_threads_follow_camkes_vm(path: Path) -> None:
    check_vcpu_threads(*generated(path))


@pytest.mark.skipif(DTC is None, reason="dtc is not installed")
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_device_trees_compile_cleanly(path: Path, tmp_path: Path) -> None:
    assert DTC is not None
    for rel, text in generated(path)[1].items():
        if rel.endswith(".dts"):
            src = tmp_path / "x.dts"
            src.write_text(text)
            done = subprocess.run(
                [DTC, "-I", "dts", "-O", "dtb", "-o", os.devnull, str(src)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert (done.returncode, done.stderr) == (0, ""), rel


# ---------------------------------------------------------------- against the real apps


def expanded(files: dict[str, str], name: str, folder: str) -> dict[str, Any]:
    """What camkes-tool would resolve: the app's instances, connection ends and settings,
    with the camkes-vm macros expanded from their definitions (real_arm_subset.json)."""
    macros = REAL["macros"]
    text = files[f"{name}.camkes"]
    instances, comp_macros, ends = composition(text)
    for call in comp_macros:
        if call.startswith("VM_GENERAL_COMPOSITION_DEF"):
            instances.update(macros["VM_GENERAL_COMPOSITION_DEF"]["instances"])
        elif call.startswith("VM_COMPOSITION_DEF"):
            [n] = macro_ids(call)
            instances[f"vm{n}"] = "VM"
            for c in macros["VM_COMPOSITION_DEF"]["connections"]:
                ends += real_ends(c.replace("{n}", n))
        elif call.startswith("VM_VIRTUAL_SERIAL_COMPOSITION_DEF"):
            serial = macros["VM_VIRTUAL_SERIAL_COMPOSITION_DEF"]
            instances.update(serial["instances"])
            for c in serial["connections"]:
                ends += real_ends(c)
            for n in macro_ids(call):
                for c in serial["per_vm_connections"]:
                    ends += real_ends(c.replace("{n}", n))
    settings: dict[str, Any] = {}
    _, conf_macros = configuration(text)
    for call in conf_macros:
        if call.startswith("VM_CONFIGURATION_DEF"):
            [n] = macro_ids(call)
            settings.update({f"vm{n}.{k}": v for k, v in macros["VM_CONFIGURATION_DEF"].items()})
        elif call.startswith("VM_VIRTUAL_SERIAL_CONFIGURATION_DEF"):
            settings.update(macros["VM_VIRTUAL_SERIAL_GENERAL_CONFIGURATION_DEF"])
            per_vm = macros["PER_VM_VIRTUAL_SERIAL_CONFIGURATION_DEF"]
            for n in macro_ids(call):
                settings.update({f"vm{n}.{k}": v for k, v in per_vm.items()})
    settings.update(app_settings(files, name, folder))
    return {"instances": instances, "ends": sorted(set(ends)), "settings": settings}


def _ints(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    return value


LEGACY_ADDRESS = {
    "linux_ram_base": "ram_base",
    "linux_ram_paddr_base": "ram_paddr_base",
    "linux_ram_size": "ram_size",
    "dtb_addr": "dtb_addr",
    "initrd_addr": "initrd_addr",
}
LEGACY_IMAGE = {
    "linux_name": "kernel_name",
    "linux_bootcmdline": "kernel_bootcmdline",
    "linux_stdout": "kernel_stdout",
    "initrd_name": "initrd_name",
    "dtb_base_name": "dtb_base_name",
    "dtb_name": "dtb_name",
}


def _dtb_query(value: Any) -> list[str]:
    if "dtb_query_nodes" in value:  # camkes-tool's resolved form
        names = REAL["compatible_nodes"]
        return [
            f"compatible:{names[p]}" if p in names else p for p in value["dtb_query_nodes"] if p
        ]
    out = []
    for q in value["dtb"]:
        if "path" in q:
            out.append(q["path"])
        elif "properties" in q:
            out.append("compatible:" + q["properties"]["compatible[0]"])
    return out


def differences(real: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """The settings that differ, apart from the documented differences (docs/arm.md)."""
    out: list[str] = []
    defaults = REAL["vm_init_defaults"]
    ours = dict(ours)
    for key, want in real.items():
        inst, _, attr = key.partition(".")
        if attr in ("linux_address_config", "linux_image_config"):
            new = "vm_address_config" if attr == "linux_address_config" else "vm_image_config"
            names = LEGACY_ADDRESS if attr == "linux_address_config" else LEGACY_IMAGE
            got = ours.pop(f"{inst}.{new}", {})
            _compare_config(key, want, got, names, out)
            continue
        if attr == "vm_image_config":
            got = ours.pop(key, {})
            _compare_config(key, want, got, {k: k for k in want}, out)
            continue
        if key not in ours:
            out.append(f"{key}: missing (real {want!r})")
            continue
        got = ours.pop(key)
        if attr == "dtb":
            want, got = _dtb_query(want), _dtb_query(got)
        elif attr == "vm_address_config":
            want = {k: int(v, 16) for k, v in want.items()}
            got = {k: int(v, 16) for k, v in got.items()}
        elif attr in ("untyped_mmios", "mmios"):
            want = [[int(x, 0) for x in e.split(":")] for e in want]
            got = [[int(x, 0) for x in e.split(":")] for e in got]
        if _ints(want) != _ints(got):
            out.append(f"{key}: {got!r}, real {want!r}")
    for key, got in ours.items():
        attr = key.partition(".")[2]
        if attr in defaults and got == defaults[attr]:
            continue  # the attribute's default, which camkes-tool does not list
        out.append(f"{key}: {got!r} is not in the real app")
    return out


def _compare_config(
    key: str, want: dict[str, Any], got: dict[str, Any], names: dict[str, str], out: list[str]
) -> None:
    for old, new in names.items():
        if old not in want:
            continue
        if new == "dtb_name" and not got.get("provide_dtb"):
            continue  # unused when the VMM generates the DTB; written "" (docs/arm.md)
        mine, real = got.get(new), want[old]
        if new in ("ram_base", "ram_paddr_base", "ram_size", "dtb_addr", "initrd_addr"):
            mine, real = (int(mine, 16) if mine else None), int(real, 16)
        if _ints(mine) != _ints(real):
            out.append(f"{key}.{old} -> {new}: {mine!r}, real {real!r}")


REAL_CASES = [(app, plat) for app, plats in REAL["apps"].items() for plat in plats]


@pytest.mark.parametrize(("app", "platform"), REAL_CASES)
def test_generated_app_resolves_like_the_real_one(app: str, platform: str) -> None:
    plans, files = generated(EXAMPLES / f"{app}.yaml")
    plan = next(p for p in plans if p.platform == platform)
    ours = expanded(files, plan.system, plan.arm_platform or platform)
    real = REAL["apps"][app][platform]
    inside = REAL["inside_fixed_components"]
    real_instances = {k: v for k, v in real["instances"].items() if k not in inside["instances"]}
    assert ours["instances"] == real_instances
    want_ends = sorted(
        {e for c in real["connections"] if c not in inside["connections"] for e in real_ends(c)}
    )
    assert ours["ends"] == want_ends
    assert differences(real["settings"], ours["settings"]) == []


PROVIDED = """\
name: provided
arch: arm
sel4_arch: aarch64
platform: [qemu-arm-virt, zcu102]
num_nodes: 2
vms:
  - name: guest
    vcpus: 2
    kernel: {image: "${CAMKES_VM_IMAGES_DIR}/linux"}
    initrd: {image: "${CAMKES_VM_IMAGES_DIR}/rootfs.cpio.gz"}
    dtb: {mode: provide}
    cmdline: console=ttyAMA0 root=/dev/ram0
    per_platform:
      zcu102:
        passthrough: {devices: [/amba/serial@ff000000]}
"""


@pytest.mark.skipif(DTC is None, reason="dtc is not installed")
def test_a_provided_device_tree_reads_back_as_the_resolved_plan(tmp_path: Path) -> None:
    import fdt

    system = tmp_path / "provided.yaml"
    system.write_text(PROVIDED)
    loaded = load(system)
    plans = resolve_plans(loaded)
    files = app_files(plans, RenderContext(FIXED_BASE, "provided"))
    assert DTC is not None
    for plan in plans:
        [vm] = plan.vms
        rel = f"{plan.arm_platform}/vm0.dts"
        assert f'"${{CMAKE_CURRENT_SOURCE_DIR}}/{rel}"' in files["CMakeLists.txt"]
        (tmp_path / "x.dts").write_text(files[rel])
        done = subprocess.run(
            [DTC, "-I", "dts", "-O", "dtb", "-o", str(tmp_path / "x.dtb"), str(tmp_path / "x.dts")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, "")
        tree = fdt.parse_dtb((tmp_path / "x.dtb").read_bytes())
        assert vm.ram.guest is not None and plan.gic is not None
        reg = tree.get_property("reg", f"/memory@{vm.ram.guest:x}").data
        assert (reg[0] << 32 | reg[1], reg[2] << 32 | reg[3]) == (vm.ram.guest, vm.ram.size)
        assert len(tree.get_node("/cpus").nodes) == vm.vcpus
        assert tree.get_property("bootargs", "/chosen").value == vm.cmdline
        assert tree.exist_node(f"/intc@{plan.gic.dist:x}")
        routes = [r for r in plan.irq_routes if r.kind == "passthrough"]
        assert routes  # each platform's UART (pl011 on qemu-arm-virt, serial0 on zcu102)
        for route in routes:
            unit = route.name.rsplit("@", 1)[1]
            [node] = [n for n in tree.root.nodes if n.name.endswith("@" + unit)]
            assert node.get_property("interrupts").data == [0, route.virq - 32, 4]


@settings(max_examples=200, deadline=None)
@given(cmdline=st.text(max_size=80), stdout=st.text(max_size=40))
def test_any_text_reads_back_exactly_or_is_refused(cmdline: str, stdout: str) -> None:
    plan = arm_plan(vm_plan(0, cmdline=cmdline, stdout=stdout or None))
    try:
        files = render((plan,), CTX)
    except RenderError as e:
        assert str(e).startswith("a CAmkES string cannot")
        return
    image = app_settings(files, "arm_test", "qemu-arm-virt")["vm0.vm_image_config"]
    assert (image["kernel_bootcmdline"], image["kernel_stdout"]) == (cmdline, stdout)
