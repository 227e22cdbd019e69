"""The ARM VMM as camkes-vm runs it: a VMM thread, a thread per VCPU, and the vGIC.

One VMM thread receives every VCPU's faults on one endpoint (badge = vcpu id
+ 1) and the interrupt notifications; VCPU threads run at base_prio - 1.
Injection goes through the kernel (`seL4_ARM_VCPU_InjectIRQ`, seL4
`arch/arm/object/vcpu.c`): an ACTIVE list register is refused, a PENDING one
is silently overwritten.  libsel4vm's vGIC (`arch/arm/vgic/vgic.c`) keeps a
shadow of the list registers and a 64-entry overflow ring (63 usable; full
means abort); a maintenance fault (one list register per fault) frees the
slot, acks the source (IRQHandler_Ack, or AckVPPI for the virtual timer) and
refills from the ring.  WFI is a VCPU fault kept unanswered until the next
injection.  Secondary VCPUs start on PSCI CPU_ON.

`ArmModel` is the explorer's version, one VCPU per model (VCPUs share no
vGIC state; SPIs go to VCPU 0).  `check_shadow=False` is a VMM that injects
into the next list register round-robin without looking at its shadow: it
overwrites a PENDING register and loses an interrupt.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from sel4vmgen.plan.model import LIBSEL4VM_LIST_REGISTERS
from sel4vmgen.sim.explore import Property
from sel4vmgen.sim.guests import CLI, MMIO, STI, WORK, Workload
from sel4vmgen.sim.kernel import (
    AckIrq,
    Call,
    Compute,
    Kernel,
    Notification,
    Recv,
    ReplyRecv,
    ReplyTo,
    SaveCaller,
    Syscall,
    Tcb,
    pair,
    word,
)
from sel4vmgen.sim.monitor import Monitor
from sel4vmgen.sim.program import Ref
from sel4vmgen.sim.properties import TITLES, common_properties

OVERFLOW_RING = 64  # libsel4vm arch/arm/vgic virq.h: MAX_LR_OVERFLOW 64, head/tail ring (63 usable)
INVALID, PENDING, ACTIVE = 0, 1, 2
LR_NAMES = ("invalid", "pending", "active")
T = TypeVar("T")


class ArmState(NamedTuple):
    pc: int
    if_: bool  # CPSR.I clear: the guest takes IRQs
    vcpu: str  # off | guest | wfi | fault (mmio) | maint (maintenance fault open)
    lrs: tuple[tuple[int, int], ...]  # (state, source) per list register
    shadow: tuple[int, ...]  # the VMM's copy: source per LR, -1 free
    ring: tuple[int, ...]  # overflow queue of sources
    maint: int  # LR index of the open maintenance fault, -1 none
    next_lr: int  # round-robin cursor of the unchecked variant
    word: int
    masked: int
    left: tuple[int, ...]
    raised: int
    delivered: int
    aborted: bool
    bad_injection: str
    faults_open: int
    faults_lost: int


class ArmModel:
    """One VCPU, its list registers, and the VMM's vGIC, for the explorer."""

    def __init__(
        self,
        w: Workload,
        lrs: int = LIBSEL4VM_LIST_REGISTERS,
        secondary: bool = False,
        check_shadow: bool = True,
    ) -> None:
        self.w, self.n, self.secondary, self.check_shadow = w, lrs, secondary, check_shadow
        self.name = w.name

    def symmetry_key(self) -> Hashable:
        return ("arm", self.n, self.secondary, self.check_shadow, self.w.program, self.w.fires)

    def init_states(self) -> Sequence[ArmState]:
        return [
            ArmState(
                0, False, "off" if self.secondary else "guest", ((INVALID, -1),) * self.n,
                (-1,) * self.n, (), -1, 0, 0, 0, self.w.fires, 0, 0, False, "", 0, 0,
            )
        ]  # fmt: skip

    def properties(self) -> Sequence[Property[ArmState]]:
        ring: Property[ArmState] = Property(
            TITLES["E509"],
            "E509",
            "always",
            lambda s: not s.aborted,
            lambda s: (
                f"{len(s.ring) + 1} interrupts waiting for {self.n} list registers: the VMM aborts"
            ),
        )
        return [ring, *common_properties(in_flight, terminal_ok)]

    def actions(self, s: ArmState) -> Sequence[Hashable]:
        if s.aborted:
            return []
        if s.vcpu == "off":
            return ["cpu_on"]
        acts: list[Hashable] = [
            ("irq", i) for i, n in enumerate(s.left) if n and not s.masked >> i & 1
        ]
        if s.word:
            acts.append("vmm_irq")
        if s.vcpu in ("fault", "maint"):
            acts.append("vmm_fault")
        if s.vcpu == "guest":
            acts.append("guest")
        return acts

    def next_state(self, s: ArmState, a: Hashable) -> ArmState:
        if a == "guest":
            return self._guest(s)
        if a == "vmm_irq":
            return self._vmm_irq(s)
        if a == "vmm_fault":
            return self._vmm_fault(s)
        if a == "cpu_on":  # PSCI CPU_ON from the boot VCPU, answered by the VMM
            return s._replace(vcpu="guest")
        assert isinstance(a, tuple)
        i = a[1]
        bit = 1 << i
        left = (*s.left[:i], s.left[i] - 1, *s.left[i + 1 :])
        masked = s.masked | bit if self.w.sources[i].masked_until_ack else s.masked
        # a second signal before the VMM reads the notification word ORs into the same bit:
        # seL4 notifications coalesce, so the VMM sees (and the guest is owed) one interrupt
        raised = s.raised + (0 if s.word & bit else 1)
        return s._replace(left=left, masked=masked, word=s.word | bit, raised=raised)

    # ------------------------------------------------------------ the guest

    def _guest(self, s: ArmState) -> ArmState:
        for i, (st, _src) in enumerate(s.lrs):
            if st == ACTIVE:  # the handler ends: EOI, the LR goes invalid, maintenance fault
                lrs = _set(s.lrs, i, (INVALID, -1))
                return s._replace(lrs=lrs, vcpu="maint", maint=i, faults_open=s.faults_open + 1)
        for i, (st, src) in enumerate(s.lrs):
            if st == PENDING and s.if_:  # the guest acknowledges it (GICC_IAR)
                lrs = _set(s.lrs, i, (ACTIVE, src))
                return s._replace(lrs=lrs, delivered=s.delivered + 1)
        if s.pc >= len(self.w.program):
            return s._replace(vcpu="wfi", faults_open=s.faults_open + 1)
        op = self.w.program[s.pc]
        if op == CLI:
            return s._replace(pc=s.pc + 1, if_=False)
        if op in (STI, WORK):
            return s._replace(pc=s.pc + 1, if_=s.if_ or op == STI)
        if op == MMIO:
            return s._replace(vcpu="fault", faults_open=s.faults_open + 1)
        if any(st == PENDING for st, _ in s.lrs):  # WFI with an interrupt pending completes
            return s._replace(pc=s.pc + 1)
        return s._replace(vcpu="wfi", faults_open=s.faults_open + 1)

    # ------------------------------------------------------------ the VMM thread

    def _vmm_fault(self, s: ArmState) -> ArmState:
        if s.vcpu == "fault":  # emulate the MMIO access, advance the PC, reply
            return s._replace(pc=s.pc + 1, vcpu="guest", faults_open=s.faults_open - 1)
        src = s.shadow[s.maint]
        shadow = _set(s.shadow, s.maint, -1)
        masked = s.masked & ~(1 << src) if src >= 0 else s.masked  # IRQHandler_Ack / AckVPPI
        s = s._replace(shadow=shadow, masked=masked, vcpu="guest", maint=-1)
        s = s._replace(faults_open=s.faults_open - 1)
        if s.ring:
            head, ring = s.ring[0], s.ring[1:]
            s = self._inject(s._replace(ring=ring), head)
        return s

    def _vmm_irq(self, s: ArmState) -> ArmState:
        low = (s.word & -s.word).bit_length() - 1
        s = s._replace(word=s.word & ~(1 << low))
        if low in s.shadow or low in s.ring:
            return s._replace(raised=s.raised - 1)  # already pending: merged
        return self._inject(s, low)

    def _inject(self, s: ArmState, src: int) -> ArmState:
        lr = self._choose_lr(s)
        if lr < 0:
            if len(s.ring) + 1 >= OVERFLOW_RING:
                return s._replace(aborted=True)
            return s._replace(ring=(*s.ring, src))
        st, _old = s.lrs[lr]
        if st == ACTIVE:  # seL4_DeleteFirst: refused, keep it queued
            return s._replace(ring=(*s.ring, src), next_lr=(lr + 1) % self.n)
        lrs = _set(s.lrs, lr, (PENDING, src))  # a PENDING LR is overwritten
        s = s._replace(lrs=lrs, shadow=_set(s.shadow, lr, src), next_lr=(lr + 1) % self.n)
        if s.vcpu == "wfi":  # the injection ends the WFI: advance the PC and reply
            pc = min(s.pc + 1, len(self.w.program))
            s = s._replace(vcpu="guest", pc=pc, faults_open=s.faults_open - 1)
        return s

    def _choose_lr(self, s: ArmState) -> int:
        if not self.check_shadow:
            return s.next_lr
        return s.shadow.index(-1) if -1 in s.shadow else -1


