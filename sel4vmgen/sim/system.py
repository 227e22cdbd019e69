"""The explorer's transition system of a whole Plan, on the kernel model's own semantics.

A state is a snapshot of a `Kernel` (`freeze`): every thread's seL4 state, the
value its pending call returns, its caller slot, its program's local state and
its guest; each core's current thread, ready queues and pending dispatch;
endpoint and notification queues and words; each IRQ handler's mask.  A step
rebuilds the kernel from the snapshot (`thaw`), calls the kernel's own method
for one choice, and snapshots the result.  The choices are exactly the points
where the timed run's event heap decides (`Kernel.choices` names them):

* the world: a device raises a line (`irq`, up to a per-line bound), a guest
  makes a move (`guest`: CLI, STI, an exit, within a budget of moves), a
  computation ends (`done`), a timeslice runs out with another thread of the
  same priority ready (`expire`);
* the kernel's deferred work of an instant: a dispatch on a core, a thread
  resumed from RunningVM (`dispatch`, `continue`), which in the timed run
  interleave with other events due at the same time.

Scheduling given priorities stays the kernel's (`_ready`, `_dispatch`), so what
the kernel decides is deterministic and only the world branches.  The threads
are the plan's, at their priorities and cores, running the same `Program`s as
the timed run (`sim/program.py`); servers without a modelled protocol (time
server, serial, file server, native components) are threads that wait on their
notification.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeGuard, runtime_checkable

from sel4vmgen.plan.model import LIBSEL4VM_LIST_REGISTERS, Plan, VmPlan
from sel4vmgen.sim.arm import Vcpu, vcpu_of, vtimer_fire
from sel4vmgen.sim.explore import Property
from sel4vmgen.sim.footprint import ample, line_footprint
from sel4vmgen.sim.footprint import groups as footprint_groups
from sel4vmgen.sim.guests import Source, held_cause
from sel4vmgen.sim.kernel import (
    BLOCKED_ON_REPLY,
    RUNNING,
    RUNNING_VM,
    Choice,
    Core,
    Endpoint,
    Guest,
    IrqHandler,
    Kernel,
    KEvent,
    Notification,
    State,
    Tcb,
)
from sel4vmgen.sim.program import Running
from sel4vmgen.sim.properties import TITLES
from sel4vmgen.sim.x86 import NEVER_US, X86Port

WHOLE_PHASE = 1 << 30  # an ARM guest's phase of work as one computation (see `VcpuThread`)
GUEST_MOVES = 3  # moves a guest makes of its own choosing before it settles (STI, then HLT)
KERNEL_ERRORS = {"fault_discarded", "reply_cap_lost", "reply_dropped"}  # E503 in the log


@runtime_checkable
class Explorable(Protocol):
    """A guest the explorer drives: its state as a value, rebuilt from one, and its moves."""

    def snapshot(self) -> Hashable: ...

    def restored(self, state: Hashable) -> Guest: ...

    def moves(self) -> Sequence[Hashable]: ...

    def move(self, m: Hashable) -> str | None:
        """Make move `m`; the VM exit it makes, or None."""
        ...


_EXPLORABLE: dict[type, bool] = {}  # a runtime Protocol check is slow: decided once per type


def is_explorable(g: object) -> TypeGuard[Explorable]:
    """Whether `g` is a guest the explorer drives (`isinstance(g, Explorable)`, cached)."""
    if g is None:
        return False
    ok = _EXPLORABLE.get(type(g))
    if ok is None:
        ok = _EXPLORABLE[type(g)] = isinstance(g, Explorable)
    return ok


# ------------------------------------------------------------------ snapshots


class ThreadSnap(NamedTuple):
    state: State
    value: Hashable
    caller: int  # thread index, -1 none
    pending_fault: bool
    compute_left: int  # 1 while computing: the explorer has no clock
    blocked_on: tuple[str, int] | None  # ("ep" | "ntfn", index)
    local: Hashable  # its program's state
    continue_pending: bool
    guest: Hashable


class CoreSnap(NamedTuple):
    current: int
    queues: tuple[tuple[int, tuple[int, ...]], ...]  # (priority, threads), highest first
    dispatch_pending: bool


class KState(NamedTuple):
    threads: tuple[ThreadSnap, ...]
    cores: tuple[CoreSnap, ...]
    endpoints: tuple[tuple[tuple[tuple[int, Hashable, int, bool], ...], tuple[int, ...]], ...]
    notifications: tuple[tuple[int, tuple[int, ...]], ...]
    irqs: tuple[tuple[bool, bool], ...]  # (masked, asserted)
    objects: tuple[Hashable, ...] = ()  # other kernel objects (ARM VCPUs)


def _encode(v: Hashable, ix: dict[int, int]) -> Hashable:
    if isinstance(v, Tcb):
        return ("tcb", ix[id(v)])
    if isinstance(v, tuple):
        return tuple(_encode(x, ix) for x in v)
    assert isinstance(v, Hashable), v
    return v


def _decode(v: Hashable, threads: list[Tcb]) -> Hashable:
    if isinstance(v, tuple):
        if len(v) == 2 and v[0] == "tcb":
            return threads[v[1]]
        return tuple(_decode(x, threads) for x in v)
    return v


def freeze(k: Kernel, guests: bool = True) -> KState:
    """The kernel's state as a value (with `guests=False`, without the guests' own state)."""
    ix = {id(t): i for i, t in enumerate(k.threads)}
    ep_ix = {id(e): i for i, e in enumerate(k.endpoints)}
    nt_ix = {id(n): i for i, n in enumerate(k.notifications)}
    threads = []
    for t in k.threads:
        on = t.blocked_on
        where = None
        if isinstance(on, Endpoint):
            where = ("ep", ep_ix[id(on)])
        elif isinstance(on, Notification):
            where = ("ntfn", nt_ix[id(on)])
        body = t.body
        local = body.local if isinstance(body, Running) else None
        g = t.guest
        gs = g.snapshot() if guests and is_explorable(g) else None
        threads.append(
            ThreadSnap(
                t.state,
                _encode(t.value, ix),
                ix[id(t.caller)] if t.caller is not None else -1,
                t.pending_fault,
                int(t.compute_left > 0),  # untimed: computing or not
                where,
                local,
                t.continue_pending,
                gs,
            )
        )
    cores = tuple(
        CoreSnap(
            ix[id(c.current)] if c.current is not None else -1,
            tuple(
                (p, tuple(ix[id(t)] for t in c.queues[p]))
                for p in sorted(c.queues, reverse=True)
                if c.queues[p]
            ),
            c.dispatch_pending,
        )
        for c in k.cores
    )
    eps = tuple(
        (
            tuple((ix[id(s)], _encode(m, ix), b, call) for s, m, b, call in e.senders),
            tuple(ix[id(r)] for r in e.receivers),
        )
        for e in k.endpoints
    )
    ntfns = tuple((n.word, tuple(ix[id(w)] for w in n.waiters)) for n in k.notifications)
    irqs = tuple((h.masked, h.asserted) for h in k.handlers)
    objects = tuple(o.snapshot() for o in k.objects)
    return KState(tuple(threads), cores, eps, ntfns, irqs, objects)


def thaw(template: Kernel, s: KState, into: Kernel | None = None) -> Kernel:
    """A kernel with `template`'s objects (names, priorities, cores, programs, bindings)
    in state `s`.  No clock runs in it: its event heap is ignored (`SystemModel` reads the
    pending work from the state)."""
    from collections import deque

    k = into if into is not None else Kernel(len(template.cores), ticks=False)
    k.endpoints = [Endpoint(e.name) for e in template.endpoints]
    k.notifications = [Notification(n.name) for n in template.notifications]
    nt_ix = {id(n): i for i, n in enumerate(template.notifications)}
    threads: list[Tcb] = []
    for t, ts in zip(template.threads, s.threads, strict=True):
        body = t.body
        assert isinstance(body, Running), f"{t.name} runs no Program: it cannot be explored"
        nt = Tcb(t.name, t.priority, t.core, Running(body.program, k, ts.local))
        assert isinstance(nt.body, Running)
        nt.body.me = nt
        g = t.guest
        if g is not None:
            nt.guest = g.restored(ts.guest) if is_explorable(g) else g
        if t.bound is not None:
            n = k.notifications[nt_ix[id(t.bound)]]
            nt.bound, n.bound = n, nt
        threads.append(nt)
    k.threads = threads
    for nt, ts in zip(threads, s.threads, strict=True):
        nt.state, nt.value = ts.state, _decode(ts.value, threads)
        nt.caller = threads[ts.caller] if ts.caller >= 0 else None
        nt.pending_fault, nt.compute_left = ts.pending_fault, ts.compute_left
        nt.continue_pending = ts.continue_pending
        if ts.blocked_on is not None:
            kind, i = ts.blocked_on
            nt.blocked_on = k.endpoints[i] if kind == "ep" else k.notifications[i]
    for c, cs in zip(k.cores, s.cores, strict=True):
        c.current = threads[cs.current] if cs.current >= 0 else None
        c.queues = {p: deque(threads[i] for i in q) for p, q in cs.queues}
        c.bitmap = sum(1 << p for p, _ in cs.queues)
        c.dispatch_pending = cs.dispatch_pending
        for _, q in cs.queues:
            for i in q:
                threads[i].ready_since = 0
    for e, (senders, receivers) in zip(k.endpoints, s.endpoints, strict=True):
        e.senders = deque((threads[i], _decode(m, threads), b, c) for i, m, b, c in senders)
        e.receivers = deque(threads[i] for i in receivers)
    for n, (word, waiters) in zip(k.notifications, s.notifications, strict=True):
        n.word, n.waiters = word, deque(threads[i] for i in waiters)
    k.handlers = []
    for h, (masked, asserted) in zip(template.handlers, s.irqs, strict=True):
        nh = IrqHandler(h.irq, k.notifications[nt_ix[id(h.ntfn)]], h.badge, name=h.name)
        nh.masked, nh.asserted = masked, asserted
        k.handlers.append(nh)
    k.objects = [o.restored(x) for o, x in zip(template.objects, s.objects, strict=True)]
    return k


# ------------------------------------------------------------------ the model


class World(NamedTuple):
    """What the world has done: firings left and made per IRQ line; a kernel error seen."""

    left: tuple[int, ...]
    raised: tuple[int, ...]  # signals each line delivered (a re-assertion at ack counts)
    error: str


class SysState(NamedTuple):
    kernel: KState
    world: World


class _Stepping(Kernel):
    """The kernel as the explorer steps it: counts what each IRQ line signals."""

    def __init__(self, cores: int) -> None:
        super().__init__(cores, ticks=False)
        self.signalled: list[int] = []
        self.errors: list[str] = []
        self.observers.append(self._seen)

        self.ran: set[int] = set()  # threads that ran, were readied or left their guest

    def raise_irq(self, h: IrqHandler) -> bool:
        ok = super().raise_irq(h)
        if ok:
            self.signalled.append(self.handlers.index(h))
        return ok

    def _continue(self, core: Core, t: Tcb) -> None:
        self.ran.add(self.threads.index(t))
        super()._continue(core, t)

    def _ready(self, t: Tcb) -> None:
        self.ran.add(self.threads.index(t))
        super()._ready(t)

    def _leave_guest(self, t: Tcb, value: Hashable) -> None:
        self.ran.add(self.threads.index(t))
        super()._leave_guest(t, value)

    def _seen(self, e: KEvent) -> None:
        if e.kind in KERNEL_ERRORS and not self.errors:
            what = {"fault_discarded": "discarded", "reply_cap_lost": "reply cap lost"}
            self.errors.append(
                f"fault of {e.thread} {what.get(e.kind, 'answered with no fault')}: {e.detail}"
            )


@dataclass(frozen=True)
class Line:
    """An IRQ handler of the system: the VM it belongs to, its source index there, and
    the thread whose guest takes it; when the configuration makes it stay masked (a held
    line, `Source.held`), why, and the YAML path of the field that causes it."""

    vm: str
    source: int
    thread: int
    cause: str = ""
    blame: tuple[str | int, ...] = ()


class SystemModel:
    """A Plan's threads on the kernel model, explored: the `Model` of `sim/explore.py`."""

    def __init__(
        self,
        name: str,
        template: Kernel,
        fires: Sequence[int],
        lines: Sequence[Line],
        key: Hashable = None,
        timers: Sequence[tuple[int, int, int]] = (),
        owners: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.template = template
        self.lines = tuple(lines)
        self.fires = tuple(fires)  # per IRQ handler, then per timer
        self.key = key
        self.timers = tuple(timers)  # ARM virtual timers: (VCPU object, its thread, VMM ntfn)
        # the VM each thread belongs to ("" for a server)
        self.owners = tuple(owners) + ("",) * (len(template.threads) - len(owners))
        self._last: tuple[object, list[Vcpu]] = (None, [])
        self.partial_order = False  # `ample` offered to the checker (set by `explore.check`)
        self._stepped: dict[tuple[SysState, Hashable], SysState] = {}

    def symmetry_key(self) -> Hashable:
        """Equal only for systems the plan makes identical (None: like no other)."""
        return ("system", id(self)) if self.key is None else self.key

    def init_states(self) -> Sequence[SysState]:
        z = (0,) * len(self.template.handlers)
        k = thaw(self.template, freeze(self.template))
        drain(k)
        return [SysState(freeze(k), World(self.fires, z, ""))]

    # ---------------------------------------------------------- actions

    def actions(self, s: SysState) -> Sequence[Hashable]:
        ks = s.kernel
        acts: list[Hashable] = []
        if s.world.error:
            return acts
        for c, cs in enumerate(ks.cores):
            t = cs.current
            if t < 0:
                continue
            ts = ks.threads[t]
            if ts.continue_pending:
                continue
            if ts.state is RUNNING and ts.compute_left > 0:
                acts.append(("done", t))
            elif ts.state is RUNNING_VM:
                g = self.template.threads[t].guest
                assert is_explorable(g)
                guest = g.restored(ts.guest)
                assert is_explorable(guest)
                acts += [("guest", t, m) for m in guest.moves()]
            prio = self.template.threads[t].priority
            if any(p == prio for p, _ in cs.queues):
                acts.append(("expire", c))
        nh = len(ks.irqs)
        for h, n in enumerate(s.world.left[:nh]):
            if n and not ks.irqs[h][1]:
                acts.append(("irq", h))
        for j, n in enumerate(s.world.left[nh:]):
            obj = self.timers[j][0]
            if n and Vcpu.timer_armed(ks.objects[obj]):
                acts.append(("vtimer", j))
        return acts

    def next_state(self, s: SysState, a: Hashable) -> SysState:
        done = self._stepped.pop((s, a), None) if self._stepped else None  # taken by `ample`
        return done if done is not None else self.step(s, a)[0]

    def ample(self, s: SysState) -> Sequence[Hashable]:
        """A persistent subset of `actions(s)` (`sim/footprint.py` says how it is chosen)."""
        if len(self._stepped) > 4096:
            self._stepped.clear()
        return ample(self, s, self._stepped)

    def step(self, s: SysState, a: Hashable) -> tuple[SysState, frozenset[int]]:
        """The state after action `a`, and the threads that ran in the step (were resumed,
        readied or left their guest)."""
        k = thaw(self.template, s.kernel, _Stepping(len(self.template.cores)))
        assert isinstance(k, _Stepping) and isinstance(a, tuple)
        left = s.world.left
        if a[0] == "vtimer":
            obj, t, n = self.timers[a[1]]
            vtimer_fire(k, vcpu_of(k, obj), k.threads[t], k.notifications[n])
        else:
            apply(k, a)
        drain(k)
        if a[0] in ("irq", "vtimer"):
            h = a[1] if a[0] == "irq" else len(s.kernel.irqs) + a[1]
            left = (*left[:h], left[h] - 1, *left[h + 1 :])
        raised = s.world.raised
        for h in k.signalled:
            raised = (*raised[:h], raised[h] + 1, *raised[h + 1 :])
        error = s.world.error or (k.errors[0] if k.errors else "")
        return SysState(freeze(k), World(left, raised, error)), frozenset(k.ran)

    # ---------------------------------------------------------- showing a step

    def describe(self, a: Hashable, before: SysState, after: SysState) -> tuple[str, str, str]:
        """(actor, what, what changed) for one step, in the trace's words."""
        assert isinstance(a, tuple)
        tt = self.template.threads
        if a[0] == "irq":
            h, line = self.template.handlers[a[1]], self.lines[a[1]]
            actor, what = "device", f"device raises {line.vm} {h.name} (IRQ {h.irq})"
        elif a[0] == "guest":
            exits = a[2] in ("hlt", "mmio", "window")
            actor = tt[a[1]].name
            what = f"guest exits: {a[2]}" if exits else f"guest executes {a[2]}"
        elif a[0] == "done":
            actor, what = tt[a[1]].name, "computation ends, the thread runs on"
        elif a[0] == "vtimer":
            vc = vcpu_of(self.template, self.timers[a[1]][0])
            actor, what = "device", f"virtual timer of {vc.vm}.vcpu{vc.index} expires"
        else:
            cur = before.kernel.cores[a[1]].current
            actor, what = "kernel", f"timeslice of {tt[cur].name} ends on core {a[1]}"
        return actor, what, self._changes(before, after)

    def _changes(self, b: SysState, a: SysState) -> str:
        out: list[str] = []
        tt = self.template.threads
        for i, (x, y) in enumerate(zip(b.kernel.threads, a.kernel.threads, strict=True)):
            if x.state != y.state:
                out.append(f"{tt[i].name} {x.state.value}->{y.state.value}")
            old, new = x.local, y.local
            if old != new and isinstance(old, tuple) and isinstance(new, tuple):
                fields: tuple[str, ...] = getattr(new, "_fields", ())
                for f, u, v in zip(fields, old, new, strict=False):
                    if u != v and f in ("pic", "to_ack"):
                        out.append(f"{tt[i].name} {f} {_show(u)}->{_show(v)}")
            if x.guest != y.guest and x.guest is not None:
                g0, g1 = self._guest(b, i), self._guest(a, i)
                for f in ("if_", "shadow", "window", "entry"):
                    u, v = getattr(g0, f), getattr(g1, f)
                    if u != v:
                        out.append(f"{f.rstrip('_')} {_show(u)}->{_show(v)}")
        for n, ((w0, _), (w1, _)) in enumerate(
            zip(b.kernel.notifications, a.kernel.notifications, strict=True)
        ):
            if w0 != w1:
                out.append(f"{self.template.notifications[n].name} word {w0:#x}->{w1:#x}")
        for o, (ob, oa) in enumerate(zip(b.kernel.objects, a.kernel.objects, strict=True)):
            if ob != oa:
                vc = vcpu_of(self.template, o)
                v0, v1 = vc.restored(ob), vc.restored(oa)
                name = f"{v1.vm}.vcpu{v1.index}"
                for f in ("lrs", "shadow", "ring"):
                    u, w = getattr(v0, f), getattr(v1, f)
                    if list(u) != list(w):
                        out.append(f"{name} {f} {_show_vgic(u)}->{_show_vgic(w)}")
        for h, (m0, m1) in enumerate(zip(b.kernel.irqs, a.kernel.irqs, strict=True)):
            if m0[0] != m1[0]:
                name = self.template.handlers[h].name
                out.append(f"{name} {'masked' if m1[0] else 'acked'}")
        return ", ".join(out)

    # ---------------------------------------------------------- properties

    def properties(self) -> Sequence[Property[SysState]]:
        if self.template.objects:
            return self._arm_properties()
        return [
            Property(TITLES["E501"], "E501", "always", lambda s: not self._bad(s), self._bad),
            Property(
                TITLES["E503"], "E503", "always", lambda s: not s.world.error, lambda s: s.world.error
            ),
            Property(
                TITLES["E510"], "E510", "eventually", lambda s: not self._masked(s), self._masked
            ),
            Property(
                TITLES["E511"], "E511", "eventually", lambda s: not self._undelivered(s),
                self._undelivered,
            ),
            Property(
                TITLES["E512"], "E512", "eventually", lambda s: not self._unanswered(s),
                self._unanswered,
            ),
        ]  # fmt: skip

    def _arm_properties(self) -> list[Property[SysState]]:
        def err(s: SysState) -> str:
            return s.world.error

        return [
            Property(TITLES["E509"], "E509", "always", lambda s: not self._aborted(s), self._aborted),
            Property(TITLES["E502"], "E502", "always", lambda s: not self._lost(s), self._lost),
            Property(TITLES["E503"], "E503", "always", lambda s: not err(s), err),
            Property(
                TITLES["E510"], "E510", "eventually", lambda s: not self._masked(s), self._masked
            ),
            Property(
                TITLES["E511"], "E511", "eventually", lambda s: not self._stuck_virq(s),
                self._stuck_virq,
            ),
            Property(
                TITLES["E512"], "E512", "eventually", lambda s: not self._unanswered(s),
                self._unanswered,
            ),
        ]  # fmt: skip

    def _vcpus(self, s: SysState) -> list[Vcpu]:
        objs = s.kernel.objects
        if self._last[0] is not objs:  # the properties of one state ask in turn
            restored = [vcpu_of(self.template, o).restored(x) for o, x in enumerate(objs)]
            self._last = (objs, restored)
        return self._last[1]

    def _aborted(self, s: SysState) -> str:
        for v in self._vcpus(s):
            if v.aborted:
                return (
                    f"{v.vm}.vcpu{v.index}: {len(v.ring) + 1} interrupts waiting for "
                    f"{len(v.lrs)} list registers: the overflow ring is full, the VMM aborts"
                )
        return ""

    def _lost(self, s: SysState) -> str:
        return next((v.lost for v in self._vcpus(s) if v.lost), "")

    def _stuck_virq(self, s: SysState) -> str:
        for v in self._vcpus(s):
            pending = [src for st, src in v.lrs if st == 1] + list(v.ring)
            if pending and v.if_on:
                return (
                    f"{v.vm}.vcpu{v.index}: interrupt {pending[0]} pending, never delivered, "
                    "though the guest has interrupts enabled"
                )
        return ""

    def _guest(self, s: SysState, t: int) -> Guest:
        g = self.template.threads[t].guest
        assert is_explorable(g)
        return g.restored(s.kernel.threads[t].guest)

    def _bad(self, s: SysState) -> str:
        for t, ts in enumerate(s.kernel.threads):
            if ts.guest is not None:
                bad = str(getattr(self._guest(s, t), "bad", ""))
                if bad:
                    return bad
        return ""

    def _masked(self, s: SysState) -> str:
        for h, (masked, _) in enumerate(s.kernel.irqs):
            if masked:
                line, th = self.lines[h], self.template.handlers[h]
                return (
                    f"{line.vm}: interrupt line {th.name} (IRQ {th.irq}) masked in an end "
                    "state: nobody will ack it" + (f"; {line.cause}" if line.cause else "")
                )
        return ""

    def blame(self, code: str, s: SysState) -> tuple[str | int, ...]:
        """The YAML path of the field that causes violation `code` in state `s` (empty:
        the caller's default)."""
        if code == "E510":
            return next((self.lines[h].blame for h, (m, _) in enumerate(s.kernel.irqs) if m), ())
        return ()

    def _undelivered(self, s: SysState) -> str:
        for h, line in enumerate(self.lines):
            g = self._guest(s, line.thread)
            assert isinstance(g, FreeX86Guest)
            got = g.delivered[line.source]
            if s.world.raised[h] > got:
                th = self.template.handlers[h]
                return (
                    f"{line.vm}: interrupt {th.name} raised {s.world.raised[h]} time(s), "
                    f"delivered {got}, though the guest ends with interrupts enabled"
                )
        return ""

    def _unanswered(self, s: SysState) -> str:
        idle = {v.wfi_caller for v in self._vcpus(s) if not v.pending_lr() >= 0}  # WFI at rest
        for t, ts in enumerate(s.kernel.threads):
            if ts.state is BLOCKED_ON_REPLY and ts.pending_fault and t not in idle:
                return f"fault of {self.template.threads[t].name} never answered"
        return ""


def apply(k: Kernel, a: Choice) -> None:
    """One choice, made by the kernel's own methods on `k`."""
    kind, i = a[0], a[1]
    assert isinstance(i, int)
    if kind == "dispatch":
        k.dispatch(k.cores[i])
    elif kind == "continue":
        t = k.threads[i]
        k.resume_pending(k.cores[t.core], t)
    elif kind == "done":
        t = k.threads[i]
        k.computed(k.cores[t.core], t)
    elif kind == "guest":
        t = k.threads[i]
        g = t.guest
        assert is_explorable(g)
        exit_ = g.move(a[2])
        if exit_ is not None:
            k.vm_exit(k.cores[t.core], t, exit_)
    elif kind == "expire":
        k.expire(k.cores[i])
    elif kind == "irq":
        k.raise_irq(k.handlers[i])
    else:
        raise ValueError(f"unknown choice {a!r}")


def _show(v: object) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, tuple):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


