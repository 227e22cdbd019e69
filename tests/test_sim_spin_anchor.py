"""The spin anchor: the reference Promela injection protocol as an explorer model gives spin's
verdicts (the single-thread design verified, the two-thread design injecting with IF = 0)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from injection_model import injection_system

from sel4vmgen.sim.explore import Limits, Reductions, check, replay


@pytest.mark.parametrize("nirq", [2, 3])
def test_single_thread_design_is_verified_exhaustively(nirq: int) -> None:
    r = check(injection_system(3, nirq, split=False), Limits(10_000, 100_000))
    assert r.ok and r.complete
    assert r.skipped_symmetric == 2  # the three VMs are identical


@pytest.mark.parametrize("reductions", [Reductions(), Reductions(False, False, False)])
def test_two_thread_design_injects_with_interrupts_off(reductions: Reductions) -> None:
    model = injection_system(3, 2, split=True)
    r = check(model, Limits(10_000, 100_000), reductions)
    cex = r.counterexample
    assert cex is not None and cex.code == "E501"
    part = model.parts[0] if reductions.independent else model
    steps = [a[1] if isinstance(a, tuple) else a for a, _ in replay(part, cex)[1:]]
    write = len(steps) - 1 - steps[::-1].index("write")
    read = write - 1 - steps[write - 1 :: -1].index("read")
    assert "cli" in steps[read:write]  # the guest turned IF off between the read and the write
    assert steps[-1] == "enter"  # and the VM entry delivered it
