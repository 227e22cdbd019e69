"""Settings parity: every CMake setting of a real camkes-vm-examples app, in the generated app.

tests/data/real_settings.json records, for each real app/platform combination an example
mirrors, each setting the real app's settings.cmake / app_settings.cmake (and CMakeLists.txt,
for SIMULATION) sets, with its file and line at the recorded commit.  The example is
generated in memory and its settings file read back: every real setting must be there with
the same value, unless the data says why sel4vmgen deliberately differs (`differs`); every
setting the generated app adds beyond the real one must be listed in `generated_extra`.
`cmake_blocks` are runs of the real CMakeLists.txt (the guest-side builds of programs) that
the generated CMakeLists.txt must hold line for line, indentation aside.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sel4vmgen.app.generate import app_files, resolve_plans
from sel4vmgen.model import load
from sel4vmgen.render import RenderContext

ROOT = Path(__file__).resolve().parent.parent
DATA: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "real_settings.json").read_text())
APPS: dict[str, Any] = DATA["apps"]
SET = re.compile(r'^\s*set\((\w+)\s+("[^"]*"|\S+?)[\s)]')
BLOCK = re.compile(r'^if\("\$\{(?:PLATFORM|KernelARMPlatform)\}" STREQUAL "([^"]+)"\)')
ELSEIF = re.compile(r'^\s*elseif\("\$\{KernelARMPlatform\}" STREQUAL "([^"]+)"\)')
# Settings of the generated files that are not app settings (CMake plumbing; SYSROOT: where
# the guest builds install, as zmq_samples/CMakeLists.txt:67).
PLUMBING = {"cpp_flags", "supported", "NUM_NODES", "SYSROOT"}


def generated_files(example: str) -> dict[str, str]:
    path = ROOT / "examples" / f"{example}.yaml"
    loaded = load(path)
    return app_files(resolve_plans(loaded), RenderContext(path.parent, example))


def settings_of(text: str, platform: str) -> dict[str, str]:
    """`set(NAME VALUE ...)` lines outside any platform block or in `platform`'s block."""
    out: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if m := BLOCK.match(line.strip()) or ELSEIF.match(line):
            current = m.group(1)
            continue
        if line.strip() in ("endif()", "else()") and not line.startswith(" "):
            current = None
            continue
        m = SET.match(line)
        if m and current in (None, platform) and m.group(1) not in PLUMBING:
            out[m.group(1)] = m.group(2).strip('"')
    return out


def generated_settings(example: str, platform: str) -> dict[str, str]:
    files = generated_files(example)
    names = ("settings.cmake", "app_settings.cmake", "CMakeLists.txt")
    out: dict[str, str] = {}
    for name in names:
        if name in files:
            out |= settings_of(files[name], platform)
    return out


def test_data_covers_every_example_that_mirrors_a_real_app() -> None:
    mirrored = {case["example"] for case in APPS.values()}
    # The Microkit examples mirror libvmm's examples, compared in test_generate_microkit.py.
    examples = {
        p.stem for p in (ROOT / "examples").glob("*.yaml") if not p.stem.startswith("microkit_")
    }
    assert examples <= mirrored, f"examples without real settings data: {examples - mirrored}"


def test_data_covers_every_real_app_platform_combination() -> None:
    # `combinations`: the 26 app/platform combinations of camkes-vm-examples
    assert len(DATA["combinations"]) == 26
    assert sorted(APPS) == DATA["combinations"]


@pytest.mark.parametrize("key", sorted(APPS))
def test_every_real_setting_is_generated(key: str) -> None:
    case = APPS[key]
    got = generated_settings(case["example"], case["platform"])
    wrong = [
        f"{s['name']}={s['value']} ({s['file']}:{s['line']}) generated as {got.get(s['name'])}"
        for s in case["settings"]
        if "differs" not in s and got.get(s["name"]) != s["value"]
    ]
    assert wrong == []


@pytest.mark.parametrize("key", sorted(APPS))
def test_a_listed_difference_is_a_real_difference(key: str) -> None:
    case = APPS[key]
    got = generated_settings(case["example"], case["platform"])
    same = [
        s["name"] for s in case["settings"] if "differs" in s and got.get(s["name"]) == s["value"]
    ]
    assert same == [], "listed as different but generated the same"


@pytest.mark.parametrize("key", sorted(APPS))
def test_every_extra_generated_setting_is_explained(key: str) -> None:
    case = APPS[key]
    got = generated_settings(case["example"], case["platform"])
    real = {s["name"] for s in case["settings"]}
    extra = sorted(set(got) - real - set(DATA["generated_extra"]) - {"SIMULATION"})
    assert extra == []


BLOCKS = [(key, n) for key in sorted(APPS) for n in range(len(APPS[key].get("cmake_blocks", ())))]


def holds_run(text: str, run: list[str]) -> bool:
    """Whether `run` (stripped lines) occurs in `text` as consecutive lines, indentation aside."""
    lines = [line.strip() for line in text.splitlines()]
    return any(lines[i : i + len(run)] == run for i in range(len(lines) - len(run) + 1))


@pytest.mark.parametrize(("key", "n"), BLOCKS, ids=[f"{k}-{n}" for k, n in BLOCKS])
def test_every_real_cmake_block_is_generated_or_listed_as_different(key: str, n: int) -> None:
    case = APPS[key]
    block = case["cmake_blocks"][n]
    text = generated_files(case["example"])["CMakeLists.txt"]
    where = f"{block['file']}:{block['lines']} ({block['what']})"
    assert holds_run(text, block["text"]) != ("differs" in block), where


def test_the_guest_side_builds_are_compared() -> None:
    assert {k for k, _ in BLOCKS} >= {"x86_zmq_samples", "arm_vm_introspect_qemu-arm-virt"}


def test_block_reader_ignores_indentation_only() -> None:
    assert holds_run("a(\n    b\n)\n", ["a(", "b", ")"])
    assert not holds_run("a(\n    c\n    b\n)\n", ["a(", "b", ")"])


def test_settings_reader_reads_a_platform_block() -> None:
    text = (
        'set(LibUSB OFF CACHE BOOL "" FORCE)\n'
        'if("${PLATFORM}" STREQUAL "a")\n    set(QEMU_MEMORY "2048")\nendif()\n'
        'if("${PLATFORM}" STREQUAL "b")\n    set(X ON CACHE BOOL "" FORCE)\nendif()\n'
    )
    assert settings_of(text, "a") == {"LibUSB": "OFF", "QEMU_MEMORY": "2048"}
    assert settings_of(text, "b") == {"LibUSB": "OFF", "X": "ON"}
