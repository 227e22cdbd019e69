"""What the threads and devices of an explored system can touch, and the groups that follow.

The footprint of a thread is what its steps may read or write: its own TCB (with its guest),
the kernel objects its program names (`Program.objects()`), its bound notification, and for
an IRQ handler it acks, the handler's notification (an ack re-delivers a line raised while
masked).  A device's footprint is its handler and the handler's notification; an ARM
virtual timer's is its VCPU object, the VCPU's thread and the VMM's notification.  Two
steps whose footprints are disjoint commute: neither reads what the other writes.  So
threads and devices fall into groups, the connected components of "shares an object",
and the groups are explored one at a time (`explore.Product`).

Cores are not objects here.  Two groups' threads on one core only delay each other: a
group explored alone already has every order of its own steps and interrupts, so what a
group can reach with another one beside it on the core it reaches alone; what the delay
costs in time (starvation, latency) is the timed run's to measure (E505, E506).

A blocked thread whose footprint meets no other's is inert: nobody can wake it (a server
without a modelled protocol, waiting on its own notification), it never moves again, and
it belongs to no group.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

from sel4vmgen.sim.kernel import BLOCKED_ON_REPLY, RUNNING, RUNNING_VM, Kernel
from sel4vmgen.sim.program import Ref, Running

if TYPE_CHECKING:
    from sel4vmgen.sim.system import SysState, SystemModel, ThreadSnap


def thread_footprint(k: Kernel, t: int) -> frozenset[Ref]:
    """What thread `t` of `k` may touch."""
    tcb = k.threads[t]
    body = tcb.body
    named = body.program.objects() if isinstance(body, Running) else frozenset()
    out: set[Ref] = {("tcb", t), *named}
    if tcb.bound is not None:
        out.add(("ntfn", k.notifications.index(tcb.bound)))
    for kind, i in named:
        if kind == "irq":
            out.add(("ntfn", k.notifications.index(k.handlers[i].ntfn)))
    return frozenset(out)


def line_footprint(k: Kernel, h: int) -> frozenset[Ref]:
    """What a device raising IRQ handler `h`'s line may touch."""
    return frozenset({("irq", h), ("ntfn", k.notifications.index(k.handlers[h].ntfn))})


