"""The historical two-thread x86 VMM, kept as a model to compare designs against.

A VCPU thread runs the guest and sends each VM exit to the VMM thread as a
fault (a kernel-made Call); the VMM thread receives faults and interrupt
notifications on one endpoint.  To inject, the VMM (1) reads the guest's
RFLAGS.IF and interruptibility, (2) decides, (3) writes the VM-entry info.
Nothing stops the guest between (1) and (3) unless the VMM suspends the VCPU
thread, and `seL4_TCB_Suspend` cancels the thread's IPC: a fault it has sent
and that the VMM has not answered is discarded with its reply cap.  Both
halves of the 2018 race are reachable here: `stop="none"` injects into a
guest with interrupts off (E501), `stop="suspend"` loses a fault (E503).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from sel4vmgen.sim.explore import Property
from sel4vmgen.sim.guests import MMIO, Workload, x86_flags_step
from sel4vmgen.sim.kernel import (
    RESTARTED,
    AckIrq,
    Call,
    Compute,
    Endpoint,
    Kernel,
    Recv,
    ReplyRecv,
    Resume,
    Suspend,
    Syscall,
    Tcb,
    VMEnter,
    pair,
    word,
)
from sel4vmgen.sim.program import Ref
from sel4vmgen.sim.properties import common_properties
from sel4vmgen.sim.x86 import X86Port

Stop = Literal["none", "suspend"]


class SplitState(NamedTuple):
    pc: int
    if_: bool
    shadow: bool
    vcpu: str  # guest | sent (fault queued on the endpoint) | reply (VMM holds it) | suspended
    fault: str  # the exit the VCPU sent: mmio, hlt, window
    vmm: str  # idle | fault | read | write | resume
    snap: bool  # what the VMM read: could the guest take an interrupt
    word: int
    masked: int
    left: tuple[int, ...]
    pic: int
    entry: int
    window: bool
    raised: int
    delivered: int
    bad_injection: str
    faults_open: int
    faults_lost: int


class SplitModel:
    """The two-thread x86 VMM and its guest, for the explorer."""

    def __init__(self, w: Workload, stop: Stop = "none") -> None:
        self.w, self.stop = w, stop
        self.name = w.name

    def symmetry_key(self) -> Hashable:
        return ("x86_split", self.stop, self.w.program, self.w.fires)

    def init_states(self) -> Sequence[SplitState]:
        return [
            SplitState(
                0, False, False, "guest", "", "idle", False, 0, 0, self.w.fires, 0, -1, False,
                0, 0, "", 0, 0,
            )
        ]  # fmt: skip

    def properties(self) -> Sequence[Property[SplitState]]:
        return common_properties(in_flight, terminal_ok)

    def actions(self, s: SplitState) -> Sequence[Hashable]:
        acts: list[Hashable] = [
            ("irq", i) for i, n in enumerate(s.left) if n and not s.masked >> i & 1
        ]
        if s.vcpu == "guest" and (s.pc < len(self.w.program) or s.entry >= 0 or s.window):
            acts.append("guest")
        if self._vmm_can_step(s):
            acts.append("vmm")
        return acts

    def _vmm_can_step(self, s: SplitState) -> bool:
        if s.vmm != "idle":
            return True
        return bool(s.word) or s.vcpu == "sent"

    def next_state(self, s: SplitState, a: Hashable) -> SplitState:
        if a == "guest":
            return self._guest(s)
        if a == "vmm":
            return self._vmm(s)
        assert isinstance(a, tuple)
        bit = 1 << a[1]
        left = (*s.left[: a[1]], s.left[a[1]] - 1, *s.left[a[1] + 1 :])
        return s._replace(left=left, masked=s.masked | bit, word=s.word | bit, raised=s.raised + 1)

    def _guest(self, s: SplitState) -> SplitState:
        if s.entry >= 0:  # the written entry-info is taken at the guest's next entry
            bad = s.bad_injection
            if not bad and not (s.if_ and not s.shadow):
                bad = (
                    f"interrupt {self.w.sources[s.entry].name} injected while the guest had "
                    f"IF={int(s.if_)}, STI blocking={int(s.shadow)}"
                )
            masked = s.masked & ~(1 << s.entry)
            return s._replace(entry=-1, delivered=s.delivered + 1, bad_injection=bad, masked=masked)
        if s.window and s.if_ and not s.shadow:
            return s._replace(vcpu="sent", fault="window", faults_open=s.faults_open + 1)
        op = self.w.program[s.pc]
        stays = x86_flags_step(op, s.pc, s.if_)
        if stays is not None:
            return s._replace(pc=stays[0], if_=stays[1], shadow=stays[2])
        kind = "mmio" if op == MMIO else "hlt"
        return s._replace(vcpu="sent", fault=kind, shadow=False, faults_open=s.faults_open + 1)

    def _vmm(self, s: SplitState) -> SplitState:
        """One step of the VMM thread's loop."""
        if s.vmm == "idle":
            if s.word:  # the bound notification wins the receive
                return s._replace(
                    pic=s.pic | s.word, word=0, vmm="read" if self.stop == "none" else "stop"
                )
            return s._replace(vcpu="reply", vmm="fault")
        if s.vmm == "fault":
            return self._answer(s)
        if s.vmm == "stop":
            return self._suspend(s)
        if s.vmm == "read":
            return s._replace(vmm="write", snap=s.if_ and not s.shadow)
        if s.vmm == "write":
            return self._write(s)
        return s._replace(vmm="idle", vcpu="guest" if s.vcpu == "suspended" else s.vcpu)

    def _answer(self, s: SplitState) -> SplitState:
        pc = s.pc + 1 if s.fault in ("mmio", "hlt") else s.pc
        window = False if s.fault == "window" else s.window
        s = s._replace(pc=pc, window=window, vcpu="guest", faults_open=s.faults_open - 1)
        return s._replace(
            vmm="read" if s.pic and self.stop == "none" else ("stop" if s.pic else "idle")
        )

    def _suspend(self, s: SplitState) -> SplitState:
        gone = int(s.vcpu in ("sent", "reply"))  # cancelIPC: the fault and its reply cap vanish
        return s._replace(
            vcpu="suspended",
            vmm="read",
            faults_lost=s.faults_lost + gone,
            faults_open=s.faults_open - gone,
        )

    def _write(self, s: SplitState) -> SplitState:
        after = "resume" if self.stop == "suspend" else "idle"
        if not s.pic:
            return s._replace(vmm=after)
        if not s.snap or s.entry >= 0:
            return s._replace(window=True, vmm=after)
        low = (s.pic & -s.pic).bit_length() - 1
        pic = s.pic & ~(1 << low)
        return s._replace(entry=low, pic=pic, window=bool(pic), vmm=after)


