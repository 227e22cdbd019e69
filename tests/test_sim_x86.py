"""The single-thread x86 VMM: the VMEnter loop, interrupt windows, injection, HLT."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run
from sim_plans import x86_plan

from sel4vmgen.sim import simulate
from sel4vmgen.sim.explore import Counterexample, Limits, check, replay
from sel4vmgen.sim.guests import CLI, HALT, MMIO, STI, WORK, Source, Workload
from sel4vmgen.sim.x86 import X86Model, X86State

SOURCES = (Source("timer", 0), Source("eth", 11))


def model(program: tuple[str, ...], fires: tuple[int, int] = (2, 1)) -> X86Model:
    return X86Model(Workload("vm0", program, SOURCES, fires))


def test_single_thread_design_is_clean_exhaustively() -> None:
    r = check(model((MMIO, STI, WORK, CLI, WORK, STI, HALT)), Limits().depth(500))
    assert r.ok and r.complete


def test_interrupt_during_a_critical_section_waits_for_the_window() -> None:
    m = model((CLI, WORK, STI, WORK, HALT), fires=(1, 0))
    s = m.init_states()[0]
    s = m.next_state(s, "guest")  # cli
    s = m.next_state(s, ("irq", 0))  # notification exit
    assert s.mode == "vmm" and s.exit == "notif"
    s = m.next_state(s, "vmm")
    assert s.window and s.entry == -1 and s.pic == 1  # cannot inject: IF=0
    s = m.next_state(s, "guest")  # work, still IF=0
    s = m.next_state(s, "guest")  # sti: blocking by STI for one instruction
    assert s.mode == "guest" and s.shadow
    s = m.next_state(s, "guest")  # work clears the shadow
    s = m.next_state(s, "guest")  # the window exit
    assert s.mode == "vmm" and s.exit == "window"
    s = m.next_state(s, "vmm")
    assert s.delivered == 1 and not s.bad_injection and not s.window


def test_hlt_with_nothing_pending_blocks_until_an_interrupt() -> None:
    m = model((STI, WORK, HALT), fires=(1, 0))
    s: X86State = m.init_states()[0]
    for _ in range(3):
        s = m.next_state(s, "guest")
    s = m.next_state(s, "vmm")
    assert s.mode == "halted" and m.actions(s) == [("irq", 0)]
    s = m.next_state(m.next_state(s, ("irq", 0)), "vmm")
    assert s.mode == "guest" and s.delivered == 1


def test_replay_reproduces_the_explored_states() -> None:
    m = model((STI, WORK, HALT), fires=(1, 1))
    path = ("guest", "guest", ("irq", 0), "vmm")
    steps = replay(m, Counterexample("vm0", "", "", "", 0, path))
    assert [a for a, _ in steps] == [None, *path]
    assert steps[-1][1].delivered == 1
    with pytest.raises(ValueError, match="action 'guest' is not enabled"):
        replay(m, Counterexample("vm0", "", "", "", 0, (("irq", 0), "guest")))


def test_timed_run_takes_every_interrupt_without_an_e501() -> None:
    report = simulate(x86_plan(critical_section_us=400))
    assert report.ok
    assert report.timed is not None
    latencies = report.timed.latencies["vm0"]
    assert len(latencies) > 100
    assert max(latencies) >= 100  # some arrived inside the 400 us critical section and waited


def test_deciding_on_stale_rflags_after_a_notification_exit_injects_with_if_off() -> None:
    w = Workload("vm0", (MMIO, STI, WORK, CLI, WORK, STI, HALT), SOURCES, (2, 1))
    m = X86Model(w, reread_after_notification=False)
    cex = check(m, Limits()).counterexample
    assert cex is not None and cex.code == "E501"
    assert cex.message == "interrupt timer injected with IF=0, STI blocking=0"
    last_exit = [a for a in cex.path if a != "vmm"][-1]
    assert last_exit == ("irq", 0)  # the injection follows a notification exit


def test_stale_rflags_variant_from_the_command_line(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    (tmp_path / "plan.json").write_text(x86_plan().to_json())
    r = cli("simulate", str(tmp_path), "--explore", "--stale-after-notification")
    assert r.exit_code == 1 and "error[E501]" in r.stderr
