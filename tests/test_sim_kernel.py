"""Kernel model scheduling: priorities, round-robin, timeslices, preemption, affinity."""

from __future__ import annotations

from sel4vmgen.sim.kernel import (
    TICK_US,
    TIMESLICE_TICKS,
    Body,
    Compute,
    Kernel,
    Notification,
    Signal,
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
