"""`sel4vmgen graph`: the DOT picture of a Plan, checked by parsing it back."""

from __future__ import annotations

import html
import itertools
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sel4vmgen.app.planfile import parse_plan
from sel4vmgen.cli import cli
from sel4vmgen.graph import memory_dot, render, system_dot
from sel4vmgen.graph.dot import Graph, Html, quote
from sel4vmgen.graph.memory import AXIS_PT, MARKER_PT, MIN_PT, conflicts, regions
from sel4vmgen.plan.model import (
    PLAN_FORMAT,
    ComponentPlan,
    Dataport,
    Event,
    Gic,
    Image,
    IrqRoute,
    PciDevice,
    Plan,
    Region,
    Thread,
    Virtqueue,
    VirtqueueEnd,
    VmPlan,
)

# ---------------------------------------------------------------- a tiny DOT reader


_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<html><)|(?P<punct>->|[{}\[\];=,])|(?P<id>[A-Za-z_][\w.]*))'
)


@dataclass
class Dot:
    """What the reader found: nodes with attributes and cluster, edges with attributes."""

    name: str = ""
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    cluster_of: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    graph_attrs: dict[str, str] = field(default_factory=dict)


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), token[1:-1])


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            if text[i:].strip() == "":
                break
            raise AssertionError(f"bad DOT at {text[i : i + 30]!r}")
        if m.group("html"):
            depth, j = 0, m.start("html")
            while True:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append(text[m.start("html") : j])
            i = j
            continue
        out.append(m.group(m.lastgroup or ""))
        i = m.end()
    return out


def _attrs(toks: list[str], i: int) -> tuple[dict[str, str], int]:
    attrs: dict[str, str] = {}
    if i < len(toks) and toks[i] == "[":
        i += 1
        while toks[i] != "]":
            key, eq, value = toks[i], toks[i + 1], toks[i + 2]
            assert eq == "="
            attrs[key] = _unquote(value) if value.startswith('"') else value
            i += 3
            if toks[i] == ",":
                i += 1
        i += 1
    return attrs, i


def parse_dot(text: str) -> Dot:
    """Read the subset of DOT the writer produces, asserting it is well formed."""
    toks = _tokens(text)
    assert toks[0] == "digraph" and toks[2] == "{" and toks[-1] == "}"
    dot = Dot(name=_unquote(toks[1]))
    i, cluster = 3, ""
    while i < len(toks) - 1:
        t = toks[i]
        if t == "subgraph":
            cluster, i = _unquote(toks[i + 1]), i + 3
            continue
        if t == "}":
            cluster, i = "", i + 1
            continue
        if t in ("graph", "node", "edge"):
            attrs, i = _attrs(toks, i + 1)
            if t == "graph" and not cluster:
                dot.graph_attrs = attrs
        elif toks[i + 1] == "->":
            tail, head = _unquote(t), _unquote(toks[i + 2])
            attrs, i = _attrs(toks, i + 3)
            dot.edges.append((tail, head, attrs))
        else:
            node = _unquote(t)
            attrs, i = _attrs(toks, i + 1)
            assert node not in dot.nodes, f"node {node} written twice"
            dot.nodes[node] = attrs
            if cluster:
                dot.cluster_of[node] = cluster
        assert toks[i] == ";", f"expected ';' at token {i}: {toks[i : i + 5]}"
        i += 1
    return dot


# ---------------------------------------------------------------- hand-built plans


def _image(role: str, name: str, vm: str | None, guest: int | None, size: int | None) -> Image:
    return Image(role, name, f"${{CAMKES_VM_IMAGES_DIR}}/{name}", guest=guest, size=size, vm=vm)  # type: ignore[arg-type]


def _arm_vm(index: int, base: int, **more: object) -> VmPlan:
    inst = f"vm{index}"
    fields: dict[str, object] = {
        "index": index,
        "name": f"guest{index}",
        "instance": inst,
        "component": "VM",
        "vcpus": 2,
        "priority": 100,
        "ram": Region("ram", "ram", 0x8000000, guest=base, paddr=base),
        "kernel": _image("kernel", "linux", inst, base + 0x80000, 0x1000000),
        "initrd": _image("initrd", "linux-initrd", inst, base + 0x5700000, 0x1900000),
        "dtb": _image("dtb", "linux-dtb", inst, base + 0x7000000, 0x10000),
        "dtb_mode": "generate",
        "cmdline": "console=hvc0",
        "stdout": "hvc0",
    }
    fields.update(more)
    return VmPlan(**fields)  # type: ignore[arg-type]


def arm_plan() -> Plan:
    vm0 = _arm_vm(
        0,
        0x40000000,
        mmios=(Region("mmio", "uart", 0x1000, guest=0x9000000, paddr=0x9000000),),
        untyped_mmios=(Region("untyped_mmio", "gicv", 0x1000, guest=0x8010000, paddr=0x8040000),),
        dtb_nodes=("/pl011@9000000",),
        dataports=(Dataport("crossvm_dp_0", 0x1000, "ping", "dp", 1, guest=0x50000000),),
        events=(Event("ready", "to_vm", "ping", "ready_out", badge=1),),
        virtqueues=(VirtqueueEnd("vm0", "send1", "recv1", 1, 2, "02:00:00:00:00:01"),),
    )
    vm1 = _arm_vm(
        1,
        0x48000000,
        virtqueues=(VirtqueueEnd("vm1", "send0", "recv0", 3, 4, "02:00:00:00:00:02"),),
    )
    threads = (
        Thread("vm0_vmm", "vmm", 100, 0, "vm0"),
        Thread("vm0_vcpu0", "vcpu", 101, 0, "vm0", 0),
        Thread("vm0_vcpu1", "vcpu", 101, 1, "vm0", 1),
        Thread("vm1_vmm", "vmm", 100, None, "vm1"),
        Thread("vm1_vcpu0", "vcpu", 101, 1, "vm1", 0),
        Thread("fserv", "fserv", 250),
        Thread("ping", "component", 150),
    )
    routes = (
        IrqRoute("vm0", 33, 33, "level", "passthrough", name="uart"),
        IrqRoute("vm0", -1, 27, "level", "vtimer"),
        IrqRoute("vm1", -1, 27, "level", "vtimer"),
        IrqRoute("vm0", -1, 82, "edge", "virtio"),
    )
    return Plan(
        format=PLAN_FORMAT,
        tool_version="0",
        system="two_guests",
        arch="arm",
        sel4_arch="aarch64",
        platform="qemu-arm-virt",
        kernel_platform="qemu-arm-virt",
        arm_platform="qemu-arm-virt",
        num_nodes=2,
        vms=(vm0, vm1),
        threads=threads,
        irq_routes=routes,
        gic=Gic(2, 0x08000000, 0x08010000, 0x08040000, 0x08030000, 4, 25, 27),
        file_server=(
            _image("kernel", "linux", None, None, None),
            _image("initrd", "linux-initrd", None, None, None),
            _image("dtb", "vm1-dtb", "vm1", None, None),
        ),
        cmake_options=(),
        components=(ComponentPlan("ping", "Ping", priority=150),),
        virtqueues=(
            Virtqueue(
                "vm0_vm1",
                (
                    VirtqueueEnd("vm0", "send1", "recv1", 1, 2, "02:00:00:00:00:01"),
                    VirtqueueEnd("vm1", "send0", "recv0", 3, 4, "02:00:00:00:00:02"),
                ),
                0x2000,
            ),
        ),
    )


