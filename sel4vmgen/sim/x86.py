"""The x86 VMM as seL4 and libsel4vm run it: one thread per VM, the seL4_VMEnter loop.

While VMM code runs the guest cannot, so the injection decision (RFLAGS.IF,
interruptibility, an empty entry-info slot; libsel4vm `arch/x86/interrupt.c`)
is never stale, and a VM exit is never pending unseen.  A device interrupt
signals the thread's bound notification: in the guest that is a notification
exit (seL4 `arch/x86/object/vcpu.c`), in the VMM it sets the word and the
next VMEnter returns at once.  When the guest cannot take an interrupt the
VMM sets interrupt-window exiting and injects at the window exit; HLT with
nothing pending blocks the thread on the notification.

`X86Model` is the explorer's version: a pure transition function over
`X86State`; each action is a step of the guest, of the VMM, or a device.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sel4vmgen.sim.explore import Property
from sel4vmgen.sim.guests import HALT, MMIO, Workload, x86_flags_step
from sel4vmgen.sim.kernel import (
    AckIrq,
    Compute,
    Guest,
    Kernel,
    Syscall,
    Tcb,
    VMEnter,
    Wait,
    pair,
    word,
)
from sel4vmgen.sim.monitor import Monitor
from sel4vmgen.sim.program import Ref
from sel4vmgen.sim.properties import common_properties

GUEST, VMM, HALTED = "guest", "vmm", "halted"


class X86State(NamedTuple):
    pc: int
    if_: bool  # RFLAGS.IF
    shadow: bool  # interruptibility: blocking by STI
    mode: str  # guest | vmm | halted
    exit: str  # the exit the VMM is handling: mmio, hlt, window, notif
    word: int  # notification word: sources signalled, not yet read
    masked: int  # IRQ handlers masked until the VMM takes the interrupt
    left: tuple[int, ...]  # firings left per source
    pic: int  # pending at the emulated PIC, not yet injected
    entry: int  # source queued in VM-entry interruption info, -1 none
    window: bool  # interrupt-window exiting set
    raised: int
    delivered: int
    bad_injection: str  # non-empty once an interrupt was delivered that the guest could not take
    faults_open: int  # exits handed to the VMM and not yet answered
    faults_lost: int
    seen: tuple[bool, bool] = (False, False)  # IF and STI blocking as the last fault exit gave them


class X86Model:
    """The single-thread x86 VMM and its guest, for the explorer."""

    def __init__(self, w: Workload, reread_after_notification: bool = True) -> None:
        self.w = w
        self.name = w.name
        # False: a VMM that decides on the RFLAGS/interruptibility of the last fault exit after
        # a notification exit, which returns neither (libvmm 47e9a4c4 fixed this).
        self.reread = reread_after_notification

    def symmetry_key(self) -> Hashable:
        return (
            "x86",
            self.reread,
            self.w.program,
            self.w.fires,
            tuple(s.masked_until_ack for s in self.w.sources),
        )

    def init_states(self) -> Sequence[X86State]:
        return [
            X86State(0, False, False, GUEST, "", 0, 0, self.w.fires, 0, -1, False, 0, 0, "", 0, 0)
        ]

    def properties(self) -> Sequence[Property[X86State]]:
        return common_properties(in_flight, terminal_ok)

    def actions(self, s: X86State) -> Sequence[Hashable]:
        acts: list[Hashable] = [
            ("irq", i) for i, n in enumerate(s.left) if n and not s.masked >> i & 1
        ]
        if s.mode == GUEST:
            acts.append("guest")
        elif s.mode == VMM:
            acts.append("vmm")
        return acts

    def next_state(self, s: X86State, a: Hashable) -> X86State:
        if a == "guest":
            return self._guest(s)
        if a == "vmm":
            return self._vmm(s)
        assert isinstance(a, tuple)
        return self._irq(s, a[1])

    def _irq(self, s: X86State, i: int) -> X86State:
        bit = 1 << i
        left = (*s.left[:i], s.left[i] - 1, *s.left[i + 1 :])
        s = s._replace(left=left, masked=s.masked | bit, raised=s.raised + 1, word=s.word | bit)
        if s.mode in (GUEST, HALTED):  # notification exit, or the halted wait returns
            return s._replace(mode=VMM, exit="notif")
        return s

    def _guest(self, s: X86State) -> X86State:
        if s.window and s.if_ and not s.shadow:
            seen = (s.if_, s.shadow)
            return s._replace(mode=VMM, exit="window", faults_open=s.faults_open + 1, seen=seen)
        op = self.w.program[s.pc] if s.pc < len(self.w.program) else HALT
        stays = x86_flags_step(op, s.pc, s.if_)
        if stays is not None:
            return s._replace(pc=stays[0], if_=stays[1], shadow=stays[2])
        kind = "mmio" if op == MMIO else "hlt"
        return s._replace(
            mode=VMM, exit=kind, shadow=False, faults_open=s.faults_open + 1, seen=(s.if_, False)
        )

    def _vmm(self, s: X86State) -> X86State:
        """Handle the exit, take notified interrupts, decide injection, VMEnter."""
        stale = not self.reread and s.exit == "notif"
        s = self._handle_exit(s)
        if s.mode == HALTED:
            return s
        s = s._replace(pic=s.pic | s.word, word=0)
        s = inject(s, s.seen if stale else (s.if_, s.shadow))
        return self._enter(s)

    def _handle_exit(self, s: X86State) -> X86State:
        done = self.w.program and s.pc >= len(self.w.program)
        if s.exit == "notif":
            return s
        s = s._replace(faults_open=s.faults_open - 1)
        if s.exit == "mmio":
            return s._replace(pc=s.pc + 1)
        if s.exit == "window":
            return s._replace(window=False)
        s = s._replace(pc=s.pc if done else s.pc + 1)  # hlt: advance RIP
        if not (s.pic or s.word or s.entry >= 0):
            return s._replace(mode=HALTED)  # seL4_Wait on the notification
        return s

    def _enter(self, s: X86State) -> X86State:
        if s.word:  # VMEnter returns at once with the notification
            return s._replace(exit="notif")
        if s.entry >= 0:
            s = deliver(s, self.w.sources[s.entry].name)
        return s._replace(mode=GUEST, exit="")


def can_inject(s: X86State, view: tuple[bool, bool]) -> bool:
    """libsel4vm: RFLAGS.IF set, no STI/MOV-SS blocking, and the entry-info slot empty;
    `view` is the (IF, blocking) pair the VMM believes."""
    if_, shadow = view
    return if_ and not shadow and s.entry < 0


def inject(s: X86State, view: tuple[bool, bool]) -> X86State:
    if not s.pic:
        return s
    if not can_inject(s, view):
        return s._replace(window=True)
    low = (s.pic & -s.pic).bit_length() - 1
    pic = s.pic & ~(1 << low)
    return s._replace(entry=low, pic=pic, window=bool(pic))


def deliver(s: X86State, name: str) -> X86State:
    """VM entry with an event in the entry-info: the guest takes it now."""
    bad = s.bad_injection
    if not bad and not (s.if_ and not s.shadow):
        bad = f"interrupt {name} injected with IF={int(s.if_)}, STI blocking={int(s.shadow)}"
    # the guest's EOI acks the IRQ handler (camkes-vm's IOAPIC/PIC emulation): unmask it
    masked = s.masked & ~(1 << s.entry)
    return s._replace(entry=-1, delivered=s.delivered + 1, bad_injection=bad, masked=masked)


def in_flight(s: X86State) -> int:
    return bin(s.word).count("1") + bin(s.pic).count("1") + (s.entry >= 0)


def terminal_ok(s: X86State) -> bool:
    return s.mode == HALTED and in_flight(s) == 0


# ------------------------------------------------------------------ timed run

EXIT_US = 2  # handling one VM exit in the VMM: a round trip of the order of microseconds


NEVER_US = 1 << 62  # the length of a guest segment that makes no exit of its own


@dataclass(frozen=True)
class Phase:
    """A stretch of guest execution: `work` (with IF as given), or an exit: `mmio`, `hlt`."""

    kind: str
    us: int = 0
    if_on: bool = True


class X86Port(Guest):
    """The guest as the x86 VMM sees it between VM exits (the VMCS fields it reads and
    writes): whether it can take an interrupt now, the entry-info slot, interrupt-window
    exiting, and advancing RIP past the exiting instruction.  `held[i]`: source i is a
    level line shared by devices of which the guest clears one only (`Source.held`)."""

    window: bool = False
    held: tuple[bool, ...] = ()

    def eoi(self, source: int) -> bool:
        """Whether the guest EOIs an interrupt of `source` it takes (the VMM then acks the
        line).  A held line is not: the guest's handler clears its own device, the other
        device keeps the level line asserted, the line fires again at once and nobody claims
        it, and the guest disables the interrupt ("nobody cared") without an EOI."""
        return not (source < len(self.held) and self.held[source])

    def can_take(self) -> bool:
        raise NotImplementedError

    def entry_free(self) -> bool:
        raise NotImplementedError

    def inject(self, source: int) -> None:
        raise NotImplementedError

    def advance(self) -> None:
        """RIP past the exiting instruction."""


class X86Guest(X86Port):
    """The guest under VMEnter: runs phases until an exit; takes what the entry-info holds."""

    def __init__(self, vm: str, phases: Sequence[Phase], loop: int, monitor: Monitor) -> None:
        self.vm, self.phases, self.loop, self.monitor = vm, list(phases), loop, monitor
        self.idx, self.off = 0, 0
        self.start = (0, 0)
        self.entry: str | None = None
        self.window = False
        self.names: tuple[str, ...] = ()  # source i's name, for what the guest took

    def if_on(self) -> bool:
        return self.phases[self.idx].if_on

    def can_take(self) -> bool:
        return self.if_on()

    def entry_free(self) -> bool:
        return self.entry is None

    def inject(self, source: int) -> None:
        self.entry = self.names[source]

    def _next(self, i: int) -> int:
        return i + 1 if i + 1 < len(self.phases) else self.loop

    def segment(self, now: int) -> tuple[int, str]:
        if self.entry is not None:
            if not self.if_on():
                self.monitor.report("E501", self.vm, f"{self.vm}: {self.entry} injected with IF=0")
            self.monitor.taken(self.vm, self.entry)
            self.entry = None
        self.start = (self.idx, self.off)
        total, i, off = 0, self.idx, self.off
        for _ in range(2 * len(self.phases) + 1):
            ph = self.phases[i]
            if self.window and ph.if_on:
                self.idx, self.off = i, off
                return total, "window"
            if ph.kind != "work":
                self.idx, self.off = i, 0
                return total, ph.kind
            total += ph.us - off
            i, off = self._next(i), 0
        # a loop of work with no exit (a spinning guest): it runs until a notification cuts it
        return NEVER_US, "spin"

    def cut(self, ran_us: int) -> None:
        i, off = self.start
        while True:
            ph = self.phases[i]
            if ph.kind != "work" or ran_us < ph.us - off:
                self.idx, self.off = i, off + ran_us if ph.kind == "work" else 0
                return
            ran_us -= ph.us - off
            i, off = self._next(i), 0

    def advance(self) -> None:
        self.idx, self.off = self._next(self.idx), 0

    # as the explorer drives it (`system.Explorable`): the script decides, time does not
    def snapshot(self) -> Hashable:
        return (self.idx, self.off, self.start, self.entry, self.window)

    def restored(self, state: Hashable) -> X86Guest:
        assert isinstance(state, tuple)
        g = X86Guest(self.vm, self.phases, self.loop, self.monitor)
        g.names, g.held = self.names, self.held
        g.idx, g.off, g.start, g.entry, g.window = state
        return g

    def moves(self) -> Sequence[Hashable]:
        """The exit the script makes next (`segment` has moved to it), none when it spins."""
        ph = self.phases[self.idx]
        if self.window and ph.if_on:
            return ("window",)
        return () if ph.kind == "work" else (ph.kind,)

    def move(self, m: Hashable) -> str | None:
        """An exit; or ("seek", phase, offset): where the guest has got to when a
        notification or a preemption cuts its segment (in a timed run, the time decides)."""
        if isinstance(m, tuple):
            _, idx, off = m
            self.start = (idx, off)
            return None
        return str(m)


def x86_phases(devices: int, crit_us: int, spin: bool) -> tuple[list[Phase], int]:
    """Boot (interrupts off, one MMIO access per emulated device), then the loop; its start."""
    boot = [Phase("mmio", 0, False) for _ in range(devices)]
    if spin:
        return [*boot, Phase("work", 1000)], len(boot)
    loop = [Phase("work", 200)]
    if crit_us:
        loop.append(Phase("work", crit_us, False))
    loop += [Phase("work", 100), Phase("hlt")]
    return boot + loop, len(boot)


class VmmLocal(NamedTuple):
    """Where the VMM loop is, and what it holds between system calls."""

    at: str  # enter | got | ack | woke
    kind: str = ""  # what VMEnter returned: fault | notif
    info: Hashable = None  # the exit, or the notification word
    pic: tuple[int, ...] = ()  # sources pending at the emulated PIC, oldest first
    to_ack: tuple[int, ...] = ()  # taken by the guest at the last entry: its EOI acks them
    seen: bool = False  # could the guest take an interrupt, as the last fault exit said


@dataclass(frozen=True)
class X86Vmm:
    """libsel4vm's `vm_run` as a `Program`: VMEnter, handle the exit or the notification,
    inject, repeat.  Source i is `kernel.handlers[handlers[i]]`, signalled with badge 1 << i;
    the guest is the thread's `guest` (an `X86Port`)."""

    handlers: tuple[int, ...]
    ntfn: int
    # False: a VMM that decides on the RFLAGS/interruptibility of the last fault exit after
    # a notification exit, which returns neither (libvmm 47e9a4c4 fixed this)
    reread: bool = True

    def start(self) -> VmmLocal:
        return VmmLocal("enter")

    def objects(self) -> frozenset[Ref]:
        return frozenset({("ntfn", self.ntfn), *(("irq", h) for h in self.handlers)})

    def step(
        self, k: Kernel, me: Tcb, s: VmmLocal, value: Hashable
    ) -> tuple[VmmLocal, Syscall | None]:
        guest = me.guest
        assert isinstance(guest, X86Port)
        if s.at == "enter":
            return s._replace(at="got"), VMEnter()
        if s.at == "got":
            kind, info = pair(value)
            assert isinstance(kind, str)
            seen = guest.can_take() if kind == "fault" else s.seen
            return s._replace(at="ack", kind=kind, info=info, seen=seen), Compute(EXIT_US)
        if s.at == "ack" and s.to_ack:
            return s._replace(to_ack=s.to_ack[1:]), AckIrq(k.handlers[self.handlers[s.to_ack[0]]])
        if s.at == "ack":
            bits = word(s.info) if s.kind == "notif" else 0
            if s.kind == "fault" and s.info in ("mmio", "hlt"):
                guest.advance()
            if s.kind == "fault" and s.info == "window":
                guest.window = False
            if s.kind == "fault" and s.info == "hlt" and not s.pic and guest.entry_free():
                return s._replace(at="woke"), Wait(k.notifications[self.ntfn])  # halted
        else:  # woke: the notification word that ended the halt
            bits = word(value)
        pic = s.pic + tuple(
            i for i in range(len(self.handlers)) if bits >> i & 1 and i not in s.pic
        )
        to_ack: tuple[int, ...] = ()
        can = s.seen if not self.reread and s.kind == "notif" else guest.can_take()
        if pic and guest.entry_free() and can:
            guest.inject(pic[0])
            pic, to_ack = pic[1:], (pic[0],) if guest.eoi(pic[0]) else ()
        guest.window = bool(pic)
        return VmmLocal("got", pic=pic, to_ack=to_ack, seen=s.seen), VMEnter()
