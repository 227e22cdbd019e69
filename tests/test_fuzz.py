"""Random and mutated system files never make `validate` crash.

Hypothesis throws generated YAML text, generated data dumped to YAML, and
mutations of every example (keys deleted, duplicated or retyped, values
swapped, bytes truncated, garbage inserted) at `pipeline.check_file` and at
the command line.  Whatever the input: no traceback, exit code 0, 1 or 2, and
every diagnostic points at a line (except the unreadable-file codes, which are
about the whole file on purpose: `codes.whole`).  And what `validate` accepts,
`generate` writes into a fresh folder, which then simulates and draws.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sel4vmgen.app.check import UNREADABLE, Checked, check_file, exit_code
from sel4vmgen.codes import whole

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELD_WORDS = [
    "name",
    "arch",
    "sel4_arch",
    "platform",
    "vms",
    "vcpus",
    "ram",
    "size",
    "base",
    "kernel",
    "image",
    "include",
    "per_platform",
    "passthrough",
    "irqs",
    "connections",
    "type",
    "simulation",
    "seed",
    "vmm",
    "untyped_pools",
    "x86",
    "arm",
    "pc99",
    "tx2",
    "512MiB",
    "0x1000",
]


def assert_well_behaved(result: Checked) -> None:
    """Exit 0, 1 or 2, and every diagnostic at a line, or about the whole file on purpose."""
    assert exit_code([result]) in (0, 1, 2)
    for d in result.diagnostics:
        if d.span is None:
            assert whole(d.code) == "file" and d.code in UNREADABLE, d
        else:
            assert d.span.line >= 1 and d.span.col >= 1, d


def check_bytes(path: Path, content: bytes, cli: bool = False) -> None:
    path.write_bytes(content)
    assert_well_behaved(check_file(path))
    if cli:
        run = run_cli("validate", "--format", "json", str(path))
        assert run.exit_code in (0, 1, 2)


def dump(data: Any) -> bytes:
    out = io.StringIO()
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue().encode("utf-8")


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(FIELD_WORDS),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(FIELD_WORDS), st.text(min_size=1, max_size=12), st.integers())
data = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=40,
)
yaml_text = st.lists(
    st.sampled_from([*" \t\n-:#[]{},&*!|>'\"%@`?~0x1aZ.", *FIELD_WORDS, "\n  ", ": ", "- "]),
    max_size=120,
).map("".join)


@FUZZ
@given(text=yaml_text)
def test_random_yaml_text(tmp_path: Path, text: str) -> None:
    check_bytes(tmp_path / "fuzz.yaml", text.encode("utf-8"))


@FUZZ
@given(raw=st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, raw: bytes) -> None:
    check_bytes(tmp_path / "fuzz.yaml", raw)


@FUZZ
@given(value=data)
def test_random_data_dumped_to_yaml(tmp_path: Path, value: Any) -> None:
    check_bytes(tmp_path / "fuzz.yaml", dump(value))


@FUZZ
@given(value=st.dictionaries(st.sampled_from(FIELD_WORDS), data, max_size=8))
def test_random_mappings_of_known_keys_through_the_cli(tmp_path: Path, value: Any) -> None:
    check_bytes(tmp_path / "fuzz.yaml", dump(value), cli=True)


# ---------------------------------------------------------------- mutations of the examples


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _places(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a mapping entry or list item."""
    out: list[tuple[Any, ...]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for k, v in items:
        out.append((*at, k))
        out.extend(_places(v, (*at, k)))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for p in path[:-1]:
        root = root[p]
    return root


def mutate(root: Any, draw: st.DrawFn) -> Any:
    places = _places(root)
    if not places:
        return root
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = _places(root)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = _parent(root, path)
        op = draw(st.sampled_from(["delete", "retype", "swap", "rename", "copy"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "retype":
            parent[path[-1]] = draw(data)
        elif op == "swap":
            other = draw(st.sampled_from(places))
            if other[: len(path)] != path and path[: len(other)] != other:
                op_parent = _parent(root, other)
                parent[path[-1]], op_parent[other[-1]] = op_parent[other[-1]], parent[path[-1]]
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(keys)] = parent.pop(path[-1])
        elif op == "copy" and isinstance(parent, list):
            parent.append(parent[path[-1]])
    return root


@st.composite
def mutated_example(draw: st.DrawFn) -> bytes:
    example = draw(st.sampled_from(EXAMPLE_FILES))
    raw = example.read_bytes()
    kind = draw(st.sampled_from(["data", "truncate", "garbage", "duplicate_line"]))
    if kind == "data":
        return dump(mutate(_load(example), draw))
    at = draw(st.integers(min_value=0, max_value=len(raw)))
    if kind == "truncate":
        return raw[:at]
    if kind == "garbage":
        return raw[:at] + draw(st.binary(min_size=1, max_size=16)) + raw[at:]
    lines = raw.splitlines(keepends=True)
    i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    return b"".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])


@pytest.mark.skipif(not EXAMPLE_FILES, reason="no examples")
@FUZZ
@given(content=mutated_example())
def test_mutated_examples(tmp_path: Path, content: bytes) -> None:
    check_bytes(tmp_path / "mutant.yaml", content, cli=True)


# ---------------------------------------------------------------- validate decides for generate

PIPELINE = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PIPELINE_RUNS: list[int] = []  # examples that got past validate (for the closing figure)


@pytest.mark.skipif(not EXAMPLE_FILES, reason="no examples")
@PIPELINE
@given(content=mutated_example())
def test_what_validate_accepts_generates_simulates_and_draws(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    """If `validate` exits 0, `generate` into a fresh folder exits 0; the app then simulates
    (0 or 1: a violation is the simulator's finding, not an input error) and draws."""
    here = tmp_path_factory.mktemp("mutant")
    (here / "components").symlink_to(EXAMPLES / "components")
    system = here / "system.yaml"
    system.write_bytes(content)
    checked = check_file(system)
    assert_well_behaved(checked)
    if exit_code([checked]) != 0:
        return
    PIPELINE_RUNS.append(1)
    app = here / "app"
    run = run_cli("generate", str(system), "-o", str(app), "--no-simulate", "--format", "json")
    assert run.exit_code == 0, run.stdout
    for d in json.loads(run.stdout):  # warnings only, each at its line or about the whole run
        assert "line" in d or whole(d["code"]), d
    sim = run_cli("simulate", str(app), "--duration-ms", "5")
    assert sim.exit_code in (0, 1), sim.stderr
    assert "corrupt plan" not in sim.stderr
    from sel4vmgen.app.planfile import plan_paths

    for plan in plan_paths(app):
        drawn = run_cli("graph", str(plan), "-o", str(here / "system.dot"))
        assert drawn.exit_code == 0, drawn.stderr


def test_validate_reports_what_resolving_refuses(tmp_path: Path) -> None:
    """Found by the property above: one file-server name for a kernel and an initrd was first
    refused by `generate` (E301); the rules now refuse it at the initrd's name (E281)."""
    system = tmp_path / "system.yaml"
    system.write_text(
        "name: s\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\nvms:\n"
        "  - name: vm0\n    kernel: {image: linux, name: linux}\n"
        "    initrd: {image: rootfs.cpio, name: linux}\n",
        encoding="utf-8",
    )
    run = run_cli("validate", str(system))
    assert run.exit_code == 1
    assert (
        f"{system}:8:40: error[E281]: file-server name 'linux' is used for "
        "linux (vm0) and rootfs.cpio (vm0)"
    ) in run.stderr.splitlines()
