"""The Microkit backend: each Microkit example generates an SDF the Microkit tool's grammar
accepts, libvmm VMMs that compile against libvmm 0.2.0's prototypes, guest device trees dtc
compiles without warnings, and the Makefile of libvmm's examples; one YAML gives both a
CAmkES app and a Microkit system.

Golden files under tests/golden/microkit/<example>/ pin every generated file (UPDATE_GOLDEN=1
rewrites them).  The SDF grammar below is read from seL4/microkit 2.3.0 (8780fab)
tool/microkit/src/sdf.rs: each element's `check_attributes` list, the children each parser
accepts, and the attributes it parses as plain decimal (`parse::<i64>()`, no hex).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import run_cli

from sel4vmgen.app.generate import app_files
from sel4vmgen.app.planfile import parse_plan
from sel4vmgen.model import load
from sel4vmgen.plan import resolve_all
from sel4vmgen.plan.model import Plan
from sel4vmgen.render import RenderContext
from sel4vmgen.render.env import RenderError
from sel4vmgen.render.microkit_sddf import config_files, data_files

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "microkit"
STUBS = ROOT / "tests" / "data" / "libvmm_stubs"
EXAMPLES = ("microkit_simple", "microkit_x86", "microkit_vm_minimal", "microkit_virtio_mmio")
# The other boards libvmm 0.2.0's examples/simple runs on (examples/simple/board/*), each with
# the UART its guest is given (the board's guest.dtb_nodes): examples/microkit_simple.yaml
# moved onto each board is the case `microkit_simple@<board>`.
BOARDS = {"odroidc4": "/serial@ff803000"}
CASES = (*EXAMPLES, *(f"microkit_simple@{board}" for board in BOARDS))
_MOVED = tempfile.TemporaryDirectory()
CC = shutil.which("cc")
DTC = shutil.which("dtc")
IASL = shutil.which("iasl")

# element -> attributes sdf.rs accepts (check_attributes); x86-only ones noted there
ATTRIBUTES = {
    "system": set(),
    "memory_region": {"name", "size", "page_size", "phys_addr", "prefill_path", "prefill_bootinfo"},
    "protection_domain": {
        "name",
        "priority",
        "budget",
        "period",
        "passive",
        "stack_size",
        "smc",
        "cpu",
        "domain",
        "fpu",
    },
    "program_image": {"path", "path_for_symbols"},
    "map": {"mr", "vaddr", "perms", "cached", "setvar_vaddr", "setvar_size", "setvar_prefill_size"},
    "vm_map": {"mr", "vaddr", "perms", "cached"},
    "virtual_machine_arm": {"name", "budget", "period", "priority"},
    "virtual_machine_x86": {"name"},
    "vcpu": {"id", "setvar_id", "cpu"},
    "irq_arm": {"irq", "id", "setvar_id", "trigger"},
    "irq_x86": {"id", "setvar_id", "ioapic", "pin", "trigger", "polarity", "vector"},
    "ioport": {"id", "setvar_id", "setvar_addr", "addr", "size"},
    "channel": set(),
    "end": {"pd", "id", "pp", "notify", "setvar_id"},
}
CHILDREN = {
    "system": {"memory_region", "protection_domain", "channel", "domain_schedule"},
    "protection_domain": {
        "program_image",
        "map",
        "irq",
        "ioport",
        "setvar",
        "protection_domain",
        "virtual_machine",
        "cspace",
    },
    "virtual_machine": {"vcpu", "map"},
    "channel": {"end"},
}
# attributes sdf.rs reads with `parse::<i64>()` / `parse::<u64>()`: decimal only
DECIMAL = {
    ("irq", "id"),
    ("irq", "irq"),
    ("irq", "pin"),
    ("irq", "vector"),
    ("irq", "ioapic"),
    ("ioport", "id"),
    ("ioport", "size"),
    ("vcpu", "id"),
    ("end", "id"),
}
PD_MAX_PRIORITY = 254  # sdf.rs
VCPU_MAX_ID = 61  # sdf.rs


@cache
def _on_board(board: str) -> Path:
    """examples/microkit_simple.yaml with the platform and the passthrough UART of `board`."""
    text = (ROOT / "examples" / "microkit_simple.yaml").read_text()
    for old, new in (
        ("platform: qemu_virt_aarch64", f"platform: {board}"),
        ("[/pl011@9000000]", f"[{BOARDS[board]}]"),
    ):
        assert old in text
        text = text.replace(old, new)
    path = Path(_MOVED.name) / f"microkit_simple_{board}.yaml"
    path.write_text(text)
    return path


def generated(example: str) -> tuple[tuple[Plan, ...], dict[str, str]]:
    name, _, board = example.partition("@")
    loaded = load(_on_board(board) if board else ROOT / "examples" / f"{name}.yaml")
    plans = resolve_all(loaded)
    ctx = RenderContext(loaded.base_dir, loaded.system.name, "test", "")
    return plans, app_files(plans, ctx)


@pytest.mark.parametrize("example", EXAMPLES)
def test_output_matches_golden_files(example: str) -> None:
    files = generated(example)[1]
    folder = GOLDEN / example
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(folder, ignore_errors=True)
        for rel, text in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
    have = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert have == set(files)
    for rel, text in files.items():
        assert (folder / rel).read_text() == text, rel


def _check_element(el: ET.Element, arch: str, parent: str) -> None:
    tag = el.tag
    if tag in CHILDREN.get(parent, set()) or parent == "":
        pass
    else:
        raise AssertionError(f"<{tag}> is not a child sdf.rs accepts in <{parent}>")
    key = tag
    if tag == "virtual_machine":
        key = f"virtual_machine_{arch}"
    elif tag == "irq":
        key = f"irq_{arch}"
    elif tag == "map" and parent == "virtual_machine":
        key = "vm_map"
    assert set(el.attrib) <= ATTRIBUTES[key], (tag, set(el.attrib) - ATTRIBUTES[key])
    for name, value in el.attrib.items():
        if (tag, name) in DECIMAL:
            assert value.isdigit(), f"{tag}.{name}={value!r} must be decimal"
    for child in el:
        _check_element(child, arch, tag)


def _sdfs(files: dict[str, str]) -> list[str]:
    return [text for rel, text in files.items() if rel.endswith(".system")]


@pytest.mark.parametrize("example", CASES)
def test_sdf_is_well_formed_and_in_the_tool_grammar(example: str) -> None:
    plans, files = generated(example)
    mk_plans = [p for p in plans if p.framework == "microkit"]
    sdfs = _sdfs(files)
    assert len(sdfs) == len(mk_plans) >= 1
    for plan, text in zip(mk_plans, sdfs, strict=True):
        root = ET.fromstring(text.encode())
        _check_element(root, plan.arch, "")
        pds = root.findall("protection_domain")
        assert all(0 <= int(pd.get("priority", "0")) <= PD_MAX_PRIORITY for pd in pds)
        assert all(int(v.get("id", "0")) <= VCPU_MAX_ID for v in root.iter("vcpu"))
        names = [mr.get("name") for mr in root.findall("memory_region")]
        assert len(names) == len(set(names))
        maps = [m.get("mr") for m in root.iter("map")]
        assert set(maps) <= set(names)


def test_x86_vm_shares_its_vmm_tcb_and_calls_the_timer_driver_up() -> None:
    files = generated("microkit_x86")[1]
    root = ET.fromstring(_sdfs(files)[0].encode())
    vm = root.find("protection_domain/virtual_machine")
    assert vm is not None and set(vm.attrib) == {"name"}
    prio = {
        pd.get("name"): int(pd.get("priority", "0")) for pd in root.findall("protection_domain")
    }
    (channel,) = root.findall("channel")
    caller = next(e for e in channel if e.get("pp") == "true").get("pd")
    callee = next(e for e in channel if e.get("pp") != "true").get("pd")
    assert prio[callee] > prio[caller]
    assert root.find("protection_domain/ioport").attrib == {"id": "0", "addr": "0x3f8", "size": "8"}


def test_arm_vm_maps_guest_ram_into_vm_and_vmm_with_the_setvar() -> None:
    files = generated("microkit_simple")[1]
    root = ET.fromstring(files["simple.system"].encode())
    pd = root.find("protection_domain")
    assert pd is not None
    (own,) = pd.findall("map")
    guest = pd.findall("virtual_machine/map")
    assert own.get("setvar_vaddr") == "guest_ram_vaddr"
    assert own.get("mr") == guest[0].get("mr") == "linux_ram"
    assert [(m.get("mr"), m.get("vaddr")) for m in guest] == [
        ("linux_ram", "0x40000000"),
        ("gic_vcpu", "0x8010000"),
        ("linux_pl011", "0x9000000"),
    ]
    assert pd.find("irq").attrib == {"irq": "33", "id": "1", "trigger": "level"}
    assert "guest_ram_vaddr" in files["vmm_linux.c"]


@pytest.mark.skipif(CC is None, reason="needs a C compiler")
@pytest.mark.parametrize("example", CASES)
def test_vmm_programs_compile_against_libvmm_prototypes(example: str, tmp_path: Path) -> None:
    plans, files = generated(example)
    arch = {p.platform: p.arch for p in plans}
    for rel, text in files.items():
        if not rel.endswith(".c") or "/components/" in rel:
            continue
        platform = rel.split("/")[0] if "/" in rel else plans[0].platform
        define = "CONFIG_ARCH_ARM" if arch[platform] == "arm" else "CONFIG_ARCH_X86_64"
        src = tmp_path / Path(rel).name
        src.write_text(text)
        done = subprocess.run(
            [
                str(CC),
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                "-Werror",
                f"-D{define}",
                f"-I{STUBS}",
                str(src),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, ""), rel


@pytest.mark.parametrize("example", CASES)
def test_every_guest_dts_compiles_without_warnings(example: str, tmp_path: Path) -> None:
    assert DTC is not None
    for rel, text in generated(example)[1].items():
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


@pytest.mark.skipif(IASL is None, reason="needs iasl (acpica-tools)")
def test_the_x86_dsdt_compiles_with_iasl(tmp_path: Path) -> None:
    text = generated("microkit_x86")[1]["vm0_dsdt.dsl"]
    src = tmp_path / "dsdt.dsl"
    src.write_text(text)
    done = subprocess.run(
        [str(IASL), "-p", str(tmp_path / "dsdt.aml"), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_makefile_has_the_shape_of_libvmm_examples() -> None:
    files = generated("microkit_simple")[1]
    top, inner = files["Makefile"], files["simple.mk"]
    for needed in (
        "MICROKIT_SDK must be specified",
        "export MICROKIT_CONFIG ?= debug",
        "export MICROKIT_BOARD ?= qemu_virt_aarch64",
        "cp simple.mk $@",
    ):
        assert needed in top
    assert "$(MICROKIT_TOOL) $(SYSTEM_FILE) --search-path $(BUILD_DIR)" in inner
    assert "vm0.dtb: $(SYSTEM_DIR)/vm0.dts" in inner
    assert '-DGUEST_DTB_IMAGE_PATH=\\"vm0.dtb\\"' in inner


@pytest.mark.parametrize(
    ("example", "mk", "arch"),
    [("microkit_simple", "simple.mk", "aarch64"), ("microkit_x86", "simple_x86.mk", "x86_64")],
)
def test_the_build_names_the_arch_libvmm_compiles_for(example: str, mk: str, arch: str) -> None:
    # libvmm 0.2.0's vmm.mk stops with "Unsupported architecture" unless ARCH is set
    # before it is included (its examples read ARCH from the board's gen_config.h)
    inner = generated(example)[1][mk]
    assert f"\nARCH := {arch}\n" in inner
    assert inner.index(f"ARCH := {arch}") < inner.index("include $(LIBVMM)/vmm.mk")


def test_one_yaml_gives_a_camkes_app_and_a_microkit_system() -> None:
    plans, files = generated("microkit_vm_minimal")
    assert [(p.platform, p.framework) for p in plans] == [
        ("qemu-arm-virt", "camkes"),
        ("qemu_virt_aarch64", "microkit"),
    ]
    assert "vm_minimal_both.camkes" in files
    # the CAmkES VMM boots only with the untyped memory camkes-vm-examples' vm_minimal gives
    # it (devices.camkes); without it VM_Arm stops "Failed to allocate bootstrap frame"
    assert "vm0.simple_untyped24_pool = 12;" in files["vm_minimal_both.camkes"]
    assert "vm0.cnode_size_bits = 23;" in files["vm_minimal_both.camkes"]
    assert "qemu_virt_aarch64/vm_minimal_both.system" in files
    camkes_vm, mk_vm = (p.vms[0] for p in plans)
    assert (camkes_vm.ram.guest, camkes_vm.ram.size, camkes_vm.cmdline) == (
        mk_vm.ram.guest,
        mk_vm.ram.size,
        mk_vm.cmdline,
    )


def test_a_microkit_plan_round_trips_through_json() -> None:
    for example in EXAMPLES:
        for plan in generated(example)[0]:
            assert parse_plan(plan.to_json(), plan.platform) == plan


def test_generate_runs_the_quick_simulation_on_a_microkit_plan(tmp_path: Path) -> None:
    run = run_cli(
        "generate", str(ROOT / "examples" / "microkit_simple.yaml"), "-o", str(tmp_path / "o")
    )
    assert run.exit_code == 0
    assert "warning" not in run.stderr
    assert run.stderr.splitlines()[-1] == (
        "quick simulation: layout checks (E507, E508), a 20 ms timed run of each plan "
        "(E501-E503, E505, E506, E509, E510, E513-E515) and one with each guest busy-looping "
        "in turn (E505); interleavings not explored (run `sel4vmgen simulate FILE --explore` "
        "for that)"
    )
    assert (tmp_path / "o" / "simple.system").is_file()


def test_guest_dts_describes_the_passthrough_uart_for_its_driver() -> None:
    dts = generated("microkit_simple")[1]["vm0.dts"]
    node = dts[dts.index("pl011@9000000 {") :]
    node = node[: node.index("};")]
    assert 'compatible = "arm,pl011", "arm,primecell";' in node
    assert "clocks = <&clk24000000 &clk24000000>;" in node
    assert 'clock-names = "uartclk", "apb_pclk";' in node
    assert "clk24000000: clock-24000000 {" in dts
    assert "linux,initrd-start = <0x0 0x4d000000>;" in dts


def _system_from(tmp_path: Path, text: str) -> tuple[Plan, dict[str, str]]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    loaded = load(path)
    plans = resolve_all(loaded)
    return plans[0], app_files(plans, RenderContext(tmp_path, loaded.system.name, "t", ""))


SMP = """name: smp
arch: arm
sel4_arch: aarch64
framework: microkit
platform: qemu_virt_aarch64
num_nodes: 2
vms:
  - name: guest
    vcpus: 3
    priority: 200
    budget_us: 500
    period_us: 2000
    kernel: {image: linux}
