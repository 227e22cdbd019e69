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
from typing import Any, Protocol

from sel4vmgen.sim.kernel import Kernel, Syscall, Tcb


class Program(Protocol):
    """A thread's code: a start state and a step function."""

    def start(self) -> Hashable: ...

    def step(
        self, k: Kernel, me: Tcb, local: Any, value: Any
    ) -> tuple[Hashable, Syscall | None]: ...


class Running:
    """A program in a thread: the body the kernel resumes with each call's result."""

    __slots__ = ("kernel", "local", "me", "program")

    def __init__(self, program: Program, kernel: Kernel, local: Hashable | None = None) -> None:
        self.program, self.kernel = program, kernel
        self.local: Hashable = program.start() if local is None else local
        self.me: Tcb | None = None

    def send(self, value: Any, /) -> Syscall:
        assert self.me is not None
        self.local, op = self.program.step(self.kernel, self.me, self.local, value)
        if op is None:
            raise StopIteration
        return op


def spawn(k: Kernel, name: str, priority: int, core: int, program: Program) -> Tcb:
    """A thread of `k` running `program` (Inactive until started)."""
    body = Running(program, k)
    t = k.thread(name, priority, core, body)
    body.me = t
    return t