def in_flight(s: SplitState) -> int:
    return bin(s.word).count("1") + bin(s.pic).count("1") + (s.entry >= 0)


def terminal_ok(s: SplitState) -> bool:
    return in_flight(s) == 0 and s.faults_open == 0


# ------------------------------------------------------------------ timed run

READ_US = 1  # reading guest state (RFLAGS, interruptibility) from the VMCS: a system call


class VcpuLocal(NamedTuple):
    at: str  # enter | entered | called
    info: str = ""  # the exit sent to the VMM


@dataclass(frozen=True)
class SplitVcpu:
    """The VCPU thread as a `Program`: VMEnter, send each exit to the VMM as a fault,
    re-enter on the reply.  Its guest is the thread's `guest` (an `X86Port`)."""

    ep: int

    def start(self) -> VcpuLocal:
        return VcpuLocal("enter")

    def objects(self) -> frozenset[Ref]:
        return frozenset({("ep", self.ep)})

    def step(
        self, k: Kernel, me: Tcb, s: VcpuLocal, value: Hashable
    ) -> tuple[VcpuLocal, Syscall | None]:
        guest = me.guest
        assert isinstance(guest, X86Port)
        if s.at == "entered" and value != RESTARTED:  # a fault exit: send it to the VMM
            info = str(pair(value)[1])
            return VcpuLocal("called", info), Call(k.endpoints[self.ep], info, 1, fault=True)
        if s.at == "called" and value != RESTARTED:  # the VMM answered
            if s.info in ("mmio", "hlt"):
                guest.advance()
            elif s.info == "window":
                guest.window = False
        # suspended and resumed, or the fault discarded: enter again (the exit happens again)
        return VcpuLocal("entered"), VMEnter()


