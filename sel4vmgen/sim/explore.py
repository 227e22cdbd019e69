"""An explicit-state model checker in the shape of stateright.

A `Model` gives `init_states()`, `actions(state)`, `next_state(state, action)`
and named `Property`s: `always` ones must hold in every reachable state,
`eventually` ones in every terminal state (one with no next action; the
models here have finite runs, so "in the end" is what eventually means).
`check(model, limits)` runs depth-first with state hashing and returns the
first counterexample as a replayable path of actions (`replay` re-runs it).

Sound reductions, each optional (`Reductions`):
* independent components: a `Product` of models that share no state is
  checked one component at a time (a violation of a component's property
  shows in the component alone, and the product deadlocks only if one does);
* symmetry: components with equal `symmetry_key` are checked once;
* partial order: in a product checked whole, only the lowest component that
  can move is expanded (the others' actions commute with it and cannot see
  its state); the cycle proviso falls back to full expansion when the
  chosen successor is on the DFS stack.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar, runtime_checkable

from sel4vmgen.plan.model import DEFAULT_SIMULATION

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)


@dataclass(frozen=True)
class Property(Generic[S]):
    """A named property with a stable code; `holds(state)` says whether it is met."""

    name: str
    code: str
    kind: Literal["always", "eventually"]
    holds: Callable[[S], bool]
    explain: Callable[[S], str] = lambda s: ""


class Model(Protocol[S, A]):
    """What the checker needs from a model."""

    name: str

    def init_states(self) -> Sequence[S]: ...

    def actions(self, state: S) -> Sequence[A]: ...

    def next_state(self, state: S, action: A) -> S: ...

    def properties(self) -> Sequence[Property[S]]: ...

    def symmetry_key(self) -> Hashable: ...


S_in = TypeVar("S_in", contravariant=True)
A_out = TypeVar("A_out", covariant=True)


@runtime_checkable
class Reducible(Protocol[S_in, A_out]):
    """A model that offers a partial-order reduction of its own: in a state, a persistent
    subset of its actions (`ample`), used while `partial_order` is set."""

    partial_order: bool

    def actions(self, state: S_in) -> Sequence[A_out]: ...

    def ample(self, state: S_in) -> Sequence[A_out]: ...


@dataclass(frozen=True)
class Limits:
    """Search bounds; build with `Limits().depth(n).states(n).seconds(s)`."""

    max_depth: int = DEFAULT_SIMULATION.max_depth
    max_states: int = DEFAULT_SIMULATION.max_states
    max_seconds: float = 60.0
    progress: bool = False

    def depth(self, n: int) -> Limits:
        return Limits(n, self.max_states, self.max_seconds, self.progress)

    def states(self, n: int) -> Limits:
        return Limits(self.max_depth, n, self.max_seconds, self.progress)

    def seconds(self, s: float) -> Limits:
        return Limits(self.max_depth, self.max_states, s, self.progress)

    def show_progress(self, on: bool = True) -> Limits:
        return Limits(self.max_depth, self.max_states, self.max_seconds, on)


@dataclass(frozen=True)
class Reductions:
    independent: bool = True
    symmetry: bool = True
    partial_order: bool = True


@dataclass(frozen=True)
class Counterexample:
    """A path from an initial state to the state that breaks `prop`."""

    model: str
    code: str
    prop: str
    message: str
    init: int  # index into init_states()
    path: tuple[Hashable, ...]


Bound = Literal["states", "depth", "time"]  # max_states, max_depth, max_seconds


@dataclass
class Result:
    """What a check found; `complete` when the whole bounded space was explored."""

    models: list[str] = field(default_factory=list)
    states: int = 0
    max_depth: int = 0
    complete: bool = True
    seconds: float = 0.0
    counterexample: Counterexample | None = None
    skipped_symmetric: int = 0
    found: dict[str, Counterexample] = field(default_factory=dict)  # collect: code -> first
    bounds: set[Bound] = field(default_factory=set)  # the bounds that cut the search

    def cut(self, bound: Bound) -> None:
        """The search stopped short at `bound`: not exhaustive."""
        self.complete = False
        self.bounds.add(bound)

    @property
    def codes(self) -> frozenset[str]:
        """The properties found broken (all of them with `collect`, else the first)."""
        return frozenset(self.found) | (
            {self.counterexample.code} if self.counterexample else set()
        )

    @property
    def ok(self) -> bool:
        return self.counterexample is None

    def merge(self, other: Result) -> None:
        self.models += other.models
        self.states += other.states
        self.max_depth = max(self.max_depth, other.max_depth)
        self.complete = self.complete and other.complete
        self.seconds += other.seconds
        self.skipped_symmetric += other.skipped_symmetric
        self.bounds |= other.bounds
        for code, cex in other.found.items():
            self.found.setdefault(code, cex)
        if self.counterexample is None:
            self.counterexample = other.counterexample


P = TypeVar("P", bound=Hashable)  # a component's state
B = TypeVar("B", bound=Hashable)  # a component's action


class Product(Generic[P, B]):
    """Models that share nothing, run side by side; the state is a tuple of their states,
    an action a component's index and its action."""

    def __init__(self, name: str, parts: Sequence[Model[P, B]]) -> None:
        self.name = name
        self.parts = list(parts)
        self.partial_order = True
        self._acts: list[dict[P, list[tuple[int, B]]]] = [{} for _ in self.parts]
        self._next: list[dict[tuple[P, B], P]] = [{} for _ in self.parts]

    def _part_actions(self, i: int, s: P) -> list[tuple[int, B]]:
        """A component's actions in its state, remembered: components revisit their states."""
        memo = self._acts[i]
        acts = memo.get(s)
        if acts is None:
            acts = memo[s] = [(i, a) for a in self.parts[i].actions(s)]
        return acts

    def init_states(self) -> Sequence[tuple[P, ...]]:
        states: list[tuple[P, ...]] = [()]
        for p in self.parts:
            states = [(*s, i) for s in states for i in p.init_states()]
        return states

    def actions(self, state: tuple[P, ...]) -> Sequence[tuple[int, B]]:
        out: list[tuple[int, B]] = []
        for i, s in enumerate(state):
            mine = self._part_actions(i, s)
            if mine and self.partial_order:
                return list(mine)
            out += mine
        return out

    def all_actions(self, state: tuple[P, ...]) -> Sequence[tuple[int, B]]:
        return [a for i, s in enumerate(state) for a in self._part_actions(i, s)]

    def next_state(self, state: tuple[P, ...], action: tuple[int, B]) -> tuple[P, ...]:
        """Step one component; its transitions are remembered, like its actions."""
        i, a = action
        memo, key = self._next[i], (state[i], a)
        nxt = memo.get(key)
        if nxt is None:
            nxt = memo[key] = self.parts[i].next_state(state[i], a)
        return (*state[:i], nxt, *state[i + 1 :])

    def properties(self) -> Sequence[Property[tuple[P, ...]]]:
        props: list[Property[tuple[P, ...]]] = []
        for i, p in enumerate(self.parts):
            for q in p.properties():
                props.append(_lift(i, p.name, q))
        return props

    def symmetry_key(self) -> Hashable:
        return tuple(p.symmetry_key() for p in self.parts)