def x86_plan() -> Plan:
    vm = VmPlan(
        index=0,
        name="vm0",
        instance="vm0",
        component="Init0",
        vcpus=1,
        priority=100,
        ram=Region("ram", "ram", 128 << 20),
        kernel=_image("kernel", "bzimage", None, None, None),
        initrd=_image("initrd", "rootfs.cpio", None, None, None),
        dtb=None,
        dtb_mode="none",
        cmdline="console=ttyS0",
        stdout=None,
        pci_devices=(PciDevice("nic", 0, 0x19, 0, 11),),
    )
    return replace(
        arm_plan(),
        system="minimal",
        arch="x86",
        sel4_arch="ia32",
        platform="ia32",
        kernel_platform="pc99",
        arm_platform=None,
        num_nodes=1,
        vms=(vm,),
        threads=(Thread("vm0", "vm", 100, None, "vm0"),),
        irq_routes=(IrqRoute("vm0", 11, 11, "level", "passthrough", name="nic"),),
        components=(),
        virtqueues=(),
    )


# ---------------------------------------------------------------- the system picture


def test_every_vm_and_thread_is_drawn_in_its_vm_with_priority_and_core() -> None:
    plan = arm_plan()
    dot = parse_dot(system_dot(plan))
    for vm in plan.vms:
        assert dot.nodes[f"vm:{vm.instance}"]["label"] == (
            f"VM component\n2 VCPUs, RAM 128 MiB at {vm.ram.guest:#x}"
        )
        assert dot.cluster_of[f"vm:{vm.instance}"] == f"cluster_{vm.instance}"
    labels = {t.name: dot.nodes[f"thread:{t.name}"]["label"] for t in plan.threads}
    assert labels == {  # the VM's prefix dropped inside its VM; a core only when fixed
        "vm0_vmm": "vmm\npriority 100, core 0",
        "vm0_vcpu0": "vcpu0\npriority 101, core 0",
        "vm0_vcpu1": "vcpu1\npriority 101, core 1",
        "vm1_vmm": "vmm\npriority 100",
        "vm1_vcpu0": "vcpu0\npriority 101, core 1",
        "fserv": "fserv\npriority 250",
        "ping": "ping\ncomponent, priority 150",
    }
    for t in plan.threads:
        assert dot.cluster_of[f"thread:{t.name}"] == f"cluster_{t.vm or 'native'}"
    assert "threads showing no core run on core 0" in dot.nodes["legend"]["label"]
    assert dot.nodes["component:ping"]["label"] == "ping: Ping\npriority 150"
    assert dot.graph_attrs["label"] == "two_guests: qemu-arm-virt (aarch64), 2 cores"
    clusters = re.findall(
        r'subgraph "cluster_(\w+)" \{\n    graph \[label="([^"]*)"', system_dot(plan)
    )
    assert clusters == [
        ("vm0", "guest0 (vm0)"),
        ("vm1", "guest1 (vm1)"),
        ("native", "native threads"),
    ]


def test_a_vms_devices_and_irqs_are_drawn_inside_its_cluster() -> None:
    plan = arm_plan()
    dot = parse_dot(system_dot(plan))
    inside = {n: c for n, c in dot.cluster_of.items() if n.startswith(("device:", "irq:", "virq:"))}
    assert inside == {
        "device:vm0:uart": "cluster_vm0",
        "device:vm0:gicv": "cluster_vm0",
        "device:vm0:/pl011@9000000": "cluster_vm0",
        "irq:33": "cluster_vm0",
        "virq:vm0:27": "cluster_vm0",
        "virq:vm0:82": "cluster_vm0",
        "virq:vm1:27": "cluster_vm1",
    }
    assert dot.nodes["irq:33"]["label"] == "IRQ 33\nlevel"  # its device is joined to it
    assert dot.nodes["virq:vm0:27"]["label"] == "virtual timer\nvIRQ 27, level"
    assert dot.nodes["virq:vm0:82"]["label"] == "virtio\nvIRQ 82, edge"
    assert dot.nodes["device:vm0:uart"]["label"] == "uart\nmmio 0x9000000, 4 KiB"


def test_a_physical_irq_given_to_two_vms_is_drawn_outside_both() -> None:
    plan = arm_plan()
    both = (
        IrqRoute("vm0", 40, 40, "level", "passthrough"),
        IrqRoute("vm1", 40, 41, "edge", "passthrough"),
    )
    dot = parse_dot(system_dot(replace(plan, irq_routes=plan.irq_routes + both)))
    assert "irq:40" not in dot.cluster_of
    assert dot.nodes["irq:40"]["label"] == "IRQ 40\nrouted to vm0, vm1"
    assert [(t, h) for t, h, _ in dot.edges if t == "irq:40"] == [
        ("irq:40", "vm:vm0"),
        ("irq:40", "vm:vm1"),
    ]


def test_connections_file_server_devices_and_irq_routes_are_edges() -> None:
    plan = arm_plan()
    dot = parse_dot(system_dot(plan))
    edges = {(t, h): a for t, h, a in dot.edges}
    assert edges[("vm:vm0", "component:ping")]["label"] == "dataport crossvm_dp_0 / dp\n4 KiB"
    assert edges[("component:ping", "vm:vm0")]["label"] == "event ready / ready_out"
    assert edges[("vm:vm0", "vm:vm1")]["label"].startswith("virtio-net vm0_vm1\n")
    assert "label" not in edges[("fileserver", "vm:vm0")]
    assert "label" not in edges[("fileserver", "vm:vm1")]
    rows = re.findall(r"<TR><TD[^>]*>([^<]*)</TD><TD>([^<]*)</TD><TD[^>]*>([^<]*)</TD></TR>",
                      dot.nodes["fileserver"]["label"])  # fmt: skip
    assert rows == [("linux", "kernel", "vm0, vm1"), ("linux-initrd", "initrd", "vm0, vm1"),
                    ("vm1-dtb", "dtb", "vm1")]  # fmt: skip
    for name in ("uart", "gicv", "/pl011@9000000"):
        assert edges[(f"device:vm0:{name}", "vm:vm0")] == {"style": "dashed"}
    irq_edges = [(t, h) for t, h, a in dot.edges if a.get("color") == "red3"]
    assert irq_edges == [
        ("device:vm0:uart", "irq:33"),
        ("irq:33", "vm:vm0"),
        ("virq:vm0:27", "vm:vm0"),
        ("virq:vm0:82", "vm:vm0"),
        ("virq:vm1:27", "vm:vm1"),
    ]
    every = set(dot.nodes)
    assert all(t in every and h in every for t, h, _ in dot.edges)


