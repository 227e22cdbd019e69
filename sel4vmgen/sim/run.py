"""Simulating a Plan: static checks, a timed run, and optionally an exploration.

`simulate(plan, ...)` returns a `SimReport`; `check_plan(plan)` is the
bounded, fast version `generate` runs before writing an application.  The
report iterates as `Diagnostic`s (E5xx) so callers can print it with the
other stages' problems.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.plan.model import Plan
from sel4vmgen.sim import trace
from sel4vmgen.sim.explore import (
    Counterexample,
    Limits,
    Product,
    Reductions,
    Result,
    check,
    replay,
)
from sel4vmgen.sim.layout import check_layout
from sel4vmgen.sim.monitor import Blame, Violation
from sel4vmgen.sim.system import SysState, SystemModel, arm_system, groups, x86_system
from sel4vmgen.sim.timed import Scenario, TimedResult, polling_vcpus, run, spinning_guests
from sel4vmgen.source import Document

VmmModel = Literal["x86", "x86_split", "arm"]
MODELS: dict[str, tuple[str, ...]] = {"x86": ("x86", "x86_split"), "arm": ("arm",)}
LABELS = {"x86_split": "x86_split VMM: historical two-thread design, for comparison"}
QUICK_MS = 20  # check_plan's timed run
EXPLORE_INTERRUPTS = 3  # interrupts per VM (or VCPU) in an exploration

HINTS = {
    "E501": "use the single-thread x86 VMM (one thread for VMM and guest)",
    "E502": "inject only into a list register the VMM's shadow shows free",
    "E503": "never suspend a thread that may hold an unanswered fault",
    "E505": "no guest may run above another VM's threads on their core: lower the busy VM's "
    "priority, or give the VMM thread a priority above its VCPU threads (camkes-vm: base_prio, "
    "VCPUs at base_prio - 1)",
    "E507": "move the image, or give RAM room for it",
    "E509": "rate-limit the interrupt source, or let the guest take interrupts",
    "E510": "give each device its own interrupt line (a level-triggered line shared by devices "
    "the guest may not all clear stays masked), and no VM a priority that starves another's VMM",
    "E513": "give the VM a budget_us closer to its period_us, or a shorter period_us",
    "E514": "give the VM a budget_us closer to its period_us, or a shorter period_us",
    "E515": "lower the busy VM's priority, or give it a budget_us below its period_us",
}


Explored = Product[SysState, Hashable] | SystemModel  # the explorer's model of a plan


class Knobs(TypedDict, total=False):
    """Scenario knobs given on the command line (None: the plan's own)."""

    seed: int | None
    duration_ms: int | None
    spin: tuple[str, ...] | None
    timer_hz: int | None
    device_irq_hz: int | None
    critical_section_us: int | None


class ViolationDict(TypedDict):
    code: str
    message: str
    subject: str
    time_us: int | None


class TimedDict(TypedDict):
    kernel_events: int
    interrupts_taken: int
    max_latency_us: int


class ExploredDict(TypedDict):
    models: list[str]
    states: int
    max_depth: int
    complete: bool
    exhaustive: bool
    bounds_reached: list[str]  # states, depth, time: what stopped a search that is not exhaustive
    skipped_symmetric: int


class StepDict(TypedDict):
    step: int
    actor: str
    what: str
    changes: str


class CounterexampleDict(TypedDict):
    model: str
    code: str
    property: str
    message: str
    init: int
    path: list[object]
    steps: list[StepDict]


class ReportDict(TypedDict):
    """A `SimReport` as JSON (`simulate --format json`)."""

    system: str
    platform: str
    vmm_model: str
    ok: bool
    violations: list[ViolationDict]
    timed: NotRequired[TimedDict]
    explored: NotRequired[ExploredDict]
    counterexample: NotRequired[CounterexampleDict]


@dataclass(frozen=True)
class Options:
    """How to simulate: the VMM model and its variants, the scenario, the search bounds."""

    explore: bool = False
    vmm_model: VmmModel | None = None
    check_shadow: bool = True
    reread_after_notification: bool = True
    stop: Literal["none", "suspend"] = "none"
    interrupts: int = EXPLORE_INTERRUPTS
    limits: Limits | None = None
    reductions: Reductions = field(default_factory=Reductions)
    scenario: Knobs = field(default_factory=lambda: Knobs())
    guest_branches: bool = True  # also run each guest busy-looping in turn


@dataclass(frozen=True)
class SimReport:
    """What a simulation found, for one plan."""

    system: str
    platform: str
    vmm_model: str
    violations: tuple[Violation, ...]
    timed: TimedResult | None
    explored: Result | None = None
    model: Explored | None = None
    trace_text: str = ""

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def trace(self) -> str:
        """The printable trace: a counterexample's timeline, or the timed run's kernel events."""
        return self.trace_text

    @property
    def counterexample(self) -> Counterexample | None:
        return self.explored.counterexample if self.explored else None

    def diagnostics(self, doc: Document | None = None) -> tuple[Diagnostic, ...]:
        """The violations as diagnostics; with the system's `doc`, each at the YAML line it
        blames (the VM, its priority, its latency bound)."""
        where = f"{self.system} on {self.platform}"
        return tuple(
            Diagnostic(
                v.code,
                f"{where}: {v.message}",
                doc.span(v.blame) if doc is not None and v.blame else None,
                hint=HINTS.get(v.code),
            )
            for v in self.violations
        )

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.diagnostics())

    def to_dict(self) -> ReportDict:
        d: ReportDict = {
            "system": self.system,
            "platform": self.platform,
            "vmm_model": self.vmm_model,
            "ok": self.ok,
            "violations": [
                {"code": v.code, "message": v.message, "subject": v.subject, "time_us": v.time_us}
                for v in self.violations
            ],
        }
        if self.timed is not None:
            lat = [x for v in self.timed.latencies.values() for x in v]
            d["timed"] = {
                "kernel_events": self.timed.events,
                "interrupts_taken": len(lat),
                "max_latency_us": max(lat, default=0),
            }
        if self.explored is not None:
            e = self.explored
            d["explored"] = {
                "models": e.models,
                "states": e.states,
                "max_depth": e.max_depth,
                "complete": e.complete,
                "exhaustive": e.complete,
                "bounds_reached": sorted(e.bounds),
                "skipped_symmetric": e.skipped_symmetric,
            }
            cex = e.counterexample
            if cex is not None:
                d["counterexample"] = {
                    "model": cex.model,
                    "code": cex.code,
                    "property": cex.prop,
                    "message": cex.message,
                    "init": cex.init,
                    "path": [list(a) if isinstance(a, tuple) else a for a in cex.path],
                    "steps": [
                        {"step": n, "actor": a, "what": w, "changes": c}
                        for n, a, w, c in trace.steps(self.model, cex)
                    ],
                }
        return d


