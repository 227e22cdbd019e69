"""Drawing and scaffolding: DOT for 64 to 512 VMs, and one `new-guest` run per platform.

The plan is a scaffolded qemu-arm-virt guest, resolved, with its VM, threads
and IRQ routes repeated N times under new instance names.  Prints the best-of-5
time to write the system DOT and the memory-map DOT, their size, and the growth
per doubling (near 2 means linear).  Then the time `scaffold` takes per
platform: cookiecutter, the checks `validate` runs, and the move into place.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from sel4vmgen import scaffold
from sel4vmgen.app.check import check_file
from sel4vmgen.graph import memory_dot, system_dot
from sel4vmgen.plan import resolve_all
from sel4vmgen.plan.model import Plan
from sel4vmgen.platforms import names

SIZES = (64, 128, 256, 512)
REPEATS = 5


def base_plan(tmp: Path) -> Plan:
    result = scaffold.scaffold({"name": "vm", "platform": "qemu-arm-virt"}, tmp)
    assert result.folder is not None
    checked = check_file(result.folder / "system.yaml")
    assert checked.loaded is not None
    return resolve_all(checked.loaded)[0]


def scaled(plan: Plan, count: int) -> Plan:
    vm = plan.vms[0]
    vms, threads, routes = [], [], []
    for i in range(count):
        inst = f"vm{i}"
        vms.append(dataclasses.replace(vm, index=i, instance=inst, name=f"guest{i}"))
        for t in plan.threads:
            if t.vm == vm.instance:
                threads.append(dataclasses.replace(t, name=f"{inst}_{t.name}", vm=inst))
        routes += [dataclasses.replace(r, vm=inst) for r in plan.irq_routes]
    native = [t for t in plan.threads if t.vm is None]
    return dataclasses.replace(
        plan, vms=tuple(vms), threads=(*threads, *native), irq_routes=tuple(routes)
    )


def best(plan: Plan) -> tuple[float, int]:
    runs = []
    size = 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        size = len(system_dot(plan)) + len(memory_dot(plan))
        runs.append(time.perf_counter() - start)
    return min(runs), size


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plan = base_plan(Path(tmp))
        print(f"{'VMs':>6} {'DOT bytes':>10} {'draw s':>8} {'x per doubling':>15}")
        previous: float | None = None
        for count in SIZES:
            seconds, size = best(scaled(plan, count))
            ratio = f"{seconds / previous:.2f}" if previous else "-"
            print(f"{count:>6} {size:>10} {seconds:>8.4f} {ratio:>15}")
            previous = seconds
        print(f"{'platform':>14} {'new-guest s':>12}")
        for name in names():
            start = time.perf_counter()
            result = scaffold.scaffold({"name": "g", "platform": name}, Path(tmp) / name)
            elapsed = time.perf_counter() - start
            print(f"{name:>14} {elapsed:>12.3f}{'' if result.ok else '  (refused)'}")


if __name__ == "__main__":
    main()
