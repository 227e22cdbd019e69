"""A Microkit plan in the simulator: its protection domains on the MCS kernel model.

What a Microkit 2.3.0 system is, as the simulator builds it from `Plan.microkit` (the SDF
resolve decided; nothing here looks at the YAML):

* every protection domain is a thread at its priority, on a scheduling context of its
  budget and period (`sim/mcs.py`); a passive PD runs protected calls on its caller's;
* the VMM PD of a VM is the VM's fault handler, running the same VMM programs as a
  camkes-vm plan (`sim/x86.py`, `sim/arm.py`): on x86 the VM shares the VMM's TCB and
  scheduling context, so one thread runs VMM and guest (libvmm's x86 `vmm.c`
  VMEnter loop); on ARM the VM has its own thread per vCPU, at the VM's priority on the
  VM's scheduling context, whose faults go to the VMM's endpoint;
* channels are notifications: an `irq` of a PD is an IRQ handler signalling the PD's
  notification with the bit of its channel id (libmicrokit `notified(ch)`): a VMM's
  passthrough IRQs are its channels 1.. in the order resolved, the bits its VMM program
  reads (bit 0 is the guest's timer tick, driven as in a camkes-vm plan);
* a protected call (`pp` on the caller's end of a channel) is a `Call` on the callee's
  endpoint, answered by `Reply`; the tool allows it only to a strictly higher priority, so
  the callee preempts its caller at once.  The x86 VMM calls the timer driver once at
  start (libvmm measures the TSC with the HPET when CPUID does not give it).

`build` is the timed run's kernel for such a plan, `explorable` the explorer's; `BudgetMonitor`
says which scheduling context made an interrupt late (E513, E514) and which one holds a core
a PD starves on (E515).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sel4vmgen.plan.microkit_model import MicrokitSystem, MkPd
from sel4vmgen.plan.model import Plan
from sel4vmgen.sim.kernel import Call, Compute, Kernel, Recv, ReplyRecv, Syscall, Tcb
from sel4vmgen.sim.mcs import McsKernel
from sel4vmgen.sim.monitor import Blame, Monitor
from sel4vmgen.sim.program import Program, Ref, Running, spawn

if TYPE_CHECKING:
    from sel4vmgen.sim.system import SystemModel
    from sel4vmgen.sim.timed import Scenario

# What a PD without a VM does for one protected call or notification: the timer driver
# reads the HPET's counter (a model figure: a few register reads and a reply).
SERVER_WORK_US = 5


def sdf_of(plan: Plan) -> MicrokitSystem:
    """The plan's SDF (only Microkit plans reach this module)."""
    assert plan.microkit is not None, f"{plan.platform}: not a Microkit plan"
    return plan.microkit


def sim_view(plan: Plan) -> Plan:
    """The plan as the simulator's VM builders read it: only the threads of VMs, and on x86
    the VMM PD's thread as the VM's own (the VM shares its TCB).  PDs without a VM are built
    from the SDF by `add_pds`."""
    threads = tuple(
        replace(t, role="vm") if plan.arch == "x86" and t.role == "vmm" else t
        for t in plan.threads
        if t.vm is not None
    )
    return replace(plan, threads=threads)


# ------------------------------------------------------------------ programs


@dataclass(frozen=True)
class PpCalls:
    """A PD's program that first makes its protected calls, one per endpoint in `eps`, then
    runs `inner` (the x86 VMM asks the timer driver for the time before its guest starts)."""

    inner: Program[Hashable]
    eps: tuple[int, ...]

    def start(self) -> tuple[int, Hashable]:
        return 0, self.inner.start()

    def objects(self) -> frozenset[Ref]:
        return self.inner.objects() | {("ep", e) for e in self.eps}

    def step(
        self, k: Kernel, me: Tcb, local: tuple[int, Hashable], value: object
    ) -> tuple[Hashable, Syscall | None]:
        n, inner = local
        if n < len(self.eps):
            return (n + 1, inner), Call(k.endpoints[self.eps[n]], "ppcall")
        if n == len(self.eps):
            value = None  # the inner program starts afresh
        nxt, op = self.inner.step(k, me, inner, value)
        return (len(self.eps) + 1, nxt), op