class VmmLocal(NamedTuple):
    at: str  # recv | got | ack | suspended | read | resumed
    got: tuple[Hashable, Hashable] | None = None
    pic: tuple[int, ...] = ()
    to_ack: tuple[int, ...] = ()
    can: bool = False


@dataclass(frozen=True)
class SplitVmm:
    """The VMM thread as a `Program`: answer faults; on interrupts read the guest's state,
    decide, inject, while the VCPU thread (`kernel.threads[vcpu]`) may run on.  Source i is
    `kernel.handlers[handlers[i]]`, badge 1 << i."""

    vcpu: int
    ep: int
    handlers: tuple[int, ...]
    stop: Stop = "none"

    def start(self) -> VmmLocal:
        return VmmLocal("recv")

    def objects(self) -> frozenset[Ref]:
        # the VCPU thread: it reads and writes its guest's state, suspends and resumes it
        return frozenset(
            {("ep", self.ep), ("tcb", self.vcpu), *(("irq", h) for h in self.handlers)}
        )

    def step(
        self, k: Kernel, me: Tcb, s: VmmLocal, value: Hashable
    ) -> tuple[VmmLocal, Syscall | None]:
        guest = k.threads[self.vcpu].guest
        assert isinstance(guest, X86Port)
        ep, vcpu = k.endpoints[self.ep], k.threads[self.vcpu]
        if s.at == "recv":
            return s._replace(at="got"), Recv(ep)
        if s.at == "got":
            s = s._replace(at="ack", got=pair(value))
        if s.at == "ack":
            pending = [i for i in s.to_ack if k.handlers[self.handlers[i]].masked]
            if pending and guest.entry_free():  # taken by the guest: its EOI acks the line
                rest = tuple(i for i in s.to_ack if i != pending[0])
                return s._replace(to_ack=rest), AckIrq(k.handlers[self.handlers[pending[0]]])
            to_ack = s.to_ack if not guest.entry_free() else ()
            assert s.got is not None
            bits = 0 if s.got[0] != "notification" else word(s.got[1])
            pic = s.pic + tuple(
                i for i in range(len(self.handlers)) if bits >> i & 1 and i not in s.pic
            )
            s = s._replace(pic=pic, to_ack=to_ack)
            if not (pic and guest.entry_free()):
                return self._wait(ep, s)
            if self.stop == "suspend":
                return s._replace(at="suspended"), Suspend(vcpu)
            s = s._replace(at="suspended")
        if s.at == "suspended":
            can = guest.can_take()  # (1) read
            return s._replace(at="read", can=can), Compute(READ_US)  # (2) decide, while...
        if s.at == "read":
            pic, to_ack = s.pic, s.to_ack
            if s.can:  # (3) write: on what was read, maybe stale
                guest.inject(pic[0])
                pic, to_ack = pic[1:], (*to_ack, pic[0])
            guest.window = bool(pic) or not s.can
            s = s._replace(pic=pic, to_ack=to_ack)
            if self.stop == "suspend":
                return s._replace(at="resumed"), Resume(vcpu)
        return self._wait(ep, s)

    def _wait(self, ep: Endpoint, s: VmmLocal) -> tuple[VmmLocal, Syscall]:
        assert s.got is not None
        replying = s.got[0] != "notification"
        return s._replace(at="got", got=None), (ReplyRecv(ep, True) if replying else Recv(ep))
