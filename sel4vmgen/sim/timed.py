"""A timed run of a Plan: the kernel model, the VMM threads, guests and devices, for a while.

Threads come from `Plan.threads` (priority, core): on x86 one thread per VM
runs the VMEnter loop; on ARM a VMM thread per VM serves its VCPU threads.
Devices fire periodically with a seeded jitter (the timer at `timer_hz`,
each routed interrupt at `device_irq_hz`); the guest boots (one access per
emulated device; secondary VCPUs start on PSCI CPU_ON) and then loops over
work, a critical section with interrupts off, and an idle wait, or spins
when the scenario says so.  The `Monitor` turns what happens into E5xx
violations.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sel4vmgen.plan.model import (
    DEFAULT_SIMULATION,
    LIBSEL4VM_LIST_REGISTERS,
    Plan,
    Thread,
    VmPlan,
)
from sel4vmgen.sim import arm, x86, x86_split
from sel4vmgen.sim.guests import EMULATED, held_cause, sources_for
from sel4vmgen.sim.kernel import (
    BLOCKED_ON_NOTIFICATION,
    IrqHandler,
    Kernel,
    KEvent,
    Notification,
    Syscall,
    Tcb,
    Wait,
)
from sel4vmgen.sim.monitor import STARVATION_US, Monitor, Violation
from sel4vmgen.sim.program import Ref, spawn

SPIN_CODES = frozenset({"E505", "E515"})  # what a busy-looping guest causes: threads starved

POLL_GAP_US = 2  # a polling guest between two accesses: the VM entry and exit on its core
MAX_BOOT_TOUCHES = 8  # devices touched at boot beyond this behave alike


@dataclass(frozen=True)
class Scenario:
    """The knobs of a run: `Plan.simulation`, overridden from the command line."""

    seed: int = DEFAULT_SIMULATION.seed
    duration_ms: int = DEFAULT_SIMULATION.duration_ms
    timer_hz: int = DEFAULT_SIMULATION.timer_hz
    device_irq_hz: int = DEFAULT_SIMULATION.device_irq_hz
    critical_section_us: int = DEFAULT_SIMULATION.critical_section_us
    spin: tuple[str, ...] = ()  # VMs (name or instance) whose guests busy-loop, tickless
    poll: tuple[str, ...] = ()  # ARM VCPU threads whose guests poll an emulated device
    check_shadow: bool = True
    reread_after_notification: bool = True  # False: the stale-RFLAGS x86 VMM
    design: str = ""  # x86_split: the two-thread x86 VMM instead of the plan's own
    stop: str = "none"  # x86_split: "suspend" to stop the VCPU thread while injecting
    starvation_us: int = STARVATION_US

    @classmethod
    def of(cls, plan: Plan, **overrides: object) -> Scenario:
        base = cls()
        s = plan.simulation
        if s is not None:
            base = cls(s.seed, s.duration_ms, s.timer_hz, s.device_irq_hz, s.critical_section_us)
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(base, **given)  # type: ignore[arg-type]


@dataclass
class TimedResult:
    violations: list[Violation]
    log: list[KEvent]
    events: int
    latencies: dict[str, list[int]] = field(default_factory=dict)
    cores: int = 1
    taken_from: frozenset[tuple[str, str]] = frozenset()  # (vm, source) the guests took


def run(plan: Plan, scenario: Scenario) -> TimedResult:
    """Build the system of `plan` in the kernel model and run it for the scenario's duration."""
    k, mon = build(plan, scenario)
    k.run(scenario.duration_ms * 1000)
    mon.finish()
    return TimedResult(
        mon.violations,
        k.log,
        k.sim.events,
        mon.latencies,
        len(k.cores),
        frozenset(mon.taken_from),
    )