def _legend_rows(dot: Dot) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(r'<TD ALIGN="LEFT">([^<]*)</TD>', dot.nodes["legend"]["label"])
    ]


def test_the_legend_explains_each_kind_drawn_and_no_other() -> None:
    assert _legend_rows(parse_dot(system_dot(arm_plan()))) == [
        "VM: its VMM component, VCPUs and guest RAM",
        "thread: priority (core when fixed)",
        "native component",
        "device passed through to the VM",
        "physical IRQ routed to the VM",
        "virtual IRQ the VMM raises",
        "file server: the images each VM loads",
        "device to the VM it is passed to",
        "IRQ delivered to the VM",
        "device that raises the IRQ",
        "shared-memory dataport",
        "event (notification)",
        "virtio-net link",
        "boot images the VM loads",
    ]
    plan = replace(x86_plan(), components=(), virtqueues=(), file_server=())
    assert _legend_rows(parse_dot(system_dot(plan))) == [
        "VM: its VMM component, VCPUs and guest RAM",
        "thread: priority (core when fixed)",
        "device passed through to the VM",
        "physical IRQ routed to the VM",
        "device to the VM it is passed to",
        "IRQ delivered to the VM",
        "device that raises the IRQ",
    ]
    plan = replace(plan, irq_routes=(IrqRoute("vm0", -1, 4, "edge", "serial", "serial"),))
    assert "device that raises the IRQ" not in _legend_rows(parse_dot(system_dot(plan)))


def test_x86_pci_passthrough_and_ioapic_route() -> None:
    dot = parse_dot(system_dot(x86_plan()))
    assert dot.nodes["device:vm0:nic"]["label"] == "nic\nPCI 00:19.0"
    assert dot.nodes["irq:11"]["label"] == "IOAPIC 0 pin 11\nguest IRQ 11, level"
    edges = {(t, h) for t, h, _ in dot.edges}
    assert {("device:vm0:nic", "irq:11"), ("irq:11", "vm:vm0")} <= edges
    assert dot.nodes["thread:vm0"]["label"] == "vm\npriority 100"
    assert dot.graph_attrs["label"] == "minimal: pc99 (ia32), 1 core"


def test_output_is_deterministic_and_survives_the_plan_json_round_trip() -> None:
    first = system_dot(arm_plan())
    assert system_dot(arm_plan()) == first
    assert system_dot(parse_plan(arm_plan().to_json(), "plan.json")) == first
    assert memory_dot(parse_plan(arm_plan().to_json(), "plan.json")) == memory_dot(arm_plan())


@pytest.mark.parametrize(
    "text", ['a "quoted" name', "back\\slash", "two\nlines", "x -> y; z [label=1]", "{}"]
)
def test_any_text_is_quoted_so_it_reads_back_unchanged(text: str) -> None:
    g = Graph(text)
    g.node(text, label=text)
    g.edge(text, "other", label=text)
    dot = parse_dot(g.text())
    assert dot.name == text
    assert dot.nodes[text]["label"] == text
    assert dot.edges == [(text, "other", {"label": text})]


def test_html_labels_are_written_as_is_and_quote_escapes() -> None:
    g = Graph("g")
    g.node("n", label=Html("<B>x</B>"))
    assert '"n" [label=<<B>x</B>>];' in g.text()
    assert quote('a"b\\c') == '"a\\"b\\\\c"'


# ---------------------------------------------------------------- the memory map


@dataclass(frozen=True)
class Drawn:
    """One bar of a memory map read back from the DOT: points, as Graphviz places them."""

    what: str  # "kind: name", the first line of its tooltip
    x: float
    bottom: float
    height: float
    fill: str
    colour: str
    label: str  # the text beside it, one line each


def _point(pos: str) -> tuple[float, float]:
    assert pos.endswith("!"), pos  # pinned
    x, y = pos[:-1].split(",")
    return float(x), float(y)


def _text(markup: str) -> str:
    """The text of an HTML-like label (as the reader gives it, in its outer <>), one line
    per <BR/>."""
    assert markup.startswith("<") and markup.endswith(">")
    lines = re.sub(r"<BR\s*/>", "\n", markup[1:-1])
    return html.unescape(re.sub(r"<[^>]*>", "", lines))


def _map(dot: Dot, inst: str) -> tuple[dict[str, Drawn], tuple[float, float]]:
    """The bars of one VM by "kind: name", and the axis's bottom and height."""
    found: dict[str, Drawn] = {}
    for node, a in dot.nodes.items():
        if not node.startswith(f"region:{inst}:"):
            continue
        x, y = _point(a["pos"])
        height = float(a["height"]) * 72
        what = a["tooltip"].split("\n")[0]
        label = _text(dot.nodes["label:" + node.removeprefix("region:")]["label"])
        assert a["fixedsize"] == "true" and what not in found
        found[what] = Drawn(what, x, y - height / 2, height, a["fillcolor"], a["color"], label)
    _, centre = _point(dot.nodes[f"axis:{inst}"]["pos"])
    height = float(dot.nodes[f"axis:{inst}"]["height"]) * 72
    return found, (centre - height / 2, height)


def _overlapping_initrd_plan() -> Plan:
    """arm_plan with vm1's initrd moved down so that it ends 9 MiB past the DTB's start."""
    plan = arm_plan()
    vm = plan.vms[1]
    assert vm.initrd is not None and vm.dtb is not None and vm.dtb.guest is not None
    clash = replace(vm, initrd=replace(vm.initrd, guest=vm.dtb.guest - 0x1000000))
    return replace(plan, vms=(plan.vms[0], clash))


def test_memory_map_lists_each_window_and_marks_only_real_overlaps_red() -> None:
    plan = arm_plan()
    windows = regions(plan.vms[0], plan)
    kinds = [(w.kind, w.name) for w in windows]
    assert kinds == [
        ("untyped_mmio", "gicv"),
        ("mmio", "uart"),
        ("ram", "ram"),
        ("kernel", "linux"),
        ("initrd", "linux-initrd"),
        ("dtb", "linux-dtb"),
        ("crossvm", "crossvm_dp_0"),
    ]
    assert conflicts(windows) == []  # images inside RAM, dataport in its own window
    text = memory_dot(plan)
    assert "#ff6b6b" not in text and "conflict:" not in text and '"red"' not in text


