"""Kernel model scheduling: priorities, round-robin, timeslices, preemption, affinity."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sel4vmgen.sim.kernel import (
    TICK_US,
    TIMESLICE_TICKS,
    Body,
    Call,
    Compute,
    Endpoint,
    Kernel,
    Notification,
    Recv,
    ReplyRecv,
    Signal,
    State,
    Wait,
)


def spinner(us: int = 1_000_000) -> Body:
    yield Compute(us)


def switches(k: Kernel, core: int = 0) -> list[tuple[int, str]]:
    return [(e.time, e.thread) for e in k.log if e.kind == "switch" and e.core == core]


def test_highest_priority_runs_first() -> None:
    k = Kernel()
    lo = k.thread("lo", 10, 0, spinner(100))
    hi = k.thread("hi", 20, 0, spinner(100))
    k.start(lo)
    k.start(hi)
    k.run(1000)
    assert switches(k) == [(0, "hi"), (100, "lo")]


def test_equal_priority_round_robin_after_a_timeslice() -> None:
    k = Kernel()
    a = k.thread("a", 10, 0, spinner())
    b = k.thread("b", 10, 0, spinner())
    k.start(a)
    k.start(b)
    slice_us = TICK_US * TIMESLICE_TICKS
    k.run(3 * slice_us)
    assert switches(k) == [(0, "a"), (slice_us, "b"), (2 * slice_us, "a"), (3 * slice_us, "b")]


def test_woken_higher_priority_preempts_at_once_and_preempted_goes_back_to_head() -> None:
    k = Kernel(cores=2)
    n = Notification("n")

    def waker() -> Body:
        yield Compute(300)
        yield Signal(n)

    def hi_body() -> Body:
        yield Wait(n)
        yield Compute(50)

    a = k.thread("a", 10, 0, spinner(1000))
    b = k.thread("b", 10, 0, spinner(1000))
    w = k.thread("w", 5, 1, waker())
    hi = k.thread("hi", 30, 0, hi_body())
    k2 = [a, b, hi]
    for t in k2:
        k.start(t)
    k.start(w)
    k.run(2000)
    # hi blocks first, a runs, hi preempts at 300 and a (preempted) resumes before b
    assert switches(k)[:4] == [(0, "hi"), (0, "a"), (300, "hi"), (350, "a")]
    assert a.run_us == 1000


def test_equal_priority_wake_up_does_not_preempt() -> None:
    k = Kernel(cores=2)
    n = Notification("n")

    def waiter() -> Body:
        yield Wait(n)
        yield Compute(10)

    def waker() -> Body:
        yield Compute(100)
        yield Signal(n)

    w = k.thread("w", 10, 0, waiter())
    s = k.thread("s", 10, 0, spinner(5000))
    k.start(w)
    k.start(s)
    k.start(k.thread("sig", 10, 1, waker()))
    k.run(20_000)
    assert switches(k, 0) == [(0, "w"), (0, "s"), (5000, "w")]


def test_threads_stay_on_their_core() -> None:
    k = Kernel(cores=2)
    a = k.thread("a", 10, 0, spinner(100))
    b = k.thread("b", 10, 1, spinner(100))
    k.start(a)
    k.start(b)
    k.run(1000)
    assert switches(k, 0) == [(0, "a")]
    assert switches(k, 1) == [(0, "b")]


ops = st.lists(
    st.one_of(
        st.tuples(st.just("compute"), st.integers(1, 3000)),
        st.tuples(st.just("signal"), st.integers(0, 1)),
        st.tuples(st.just("wait"), st.integers(0, 1)),
        st.tuples(st.just("call"), st.just(0)),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(
    threads=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), ops), min_size=1, max_size=6)
)
def test_scheduler_invariants_hold_at_every_event(
    threads: list[tuple[int, int, list[tuple[str, int]]]],
) -> None:
    k = Kernel(cores=2)
    ntfns = [Notification("n0"), Notification("n1")]
    ep = Endpoint("ep")

    def server() -> Body:
        yield Recv(ep)
        while True:
            yield Compute(7)
            yield ReplyRecv(ep, "ok")

    def body(program: list[tuple[str, int]]) -> Body:
        for op, arg in program:
            if op == "compute":
                yield Compute(arg)
            elif op == "signal":
                yield Signal(ntfns[arg])
            elif op == "wait":
                yield Wait(ntfns[arg])
            else:
                yield Call(ep, "x")

    k.start(k.thread("server", 2, 1, server()))
    for i, (prio, core, program) in enumerate(threads):
        k.start(k.thread(f"t{i}", 10 + prio, core, body(program)))
    while k.sim.now < 50_000 and k.sim.step():
        for core in k.cores:
            queued = [t for q in core.queues.values() for t in q]
            assert all(t.state is State.RUNNING for t in queued)
            assert len(set(map(id, queued))) == len(queued)
            assert core.highest() == max((t.priority for t in queued), default=-1)
            cur = core.current
            if cur is not None:
                assert cur not in queued and cur.state in (State.RUNNING, State.RUNNING_VM)
                assert cur.priority >= core.highest()