def _lift(i: int, name: str, q: Property[P]) -> Property[tuple[P, ...]]:
    memo: dict[P, bool] = {}

    def holds(s: tuple[P, ...]) -> bool:
        part = s[i]
        ok = memo.get(part)
        if ok is None:
            ok = memo[part] = q.holds(part)
        return ok

    return Property(q.name, q.code, q.kind, holds, lambda s: f"{name}: {q.explain(s[i])}")


def check(
    model: Model[S, A],
    limits: Limits = Limits(),
    reductions: Reductions = Reductions(),
    collect: bool = False,
) -> Result:
    """Explore `model` to the bounds; split a `Product` when the reductions allow.  With
    `collect`, go on past violations (not beyond a violating state) and gather the first
    counterexample of each property in `found`."""
    if isinstance(model, Product):
        model.partial_order = reductions.partial_order
        if reductions.independent:
            return _check_parts(model, limits, reductions, collect)
    elif isinstance(model, Reducible):
        model.partial_order = reductions.partial_order
    return _search(model, limits, collect)


def _check_parts(
    model: Product[P, B], limits: Limits, reductions: Reductions, collect: bool = False
) -> Result:
    total = Result()
    seen: set[Hashable] = set()
    start = time.monotonic()
    for part in model.parts:
        key = part.symmetry_key()
        if reductions.symmetry and key in seen:
            total.skipped_symmetric += 1
            total.models.append(part.name)
            continue
        seen.add(key)
        left = limits.seconds(max(0.0, limits.max_seconds - (time.monotonic() - start)))
        total.merge(check(part, left, reductions, collect))
        if not total.ok and not collect:
            break
    return total


