"""Independence is computed: threads and devices that share a kernel object are explored
together, those that share none apart, and a thread nobody can wake is in no group."""

from __future__ import annotations

from dataclasses import replace

from sim_plans import x86_plan

from sel4vmgen.plan.model import Thread
from sel4vmgen.sim.footprint import ample, groups, line_footprint, thread_footprint
from sel4vmgen.sim.kernel import BLOCKED_ON_NOTIFICATION, Kernel
from sel4vmgen.sim.program import spawn
from sel4vmgen.sim.system import Group, SysState, SystemModel, x86_system
from sel4vmgen.sim.system import groups as vm_groups
from sel4vmgen.sim.timed import Idle


def kernel() -> Kernel:
    """Threads 0 and 1 wait on notification 0; 2 on 1, which a device signals; 3 on 2,
    blocked with nobody to signal it; 4 on 3, runnable."""
    k = Kernel(2, ticks=False)
    ns = [k.notification(f"n{i}") for i in range(4)]
    for i, n in enumerate([0, 0, 1, 2, 3]):
        t = spawn(k, f"t{i}", 100, i % 2, Idle(n))
        if i == 3:
            t.state, t.blocked_on = BLOCKED_ON_NOTIFICATION, ns[2]
        else:
            k.start(t)
    k.irq_handler(11, ns[1], 1, "dev")
    return k


def test_a_footprint_is_the_thread_and_the_objects_its_program_names() -> None:
    k = kernel()
    assert thread_footprint(k, 1) == {("tcb", 1), ("ntfn", 0)}
    assert line_footprint(k, 0) == {("irq", 0), ("ntfn", 1)}


def test_threads_sharing_an_object_are_one_group_and_an_unwakeable_one_is_in_none() -> None:
    assert groups(kernel()) == [[0, 1], [2], [4]]


def test_a_device_joins_the_threads_it_signals() -> None:
    k = kernel()
    both = frozenset({("ntfn", 1), ("ntfn", 3)})  # a device signalling threads 2 and 4
    assert groups(k, [both]) == [[0, 1], [2, 4]]


def test_vms_that_share_nothing_are_explored_apart_and_idle_servers_not_at_all() -> None:
    plan = x86_plan(vms=3)
    server = Thread("time_server", "time_server", 250, 0, None, None)
    whole = x86_system(replace(plan, threads=(*plan.threads, server)), 2)
    assert [t.name for t in whole.template.threads] == ["vm0", "vm1", "vm2", "time_server"]
    assert vm_groups(whole) == [Group((f"vm{i}",), False) for i in range(3)]


def two_vms(cores: int) -> SystemModel:
    """Two VMs of the test plan, each on its own core when `cores` is 2, as one system."""
    plan = x86_plan(vms=2)
    threads = tuple(replace(t, core=int(t.vm[2:]) % cores) if t.vm else t for t in plan.threads)
    return x86_system(replace(plan, threads=threads, num_nodes=cores), 1, budget=1)


def test_the_partial_order_expands_one_core_when_no_other_actor_can_touch_its_steps() -> None:
    m = two_vms(2)
    s = m.init_states()[0]
    full = m.actions(s)
    assert [a for a in full if a[0] == "guest"] == [
        ("guest", 0, "sti"),
        ("guest", 0, "hlt"),
        ("guest", 1, "sti"),
        ("guest", 1, "hlt"),
    ]
    # each VM's line may still fire, and it signals that VM's thread: core 0 is not alone
    assert ample(m, s, {}) == full
    after = fired(m, s)
    # with the lines spent, vm0's moves touch nothing vm1 can reach
    assert ample(m, after, {}) == [a for a in m.actions(after) if a[1] == 0]


def fired(m: SystemModel, s: SysState) -> SysState:
    """`s` after every line has fired all its firings (each taken when offered)."""
    while irqs := [a for a in m.actions(s) if a[0] == "irq"]:
        s = m.next_state(s, irqs[0])
    assert not any(s.world.left)
    return s


def test_threads_on_one_core_are_never_expanded_apart() -> None:
    m = two_vms(1)
    s = fired(m, m.init_states()[0])
    assert len(m.actions(s)) > 1 and ample(m, s, {}) == m.actions(s)