def groups(k: Kernel, devices: Sequence[frozenset[Ref]] = ()) -> list[list[int]]:
    """The threads of `k` in groups, the connected components of shared objects (through
    each other and through `devices`, by default every IRQ line), in thread order; inert
    threads are in none."""
    prints = [thread_footprint(k, t) for t in range(len(k.threads))]
    devices = devices or [line_footprint(k, h) for h in range(len(k.handlers))]
    parent = list(range(len(prints)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Ref, int] = {}  # an object, the first thread found touching it
    for t, fp in enumerate(prints):
        for ref in fp:
            first = owner.setdefault(ref, t)
            parent[root(t)] = root(first)
    for fp in devices:
        touched = [owner[r] for r in fp if r in owner]
        for t in touched[1:]:
            parent[root(t)] = root(touched[0])
    shared = {r for r in owner if sum(r in fp for fp in prints) > 1}
    shared |= {r for fp in devices for r in fp}
    comps: dict[int, list[int]] = {}
    for t, fp in enumerate(prints):
        if not (fp & shared or _runnable(k, t)):
            continue  # inert
        comps.setdefault(root(t), []).append(t)
    return sorted(comps.values())


def _runnable(k: Kernel, t: int) -> bool:
    tcb = k.threads[t]
    return tcb.state in (RUNNING, RUNNING_VM) or any(c.current is tcb for c in k.cores)


# ------------------------------------------------------------------ partial order


class _Static:
    """The facts of a system `ample` reads in every state, computed once: each thread's
    footprint, core, bound notification and endpoints; each line's and timer's footprint."""

    def __init__(self, m: SystemModel) -> None:
        k = m.template
        self.prints = [thread_footprint(k, t) for t in range(len(k.threads))]
        self.core = [t.core for t in k.threads]
        self.bound = [
            ("ntfn", k.notifications.index(t.bound)) if t.bound is not None else None
            for t in k.threads
        ]
        self.eps = [frozenset(r for r in fp if r[0] == "ep") for fp in self.prints]
        self.lines = [line_footprint(k, h) for h in range(len(k.handlers))]
        self.timers = [
            frozenset({("obj", o), ("tcb", t), ("ntfn", n), ("timer", j)})
            for j, (o, t, n) in enumerate(m.timers)
        ]


_STATIC: dict[int, _Static] = {}


def _static(m: SystemModel) -> _Static:
    st = _STATIC.get(id(m))
    if st is None or st.core != [t.core for t in m.template.threads]:
        st = _STATIC[id(m)] = _Static(m)
    return st


def ample(
    m: SystemModel, s: SysState, stepped: dict[tuple[SysState, Hashable], SysState]
) -> list[Hashable]:
    """A persistent set of `m`'s actions in state `s`: the actions of one core (its current
    thread's, and the expiry of its timeslice), if no sequence of the other actors' steps
    from `s` can touch what those actions touch; else every action.

    What an action touches is measured by taking it: the threads that ran in the step (their
    footprints and cores), the objects whose state changed, and the world's part (the line,
    timer, guest or core it is a move of).  What the other actors may ever touch before the
    chosen core moves is bounded from above (`_reach`): every line and timer with firings
    left, every thread current or ready on another core, and, to a fixed point, every
    thread that what is touched can wake.  Disjoint, every step of the others commutes with
    the chosen actions and cannot enable another action of that core, so the chosen set is
    persistent (Godefroid's persistent sets).  The successors computed on the way go into
    `stepped` for the search to take."""
    acts = list(m.actions(s))
    if len(acts) < 2:
        return acts
    st = _static(m)
    by_core: dict[int, list[Hashable]] = {}
    for a in acts:
        c = _core_of(a, st)
        if c >= 0:
            by_core.setdefault(c, []).append(a)
    for c, mine in sorted(by_core.items(), key=lambda x: len(x[1])):
        if len(mine) == len(acts):
            return acts
        reach = _reach(s, c, st)
        if ("core", c) in reach:
            continue
        if all(_touches(m, s, a, st, stepped).isdisjoint(reach) for a in mine):
            return mine
    return acts


def _core_of(a: Hashable, st: _Static) -> int:
    """The core whose actor makes action `a` (-1: a line or a timer)."""
    assert isinstance(a, tuple)
    if a[0] in ("done", "guest"):
        return st.core[a[1]]
    if a[0] == "expire":
        return int(a[1])
    return -1


def _reach(s: SysState, chosen: int, st: _Static) -> set[Ref]:
    """What the actors other than core `chosen` may touch from `s` on, bounded from above."""
    ks, left = s.kernel, s.world.left
    nh = len(st.lines)
    out: set[Ref] = set()
    for h, fp in enumerate(st.lines):
        if left[h]:
            out |= fp
    for j, fp in enumerate(st.timers):
        if left[nh + j]:
            out |= fp
    active = [False] * len(ks.threads)

    def wake(t: int) -> None:
        active[t] = True
        out.update(st.prints[t])
        out.add(("core", st.core[t]))

    for c, cs in enumerate(ks.cores):
        if c != chosen:
            if cs.current >= 0:
                wake(cs.current)
            for _, q in cs.queues:
                for t in q:
                    wake(t)
    changed = True
    while changed:
        changed = False
        for t, ts in enumerate(ks.threads):
            if active[t] or not _wakeable(t, ts, st, out):
                continue
            wake(t)
            changed = True
    return out


def _wakeable(t: int, ts: ThreadSnap, st: _Static, touched: set[Ref]) -> bool:
    """Whether touching `touched` may make thread `t` (in snapshot `ts`) run: through its
    TCB, its bound notification, what it is blocked on, or (waiting for a reply) an
    endpoint it calls."""
    if ("tcb", t) in touched or st.bound[t] in touched:
        return True
    if ts.blocked_on is not None and ts.blocked_on in touched:
        return True
    return ts.state is BLOCKED_ON_REPLY and not st.eps[t].isdisjoint(touched)


def _touches(
    m: SystemModel,
    s: SysState,
    a: Hashable,
    st: _Static,
    stepped: dict[tuple[SysState, Hashable], SysState],
) -> set[Ref]:
    """What action `a` touches in state `s`, measured by taking it (its successor kept)."""
    nxt, ran = m.step(s, a)
    stepped[(s, a)] = nxt
    assert isinstance(a, tuple)
    out: set[Ref] = set()
    kind, i = a[0], int(a[1])
    if kind in ("done", "guest"):
        out |= {("tcb", i), ("core", st.core[i])}
    elif kind == "expire":
        out.add(("core", i))
    elif kind == "irq":
        out |= st.lines[i]
    else:
        out |= st.timers[i]
    k0, k1 = s.kernel, nxt.kernel
    for t in ran:
        out |= st.prints[t]
        out.add(("core", st.core[t]))
        for caller in (k0.threads[t].caller, k1.threads[t].caller):
            if caller >= 0:
                out.add(("tcb", caller))
    for t, (x, y) in enumerate(zip(k0.threads, k1.threads, strict=True)):
        if x != y:
            out |= {("tcb", t), ("core", st.core[t])}
    out |= {("core", c) for c, (x, y) in enumerate(zip(k0.cores, k1.cores, strict=True)) if x != y}
    out |= _changed("ep", k0.endpoints, k1.endpoints)
    out |= _changed("ntfn", k0.notifications, k1.notifications)
    out |= _changed("obj", k0.objects, k1.objects)
    w0, w1 = s.world, nxt.world
    out |= _changed("irq", k0.irqs, k1.irqs) | _changed("irq", w0.raised, w1.raised)
    return out


def _changed(kind: str, before: Sequence[Hashable], after: Sequence[Hashable]) -> set[Ref]:
    return {(kind, i) for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y}
