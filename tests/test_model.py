"""The system model: value types (sizes, addresses, names, paths), strict
validation, per-platform patches and the public `load`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES, MINIMAL_X86, Writer
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

import sel4vmgen
from sel4vmgen.diagnostics import DiagnosticError
from sel4vmgen.model import System, Vm, frozen_lists, load
from sel4vmgen.model.errors import fields_at
from sel4vmgen.model.types import (
    check_file_name,
    check_identifier,
    check_image_path,
    parse_address,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (4096, 4096),
        ("4096", 4096),
        ("0x1000", 0x1000),
        ("0X1_000", 0x1000),
        ("4KiB", 4096),
        ("4 KiB", 4096),
        ("512MiB", 512 << 20),
        ("2GiB", 2 << 30),
        ("1TiB", 1 << 40),
        ("16B", 16),
        ("1_000_000", 1_000_000),
        (2.0, 2),
        ("0xffffffffffffffff", (1 << 64) - 1),
    ],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        (
            "512MB",
            "size_format",
            "unknown size unit 'MB' (use B, KiB, MiB, GiB or TiB); did you mean 'MiB'?",
        ),
        ("0", "value_range", "size 0 is out of range (1 to 2^64-1 bytes)"),
        (
            "17179869184GiB",
            "value_range",
            "size 18446744073709551616 is out of range (1 to 2^64-1 bytes)",
        ),
        (True, "size_format", "expected a number, not true/false"),
        ("MiB", "size_format", "'MiB' is not a size (write 0x1000, 4096 or 4KiB)"),
        ("0x10g", "size_format", "'0x10g' is not a size (write 0x1000, 4096 or 4KiB)"),
        ("-1", "size_format", "'-1' is not a size (write 0x1000, 4096 or 4KiB)"),
    ],
)
def test_bad_sizes(text: object, kind: str, message: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        parse_size(text)
    assert (info.value.type, info.value.message()) == (kind, message)


def test_hex_number_followed_by_a_unit_after_a_space_is_a_size() -> None:
    assert parse_size("0x10 KiB") == 16 << 10
    assert parse_size("0x10KiB") == 16 << 10


def test_addresses() -> None:
    assert parse_address("0x40000000") == 0x40000000
    assert parse_address(0) == 0
    assert parse_address("0xffff_ffff_ffff_ffff") == (1 << 64) - 1
    for bad, message in [
        ("1GiB", "an address takes no unit ('GiB')"),
        (1 << 64, "address 18446744073709551616 is out of range (0 to 2^64-1)"),
        ([1], "expected an address (write a number such as 0x40000000), not a list"),
    ]:
        with pytest.raises(PydanticCustomError) as info:
            parse_address(bad)
        assert info.value.message() == message


@pytest.mark.parametrize("name", ["vm0", "_x", "Linux_Guest_2", "v" * 64])
def test_good_identifiers(name: str) -> None:
    assert check_identifier(name) == name


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "0vm", "int", "component", "", "v" * 65, "a-b", "a b", "vm\u00e9"]
)
def test_bad_identifiers(name: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        check_identifier(name)
    assert info.value.type == "c_identifier"


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "a\\b"])
def test_file_server_names_are_one_plain_component(name: str) -> None:
    with pytest.raises(PydanticCustomError):
        check_file_name(name)
    assert check_file_name("rootfs.cpio") == "rootfs.cpio"


@pytest.mark.parametrize(
    "path",
    ["images/bzImage", "/abs/Image", "${CAMKES_VM_IMAGES_DIR}/bzimage", "../linux/Image"],
)
def test_good_image_paths(path: str) -> None:
    assert check_image_path(path) == path


@pytest.mark.parametrize(
    "path", ["", "a\nb", 'a"b', "a;b", "${HOME}/x", "${CAMKES_VM_IMAGES_DIR}/${X}", "x" * 1025]
)
def test_bad_image_paths(path: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        check_image_path(path)
    assert info.value.type == "bad_path"


def test_load_gives_a_frozen_system_with_positions(write: Writer) -> None:
    path = write("s.yaml", MINIMAL_X86)
    loaded = load(path)
    system = loaded.system
    assert system.name == "sys"
    assert system.platforms == ("pc99",)
    assert system.vms[0].ram is not None and system.vms[0].ram.size == 128 << 20
    assert loaded.base_dir == path.parent.resolve()
    with pytest.raises(ValidationError):
        system.name = "other"  # type: ignore[misc]


def test_the_package_load_is_the_model_load(write: Writer) -> None:
    path = write("s.yaml", MINIMAL_X86)
    assert sel4vmgen.load(str(path)).system == load(path).system


def test_several_problems_come_back_together(write: Writer) -> None:
    text = MINIMAL_X86.replace("name: sys", "name: 9").replace("128MiB", "1MB")
    with pytest.raises(DiagnosticError) as info:
        load(write("s.yaml", text))
    assert [d.code for d in info.value.diagnostics] == ["E103", "E105"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"2"', "'vms[0].vcpus' must be a whole number, not '2'"),
        ("true", "'vms[0].vcpus' must be a whole number, not true/false"),
        ("2.0", "'vms[0].vcpus' must be a whole number, not 2.0"),
    ],
)
def test_values_are_not_converted_between_types(write: Writer, value: str, message: str) -> None:
    text = MINIMAL_X86.replace("    ram:", f"    vcpus: {value}\n    ram:")
    with pytest.raises(DiagnosticError) as info:
        load(write("s.yaml", text))
    assert [d.message for d in info.value.diagnostics] == [message]


def test_per_platform_patch_replaces_fields() -> None:
    vm = Vm.model_validate(
        {
            "name": "vm0",
            "vcpus": 1,
            "kernel": {"image": "a"},
            "ram": {"size": "64MiB"},
            "per_platform": {"tx2": {"vcpus": 2, "ram": {"size": "1GiB", "base": "0x80000000"}}},
        }
    )
    on_tx2 = vm.on("tx2")
    assert (on_tx2.vcpus, on_tx2.ram) == (2, vm.per_platform["tx2"].ram)
    assert on_tx2.kernel == vm.kernel
    assert vm.on("qemu-arm-virt") is vm


def test_platform_may_be_a_list() -> None:
    data = {
        "name": "s",
        "arch": "arm",
        "sel4_arch": "aarch64",
        "platform": ("tx2", "qemu-arm-virt"),
        "vms": ({"name": "vm0", "kernel": {"image": "a"}},),
    }
    assert System.model_validate(data, strict=True).platforms == ("tx2", "qemu-arm-virt")


def test_frozen_lists_turns_lists_into_tuples_all_the_way_down() -> None:
    assert frozen_lists({"a": [1, {"b": [2]}]}) == {"a": (1, {"b": (2,)})}


def test_did_you_mean_knows_the_fields_at_each_place() -> None:
    assert "vcpus" in fields_at(System, ("vms", 0))
    assert fields_at(System, ("vms", 0, "ram")) == ["size", "base", "paddr"]
    assert "vcpus" in fields_at(System, ("vms", 0, "per_platform", "tx2"))


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_loads(example: Path) -> None:
    assert load(example).system.vms