@pytest.mark.parametrize("inst", ["vm0", "vm1"])
def test_memory_map_is_drawn_to_scale(inst: str) -> None:
    """Every bar's bottom and height are its start and size on a linear axis from the VM's
    lowest to its highest address, AXIS_PT tall; only windows too small to see are
    stretched to MIN_PT, from their true start."""
    plan = arm_plan()
    vm = next(v for v in plan.vms if v.instance == inst)
    windows = regions(vm, plan)
    lo, hi = min(w.start for w in windows), max(w.end for w in windows)
    dot = parse_dot(memory_dot(plan))
    drawn, (axis_bottom, axis_height) = _map(dot, inst)
    assert axis_height == pytest.approx(AXIS_PT, abs=0.01)
    assert set(drawn) == {w.what for w in windows}
    per_byte = AXIS_PT / (hi - lo)
    for w in windows:
        bar = drawn[w.what]
        assert bar.bottom - axis_bottom == pytest.approx((w.start - lo) * per_byte, abs=0.02)
        assert bar.height == pytest.approx(max(w.size * per_byte, MIN_PT), abs=0.02)
        assert f"[{w.start:#x}, {w.end:#x})" in bar.label.split("\n")
    if inst == "vm1":  # RAM fills the axis; the kernel is an eighth of it, 16 of 128 MiB
        assert drawn["ram"].height == pytest.approx(AXIS_PT, abs=0.01)
        assert drawn["kernel: linux"].height == pytest.approx(AXIS_PT / 8, abs=0.01)
        assert drawn["dtb: linux-dtb"].height == pytest.approx(MIN_PT, abs=0.01)  # 64 KiB
        assert drawn["dtb: linux-dtb"].label == "dtb: linux-dtb\n[0x4f000000, 0x4f010000)\n64 KiB"
    ticks = [a for n, a in dot.nodes.items() if n.startswith(f"tick:{inst}:")]
    assert len(ticks) >= 3
    assert int(ticks[0]["label"], 16) == lo and int(ticks[-1]["label"], 16) == hi
    for t in ticks:
        assert re.fullmatch(r"0x[0-9a-f]{8}", t["label"])
        y = _point(t["pos"])[1]
        assert y - axis_bottom == pytest.approx((int(t["label"], 16) - lo) * per_byte, abs=0.02)


def test_windows_that_share_addresses_get_their_own_lanes() -> None:
    plan = arm_plan()
    drawn, _ = _map(parse_dot(memory_dot(plan)), "vm1")
    ram = drawn["ram"].x
    images = {drawn[k].x for k in ("kernel: linux", "initrd: linux-initrd", "dtb: linux-dtb")}
    assert len(images) == 1 and images != {ram}  # one lane beside RAM: they do not overlap
    lanes0 = {d.x for d in _map(parse_dot(memory_dot(plan)), "vm0")[0].values()}
    assert len(lanes0) == 2  # uart and gicv are far apart: one lane with RAM


def _with_windows(*extra: Region, kernel_at: int | None = None) -> tuple[Plan, VmPlan]:
    plan = arm_plan()
    vm = replace(plan.vms[0], mmios=plan.vms[0].mmios + extra)
    if kernel_at is not None:
        vm = replace(vm, kernel=replace(vm.kernel, guest=kernel_at, size=None))
    return replace(plan, vms=(vm, plan.vms[1])), vm


def test_device_windows_that_clash_are_red_and_nested_ones_are_not() -> None:
    plan, vm = _with_windows(
        Region("mmio", "bridge", 0x100000, guest=0x10000000, paddr=0x10000000),
        Region("mmio", "bar", 0x1000, guest=0x10040000, paddr=0x10040000),
        Region("mmio", "half", 0x2000, guest=0x100FF000, paddr=0x100FF000),
        Region("mmio", "in_ram", 0x1000, guest=0x47FFF800, paddr=0x1000),
    )
    pairs = [(a.name, b.name) for a, b in conflicts(regions(vm, plan))]
    assert pairs == [("bridge", "half"), ("ram", "in_ram")]
    drawn, _ = _map(parse_dot(memory_dot(plan)), "vm0")
    red = sorted(d.what for d in drawn.values() if d.fill == "#ff6b6b")
    assert red == ["mmio: bridge", "mmio: half", "mmio: in_ram", "ram"]
    assert all(drawn[w].colour == "red" for w in red)
    assert drawn["mmio: bar"].fill == "#e0e0e0" and drawn["mmio: bar"].colour == "black"
    assert drawn["mmio: bar"].x != drawn["mmio: bridge"].x != drawn["mmio: half"].x
    assert drawn["mmio: bridge"].label.endswith("\noverlaps mmio: half")
    assert drawn["ram"].label.endswith("\noverlaps mmio: in_ram")


def test_an_image_of_unknown_size_is_a_marker_at_its_start() -> None:
    plan, vm = _with_windows(kernel_at=0x60000000)
    assert [(a.name, b.name) for a, b in conflicts(regions(vm, plan))] == [("linux", "linux")]
    dot = parse_dot(memory_dot(plan))
    assert dot.nodes["conflict:vm0:0"]["label"] == "vm0: linux is outside RAM"
    drawn, (bottom, height) = _map(dot, "vm0")
    kernel = drawn["kernel: linux"]
    assert kernel.height == pytest.approx(MARKER_PT, abs=0.01)
    assert kernel.bottom == pytest.approx(bottom + height, abs=0.01)  # the highest address drawn
    assert kernel.label == "kernel: linux\nat 0x60000000\nsize unknown\noutside RAM"
    assert kernel.fill == "#ff6b6b"
    plan = arm_plan()
    vm = replace(plan.vms[1], dtb=replace(plan.vms[1].dtb, size=None))  # type: ignore[arg-type]
    drawn, (bottom, _) = _map(parse_dot(memory_dot(replace(plan, vms=(vm,)))), "vm1")
    dtb = drawn["dtb: linux-dtb"]  # a DTB of unknown size takes the 2 MiB the rules allow it
    assert dtb.bottom - bottom == pytest.approx(AXIS_PT * 0x7000000 / 0x8000000, abs=0.01)
    assert dtb.height == pytest.approx(AXIS_PT * 0x200000 / 0x8000000, abs=0.01)
    assert dtb.fill != "#ff6b6b"
    assert dtb.label == "dtb: linux-dtb\n[0x4f000000, 0x4f200000)\n2 MiB (the most a DTB may be)"
    vm = replace(plan.vms[1], initrd=replace(plan.vms[1].initrd, size=None, max_size=0x800000))  # type: ignore[arg-type]
    drawn, _ = _map(parse_dot(memory_dot(replace(plan, vms=(vm,)))), "vm1")
    assert drawn["initrd: linux-initrd"].label.endswith("\n8 MiB (max_size)")