def _show_vgic(v: Iterable[object]) -> str:
    states = ("invalid", "pending", "active")
    items = [
        states[x[0]] + (f" {x[1]}" if x[0] else "") if isinstance(x, tuple) else str(x or "-")
        for x in v
    ]
    return "[" + ", ".join(items) + "]"


def drain(k: Kernel) -> None:
    """The kernel work a step leaves for the same instant (a dispatch, a thread resumed from
    RunningVM), done now: seL4's kernel runs to completion under its lock before anything
    else enters it, so that work is part of the step that caused it."""
    while True:
        for c in k.cores:
            if c.dispatch_pending:
                k.dispatch(c)
                break
        else:
            for t in k.threads:
                if t.continue_pending:
                    k.resume_pending(k.cores[t.core], t)
                    break
            else:
                return


# ------------------------------------------------------------------ guests


class FreeX86Guest(X86Port):
    """An x86 guest that may do anything a guest can, within a budget of moves: CLI, STI,
    an instruction (which ends STI blocking), an MMIO exit (when the VM has an emulated
    device), HLT.  With its budget spent it enables interrupts and halts.  An interrupt
    in the VM-entry info is taken at entry; taking it with IF = 0 or under STI blocking is
    recorded (E501).  The interrupt-window exit is the hardware's: forced when open."""

    def __init__(self, vm: str, names: tuple[str, ...], mmio: bool, budget: int) -> None:
        self.vm, self.names, self.mmio, self.budget = vm, names, mmio, budget
        self.if_, self.shadow, self.entry, self.window = False, False, -1, False
        self.delivered: tuple[int, ...] = (0,) * len(names)
        self.bad = ""

    def snapshot(self) -> Hashable:
        return (self.if_, self.shadow, self.entry, self.window, self.budget, self.delivered,
                self.bad)  # fmt: skip

    def restored(self, state: Hashable) -> FreeX86Guest:
        assert isinstance(state, tuple)
        g = FreeX86Guest(self.vm, self.names, self.mmio, self.budget)
        g.held = self.held
        g.if_, g.shadow, g.entry, g.window, g.budget, g.delivered, g.bad = state
        return g

    # the VMM's view
    def can_take(self) -> bool:
        return self.if_ and not self.shadow

    def entry_free(self) -> bool:
        return self.entry < 0

    def inject(self, source: int) -> None:
        self.entry = source

    # the kernel's view: VMEnter runs the guest until a move exits
    def segment(self, now: int) -> tuple[int, str]:
        if self.entry >= 0:
            if not self.can_take() and not self.bad:
                self.bad = (
                    f"{self.vm}: interrupt {self.names[self.entry]} injected with "
                    f"IF={int(self.if_)}, STI blocking={int(self.shadow)}"
                )
            d = self.delivered
            self.delivered = (*d[: self.entry], d[self.entry] + 1, *d[self.entry + 1 :])
            self.entry = -1
        return NEVER_US, "spin"

    def moves(self) -> Sequence[Hashable]:
        if self.window and self.if_ and not self.shadow:
            return ("window",)
        if not self.budget:
            if self.shadow:
                return ("insn",)
            return ("hlt",) if self.if_ else ("sti",)
        out = ["sti" if not self.if_ else "cli", "hlt"]
        if self.shadow:
            out.append("insn")
        if self.mmio:
            out.append("mmio")
        return out

    def move(self, m: Hashable) -> str | None:
        if m in ("cli", "sti", "mmio", "hlt") and self.budget:
            self.budget -= 1
        if m == "cli":
            self.if_, self.shadow = False, False
        elif m == "sti":
            self.shadow, self.if_ = not self.if_, True
        elif m == "insn":
            self.shadow = False
        else:
            self.shadow = False
            return str(m)
        return None


