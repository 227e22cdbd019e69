"""The kernel model with seL4 MCS scheduling contexts, as a Microkit system runs on it.

Microkit builds seL4 with MCS: every thread runs on a scheduling context (SC) that holds a
budget of CPU time and a period in which it comes back.  What this module adds to
`Kernel`, and how it simplifies seL4 (`src/kernel/sporadic.c`, `src/object/schedcontext.c`):

* a thread consumes its SC's budget while it is the current thread of its core, whether
  it runs its own code or its guest (an x86 VM shares its VMM's TCB and so its SC);
* an SC whose budget equals its period is round-robin (seL4 `isRoundRobin`): when its
  budget runs out it is refilled at once and the thread goes to the tail of its priority's
  queue, which is the non-MCS timeslice (Microkit's default budget and period are both
  1000 us, so PDs at one priority share their core in 1 ms turns);
* any other SC is a sporadic server cut down to one refill: the budget comes back whole
  one period after it began to be used; a thread whose SC is empty leaves the scheduler
  (it is neither current nor queued) until that refill, and a thread woken with an empty
  SC waits for it too;
* a passive thread (Microkit `passive="true"`) runs a protected call on its caller's SC
  (seL4 SC donation over `Call`); otherwise it runs on its own SC, which Microkit binds to
  its notification;
* there is no timer tick deciding anything: the tick the base kernel keeps only samples
  the monitor (starvation), as in the non-MCS model.

`out_of_budget(sc, start, end)` says how long an SC was empty in a window: the monitor
uses it to say why an interrupt came late.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sel4vmgen.sim.kernel import (
    RUNNING,
    RUNNING_VM,
    TICK_US,
    Core,
    Kernel,
    KEvent,
    Tcb,
)


@dataclass(eq=False, slots=True)
class SchedContext:
    """One scheduling context: its budget and period (microseconds) and what is left."""

    name: str
    budget: int
    period: int
    left: int = -1
    refill_at: int = -1  # when the budget being used comes back whole (-1: full, unused)
    waiting: list[Tcb] = field(default_factory=list)  # threads out of budget, in order
    empty: list[list[int]] = field(default_factory=list)  # [start, end] of each empty spell

    def __post_init__(self) -> None:
        if self.left < 0:
            self.left = self.budget

    @property
    def round_robin(self) -> bool:
        """seL4 `isRoundRobin`: budget equal to period, refilled as soon as it is spent."""
        return self.budget >= self.period

    def describe(self) -> str:
        """`budget 1000 us every 1000 us`, as findings print it."""
        return f"budget {self.budget} us every {self.period} us"


class McsKernel(Kernel):
    """`Kernel` whose threads run on scheduling contexts (see the module's docstring)."""

    def __init__(self, cores: int = 1, ticks: bool = True) -> None:
        super().__init__(cores, ticks=ticks)
        self.sc: dict[Tcb, SchedContext] = {}
        self.passive: set[Tcb] = set()
        self._charging: list[tuple[Tcb, SchedContext, int] | None] = [None] * cores
        self._token = [0] * cores
        self.observers.append(self._account)

    # ----------------------------------------------------------- configuration

    def give_sc(self, t: Tcb, budget: int, period: int, passive: bool = False) -> SchedContext:
        """Bind a new SC to `t` (a passive thread runs calls on its callers' SCs)."""
        sc = SchedContext(t.name, budget, period)
        self.sc[t] = sc
        if passive:
            self.passive.add(t)
        return sc

    def sc_for(self, t: Tcb) -> SchedContext | None:
        """The SC `t` runs on now: a passive server serving a call runs on its caller's."""
        seen = 0
        while t in self.passive and t.caller is not None and seen < len(self.threads):
            t, seen = t.caller, seen + 1
        return self.sc.get(t)

    # ----------------------------------------------------------- scheduling

    def _tick(self, core: Core) -> None:
        """MCS has no timeslice: the tick only lets the monitor sample the run queues."""
        self.sim.at(self.sim.now + TICK_US, self._tick, core, priority=1)
        for hook in self.tick_hooks:
            hook(core.index)

    def _ready(self, t: Tcb) -> None:
        sc = self.sc_for(t)
        if sc is not None and sc.left <= 0:
            if t not in sc.waiting:
                sc.waiting.append(t)  # released at the refill
            return
        super()._ready(t)

    def _account(self, e: KEvent) -> None:
        """At each switch on a core: charge the thread that ran, start charging the next."""
        if e.kind not in ("switch", "idle"):
            return
        core = self.cores[e.core]
        self._charge(core)
        t = core.current
        if t is None:
            return
        sc = self.sc_for(t)
        if sc is None:
            return
        now = self.sim.now
        if sc.refill_at < 0 and not sc.round_robin:
            sc.refill_at = now + sc.period
            self.sim.at(sc.refill_at, self._refill, sc)
        self._token[e.core] += 1
        self._charging[e.core] = (t, sc, now)
        self.sim.at(now + sc.left, self._exhausted, core, self._token[e.core], priority=-1)

    def _charge(self, core: Core) -> None:
        running = self._charging[core.index]
        if running is None:
            return
        _, sc, since = running
        sc.left = max(0, sc.left - (self.sim.now - since))
        self._charging[core.index] = None
        self._token[core.index] += 1

    def _exhausted(self, core: Core, token: int) -> None:
        if token != self._token[core.index]:
            return
        running = self._charging[core.index]
        assert running is not None
        t, sc, _ = running
        self._charge(core)
        if core.current is not t:
            # preempted at this very instant (a refill made a higher thread ready): the switch
            # is not yet accounted; a spent budget is caught when `t` runs again (`_account`)
            if sc.round_robin:
                sc.left = sc.budget
            return
        if sc.round_robin:
            sc.left = sc.budget
            if core.queues.get(t.priority):
                if self.choices:
                    self._chose(("expire", core.index))
                self.expire(core)
            else:
                self._restart(core, t, sc)
            return
        self._pause(t)
        core.current, t.ready_since = None, None
        sc.waiting.append(t)
        sc.empty.append([self.sim.now, -1])
        whose = "" if sc.name == t.name else f" of {sc.name}"
        self.note(core.index, "budget", t.name, f"budget{whose} spent until {_ms(sc.refill_at)}")
        self._request_dispatch(core)

    def _restart(self, core: Core, t: Tcb, sc: SchedContext) -> None:
        """A round-robin thread alone at its priority runs on with its refilled budget."""
        self._token[core.index] += 1
        self._charging[core.index] = (t, sc, self.sim.now)
        self.sim.at(self.sim.now + sc.left, self._exhausted, core, self._token[core.index])

    def _refill(self, sc: SchedContext) -> None:
        """The period since the budget began to be used is over: the budget is whole again."""
        core_of = {id(r[1]): i for i, r in enumerate(self._charging) if r is not None}
        if id(sc) in core_of:  # still running: charge what it used so far, then refill
            i = core_of[id(sc)]
            running = self._charging[i]
            assert running is not None
            self._charge(self.cores[i])
            sc.left, sc.refill_at = sc.budget, self.sim.now + sc.period
            self.sim.at(sc.refill_at, self._refill, sc)
            self._restart(self.cores[i], running[0], sc)
            return
        sc.left, sc.refill_at = sc.budget, -1
        if sc.empty and sc.empty[-1][1] < 0:
            sc.empty[-1][1] = self.sim.now
        waiting, sc.waiting = sc.waiting, []
        for t in waiting:
            if t.state is RUNNING or t.state is RUNNING_VM:
                self.note(t.core, "refill", t.name, "" if sc.name == t.name else f"of {sc.name}")
                super()._ready(t)

    # ----------------------------------------------------------- reading the run

    def out_of_budget(self, sc: SchedContext, start: int, end: int) -> int:
        """Microseconds of [start, end] during which `sc` had no budget left."""
        total = 0
        for a, b in sc.empty:
            b = self.sim.now if b < 0 else b
            total += max(0, min(b, end) - max(a, start))
        return total

    def sc_named(self, name: str) -> SchedContext | None:
        return next((sc for sc in self.sc.values() if sc.name == name), None)


def _ms(us: int) -> str:
    return f"{us / 1000:.3f} ms"
