"""What a timed run observes: interrupt latencies, starvation, lost faults and interrupts.

The `Monitor` is told when a device raises an interrupt and when the guest
takes it, watches the kernel's event log (`fault_discarded`,
`reply_cap_lost`, `reply_dropped`) and, at every tick, how long each runnable
thread has waited.  Each problem becomes a `Violation` with its E5xx code,
reported once per (code, subject).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sel4vmgen.sim.kernel import TICK_US, TIMESLICE_TICKS, IrqHandler, Kernel, KEvent

STARVATION_US = 2 * TIMESLICE_TICKS * TICK_US  # two full timeslices: 20 ms
# E506 without a stated irq_latency_us: one timeslice (10 ms), the longest a VM sharing its
# core at equal priority waits for its turn when every thread on the core behaves
DEFAULT_LATENCY_US = TIMESLICE_TICKS * TICK_US
MASKED_US = TIMESLICE_TICKS * TICK_US  # a line masked a whole timeslice with nobody to ack it

Blame = tuple[str | int, ...]  # a path into the system YAML: the field that causes a violation


@dataclass(frozen=True)
class Violation:
    """A property broken in a run: code, what happened, where, and when (microseconds)."""

    code: str
    message: str
    subject: str = ""
    time_us: int | None = None
    blame: Blame = ()


@dataclass
class Monitor:
    kernel: Kernel
    starvation_us: int = STARVATION_US
    bounds: dict[str, int] = field(default_factory=dict)  # vm -> irq latency bound (us)
    vm_index: dict[str, int] = field(default_factory=dict)  # vm instance -> index in `vms`
    stated: frozenset[str] = frozenset()  # VMs whose bound the YAML states
    lines: list[tuple[str, IrqHandler]] = field(default_factory=list)  # (vm, handler)
    owner: dict[str, str] = field(default_factory=dict)  # thread name -> its VM's instance
    # (vm, line) -> why the line stays masked and the VM's field that causes it (E510)
    causes: dict[tuple[str, str], tuple[str, Blame]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    latencies: dict[str, list[int]] = field(default_factory=dict)
    taken_from: set[tuple[str, str]] = field(default_factory=set)  # (vm, source) the guest took
    raised_at: dict[tuple[str, str], deque[int]] = field(default_factory=dict)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.kernel.observers.append(self._event)
        self.kernel.tick_hooks.append(self._tick)

    def report(self, code: str, subject: str, message: str, blame: Blame = ()) -> None:
        if (code, subject) in self._seen:
            return
        self._seen.add((code, subject))
        vm = self.owner.get(subject, subject.split(":")[0])
        blame = blame or self.vm_path(vm)
        self.violations.append(Violation(code, message, subject, self.kernel.sim.now, blame))

    def vm_path(self, vm: str, *path: str | int) -> Blame:
        """The YAML path of VM `vm`'s field `path` (the VM itself when unknown)."""
        i = self.vm_index.get(vm)
        return () if i is None else ("vms", i, *path)

    def finish(self) -> None:
        """At the end of the run: E510 for each line masked a timeslice or more, never acked."""
        now = self.kernel.sim.now
        aborted = {v.subject for v in self.violations if v.code == "E509"}
        for vm, h in self.lines:
            if vm in aborted:
                continue  # its VMM aborted: every line it had is masked for that one reason
            if h.masked and now - h.masked_at >= MASKED_US:
                why, path = self.causes.get((vm, h.name), ("", ("passthrough",)))
                self.report(
                    "E510",
                    f"{vm}:{h.name}",
                    f"{vm}: interrupt line {h.name} (IRQ {h.irq}) masked since "
                    f"{_ms(h.masked_at)} and never acked: the device cannot interrupt again"
                    + (f"; {why}" if why else ""),
                    self.vm_path(vm, *path),
                )

    def raised(self, vm: str, source: str) -> None:
        self.raised_at.setdefault((vm, source), deque()).append(self.kernel.sim.now)

    def taken(self, vm: str, source: str) -> None:
        """The guest took `source`: every raise it merges is answered; record the oldest."""
        q = self.raised_at.get((vm, source))
        if not q:
            return
        now = self.kernel.sim.now
        self.taken_from.add((vm, source))
        oldest = q[0]
        q.clear()
        waited = now - oldest
        self.latencies.setdefault(vm, []).append(waited)
        bound = self.bounds.get(vm, DEFAULT_LATENCY_US)
        if waited > bound:
            stated = vm in self.stated
            what = f"the {bound} us bound" if stated else f"the default {bound} us (one timeslice)"
            self.report(
                "E506",
                vm,
                f"{vm}: interrupt {source} raised at {_ms(oldest)} reached the guest "
                f"{waited} us later, over {what}",
                self.vm_path(vm, "requirements", "irq_latency_us") if stated else self.vm_path(vm),
            )

    def lost(self, vm: str, source: str, why: str) -> None:
        q = self.raised_at.get((vm, source))
        if q:
            q.popleft()
        self.report("E502", f"{vm}:{source}", f"{vm}: interrupt {source} lost: {why}")

    def _event(self, e: KEvent) -> None:
        if e.kind == "fault_discarded":
            self.report("E503", e.thread, f"fault of {e.thread} discarded ({e.detail})")
        elif e.kind == "reply_cap_lost":
            self.report("E503", e.thread, f"reply cap for {e.thread} lost: {e.detail}")
        elif e.kind == "reply_dropped":
            self.report("E503", e.thread, f"{e.thread} replied with no fault to answer")

    def _tick(self, core: int) -> None:
        now = self.kernel.sim.now
        for queue in self.kernel.cores[core].queues.values():
            for t in queue:
                if t.ready_since is not None and now - t.ready_since > self.starvation_us:
                    cur = self.kernel.cores[core].current
                    who = f"{cur.name} (priority {cur.priority})" if cur else "nothing"
                    self.report(
                        "E505",
                        t.name,
                        f"{t.name} (priority {t.priority}) runnable on core {core} since "
                        f"{_ms(t.ready_since)} but not run for {(now - t.ready_since) // 1000} ms; "
                        f"{who} holds the core",
                    )


def _ms(us: int) -> str:
    return f"{us / 1000:.3f} ms"
