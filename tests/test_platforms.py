"""The platform database: every platform loads, its facts match the public sources, the
data files cite a source for every number, and `sel4vmgen platforms` prints them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from sel4vmgen.codec import encode
from sel4vmgen.platforms import Platform, UnknownPlatform, load, names
from tests.conftest import Run

DATA = Path(__file__).resolve().parent.parent / "sel4vmgen" / "platforms" / "data"
ALL = (
    "exynos5422",
    "odroidc2",
    "odroidc4",
    "pc99",
    "qemu-arm-virt",
    "qemu_virt_aarch64",
    "tk1",
    "tx1",
    "tx2",
    "x86_64_generic_vtx",
    "zcu102",
)
ARM = tuple(n for n in ALL if load(n).arch == "arm")
CAMKES = tuple(n for n in ALL if load(n).framework == "camkes")


def test_names_lists_the_platforms_sorted() -> None:
    assert names() == ALL


@pytest.mark.parametrize("name", ALL)
def test_every_platform_loads_with_its_own_name(name: str) -> None:
    p = load(name)
    assert isinstance(p, Platform)
    assert p.name == name
    assert p.ram and p.serial.irqs and p.sources


def test_unknown_platform_is_a_key_error_listing_the_known_names() -> None:
    with pytest.raises(KeyError) as info:
        load("rpi4")
    assert isinstance(info.value, UnknownPlatform)
    assert str(info.value) == (
        "unknown platform 'rpi4' (known: exynos5422, odroidc2, odroidc4, pc99, qemu-arm-virt, "
        "qemu_virt_aarch64, tk1, tx1, tx2, x86_64_generic_vtx, zcu102)"
    )


# Summary table of the platform facts (GICD, GICC, GICV, GICH, console IRQ, vm_minimal RAM).
SUMMARY = {
    "qemu-arm-virt": (0x08000000, 0x08010000, 0x08040000, 0x08030000, 33, 0x40000000, 512),
    "tx2": (0x03881000, 0x03882000, 0x03886000, 0x03884000, 144, 0xF1000000, 128),
    "tx1": (0x50041000, 0x50042000, 0x50046000, 0x50044000, 68, 0x80000000, 128),
    "tk1": (0x50041000, 0x50042000, 0x50046000, 0x50044000, 122, 0x80000000, 1024),
    "zcu102": (0xF9010000, 0xF9020000, 0xF9060000, 0xF9040000, 53, 0x10000000, 256),
    "odroidc2": (0xC4301000, 0xC4302000, 0xC4306000, 0xC4304000, 225, 0x20000000, 256),
    "exynos5422": (0x10481000, 0x10482000, 0x10486000, 0x10484000, 85, 0x40000000, 256),
    # libvmm 0.2.0 examples/simple: GUEST_RAM_START_GPA 0x40000000, GUEST_RAM_SIZE 256 MiB
    "qemu_virt_aarch64": (0x08000000, 0x08010000, 0x08040000, 0x08030000, 33, 0x40000000, 256),
    # libvmm 0.2.0 examples/simple vmm.c BOARD_odroidc4; board/odroidc4/linux.dts GIC reg
    "odroidc4": (0xFFC01000, 0xFFC02000, 0xFFC06000, 0xFFC04000, 225, 0x20000000, 256),
}


@pytest.mark.parametrize("name", ARM)
def test_arm_gic_console_and_guest_ram_match_the_sources(name: str) -> None:
    p = load(name)
    assert p.gic is not None and p.guest is not None
    gicd, gicc, gicv, gich, console, ram, mib = SUMMARY[name]
    assert (p.gic.dist, p.gic.cpu, p.gic.vcpu, p.gic.hyp) == (gicd, gicc, gicv, gich)
    assert p.serial.irqs == (console,)
    assert (p.guest.ram_base, p.guest.ram_size) == (ram, mib << 20)
    assert p.gic.version == 2
    assert p.gic.list_registers == 4  # libsel4vm NUM_LIST_REGS
    assert (p.gic.maintenance_irq, p.gic.vtimer_irq) == (25, 27)
    reserved = {r.irq for r in p.reserved_irqs}
    assert {25, 26, 27} <= reserved
    # camkes-vm keeps the kernel's serial IRQ; libvmm's simple example gives it to the guest
    assert (console in reserved) == (p.framework == "camkes")


@pytest.mark.parametrize(
    ("name", "kernel_platform", "arm_platform", "cpu", "archs"),
    [
        ("qemu-arm-virt", "qemu-arm-virt", "qemu-arm-virt", "cortex-a53", ("aarch64", "aarch32")),
        ("tx2", "tx2", "tx2", "cortex-a57", ("aarch64",)),
        ("zcu102", "zynqmp", "zcu102", "cortex-a53", ("aarch64",)),
        ("exynos5422", "exynos5", "exynos5422", "cortex-a15", ("aarch32",)),
        ("tk1", "tk1", "tk1", "cortex-a15", ("aarch32",)),
    ],
)
def test_camkes_names(
    name: str, kernel_platform: str, arm_platform: str, cpu: str, archs: tuple[str, ...]
) -> None:
    p = load(name)
    assert (p.kernel_platform, p.arm_platform, p.arm_cpu, p.sel4_archs) == (
        kernel_platform,
        arm_platform,
        cpu,
        archs,
    )


def test_smp_refused_exactly_where_camkes_vm_examples_refuses_it() -> None:
    # settings.cmake of camkes-vm-examples refuses SMP on exynos5422 and tk1; on pc99 the
    # cma34cr apps build two nodes (apps/x86/cma34cr_*/app_settings.cmake:11)
    assert {n for n in CAMKES if not load(n).smp} == {"exynos5422", "tk1"}
    assert load("pc99").cores == 2


def test_microkit_boards_name_their_board_and_the_x86_one_runs_one_core() -> None:
    boards = {n: load(n) for n in ALL if load(n).framework == "microkit"}
    assert {n: p.microkit.board for n, p in boards.items() if p.microkit} == {
        "odroidc4": "odroidc4",
        "qemu_virt_aarch64": "qemu_virt_aarch64",
        "x86_64_generic_vtx": "x86_64_generic_vtx",
    }
    assert (boards["x86_64_generic_vtx"].cores, boards["qemu_virt_aarch64"].cores) == (1, 4)


def test_guest_holes_and_reserved_memory() -> None:
    tx2 = load("tx2")
    assert [(r.start, r.end) for r in tx2.guest_ram] == [(0xF1000000, 0xF9000000)]
    assert (0xD8300000, 0xD9300000) in [(r.start, r.end) for r in tx2.reserved]
    tk1 = load("tk1")
    assert [(r.start, r.end) for r in tk1.guest_ram] == [(0xB0000000, 0xF0000000)]
    assert tk1.guest is not None and tk1.guest.ram_paddr == 0xB0000000
    assert tk1.guest.kernel_entry_offset == 0x8000
    qemu = load("qemu-arm-virt")
    assert [(r.start, r.end) for r in qemu.guest_ram] == [(0x40000000, 0x60000000)]
    assert load("odroidc2").guest_ram == ()


def test_free_and_virtio_irqs() -> None:
    assert load("qemu-arm-virt").free_irqs == (82,)
    assert load("qemu-arm-virt").virtio_irq == 82
    assert load("exynos5422").free_irqs == (124, 125, 133, 134)
    assert load("tx2").free_irqs == (252,)
    assert load("zcu102").free_irqs == ()
    assert load("zcu102").virtio_irq == 190


def test_qemu_virtio_mmio_and_pcie_windows() -> None:
    devices = {d.name: d for d in load("qemu-arm-virt").devices}
    vm = devices["virtio-mmio"]
    assert (vm.paddr, vm.size, vm.irqs[0], vm.irqs[-1], vm.trigger) == (
        0x0A000000,
        0x4000,
        48,
        79,
        "edge",
    )
    assert devices["pcie-mmio"].irqs == (35, 36, 37, 38)
    assert (devices["pcie-io"].paddr, devices["pcie-io"].size) == (0x3EFF0000, 0x10000)


def test_pc99_io_ports_and_interrupts() -> None:
    p = load("pc99")
    assert p.arch == "x86" and p.gic is None and p.guest is None and p.x86 is not None
    assert p.sel4_archs == ("x86_64", "ia32")
    ports = {who: (a, b) for a, b, who in p.x86.reserved_ioports}
    assert ports == {
        "serial (COM1)": (0x3F8, 0x3FF),
        "time_server (PIT)": (0x40, 0x43),
        "rtc (CMOS)": (0x70, 0x71),
        "pci_config": (0xCF8, 0xCFF),
    }
    assert p.x86.ioapic_pins == 24
    assert {r.irq for r in p.reserved_irqs} == {2, 4, 124, 125}


_NUMBER = re.compile(r"(?<![\w.@/-])(0x[0-9A-Fa-f_]+|\d+)(?![\w@/])")
_STRING = re.compile(r'"[^"]*"')


@pytest.mark.parametrize("name", ALL)
def test_every_number_in_a_data_file_cites_its_source(name: str) -> None:
    bad = []
    for n, line in enumerate((DATA / f"{name}.toml").read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        if _NUMBER.search(_STRING.sub('""', code)) and "#" not in line:
            bad.append(f"{n}: {line}")
    assert bad == []


# ------------------------------------------------------------------ the command


def test_platforms_command_prints_a_table_of_all(cli: Callable[..., Run]) -> None:
    r = cli("platforms")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == [
        "PLATFORM",
        "ARCH",
        "SEL4_ARCH",
        "KERNEL_PLATFORM",
        "CORES",
        "SMP",
        "GIC",
        "SERIAL_IRQ",
        "GUEST_RAM",
    ]
    assert [line.split()[0] for line in lines[1:]] == list(ALL)
    assert lines[ALL.index("zcu102") + 1].split() == [
        "zcu102",
        "arm",
        "aarch64",
        "zynqmp",
        "4",
        "yes",
        "v2",
        "LR=4",
        "53",
        "0x10000000+256",
        "MiB",
    ]


def test_platforms_command_shows_one_in_detail(cli: Callable[..., Run]) -> None:
    r = cli("platforms", "tx2")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == "tx2: arm (aarch64)"
    assert "  GIC v2: GICD 0x3881000 GICC 0x3882000 GICH 0x3884000 GICV 0x3886000" in r.stdout
    assert "  guest RAM  0xf1000000-0xf9000000 guestvm" in r.stdout
    assert "  reserved IRQ 144: kernel serial /serial@3100000" in r.stdout


def test_platforms_command_json_is_the_platform(cli: Callable[..., Run]) -> None:
    one = cli("platforms", "pc99", "--format", "json")
    assert one.exit_code == 0
    assert json.loads(one.stdout) == encode(load("pc99"))
    every = json.loads(cli("platforms", "--format", "json").stdout)
    assert [p["name"] for p in every] == list(ALL)
    assert every[ALL.index("qemu-arm-virt")]["gic"]["vcpu"] == "0x8040000"


def test_platforms_command_unknown_name_exits_2(cli: Callable[..., Run]) -> None:
    r = cli("platforms", "rpi4")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "error: unknown platform 'rpi4' (known: exynos5422, odroidc2, odroidc4, pc99, qemu-arm-virt, "
        "qemu_virt_aarch64, tk1, tx1, tx2, x86_64_generic_vtx, zcu102)"
    )
