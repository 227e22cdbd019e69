"""Each VM's guest-physical memory map, drawn to a log scale, overlaps in red.

`regions(vm, plan)` lists what occupies the guest's address space: RAM, the
kernel, DTB and initrd load windows, device windows and cross-VM dataports.
`conflicts(regions)` finds the pairs that must not share addresses: the boot
images (kernel, DTB, initrd) must lie inside RAM and apart from each other and
from every device window; a device window must not touch RAM; two device
windows may share addresses only when one holds the other (a BAR inside its
bridge's window, the GICV frame the guest sees as its GICC).
The picture is one HTML-like table per VM, highest address at the top; each
row's height grows with log2 of its size, so 4 KiB and 1 GiB both show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sel4vmgen.graph.dot import Graph, Html, esc
from sel4vmgen.graph.system import ram_backing, size_text
from sel4vmgen.plan.model import Image, Plan, VmPlan

IMAGES = frozenset({"kernel", "dtb", "initrd"})
KIND_COLOURS = {
    "ram": "#cfe8cf",
    "kernel": "#c6dbef",
    "dtb": "#dadaeb",
    "initrd": "#fdd0a2",
    "crossvm": "#fff3b0",
}
DEVICE_COLOUR = "#e0e0e0"
CONFLICT_COLOUR = "#ff6b6b"


@dataclass(frozen=True, order=True)
class Window:
    """A range of guest-physical addresses and what it holds; size 0 = size unknown."""

    start: int
    size: int
    kind: str
    name: str

    @property
    def end(self) -> int:
        return self.start + self.size

    def overlaps(self, other: Window) -> bool:
        return self.start < other.end and other.start < self.end

    def within(self, other: Window) -> bool:
        return other.start <= self.start and self.end <= other.end


def _image(img: Image | None) -> Window | None:
    if img is None or img.guest is None:
        return None
    size = img.size if img.size is not None else (img.max_size or 0)
    return Window(img.guest, size, img.role, img.fs_name or img.role)


def regions(vm: VmPlan, plan: Plan) -> list[Window]:
    """Every window in the VM's guest-physical space, sorted by address, duplicates dropped."""
    found: list[Window] = []
    if vm.ram.guest is not None:
        found.append(Window(vm.ram.guest, vm.ram.size, "ram", vm.ram.name or "RAM"))
    for w in (_image(vm.kernel), _image(vm.dtb), _image(vm.initrd)):
        if w is not None:
            found.append(w)
    for r in (*vm.devices, *vm.mmios, *vm.untyped_mmios):
        if r.guest is not None and r.kind != "ram" and not ram_backing(vm, r):
            found.append(Window(r.guest, r.size, r.kind, r.name))
    for d in vm.dataports:
        if d.guest is not None:
            found.append(Window(d.guest, d.size, "crossvm", d.name))
    return _merge_twins(found)


def _merge_twins(found: list[Window]) -> list[Window]:
    """One window per (start, size): the host GICV frame the guest sees as its GICC is one
    window, not two that overlap."""
    merged: dict[tuple[int, int], Window] = {}
    for w in found:
        twin = merged.get((w.start, w.size))
        if twin is None:
            merged[(w.start, w.size)] = w
        elif w.name != twin.name:
            merged[(w.start, w.size)] = Window(
                w.start, w.size, twin.kind, f"{twin.name} = {w.kind} {w.name}"
            )
    return sorted(merged.values())


def _clash(a: Window, b: Window) -> bool:
    """Whether two overlapping windows are a mistake."""
    ram, other = (a, b) if a.kind == "ram" else (b, a)
    if ram.kind == "ram":
        return not (other.kind in IMAGES and other.within(ram))
    if a.kind in IMAGES or b.kind in IMAGES:
        return True
    return not (a.within(b) or b.within(a))


def _touches(ram: Window, w: Window) -> bool:
    """Overlap, or for a window of unknown size, its start inside."""
    return ram.overlaps(w) if w.size else ram.start <= w.start < ram.end


def conflicts(windows: list[Window]) -> list[tuple[Window, Window]]:
    """Pairs of windows that wrongly share addresses, in address order; an image outside
    all RAM is paired with itself."""
    rams = [w for w in windows if w.kind == "ram"]
    out: list[tuple[Window, Window]] = []
    for i, a in enumerate(windows):
        for b in windows[i + 1 :]:
            if a.size and b.size and a.overlaps(b) and _clash(a, b):
                out.append((a, b))
    for w in windows:
        if w.kind in IMAGES and rams and not any(_touches(r, w) for r in rams):
            out.append((w, w))
    return out


def row_height(size: int) -> int:
    """Points: 16 for 4 KiB or less, 6 more per doubling."""
    if size <= 4096:
        return 16
    return 16 + 6 * (math.ceil(math.log2(size)) - 12)


def _row(w: Window, bad: bool) -> str:
    colour = CONFLICT_COLOUR if bad else KIND_COLOURS.get(w.kind, DEVICE_COLOUR)
    end = f"{w.end - 1:#x}" if w.size else "?"
    size = size_text(w.size) if w.size else "size unknown"
    return (
        f'<TR><TD ALIGN="RIGHT">{w.start:#x}<BR/>{end}</TD>'
        f'<TD BGCOLOR="{colour}" HEIGHT="{row_height(w.size)}" WIDTH="150">'
        f"{esc(w.kind)}: {esc(w.name)}</TD><TD>{esc(size)}</TD></TR>"
    )


def map_label(vm: VmPlan, plan: Plan) -> Html:
    """One VM's memory map as an HTML-like table, highest address first."""
    windows = regions(vm, plan)
    bad = {w for pair in conflicts(windows) for w in pair}
    head = (
        f'<TR><TD COLSPAN="3"><B>{esc(vm.name)} ({esc(vm.instance)})</B> '
        "guest-physical memory</TD></TR>"
    )
    rows = [_row(w, w in bad) for w in sorted(windows, key=lambda w: (-w.start, -w.size))]
    if not rows:
        rows = ['<TR><TD COLSPAN="3">no fixed guest addresses</TD></TR>']
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
    return Html(table + head + "".join(rows) + "</TABLE>")


def memory_graph(plan: Plan) -> Graph:
    """A picture with one memory-map table per VM; conflicting windows in red."""
    g = Graph(
        f"{plan.system}-memory",
        attrs={"label": f"{plan.system}: guest-physical memory", "labelloc": "t"},
        node_defaults={"shape": "plain", "fontname": "Helvetica", "fontsize": "10"},
    )
    for vm in plan.vms:
        g.node(f"memory:{vm.instance}", label=map_label(vm, plan))
    for vm in plan.vms:
        for n, (a, b) in enumerate(conflicts(regions(vm, plan))):
            what = f"{a.name} overlaps {b.name}" if a is not b else f"{a.name} is outside RAM"
            g.node(
                f"conflict:{vm.instance}:{n}",
                label=f"{vm.instance}: {what}",
                shape="box",
                color="red",
                fontcolor="red",
            )
    return g