# ------------------------------------------------------------------ a Plan as a system


def x86_system(
    plan: Plan,
    interrupts: int,
    budget: int = GUEST_MOVES,
    reread: bool = True,
    vms: Sequence[str] | None = None,
    guest: Callable[[VmPlan], X86Port] | None = None,
    split: Literal["", "none", "suspend"] = "",
    servers: bool | None = None,
) -> SystemModel:
    """The x86 plan's threads, IRQ lines and guests as one explorable system (with `vms`,
    only those VMs' threads, and the servers if `servers`, by default only without `vms`).  Each guest is a `FreeX86Guest`, or what
    `guest` makes (an explorable one: `X86Guest` replays a timed run's script).  With
    `split`, the historical two-thread VMM ("suspend": it suspends the VCPU thread while
    injecting)."""
    from sel4vmgen.sim.guests import EMULATED, sources_for
    from sel4vmgen.sim.timed import build_servers, build_split_vm, build_x86_vm

    k = Kernel(max(1, plan.num_nodes), ticks=False)
    lines: list[Line] = []
    fires: list[int] = []
    owners: list[str] = []
    chosen = [vm for vm in plan.vms if vms is None or vm.instance in vms]
    for vm in chosen:
        sources = sources_for(plan, vm)
        mmio = any(d.kind in EMULATED for d in vm.devices) or vm.virtio_console
        g = (
            guest(vm)
            if guest
            else FreeX86Guest(vm.instance, tuple(x.name for x in sources), mmio, budget)
        )
        if split:
            build_split_vm(k, plan, vm, g, "suspend" if split == "suspend" else "none")
            tcb = next(x for x in k.threads if x.guest is g)  # the VCPU thread runs the guest
        else:
            tcb = build_x86_vm(k, plan, vm, g, reread)
        t = k.threads.index(tcb)
        mine = [0] * len(sources)
        for i in range(interrupts):
            mine[i % len(sources)] += 1
        fires += mine
        lines += [_line(plan, vm, i, src, t) for i, src in enumerate(sources)]
        owners += [vm.instance] * (len(k.threads) - len(owners))
    with_servers = vms is None if servers is None else servers
    if with_servers:
        build_servers(k, plan)
    name = plan.system if vms is None else "+".join(v.instance for v in chosen) or "servers"
    key = _identity(plan, chosen, interrupts, budget, reread), split, with_servers
    return SystemModel(name, k, fires, lines, key, owners=owners)


