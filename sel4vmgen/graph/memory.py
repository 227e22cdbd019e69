"""Each VM's guest-physical memory map, drawn to scale, overlaps in red.

`regions(vm, plan)` lists what occupies the guest's address space: RAM, the
kernel, DTB and initrd load windows, device windows and cross-VM dataports.
`conflicts(regions)` finds the pairs that must not share addresses: the boot
images (kernel, DTB, initrd) must lie inside RAM and apart from each other and
from every device window; a device window must not touch RAM; two device
windows may share addresses only when one holds the other (a BAR inside its
bridge's window, the GICV frame the guest sees as its GICC).

The picture gives each VM a vertical address axis from its lowest to its
highest address (highest at the top, hex ticks) and draws every window as a
bar whose bottom and height are proportional to its start and size on that
axis.  Windows that share addresses, or lie too close to tell apart at that
scale, go in separate lanes side by side; conflicting ones are red and their
labels name each other.  A window smaller than `MIN_PT` is drawn `MIN_PT` tall
from its true start; one of unknown size is a thin marker at its start.  Each
bar's label ([start, end) and size) sits in a column to the right, joined to
the bar by a line.  Every node is pinned where it belongs (`pos="x,y!"`, in
points) and the graph asks for Graphviz's `neato` layout, which keeps pinned
nodes in place; `dot -Tsvg` obeys that too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sel4vmgen.facts import ARM64_DTB_MAX
from sel4vmgen.graph.dot import Graph, Html, esc
from sel4vmgen.graph.system import ram_backing, size_text
from sel4vmgen.plan.model import Image, Plan, VmPlan

IMAGES = frozenset({"kernel", "dtb", "initrd"})
AREA = "area"  # a range the VMM allocates from: what lies wholly inside it is fine
KIND_COLOURS = {
    AREA: "#f4f4f4",
    "reserved": "#d9d9d9",
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
    room: str = ""  # where a size not read from a file comes from ("" = it was read)

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def what(self) -> str:
        """Its kind and name, the name left out when it only repeats the kind."""
        return self.kind if self.name in ("", self.kind) else f"{self.kind}: {self.name}"

    def overlaps(self, other: Window) -> bool:
        return self.start < other.end and other.start < self.end

    def within(self, other: Window) -> bool:
        return other.start <= self.start and self.end <= other.end


def _image(img: Image | None) -> Window | None:
    """An image's load window: its file's size, else the room the layout leaves it (an
    initrd's `max_size`; for a DTB the most arm64 allows, as the placement rules assume)."""
    if img is None or img.guest is None:
        return None
    name = img.fs_name or img.role
    if img.size is not None:
        return Window(img.guest, img.size, img.role, name)
    if img.max_size:
        return Window(img.guest, img.max_size, img.role, name, "max_size")
    if img.role == "dtb":
        return Window(img.guest, ARM64_DTB_MAX, img.role, name, "the most a DTB may be")
    return Window(img.guest, 0, img.role, name)


# What camkes-vm's x86 VMM lays out in every guest (seL4/camkes-vm components/Init/src/main.c):
# `guest_ram_regions`, RAM below the EBDA registered at fixed addresses;
X86_LOW_RAM = (("low RAM", 0x500, 0x80000 - 0x500), ("low RAM to EBDA", 0x80000, 0x9FC00 - 0x80000))
# `guest_fake_devices`, reserved and backed by frames so the guest's probes find memory;
X86_FAKE_DEVICES = (
    ("video BIOS", 0xC0000, 0xC8000 - 0xC0000),
    ("mapped hardware and misc", 0xC8000, 0xE0000 - 0xC8000),
    ("DMI", 0xF0000, 0x10000),
)
# `free_anonymous_regions`, the one range guest RAM (`guest_ram_mb`) is allocated from, first
# fit and page aligned, in chunks of at most 512 MiB (vm_ram_register in a loop).
X86_ANON = ("anonymous RAM area", 0x10003000, 0xA0000000 - 0x10003000)
X86_RAM_CHUNK = 512 << 20


def x86_windows(vm: VmPlan) -> list[Window]:
    """The x86 VMM's fixed layout and where the guest's RAM lands in it.  RAM that does not
    fit is drawn from where the VMM would next allocate, past the area's end: the VMM stops
    there ("Failed to allocate ... bytes of guest ram")."""
    found = [Window(start, size, "ram", name) for name, start, size in X86_LOW_RAM]
    found += [Window(start, size, "reserved", name) for name, start, size in X86_FAKE_DEVICES]
    name, area, area_size = X86_ANON
    found.append(Window(area, area_size, AREA, name))
    chunks = -(-vm.ram.size // X86_RAM_CHUNK)
    at, left = area, vm.ram.size
    for n in range(chunks):
        size = min(left, X86_RAM_CHUNK)
        if at + size > area + area_size:
            found.append(Window(at, left, "ram", "guest RAM not allocated"))
            break
        found.append(Window(at, size, "ram", "guest RAM" if chunks == 1 else f"guest RAM {n + 1}"))
        at, left = at + size, left - size
    return found


def _camkes_x86(vm: VmPlan, plan: Plan) -> bool:
    """A CAmkES x86 guest: its VMM places the RAM, the plan holds only its size."""
    return plan.arch == "x86" and plan.framework == "camkes" and vm.ram.guest is None


def regions(vm: VmPlan, plan: Plan) -> list[Window]:
    """Every window in the VM's guest-physical space, sorted by address, duplicates dropped."""
    found: list[Window] = x86_windows(vm) if _camkes_x86(vm, plan) else []
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
    if AREA in (a.kind, b.kind):
        return not (a.within(b) or b.within(a))
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


# Geometry, in points (1/72 in).
AXIS_PT = 576.0  # the height of every VM's address axis
MIN_PT = 4.0  # the least height a window with a size is drawn
MARKER_PT = 2.0  # the height of the marker for a window of unknown size
LANE_PT = 96.0  # the width of a lane
LANE_GAP = 4.0
TICK_PT = 84.0  # room for the tick labels left of the axis
LINE_PT = 11.0  # one line of a label at FONT_PT
CHAR_PT = 5.4  # a generous average character width at FONT_PT
FONT_PT = 9
LABEL_GAP = 3.0  # the least space between two labels
VM_GAP = 48.0  # between the pictures of two VMs


@dataclass(frozen=True)
class Scale:
    """The axis of one VM: address `lo` at y=0, address `hi` at y=AXIS_PT."""

    lo: int
    hi: int

    @classmethod
    def of(cls, windows: list[Window]) -> Scale:
        lo = min(w.start for w in windows)
        hi = max(w.end for w in windows)
        return cls(lo, hi if hi > lo else lo + 1)

    def y(self, address: int) -> float:
        return AXIS_PT * (address - self.lo) / (self.hi - self.lo)


@dataclass(frozen=True)
class Bar:
    """Where one window is drawn: its lane and its bottom and top on the axis (points)."""

    window: Window
    lane: int
    bottom: float
    top: float

    @property
    def centre(self) -> float:
        return (self.bottom + self.top) / 2


def _extent(w: Window, scale: Scale) -> tuple[float, float]:
    """The bottom and top a window takes on the axis, at least MIN_PT apart."""
    bottom = scale.y(w.start)
    return bottom, max(scale.y(w.end), bottom + MIN_PT)


def bars(windows: list[Window], scale: Scale) -> list[Bar]:
    """Each window in the first lane where it touches no other window, biggest first at one
    start address so that a window sits left of what it holds."""
    lanes: list[list[tuple[float, float]]] = []
    out: list[Bar] = []
    for w in sorted(windows, key=lambda w: (w.start, -w.size, w.kind, w.name)):
        bottom, top = _extent(w, scale)
        free = [n for n, lane in enumerate(lanes) if all(top <= b or t <= bottom for b, t in lane)]
        if not free:
            lanes.append([])
        n = free[0] if free else len(lanes) - 1
        lanes[n].append((bottom, top))
        drawn_top = top if w.size else bottom + MARKER_PT
        out.append(Bar(w, n, bottom, drawn_top))
    return out


def ticks(scale: Scale) -> list[int]:
    """Addresses to label on the axis: both ends, and the multiples of a power of two
    between them (at most 8 steps) that are not crowding an end."""
    span = scale.hi - scale.lo
    step = 1 << (-(-span // 8) - 1).bit_length()
    first = -(-scale.lo // step) * step
    inner = [
        a
        for a in range(first, scale.hi + 1, step)
        if min(abs(scale.y(a)), abs(AXIS_PT - scale.y(a))) >= 2 * LINE_PT
    ]
    return [scale.lo, *inner, scale.hi]


def size_label(n: int) -> str:
    """A size as `size_text` gives it when that is a whole number below 1024 of a unit
    (512 MiB, 64 KiB), else rounded (about 751.9 MiB) or in bytes below 1 KiB (700 B); the
    exact bytes are in the [start, end) beside it."""
    exact = size_text(n)
    number = exact.split()[0]
    if not number.startswith("0x") and int(number) < 1024:
        return exact
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"about {n / (1 << shift):.1f} {unit}"
    return f"{n} B"


def _partners(windows: list[Window]) -> dict[Window, list[str]]:
    """What each conflicting window's label says about its conflicts."""
    said: dict[Window, list[str]] = {}
    for a, b in conflicts(windows):
        if a is b:
            said.setdefault(a, []).append("outside RAM")
            continue
        said.setdefault(a, []).append(f"overlaps {b.what}")
        said.setdefault(b, []).append(f"overlaps {a.what}")
    return said


def label_lines(w: Window, problems: list[str]) -> list[str]:
    """The text beside a window's bar: what, [start, end), size, then each conflict."""
    where = f"[{w.start:#x}, {w.end:#x})" if w.size else f"at {w.start:#x}"
    size = size_label(w.size) if w.size else "size unknown"
    if w.room:
        size = f"{size} ({w.room})"
    return [w.what, where, size, *problems]


def _label_html(lines: list[str], red: int, width: float) -> Html:
    """Left-aligned lines in a table `width` points wide; the last `red` lines in red."""
    parts = []
    for n, line in enumerate(lines):
        text = esc(line)
        if n == 0:
            text = f"<B>{text}</B>"
        elif n >= len(lines) - red:
            text = f'<FONT COLOR="red">{text}</FONT>'
        parts.append(text)
    return Html(
        '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
        f'<TR><TD ALIGN="LEFT" BALIGN="LEFT" WIDTH="{width:.0f}">'
        + "<BR/>".join(parts)
        + "</TD></TR></TABLE>"
    )


def _stack(wanted: list[float], heights: list[float], order: list[int]) -> list[float]:
    """Label centres taken in `order` from the top: each pushed below the one before, then
    pushed up from y=0 if that took any below it."""
    got = list(wanted)
    ceiling = float("inf")
    for i in order:
        got[i] = min(wanted[i], ceiling - LABEL_GAP - heights[i] / 2)
        ceiling = got[i] - heights[i] / 2
    floor = -LABEL_GAP
    for i in reversed(order):
        got[i] = max(got[i], floor + LABEL_GAP + heights[i] / 2)
        floor = got[i] + heights[i] / 2
    return got


Point = tuple[float, float]


def _crosses(a: tuple[Point, Point], b: tuple[Point, Point]) -> bool:
    """Whether two segments cross at a point inside both."""

    def side(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    (p1, p2), (p3, p4) = a, b
    return side(p3, p4, p1) * side(p3, p4, p2) < 0 and side(p1, p2, p3) * side(p1, p2, p4) < 0


def spread(
    wanted: list[float],
    heights: list[float],
    tails: list[Point] | None = None,
    label_x: float = 0.0,
) -> list[float]:
    """Centres for labels as near as can be to `wanted` without two overlapping, stacked in
    the order of the bars.  With `tails` (where each label's line leaves its bar) and
    `label_x` (where the lines end), two labels whose lines would cross swap places in the
    stack, until no lines cross (or every pair has had its turns)."""
    order = sorted(range(len(wanted)), key=lambda i: (-wanted[i], i))
    got = _stack(wanted, heights, order)
    if tails is None:
        return got
    for _ in range(4 * len(order)):
        line = {i: (tails[i], (label_x, got[i])) for i in order}
        pair = next(
            ((m, n) for m in range(len(order)) for n in range(m + 1, len(order))
             if _crosses(line[order[m]], line[order[n]])),
            None,
        )  # fmt: skip
        if pair is None:
            break
        m, n = pair
        order[m], order[n] = order[n], order[m]
        got = _stack(wanted, heights, order)
    return got


def _pos(x: float, y: float) -> str:
    return f"{x:.2f},{y:.2f}!"


def _inches(points: float) -> str:
    return f"{points / 72:.4f}"


def _colour(w: Window, bad: bool) -> str:
    return CONFLICT_COLOUR if bad else KIND_COLOURS.get(w.kind, DEVICE_COLOUR)


def _black_bar(g: Graph, name: str, width_pt: float, height_pt: float, pos: str) -> None:
    """A filled black box of the given size in points: the address axis and its tick marks."""
    g.node(
        name,
        label="",
        shape="box",
        fixedsize="true",
        width=_inches(width_pt),
        height=_inches(height_pt),
        style="filled",
        fillcolor="black",
        pos=pos,
    )


def _draw_vm(g: Graph, vm: VmPlan, plan: Plan, left: float) -> tuple[float, float, str]:
    """One VM's map with its left edge at x=`left`, all but its title; returns its right
    edge, the top of what was drawn, and the title."""
    inst = vm.instance
    title = f"{vm.name} ({inst}): guest-physical memory"
    windows = regions(vm, plan)
    if not windows:
        g.node(
            f"empty:{inst}",
            label="no fixed guest addresses",
            shape="plaintext",
            pos=_pos(left + 90, AXIS_PT),
        )
        return left + 180, AXIS_PT, title
    scale = Scale.of(windows)
    said = _partners(windows)
    placed = bars(windows, scale)

    axis_x = left + TICK_PT + 6
    digits = max(8, len(f"{scale.hi:x}"))
    _black_bar(g, f"axis:{inst}", 1, AXIS_PT, _pos(axis_x, AXIS_PT / 2))
    for n, address in enumerate(ticks(scale)):
        y = scale.y(address)
        g.node(
            f"tick:{inst}:{n}",
            label=f"0x{address:0{digits}x}",
            shape="plaintext",
            fontname="Courier",
            pos=_pos(left + TICK_PT / 2, y),
        )
        _black_bar(g, f"tickmark:{inst}:{n}", 6, 0.5, _pos(axis_x - 3, y))

    lanes_left = axis_x + 8
    lane_count = 1 + max(b.lane for b in placed)
    label_left = lanes_left + lane_count * (LANE_PT + LANE_GAP) - LANE_GAP + 40
    texts = [label_lines(b.window, said.get(b.window, [])) for b in placed]
    widest = max(  # the first line is bold: a tenth wider
        CHAR_PT * len(line) * (1.1 if n == 0 else 1.0)
        for lines in texts
        for n, line in enumerate(lines)
    )
    label_w = max(100.0, widest + 6)
    heights = [LINE_PT * len(lines) + 2 for lines in texts]
    tails = [(lanes_left + b.lane * (LANE_PT + LANE_GAP) + LANE_PT, b.centre) for b in placed]
    centres = spread([b.centre for b in placed], heights, tails, label_left)
    for n, (b, lines, y) in enumerate(zip(placed, texts, centres, strict=True)):
        w, bad = b.window, b.window in said
        x = lanes_left + b.lane * (LANE_PT + LANE_GAP) + LANE_PT / 2
        height = b.top - b.bottom
        inside = w.name if height >= 2 * LINE_PT and CHAR_PT * len(w.name) <= LANE_PT - 6 else ""
        g.node(
            f"region:{inst}:{n}",
            label=inside,
            tooltip="\n".join(lines),
            shape="box",
            fixedsize="true",
            width=_inches(LANE_PT),
            height=_inches(height),
            style="filled",
            fillcolor=_colour(w, bad),
            color="red" if bad else "black",
            penwidth="2" if bad else "1",
            pos=_pos(x, (b.bottom + b.top) / 2),
        )
        g.node(
            f"label:{inst}:{n}",
            label=_label_html(lines, len(said.get(w, [])), label_w),
            shape="plaintext",
            pos=_pos(label_left + label_w / 2, y),
        )
        g.edge(
            f"region:{inst}:{n}",
            f"label:{inst}:{n}",
            tailport="e",
            headport="w",
            color="red" if bad else "gray50",
        )

    right = label_left + label_w
    top = max([AXIS_PT, *(y + h / 2 for y, h in zip(centres, heights, strict=True))])
    bottom = min([0.0, *(y - h / 2 for y, h in zip(centres, heights, strict=True))])
    span = f"{scale.lo:#x} to {scale.hi:#x} ({size_label(scale.hi - scale.lo)})"
    for n, (one, other) in enumerate(conflicts(windows)):
        what = f"{one.name} is outside RAM" if one is other else f"{one.name} overlaps {other.name}"
        g.node(
            f"conflict:{inst}:{n}",
            label=f"{inst}: {what}",
            shape="plaintext",
            fontcolor="red",
            pos=_pos((left + right) / 2, bottom - 2 * LINE_PT - n * (LINE_PT + 3)),
        )
    return right, top, f"{title}\n{span}"


def memory_graph(plan: Plan) -> Graph:
    """One to-scale memory map per VM, side by side; conflicting windows in red."""
    g = Graph(
        f"{plan.system}-memory",
        attrs={
            "label": (
                f"{plan.system}: guest-physical memory, each VM to scale, highest address at "
                "the top\nbars side by side share addresses or are too close to tell apart; "
                "red bars are a conflict"
            ),
            "labelloc": "t",
            "fontname": "Helvetica",
            "layout": "neato",
            "inputscale": "72",
            "splines": "line",
            "outputorder": "edgesfirst",
        },
        node_defaults={"fontname": "Helvetica", "fontsize": str(FONT_PT)},
        edge_defaults={"dir": "none"},
    )
    left, titles = 0.0, []
    for vm in plan.vms:
        right, top, title = _draw_vm(g, vm, plan, left)
        titles.append((vm.instance, (left + right) / 2, top, title))
        left = right + VM_GAP
    above = max((top for _, _, top, _ in titles), default=AXIS_PT) + 2 * LINE_PT + 6
    for inst, centre, _, title in titles:
        g.node(
            f"title:{inst}", label=title, shape="plaintext", fontsize="11", pos=_pos(centre, above)
        )
    return g