def _search(model: Model[S, A], limits: Limits, collect: bool = False) -> Result:
    """Depth-first search with a visited set; stops at the first violation (with `collect`,
    records it and does not expand the violating state)."""
    if isinstance(model, Product):
        return _search_product(model, limits, collect)
    res = Result(models=[model.name])
    props = list(model.properties())
    always = [p for p in props if p.kind == "always"]
    always_holds = [p.holds for p in always]
    eventually = [p for p in props if p.kind == "eventually"]
    start = time.monotonic()
    pace = _Pace(model.name, limits, start)
    visited: set[S] = set()
    actions, next_state = model.actions, model.next_state
    # the full expansion of a state, for the provisos of the model's partial-order reduction
    widen: Callable[[S], Sequence[A]] | None = None
    if isinstance(model, Reducible) and model.partial_order:
        actions, widen = model.ample, model.actions
    max_depth, max_states = limits.max_depth, limits.max_states
    seen, deepest = visited.add, 0
    for index, init in enumerate(model.init_states()):
        # a frame: [state, its actions, the next to try]; the stack is the DFS path
        stack: list[_Frame[S, A]] = [_Frame(init, list(actions(init)))]
        on_stack = {init}
        path: list[A] = []
        if _violated(model, always, init, index, path, res, collect):
            if not collect:
                return _done(res, start, deepest)
            continue
        seen(init)
        res.states += 1
        while stack:
            frame = stack[-1]
            state, acts, i = frame.state, frame.acts, frame.next
            if (
                i == 0
                and not acts
                and eventually
                and _violated(model, eventually, state, index, path, res, collect)
                and not collect
            ):
                return _done(res, start, deepest)
            if i >= len(acts) or len(stack) > max_depth:
                if i < len(acts):
                    res.cut("depth")
                stack.pop()
                on_stack.discard(state)
                if path:
                    path.pop()
                continue
            frame.next = i + 1
            action = acts[i]
            nxt = next_state(state, action)
            if widen is not None and nxt in on_stack:
                full = list(widen(state))
                if len(full) > len(acts):
                    frame.acts, frame.next = full, 0
                    continue
            if nxt in visited:
                continue
            seen(nxt)
            res.states += 1
            path.append(action)
            for holds in always_holds:
                if not holds(nxt):
                    _violated(model, always, nxt, index, path, res, collect)
                    if not collect:
                        return _done(res, start, deepest)
                    if widen is not None:  # a visible step: expand its state whole
                        full = list(widen(state))
                        if len(full) > len(acts):
                            frame.acts, frame.next = full, 0
                    break
            else:
                stack.append(_Frame(nxt, list(actions(nxt))))
                on_stack.add(nxt)
                if len(path) > deepest:
                    deepest = len(path)
                if res.states >= max_states:
                    res.cut("states")
                    return _done(res, start, deepest)
                if res.states % 4096 == 0 and pace.out_of_time(res.states, len(path)):
                    res.cut("time")
                    return _done(res, start, deepest)
                continue
            path.pop()  # collect: a violating state is not expanded
    return _done(res, start, deepest)


ID_BITS = 40  # bits of a component's state number in a product state


