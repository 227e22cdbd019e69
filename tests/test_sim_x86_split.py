"""The two-thread x86 VMM reproduces the 2018 race; the single-thread design is clean."""

from __future__ import annotations

from dataclasses import replace

from sim_plans import x86_plan

from sel4vmgen.sim import Options, simulate
from sel4vmgen.sim.explore import Limits, check, replay
from sel4vmgen.sim.guests import CLI, HALT, MMIO, STI, WORK, Source, Workload
from sel4vmgen.sim.trace import timeline
from sel4vmgen.sim.x86 import X86Model
from sel4vmgen.sim.x86_split import SplitModel

WORKLOAD = Workload(
    "vm0",
    (MMIO, STI, WORK, CLI, WORK, STI, HALT),
    (Source("timer", 0), Source("eth", 11)),
    (2, 1),
)
BOUND = Limits().depth(200).states(200_000)


def test_stale_read_injects_while_the_guest_cannot_take_it() -> None:
    m = SplitModel(WORKLOAD)
    r = check(m, BOUND)
    cex = r.counterexample
    assert cex is not None and cex.code == "E501"
    before, after = replay(m, cex)[-2][1], replay(m, cex)[-1][1]
    assert before.entry >= 0 and not (before.if_ and not before.shadow)
    assert after.bad_injection.startswith("interrupt ")


def test_suspending_the_vcpu_discards_a_pending_fault() -> None:
    m = SplitModel(WORKLOAD, stop="suspend")
    cex = check(m, BOUND).counterexample
    assert cex is not None and cex.code == "E503"
    assert cex.message == "1 fault(s) discarded before the VMM answered"
    final = replay(m, cex)[-1][1]
    assert final.vcpu == "suspended" and final.faults_lost == 1


def test_same_workload_under_the_single_thread_design_is_proved_clean() -> None:
    r = check(X86Model(WORKLOAD), BOUND)
    assert r.ok and r.complete


def test_counterexample_timeline_names_steps_and_the_broken_property() -> None:
    m = SplitModel(WORKLOAD)
    cex = check(m, BOUND).counterexample
    assert cex is not None
    text = timeline(m, cex)
    lines = text.splitlines()
    assert lines[0] == f"counterexample in vm0 ({len(cex.path)} steps):"
    assert "device raises timer (IRQ 0)" in lines[1]
    assert "VMM thread runs one step" in text and "vmm read->write" in text
    assert lines[-1].startswith(
        "  !!!  E501 broken: no interrupt injected when the guest cannot take it"
    )


def test_plan_level_simulation_with_the_split_model_reports_e501() -> None:
    report = simulate(x86_plan(), Options(explore=True, vmm_model="x86_split"))
    assert [v.code for v in report.violations] == ["E501"]
    clean = simulate(x86_plan(), Options(explore=True, vmm_model="x86"))
    assert clean.ok and clean.explored is not None and clean.explored.complete


def test_timed_split_design_loses_a_fault_to_suspend_in_the_kernel_model() -> None:
    plan = replace(x86_plan(), num_nodes=2)
    report = simulate(plan, Options(vmm_model="x86_split", stop="suspend"))
    assert [(v.code, v.message) for v in report.violations] == [
        ("E503", "fault of vm0_vcpu discarded (suspended in BlockedOnReply)"),
        ("E503", "vm0 replied with no fault to answer"),
    ]
    assert report.timed is not None
    kinds = [e.kind for e in report.timed.log]
    assert kinds.index("fault_discarded") < kinds.index("reply_dropped")


def test_timed_split_design_without_suspend_injects_only_at_the_next_exit() -> None:
    plan = replace(x86_plan(), num_nodes=2)
    split = simulate(plan, Options(vmm_model="x86_split"))
    single = simulate(plan)
    assert split.timed is not None and single.timed is not None
    assert max(split.timed.latencies["vm0"]) > 4 * max(single.timed.latencies["vm0"])
