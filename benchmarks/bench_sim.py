"""Simulator speed: kernel events per second, explored states per second, and the time to
exhaust the single-thread x86 model with 3 VMs and 3 interrupts each under each reduction.

Run: python benchmarks/bench_sim.py   (figures are printed, not asserted)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sel4vmgen.sim.explore import Limits, Product, Reductions, check
from sel4vmgen.sim.guests import MMIO, Source, Workload, run_program
from sel4vmgen.sim.kernel import Body, Call, Compute, Endpoint, Kernel, Recv, ReplyRecv
from sel4vmgen.sim.timed import Scenario, run
from sel4vmgen.sim.x86 import X86Model


def kernel_ping_pong(seconds: float = 2.0) -> tuple[int, int, float]:
    """Clients calling a server on two cores, with short computations between calls."""
    k = Kernel(cores=2)
    ep = Endpoint("ep")

    def server() -> Body:
        msg = yield Recv(ep)
        while True:
            yield Compute(1)
            msg = yield ReplyRecv(ep, msg)

    def client(n: int) -> Body:
        while True:
            yield Compute(3 + n)
            yield Call(ep, n, n)

    k.start(k.thread("server", 200, 0, server()))
    for n in range(4):
        k.start(k.thread(f"client{n}", 100 + n, n % 2, client(n)))
    start = time.perf_counter()
    until = 0
    while time.perf_counter() - start < seconds:
        until += 100_000
        k.run(until)
    return k.sim.events, k.syscalls, time.perf_counter() - start


def plan_run() -> tuple[int, float]:
    from sim_plans import arm_plan, arm_vm

    plan = arm_plan(arm_vm(vcpus=2), irqs=3, num_nodes=2)
    start = time.perf_counter()
    r = run(plan, Scenario.of(plan, duration_ms=2000, device_irq_hz=5000))
    return r.events, time.perf_counter() - start


def three_vms() -> Product:
    srcs = (Source("timer", 0), Source("eth", 11), Source("disk", 14))
    return Product(
        "3vm",
        [X86Model(Workload(f"vm{i}", (MMIO, *run_program()), srcs, (1, 1, 1))) for i in range(3)],
    )


def explore_figure(name: str, reductions: Reductions, limits: Limits) -> None:
    start = time.perf_counter()
    r = check(three_vms(), limits, reductions)
    dt = time.perf_counter() - start
    done = "exhausted" if r.complete else "stopped at the bound"
    print(f"  {name:<34} {r.states:>9} states  {dt:8.3f} s  {r.states / dt:>9.0f} states/s  {done}")


def system_figures(seconds: float = 60.0) -> None:
    """Two x86 VMs of the test plan on two cores as one kernel-model system, with and
    without the partial order inside it, side by side."""
    from dataclasses import replace

    from sim_plans import x86_plan

    from sel4vmgen.sim.system import x86_system

    plan = x86_plan(vms=2)
    threads = tuple(replace(t, core=int(t.vm[2:])) if t.vm else t for t in plan.threads)
    plan = replace(plan, threads=threads, num_nodes=2)
    limits = Limits(max_depth=10_000, max_states=10**6, max_seconds=seconds)
    for name, por in (("whole system, no reduction", False), ("partial order inside", True)):
        start = time.perf_counter()
        r = check(x86_system(plan, 2), limits, Reductions(False, False, por))
        dt = time.perf_counter() - start
        done = "exhausted" if r.complete else "stopped at the bound"
        print(
            f"  {name:<34} {r.states:>9} states  {dt:8.3f} s  {r.states / dt:>9.0f} states/s  {done}"
        )


def examples() -> None:
    """`simulate --explore` of every example at its default bounds: the plan's threads on
    the kernel model, one system per VM."""
    from sim_plans import resolve_file

    from sel4vmgen.sim import Options, simulate

    root = Path(__file__).resolve().parent.parent / "examples"
    print(f"  {'example':<22} {'platform':<20} {'states':>8} {'depth':>6} {'time':>8}  exhaustive")
    for path in sorted(root.glob("*.yaml")):
        for plan in resolve_file(path):
            start = time.perf_counter()
            r = simulate(plan, Options(explore=True))
            dt = time.perf_counter() - start
            e = r.explored
            assert e is not None
            rate = e.states / e.seconds if e.seconds else 0
            print(
                f"  {path.stem:<22} {plan.platform:<20} {e.states:>8} {e.max_depth:>6} "
                f"{dt:7.2f}s  {'yes' if e.complete else 'no'}  ({rate:.0f} states/s)"
                + ("" if r.ok else f"  VIOLATION {[v.code for v in r.violations]}")
            )


def main() -> None:
    if "--examples" in sys.argv:
        print("examples, explored at their default bounds:")
        examples()
        return
    events, calls, dt = kernel_ping_pong()
    print(
        f"kernel model, IPC ping-pong:  {events / dt:>10.0f} timed events/s, "
        f"{(events + calls) / dt:.0f} kernel events/s with system calls "
        f"({events} + {calls} in {dt:.2f} s)"
    )
    events, dt = plan_run()
    print(f"kernel model, ARM plan run:   {events / dt:>10.0f} events/s ({events} in {dt:.2f} s)")
    print("x86 single-thread model, 3 VMs x 3 interrupts:")
    explore_figure("independent + symmetry + POR", Reductions(), Limits().depth(1000))
    explore_figure("independent VMs only", Reductions(True, False, False), Limits().depth(1000))
    explore_figure("partial order only", Reductions(False, False, True), Limits().depth(1000))
    capped = Limits().depth(1000).states(500_000).seconds(120)
    explore_figure("no reduction (capped)", Reductions(False, False, False), capped)
    print("kernel-model system, 2 x86 VMs on 2 cores, 2 interrupts each:")
    system_figures()
    sizes = [check(p, Limits().depth(1000)).states for p in three_vms().parts]
    whole = 1
    for n in sizes:
        whole *= n
    print(f"  unreduced product size: {' x '.join(map(str, sizes))} = {whole} states")


if __name__ == "__main__":
    main()