def test_overlapping_initrd_and_dtb_are_red_in_separate_lanes_naming_each_other() -> None:
    plan = _overlapping_initrd_plan()
    clash = plan.vms[1]
    pairs = [(a.name, b.name) for a, b in conflicts(regions(clash, plan))]
    assert pairs == [("linux-initrd", "linux-dtb")]
    dot = parse_dot(memory_dot(plan))
    drawn, (bottom, _) = _map(dot, "vm1")
    initrd, dtb = drawn["initrd: linux-initrd"], drawn["dtb: linux-dtb"]
    assert {d.what for d in drawn.values() if d.fill == "#ff6b6b"} == {initrd.what, dtb.what}
    assert initrd.colour == dtb.colour == "red"
    assert len({initrd.x, dtb.x, drawn["ram"].x}) == 3
    # both still at their true places: the DTB's bottom lies inside the initrd's bar
    assert initrd.bottom < dtb.bottom < initrd.bottom + initrd.height
    assert initrd.bottom - bottom == pytest.approx(AXIS_PT * 0x6000000 / 0x8000000, abs=0.01)
    assert initrd.height == pytest.approx(AXIS_PT * 0x1900000 / 0x8000000, abs=0.01)
    assert initrd.label.endswith("\noverlaps dtb: linux-dtb")
    assert dtb.label.endswith("\noverlaps initrd: linux-initrd")
    assert "[0x4e000000, 0x4f900000)" in initrd.label
    red_edges = [(t, h) for t, h, a in dot.edges if a.get("color") == "red"]
    assert len(red_edges) == 2
    assert dot.nodes["conflict:vm1:0"]["label"] == "vm1: linux-initrd overlaps linux-dtb"


def test_labels_beside_the_bars_never_overlap() -> None:
    plan, _ = _with_windows(
        *(Region("mmio", f"dev{i}", 0x1000, guest=0x9100000 + i * 0x1000) for i in range(12))
    )
    dot = parse_dot(memory_dot(plan))
    spans = []
    for node, a in dot.nodes.items():
        if node.startswith("label:vm0:"):
            y = _point(a["pos"])[1]
            half = (_text(a["label"]).count("\n") + 1) * 11 / 2
            spans.append((y - half, y + half))
    spans.sort()
    assert len(spans) == 7 + 12
    assert all(low[1] <= high[0] for low, high in itertools.pairwise(spans))