def _set(t: tuple[T, ...], i: int, v: T) -> tuple[T, ...]:
    return (*t[:i], v, *t[i + 1 :])


def in_flight(s: ArmState) -> int:
    pending = sum(1 for st, _ in s.lrs if st == PENDING)
    return bin(s.word).count("1") + pending + len(s.ring)


def terminal_ok(s: ArmState) -> bool:
    return in_flight(s) == 0 and s.vcpu in ("wfi", "off") and not s.aborted


# ------------------------------------------------------------------ timed run

FAULT_US = 3  # the VMM handling one fault (order of a round trip)
HANDLER_US = 10  # the guest's interrupt handler, from acknowledge to EOI
CHUNK_US = 100  # guest work runs in chunks; interrupts are taken between them


Lr = tuple[int, str | None]  # a list register: INVALID, PENDING or ACTIVE, and its source


@dataclass
class Vcpu:
    """One VCPU: the seL4 VCPU object's list registers, the VMM's shadow and overflow ring
    for it (libsel4vm's vGIC), and its guest's script.  A kernel object of the model
    (`Kernel.objects`): the explorer snapshots it with the threads."""

    vm: str
    index: int
    phases: list[tuple[str, int, bool]]  # (work|mmio|psci|wfi, us, interrupts enabled)
    loop: int
    lrs: list[Lr]  # (state, source name) per list register
    shadow: list[str | None]
    ring: deque[str] = field(default_factory=deque)
    idx: int = 0
    off: int = 0
    if_on: bool = False
    vppi_pending: bool = False
    vppi_masked: bool = False
    wfi_caller: int = -1  # the reply cap of its WFI fault, saved by the VMM: thread index
    aborted: bool = False
    cursor: int = 0
    started: bool = False
    lost: str = ""  # an interrupt the kernel overwrote in a PENDING list register (E502)
    monitor: Monitor | None = None  # the timed run's observer (static)

    def pending_lr(self) -> int:
        for i, (st, _) in enumerate(self.lrs):
            if st == PENDING:
                return i
        return -1

    def advance(self) -> None:
        self.idx = self.idx + 1 if self.idx + 1 < len(self.phases) else self.loop
        self.off = 0

    def snapshot(self) -> Hashable:
        return (
            tuple(self.lrs), tuple(self.shadow), tuple(self.ring),
            self.idx, self.off, self.if_on, self.vppi_pending, self.vppi_masked,
            self.wfi_caller, self.aborted, self.cursor, self.started, self.lost,
        )  # fmt: skip

    @staticmethod
    def timer_armed(state: Hashable) -> bool:
        """In a snapshot: the VCPU has started and its virtual timer is not masked."""
        assert isinstance(state, tuple)
        return bool(state[11] and not state[7])

    def restored(self, state: Hashable) -> Vcpu:
        assert isinstance(state, tuple)
        lrs, shadow, ring, *rest = state
        v = Vcpu(self.vm, self.index, self.phases, self.loop, list(lrs),
                 list(shadow), deque(ring), monitor=self.monitor)  # fmt: skip
        (v.idx, v.off, v.if_on, v.vppi_pending, v.vppi_masked, v.wfi_caller, v.aborted,
         v.cursor, v.started, v.lost) = rest  # fmt: skip
        return v