"""


def test_smp_vcpus_spread_over_the_cores_in_the_smp_configuration(tmp_path: Path) -> None:
    plan, files = _system_from(tmp_path, SMP)
    root = ET.fromstring(files["smp.system"].encode())
    pd = root.find("protection_domain")
    vm = root.find("protection_domain/virtual_machine")
    assert pd is not None and vm is not None
    assert (pd.get("priority"), pd.get("budget"), pd.get("period")) == ("200", "500", "2000")
    assert (vm.get("priority"), vm.get("budget"), vm.get("period")) == ("199", "500", "2000")
    assert [(v.get("id"), v.get("cpu")) for v in vm.findall("vcpu")] == [
        ("0", "0"),
        ("1", "1"),
        ("2", "0"),
    ]
    assert "export MICROKIT_CONFIG ?= smp-debug" in files["Makefile"]
    assert "#define GUEST_NUM_VCPUS 3" in files["vmm_guest.c"]
    assert [t.vcpu for t in plan.threads if t.role == "vcpu"] == [0, 1, 2]


def test_an_x86_vm_priority_is_its_vmm_priority(tmp_path: Path) -> None:
    text = """name: p
arch: x86
sel4_arch: x86_64
framework: microkit
platform: x86_64_generic_vtx
vms:
  - name: guest
    priority: 100
    kernel: {image: bzimage}
