"""VMM designs as explicit state machines, so one definition serves both checkers.

A `Program` is what a thread runs, written as a step function over a small
hashable local state: `step(kernel, thread, local, value)` takes the value the
thread's last system call returned and gives the new local state and the next
system call (None: the thread ends).  Other kernel objects are reached through
the kernel (`kernel.handlers[i]`, `kernel.notifications[j]`) and the thread
(`thread.guest`), never held, so a kernel rebuilt from a snapshot
(`system.thaw`) runs the same program on the same local state.  `Running` is
the body `Kernel.thread` is given: it steps the program when the kernel sends
it a value, as it would resume a generator.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from sel4vmgen.sim.kernel import Kernel, Syscall, Tcb

L = TypeVar("L", bound=Hashable)
# a kernel object a program names: ("tcb" | "ep" | "ntfn" | "irq" | "obj", its index in the
# kernel's threads, endpoints, notifications, handlers or other objects)
Ref = tuple[str, int]


class Program(Protocol[L]):
    """A thread's code: a start state and a step function over its local state `L`."""

    def start(self) -> L: ...

    def step(self, k: Kernel, me: Tcb, local: L, value: Hashable) -> tuple[L, Syscall | None]: ...

    def objects(self) -> frozenset[Ref]:
        """The kernel objects the program names (beyond its own thread and bound
        notification): what its steps may read or write."""
        ...


class Running(Generic[L]):
    """A program in a thread: the body the kernel resumes with each call's result."""

    __slots__ = ("kernel", "local", "me", "program")

    def __init__(self, program: Program[L], kernel: Kernel, local: L | None = None) -> None:
        self.program, self.kernel = program, kernel
        self.local: L = program.start() if local is None else local
        self.me: Tcb | None = None

    def send(self, value: Hashable, /) -> Syscall:
        assert self.me is not None
        self.local, op = self.program.step(self.kernel, self.me, self.local, value)
        if op is None:
            raise StopIteration
        return op


def spawn(k: Kernel, name: str, priority: int, core: int, program: Program[L]) -> Tcb:
    """A thread of `k` running `program` (Inactive until started)."""
    body = Running(program, k)
    t = k.thread(name, priority, core, body)
    body.me = t
    return t