def _line(plan: Plan, vm: VmPlan, i: int, src: Source, thread: int) -> Line:
    """The system's line for source `i` of `vm`, with the cause of a held line."""
    if not src.held:
        return Line(vm.instance, i, thread)
    why, path = held_cause(vm, src)
    return Line(vm.instance, i, thread, why, ("vms", plan.vms.index(vm), *path))


def _identity(
    plan: Plan, vms: Sequence[VmPlan], interrupts: int, budget: int, reread: bool
) -> Hashable:
    """What makes two VMs' systems identical: everything the model is built from, except
    their names."""
    from sel4vmgen.sim.guests import EMULATED, sources_for

    def one(vm: VmPlan) -> Hashable:
        threads = tuple((t.role, t.priority, t.core) for t in plan.threads if t.vm == vm.instance)
        srcs = tuple((s.irq, s.masked_until_ack, s.held) for s in sources_for(plan, vm))
        mmio = any(d.kind in EMULATED for d in vm.devices) or vm.virtio_console
        return (vm.priority, threads, srcs, mmio, _routes(plan, vm))

    from sel4vmgen.sim.timed import VM_ROLES

    servers = tuple((t.role, t.priority, t.core) for t in plan.threads if t.role not in VM_ROLES)
    return ("x86", tuple(one(v) for v in vms), servers, interrupts, budget, reread)


