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

from collections.abc import Sequence

from sel4vmgen.sim.kernel import RUNNING, RUNNING_VM, Kernel
from sel4vmgen.sim.program import Ref, Running


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
