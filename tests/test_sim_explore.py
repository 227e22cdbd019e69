"""The explorer: properties, bounds, replayable counterexamples, sound reductions."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sel4vmgen.sim.explore import (
    Limits,
    Product,
    Property,
    Reductions,
    check,
    replay,
)
from sel4vmgen.sim.guests import CLI, HALT, MMIO, STI, WORK, Source, Workload
from sel4vmgen.sim.x86 import X86Model
from sel4vmgen.sim.x86_split import SplitModel


class Counter:
    """Two counters that each step up to `top`; `bad` is a value both may never reach."""

    def __init__(self, name: str, top: int, bad: tuple[int, int] | None = None) -> None:
        self.name, self.top, self.bad = name, top, bad

    def symmetry_key(self) -> Hashable:
        return (self.top, self.bad)

    def init_states(self) -> Sequence[tuple[int, int]]:
        return [(0, 0)]

    def actions(self, s: tuple[int, int]) -> Sequence[Hashable]:
        return [i for i in (0, 1) if s[i] < self.top]

    def next_state(self, s: tuple[int, int], a: Hashable) -> tuple[int, int]:
        return (s[0] + 1, s[1]) if a == 0 else (s[0], s[1] + 1)

    def properties(self) -> Sequence[Property[tuple[int, int]]]:
        return [
            Property("never bad", "E999", "always", lambda s: s != self.bad, lambda s: f"at {s}")
        ]


def test_explores_every_state_once() -> None:
    r = check(Counter("c", 3), Limits())
    assert r.ok and r.complete
    assert r.states == 16  # (0..3) x (0..3)


def test_counterexample_is_a_replayable_path_to_the_bad_state() -> None:
    m = Counter("c", 3, bad=(2, 1))
    r = check(m, Limits())
    cex = r.counterexample
    assert cex is not None and cex.code == "E999" and cex.message == "at (2, 1)"
    assert replay(m, cex)[-1][1] == (2, 1)
    assert sorted(cex.path, key=str) == [0, 0, 1]


def test_bounds_make_a_search_incomplete() -> None:
    assert not check(Counter("c", 50), Limits().states(100)).complete
    shallow = check(Counter("c", 3), Limits().depth(2))
    assert not shallow.complete and shallow.max_depth == 2


def test_eventually_is_checked_in_terminal_states() -> None:
    class Stuck(Counter):
        def properties(self) -> Sequence[Property[tuple[int, int]]]:
            return [Property("ends at top", "E998", "eventually", lambda s: s == (3, 3))]

        def actions(self, s: tuple[int, int]) -> Sequence[Hashable]:
            return [] if s == (1, 0) else super().actions(s)

    cex = check(Stuck("s", 3), Limits()).counterexample
    assert cex is not None and cex.code == "E998"
    assert cex.path == (0,)


def test_symmetric_components_are_checked_once() -> None:
    p = Product("p", [Counter(f"c{i}", 3) for i in range(3)])
    r = check(p, Limits())
    assert r.ok and r.skipped_symmetric == 2 and r.states == 16


def test_partial_order_reduction_keeps_the_verdict_with_fewer_states() -> None:
    parts = [Counter("a", 3), Counter("b", 3, bad=(3, 2))]
    full = check(Product("p", parts), Limits().states(10**6), Reductions(False, False, False))
    por = check(Product("p", parts), Limits().states(10**6), Reductions(False, False, True))
    assert full.counterexample is not None and por.counterexample is not None
    assert full.counterexample.code == por.counterexample.code == "E999"
    ok = [Counter("a", 3), Counter("b", 3)]
    assert (
        check(Product("p", ok), Limits(), Reductions(False, False, True)).states
        < check(Product("p", ok), Limits(), Reductions(False, False, False)).states
    )


ops = st.sampled_from([CLI, STI, WORK, MMIO, HALT])


@settings(max_examples=25, deadline=None)
@given(
    programs=st.lists(st.lists(ops, min_size=1, max_size=3), min_size=2, max_size=2),
    fires=st.lists(st.integers(0, 1), min_size=2, max_size=2),
    split=st.booleans(),
)
def test_reductions_never_change_the_verdict(
    programs: list[list[str]], fires: list[int], split: bool
) -> None:
    srcs = (Source("timer", 0), Source("eth", 11))

    def parts() -> list[X86Model | SplitModel]:
        out: list[X86Model | SplitModel] = []
        for i, prog in enumerate(programs):
            w = Workload(f"vm{i}", (*prog, STI, HALT), srcs, (fires[i], 1))
            out.append(SplitModel(w) if split else X86Model(w))
        return out

    limits = Limits().states(30_000).depth(400)
    plain = check(Product("p", parts()), limits, Reductions(False, False, False))
    reduced = check(Product("p", parts()), limits, Reductions())
    if not plain.complete:
        return
    assert plain.ok == reduced.ok


def test_replaying_a_counterexample_breaks_the_same_property_at_the_last_step() -> None:
    w = Workload("vm0", (MMIO, STI, WORK, CLI, WORK, STI, HALT), (Source("t", 0),), (3,))
    for m in (SplitModel(w), SplitModel(w, stop="suspend")):
        cex = check(m, Limits()).counterexample
        assert cex is not None
        prop = next(p for p in m.properties() if p.code == cex.code)
        states = [s for _, s in replay(m, cex)]
        assert [prop.holds(s) for s in states] == [True] * (len(states) - 1) + [False]
        assert prop.explain(states[-1]) == cex.message


class Whole:
    """A product seen as one model, so the checker runs its plain search over tuples."""

    def __init__(self, p: Product[Hashable, Hashable]) -> None:
        self.p, self.name = p, p.name

    def init_states(self) -> Sequence[Hashable]:
        return self.p.init_states()

    def actions(self, s: Hashable) -> Sequence[Hashable]:
        return self.p.actions(s)  # type: ignore[arg-type]

    def next_state(self, s: Hashable, a: Hashable) -> Hashable:
        return self.p.next_state(s, a)  # type: ignore[arg-type]

    def properties(self) -> Sequence[Property[Hashable]]:
        return self.p.properties()  # type: ignore[return-value]

    def symmetry_key(self) -> Hashable:
        return self.p.symmetry_key()


@pytest.mark.parametrize("por", [False, True])
@pytest.mark.parametrize("bound", [Limits().depth(1000), Limits().depth(6), Limits().states(700)])
@pytest.mark.parametrize("collect", [False, True])
def test_a_product_is_searched_as_its_tuples_would_be(
    por: bool, bound: Limits, collect: bool
) -> None:
    """The product search numbers component states and keeps a product state as one int; it
    visits the same states in the same order as the plain search over tuples of them."""
    w = Workload("vm", (MMIO, STI, WORK, CLI, WORK, STI, HALT), (Source("t", 0),), (2,))
    for parts in ([X86Model(w), X86Model(w)], [X86Model(w), SplitModel(w)]):
        numbered = Product("p", parts)
        plain = Product("p", parts)
        numbered.partial_order = plain.partial_order = por
        a = check(numbered, bound, Reductions(False, False, por), collect)
        b = check(Whole(plain), bound, Reductions(False, False, por), collect)
        assert (a.states, a.max_depth, a.complete) == (b.states, b.max_depth, b.complete)
        assert a.counterexample == b.counterexample and a.found == b.found
