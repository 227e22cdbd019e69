"""The explorer's transition system is the kernel model's: a timed run replays through it.

A timed run of a plan records each choice its clock and devices make (a line raised, a
computation or a guest segment ending, a timeslice running out) with the kernel's state
just before it.  Replaying those choices, in order, as explorer actions from the
explorer's initial state must pass through the same kernel states, each action being one
the explorer offers there.  The guests replay the timed run's own script.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import Run
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_plans import arm_plan, arm_vm, resolve_example, x86_plan

from sel4vmgen.plan.model import IrqRoute, Plan, Thread, VmPlan
from sel4vmgen.sim.arm import CHUNK_US
from sel4vmgen.sim.explore import Limits, Product, Reductions, check
from sel4vmgen.sim.kernel import RUNNING_VM, Kernel
from sel4vmgen.sim.monitor import Monitor
from sel4vmgen.sim.system import KState, SystemModel, arm_system, freeze, groups, x86_system
from sel4vmgen.sim.timed import Scenario, build, x86_guest
from sel4vmgen.sim.x86 import X86Guest

KERNEL_WORK = ("dispatch", "continue")  # done within the step that caused it in the explorer


def bare(s: KState) -> KState:
    """A kernel state without the guests' own state (the two runs' guests keep time apart)."""
    return s._replace(threads=tuple(t._replace(guest=None) for t in s.threads))


def pending_work(s: KState) -> bool:
    return any(c.dispatch_pending for c in s.cores) or any(t.continue_pending for t in s.threads)


def record(
    plan: Plan, scenario: Scenario
) -> tuple[list[tuple[Any, KState, dict[int, Any]]], Kernel]:
    """Run the timed run, noting each choice, the kernel before it, and where each running
    guest has got to (what a cut there leaves)."""
    k, _ = build(plan, scenario)
    seen: list[tuple[Any, KState, dict[int, Any]]] = []

    def note(choice: tuple[Any, ...]) -> None:
        where: dict[int, Any] = {}
        for i, t in enumerate(k.threads):
            g = t.guest
            if isinstance(g, X86Guest) and t.state is RUNNING_VM and k.cores[t.core].current is t:
                probe = g.restored(g.snapshot())
                probe.cut(k.sim.now - t.compute_started)
                where[i] = (probe.idx, probe.off)
        seen.append((choice, freeze(k, guests=False), where))

    k.choices.append(note)
    k.run(scenario.duration_ms * 1000)
    return seen, k


def explorer_for(plan: Plan, scenario: Scenario) -> SystemModel:
    mon = Monitor(Kernel(ticks=False))

    def guest(vm: VmPlan) -> X86Guest:
        return x86_guest(vm, scenario, mon)

    return x86_system(plan, interrupts=10**6, guest=guest)


def action_of(model: SystemModel, choice: tuple[Any, ...]) -> tuple[Any, ...]:
    if choice[0] == "exit":
        return ("guest", choice[1], choice[2])
    if choice[0] == "vtimer":  # by VCPU object in the kernel, by timer in the explorer
        return ("vtimer", [t[0] for t in model.timers].index(choice[1]))
    return choice


def replay(plan: Plan, scenario: Scenario) -> tuple[int, int]:
    """(kernel states compared, choices replayed); fails at the first that differs."""
    seen, _ = record(plan, scenario)
    model = (
        arm_system(plan, 10**6, chunk_us=CHUNK_US)
        if plan.arch == "arm"
        else explorer_for(plan, scenario)
    )
    state = model.init_states()[0]
    compared = replayed = 0
    for n, (choice, before, where) in enumerate(seen):
        if choice[0] in KERNEL_WORK:
            continue
        if not pending_work(before):
            assert bare(state.kernel) == before, f"kernel states differ before choice {n}: {choice}"
            compared += 1
        for t, (idx, off) in where.items():
            state = model.next_state(state, ("guest", t, ("seek", idx, off)))
        action = action_of(model, choice)
        if action[0] == "irq" and state.kernel.irqs[action[1]] == (True, True):
            continue  # raised again while masked and already asserted: the kernel does nothing
        if action[0] == "vtimer" and action not in model.actions(state):
            continue  # expired while masked (not acked) or before its VCPU started: nothing
        assert action in model.actions(state), f"choice {n} {choice} not offered by the explorer"
        state = model.next_state(state, action)
        replayed += 1
    return compared, replayed


@pytest.mark.parametrize("critical_us", [0, 50, 400])
def test_a_timed_run_of_one_vm_replays_through_the_explorer(critical_us: int) -> None:
    plan = x86_plan()
    compared, replayed = replay(
        plan, Scenario.of(plan, duration_ms=40, critical_section_us=critical_us)
    )
    assert replayed > 100 and compared > replayed // 2


def test_three_vms_sharing_a_core_with_timeslices_replay_through_the_explorer() -> None:
    plan = x86_plan(vms=3)
    scenario = Scenario.of(plan, duration_ms=60, spin=("vm1",))  # vm1 keeps the core: timeslices
    seen, _ = record(plan, scenario)
    assert any(c[0] == "expire" for c, _, _ in seen)
    compared, replayed = replay(plan, scenario)
    assert replayed > 100 and compared > replayed // 2


@pytest.mark.parametrize("vcpus", [1, 2])
def test_a_timed_run_of_an_arm_vm_replays_through_the_explorer(vcpus: int) -> None:
    plan = arm_plan(arm_vm(vcpus=vcpus), irqs=2, num_nodes=vcpus)
    seen, _ = record(plan, Scenario.of(plan, duration_ms=40))
    kinds = {c[0] for c, _, _ in seen}
    assert {"irq", "vtimer", "done"} <= kinds
    compared, replayed = replay(plan, Scenario.of(plan, duration_ms=40))
    assert replayed > 100 and compared > replayed // 2


def test_an_example_with_its_servers_replays_through_the_explorer() -> None:
    plan = resolve_example("minimal.yaml")
    assert {t.role for t in plan.threads} >= {"time_server", "serial", "fserv", "vm"}
    compared, replayed = replay(plan, Scenario.of(plan, duration_ms=30))
    assert replayed > 50 and compared > replayed // 2


def test_the_explorer_finds_the_stale_rflags_vmm_on_the_kernel_model() -> None:
    plan = x86_plan()
    good = check(x86_system(plan, interrupts=3), Limits(max_depth=400))
    assert good.ok and good.complete
    cex = check(x86_system(plan, interrupts=3, reread=False), Limits(max_depth=400)).counterexample
    assert cex is not None and cex.code == "E501"
    assert cex.message.startswith("vm0: interrupt ") and "injected with IF=" in cex.message


def test_the_explorer_runs_the_plans_threads_at_their_priorities_and_cores() -> None:
    plan = x86_plan(vms=2)
    vms = tuple(replace(v, priority=100 + 10 * i) for i, v in enumerate(plan.vms))
    threads = tuple(
        replace(t, priority=100 + 10 * int(t.vm[2:]), core=int(t.vm[2:])) if t.vm else t
        for t in plan.threads
    )
    plan = replace(plan, vms=vms, threads=threads, num_nodes=2)
    m = x86_system(plan, interrupts=2)
    k = m.template
    got = {t.name: (t.priority, t.core) for t in k.threads}
    assert got["vm0"] == (100, 0) and got["vm1"] == (110, 1)
    assert len(k.cores) == 2
    # one IRQ handler per (VM, line), each signalling its VM's notification with its own bit
    assert [(h.ntfn.name, h.badge) for h in k.handlers] == [
        ("vm0_ntfn", 1),
        ("vm0_ntfn", 2),
        ("vm1_ntfn", 1),
        ("vm1_ntfn", 2),
    ]


@st.composite
def small_plans(draw: st.DrawFn) -> tuple[Plan, bool, int]:
    """An x86 plan of one or two VMs with random priorities, cores and lines, a VMM design
    (good or stale) and a number of interrupts."""
    n = draw(st.integers(1, 2))
    plan = x86_plan(vms=n)
    vms, threads, routes = [], [], []
    for v in plan.vms:
        prio = draw(st.sampled_from([100, 200, 254]))
        core = draw(st.integers(0, 1))
        vms.append(replace(v, priority=prio))
        threads.append(Thread(v.instance, "vm", prio, core, v.instance, 0))
        for j in range(draw(st.integers(0, 2 if n == 1 else 1))):
            routes.append(IrqRoute(v.instance, 10 + j, 10 + j, "level", "passthrough", f"d{j}"))
    plan = replace(plan, vms=tuple(vms), threads=tuple(threads), irq_routes=tuple(routes))
    plan = replace(plan, num_nodes=2)
    return plan, draw(st.booleans()), draw(st.integers(1, 2 if n == 1 else 1))


@settings(max_examples=10, deadline=None)
@given(small_plans())
def test_reductions_keep_the_verdict_and_the_violations(case: tuple[Plan, bool, int]) -> None:
    plan, reread, interrupts = case
    limits = Limits(max_depth=10_000, max_states=400_000)
    none = Reductions(False, False, False)
    whole = check(x86_system(plan, interrupts, 2, reread), limits, none, collect=True)
    por = Reductions(False, False, True)  # the partial order inside one system
    ordered = check(x86_system(plan, interrupts, 2, reread), limits, por, collect=True)
    assert ordered.complete and ordered.ok == whole.ok and ordered.codes == whole.codes
    assert ordered.states <= whole.states
    parts = Product(
        plan.system,
        [
            x86_system(plan, interrupts, 2, reread, vms=g.vms, servers=g.servers)
            for g in groups(x86_system(plan, interrupts, 2, reread))
        ],
    )
    reduced = check(parts, limits, Reductions(), collect=True)
    assert whole.complete and reduced.complete
    assert reduced.ok == whole.ok
    assert reduced.codes == whole.codes
    assert reduced.states <= whole.states


def test_no_reduce_explores_the_whole_plan_as_one_system(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    (tmp_path / "plan.json").write_text(x86_plan(vms=2).to_json())
    args = ("simulate", str(tmp_path), "--explore", "--interrupts", "1", "--format", "json")
    split = json.loads(cli(*args).stdout)["plans"][0]["explored"]
    whole = json.loads(cli(*args, "--no-reduce").stdout)["plans"][0]["explored"]
    assert split["models"] == ["vm0", "vm1"] and split["skipped_symmetric"] == 1
    assert whole["models"] == ["x86_test"] and whole["skipped_symmetric"] == 0
    assert split["exhaustive"] and whole["exhaustive"]
    assert whole["states"] > split["states"]


def test_symmetry_merges_only_vms_the_plan_makes_identical() -> None:
    """Two VMs are explored once only when every fact the model is built from is equal;
    one differing fact (priority, core, a line's trigger or kind, an emulated device)
    keeps them apart."""
    plan = x86_plan(vms=2)

    def keys(p: Plan) -> tuple[object, object]:
        a, b = (x86_system(p, 2, vms=(v,)).symmetry_key() for v in ("vm0", "vm1"))
        return a, b

    a, b = keys(plan)
    assert a == b
    vm1 = plan.vms[1]
    routes = plan.irq_routes
    edge = tuple(replace(r, trigger="edge") if r.vm == "vm1" else r for r in routes)
    virtio = tuple(replace(r, kind="virtio") if r.vm == "vm1" else r for r in routes)
    core = tuple(replace(t, core=1) if t.vm == "vm1" else t for t in plan.threads)
    prio = tuple(replace(t, priority=200) if t.vm == "vm1" else t for t in plan.threads)
    for changed in (
        replace(plan, irq_routes=edge),
        replace(plan, irq_routes=virtio),
        replace(plan, threads=core, num_nodes=2),
        replace(plan, threads=prio),
        replace(plan, vms=(plan.vms[0], replace(vm1, virtio_console=True))),
    ):
        a, b = keys(changed)
        assert a != b