class _Interned(Generic[P, B]):
    """One component of a product with its states numbered: each state stored once, its
    successors computed once, whether it breaks an always-property decided once.  A product
    state is one int, the components' numbers side by side (`ID_BITS` each); a step of
    component i adds its delta to it: no tuple per product state."""

    __slots__ = ("always", "bad", "ids", "index", "model", "shift", "states", "succ")

    def __init__(self, index: int, model: Model[P, B]) -> None:
        self.index, self.model, self.shift = index, model, index * ID_BITS
        self.always = [p.holds for p in model.properties() if p.kind == "always"]
        self.ids: dict[P, int] = {}
        self.states: list[P] = []
        self.succ: list[list[tuple[tuple[int, B], int, bool]] | None] = []
        self.bad: list[bool] = []

    def number(self, s: P) -> int:
        n = self.ids.get(s)
        if n is None:
            n = self.ids[s] = len(self.states)
            if n >> ID_BITS:
                raise OverflowError(f"{self.model.name}: more than 2**{ID_BITS} states")
            self.states.append(s)
            self.succ.append(None)
            self.bad.append(not all(holds(s) for holds in self.always))
        return n

    def successors(self, n: int) -> list[tuple[tuple[int, B], int, bool]]:
        """(the product's action, what it adds to a product state, whether the component's
        next state breaks an always-property) for each action of component state `n`."""
        out = self.succ[n]
        if out is None:
            s, m, i, sh = self.states[n], self.model, self.index, self.shift
            out = []
            for a in m.actions(s):
                nxt = self.number(m.next_state(s, a))
                out.append(((i, a), (nxt - n) << sh, self.bad[nxt]))
            self.succ[n] = out
        return out


def _search_product(model: Product[P, B], limits: Limits, collect: bool = False) -> Result:
    """`_search` of a product on numbered component states: the same states in the same
    order, the same counterexamples, each product state an int.  With the partial-order
    reduction a state expands only its lowest component that can move (the components share
    nothing, so the others' steps commute with it); the cycle proviso expands it whole when a
    successor is on the depth-first stack."""
    res = Result(models=[model.name])
    props = list(model.properties())
    always = [p for p in props if p.kind == "always"]
    eventually = [p for p in props if p.kind == "eventually"]
    start = time.monotonic()
    pace = _Pace(model.name, limits, start)
    tabs = [_Interned(i, p) for i, p in enumerate(model.parts)]
    n, mask = len(tabs), (1 << ID_BITS) - 1
    shifts = [t.shift for t in tabs]
    succs = [t.successors for t in tabs]
    comps = list(zip(range(n), succs, shifts, strict=True))
    por = model.partial_order
    max_depth, max_states = limits.max_depth, limits.max_states
    visited: set[int] = set()
    seen, deepest = visited.add, 0
    none: list[tuple[tuple[int, B], int, bool]] = []

    def decode(x: int) -> tuple[P, ...]:
        return tuple(t.states[x >> t.shift & mask] for t in tabs)

    def first(x: int) -> tuple[int, list[tuple[tuple[int, B], int, bool]]]:
        """The first component that can move in `x` and its successors (n, none: none can)."""
        for c, succ, sh in comps:
            lst = succ(x >> sh & mask)
            if lst:
                return c, lst
        return n, none

    for index, init in enumerate(model.init_states()):
        x = sum(t.number(p) << t.shift for t, p in zip(tabs, init, strict=True))
        path: list[tuple[int, B]] = []
        if _violated(model, always, init, index, [], res, collect):
            if not collect:
                return _done(res, start, deepest)
            continue
        seen(x)
        res.states += 1
        # the depth-first path as parallel stacks: a state; the component it expands, that
        # component's successors and the next to try; the last component it may expand
        c0, l0 = first(x)
        st, sc, sl, sp, sh_ = [x], [c0], [l0], [0], [c0 if por else n - 1]
        on_stack = {x}
        fresh = True  # the top frame is new: check `eventually` if it is terminal
        while st:
            state, lst, pos = st[-1], sl[-1], sp[-1]
            if fresh:
                fresh = False
                if not lst and eventually:
                    bad = _violated(model, eventually, decode(state), index, path, res, collect)
                    if bad and not collect:
                        return _done(res, start, deepest)
            if len(st) > max_depth:
                nxt = -1
            else:  # the next successor not yet visited
                end = len(lst)
                while True:
                    while pos < end:
                        action, delta, bad = lst[pos]
                        pos += 1
                        nxt = state + delta
                        if nxt not in visited:
                            break
                        if por and nxt in on_stack and sh_[-1] < n - 1:  # the cycle proviso
                            c = sc[-1]
                            if any(succ(state >> sh & mask) for d, succ, sh in comps if d != c):
                                sc[-1], sh_[-1] = 0, n - 1  # expand the state whole
                                lst, pos = succs[0](state & mask), 0
                                end = len(lst)
                    else:
                        c = sc[-1]
                        if c < sh_[-1]:  # on to the frame's next component
                            sc[-1] = c = c + 1
                            lst, pos = succs[c](state >> shifts[c] & mask), 0
                            end = len(lst)
                            continue
                        nxt = -1
                    break
                sl[-1], sp[-1] = lst, pos
            if nxt < 0:
                if len(st) > max_depth and pos < len(lst):  # cut at the depth bound
                    res.cut("depth")
                del st[-1], sc[-1], sl[-1], sp[-1], sh_[-1]
                if por:
                    on_stack.discard(state)
                if path:
                    path.pop()
                continue
            seen(nxt)
            res.states += 1
            path.append(action)
            if bad:
                _violated(model, always, decode(nxt), index, path, res, collect)
                if not collect:
                    return _done(res, start, deepest)
                path.pop()  # collect: a violating state is not expanded
                continue
            c0, l0 = first(nxt)
            st.append(nxt)
            sc.append(c0)
            sl.append(l0)
            sp.append(0)
            sh_.append(c0 if por else n - 1)
            if por:
                on_stack.add(nxt)
            fresh = True
            if len(path) > deepest:
                deepest = len(path)
            if res.states >= max_states:
                res.cut("states")
                return _done(res, start, deepest)
            if not res.states & 4095 and pace.out_of_time(res.states, len(path)):
                res.cut("time")
                return _done(res, start, deepest)
    return _done(res, start, deepest)


