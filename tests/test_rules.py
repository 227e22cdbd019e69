"""The cross-field rules: every bad-at-check fixture gives exactly its pinned diagnostics.

Each file in tests/fixtures/bad-at-check/ is a system that loads and validates
but breaks one or more cross-field rules.  Its header pins the full list of
diagnostics, one line each, in output order:

    # expect: E209 14:11 related 9:11 vm1 RAM 0x48000000-... overlaps vm0 RAM ... (line 9)
    # expect: W201 12:13 vm0 asks for 4 VCPUs but num_nodes is 1; ...

Every example in examples/ must check without errors (warnings listed below).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sel4vmgen.codes import all_codes
from sel4vmgen.codes.rules import CODES
from sel4vmgen.codes.rules_microkit import CODES as MICROKIT_CODES
from sel4vmgen.diagnostics import Diagnostic, Severity, sort_diagnostics
from sel4vmgen.model import load
from sel4vmgen.rules import check
from sel4vmgen.rules.intervals import Interval, overlaps

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "bad-at-check").glob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
# Warnings an example is expected to give: file name -> lines in the fixture format.
_CAPPED = "the VMM caps num_vcpus at KernelMaxNumNodes, so it runs 1"
EXAMPLE_WARNINGS: dict[str, list[str]] = {
    # the app's num_vcpus as written, on one node (as its default build runs)
    "vm_introspect.yaml": [
        f"W201 19:12 vm0 asks for 2 VCPUs but num_nodes is 1; {_CAPPED}",
    ],
    "vm_minimal.yaml": [
        f"W201 18:12 vm0 asks for 2 VCPUs but num_nodes is 1; {_CAPPED}",
        f"W201 66:16 vm0 asks for 4 VCPUs but num_nodes is 1; {_CAPPED}",
        f"W201 91:16 vm0 asks for 4 VCPUs but num_nodes is 1; {_CAPPED}",
        f"W201 150:16 vm0 asks for 4 VCPUs but num_nodes is 1; {_CAPPED}",
    ],
    "vm_minimal_zcu102_2018_3.yaml": [
        f"W201 15:12 vm0 asks for 4 VCPUs but num_nodes is 1; {_CAPPED}",
    ],
    "vm_multi_exynos5422.yaml": [
        "W209 79:11 related 51:11 vm1 MMIO window 0x10000000-0x10001000 is also mapped by vm0 MMIO window 0x10000000-0x10001000 (line 51): both guests drive it",
        "W209 107:11 related 51:11 vm2 MMIO window 0x10000000-0x10001000 is also mapped by vm0 MMIO window 0x10000000-0x10001000 (line 51): both guests drive it",
    ],
    "vm_virtio_net.yaml": [
        f"W201 15:12 vm0 asks for 4 VCPUs but num_nodes is 1; {_CAPPED}",
        "W206 36:19 vm0 enables virtio.net but no virtio_net connection names it; only the VMM's own responder (VmVirtioNetArping) will answer it",
    ],
    "vm_virtio_net_exynos5422.yaml": [
        "W206 34:19 vm0 enables virtio.net but no virtio_net connection names it; only the VMM's own responder (VmVirtioNetArping) will answer it",
    ],
}

_EXPECT = re.compile(r"^# expect: (?P<line>.+)$")


def expected(path: Path) -> list[str]:
    return [m.group("line") for line in path.read_text().splitlines() if (m := _EXPECT.match(line))]


def shown(d: Diagnostic) -> str:
    """A diagnostic in the fixture format."""
    where = f"{d.span.line}:{d.span.col}" if d.span else "-"
    related = "".join(f" related {r.line}:{r.col}" for r in d.related)
    return f"{d.code} {where}{related} {d.message}"


def checked(path: Path) -> list[Diagnostic]:
    return sort_diagnostics(check(load(path)))


def test_there_are_enough_fixtures() -> None:
    assert len(FIXTURES) >= 60


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture(path: Path) -> None:
    want = expected(path)
    assert want, f"{path.name} pins no diagnostics"
    assert [shown(d) for d in checked(path)] == want


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_codes_are_rule_codes_of_their_severity(path: Path) -> None:
    """Every code a fixture gives is a rule code; E codes are errors, W codes warnings."""
    codes = {c.code for c in (*CODES, *MICROKIT_CODES)}
    for d in checked(path):
        assert d.code in codes
        assert d.severity is (Severity.WARNING if d.code.startswith("W") else Severity.ERROR)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_what_validate_refuses_in_a_fixture_comes_from_the_rules(path: Path) -> None:
    """Through the whole front of the pipeline (load, rules, and resolution when the rules
    find no error), every diagnostic of a bad-at-check fixture is the rules' own: no later
    stage refuses user input.  A fixture the rules only warn about resolves and renders."""
    from sel4vmgen.app.check import check_file

    rule_codes = {c.code for c in (*CODES, *MICROKIT_CODES)}
    found = check_file(path)
    assert [shown(d) for d in found.diagnostics] == [shown(d) for d in checked(path)]
    assert {d.code for d in found.diagnostics} <= rule_codes
    if found.ok and found.loaded is not None:
        from sel4vmgen.app.generate import app_files, resolve_plans
        from sel4vmgen.render import RenderContext

        loaded = found.loaded
        assert app_files(resolve_plans(loaded), RenderContext(loaded.base_dir, "t"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_checks_clean(path: Path) -> None:
    found = checked(path)
    assert [shown(d) for d in found if d.is_error] == []
    assert [shown(d) for d in found] == EXAMPLE_WARNINGS.get(path.name, [])


def test_validate_exits_1_on_rule_errors_and_0_on_warnings_only() -> None:
    from click.testing import CliRunner

    from sel4vmgen.cli import cli as main

    bad = ROOT / "tests" / "fixtures" / "bad-at-check"
    result = CliRunner().invoke(main, ["validate", str(bad / "ram_overlaps_between_vms.yaml")])
    assert result.exit_code == 1
    assert ":16:13: error[E209]: vm1 RAM 0x48000000-0x50000000 overlaps" in result.output
    result = CliRunner().invoke(main, ["validate", str(bad / "unused_component.yaml")])
    assert result.exit_code == 0
    assert ":8:11: warning[W202]: component hello is not used by any connection" in result.output


def test_every_rule_code_is_explained() -> None:
    registry = all_codes()
    for code in CODES:
        assert re.fullmatch(r"[EW]2\d\d", code.code)
        assert registry[code.code] is code
        assert code.title and code.explanation
    assert len({c.code for c in CODES}) == len(CODES)


# Codes that need image files on disk: pinned by the tests below, which write them.
ON_FILES = {"E222", "E237"}


def test_every_rule_code_has_a_fixture() -> None:
    pinned = {line.split()[0] for p in FIXTURES for line in expected(p)}
    missing = sorted({c.code for c in CODES} - pinned - ON_FILES)
    assert missing == []


def test_did_you_mean_for_platform_and_kernel_option() -> None:
    hints = {
        d.message: d.hint
        for name in ("unknown_platform", "unknown_kernel_option")
        for d in checked(ROOT / "tests" / "fixtures" / "bad-at-check" / f"{name}.yaml")
    }
    assert hints == {
        "unknown platform 'qemu-virt' (known: exynos5422, odroidc2, odroidc4, pc99, qemu-arm-virt, "
        "qemu_virt_aarch64, tk1, tx1, tx2, x86_64_generic_vtx, zcu102)": "did you mean "
        "'qemu-arm-virt'?",
        "unknown kernel option KernelPrintng for ARM": "did you mean 'KernelPrinting'?",
    }


# ---------------------------------------------------------------- rules that read image files

ARM_VM = """\
name: files
arch: arm
sel4_arch: {sel4_arch}
platform: {platform}
vms:
  - name: vm0
    ram: {{base: 0x40000000, size: 256MiB}}
    kernel: {{image: {kernel}, entry: 0x40080000}}
    initrd: {{image: rootfs.cpio, address: 0x40800000}}
    dtb: {{mode: provide, file: guest.dtb, address: 0x4f000000}}