@dataclass(frozen=True)
class ServerLoop:
    """A PD without a VM, as libmicrokit's event loop runs it: wait on its endpoint
    (protected calls) and its bound notification (channels), handle what came, answer a
    call with `ReplyRecv`, wait again."""

    ep: int
    work_us: int = SERVER_WORK_US

    def start(self) -> str:
        return "recv"

    def objects(self) -> frozenset[Ref]:
        return frozenset({("ep", self.ep)})

    def step(self, k: Kernel, me: Tcb, local: str, value: object) -> tuple[str, Syscall]:
        ep = k.endpoints[self.ep]
        if local == "recv":
            return "got", Recv(ep)
        if local == "got":
            called = isinstance(value, tuple) and value[0] != "notification"
            return ("reply" if called else "recv"), Compute(self.work_us)
        return "got", ReplyRecv(ep, "ok")


# ------------------------------------------------------------------ building


def add_pds(k: Kernel, plan: Plan, vms: Sequence[str] | None = None) -> None:
    """The PDs without a VM (those the chosen VMs call, or all of them with `vms` None) as
    servers on their endpoints, and each VMM's protected calls made before its loop."""
    mk = sdf_of(plan)
    chosen = {p.vm_instance for p in mk.pds if p.vm is not None}
    if vms is not None:
        chosen = set(vms)
    callers = {p.name for p in mk.pds if p.vm_instance in chosen}
    serving = reached(mk, callers)
    wanted = [
        p
        for p in mk.pds
        if p.vm is None
        and (vms is None or p.name in serving or any(c in callers for c in callers_of(mk, p.name)))
    ]
    eps: dict[str, int] = {}
    for pd in wanted:
        ep = k.endpoint(f"{pd.name}_ep")
        eps[pd.name] = k.endpoints.index(ep)
        tcb = spawn(k, pd.name, pd.priority, 0, ServerLoop(eps[pd.name]))  # MkPd has no cpu
        k.bind(tcb, k.notification(f"{pd.name}_ntfn"))
        k.start(tcb)
    for pd in mk.pds:
        if pd.vm_instance not in chosen:
            continue
        calls = tuple(eps[c] for c in callees_of(mk, pd.name) if c in eps)
        vmm = next((t for t in k.threads if t.name == pd.name), None)
        if calls and vmm is not None and isinstance(vmm.body, Running):
            vmm.body.program = PpCalls(vmm.body.program, calls)
            vmm.body.local = vmm.body.program.start()


def reached(mk: MicrokitSystem, pds: set[str]) -> set[str]:
    """The PDs joined to `pds` by channels, directly or through others: the sDDF
    virtualisers and drivers behind a VMM's virtio devices."""
    seen = set(pds)
    todo = list(pds)
    while todo:
        here = todo.pop()
        for ch in mk.channels:
            for a, b in ((ch.a.pd, ch.b.pd), (ch.b.pd, ch.a.pd)):
                if a == here and b not in seen:
                    seen.add(b)
                    todo.append(b)
    return seen - pds


def callees_of(mk: MicrokitSystem, pd: str) -> list[str]:
    """The PDs `pd` may make protected calls to (its end of the channel has `pp`)."""
    out = [ch.b.pd for ch in mk.channels if ch.a.pd == pd and ch.a.pp]
    return out + [ch.a.pd for ch in mk.channels if ch.b.pd == pd and ch.b.pp]


def callers_of(mk: MicrokitSystem, pd: str) -> list[str]:
    """The PDs that may make protected calls to `pd`."""
    return [p.name for p in mk.pds if pd in callees_of(mk, p.name)]


def give_scs(k: McsKernel, plan: Plan) -> None:
    """Each thread's scheduling context, from its PD (or its VM, for a vCPU thread)."""
    for name, (budget, period, passive) in contexts(plan).items():
        tcb = next((t for t in k.threads if t.name == name), None)
        if tcb is not None:
            k.give_sc(tcb, budget, period, passive)


def vcpu_threads(plan: Plan, pd: MkPd) -> tuple[str, ...]:
    """The plan's vCPU threads of `pd`'s VM when it has its own scheduling context (ARM)."""
    if pd.vm is None or pd.vm.budget is None:
        return ()
    return tuple(t.name for t in plan.threads if t.vm == pd.vm_instance and t.role == "vcpu")


def contexts(plan: Plan) -> dict[str, tuple[int, int, bool]]:
    """Thread name -> (budget, period, passive): a PD's thread, and on ARM each vCPU thread
    of its VM on the VM's own budget and period."""
    out: dict[str, tuple[int, int, bool]] = {}
    for pd in sdf_of(plan).pds:
        out[pd.name] = (pd.budget, pd.period, pd.passive)
        vm = pd.vm
        if vm is not None and vm.budget is not None:
            period = vm.period if vm.period is not None else vm.budget
            for name in vcpu_threads(plan, pd):
                out[name] = (vm.budget, period, False)
    return out


