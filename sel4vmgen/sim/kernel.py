"""A small discrete-event model of the seL4 kernel objects a VM system uses.

Three ideas, as in SimPy: a heap of events ordered by (time, priority, seq),
callbacks run at those times, and processes (threads) written as generators
that yield system calls.  On top of that sit the non-MCS seL4 objects: cores
with per-priority run queues, TCBs and their states, endpoints, notifications
(with bound notifications), IRQ handlers, fault IPC, reply caps and Suspend.

Time is in microseconds.  Everything is deterministic: queues are FIFO, the
heap breaks ties by insertion order, and no wall clock is read.

Scheduling (seL4 `src/kernel/thread.c`, `src/model/statedata.c`): the highest
runnable priority runs; the current thread is outside the run queues; a
preempted thread goes back to the HEAD of its queue, one whose timeslice ran
out to the TAIL; a woken thread of equal priority does not preempt.  Left out:
MCS scheduling contexts, domains, and the cost of a system call (zero).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Generator, Hashable
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple, Protocol, TypeVarTuple

from sel4vmgen.facts import SEL4_MAX_PRIO

TICK_US = 2000  # CONFIG_TIMER_TICK_MS default 2 (seL4 config.cmake KernelTimerTickMS)
TIMESLICE_TICKS = 5  # CONFIG_TIME_SLICE default 5 (seL4 config.cmake KernelTimeSlice)
NUM_PRIORITIES = SEL4_MAX_PRIO + 1
_PRIO_DETAIL = [f"prio {p}" for p in range(NUM_PRIORITIES)]  # the detail of a "switch" event


Ts = TypeVarTuple("Ts")
# a callback of any arguments: an event's action and its arguments (`Sim.at` checks that they
# agree), a system call's handler (found by the call's type); the one untyped spot of sim/
Callback = Callable[..., None]  # type: ignore[explicit-any]


class Sim:
    """The event core: run callbacks in (time, priority, seq) order."""

    __slots__ = ("_heap", "_seq", "now")

    def __init__(self) -> None:
        self.now = 0
        self._heap: list[tuple[int, int, int, Callback, tuple[object, ...]]] = []
        self._seq = 0  # events scheduled so far

    @property
    def events(self) -> int:
        """Events run so far: those scheduled that are no longer waiting."""
        return self._seq - len(self._heap)

    def at(self, time: int, action: Callable[[*Ts], None], *args: *Ts, priority: int = 0) -> None:
        """Call `action(*args)` at `time` (the arguments spare a closure per event)."""
        self._seq += 1
        heapq.heappush(self._heap, (time, priority, self._seq, action, args))

    def after(
        self, delay: int, action: Callable[[*Ts], None], *args: *Ts, priority: int = 0
    ) -> None:
        self.at(self.now + delay, action, *args, priority=priority)

    def step(self) -> bool:
        """Run the next event; False when there is none."""
        if not self._heap:
            return False
        self.now, _, _, action, args = heapq.heappop(self._heap)
        action(*args)
        return True

    def run(self, until: int) -> None:
        """Run every event due at or before `until`; the clock ends at `until`."""
        heap, pop = self._heap, heapq.heappop
        while heap and heap[0][0] <= until:
            self.now, _, _, action, args = pop(heap)
            action(*args)
        self.now = max(self.now, until)


class State(Enum):
    """seL4 thread states (`_thread_state_type`), plus RunningVM for x86 VMEnter."""

    INACTIVE = "Inactive"
    RUNNING = "Running"
    RESTART = "Restart"
    BLOCKED_ON_RECEIVE = "BlockedOnReceive"
    BLOCKED_ON_SEND = "BlockedOnSend"
    BLOCKED_ON_REPLY = "BlockedOnReply"
    BLOCKED_ON_NOTIFICATION = "BlockedOnNotification"
    RUNNING_VM = "RunningVM"


# The states as plain names: looking a member up on an Enum class is several times slower
# than a global, and the scheduler compares states on every event.
INACTIVE = State.INACTIVE
RUNNING = State.RUNNING
BLOCKED_ON_RECEIVE = State.BLOCKED_ON_RECEIVE
BLOCKED_ON_SEND = State.BLOCKED_ON_SEND
BLOCKED_ON_REPLY = State.BLOCKED_ON_REPLY
BLOCKED_ON_NOTIFICATION = State.BLOCKED_ON_NOTIFICATION
RUNNING_VM = State.RUNNING_VM


# --------------------------------------------------------------- system calls


@dataclass(slots=True)
class Compute:
    """Run on the CPU for `us` microseconds (preemptible)."""

    us: int


@dataclass(slots=True)
class Send:
    ep: Endpoint
    msg: Hashable = None
    badge: int = 0


@dataclass(slots=True)
class Call:
    """Send and wait for the one-shot reply; `fault=True` for a kernel-made fault message."""

    ep: Endpoint
    msg: Hashable = None
    badge: int = 0
    fault: bool = False


@dataclass(slots=True)
class Recv:
    """Receive on an endpoint; returns (badge, msg), or ("notification", word) via the bound one."""

    ep: Endpoint


@dataclass(slots=True)
class Reply:
    msg: Hashable = None


@dataclass(slots=True)
class ReplyRecv:
    ep: Endpoint
    msg: Hashable = None


@dataclass(slots=True)
class SaveCaller:
    """Move the reply cap out of the caller slot; returns a handle for `ReplyTo`."""


@dataclass(slots=True)
class ReplyTo:
    caller: Tcb | None
    msg: Hashable = None


@dataclass(slots=True)
class Signal:
    ntfn: Notification
    badge: int = 1


@dataclass(slots=True)
class Wait:
    ntfn: Notification


@dataclass(slots=True)
class Poll:
    ntfn: Notification


@dataclass(slots=True)
class AckIrq:
    handler: IrqHandler


@dataclass(slots=True)
class Suspend:
    tcb: Tcb


@dataclass(slots=True)
class Resume:
    tcb: Tcb


@dataclass(slots=True)
class VMEnter:
    """x86: enter the guest bound to this thread; returns ("notif", word) or ("fault", exit)."""


Syscall = (
    Compute
    | Send
    | Call
    | Recv
    | Reply
    | ReplyRecv
    | SaveCaller
    | ReplyTo
    | Signal
    | Wait
    | Poll
    | AckIrq
    | Suspend
    | Resume
    | VMEnter
)
Body = Generator[Syscall, Hashable, None]


class Steps(Protocol):
    """What a thread runs: a generator body, or a `program.Running` state machine."""

    def send(self, value: Hashable, /) -> Syscall: ...


RESTARTED = "restarted"  # what a thread's pending call returns after Suspend + Resume
Choice = tuple[Hashable, ...]  # a point where the world or the kernel's deferred work decides


class KObject(Protocol):
    """A kernel object with state of its own (an ARM VCPU): the explorer snapshots it."""

    def snapshot(self) -> Hashable: ...

    def restored(self, state: Hashable) -> KObject: ...


# --------------------------------------------------------------- kernel objects


@dataclass(eq=False, slots=True)
class Endpoint:
    name: str
    senders: deque[tuple[Tcb, Hashable, int, bool]] = field(default_factory=deque)
    receivers: deque[Tcb] = field(default_factory=deque)


@dataclass(eq=False, slots=True)
class Notification:
    name: str
    word: int = 0
    waiters: deque[Tcb] = field(default_factory=deque)
    bound: Tcb | None = None


@dataclass(eq=False, slots=True)
class IrqHandler:
    """An IRQ line delivered to a notification; masked from delivery until acked."""

    irq: int
    ntfn: Notification
    badge: int
    masked: bool = False
    asserted: bool = False  # raised again while masked: delivered at the ack
    masked_at: int = -1  # when the kernel last masked it (-1: not masked)
    name: str = ""  # the source it carries, for reports


class Guest:
    """What an x86 VMEnter runs: the kernel asks it for segments of guest execution."""

    def segment(self, now: int) -> tuple[int, str]:
        """(microseconds the guest runs, the VM exit it then makes)."""
        raise NotImplementedError

    def cut(self, ran_us: int) -> None:
        """The segment was cut short after `ran_us` by a notification."""


@dataclass(eq=False, slots=True)
class Tcb:
    name: str
    priority: int
    core: int
    body: Steps | None = None
    state: State = INACTIVE
    bound: Notification | None = None
    caller: Tcb | None = None  # the reply cap in this thread's caller slot
    guest: Guest | None = None
    value: Hashable = None  # what the current system call returns when the thread next runs
    compute_left: int = 0
    compute_started: int = 0
    epoch: int = 0
    timeslice: int = TIMESLICE_TICKS
    blocked_on: Endpoint | Notification | None = None
    pending_fault: bool = False
    vm_exit: str = ""
    ready_since: int | None = None
    run_us: int = 0
    continue_pending: bool = False  # woken from RunningVM: resumes in the same instant


def pair(value: Hashable) -> tuple[Hashable, Hashable]:
    """A call's two-part result: (badge, message) or ("notification", word) from Recv,
    ("fault", exit) or ("notif", word) from VMEnter."""
    assert isinstance(value, tuple) and len(value) == 2, value
    return value[0], value[1]


def word(value: Hashable) -> int:
    """A notification word (or a badge) a call returned."""
    assert isinstance(value, int), value
    return value


def fault_words(msg: object) -> str:
    """A fault message as trace text: its fields separated by spaces (`maint 2`, `wfi`)."""
    if isinstance(msg, tuple | list):
        return " ".join(fault_words(m) for m in msg) or "fault"
    if isinstance(msg, dict):
        return " ".join(f"{k}={fault_words(v)}" for k, v in sorted(msg.items()))
    return "-" if msg is None else str(msg)


class KEvent(NamedTuple):
    """One kernel event for the trace: time, core, kind, thread, detail."""

    time: int
    core: int
    kind: str
    thread: str
    detail: str = ""


@dataclass(eq=False, slots=True)
class Core:
    index: int
    queues: dict[int, deque[Tcb]] = field(default_factory=dict)
    current: Tcb | None = None
    dispatch_pending: bool = False
    bitmap: int = 0  # bit p set when priority p's queue is non-empty (seL4's ready bitmap)

    def highest(self) -> int:
        return self.bitmap.bit_length() - 1

    def take(self, t: Tcb) -> None:
        q = self.queues[t.priority]
        q.remove(t)
        if not q:
            self.bitmap &= ~(1 << t.priority)


class Kernel:
    """The kernel: cores, threads, scheduling, IPC.  Observers see every `KEvent`."""

    def __init__(self, cores: int = 1, sim: Sim | None = None, ticks: bool = True) -> None:
        self.sim = sim or Sim()
        self.cores = [Core(i) for i in range(cores)]
        self.threads: list[Tcb] = []
        self.endpoints: list[Endpoint] = []  # those made by `endpoint`, `notification`,
        self.notifications: list[Notification] = []  # `irq_handler`: what `system.freeze` sees
        self.handlers: list[IrqHandler] = []
        self.objects: list[KObject] = []  # other objects with state (ARM VCPUs)
        self.log: list[KEvent] = []
        self.observers: list[Callable[[KEvent], None]] = []
        self.tick_hooks: list[Callable[[int], None]] = []
        # told of every step where the world or the clock decides (a device raising a line, a
        # computation or guest segment ending, a timeslice running out) and of the kernel's
        # own deferred work (a dispatch, a thread resumed from RunningVM): see `sim/system.py`
        self.choices: list[Callable[[Choice], None]] = []
        self.syscalls = 0
        if ticks:
            for c in self.cores:
                self.sim.at(TICK_US, self._tick, c, priority=1)

    def _chose(self, choice: Choice) -> None:
        for c in self.choices:
            c(choice)

    # ----------------------------------------------------------- threads

    def thread(self, name: str, priority: int, core: int, body: Steps | None) -> Tcb:
        """Create a thread (Inactive until `start`)."""
        if not 0 <= priority < NUM_PRIORITIES:
            raise ValueError(f"priority {priority} outside 0..{NUM_PRIORITIES - 1}")
        t = Tcb(name, priority, core % len(self.cores), body)
        self.threads.append(t)
        return t

    def endpoint(self, name: str) -> Endpoint:
        ep = Endpoint(name)
        self.endpoints.append(ep)
        return ep

    def notification(self, name: str) -> Notification:
        n = Notification(name)
        self.notifications.append(n)
        return n

    def irq_handler(self, irq: int, ntfn: Notification, badge: int, name: str = "") -> IrqHandler:
        h = IrqHandler(irq, ntfn, badge, name=name)
        self.handlers.append(h)
        return h

    def world_choice(self, choice: Choice) -> None:
        """A choice of the world that is not a line (an ARM virtual timer expiring), recorded."""
        if self.choices:
            self._chose(choice)

    def device_raise(self, h: IrqHandler) -> bool:
        """A device asserts `h`'s line (a choice of the world): `raise_irq`, recorded."""
        if self.choices:
            self._chose(("irq", self.handlers.index(h)))
        return self.raise_irq(h)

    def start(self, t: Tcb) -> None:
        t.state = RUNNING
        self._ready(t)

    def bind(self, t: Tcb, ntfn: Notification) -> None:
        t.bound, ntfn.bound = ntfn, t

    def note(self, core: int, kind: str, who: str, detail: str = "") -> None:
        # tuple.__new__ skips the NamedTuple's Python-level __new__: same KEvent, made faster
        e = tuple.__new__(KEvent, (self.sim.now, core, kind, who, detail))
        self.log.append(e)
        for o in self.observers:
            o(e)

    def run(self, until_us: int) -> None:
        self.sim.run(until_us)

    # ----------------------------------------------------------- scheduling

    def _enqueue(self, core: Core, t: Tcb, head: bool = False) -> None:
        p = t.priority
        q = core.queues.get(p)
        if q is None:
            q = core.queues[p] = deque()
        core.bitmap |= 1 << p
        if head:
            q.appendleft(t)
        else:
            q.append(t)
        if t.ready_since is None:
            t.ready_since = self.sim.now

    def _ready(self, t: Tcb) -> None:
        """A thread became runnable: run it now, preempt, or queue it."""
        core = self.cores[t.core]
        cur = core.current
        if cur is None:
            self._enqueue(core, t)
            self._request_dispatch(core)
        elif t.priority > cur.priority:
            self._pause(cur)
            self._enqueue(core, cur, head=True)  # preempted: back at the head
            core.current = None
            self._enqueue(core, t, head=True)
            self._request_dispatch(core)
        else:
            self._enqueue(core, t)  # equal or lower priority does not preempt

    def _pause(self, t: Tcb) -> None:
        ran = self.sim.now - t.compute_started
        if t.compute_left:
            t.compute_left -= ran
            t.run_us += ran
            t.epoch += 1
        if t.state is RUNNING_VM and t.guest is not None:
            t.guest.cut(ran)
            t.run_us += ran
            t.epoch += 1

    def _request_dispatch(self, core: Core) -> None:
        if not core.dispatch_pending:
            core.dispatch_pending = True
            self.sim.at(self.sim.now, self._dispatch, core)

    def dispatch(self, core: Core) -> None:
        """Deferred work of an instant: run the highest-priority ready thread if idle."""
        self._dispatch(core)

    def _dispatch(self, core: Core) -> None:
        if self.choices:
            self._chose(("dispatch", core.index))
        core.dispatch_pending = False
        if core.current is not None:
            return
        p = core.bitmap.bit_length() - 1  # core.highest()
        if p < 0:
            self.note(core.index, "idle", "")
            return
        q = core.queues[p]
        t = q.popleft()
        if not q:
            core.bitmap &= ~(1 << p)
        core.current, t.ready_since = t, None
        self.note(core.index, "switch", t.name, _PRIO_DETAIL[p])
        self._continue(core, t)

    def _block(self, t: Tcb, state: State, on: Endpoint | Notification | None = None) -> None:
        t.state, t.blocked_on = state, on
        core = self.cores[t.core]
        if core.current is t:
            core.current = None
            self._request_dispatch(core)
        elif t.ready_since is not None:
            core.take(t)
        t.ready_since = None

    def _tick(self, core: Core) -> None:
        self.sim.at(self.sim.now + TICK_US, self._tick, core, priority=1)
        for hook in self.tick_hooks:
            hook(core.index)
        t = core.current
        if t is None:
            return
        t.timeslice -= 1
        if t.timeslice > 0:
            return
        t.timeslice = TIMESLICE_TICKS
        if core.queues.get(t.priority):
            if self.choices:
                self._chose(("expire", core.index))
            self.expire(core)

    def expire(self, core: Core) -> None:
        """The current thread's timeslice ran out with another of its priority ready."""
        t = core.current
        assert t is not None
        self._pause(t)
        core.current = None
        self._enqueue(core, t)  # timeslice expired: to the tail
        self._request_dispatch(core)

    # ----------------------------------------------------------- running a thread

    def _continue(self, core: Core, t: Tcb) -> None:
        """Run `t` (current on `core`) until it blocks, computes, or is preempted."""
        body = t.body
        assert body is not None
        t.continue_pending = False
        while core.current is t:
            if t.compute_left > 0:
                self._start_compute(core, t)
                return
            if t.state is RUNNING_VM:
                self._enter_guest(core, t)
                return
            value, t.value = t.value, None
            try:
                op = body.send(value)
            except StopIteration:
                self._block(t, INACTIVE)
                self.note(core.index, "exit", t.name)
                return
            self.syscalls += 1
            _HANDLERS[type(op)](self, t, op)

    def _start_compute(self, core: Core, t: Tcb) -> None:
        now = t.compute_started = self.sim.now
        epoch = t.epoch = t.epoch + 1
        self.sim.at(now + t.compute_left, self._computed, core, t, epoch)

    def _computed(self, core: Core, t: Tcb, epoch: int) -> None:
        if t.epoch != epoch or core.current is not t:
            return
        if self.choices:
            self._chose(("done", self.threads.index(t)))
        self.computed(core, t)

    def computed(self, core: Core, t: Tcb) -> None:
        """`t`'s computation ends: it runs on."""
        t.run_us += t.compute_left
        t.compute_left = 0
        self._continue(core, t)

    def _enter_guest(self, core: Core, t: Tcb) -> None:
        assert t.guest is not None
        us, exit_ = t.guest.segment(self.sim.now)
        t.compute_started, t.vm_exit = self.sim.now, exit_
        t.epoch += 1
        self.sim.at(self.sim.now + us, self._vm_exit, core, t, t.epoch)

    def _vm_exit(self, core: Core, t: Tcb, epoch: int) -> None:
        if t.epoch != epoch or core.current is not t:
            return
        if self.choices:
            self._chose(("exit", self.threads.index(t), t.vm_exit))
        t.run_us += self.sim.now - t.compute_started
        self.vm_exit(core, t, t.vm_exit)

    def vm_exit(self, core: Core, t: Tcb, exit_: str) -> None:
        """The guest of `t` exits: VMEnter returns the fault."""
        t.state, t.value = RUNNING, ("fault", exit_)
        self._continue(core, t)

    # ----------------------------------------------------------- system calls

    def _compute(self, t: Tcb, op: Compute) -> None:
        t.compute_left = op.us

    def _send(self, t: Tcb, op: Send | Call) -> None:
        ep, call = op.ep, isinstance(op, Call)
        fault = isinstance(op, Call) and op.fault
        t.pending_fault = fault
        if fault:
            self.note(t.core, "fault", t.name, f"{fault_words(op.msg)} to {ep.name}")
        if ep.receivers:
            r = ep.receivers.popleft()
            self._deliver(r, t, op.badge, op.msg, call)
            if call:
                self._block(t, BLOCKED_ON_REPLY)
        else:
            ep.senders.append((t, op.msg, op.badge, call))
            self._block(t, BLOCKED_ON_SEND, ep)

    def _deliver(self, r: Tcb, sender: Tcb, badge: int, msg: Hashable, call: bool) -> None:
        if call:
            if r.caller is not None and r.caller.state is BLOCKED_ON_REPLY:
                self.note(r.core, "reply_cap_lost", r.caller.name, "caller slot overwritten")
            r.caller = sender
        r.value = (badge, msg)
        r.blocked_on = None
        if r.state is not RUNNING:
            r.state = RUNNING
            self._ready(r)

    def _recv(self, t: Tcb, op: Recv | ReplyRecv) -> None:
        ep = op.ep
        if t.bound is not None and t.bound.word:
            t.value, t.bound.word = ("notification", t.bound.word), 0
            return
        if ep.senders:
            s, msg, badge, call = ep.senders.popleft()
            if call:
                if t.caller is not None and t.caller.state is BLOCKED_ON_REPLY:
                    self.note(t.core, "reply_cap_lost", t.caller.name, "caller slot overwritten")
                t.caller = s
                s.state, s.blocked_on = BLOCKED_ON_REPLY, None
            else:
                s.state, s.blocked_on = RUNNING, None
                self._ready(s)
            t.value = (badge, msg)
            return
        ep.receivers.append(t)
        self._block(t, BLOCKED_ON_RECEIVE, ep)

    def _reply_to(self, t: Tcb, caller: Tcb | None, msg: Hashable) -> None:
        if caller is None or caller.state is not BLOCKED_ON_REPLY:
            self.note(t.core, "reply_dropped", t.name, "no reply cap")
            return
        if caller.pending_fault:
            self.note(caller.core, "fault_answered", caller.name)
        caller.pending_fault = False
        caller.value, caller.state = msg, RUNNING
        self._ready(caller)

    def _reply(self, t: Tcb, op: Reply) -> None:
        caller, t.caller = t.caller, None
        self._reply_to(t, caller, op.msg)

    def _reply_recv(self, t: Tcb, op: ReplyRecv) -> None:
        caller, t.caller = t.caller, None
        self._reply_to(t, caller, op.msg)
        self._recv(t, op)

    def _save_caller(self, t: Tcb, op: SaveCaller) -> None:
        t.value, t.caller = t.caller, None

    def _reply_to_op(self, t: Tcb, op: ReplyTo) -> None:
        self._reply_to(t, op.caller, op.msg)

    def signal(self, ntfn: Notification, badge: int) -> None:
        """seL4_Signal, also used by IRQ delivery: wake a waiter, the bound thread, or OR in."""
        if ntfn.waiters:
            w = ntfn.waiters.popleft()
            w.value, w.state, w.blocked_on = badge, RUNNING, None
            self._ready(w)
            return
        b = ntfn.bound
        if b is not None and b.state is BLOCKED_ON_RECEIVE:
            assert isinstance(b.blocked_on, Endpoint)
            b.blocked_on.receivers.remove(b)
            b.value, b.state, b.blocked_on = ("notification", badge), RUNNING, None
            self._ready(b)
            return
        if b is not None and b.state is RUNNING_VM:
            self._leave_guest(b, ("notif", ntfn.word | badge))
            ntfn.word = 0
            return
        ntfn.word |= badge

    def _leave_guest(self, t: Tcb, value: Hashable) -> None:
        core = self.cores[t.core]
        if core.current is t and t.guest is not None:
            t.guest.cut(self.sim.now - t.compute_started)
            t.run_us += self.sim.now - t.compute_started
        t.epoch += 1
        t.state, t.value = RUNNING, value
        if core.current is t:
            self._request_continue(core, t)

    def _request_continue(self, core: Core, t: Tcb) -> None:
        t.continue_pending = True
        self.sim.at(self.sim.now, self.resume_pending, core, t)

    def resume_pending(self, core: Core, t: Tcb) -> None:
        """A thread woken from RunningVM goes on with VMEnter's result, if it holds its core."""
        if not t.continue_pending:
            return
        if self.choices:
            self._chose(("continue", self.threads.index(t)))
        t.continue_pending = False
        if core.current is t:
            self._continue(core, t)

    def _signal(self, t: Tcb, op: Signal) -> None:
        self.signal(op.ntfn, op.badge)

    def _wait(self, t: Tcb, op: Wait) -> None:
        if op.ntfn.word:
            t.value, op.ntfn.word = op.ntfn.word, 0
            return
        op.ntfn.waiters.append(t)
        self._block(t, BLOCKED_ON_NOTIFICATION, op.ntfn)

    def _poll(self, t: Tcb, op: Poll) -> None:
        t.value, op.ntfn.word = op.ntfn.word, 0

    def raise_irq(self, h: IrqHandler) -> bool:
        """A device asserts the line; False when the handler is masked (not delivered now)."""
        if h.masked:
            h.asserted = True
            return False
        h.masked, h.masked_at = True, self.sim.now
        self.note(h.ntfn.bound.core if h.ntfn.bound else 0, "irq", f"irq{h.irq}")
        self.signal(h.ntfn, h.badge)
        return True

    def _ack_irq(self, t: Tcb, op: AckIrq) -> None:
        h = op.handler
        h.masked, h.masked_at = False, -1
        if h.asserted:
            h.asserted = False
            self.raise_irq(h)

    def _vmenter(self, t: Tcb, op: VMEnter) -> None:
        if t.bound is not None and t.bound.word:
            t.value, t.bound.word = ("notif", t.bound.word), 0
            return
        t.state = RUNNING_VM

    def _suspend(self, t: Tcb, op: Suspend) -> None:
        self.suspend(op.tcb)

    def suspend(self, v: Tcb) -> None:
        """seL4_TCB_Suspend: cancel IPC (a pending fault and its reply cap vanish), dequeue."""
        on = v.blocked_on
        if v.state is BLOCKED_ON_SEND and isinstance(on, Endpoint):
            on.senders = deque(s for s in on.senders if s[0] is not v)
        elif v.state is BLOCKED_ON_RECEIVE and isinstance(on, Endpoint):
            on.receivers.remove(v)
        elif v.state is BLOCKED_ON_NOTIFICATION and isinstance(on, Notification):
            on.waiters.remove(v)
        elif v.state is BLOCKED_ON_REPLY:
            for other in self.threads:
                if other.caller is v:
                    other.caller = None
        if v.pending_fault:
            self.note(v.core, "fault_discarded", v.name, f"suspended in {v.state.value}")
            v.pending_fault = False
        if self.cores[v.core].current is v:
            self._pause(v)
        v.value = RESTARTED if v.state is not RUNNING else v.value  # re-run the call
        self._block(v, INACTIVE)
        self.note(v.core, "suspend", v.name)

    def _resume(self, t: Tcb, op: Resume) -> None:
        v = op.tcb
        if v.state is INACTIVE:
            v.state = RUNNING
            self._ready(v)


# each handler takes its own kind of call, found by the call's type
_HANDLERS: dict[type, Callback] = {
    Compute: Kernel._compute,
    Send: Kernel._send,
    Call: Kernel._send,
    Recv: Kernel._recv,
    Reply: Kernel._reply,
    ReplyRecv: Kernel._reply_recv,
    SaveCaller: Kernel._save_caller,
    ReplyTo: Kernel._reply_to_op,
    Signal: Kernel._signal,
    Wait: Kernel._wait,
    Poll: Kernel._poll,
    AckIrq: Kernel._ack_irq,
    Suspend: Kernel._suspend,
    Resume: Kernel._resume,
    VMEnter: Kernel._vmenter,
}