def build(plan: Plan, scenario: Scenario) -> tuple[Kernel, Monitor]:
    """The kernel of a timed run of `plan`: its threads, objects and devices, not yet run
    (a Microkit plan's on the MCS kernel, `sim/microkit.py`)."""
    if plan.framework == "microkit":
        from sel4vmgen.sim import microkit

        return microkit.build(plan, scenario)
    k = Kernel(cores=max(1, plan.num_nodes))
    mon = monitor_for(k, plan, scenario)
    for vm in plan.vms:
        build_vm(k, plan, vm, scenario, mon)
    build_servers(k, plan)
    return k, mon


def monitor_for(
    k: Kernel, plan: Plan, scenario: Scenario, kind: type[Monitor] = Monitor
) -> Monitor:
    """The monitor of a timed run of `plan` on `k`: its VMs' latency bounds and threads."""
    bounds = {v.instance: v.irq_latency_us for v in plan.vms if v.irq_latency_us is not None}
    index = {v.instance: i for i, v in enumerate(plan.vms)}
    mon = kind(k, scenario.starvation_us, bounds, index, frozenset(bounds))
    mon.owner = {t.name: t.vm for t in plan.threads if t.vm is not None}
    return mon


def build_vm(k: Kernel, plan: Plan, vm: VmPlan, scenario: Scenario, mon: Monitor) -> None:
    """One VM's threads, objects and devices, in the VMM design the scenario names."""
    make = _build_arm if plan.arch == "arm" else _build_x86
    if scenario.design == "x86_split":
        make = _build_split
    make(k, plan, vm, scenario, mon)


VM_ROLES = frozenset({"vm", "vmm", "vcpu", "irq_server"})


@dataclass(frozen=True)
class Idle:
    """A server whose protocol is not modelled: it waits on its notification."""

    ntfn: int

    def start(self) -> int:
        return 0

    def objects(self) -> frozenset[Ref]:
        return frozenset({("ntfn", self.ntfn)})

    def step(self, k: Kernel, me: Tcb, local: int, value: object) -> tuple[int, Syscall]:
        return 0, Wait(k.notifications[self.ntfn])


def build_servers(k: Kernel, plan: Plan) -> None:
    """The plan's threads that serve no one VM (time server, serial server, file server,
    native components), at their priorities and cores, as they are once initialised:
    waiting on their notification."""
    for th in plan.threads:
        if th.role in VM_ROLES:
            continue
        n = k.notification(f"{th.name}_ntfn")
        tcb = spawn(k, th.name, th.priority, th.core or 0, Idle(k.notifications.index(n)))
        tcb.state, tcb.blocked_on = BLOCKED_ON_NOTIFICATION, n
        n.waiters.append(tcb)


