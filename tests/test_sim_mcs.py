"""The MCS kernel model: threads on scheduling contexts (budget, period, passive servers)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sel4vmgen.sim.kernel import Body, Call, Compute, Endpoint, Notification, Recv, Reply, Tcb, Wait
from sel4vmgen.sim.mcs import McsKernel


def spinner(us: int = 1_000_000) -> Body:
    yield Compute(us)


def switches(k: McsKernel) -> list[tuple[int, str]]:
    return [(e.time, e.thread or "idle") for e in k.log if e.kind in ("switch", "idle")]


def test_equal_priorities_on_round_robin_contexts_take_turns_of_one_budget() -> None:
    k = McsKernel(ticks=False)
    a = k.thread("a", 10, 0, spinner())
    b = k.thread("b", 10, 0, spinner())
    k.give_sc(a, 1000, 1000)
    k.give_sc(b, 1000, 1000)
    k.start(a)
    k.start(b)
    k.run(3500)
    assert switches(k) == [(0, "a"), (1000, "b"), (2000, "a"), (3000, "b")]


def test_a_round_robin_context_alone_at_its_priority_keeps_its_core() -> None:
    k = McsKernel(ticks=False)
    hi = k.thread("hi", 20, 0, spinner())
    lo = k.thread("lo", 10, 0, spinner())
    k.give_sc(hi, 1000, 1000)
    k.give_sc(lo, 1000, 1000)
    k.start(hi)
    k.start(lo)
    k.run(10_000)
    assert switches(k) == [(0, "hi")]


def test_a_spent_budget_leaves_the_core_to_lower_priorities_until_its_period_ends() -> None:
    k = McsKernel(ticks=False)
    hi = k.thread("hi", 20, 0, spinner())
    lo = k.thread("lo", 10, 0, spinner())
    sc = k.give_sc(hi, 300, 1000)
    k.give_sc(lo, 1000, 1000)
    k.start(hi)
    k.start(lo)
    k.run(2500)
    assert switches(k) == [(0, "hi"), (300, "lo"), (1000, "hi"), (1300, "lo"), (2000, "hi"),
                           (2300, "lo")]  # fmt: skip
    assert next(e.detail for e in k.log if e.kind == "budget") == "budget spent until 1.000 ms"
    assert k.out_of_budget(sc, 0, 2500) == 700 + 700 + 200


def test_a_thread_keeps_only_what_is_left_of_its_budget_until_its_period_ends() -> None:
    k = McsKernel(ticks=False)
    n = Notification("n")

    def worker() -> Body:
        yield Compute(150)
        yield Wait(n)
        yield Compute(100)  # 50 us of budget left: the rest after the refill at 1000

    w = k.thread("w", 20, 0, worker())
    k.give_sc(w, 200, 1000)
    k.start(w)
    k.sim.at(500, k.signal, n, 1)
    k.run(2000)
    assert switches(k) == [(0, "w"), (150, "idle"), (500, "w"), (550, "idle"), (1000, "w"),
                           (1050, "idle")]  # fmt: skip


def test_a_passive_server_runs_a_call_on_its_callers_context() -> None:
    k = McsKernel(ticks=False)
    ep = Endpoint("ep")
    done: list[int] = []

    def server() -> Body:
        yield Recv(ep)
        yield Compute(150)
        yield Reply("ok")

    def client() -> Body:
        got = yield Call(ep, "ppcall")
        done.append(k.sim.now)
        assert got == "ok"

    s = k.thread("server", 254, 0, server())
    c = k.thread("client", 0, 0, client())
    server_sc = k.give_sc(s, 1000, 1000, passive=True)
    client_sc = k.give_sc(c, 100, 1000)
    k.start(s)
    k.start(c)
    k.run(3000)
    # 100 us of the client's budget, then the server waits for the client's refill
    assert done == [1050]
    assert server_sc.left == 1000
    assert client_sc.empty == [[100, 1000]]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(50, 2000), st.integers(1, 4)),
        min_size=1,
        max_size=4,
    )
)
def test_no_thread_runs_more_than_its_budget_in_each_period(
    threads: list[tuple[int, int, int]],
) -> None:
    k = McsKernel(ticks=False)
    made = []
    for i, (prio, budget, periods) in enumerate(threads):
        t = k.thread(f"t{i}", 10 + prio, 0, spinner())
        made.append((t, k.give_sc(t, budget, budget * periods)))
        k.start(t)
    until = 20_000
    k.run(until)
    for t, sc in made:
        ran = t.run_us + (until - t.compute_started if k.cores[0].current is t else 0)
        assert ran <= sc.budget * -(-until // sc.period)


def test_a_round_robin_budget_spent_as_a_refill_preempts_it_shares_the_core_as_budgets_say() -> (
    None
):
    # t1's refill at 150 us preempts t0 in the very instant t0's round-robin budget runs out
    k = McsKernel(ticks=False)
    t0 = k.thread("t0", 10, 0, spinner())
    k.give_sc(t0, 50, 50)
    t1 = k.thread("t1", 11, 0, spinner())
    k.give_sc(t1, 50, 150)
    k.start(t0)
    k.start(t1)
    until = 600
    k.run(until)
    current = k.cores[0].current

    def ran(t: Tcb) -> int:
        return t.run_us + (until - t.compute_started if current is t else 0)

    assert (ran(t0), ran(t1)) == (400, 200)  # t1: 50 us in each of its four periods