# ---------------------------------------------------------------- rendering and the command


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_svg_is_rendered_by_graphviz() -> None:
    svg = render(system_dot(arm_plan()), "svg").decode("utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "two_guests: qemu&#45;arm&#45;virt (aarch64), 2 cores</text>" in svg
    clash, _ = _with_windows(Region("mmio", "in_ram", 0x1000, guest=0x40000000, paddr=0x1000))
    mem = render(memory_dot(clash), "svg").decode("utf-8")
    assert "<svg" in mem and 'fill="#ff6b6b"' in mem and "vm0: in_ram overlaps ram" in mem


def _svg_boxes(svg: str) -> dict[str, tuple[float, float, float, float, str]]:
    """Each node's first polygon in Graphviz SVG: left, bottom, width, height (points, y up),
    and its fill and stroke."""
    found = {}
    for m in re.finditer(r'class="node">\s*<title>([^<]*)</title>(.*?)</g>', svg, re.S):
        poly = re.search(r'<polygon fill="([^"]*)" stroke="([^"]*)"[^>]* points="([^"]*)"', m[2])
        if poly is None:
            continue
        xy = [tuple(float(v) for v in p.split(",")) for p in poly[3].split()]
        xs, ys = [x for x, _ in xy], [-y for _, y in xy]
        left, bottom = min(xs), min(ys)
        box = (left, bottom, max(xs) - left, max(ys) - bottom, f"{poly[1]} {poly[2]}")
        found[html.unescape(m[1])] = box
    return found


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_rendered_memory_map_keeps_the_scale_and_shows_the_overlap_in_red() -> None:
    plan = _overlapping_initrd_plan()
    text = memory_dot(plan)
    dot = parse_dot(text)
    which = {
        a["tooltip"].split("\n")[0]: n for n, a in dot.nodes.items() if n.startswith("region:vm1:")
    }
    svg = render(text, "svg").decode("utf-8")
    boxes = _svg_boxes(svg)
    axis = boxes["axis:vm1"]
    ram, kernel = boxes[which["ram"]], boxes[which["kernel: linux"]]
    initrd, dtb = boxes[which["initrd: linux-initrd"]], boxes[which["dtb: linux-dtb"]]
    assert axis[3] == pytest.approx(AXIS_PT, abs=1) and ram[3] == pytest.approx(AXIS_PT, abs=1)
    assert ram[1] == pytest.approx(axis[1], abs=1)
    assert kernel[3] == pytest.approx(AXIS_PT / 8, abs=1)  # 16 of 128 MiB
    assert kernel[1] - axis[1] == pytest.approx(AXIS_PT * 0x80000 / 0x8000000, abs=1)
    assert initrd[1] - axis[1] == pytest.approx(AXIS_PT * 0x6000000 / 0x8000000, abs=1)
    assert dtb[1] - axis[1] == pytest.approx(AXIS_PT * 0x7000000 / 0x8000000, abs=1)
    assert initrd[4] == dtb[4] == "#ff6b6b red"
    assert kernel[4] == "#c6dbef black"
    assert len({ram[0], initrd[0], dtb[0]}) == 3  # three lanes, nothing hidden
    red = [b for b in boxes.values() if b[4].startswith("#ff6b6b")]
    assert len(red) == 2
    assert 'fill="red">overlaps dtb: linux&#45;dtb</text>' in svg
    assert 'fill="red">overlaps initrd: linux&#45;initrd</text>' in svg
    assert 'fill="red">vm1: linux&#45;initrd overlaps linux&#45;dtb</text>' in svg


def _plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(arm_plan().to_json(), encoding="utf-8")
    return path


def test_command_writes_dot_from_a_generated_apps_plan(tmp_path: Path) -> None:
    _plan_file(tmp_path)
    out = tmp_path / "system.dot"
    result = CliRunner().invoke(cli, ["graph", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == system_dot(arm_plan())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_command_writes_svg_and_png(tmp_path: Path) -> None:
    plan = _plan_file(tmp_path)
    for name, magic in (("s.svg", b"<?xml"), ("s.png", b"\x89PNG")):
        result = CliRunner().invoke(cli, ["graph", str(plan), "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_bytes().startswith(magic)


def test_command_makes_missing_folders_of_the_output(tmp_path: Path) -> None:
    plan = _plan_file(tmp_path)
    out = tmp_path / "gr" / "deeper" / "x.dot"
    result = CliRunner().invoke(cli, ["graph", str(plan), "-o", str(out), "--memory"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == memory_dot(arm_plan())
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["graph", str(plan), "-o", str(blocked / "x.dot")])
    assert result.exit_code == 2
    assert f"cannot write {blocked / 'x.dot'}" in result.output


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_command_draws_an_overlap_red_in_svg(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(_overlapping_initrd_plan().to_json(), encoding="utf-8")
    out = tmp_path / "pictures" / "memory.svg"
    result = CliRunner().invoke(cli, ["graph", str(plan), "--memory", "-o", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text(encoding="utf-8")
    assert len(re.findall(r'<polygon fill="#ff6b6b" stroke="red"', svg)) == 2
    assert "overlaps dtb: linux&#45;dtb" in svg and "overlaps initrd: linux&#45;initrd" in svg


def test_command_help_says_the_memory_map_is_to_scale() -> None:
    result = CliRunner().invoke(cli, ["graph", "--help"])
    assert result.exit_code == 0
    assert "to scale, overlaps in red" in " ".join(result.output.split())


def test_command_without_graphviz_says_so_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan_file(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(cli, ["graph", str(plan), "-o", str(tmp_path / "s.svg")])
    assert result.exit_code == 2
    assert "needs the Graphviz `dot` program, which is not installed" in result.output
    assert not (tmp_path / "s.svg").exists()


def test_command_refuses_an_unknown_suffix(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["graph", str(_plan_file(tmp_path)), "-o", "x.jpg"])
    assert result.exit_code == 2
    assert "cannot tell the format of 'x.jpg'" in result.output


def test_command_on_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["graph", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "file not found" in result.output


def test_dot_program_accepts_our_output_where_installed() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed")
    done = subprocess.run(
        ["dot", "-Tcanon"], input=memory_dot(arm_plan()).encode(), capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_ram_backing_untypeds_and_the_gicv_frame_are_not_conflicts() -> None:
    plan = arm_plan()
    vm = plan.vms[0]
    backing = (
        Region("untyped_mmio", "ram", 0x4000000, guest=0x40000000, paddr=0x40000000),
        Region("untyped_mmio", "ram", 0x4000000, guest=0x44000000, paddr=0x44000000),
    )
    gicc = Region("gic_cpu", "gicc", 0x1000, guest=0x8010000, paddr=0x8010000)
    vm = replace(vm, untyped_mmios=vm.untyped_mmios + backing, devices=(gicc,), dataports=())
    plan = replace(plan, vms=(vm, plan.vms[1]))
    windows = regions(vm, plan)
    assert [(w.kind, w.name) for w in windows][:2] == [
        ("gic_cpu", "gicc = untyped_mmio gicv"),
        ("mmio", "uart"),
    ]
    assert conflicts(windows) == []
    dot = parse_dot(system_dot(plan))
    devices = sorted(n for n in dot.nodes if n.startswith("device:vm0:"))
    assert devices == ["device:vm0:/pl011@9000000", "device:vm0:gicv", "device:vm0:uart"]


def test_a_device_tree_path_listed_twice_is_one_device() -> None:
    plan = arm_plan()
    vm = replace(plan.vms[0], dtb_nodes=("/pl011@9000000", "/pl011@9000000"))
    dot = parse_dot(system_dot(replace(plan, vms=(vm, plan.vms[1]))))
    assert [n for n in dot.nodes if "pl011" in n] == ["device:vm0:/pl011@9000000"]


def test_many_device_tree_paths_are_one_table_joined_to_their_irqs() -> None:
    plan = arm_plan()
    paths = tuple(f"/soc/dev@{n:x}000" for n in range(10, 17))  # seven
    vm = replace(plan.vms[0], dtb_nodes=paths)
    routes = (*plan.irq_routes, IrqRoute("vm0", 70, 70, "level", "passthrough", paths[3]))
    dot = parse_dot(system_dot(replace(plan, vms=(vm, plan.vms[1]), irq_routes=routes)))
    assert not [n for n in dot.nodes if n.startswith("device:vm0:/soc")]
    table = dot.nodes["device:vm0:dtb"]
    assert dot.cluster_of["device:vm0:dtb"] == "cluster_vm0"
    assert re.findall(r'<TD ALIGN="LEFT">([^<]*)</TD>', table["label"]) == list(paths)
    assert "<B>dtb: 7 nodes</B>" in table["label"]
    assert ("device:vm0:dtb", "irq:70") in {(t, h) for t, h, _ in dot.edges}
    assert dot.nodes["irq:70"]["label"] == "IRQ 70\nlevel"


def test_devices_with_one_name_get_distinct_nodes() -> None:
    plan = arm_plan()
    twins = (
        Region("mmio", "bank", 0x1000, guest=0x9100000, paddr=0x9100000),
        Region("mmio", "bank", 0x1000, guest=0x9200000, paddr=0x9200000),
    )
    vm = replace(plan.vms[0], mmios=twins)
    dot = parse_dot(system_dot(replace(plan, vms=(vm, plan.vms[1]))))
    assert dot.nodes["device:vm0:bank"]["label"] == "bank\nmmio 0x9100000, 4 KiB"
    assert dot.nodes["device:vm0:bank@0x9200000"]["label"] == "bank\nmmio 0x9200000, 4 KiB"


# ---------------------------------------------------------------- from a system file


def _resolved(path: Path) -> Plan:
    from sel4vmgen.app.check import check_file
    from sel4vmgen.plan import resolve_all

    checked = check_file(path)
    assert checked.ok and checked.loaded is not None
    return resolve_all(checked.loaded)[0]


@pytest.mark.parametrize("platform", ["pc99", "tx2", "tk1", "exynos5422"])
def test_command_draws_a_system_file_as_its_plan(platform: str, tmp_path: Path) -> None:
    args = ["new-guest", "guest", "--no-input", "--set", f"platform={platform}", "-o"]
    assert CliRunner().invoke(cli, [*args, str(tmp_path)]).exit_code == 0
    system = tmp_path / "guest" / "system.yaml"
    plan = _resolved(system)
    out = tmp_path / "system.dot"
    result = CliRunner().invoke(cli, ["graph", str(system), "-o", str(out)])
    assert result.exit_code == 0, result.output
    dot = parse_dot(out.read_text(encoding="utf-8"))
    assert {f"thread:{t.name}" for t in plan.threads} <= set(dot.nodes)
    assert {f"vm:{v.instance}" for v in plan.vms} <= set(dot.nodes)
    routes = sorted(
        (
            r.vm,
            f"irq:{r.source}" if r.source >= 0 and r.kind != "vtimer" else f"virq:{r.vm}:{r.virq}",
        )
        for r in plan.irq_routes
    )
    drawn = sorted((h[3:], t) for t, h, _ in dot.edges if t.startswith(("irq:", "virq:")))
    assert drawn == routes
    for t in plan.threads:
        assert f"priority {t.priority}" in dot.nodes[f"thread:{t.name}"]["label"]
    mem = CliRunner().invoke(cli, ["graph", str(system), "--memory"])
    assert mem.exit_code == 0
    memory = parse_dot(mem.stdout)
    assert not [n for n in memory.nodes if n.startswith("conflict:")]
    assert mem.stdout == memory_dot(plan)


def test_command_reports_a_bad_system_file_like_validate(tmp_path: Path) -> None:
    bad = tmp_path / "system.yaml"
    bad.write_text("name: 9x\narch: arm\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["graph", str(bad), "-o", str(tmp_path / "x.dot")])
    check = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == check.exit_code == 1
    assert check.stderr.startswith(result.stderr)
    assert not (tmp_path / "x.dot").exists()


def test_command_refuses_a_platform_the_system_is_not_for(tmp_path: Path) -> None:
    system = Path(__file__).resolve().parent.parent / "examples" / "minimal.yaml"
    result = CliRunner().invoke(cli, ["graph", str(system), "--platform", "tx2"])
    assert result.exit_code == 2
    assert "is not for platform 'tx2' (pc99)" in result.output


def test_command_picks_one_plan_of_an_app_for_several_platforms(tmp_path: Path) -> None:
    for plan in (arm_plan(), x86_plan()):
        (tmp_path / plan.platform).mkdir()
        (tmp_path / plan.platform / "plan.json").write_text(plan.to_json(), encoding="utf-8")
    runner = CliRunner()
    unsure = runner.invoke(cli, ["graph", str(tmp_path)])
    assert unsure.exit_code == 2
    assert "holds plans for ia32, qemu-arm-virt: choose one with --platform" in unsure.output
    pc99 = runner.invoke(cli, ["graph", str(tmp_path), "--platform", "pc99"])
    assert pc99.exit_code == 0 and pc99.stdout == system_dot(x86_plan())
    arm = runner.invoke(cli, ["graph", str(tmp_path), "--platform", "qemu-arm-virt"])
    assert arm.exit_code == 0 and arm.stdout == system_dot(arm_plan())
    other = runner.invoke(cli, ["graph", str(tmp_path), "--platform", "tx2"])
    assert other.exit_code == 2
    assert "has no plan for platform 'tx2' (ia32, qemu-arm-virt)" in other.output


def test_command_refuses_a_json_file_that_is_not_a_plan(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"format": 99}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["graph", str(bad)])
    assert result.exit_code == 2
    assert f"corrupt plan: plan format 99 is not {PLAN_FORMAT}" in result.output


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r")))
def test_any_name_survives_quoting(text: str) -> None:
    g = Graph("g")
    g.node(text, label=text)
    assert parse_dot(g.text()).nodes[text]["label"] == text


EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_draw_with_no_false_overlap(example: Path) -> None:
    from sel4vmgen.app.check import check_file
    from sel4vmgen.plan import resolve_all

    checked = check_file(example)
    assert checked.loaded is not None
    for plan in resolve_all(checked.loaded):
        for vm in plan.vms:
            assert conflicts(regions(vm, plan)) == [], (plan.platform, vm.instance)
        parse_dot(system_dot(plan))
        parse_dot(memory_dot(plan))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_no_label_is_repeated_within_a_vm_or_among_the_lines(example: Path) -> None:
    """Each VM's cluster names each of its nodes differently, and no two lines carry the same
    words (what every line of a kind would say is in the legend instead)."""
    from sel4vmgen.app.check import check_file
    from sel4vmgen.plan import resolve_all

    checked = check_file(example)
    assert checked.loaded is not None
    for plan in resolve_all(checked.loaded):
        dot = parse_dot(system_dot(plan))
        seen: set[tuple[str, str]] = set()
        for node, attrs in dot.nodes.items():
            key = (dot.cluster_of.get(node, ""), attrs.get("label", ""))
            assert key not in seen, (plan.platform, key)
            seen.add(key)
        lines = [a["label"] for _, _, a in dot.edges if "label" in a]
        assert len(lines) == len(set(lines)), plan.platform
        assert "passthrough" not in lines and not any("(default)" in a.get("label", "")
                                                      for a in dot.nodes.values())  # fmt: skip


# ---------------------------------------------------------------- x86 memory maps


def test_an_x86_map_shows_the_layout_the_vmm_makes_and_where_guest_ram_lands() -> None:
    """camkes-vm's Init component registers RAM below the EBDA, backs the BIOS areas and
    allocates `guest_ram_mb` from 0x10003000 up, in 512 MiB chunks."""
    plan = x86_plan()
    windows = [(w.kind, w.name, w.start, w.end) for w in regions(plan.vms[0], plan)]
    assert windows == [
        ("ram", "low RAM", 0x500, 0x80000),
        ("ram", "low RAM to EBDA", 0x80000, 0x9FC00),
        ("reserved", "video BIOS", 0xC0000, 0xC8000),
        ("reserved", "mapped hardware and misc", 0xC8000, 0xE0000),
        ("reserved", "DMI", 0xF0000, 0x100000),
        ("ram", "guest RAM", 0x10003000, 0x18003000),
        ("area", "anonymous RAM area", 0x10003000, 0xA0000000),
    ]
    assert conflicts(regions(plan.vms[0], plan)) == []
    dot = parse_dot(memory_dot(plan))
    assert "no fixed guest addresses" not in {a.get("label") for a in dot.nodes.values()}
    drawn, _ = _map(dot, "vm0")
    assert drawn["ram: guest RAM"].label == "ram: guest RAM\n[0x10003000, 0x18003000)\n128 MiB"


def test_x86_guest_ram_beyond_the_vmms_area_is_red() -> None:
    plan = x86_plan()
    vm = replace(plan.vms[0], ram=Region("ram", "ram", 3 << 30))
    plan = replace(plan, vms=(vm,))
    ram = [(w.name, w.start, w.size) for w in regions(vm, plan) if w.name.startswith("guest")]
    assert ram == [
        ("guest RAM 1", 0x10003000, 512 << 20),
        ("guest RAM 2", 0x30003000, 512 << 20),
        ("guest RAM 3", 0x50003000, 512 << 20),
        ("guest RAM 4", 0x70003000, 512 << 20),
        ("guest RAM not allocated", 0x90003000, 1 << 30),  # only 0x0fffd000 are left
    ]
    pairs = [(a.name, b.name) for a, b in conflicts(regions(vm, plan))]
    assert pairs == [("anonymous RAM area", "guest RAM not allocated")]
    drawn, _ = _map(parse_dot(memory_dot(plan)), "vm0")
    assert drawn["ram: guest RAM not allocated"].fill == "#ff6b6b"
    assert drawn["ram: guest RAM 4"].fill == "#cfe8cf"


# ---------------------------------------------------------------- drawing a system that fails


BAD_AT_CHECK = Path(__file__).resolve().parent / "fixtures" / "bad-at-check"


def test_memory_map_of_a_system_that_fails_its_check_is_drawn_then_exit_1(tmp_path: Path) -> None:
    system = BAD_AT_CHECK / "initrd_overlaps_dtb.yaml"
    out = tmp_path / "memory.dot"
    result = CliRunner().invoke(cli, ["graph", str(system), "--memory", "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"{system}:16:16: error[E220]: vm0 DTB 0x4f000000-0x4f200000 overlaps its initrd "
        "0x4e000000-0x4f800000 (line 13)\n"
    )
    assert result.stderr.endswith("the memory map was drawn from a system with the errors above\n")
    drawn, _ = _map(parse_dot(out.read_text(encoding="utf-8")), "vm0")
    red = sorted(d.what for d in drawn.values() if d.fill == "#ff6b6b")
    assert red == ["dtb", "initrd: linux-initrd"]
    assert drawn["initrd: linux-initrd"].label.endswith("\noverlaps dtb")
    system_picture = CliRunner().invoke(cli, ["graph", str(system), "-o", str(tmp_path / "s.dot")])
    assert system_picture.exit_code == 1 and not (tmp_path / "s.dot").exists()


def test_a_failing_system_that_cannot_be_laid_out_is_reported_not_drawn(tmp_path: Path) -> None:
    system = BAD_AT_CHECK / "cross_vm_unknown_vm.yaml"
    out = tmp_path / "memory.dot"
    result = CliRunner().invoke(cli, ["graph", str(system), "--memory", "-o", str(out)])
    check = CliRunner().invoke(cli, ["validate", str(system)])
    assert result.exit_code == check.exit_code == 1
    assert result.stderr and check.stderr.startswith(result.stderr) and not out.exists()


# ---------------------------------------------------------------- image sizes from the files


def _arm64_image(path: Path, file_size: int, image_size: int) -> None:
    """A file with an arm64 Image header (booting.rst): image_size at 16, magic at 56."""
    head = bytearray(64)
    head[16:24] = image_size.to_bytes(8, "little")
    head[56:60] = b"ARM\x64"
    path.write_bytes(bytes(head) + bytes(file_size - 64))


def test_kernel_initrd_and_dtb_sizes_are_read_from_files_that_exist(tmp_path: Path) -> None:
    _arm64_image(tmp_path / "Image", 0x3000, 0x2400000)  # 36 MiB once loaded (BSS)
    (tmp_path / "rootfs.cpio").write_bytes(bytes(0x5000))
    (tmp_path / "guest.dtb").write_bytes(bytes(0x1800))
    (tmp_path / "system.yaml").write_text(
        "name: sized\narch: arm\nsel4_arch: aarch64\nplatform: qemu-arm-virt\nvms:\n"
        "  - name: vm0\n    ram: {base: 0x40000000, size: 512MiB}\n"
        "    kernel: {image: Image}\n"
        "    initrd: {image: rootfs.cpio, address: 0x4e000000}\n"
        "    dtb: {mode: provide, file: guest.dtb, address: 0x4f000000}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["graph", str(tmp_path / "system.yaml"), "--memory"])
    assert result.exit_code == 0, result.output
    drawn, _ = _map(parse_dot(result.stdout), "vm0")
    sizes = {
        w: d.label.split("\n")[1:3] for w, d in drawn.items() if w.split(":")[0] in IMAGE_ROLES
    }
    assert sizes == {
        "kernel: linux": ["[0x40080000, 0x42480000)", "36 MiB"],
        "initrd: linux-initrd": ["[0x4e000000, 0x4e005000)", "20 KiB"],
        "dtb: linux-dtb": ["[0x4f000000, 0x4f001800)", "6 KiB"],
    }


IMAGE_ROLES = ("kernel", "initrd", "dtb")


def test_an_image_that_is_a_plain_file_takes_its_length(tmp_path: Path) -> None:
    from sel4vmgen.graph.sizes import image_size

    (tmp_path / "zImage").write_bytes(b"\x00" * 0x4321)
    assert image_size(tmp_path / "zImage", "kernel") == 0x4321
    _arm64_image(tmp_path / "old", 0x2000, 0)  # before Linux 3.17 image_size was 0
    assert image_size(tmp_path / "old", "kernel") == 0x2000
    assert image_size(tmp_path / "missing", "kernel") is None


@pytest.mark.parametrize(
    ("size", "label"),
    [(512 << 20, "512 MiB"), (0x1800, "6 KiB"), (0x2010000, "about 32.1 MiB"),
     (0xF564B, "about 981.6 KiB"), (0x2F0, "752 B"), (0x7FB00, "about 510.8 KiB")],
)  # fmt: skip
def test_sizes_are_labelled_in_a_unit_a_reader_takes_in(size: int, label: str) -> None:
    from sel4vmgen.graph.memory import size_label

    assert size_label(size) == label


def _leader_lines(dot: Dot) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Each bar-to-label line as drawn: from the bar's right edge to the label's left edge."""
    out = []
    for tail, head, _ in dot.edges:
        if not tail.startswith("region:"):
            continue
        bar, label = dot.nodes[tail], dot.nodes[head]
        (bx, by), (lx, ly) = _point(bar["pos"]), _point(label["pos"])
        width = re.search(r'WIDTH="(\d+)"', label["label"])
        assert width is not None
        out.append(((bx + float(bar["width"]) * 36, by), (lx - float(width[1]) / 2, ly)))
    return out


def _cross(a: tuple[tuple[float, float], ...], b: tuple[tuple[float, float], ...]) -> bool:
    """Whether two segments cross at a point inside both (touching ends do not count)."""

    def side(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    (p1, p2), (p3, p4) = a, b
    d1, d2 = side(p3, p4, p1), side(p3, p4, p2)
    d3, d4 = side(p1, p2, p3), side(p1, p2, p4)
    return d1 * d2 < 0 and d3 * d4 < 0


@pytest.mark.parametrize(
    "source", [*EXAMPLES, BAD_AT_CHECK / "initrd_overlaps_dtb.yaml"], ids=lambda p: p.stem
)
def test_no_two_lines_from_bars_to_their_labels_cross(source: Path) -> None:
    """Bars too close to tell apart sit side by side; their labels are stacked so that the
    lines joining them do not cross, whether the labels were pushed above or below."""
    result = CliRunner().invoke(cli, ["graph", str(source), "--memory"])
    assert result.exit_code in (0, 1) and result.stdout
    lines = _leader_lines(parse_dot(result.stdout))
    crossing = [(a, b) for a, b in itertools.combinations(lines, 2) if _cross(a, b)]
    assert crossing == []


def test_no_lines_cross_on_an_x86_map() -> None:
    lines = _leader_lines(parse_dot(memory_dot(x86_plan())))
    assert len(lines) == 7
    assert not any(_cross(a, b) for a, b in itertools.combinations(lines, 2))
