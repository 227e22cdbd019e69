"""`generate` time for every ARM example, end to end and by stage.

For each `examples/*.yaml` whose `arch` is `arm`: load and validate, resolve
one plan per platform, simulate (the quick check `generate` runs), render,
and write the app into a fresh temporary folder -- the whole of
`sel4vmgen generate FILE -o DIR`.  Prints the median of a few runs per
example, per stage and in total, against the 0.3 s target.  Figures only;
nothing here is a test.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sel4vmgen.app.generate import app_files, generate, resolve_plans, simulate_plans
from sel4vmgen.model import load
from sel4vmgen.render import RenderContext

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REPEATS = 5
TARGET_S = 0.3


def arm_examples() -> list[Path]:
    """The ARM examples, by file name."""
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        try:
            if load(path).system.arch == "arm":
                found.append(path)
        except Exception:  # an example that does not load is not timed here
            continue
    return found


def median_s(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stages(path: Path) -> dict[str, float]:
    """Median seconds of each stage, and of the whole `generate`, for one example."""
    loaded = load(path)
    plans = resolve_plans(loaded)
    ctx = RenderContext(loaded.base_dir, loaded.system.name)
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1_000_000))
        total = median_s(lambda: generate(load(path), Path(tmp) / f"app{next(counter)}"))
    return {
        "load": median_s(lambda: load(path)),
        "resolve": median_s(lambda: resolve_plans(loaded)),
        "simulate": median_s(lambda: simulate_plans(plans)),
        "render": median_s(lambda: app_files(plans, ctx)),
        "generate": total,
    }


def main() -> None:
    """Print the ARM generate figures."""
    examples = arm_examples()
    if not examples:
        print("ARM generate: no ARM example found")
        return
    print(f"ARM generate, median of {REPEATS} runs (target {TARGET_S:.1f} s end to end)")
    print(f"{'example':28} {'load':>8} {'resolve':>8} {'simulate':>9} {'render':>8} {'total':>8}")
    for path in examples:
        s = stages(path)
        mark = "" if s["generate"] < TARGET_S else "  over target"
        print(
            f"{path.stem:28} {s['load'] * 1e3:7.1f}ms {s['resolve'] * 1e3:7.1f}ms "
            f"{s['simulate'] * 1e3:8.1f}ms {s['render'] * 1e3:7.1f}ms "
            f"{s['generate'] * 1e3:7.1f}ms{mark}"
        )


if __name__ == "__main__":
    main()