"""
    plan, files = _system_from(tmp_path, text)
    root = ET.fromstring(files["p.system"].encode())
    pds = {pd.get("name"): pd for pd in root.findall("protection_domain")}
    assert pds["vmm_guest"].get("priority") == "100"
    vm = pds["vmm_guest"].find("virtual_machine")
    assert vm is not None and set(vm.attrib) == {"name"}
    assert plan.vms[0].ram.size == 128 << 20
    assert root.find("memory_region").attrib["size"] == "0x8000000"


TWO_ARM_VMS = """name: two
arch: arm
sel4_arch: aarch64
framework: microkit
platform: qemu_virt_aarch64
vms:
  - name: a
    kernel: {image: linux}
  - name: b
    ram: {size: 64MiB}
    kernel: {image: linux}
    passthrough: {devices: []}
"""


def _physical_ranges(root: ET.Element) -> list[tuple[int, int, str]]:
    return sorted(
        (int(mr.get("phys_addr", "0"), 16), int(mr.get("size", "0"), 16), mr.get("name", ""))
        for mr in root.findall("memory_region")
        if mr.get("phys_addr") is not None
    )


def test_two_arm_vms_share_the_one_gic_vcpu_region(tmp_path: Path) -> None:
    # the Microkit tool refuses two memory regions over one physical page ("physical address
    # range ... overlaps with another memory region"), so every VM maps the same GICV region
    files = _system_from(tmp_path, TWO_ARM_VMS)[1]
    root = ET.fromstring(files["two.system"].encode())
    ranges = _physical_ranges(root)
    assert [n for _, _, n in ranges].count("gic_vcpu") == 1
    for (a, size, name), (b, _, other) in pairwise(ranges):
        assert a + size <= b, f"{name} overlaps {other}"
    for vm in root.findall("protection_domain/virtual_machine"):
        maps = {m.get("mr"): m.get("vaddr") for m in vm.findall("map")}
        assert maps["gic_vcpu"] == "0x8010000"


def test_the_guest_psci_node_is_libvmms_with_the_smc_conduit() -> None:
    # libvmm 0.2.0's guests carry `compatible = "arm,psci-0.2", "arm,psci"` with method
    # "smc" (examples/simple/board/qemu_virt_aarch64/linux.dts): libvmm emulates PSCI on
    # SMC traps only, and a guest told "hvc" stops at its first PSCI call (libvmm logs
    # "Unknown syscall")
    dts = generated("microkit_simple")[1]["vm0.dts"]
    node = dts[dts.index("\tpsci {") :].split("};", 1)[0]
    assert 'compatible = "arm,psci-0.2", "arm,psci";' in node
    assert 'method = "smc";' in node


def test_sdfgen_serialises_the_configuration_of_the_plans_subsystems() -> None:
    plans, files = generated("microkit_virtio_mmio")
    mk = plans[0].microkit
    assert mk is not None
    vmm = mk.pds[0]
    names = {f"{f.name}.data.b64" for f in data_files(vmm, mk)}
    assert names == {rel for rel in files if rel.endswith(".data.b64")}
    assert len(names) == 15
    # sdfgen was driven with the plan's MAC (its default is a random one)
    client = base64.b64decode(files["net_client_vmm_client_linux.data.b64"])
    assert bytes.fromhex("020000 00aa01".replace(" ", "")) in client
    # every section the build fills is one the programs declare (the VMM's in its C)
    for f in data_files(vmm, mk):
        if f.program == vmm.program_image:
            assert f'__section__("{f.section}")' in files["vmm_client_linux.c"]


def test_sdfgens_system_agrees_with_the_plans_sdf_or_nothing_is_written() -> None:
    plans, files = generated("microkit_virtio_mmio")
    plan = plans[0]
    mk = plan.microkit
    assert mk is not None
    sdf = files["virtio_mmio.system"]
    assert config_files(plan, sdf)  # agrees: the files
    moved = sdf.replace('vaddr="0x20022000"', 'vaddr="0x20023000"', 1)
    with pytest.raises(RenderError, match="sdfgen's system for vm0 differs from the plan: "
                       r"plan only: \('map', 'vmm_client_linux', "
                       "'blk_client_vmm_client_linux_storage_info', '0x20023000'"):  # fmt: skip
        config_files(plan, moved)


def test_the_virtio_guest_tree_has_the_windows_the_vmm_registers() -> None:
    plans, files = generated("microkit_virtio_mmio")
    mk = plans[0].microkit
    assert mk is not None
    dts, vmm_c = files["vm0.dts"], files["vmm_client_linux.c"]
    for v in mk.pds[0].virtio:
        node = f"virtio_mmio@{v.base:x} {{"
        assert node in dts
        body = dts[dts.index(node) :].split("};")[0]
        assert f"reg = <0x0 0x{v.base:x} 0x0 0x{v.size:x}>;" in body
        assert f"interrupts = <0x0 0x{v.irq - 32:x} 0x4>;" in body
        kind = {"console": "CONSOLE", "blk": "BLK", "net": "NET"}[v.kind]
        assert f"#define VIRTIO_{kind}_BASE 0x{v.base:x}\n" in vmm_c
        assert f"#define VIRTIO_{kind}_IRQ {v.irq}\n" in vmm_c
