"""Finding overlaps between owners' address intervals with one sort and one sweep.

`overlaps(intervals)` sorts by start and walks once, remembering the interval
that reaches furthest and the one that reaches furthest among the other
owners.  Each interval that overlaps an earlier interval of a DIFFERENT owner
is reported once, against that earlier interval: O(n log n) for n intervals,
so a thousand VMs with sixteen windows each are checked in milliseconds.
Intervals of the same owner may overlap each other freely.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Interval(Generic[T]):
    """[start, start + size) held by `owner`; `info` is what the caller needs to report it."""

    start: int
    size: int
    owner: Hashable
    info: T

    @property
    def end(self) -> int:
        return self.start + self.size


def overlaps(intervals: Iterable[Interval[T]]) -> list[tuple[Interval[T], Interval[T]]]:
    """(later, earlier) pairs of different owners whose ranges intersect, in sweep order."""
    found: list[tuple[Interval[T], Interval[T]]] = []
    best: Interval[T] | None = None  # reaches furthest so far
    other: Interval[T] | None = None  # reaches furthest among owners other than best's
    for iv in sorted(intervals, key=lambda v: (v.start, v.end)):
        if iv.size <= 0:
            continue
        hit = _hit(iv, best) or _hit(iv, other)
        if hit is not None:
            found.append((iv, hit))
        best, other = _advance(iv, best, other)
    return found


def _hit(iv: Interval[T], held: Interval[T] | None) -> Interval[T] | None:
    if held is not None and held.owner != iv.owner and iv.start < held.end:
        return held
    return None


def _advance(
    iv: Interval[T], best: Interval[T] | None, other: Interval[T] | None
) -> tuple[Interval[T] | None, Interval[T] | None]:
    """Keep the furthest-reaching interval and the furthest of another owner."""
    if best is None:
        return iv, None
    if iv.end > best.end:
        if iv.owner != best.owner:
            return iv, best
        return iv, other
    if iv.owner != best.owner and (other is None or iv.end > other.end):
        return best, iv
    return best, other