def default_model(plan: Plan) -> VmmModel:
    return "arm" if plan.arch == "arm" else "x86"


def plan_model(plan: Plan, opts: Options) -> Explored:
    """The explorer's model of the whole plan: the plan's threads on the kernel model
    (`sim/system.py`), one system per group of VMs that share a kernel object (all of them
    with `--no-reduce`)."""
    kind = opts.vmm_model or default_model(plan)
    if kind not in MODELS[plan.arch]:
        raise ValueError(f"VMM model {kind} does not run {plan.arch} guests")
    if plan.framework == "microkit":
        return _microkit_model(plan, opts, kind)
    return _camkes_model(plan, opts, kind)


def _microkit_model(plan: Plan, opts: Options, kind: VmmModel) -> Explored:
    """A Microkit plan's system: its VMs' threads as `sim_view` gives them, with the PDs they
    call and their protected calls (`sim/microkit.py`)."""
    from sel4vmgen.sim import microkit

    model = _camkes_model(microkit.sim_view(plan), opts, kind)
    if isinstance(model, SystemModel):
        return microkit.explorable(model, plan, None)
    for part in model.parts:
        assert isinstance(part, SystemModel)
        vms = tuple(dict.fromkeys(o for o in part.owners if o))
        microkit.explorable(part, plan, vms)
    return model