"""


def _write(tmp: Path, text: str, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    path = tmp / "system.yaml"
    path.write_text(text)
    return path


def _arm64_image(size: int) -> bytes:
    head = bytearray(64)
    head[0x38:0x3C] = b"ARM\x64"  # arm64 Image header magic (Linux arm64 booting.rst)
    return bytes(head) + bytes(size - 64)


def test_image_file_sizes_place_the_boot_images(tmp_path: Path) -> None:
    text = ARM_VM.format(sel4_arch="aarch64", platform="qemu-arm-virt", kernel="Image")
    path = _write(
        tmp_path,
        text,
        {
            "Image": _arm64_image(9 << 20),
            "rootfs.cpio": bytes(1 << 20),
            "guest.dtb": bytes(3 << 20),
        },
    )
    assert [shown(d) for d in checked(path)] == [
        "E220 9:43 related 8:35 vm0 initrd 0x40800000-0x40900000 overlaps its "
        "kernel 0x40080000-0x40980000 (line 8)",
        "E222 10:32 vm0 DTB guest.dtb is 3145728 bytes; a DTB may be at most 2 MiB "
        "(arm64 booting.rst)",
    ]


def test_initrd_file_larger_than_max_size(tmp_path: Path) -> None:
    text = ARM_VM.format(sel4_arch="aarch64", platform="qemu-arm-virt", kernel="Image")
    text = text.replace("address: 0x40800000}", "address: 0x48000000, max_size: 1MiB}")
    path = _write(tmp_path, text, {"rootfs.cpio": bytes((1 << 20) + 1)})
    assert [shown(d) for d in checked(path)] == [
        "E237 9:65 vm0 initrd rootfs.cpio is 1048577 bytes, more than its max_size 0x100000",
    ]


def test_the_other_place_names_its_file_when_it_is_an_included_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vm1.yaml").write_text(
        "name: vm1\nram: {base: 0x48000000, size: 128MiB}\nkernel: {image: linux}\n"
    )
    (tmp_path / "system.yaml").write_text(
        "name: inc\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\nvms:\n"
        "  - name: vm0\n    ram: {base: 0x40000000, size: 192MiB}\n    kernel: {image: linux}\n"
        "  - include: vm1.yaml\n"
    )
    monkeypatch.chdir(tmp_path)
    found = checked(Path("system.yaml"))
    assert [(str(d.span), [str(r) for r in d.related], d.message) for d in found] == [
        (
            "vm1.yaml:2:13",
            ["system.yaml:7:17"],
            "vm1 RAM 0x48000000-0x50000000 overlaps vm0 RAM 0x40000000-0x4c000000 (system.yaml:7)",
        )
    ]


def test_kernel_header_decides_the_architecture(tmp_path: Path) -> None:
    text = ARM_VM.format(sel4_arch="aarch32", platform="exynos5422", kernel="Image")
    path = _write(
        tmp_path,
        text.replace("0x40080000", "0x40008000"),
        {"Image": _arm64_image(4096), "rootfs.cpio": b"x", "guest.dtb": b"d"},
    )
    assert [shown(d) for d in checked(path)] == [
        "E226 8:21 vm0: Image is an arm64 Image, which sel4_arch aarch32 cannot boot",
    ]


def test_64bit_bzimage_needs_x86_64(tmp_path: Path) -> None:
    head = bytearray(0x1000)
    head[0x202:0x206] = b"HdrS"  # x86 boot protocol header (Linux x86 boot.rst)
    head[0x236] = 1  # xloadflags XLF_KERNEL_64
    text = (
        "name: b64\narch: x86\nsel4_arch: ia32\nplatform: pc99\nvms:\n"
        "  - name: vm0\n    ram: {size: 128MiB}\n    kernel: {image: bzimage}\n"
    )
    path = _write(tmp_path, text, {"bzimage": bytes(head)})
    assert [shown(d) for d in checked(path)] == [
        "E226 8:21 vm0: bzimage is a 64-bit x86 kernel (XLF_KERNEL_64), which sel4_arch "
        "ia32 cannot boot",
    ]


def test_explain_prints_every_rule_code() -> None:
    from click.testing import CliRunner

    from sel4vmgen.commands.explain import command

    for code in CODES:
        result = CliRunner().invoke(command, [code.code])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{code.code}: {code.title}\n")
        assert code.explanation in result.output


# ---------------------------------------------------------------- the sweep


def _brute(ivs: list[Interval[int]]) -> set[int]:
    """Indices of intervals that overlap an interval of another owner starting earlier."""
    return {
        x.info
        for x in ivs
        for y in ivs
        if y.owner != x.owner and y.start < x.start < y.end and x.size > 0
    }


@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(1, 60), st.integers(0, 3)),
        max_size=40,
        unique_by=lambda t: t[0],
    )
)
def test_sweep_reports_every_interval_that_overlaps_an_earlier_one(
    raw: list[tuple[int, int, int]],
) -> None:
    ivs = [Interval(start, size, owner, k) for k, (start, size, owner) in enumerate(raw)]
    found = overlaps(ivs)
    assert {later.info for later, _ in found} == _brute(ivs)
    for later, earlier in found:
        assert later.owner != earlier.owner
        assert earlier.start < later.start < earlier.end


def test_sweep_finds_overlap_hidden_behind_a_same_owner_interval() -> None:
    a = Interval(0, 300, "vm0", "a")
    b = Interval(10, 190, "vm1", "b")
    c = Interval(150, 10, "vm0", "c")
    assert [(x.info, y.info) for x, y in overlaps([c, b, a])] == [("b", "a"), ("c", "b")]


# ---------------------------------------------------------------- any valid system checks


_ADDR = st.sampled_from(
    [
        *(0, 0x1000, 0x8000000, 0x8040000, 0x9010000, 0x40000000, 0x40000004, 0x48000000),
        *(0x4F000000, 0xF1000000, 0x80_0000_0000, (1 << 64) - 0x1000),
    ]
)
_SIZE = st.sampled_from([1, 0x800, 0x1000, 0x200000, 0x8000000, 0x18000000, 1 << 40])
_NAME = st.sampled_from(["vm0", "vm1", "vm2", "guest", "fserv", "hello", "vm0_vm1"])
_WINDOW = st.fixed_dictionaries({"paddr": _ADDR, "size": _SIZE})
_PASSTHROUGH = st.fixed_dictionaries(
    {},
    optional={
        "devices": st.lists(st.sampled_from(["/pl031@9010000", "/pcie@10000000", "/nope"])),
        "mmios": st.lists(_WINDOW, max_size=3),
        "untyped_mmios": st.lists(_WINDOW, max_size=3),
        "irqs": st.lists(st.sampled_from([25, 26, 33, 34, 40, 122, 500]), max_size=3),
        "ioports": st.lists(
            st.fixed_dictionaries(
                {"name": _NAME, "start": st.sampled_from([0x2F8, 0x3F8]), "end": st.just(0x3FF)}
            ),
            max_size=2,
        ),
        "pci": st.lists(
            st.fixed_dictionaries(
                {"name": _NAME, "bus": st.just(0), "dev": st.just(3), "fun": st.just(0)},
                optional={"irq": st.sampled_from([4, 11])},
            ),
            max_size=2,
        ),
    },
)
_VM = st.fixed_dictionaries(
    {
        "name": _NAME,
        "kernel": st.fixed_dictionaries(
            {"image": st.sampled_from(["linux", "Image", "${CAMKES_VM_IMAGES_DIR}/bzimage"])},
            optional={"entry": _ADDR, "format": st.sampled_from(["Image", "zImage", "bzImage"])},
        ),
    },
    optional={
        "vcpus": st.integers(1, 16),
        "priority": st.integers(0, 255),
        "ram": st.fixed_dictionaries({"size": _SIZE}, optional={"base": _ADDR, "paddr": _ADDR}),
        "initrd": st.fixed_dictionaries(
            {"image": st.just("rootfs.cpio")}, optional={"address": _ADDR, "max_size": _SIZE}
        ),
        "dtb": st.fixed_dictionaries({}, optional={"address": _ADDR, "file": st.just("g.dtb")}),
        "passthrough": _PASSTHROUGH,
        "iospace_domain": st.integers(0, 3),
        "virtio": st.fixed_dictionaries({"net": st.booleans()}),
        "per_platform": st.dictionaries(
            st.sampled_from(["tx2", "qemu-arm-virt", "pc99"]),
            st.fixed_dictionaries(
                {}, optional={"vcpus": st.integers(1, 8), "passthrough": _PASSTHROUGH}
            ),
            max_size=2,
        ),
    },
)
_CONNECTION = st.one_of(
    st.fixed_dictionaries({"type": st.just("virtio_net"), "between": st.tuples(_NAME, _NAME)}),
    st.fixed_dictionaries(
        {"type": st.just("cross_vm"), "vm": _NAME, "component": _NAME},
        optional={
            "dataports": st.lists(st.fixed_dictionaries({"name": _NAME, "peer": _NAME}), max_size=2)
        },
    ),
)
_SYSTEM = st.fixed_dictionaries(
    {
        "name": st.just("fuzz"),
        "arch": st.sampled_from(["arm", "x86"]),
        "sel4_arch": st.sampled_from(["aarch64", "aarch32", "ia32", "x86_64"]),
        "platform": st.one_of(
            st.sampled_from(["qemu-arm-virt", "tx2", "tk1", "pc99", "nowhere"]),
            st.lists(
                st.sampled_from(["qemu-arm-virt", "tx2", "zcu102", "pc99"]), min_size=1, max_size=3
            ),
        ),
        "vms": st.lists(_VM, min_size=1, max_size=4),
    },
    optional={
        "num_nodes": st.integers(1, 16),
        "components": st.lists(
            st.fixed_dictionaries({"name": _NAME, "type": st.just("Hello")}), max_size=2
        ),
        "connections": st.lists(_CONNECTION, max_size=3),
        "kernel_options": st.dictionaries(
            st.sampled_from(["KernelPrinting", "KernelVTX", "KernelMaxNumNodes", "Bogus"]),
            st.booleans(),
            max_size=2,
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(_SYSTEM)
def test_any_valid_system_checks_without_a_traceback(data: dict[str, object]) -> None:
    from sel4vmgen.diagnostics import DiagnosticError
    from sel4vmgen.model import Loaded, validate
    from sel4vmgen.source import Document

    doc = Document(data=data, file="fuzz.yaml")
    try:
        system = validate(doc)
    except DiagnosticError:
        return
    codes = {c.code for c in CODES}
    for d in check(Loaded(system, doc)):
        assert d.code in codes
        assert d.span is not None and d.message


# ---------------------------------------------------------------- text the app cannot hold (E240)

# Every character class the literals treat differently: quotes, backslashes, ';', '$',
# the escaped and unescaped control characters, DEL, C1 controls and other non-ASCII text.
_TEXT = st.text(
    alphabet=st.sampled_from(list('ab =/"\\;$:{}\n\t\r\x00\x07\x1f\x7f\x85é')), max_size=12
)


@settings(max_examples=500, deadline=None)
@given(_TEXT)
def test_refused_characters_are_exactly_what_the_renderers_refuse(text: str) -> None:
    from sel4vmgen.render.env import RenderError, camkes_string, cmake_quote
    from sel4vmgen.rules.strings import camkes_refused, cmake_refused, odd_trailing_backslashes

    camkes_bad = bool(camkes_refused(text)) or odd_trailing_backslashes(text)
    try:
        camkes_string(text)
    except RenderError:
        assert camkes_bad
    else:
        assert not camkes_bad
    try:
        cmake_quote(text)
    except RenderError:
        assert cmake_refused(text)
    else:
        assert not cmake_refused(text)


_E240_ARM: dict[str, Any] = {
    "name": "text",
    "arch": "arm",
    "sel4_arch": "aarch64",
    "platform": "qemu-arm-virt",
    "vms": [{"name": "vm0", "ram": {"base": 0x40000000, "size": 0x8000000}, "kernel": {}}],
}
_E240_X86: dict[str, Any] = {
    "name": "text",
    "arch": "x86",
    "sel4_arch": "ia32",
    "platform": "pc99",
    "vms": [{"name": "vm0", "ram": {"size": 0x8000000}, "kernel": {"format": "bzImage"}}],
}


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["arm", "x86"]),
    st.sampled_from(["cmdline", "stdout", "option"]),
    _TEXT,
)
def test_a_system_that_checks_clean_renders_and_one_with_e240_does_not(
    arch: str, where: str, text: str
) -> None:
    """validate refuses (E240) exactly the text generate cannot write (E405)."""
    import copy

    from sel4vmgen.app.generate import app_files, resolve_plans
    from sel4vmgen.diagnostics import DiagnosticError
    from sel4vmgen.model import Loaded, validate
    from sel4vmgen.render import RenderContext
    from sel4vmgen.source import Document

    data = copy.deepcopy(_E240_ARM if arch == "arm" else _E240_X86)
    vm = data["vms"][0]
    vm["kernel"]["image"] = "linux" if arch == "arm" else "bzimage"
    if where == "option":
        data["kernel_options"] = {"KernelArmCPU" if arch == "arm" else "KernelX86MicroArch": text}
    elif where == "stdout" and arch == "x86":
        return  # an ARM field (E227); x86 does not write it
    else:
        vm[where] = text
    doc = Document(data=data, file="text.yaml")
    loaded = Loaded(validate(doc), doc)
    refused = [d for d in check(loaded) if d.code == "E240"]
    assert all(d.span is not None and d.span.line > 0 for d in refused)
    try:
        app_files(resolve_plans(loaded), RenderContext(ROOT, "text"))
    except DiagnosticError as e:
        assert [d.code for d in e.diagnostics] == ["E405"]
        assert refused, e.diagnostics[0].message
    else:
        assert not refused, refused[0].message


def test_new_guest_refuses_a_console_generate_could_not_write(tmp_path: Path) -> None:
    """new-guest checks its files with validate's rules: a quote in the console answer is E240
    at its place in guest.yaml, and nothing is written."""
    from sel4vmgen import scaffold

    for platform, field in (("qemu-arm-virt", "stdout"), ("pc99", "cmdline")):
        result = scaffold.scaffold(
            {"name": "vm1", "platform": platform, "console": 'a"b'}, tmp_path
        )
        assert not result.ok and not (tmp_path / "vm1").exists()
        [d] = result.diagnostics
        assert d.code == "E240" and d.span is not None
        assert d.span.file.endswith("guest.yaml")
        assert d.message == (
            f"vms[0].{field}: a double quote cannot be written in a CAmkES string "
            "(camkes-tool has no escapes)"
        )
        assert f"guest.yaml:{d.span.line}:{d.span.col}: error[E240]" in result.rendered
