"""Microkit examples in the simulator: for each, the timed run's kernel events, the states
the exploration visits, and the wall time of `simulate` and of `simulate --explore`.

Run: python benchmarks/bench_sim_microkit.py   (figures are printed, not asserted)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sel4vmgen.sim import Options, simulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def figures(example: Path) -> list[tuple[str, int, int, bool, float, float]]:
    """(platform, kernel events, states, exhaustive, timed s, explore s) of each Microkit plan."""
    from sim_plans import resolve_file

    out = []
    for plan in resolve_file(example):
        if plan.framework != "microkit":
            continue
        t0 = time.perf_counter()
        timed = simulate(plan)
        t1 = time.perf_counter()
        explored = simulate(plan, Options(explore=True))
        t2 = time.perf_counter()
        assert timed.timed is not None and explored.explored is not None
        e = explored.explored
        out.append((plan.platform, timed.timed.events, e.states, e.complete, t1 - t0, t2 - t1))
    return out


def main() -> None:
    print(f"{'example':<28} {'board':<20} {'events':>7} {'states':>7}  timed    explore")
    for example in sorted((ROOT / "examples").glob("microkit_*.yaml")):
        for board, events, states, complete, t_run, t_explore in figures(example):
            mark = "" if complete else " (bounded)"
            print(
                f"{example.stem:<28} {board:<20} {events:>7} {states:>7}{mark}  "
                f"{t_run * 1000:6.0f} ms {t_explore * 1000:6.0f} ms"
            )


if __name__ == "__main__":
    main()