def _camkes_model(plan: Plan, opts: Options, kind: VmmModel) -> Explored:
    """The system of a CAmkES plan (or a Microkit plan's view of one) for VMM design `kind`:
    the whole plan, or a product of the groups that share no kernel object."""
    split: Literal["none", "suspend"] = "suspend" if opts.stop == "suspend" else "none"

    def system(vms: tuple[str, ...] | None = None, servers: bool | None = None) -> SystemModel:
        n, reread = opts.interrupts, opts.reread_after_notification
        if kind == "arm":
            return arm_system(plan, n, opts.check_shadow, vms=vms, servers=servers)
        if kind == "x86":
            return x86_system(plan, n, reread=reread, vms=vms, servers=servers)
        return x86_system(plan, n, split=split, vms=vms, servers=servers)

    whole = system()
    if not opts.reductions.independent:
        return whole
    return Product(plan.system, [system(g.vms, g.servers) for g in groups(whole)])


def explore(model: Explored, limits: Limits, reductions: Reductions) -> Result:
    """Check the plan's model: a product of groups, or the whole system as one."""
    if isinstance(model, Product):  # two calls: each binds check's state and action types
        return check(model, limits, reductions)
    return check(model, limits, reductions)


def blame_of(model: Explored, cex: Counterexample) -> Blame:
    """The YAML field a counterexample's last state blames, as the system that broke the
    property says (empty when it names none)."""
    part = trace.find_part(model, cex.model)
    if not isinstance(part, SystemModel):
        return ()
    last = replay(part, cex)[-1][1]
    return part.blame(cex.code, last)


def limits_of(plan: Plan) -> Limits:
    s = plan.simulation
    return Limits(s.max_depth, s.max_states) if s else Limits()


def simulate(plan: Plan, opts: Options | None = None) -> SimReport:
    """Static checks, the timed run, and (with `opts.explore`) the exploration of `plan`."""
    opts = opts or Options()
    kind = opts.vmm_model or default_model(plan)
    violations = check_layout(plan)
    design = "x86_split" if kind == "x86_split" else ""
    scenario = Scenario.of(
        plan,
        check_shadow=opts.check_shadow,
        design=design,
        stop=opts.stop,
        reread_after_notification=opts.reread_after_notification,
        **opts.scenario,
    )
    timed = run(plan, scenario)
    violations += timed.violations
    text = trace.kernel_timeline(timed.log, timed.violations) if timed.violations else ""
    if opts.guest_branches:
        known = {(v.code, v.subject) for v in violations}
        branches = spinning_guests(plan, scenario) + polling_vcpus(plan, scenario)
        violations += [v for v in branches if (v.code, v.subject) not in known]
    explored, model = None, None
    if opts.explore:
        model = plan_model(plan, opts)
        explored = explore(model, opts.limits or limits_of(plan), opts.reductions)
        cex = explored.counterexample
        if cex is not None:
            blame = blame_of(model, cex)
            violations.append(
                Violation(cex.code, f"{cex.prop}: {cex.message}", cex.model, blame=blame)
            )
            text = trace.timeline(model, cex)
    return SimReport(
        plan.system, plan.platform, kind, tuple(violations), timed, explored, model, text
    )


def check_plan(plan: Plan) -> SimReport:
    """The quick check `generate` runs: static checks and a short timed run."""
    return simulate(plan, Options(scenario={"duration_ms": QUICK_MS}))


def quick_check_scope(microkit: bool = False) -> str:
    """What `check_plan` checks, in words `generate` prints after writing (a Microkit plan's
    timed run also checks its scheduling contexts; its VCPUs do not poll, `polling_vcpus`)."""
    mcs = ", E513-E515" if microkit else ""
    poll = (
        ""
        if microkit
        else ", and for an ARM VM with VCPUs on several cores and a stated irq_latency_us one "
        "with each secondary VCPU polling an emulated device (E506)"
    )
    return (
        f"quick simulation: layout checks (E507, E508), a {QUICK_MS} ms timed run of each plan "
        f"(E501-E503, E505, E506, E509, E510{mcs}) and one with each guest busy-looping in turn "
        f"(E505){poll}; interleavings not explored (run `sel4vmgen simulate FILE --explore` for that)"
    )
