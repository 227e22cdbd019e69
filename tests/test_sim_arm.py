"""The ARM VMM and vGIC: list registers, the shadow, the overflow ring, priorities."""

from __future__ import annotations

from dataclasses import replace

from sim_plans import arm_plan, arm_vm, resolve_example

from sel4vmgen.sim import Options, plan_model, simulate
from sel4vmgen.sim.arm import ACTIVE, INVALID, PENDING, ArmModel, ArmState
from sel4vmgen.sim.explore import Limits, Product, check, replay
from sel4vmgen.sim.guests import CLI, MMIO, STI, WORK, Source, Workload, run_program, sources_for
from sel4vmgen.sim.trace import timeline

SOURCES = tuple(Source(f"dev{i}", 33 + i) for i in range(5))


def started(m: ArmModel) -> ArmState:
    return m.init_states()[0]


def test_inject_into_an_active_list_register_is_refused_and_queued() -> None:
    m = ArmModel(Workload("v", (STI, WORK, WORK), SOURCES[:2], (1, 1)), lrs=1)
    s = m.next_state(started(m), "guest")  # sti
    s = m.next_state(s, ("irq", 0))
    s = m.next_state(s, "vmm_irq")
    assert s.lrs == ((PENDING, 0),)
    s = m.next_state(s, "guest")  # the guest acknowledges: active
    assert s.lrs == ((ACTIVE, 0),) and s.delivered == 1
    s = m.next_state(m.next_state(s, ("irq", 1)), "vmm_irq")
    assert s.lrs == ((ACTIVE, 0),) and s.ring == (1,)  # no free slot in the shadow: queued
    s = m.next_state(s, "guest")  # EOI: invalid, maintenance fault
    assert s.lrs == ((INVALID, -1),) and s.vcpu == "maint"
    s = m.next_state(s, "vmm_fault")  # frees the slot, acks dev0, refills from the ring
    assert s.lrs == ((PENDING, 1),) and s.ring == () and s.masked == 0b10


def test_wfi_blocks_until_the_next_injection() -> None:
    m = ArmModel(Workload("v", (STI, "halt", WORK), SOURCES[:1], (1,)))
    s = m.next_state(m.next_state(started(m), "guest"), "guest")
    assert s.vcpu == "wfi" and "guest" not in m.actions(s)
    s = m.next_state(m.next_state(s, ("irq", 0)), "vmm_irq")
    assert s.vcpu == "guest" and s.pc == 2 and s.lrs[0] == (PENDING, 0)


def test_shadow_checked_injection_is_clean_exhaustively() -> None:
    w = Workload("v", (MMIO, *run_program()), SOURCES, (1,) * 5)
    r = check(ArmModel(w, lrs=4), Limits().depth(500).states(10**6))
    assert r.ok and r.complete


def test_injecting_without_the_shadow_overwrites_a_pending_list_register() -> None:
    w = Workload("v", (MMIO, *run_program()), SOURCES, (1,) * 5)
    m = ArmModel(w, lrs=4, check_shadow=False)
    cex = check(m, Limits().depth(500)).counterexample
    assert cex is not None and cex.code == "E502"
    before, after = replay(m, cex)[-2][1], replay(m, cex)[-1][1]
    lost = [i for i, (b, a) in enumerate(zip(before.lrs, after.lrs, strict=True)) if b != a]
    assert before.lrs[lost[0]][0] == PENDING and after.lrs[lost[0]][0] == PENDING
    assert cex.message == "1 interrupt(s) lost: raised 5, delivered 0, pending 4"
    last = timeline(m, cex).splitlines()[-2]
    assert "VMM takes a notified interrupt" in last
    assert "->[pending dev4, pending dev1, pending dev2, pending dev3]" in last


def test_interrupt_storm_exhausts_the_overflow_ring_with_4_list_registers() -> None:
    storm = tuple(Source(f"virq{i}", 100 + i, masked_until_ack=False) for i in range(70))
    m = ArmModel(Workload("v", (CLI, WORK, WORK), storm, (1,) * 70), lrs=4)
    cex = check(m, Limits().depth(400)).counterexample
    assert cex is not None and cex.code == "E509"
    assert cex.message == "64 interrupts waiting for 4 list registers: the VMM aborts"
    final = replay(m, cex)[-1][1]
    assert final.aborted and len(final.ring) == 63


def test_secondary_vcpu_starts_on_psci_cpu_on() -> None:
    m = ArmModel(Workload("v.vcpu1", run_program(), SOURCES[:1], (1,)), secondary=True)
    assert m.actions(started(m)) == ["cpu_on"]
    assert m.next_state(started(m), "cpu_on").vcpu == "guest"