class _Frame(Generic[S, A]):
    """A state on the depth-first path: its actions and the next one to try."""

    __slots__ = ("acts", "next", "state")

    def __init__(self, state: S, acts: list[A]) -> None:
        self.state, self.acts, self.next = state, acts, 0


class _Pace:
    """The time bound, and a progress line on stderr at most once a second."""

    def __init__(self, name: str, limits: Limits, start: float) -> None:
        self.name, self.limits, self.start, self.last = name, limits, start, start

    def out_of_time(self, states: int, depth: int) -> bool:
        now = time.monotonic()
        if now - self.start > self.limits.max_seconds:
            return True
        if self.limits.progress and now - self.last > 1.0:
            self.last = now
            rate = states / (now - self.start)
            print(
                f"  {self.name}: {states} states, depth {depth}, {rate:.0f} states/s",
                file=sys.stderr,
            )
        return False


def _violated(
    model: Model[S, A],
    props: list[Property[S]],
    state: S,
    init: int,
    path: list[A],
    res: Result,
    collect: bool = False,
) -> bool:
    bad = False
    for p in props:
        if not p.holds(state):
            cex = Counterexample(model.name, p.code, p.name, p.explain(state), init, tuple(path))
            if res.counterexample is None:
                res.counterexample = cex
            res.found.setdefault(p.code, cex)
            bad = True
            if not collect:
                return True
    return bad


def _done(res: Result, start: float, deepest: int = 0) -> Result:
    res.seconds = time.monotonic() - start
    res.max_depth = max(res.max_depth, deepest)
    return res


def replay(model: Model[S, A], cex: Counterexample) -> list[tuple[A | None, S]]:
    """Re-run a counterexample: the (action, state after it) pairs, starting from its init state."""
    state = model.init_states()[cex.init]
    out: list[tuple[A | None, S]] = [(None, state)]
    for step in cex.path:
        a = _enabled(model, state, step)
        state = model.next_state(state, a)
        out.append((a, state))
    return out


def _enabled(model: Model[S, A], state: S, step: Hashable) -> A:
    """`step` as one of the actions `model` offers in `state` (a partial-order reduction may
    have offered it only in the full expansion); ValueError when none is."""
    full = model.all_actions(state) if isinstance(model, Product) else ()
    for a in (*model.actions(state), *full):
        if a == step:
            return a
    raise ValueError(f"action {step!r} is not enabled in the replayed state")