def _routes(plan: Plan, vm: VmPlan) -> Hashable:
    """A VM's interrupt routes without their names: two VMs whose lines differ in any fact
    (trigger, kind, polarity, IOAPIC) are never taken as symmetric."""
    return tuple(
        sorted(
            (r.source, r.virq, r.trigger, r.kind, r.active_low, r.ioapic)
            for r in plan.irq_routes
            if r.vm == vm.instance
        )
    )


def arm_system(
    plan: Plan,
    interrupts: int,
    check_shadow: bool = True,
    vms: Sequence[str] | None = None,
    chunk_us: int = WHOLE_PHASE,
    servers: bool | None = None,
) -> SystemModel:
    """The ARM plan's threads (a VMM thread and VCPU threads per VM, at their priorities and
    cores), VCPU objects, IRQ lines and virtual timers as one explorable system."""
    from sel4vmgen.sim.guests import sources_for
    from sel4vmgen.sim.timed import Scenario, build_arm_vm, build_servers

    scenario = Scenario.of(plan, check_shadow=check_shadow)
    k = Kernel(max(1, plan.num_nodes), ticks=False)
    lines: list[Line] = []
    fires: list[int] = []
    timer_fires: list[int] = []
    timers: list[tuple[int, int, int]] = []
    owners: list[str] = []
    chosen = [vm for vm in plan.vms if vms is None or vm.instance in vms]
    for vm in chosen:
        vcpus = build_arm_vm(k, plan, vm, scenario, None, chunk_us)
        owners += [vm.instance] * (len(k.threads) - len(owners))
        routed = len(sources_for(plan, vm)) - 1
        share = [0] * (routed + 1)  # the boot VCPU's timer, then each line
        for i in range(interrupts):
            share[i % len(share)] += 1
        fires += share[1:]
        lines += [Line(vm.instance, i, vcpus[0][1]) for i in range(1, routed + 1)]
        vmm_ntfn = next(n for n in k.notifications if n.name == f"{vm.instance}_ntfn")
        for j, (obj, t) in enumerate(vcpus):
            timers.append((obj, t, k.notifications.index(vmm_ntfn)))
            timer_fires.append(share[0] if j == 0 else interrupts)
    with_servers = vms is None if servers is None else servers
    if with_servers:
        build_servers(k, plan)
    name = plan.system if vms is None else "+".join(v.instance for v in chosen) or "servers"
    key = ("arm", check_shadow, interrupts, _arm_identity(plan, chosen), with_servers)
    return SystemModel(name, k, fires + timer_fires, lines, key, timers, owners)