def test_smp_plan_explores_one_vmm_thread_serving_every_vcpu() -> None:
    plan = arm_plan(arm_vm(vcpus=2), num_nodes=2)
    m = plan_model(plan, Options(explore=True))
    assert isinstance(m, Product) and len(m.parts) == 1
    k = m.parts[0].template
    got = [(t.name, t.priority, t.core) for t in k.threads]
    vmm = next(t for t in plan.threads if t.role == "vmm")
    vcpus = [(t.name, t.priority, t.core) for t in plan.threads if t.role == "vcpu"]
    assert got == [*vcpus, (vmm.name, vmm.priority, 0)]
    assert [e.name for e in k.endpoints] == ["vm0_fault_ep"]  # one endpoint for both VCPUs
    r = simulate(plan, Options(explore=True))
    assert r.ok and r.explored is not None and r.explored.complete


def test_camkes_vm_priorities_serve_a_spinning_vcpu_promptly() -> None:
    plan = arm_plan(arm_vm(latency_us=1000))
    r = simulate(plan, Options(scenario={"spin": ("linux",)}))
    assert r.ok


def test_vmm_at_the_vcpu_priority_waits_a_timeslice_over_the_latency_bound() -> None:
    plan = arm_plan(arm_vm(latency_us=1000), vmm_priority=99)
    r = simulate(plan, Options(scenario={"spin": ("linux",)}))
    assert [v.code for v in r.violations] == ["E506"]
    assert "over the 1000 us bound" in r.violations[0].message


def test_vmm_below_a_spinning_vcpu_on_its_core_is_starved() -> None:
    plan = arm_plan(vmm_priority=98)
    r = simulate(plan, Options(scenario={"spin": ("linux",)}))
    assert [v.code for v in r.violations] == ["E505", "E510"]  # its lines stay masked too
    assert r.violations[0].message.startswith("vm0 (priority 98) runnable on core 0 since")
    assert r.violations[0].message.endswith("vm0_vcpu0 (priority 99) holds the core")
    lines = r.trace_text.splitlines()
    assert lines[0].startswith("kernel events (the last ")
    assert "core 0  fault            vm0_vcpu0 mmio 0 to vm0_fault_ep" in r.trace_text
    assert lines[-2].startswith("     22.000 ms  !!!     E505 vm0 (priority 98) runnable")
    assert lines[-1].startswith("    100.000 ms  !!!     E510 vm0: interrupt line dev0 (IRQ 33)")


def test_vmm_below_the_vcpus_is_fine_when_they_run_on_other_cores() -> None:
    plan = arm_plan(arm_vm(vcpus=1), vmm_priority=98, num_nodes=2)
    moved = replace(
        plan,
        threads=tuple(replace(t, core=1) if t.role == "vcpu" else t for t in plan.threads),
    )
    assert simulate(moved, Options(scenario={"spin": ("linux",)})).ok


class ForgetsToAck(ArmModel):
    """A VMM whose maintenance handler frees the list register but never acks the line."""

    def _vmm_fault(self, s: ArmState) -> ArmState:
        masked = s.masked
        s = super()._vmm_fault(s)
        return s._replace(masked=masked)


def test_a_line_never_acked_is_a_deadlock() -> None:
    w = Workload("v", run_program(), SOURCES[:1], (2,))
    assert check(ArmModel(w)).ok
    cex = check(ForgetsToAck(w)).counterexample
    assert cex is not None and cex.code == "E504"
    assert cex.message == (
        "no step possible with 0 interrupt(s) pending and 1 fault(s) open; "
        "1 interrupt(s) can never be raised: their lines stay masked"
    )


def test_timed_run_loses_interrupts_to_unchecked_injection_during_long_critical_sections() -> None:
    plan = arm_plan(irqs=5, critical_section_us=2000)
    assert simulate(plan).ok
    lost = simulate(plan, Options(check_shadow=False)).violations
    assert {v.code for v in lost} == {"E502", "E510"}  # the lost one's line is never acked
    assert lost[0].message == "vm0: interrupt dev0 lost: list register 3 overwritten by dev2"


def test_coalesced_notifications_are_not_lost_interrupts() -> None:
    # an edge source (virtio, cross-VM) signalled twice before the VMM reads its notification
    # word: seL4 ORs the badge into one bit, the VMM injects once, and nothing is lost
    edge = (Source("virtio", 79, masked_until_ack=False),)
    m = ArmModel(Workload("v", (STI, WORK, WORK, WORK), edge, (3,)), lrs=4)
    result = check(m, Limits().depth(200))
    assert result.counterexample is None


def test_lines_of_one_device_are_acked_each_on_its_own() -> None:
    # vm_multi passes the PCIe controller through: INTx lines 35-38 all named after it
    plan = resolve_example("vm_multi.yaml")
    names = [s.name for s in sources_for(plan, plan.vms[0])]
    intx = [f"/pcie@10000000 IRQ {irq}" for irq in (35, 36, 37, 38)]
    assert [n for n in names if n.startswith("/pcie")] == intx
    r = simulate(plan)
    assert r.ok, r.violations
    assert r.timed is not None
    assert {("vm0", n) for n in intx} <= r.timed.taken_from
