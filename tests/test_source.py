"""Loading YAML with positions: spans of values and keys, includes with local
overrides, and what the loader accepts that is unusual but valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MINIMAL_X86, Writer

from sel4vmgen.diagnostics import DiagnosticError, Span
from sel4vmgen.source import describe, load_document


def test_positions_of_values_and_keys(write: Writer) -> None:
    path = write("s.yaml", MINIMAL_X86)
    doc = load_document(path)
    f = str(path)
    assert doc.span(()) == Span(f, 1, 1)
    assert doc.span(("vms", 0)) == Span(f, 6, 5)
    assert doc.key_span(("vms", 0, "ram", "size")) == Span(f, 8, 7)
    assert doc.span(("vms", 0, "ram", "size")) == Span(f, 8, 13)
    assert doc.data["vms"][0]["ram"] == {"size": "128MiB"}


def test_span_of_an_unknown_path_is_its_nearest_ancestor(write: Writer) -> None:
    path = write("s.yaml", MINIMAL_X86)
    doc = load_document(path)
    assert doc.span(("vms", 0, "kernel", "nope", 3)) == doc.span(("vms", 0, "kernel"))
    assert doc.key_span(("vms", 0)) == doc.span(("vms", 0))


def test_utf8_bom_is_accepted(write: Writer) -> None:
    path = write("s.yaml", b"\xef\xbb\xbf" + MINIMAL_X86.encode())
    assert load_document(path).data["name"] == "sys"


def test_anchors_aliases_and_merge_keys_are_ordinary_yaml(write: Writer) -> None:
    text = MINIMAL_X86 + (
        "  - &second\n    name: vm1\n    kernel: {image: a}\n  - <<: *second\n    name: vm2\n"
    )
    doc = load_document(write("s.yaml", text))
    assert [v["name"] for v in doc.data["vms"]] == ["vm0", "vm1", "vm2"]
    assert doc.data["vms"][2]["kernel"] == {"image": "a"}


def test_integer_keys_stay_integers(write: Writer) -> None:
    doc = load_document(write("s.yaml", "pools: {23: 20, 0x10: 1}\n"))
    assert doc.data == {"pools": {23: 20, 16: 1}}


def test_include_merges_local_keys_over_the_file(write: Writer) -> None:
    write("guests/linux.yaml", "name: linux\nvcpus: 1\nkernel:\n  image: bzimage\n")
    main = write(
        "system.yaml",
        MINIMAL_X86 + "  - include: guests/linux.yaml\n    vcpus: 2\n",
    )
    doc = load_document(main)
    assert doc.data["vms"][1] == {"name": "linux", "vcpus": 2, "kernel": {"image": "bzimage"}}
    guest = str(main.parent / "guests" / "linux.yaml")
    assert doc.span(("vms", 1, "kernel", "image")) == Span(guest, 4, 10)
    assert doc.key_span(("vms", 1, "name")) == Span(guest, 1, 1)
    assert doc.span(("vms", 1, "vcpus")) == Span(str(main), 12, 12)
    assert doc.span(("vms", 1)) == Span(str(main), 11, 5)
    assert ("vms", 1, "include") not in doc.values


def test_include_is_relative_to_the_including_file(write: Writer) -> None:
    write("guests/base.yaml", "vcpus: 1\nkernel: {image: base}\n")
    write("guests/linux.yaml", "include: base.yaml\nname: linux\nvcpus: 4\n")
    main = write("sys/system.yaml", MINIMAL_X86 + "  - include: ../guests/linux.yaml\n")
    vm = load_document(main).data["vms"][1]
    assert vm == {"vcpus": 4, "kernel": {"image": "base"}, "name": "linux"}


def test_a_local_key_replaces_the_whole_included_value(write: Writer) -> None:
    write("g.yaml", "name: g\nram: {size: 1MiB, base: 0x1000}\nkernel: {image: a}\n")
    main = write("s.yaml", MINIMAL_X86 + "  - include: g.yaml\n    ram: {size: 2MiB}\n")
    doc = load_document(main)
    assert doc.data["vms"][1]["ram"] == {"size": "2MiB"}
    assert doc.span(("vms", 1, "ram", "size")).file == str(main)


def test_include_cycle_names_the_chain(write: Writer, tmp_path: Path) -> None:
    write("a.yaml", "include: b.yaml\n")
    write("b.yaml", "include: a.yaml\n")
    main = write("s.yaml", MINIMAL_X86 + "  - include: a.yaml\n")
    with pytest.raises(DiagnosticError) as info:
        load_document(main)
    (d,) = info.value.diagnostics
    assert d.code == "E011"
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert d.message == f"include cycle: {a} -> {b} -> {a}"
    assert d.span == Span(str(b), 1, 10)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({}, "a mapping"),
        ([], "a list"),
        ((), "a list"),
        (True, "true/false"),
        (None, "nothing (null)"),
        (3, "a number"),
        (2.0, "a number"),
        (2.5, "a fraction"),
        ("x", "text"),
    ],
)
def test_describe_says_what_was_written(value: object, words: str) -> None:
    assert describe(value) == words