def vcpu_of(k: Kernel, i: int) -> Vcpu:
    """Kernel object `i` of an ARM system: a VCPU."""
    vc = k.objects[i]
    assert isinstance(vc, Vcpu)
    return vc


class VcpuLocal(NamedTuple):
    at: str  # top | handler | worked | advance
    n: int = 0  # the list register being handled, or the microseconds just worked


@dataclass(frozen=True)
class VcpuThread:
    """The guest on one VCPU thread, as a `Program`: interrupts between chunks of work,
    MMIO, PSCI and WFI as faults to the VMM (badge = vcpu id + 1)."""

    vcpu: int  # index in kernel.objects
    ep: int
    # the explorer runs a phase of work as one chunk: the guest's state between two chunks
    # of one phase is the same, so the extra steps would only repeat it
    chunk_us: int = CHUNK_US

    def start(self) -> VcpuLocal:
        return VcpuLocal("top")

    def objects(self) -> frozenset[Ref]:
        return frozenset({("obj", self.vcpu), ("ep", self.ep)})

    def step(
        self, k: Kernel, me: Tcb, s: VcpuLocal, value: Hashable
    ) -> tuple[VcpuLocal, Syscall | None]:
        vc = vcpu_of(k, self.vcpu)
        ep, badge = k.endpoints[self.ep], vc.index + 1
        if s.at == "handler":  # EOI: the LR goes invalid, and one maintenance fault
            vc.lrs[s.n] = (INVALID, None)
            return VcpuLocal("top"), Call(ep, ("maint", s.n), badge, fault=True)
        if s.at == "worked":
            vc.off += s.n
            if vc.off >= vc.phases[vc.idx][1]:
                vc.advance()
        elif s.at == "advance":
            vc.advance()
        while True:
            if vc.vppi_pending:  # the kernel turns the virtual timer into a VPPIEvent fault
                vc.vppi_pending = False
                return VcpuLocal("top"), Call(ep, ("vppi",), badge, fault=True)
            lr = vc.pending_lr()
            if lr >= 0 and vc.if_on:
                src = vc.lrs[lr][1]
                assert src is not None
                vc.lrs[lr] = (ACTIVE, src)
                if vc.monitor is not None:
                    vc.monitor.taken(vc.vm, src)
                return VcpuLocal("handler", lr), Compute(HANDLER_US)
            kind, us, on = vc.phases[vc.idx]
            vc.if_on = on
            if kind == "work":
                n = min(us - vc.off, self.chunk_us)
                return VcpuLocal("worked", n), Compute(n)
            if kind in ("mmio", "psci"):  # an emulated access, or PSCI CPU_ON for VCPU `us`
                return VcpuLocal("advance"), Call(ep, (kind, us), badge, fault=True)
            if vc.pending_lr() < 0:
                return VcpuLocal("advance"), Call(ep, ("wfi",), badge, fault=True)
            vc.advance()