def spinning_guests(plan: Plan, scenario: Scenario) -> list[Violation]:
    """The branch the guest decides: each VM's guest in turn busy-loops with its timer off
    (a guest may), long enough to see starvation; what that causes, blamed on its priority."""
    found: list[Violation] = []
    seen: set[tuple[str, str]] = set()
    duration = max(scenario.duration_ms, 3 * scenario.starvation_us // 1000)
    for i, vm in enumerate(plan.vms):
        if _spins(vm, scenario):
            continue  # already busy-looping in the main run
        branch = replace(scenario, spin=(vm.instance,), duration_ms=duration)
        for v in run(plan, branch).violations:
            if v.code in SPIN_CODES and (v.code, v.subject) not in seen:
                seen.add((v.code, v.subject))
                prio = _guest_priority(plan, vm)
                why = f"while {vm.name}'s guest busy-loops (priority {prio}): {v.message}"
                found.append(replace(v, message=why, blame=("vms", i, "priority")))
    return found


def polling_vcpus(plan: Plan, scenario: Scenario) -> list[Violation]:
    """The branch an SMP ARM guest decides: each secondary VCPU in turn polls an emulated
    device (its vGIC distributor: every ARM VM has one), each access a fault its VM's one
    VMM thread serves on the VMM's core, above the boot VCPU there.  An interrupt of the boot
    VCPU (where the VMM injects device interrupts) late against the VM's stated
    `irq_latency_us` is E506, blamed on that bound (seL4 #478: one fault thread for VCPUs
    on several cores)."""
    found: list[Violation] = []
    if plan.arch != "arm" or plan.framework != "camkes":
        return found
    bounded = {v.instance for v in plan.vms if v.irq_latency_us is not None}
    for t in plan.threads:
        vmm = _thread(plan, _vm(plan, t.vm), "vmm") if t.vm in bounded else None
        if vmm is None or t.role != "vcpu" or not t.vcpu or (t.core or 0) == (vmm.core or 0):
            continue
        branch = replace(scenario, poll=(t.name,))
        for v in run(plan, branch).violations:
            if v.code == "E506" and v.subject == t.vm:
                why = (
                    f"while {t.name} on core {t.core} polls an emulated device (each access "
                    f"a fault that {vmm.name}, the VM's one VMM thread, serves on core "
                    f"{vmm.core or 0} above the boot VCPU): {v.message}"
                )
                found.append(replace(v, message=why))
                return found
    return found


def _vm(plan: Plan, instance: str | None) -> VmPlan:
    return next(v for v in plan.vms if v.instance == instance)


def _guest_priority(plan: Plan, vm: VmPlan) -> int:
    """The priority the guest's code runs at: its VCPU threads (ARM), its VM thread (x86)."""
    role = "vcpu" if plan.arch == "arm" else "vm"
    prios = [t.priority for t in plan.threads if t.vm == vm.instance and t.role == role]
    return max(prios, default=vm.priority)


def _thread(plan: Plan, vm: VmPlan, role: str, vcpu: int | None = None) -> Thread:
    for t in plan.threads:
        if t.vm == vm.instance and t.role == role and (vcpu is None or t.vcpu == vcpu):
            return t
    return Thread(vm.instance, "vm", vm.priority, 0, vm.instance, vcpu)


def _spins(vm: VmPlan, s: Scenario) -> bool:
    return vm.name in s.spin or vm.instance in s.spin


def _touches(vm: VmPlan) -> int:
    n = sum(1 for d in vm.devices if d.kind in EMULATED) + int(vm.virtio_console)
    return min(n, MAX_BOOT_TOUCHES)


def periodic(
    k: Kernel, hz: int, rng: random.Random, fire: Callable[[], None], start: int = 0
) -> None:
    """Call `fire` about `hz` times a second, each period jittered by up to a quarter."""
    if hz <= 0:
        return
    period = max(1, 1_000_000 // hz)

    def tick() -> None:
        fire()
        k.sim.after(period + rng.randint(-period // 4, period // 4), tick)

    k.sim.at(start + rng.randint(0, period), tick)


def x86_guest(vm: VmPlan, s: Scenario, mon: Monitor) -> x86.X86Guest:
    """The timed run's guest of an x86 VM: boot, then work, a critical section, HLT."""
    phases, loop = x86.x86_phases(_touches(vm), s.critical_section_us, _spins(vm, s))
    return x86.X86Guest(vm.instance, phases, loop, mon)


def _build_x86(k: Kernel, plan: Plan, vm: VmPlan, s: Scenario, mon: Monitor) -> None:
    guest = x86_guest(vm, s, mon)
    tcb = build_x86_vm(k, plan, vm, guest, s.reread_after_notification)
    for i, h in enumerate(tcb_handlers(k, tcb)):
        drive(k, h, s, mon, vm, i)
    for src in sources_for(plan, vm):
        if src.held:
            mon.causes[vm.instance, src.name] = held_cause(vm, src)


def build_x86_vm(k: Kernel, plan: Plan, vm: VmPlan, guest: x86.X86Port, reread: bool = True) -> Tcb:
    """The kernel objects of one x86 VM: its thread (the plan's priority and core) running
    `X86Vmm` on `guest`, its bound notification, an IRQ handler per source; started."""
    t = _thread(plan, vm, "vm")
    ntfn = k.notification(f"{vm.instance}_ntfn")
    sources = sources_for(plan, vm)
    first = len(k.handlers)
    for i, src in enumerate(sources):
        k.irq_handler(src.irq, ntfn, 1 << i, src.name)
    handlers = tuple(range(first, len(k.handlers)))
    program = x86.X86Vmm(handlers, k.notifications.index(ntfn), reread)
    if isinstance(guest, x86.X86Guest):
        guest.names = tuple(src.name for src in sources)
    guest.held = tuple(src.held for src in sources)
    tcb = spawn(k, t.name, t.priority, t.core or 0, program)
    tcb.guest = guest
    k.bind(tcb, ntfn)
    k.start(tcb)
    return tcb


def tcb_handlers(k: Kernel, tcb: Tcb) -> list[IrqHandler]:
    """The IRQ handlers that signal `tcb`'s bound notification, in badge order."""
    return sorted((h for h in k.handlers if h.ntfn is tcb.bound), key=lambda h: h.badge)


def drive(k: Kernel, h: IrqHandler, s: Scenario, mon: Monitor, vm: VmPlan, i: int) -> None:
    """A device firing `h` periodically (the timer at `timer_hz`, others at `device_irq_hz`)."""
    if i:  # the timer's line is the VMM's own (emulated)
        mon.lines.append((vm.instance, h))
    rng = random.Random(f"{s.seed}:{vm.instance}:{h.name}:{i}")
    hz = s.timer_hz if i == 0 else s.device_irq_hz

    def fire() -> None:
        if k.device_raise(h):
            mon.raised(vm.instance, h.name)

    periodic(k, hz, rng, fire)


def _build_split(k: Kernel, plan: Plan, vm: VmPlan, s: Scenario, mon: Monitor) -> None:
    stop: x86_split.Stop = "suspend" if s.stop == "suspend" else "none"
    vmm = build_split_vm(k, plan, vm, x86_guest(vm, s, mon), stop)
    for i, h in enumerate(tcb_handlers(k, vmm)):
        drive(k, h, s, mon, vm, i)


def build_split_vm(
    k: Kernel, plan: Plan, vm: VmPlan, guest: x86.X86Port, stop: x86_split.Stop
) -> Tcb:
    """The historical two-thread x86 VMM: the VMM thread (the plan's VM thread) with the
    bound notification and an IRQ handler per source, and a VCPU thread running the guest
    on the next core when there is one.  Returns the VMM thread."""
    t = _thread(plan, vm, "vm")
    core = t.core or 0
    ntfn, ep = k.notification(f"{vm.instance}_ntfn"), k.endpoint(f"{vm.instance}_fault_ep")
    ep_i = k.endpoints.index(ep)
    sources = sources_for(plan, vm)
    first = len(k.handlers)
    for i, src in enumerate(sources):
        k.irq_handler(src.irq, ntfn, 1 << i, src.name)
    if isinstance(guest, x86.X86Guest):
        guest.names = tuple(src.name for src in sources)
    vcpu = spawn(k, f"{t.name}_vcpu", t.priority, core + 1, x86_split.SplitVcpu(ep_i))
    vcpu.guest = guest
    program = x86_split.SplitVmm(
        k.threads.index(vcpu), ep_i, tuple(range(first, len(k.handlers))), stop
    )
    vmm = spawn(k, t.name, t.priority, core, program)
    k.bind(vmm, ntfn)
    k.start(vmm)
    k.start(vcpu)
    return vmm


def _arm_phases(
    vm: VmPlan, index: int, s: Scenario, secondaries: int
) -> tuple[list[tuple[str, int, bool]], int]:
    boot: list[tuple[str, int, bool]] = []
    if index == 0:
        boot = [("mmio", 0, False)] * _touches(vm) + [
            ("psci", i, False) for i in range(1, secondaries + 1)
        ]
    if _spins(vm, s):
        return [*boot, ("work", 1000, True)], len(boot)
    if f"{vm.instance}_vcpu{index}" in s.poll:
        return [*boot, ("mmio", 0, True), ("work", POLL_GAP_US, True)], len(boot)
    loop = [("work", 200, True)]
    if s.critical_section_us:
        loop.append(("work", s.critical_section_us, False))
    loop += [("work", 100, True), ("wfi", 0, True)]
    return boot + loop, len(boot)


def _build_arm(k: Kernel, plan: Plan, vm: VmPlan, s: Scenario, mon: Monitor) -> None:
    vcpus = build_arm_vm(k, plan, vm, s, mon)
    tcb_vmm = next(t for t in k.threads if t.name == _thread(plan, vm, "vmm").name)
    for i, h in enumerate(tcb_handlers(k, tcb_vmm), start=1):
        drive(k, h, s, mon, vm, i)
    assert tcb_vmm.bound is not None
    for obj, t in vcpus:
        if _spins(vm, s):
            continue  # a spinning guest is tickless: its virtual timer is off
        vc = arm.vcpu_of(k, obj)
        rng = random.Random(f"{s.seed}:{vm.instance}:vtimer:{vc.index}")

        def fire(obj: int = obj, t: int = t, n: Notification = tcb_vmm.bound) -> None:
            k.world_choice(("vtimer", obj))
            arm.vtimer_fire(k, arm.vcpu_of(k, obj), k.threads[t], n)

        periodic(k, s.timer_hz, rng, fire)


def build_arm_vm(
    k: Kernel,
    plan: Plan,
    vm: VmPlan,
    s: Scenario,
    mon: Monitor | None,
    chunk_us: int = arm.CHUNK_US,
) -> list[tuple[int, int]]:
    """The kernel objects of one ARM VM: a VCPU object and thread per VCPU (the plan's
    priorities and cores) running `VcpuThread`, the VMM thread running `ArmVmm` with its
    fault endpoint and bound notification, an IRQ handler per routed line; the VMM and the
    boot VCPU started.  Returns (VCPU object, VCPU thread) indices."""
    lrs = plan.gic.list_registers if plan.gic else LIBSEL4VM_LIST_REGISTERS
    vmm_t = _thread(plan, vm, "vmm")
    vcpu_ts = [t for t in plan.threads if t.vm == vm.instance and t.role == "vcpu"] or [
        Thread(f"{vm.instance}_vcpu0", "vcpu", max(0, vm.priority - 1), 0, vm.instance, 0)
    ]
    ep, ntfn = k.endpoint(f"{vm.instance}_fault_ep"), k.notification(f"{vm.instance}_ntfn")
    ep_i = k.endpoints.index(ep)
    out: list[tuple[int, int]] = []
    for t in vcpu_ts:
        idx = t.vcpu or 0
        phases, loop = _arm_phases(vm, idx, s, len(vcpu_ts) - 1)
        vc = arm.Vcpu(vm.instance, idx, phases, loop, [(arm.INVALID, None)] * lrs, [None] * lrs)
        vc.monitor = mon
        k.objects.append(vc)
        tcb = spawn(
            k, t.name, t.priority, t.core or 0, arm.VcpuThread(len(k.objects) - 1, ep_i, chunk_us)
        )
        out.append((len(k.objects) - 1, k.threads.index(tcb)))
    first = len(k.handlers)
    for i, src in enumerate(sources_for(plan, vm)[1:], start=1):
        k.irq_handler(src.irq, ntfn, 1 << i, src.name)
    program = arm.ArmVmm(
        tuple(o for o, _ in out),
        tuple(t for _, t in out),
        ep_i,
        tuple(range(first, len(k.handlers))),
        s.check_shadow,
    )
    vmm = spawn(k, vmm_t.name, vmm_t.priority, vmm_t.core or 0, program)
    k.bind(vmm, ntfn)
    k.start(vmm)
    arm.vcpu_of(k, out[0][0]).started = True
    k.start(k.threads[out[0][1]])
    return out
