"""Showing what happened: a human timeline, and Chrome/Perfetto trace-event JSON.

A counterexample is replayed step by step; each line names the step, who
took it and what changed in the state, and the last line says which property
broke.  A timed run prints as kernel events per core.  `chrome_trace` writes
the trace-event format (`{"traceEvents": [...]}`) that chrome://tracing and
ui.perfetto.dev open: one track per core (timed runs) or per actor
(counterexamples, one microsecond per step).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Hashable, Sequence
from typing import NotRequired, Protocol, TypedDict, runtime_checkable

from sel4vmgen.sim.explore import Counterexample, Model, Product, replay
from sel4vmgen.sim.guests import Workload
from sel4vmgen.sim.kernel import KEvent
from sel4vmgen.sim.monitor import Violation
from sel4vmgen.sim.system import SystemModel

STEP_WORDS = {
    "guest": "guest runs one step",
    "vmm": "VMM thread runs one step",
    "vmm_irq": "VMM takes a notified interrupt",
    "vmm_fault": "VMM answers a VCPU fault",
    "cpu_on": "PSCI CPU_ON starts the VCPU",
}
QUIET = frozenset({"raised", "delivered", "faults_open"})


@runtime_checkable
class ScriptModel(Model[Hashable, Hashable], Protocol):
    """A VMM model over one guest's script (`X86Model`, `ArmModel`, `SplitModel`)."""

    w: Workload


@runtime_checkable
class ScriptState(Protocol):
    """A state of a `ScriptModel`: a NamedTuple with the common bookkeeping."""

    @property
    def pc(self) -> int: ...
    @property
    def delivered(self) -> int: ...
    @property
    def faults_open(self) -> int: ...
    def _asdict(self) -> dict[str, object]: ...


class TraceEvent(TypedDict):
    """One Chrome/Perfetto trace event: metadata (M), a span (X) or an instant (i)."""

    ph: str
    name: str
    pid: int
    tid: int
    ts: NotRequired[int]
    dur: NotRequired[int]
    s: NotRequired[str]
    args: NotRequired[dict[str, str | int]]


class Trace(TypedDict):
    traceEvents: list[TraceEvent]
    displayTimeUnit: str


Step = tuple[int, str, str, str]  # (step, actor, what, what changed)


def find_part(model: object, name: str) -> object:
    """The component of a product a counterexample belongs to (or the model itself)."""
    if isinstance(model, Product):
        for p in model.parts:
            if p.name == name:
                return p
    return model


def describe(
    action: Hashable, part: ScriptModel, before: Hashable = None, after: Hashable = None
) -> tuple[str, str]:
    """(actor, words) for one action."""
    if isinstance(action, tuple) and len(action) == 2 and action[0] == "irq":
        src = part.w.sources[action[1]]
        return "device", f"device raises {src.name} (IRQ {src.irq})"
    if isinstance(action, tuple) and len(action) == 2 and isinstance(action[0], int):
        return describe(action[1], part, before, after)
    if action == "guest" and isinstance(before, ScriptState) and isinstance(after, ScriptState):
        return "guest", _guest_words(part, before, after)
    actor = "guest" if action == "guest" else "vmm"
    return actor, STEP_WORDS.get(str(action), _show(action))


def _guest_words(part: ScriptModel, before: ScriptState, after: ScriptState) -> str:
    if after.delivered > before.delivered:
        return "guest takes an interrupt"
    if after.faults_open > before.faults_open:
        return "guest exits to the VMM (VM exit / VCPU fault)"
    if after.faults_open < before.faults_open:
        return "guest EOIs: maintenance fault"
    program = part.w.program
    op = program[before.pc] if before.pc < len(program) else "idle"
    return f"guest executes {op}"


def _changes(before: Hashable, after: Hashable, part: ScriptModel | None = None) -> str:
    if not isinstance(before, ScriptState) or not isinstance(after, ScriptState):
        return ""
    parts = []
    old = before._asdict()
    for f, b in after._asdict().items():
        a = old[f]
        if a != b and f not in QUIET:
            parts.append(f"{f} {_field(f, a, part)}->{_field(f, b, part)}")
    return ", ".join(parts)


def _field(name: str, v: object, part: ScriptModel | None) -> str:
    """List registers, the shadow and the ring with source names; anything else as is."""
    names = [s.name for s in part.w.sources] if part is not None else []

    def src(i: int) -> str:
        return names[i] if 0 <= i < len(names) else "-"

    if not isinstance(v, tuple):
        return _show(v)
    if name == "lrs":
        states = ("invalid", "pending", "active")
        return "[" + ", ".join(states[st] + (f" {src(i)}" if st else "") for st, i in v) + "]"
    if name in ("shadow", "ring"):
        return "[" + ", ".join(src(i) for i in v) + "]"
    return _show(v)