def set_pending(vc: Vcpu, src: str, check_shadow: bool) -> None:
    """libsel4vm `vgic_dist_set_pending_irq`: merge, inject into a free LR, or queue."""
    if src in vc.shadow or src in vc.ring:
        return
    if check_shadow:
        lr = vc.shadow.index(None) if None in vc.shadow else -1
    else:
        lr, vc.cursor = vc.cursor, (vc.cursor + 1) % len(vc.lrs)
    if lr < 0 or vc.lrs[lr][0] == ACTIVE:  # no free slot, or seL4_DeleteFirst
        if len(vc.ring) + 1 >= OVERFLOW_RING:
            vc.aborted = True
            if vc.monitor is not None:
                vc.monitor.report(
                    "E509",
                    vc.vm,
                    f"{vc.vm}: vGIC overflow ring full: {len(vc.ring) + 1} interrupts waiting "
                    f"for {len(vc.lrs)} list registers"
                    + ("" if vc.if_on else " while the guest has interrupts off")
                    + ": the VMM aborts",
                )
            return
        vc.ring.append(src)
        return
    st, old = vc.lrs[lr]
    if st == PENDING:  # the kernel overwrites a PENDING list register
        why = f"list register {lr} overwritten by {src}"
        if not vc.lost:
            vc.lost = f"{vc.vm}: interrupt {old} lost: {why}"
        if vc.monitor is not None:
            vc.monitor.lost(vc.vm, str(old), why)
    vc.lrs[lr] = (PENDING, src)
    vc.shadow[lr] = src


class VmmLocal(NamedTuple):
    at: str  # recv | got | computed | saved | acked | reply
    got: tuple[Hashable, Hashable] | None = None  # what Recv returned: ("notification", word)
    # or (badge, msg)
    touched: tuple[int, ...] = ()  # VCPUs whose WFI an injection may end
    reply: bool = False