def build(plan: Plan, scenario: Scenario) -> tuple[McsKernel, Monitor]:
    """The kernel of a timed run of a Microkit plan: its VMs as their VMM programs run them,
    its other PDs as servers, every thread on its scheduling context; not yet run."""
    from sel4vmgen.sim import timed

    k = McsKernel(max(1, plan.num_nodes))
    mon = timed.monitor_for(k, plan, scenario, BudgetMonitor)
    assert isinstance(mon, BudgetMonitor)
    mk = sdf_of(plan)
    mon.vmm_of = {p.vm_instance: p.name for p in mk.pds if p.vm_instance}
    mon.vcpus_of = {p.vm_instance: vcpu_threads(plan, p) for p in mk.pds if p.vm_instance}
    view = sim_view(plan)
    for vm in view.vms:
        timed.build_vm(k, view, vm, scenario, mon)
    add_pds(k, plan)
    give_scs(k, plan)
    return k, mon


def explorable(model: SystemModel, plan: Plan, vms: Sequence[str] | None) -> SystemModel:
    """An explorer's system of a Microkit plan (`sim/system.py`, built from `sim_view`), with
    the PDs its VMs call and their protected calls added to its kernel."""
    add_pds(model.template, plan, vms)
    return model


# ------------------------------------------------------------------ findings


@dataclass
class BudgetMonitor(Monitor):
    """The timed run's monitor on the MCS kernel: a late interrupt whose VMM's (E513) or
    VM's (E514) scheduling context ran out of budget meanwhile is blamed on that budget; a
    thread starved behind a round-robin scheduling context of a higher priority is E515."""

    vmm_of: dict[str, str] = field(default_factory=dict)  # VM instance -> its VMM PD
    vcpus_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # -> its vCPU threads
    _window: tuple[str, int] | None = None  # (VM, raised at) of the interrupt being taken

    def taken(self, vm: str, source: str) -> None:
        q = self.raised_at.get((vm, source))
        self._window = (vm, q[0]) if q else None
        super().taken(vm, source)
        self._window = None

    def finish(self) -> None:
        """E510 as the base monitor finds it, except for the lines of a VM already reported
        out of budget: those stay masked for that one reason."""
        super().finish()
        dry = {v.subject for v in self.violations if v.code in ("E513", "E514")}
        self.violations = [
            v for v in self.violations if not (v.code == "E510" and v.subject.split(":")[0] in dry)
        ]

    def report(self, code: str, subject: str, message: str, blame: Blame = ()) -> None:
        k = self.kernel
        assert isinstance(k, McsKernel)
        if code == "E506" and self._window is not None:
            code, message, blame = self._late(k, self._window, code, message, blame)
        elif code == "E505":
            code, message = self._starved(k, subject, code, message)
        super().report(code, subject, message, blame)

    def _late(
        self, k: McsKernel, window: tuple[str, int], code: str, message: str, blame: Blame
    ) -> tuple[str, str, Blame]:
        """E513/E514 for a late interrupt when a scheduling context of its VM ran dry."""
        vm, since = window
        vmm = k.sc_named(self.vmm_of.get(vm, ""))
        vcpus = [sc for n in self.vcpus_of.get(vm, ()) if (sc := k.sc_named(n)) is not None]
        if vmm is not None and (empty := k.out_of_budget(vmm, since, k.sim.now)):
            shared = "" if vcpus else ", shared with its VM"
            why = (
                f"{vmm.name}'s scheduling context ({vmm.describe()}{shared}) had no budget "
                f"left for {empty} us of the wait"
            )
            return "E513", f"{message}: {why}", self.vm_path(vm, "budget_us")
        for sc in vcpus:
            if empty := k.out_of_budget(sc, since, k.sim.now):
                why = (
                    f"{sc.name}'s scheduling context ({sc.describe()}) had no budget left "
                    f"for {empty} us of the wait"
                )
                return "E514", f"{message}: {why}", self.vm_path(vm, "budget_us")
        return code, message, blame

    def _starved(self, k: McsKernel, subject: str, code: str, message: str) -> tuple[str, str]:
        """E515 when the thread holding the starved one's core runs on a round-robin SC."""
        t = next((x for x in k.threads if x.name == subject), None)
        holder = k.cores[t.core].current if t is not None else None
        sc = k.sc_for(holder) if holder is not None else None
        if sc is None or not sc.round_robin:
            return code, message
        return "E515", (
            f"{message} on a round-robin scheduling context ({sc.describe()}) that leaves "
            "lower priorities no time"
        )
