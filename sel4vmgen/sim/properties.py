"""The properties the explorer checks on every VMM model, and how a violation reads.

Each model's state carries the same bookkeeping: `raised` and `delivered`
interrupt counts, `bad_injection` (why an injection was wrong, once),
`faults_open` and `faults_lost`, and `left`, the firings each source still
has to make (a line left masked for ever is a deadlock too).  A model supplies `in_flight(state)` (the
interrupts still pending somewhere) and `terminal_ok(state)` (an end state
with nothing left to do).  Conservation, raised = delivered + in flight,
catches a lost interrupt at the step that loses it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol, TypeVar

from sel4vmgen.sim.explore import Property

TITLES = {
    "E501": "no interrupt injected when the guest cannot take it",
    "E502": "no interrupt lost",
    "E503": "no fault lost or answered twice",
    "E504": "no deadlock",
    "E505": "no thread with pending work starved",
    "E506": "interrupt latency within the bound",
    "E507": "boot images inside RAM, apart and aligned",
    "E508": "every device the guest is given is backed",
    "E509": "the vGIC overflow ring never fills",
    "E510": "no interrupt line masked forever",
    "E511": "no interrupt left pending while the guest has interrupts enabled",
    "E512": "no fault left unanswered",
}


class Bookkeeping(Hashable, Protocol):
    """The fields every VMM model's state keeps (its NamedTuple has them)."""

    @property
    def raised(self) -> int: ...
    @property
    def delivered(self) -> int: ...
    @property
    def bad_injection(self) -> str: ...
    @property
    def faults_open(self) -> int: ...
    @property
    def faults_lost(self) -> int: ...
    @property
    def left(self) -> tuple[int, ...]: ...


K = TypeVar("K", bound=Bookkeeping)


def common_properties(
    in_flight: Callable[[K], int], terminal_ok: Callable[[K], bool]
) -> list[Property[K]]:
    """E501-E504 for a model whose state has the common bookkeeping fields."""

    def conserved(s: K) -> bool:
        return bool(s.raised == s.delivered + in_flight(s))

    return [
        Property(TITLES["E501"], "E501", "always", lambda s: not s.bad_injection, _bad),
        Property(TITLES["E502"], "E502", "always", conserved, lambda s: _lost(s, in_flight)),
        Property(TITLES["E503"], "E503", "always", _faults_ok, _faults),
        Property(
            TITLES["E504"],
            "E504",
            "eventually",
            lambda s: terminal_ok(s) and not any(s.left),
            lambda s: _stuck(s, in_flight),
        ),
    ]


def _bad(s: Bookkeeping) -> str:
    return str(s.bad_injection)


def _lost(s: K, in_flight: Callable[[K], int]) -> str:
    lost = s.raised - s.delivered - in_flight(s)
    return f"{lost} interrupt(s) lost: raised {s.raised}, delivered {s.delivered}, pending {in_flight(s)}"


def _faults_ok(s: Bookkeeping) -> bool:
    return bool(s.faults_lost == 0 and s.faults_open >= 0)


def _faults(s: Bookkeeping) -> str:
    if s.faults_lost:
        return f"{s.faults_lost} fault(s) discarded before the VMM answered"
    return "a fault was answered twice"


def _stuck(s: K, in_flight: Callable[[K], int]) -> str:
    why = f"no step possible with {in_flight(s)} interrupt(s) pending and {s.faults_open} fault(s) open"
    never = sum(s.left)
    if never:
        why += f"; {never} interrupt(s) can never be raised: their lines stay masked"
    return why