@dataclass(frozen=True)
class ArmVmm:
    """The VMM thread as a `Program`: one endpoint for every VCPU's faults, the bound
    notification for interrupts.  Line i is `kernel.handlers[lines[i]]` (badge 1 << i+1,
    named `names[i]`); VCPU j is `kernel.objects[vcpus[j]]`, run by `kernel.threads[threads[j]]`."""

    vcpus: tuple[int, ...]
    threads: tuple[int, ...]
    ep: int
    lines: tuple[int, ...]
    check_shadow: bool = True

    def start(self) -> VmmLocal:
        return VmmLocal("recv")

    def objects(self) -> frozenset[Ref]:
        return frozenset(
            {("ep", self.ep), *(("obj", v) for v in self.vcpus)}
            | {("tcb", t) for t in self.threads}  # it starts them (PSCI CPU_ON)
            | {("irq", h) for h in self.lines}
        )

    def _vc(self, k: Kernel, j: int) -> Vcpu:
        return vcpu_of(k, self.vcpus[j])

    def step(
        self, k: Kernel, me: Tcb, s: VmmLocal, value: Hashable
    ) -> tuple[VmmLocal, Syscall | None]:
        ep = k.endpoints[self.ep]
        if s.at == "recv":
            return VmmLocal("got"), Recv(ep)
        if s.at == "got":
            got = pair(value)
            if got[0] == "notification":
                bits = word(got[1])
                for h in self.lines:
                    if bits & k.handlers[h].badge:
                        set_pending(self._vc(k, 0), k.handlers[h].name, self.check_shadow)
                touched = [0]
                for j in range(len(self.vcpus)):
                    if bits & vtimer_bit(self._vc(k, j).index):  # a timer during WFI
                        set_pending(self._vc(k, j), "vtimer", self.check_shadow)
                        touched.append(j)
                return self._answer(k, VmmLocal("reply", got, tuple(touched), False))
            return VmmLocal("computed", got, (word(got[0]) - 1,)), Compute(FAULT_US)
        if s.at == "saved":
            vc = self._vc(k, s.touched[0])
            vc.wfi_caller = k.threads.index(value) if isinstance(value, Tcb) else -1
            return self._answer(k, s._replace(at="reply", reply=False))
        if s.at == "acked":
            return self._refill(k, s)
        if s.at == "reply":
            return self._answer(k, s)
        # computed: handle the fault
        vc = self._vc(k, s.touched[0])
        assert s.got is not None
        msg = s.got[1]
        assert isinstance(msg, tuple)
        if msg[0] == "wfi" and vc.pending_lr() < 0:
            return s._replace(at="saved"), SaveCaller()
        if msg[0] == "maint":
            src = vc.shadow[msg[1]]
            vc.shadow[msg[1]] = None
            if src == "vtimer":
                vc.vppi_masked = False  # seL4_ARM_VCPU_AckVPPI
            else:
                h = next((h for h in self.lines if k.handlers[h].name == src), -1)
                if h >= 0:
                    return s._replace(at="acked"), AckIrq(k.handlers[h])
            return self._refill(k, s)
        if msg[0] == "psci":
            j = msg[1]
            self._vc(k, j).started = True
            k.start(k.threads[self.threads[j]])
        elif msg[0] == "vppi":
            set_pending(vc, "vtimer", self.check_shadow)
        return self._answer(k, s._replace(at="reply", reply=True))

    def _answer(self, k: Kernel, s: VmmLocal) -> tuple[VmmLocal, Syscall | None]:
        """End the WFI of each touched VCPU that now has a pending LR, then reply and wait."""
        if any(self._vc(k, j).aborted for j in range(len(self.vcpus))):
            return s, None
        for j in s.touched:
            v = self._vc(k, j)
            if v.wfi_caller >= 0 and v.pending_lr() >= 0:
                caller, v.wfi_caller = k.threads[v.wfi_caller], -1
                return s._replace(at="reply"), ReplyTo(caller, True)
        ep = k.endpoints[self.ep]
        return VmmLocal("got"), (ReplyRecv(ep, True) if s.reply else Recv(ep))

    def _refill(self, k: Kernel, s: VmmLocal) -> tuple[VmmLocal, Syscall | None]:
        """After a maintenance fault: the freed list register takes the ring's head."""
        vc = self._vc(k, s.touched[0])
        if vc.ring:
            set_pending(vc, vc.ring.popleft(), self.check_shadow)
        return self._answer(k, s._replace(at="reply", reply=True))


def vtimer_fire(k: Kernel, vc: Vcpu, tcb: Tcb, vmm_ntfn: Notification) -> bool:
    """The virtual timer expires: a VPPI event if the VCPU runs, else a wake-up through the
    VMM; False when masked (not acked since its last VPPI) or the VCPU is off."""
    if vc.vppi_masked or not vc.started:
        return False
    vc.vppi_masked = True
    if vc.monitor is not None:
        vc.monitor.raised(vc.vm, "vtimer")
    if vc.wfi_caller >= 0:
        vc.vppi_pending = False
        k.signal(vmm_ntfn, vtimer_bit(vc.index))
    else:
        vc.vppi_pending = True
    return True


def vtimer_bit(vcpu: int) -> int:
    """The VMM notification badge bit for a VCPU's timer while the VCPU waits in WFI."""
    return 1 << (24 + vcpu)