def _show(v: object) -> str:
    """A state value as trace text (no Python reprs: sequences in brackets, None as -)."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, str):
        return v or "-"
    if v is None:
        return "-"
    if isinstance(v, tuple | list | frozenset | set):
        items = sorted(v, key=str) if isinstance(v, frozenset | set) else v
        return "[" + ", ".join(_show(x) for x in items) + "]"
    return str(v)


def steps(model: object, cex: Counterexample) -> list[Step]:
    """(step, actor, what, changes) for each step of the replayed counterexample."""
    part = find_part(model, cex.model)
    if isinstance(part, SystemModel):  # a system on the kernel model names its own steps
        sys_replayed = replay(part, cex)
        return [
            (n, *part.describe(action, before, after))
            for n, ((_, before), (action, after)) in enumerate(itertools.pairwise(sys_replayed), 1)
        ]
    assert isinstance(part, ScriptModel), part
    out: list[Step] = []
    for n, ((_, before), (action, after)) in enumerate(itertools.pairwise(replay(part, cex)), 1):
        actor, what = describe(action, part, before, after)
        out.append((n, actor, what, _changes(before, after, part)))
    return out


def timeline(model: object, cex: Counterexample) -> str:
    """The counterexample as numbered lines, ending with the broken property."""
    lines = [f"counterexample in {cex.model} ({len(cex.path)} steps):"]
    for n, actor, what, changes in steps(model, cex):
        lines.append(f"  {n:>3}  {actor:<6}  {what}" + (f"  [{changes}]" if changes else ""))
    lines.append(f"  !!!  {cex.code} broken: {cex.prop}: {cex.message}")
    return "\n".join(lines)


def kernel_timeline(
    log: Sequence[KEvent], broken: Sequence[Violation] = (), limit: int = 60
) -> str:
    """Kernel events of a timed run up to the first violation (at most `limit`), one per line,
    with each violation (anything with `time_us`, `code`, `message`) where it happened."""
    end = min((v.time_us or 0 for v in broken), default=None)
    shown = [e for e in log if e.kind != "idle" and (end is None or e.time <= end)][-limit:]
    lines = [
        (e.time, 0, f"core {e.core}  {e.kind:<16} {e.thread} {e.detail}".rstrip()) for e in shown
    ]
    lines += [(v.time_us or 0, 1, f"!!!     {v.code} {v.message}") for v in broken]
    head = f"kernel events (the last {len(shown)} before the first violation):" if broken else ""
    body = [f"  {t / 1000:>9.3f} ms  {text}" for t, _, text in sorted(lines, key=lambda x: x[:2])]
    return "\n".join([head, *body] if head else body)


def chrome_trace_timed(
    log: Sequence[KEvent],
    cores: int,
    end_us: int,
    broken: Sequence[Violation] = (),
    process: str = "timed run",
) -> Trace:
    """Trace events for a timed run: who ran on which core, instant kernel events, and the
    violations (on core 0's track, at the time they were seen)."""
    events = _tracks(process, [f"core {c}" for c in range(cores)])
    running: dict[int, KEvent] = {}
    for e in log:
        if e.kind in ("switch", "idle"):
            prev = running.pop(e.core, None)
            if prev is not None:
                events.append(_span(prev.thread, prev.core, prev.time, e.time - prev.time))
            if e.kind == "switch":
                running[e.core] = e
        else:
            events.append(_instant(f"{e.kind} {e.thread}".strip(), e.core, e.time, e.detail))
    for core, prev in sorted(running.items()):
        events.append(_span(prev.thread, core, prev.time, end_us - prev.time))
    for v in broken:
        events.append(_instant(f"{v.code} violated", 0, v.time_us or 0, v.message))
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def chrome_trace_cex(model: object, cex: Counterexample) -> Trace:
    """Trace events for a counterexample: one track per actor, one microsecond per step."""
    shown = steps(model, cex)
    part = find_part(model, cex.model)
    actors = ["device", "vmm", "guest"]
    if isinstance(part, SystemModel):  # a system on the kernel model: a track per thread
        actors = ["device", "kernel", *(t.name for t in part.template.threads)]
    events = _tracks(f"counterexample in {cex.model}: {cex.code}", actors)
    n = 0
    for n, actor, what, changes in shown:
        events.append(_span(what, actors.index(actor), n, 1, changes))
    events.append(_instant(f"{cex.code} {cex.prop}", 1, n + 1, cex.message))
    return {"traceEvents": events, "displayTimeUnit": "ns"}


def dumps(trace: Trace) -> str:
    return json.dumps(trace, indent=1, sort_keys=True) + "\n"


def _tracks(process: str, threads: Sequence[str]) -> list[TraceEvent]:
    """Metadata events naming the process and each track, in this order (Perfetto shows the
    names and sorts the tracks by `thread_sort_index`)."""
    events = [_meta("process_name", 0, process)]
    for tid, name in enumerate(threads):
        events.append(_meta("thread_name", tid, name))
        events.append(_meta("thread_sort_index", tid, tid))
    return events


def _meta(kind: str, tid: int, value: str | int) -> TraceEvent:
    key = "sort_index" if kind.endswith("sort_index") else "name"
    return {"ph": "M", "name": kind, "pid": 1, "tid": tid, "args": {key: value}}


def _span(name: str, tid: int, ts: int, dur: int, detail: str = "") -> TraceEvent:
    ev: TraceEvent = {"ph": "X", "name": name, "pid": 1, "tid": tid, "ts": ts, "dur": dur}
    if detail:
        ev["args"] = {"detail": detail}
    return ev


def _instant(name: str, tid: int, ts: int, detail: str = "") -> TraceEvent:
    ev: TraceEvent = {"ph": "i", "s": "t", "name": name, "pid": 1, "tid": tid, "ts": ts}
    if detail:
        ev["args"] = {"detail": detail}
    return ev