def _arm_identity(plan: Plan, vms: Sequence[VmPlan]) -> Hashable:
    from sel4vmgen.sim.guests import EMULATED, sources_for
    from sel4vmgen.sim.timed import VM_ROLES

    def one(vm: VmPlan) -> Hashable:
        threads = tuple((t.role, t.priority, t.core) for t in plan.threads if t.vm == vm.instance)
        srcs = tuple(s.irq for s in sources_for(plan, vm))
        mmio = sum(1 for d in vm.devices if d.kind in EMULATED) + int(vm.virtio_console)
        return (threads, srcs, mmio, _routes(plan, vm))

    servers = tuple((t.role, t.priority, t.core) for t in plan.threads if t.role not in VM_ROLES)
    lrs = plan.gic.list_registers if plan.gic else LIBSEL4VM_LIST_REGISTERS
    return (tuple(one(v) for v in vms), servers, lrs)


class Group(NamedTuple):
    """VMs explored together, and whether the servers go with them."""

    vms: tuple[str, ...]
    servers: bool


def groups(whole: SystemModel) -> list[Group]:
    """The VMs of a whole-plan system in groups that share a kernel object, each explored
    apart (`sim/footprint.py` says why that is sound, and why VMs that share only a core are
    apart): the components of the threads' and devices' footprints, by their VMs.  A server
    that shares an object with a group goes with it; servers that share none never move."""
    k = whole.template
    devices = [line_footprint(k, h) for h in range(len(k.handlers))]
    devices += [frozenset({("obj", o), ("tcb", t), ("ntfn", n)}) for o, t, n in whole.timers]
    out: list[Group] = []
    for comp in footprint_groups(k, devices):
        vms = tuple(dict.fromkeys(whole.owners[t] for t in comp if whole.owners[t]))
        out.append(Group(vms, any(not whole.owners[t] for t in comp)))
    return out
