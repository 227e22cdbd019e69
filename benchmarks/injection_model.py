"""The x86 interrupt-injection protocol of the reference spin model, as an explorer model.

One component per VM, the same processes as the Promela text: a device raising NIRQ
interrupts, the VCPU (guest and, in the single-thread design, the VMM code that runs between
VM exits) and, in the two-thread design, a VMM thread reading the guest's RFLAGS.IF, deciding,
then writing the injection while the guest may run.  Each Promela statement outside an
`atomic` is one step, so the same interleavings exist; the property is the model's assertion,
"never injected while IF = 0" (E501).  The VMs share nothing, so the explorer's independence
and symmetry reductions apply exactly as to the VMM models in sel4vmgen/sim.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import NamedTuple

from sel4vmgen.sim.explore import Product, Property

# VCPU program counters (the single-thread design has one step between deciding the
# injection and entering the guest; the two-thread VMM reads, decides, then writes)
RUN, ENTER, DONE = 0, 1, 2
TOP, CLEAR, READ, DECIDE, WRITE, VMM_DONE = 0, 1, 2, 3, 4, 5


class VmState(NamedTuple):
    if_: bool
    entry_valid: bool
    window: bool
    pending: int
    delivered: int
    in_guest: bool
    notif: bool
    raised: int  # the device's own counter n
    dev_done: bool
    vcpu: int
    vmm: int
    ifv: bool  # the VMM's read of IF (two-thread design)
    bad: bool


def _try_inject(s: VmState) -> VmState:
    if s.pending > 0 and not s.entry_valid:
        if s.if_:
            return s._replace(entry_valid=True, pending=s.pending - 1)
        return s._replace(window=True)
    return s


def _vm_entry(s: VmState) -> VmState:
    if s.entry_valid:
        s = s._replace(
            bad=s.bad or not s.if_, delivered=s.delivered + 1, entry_valid=False, if_=False
        )
    return s._replace(in_guest=True)


class InjectionVm:
    """One VM of the spin model: `split` selects the two-thread design."""

    def __init__(self, index: int, nirq: int, split: bool) -> None:
        self.name, self.nirq, self.split = f"vm{index}", nirq, split

    def init_states(self) -> Sequence[VmState]:
        return [VmState(True, False, False, 0, 0, False, False, 0, False, RUN, TOP, False, False)]

    def symmetry_key(self) -> Hashable:
        return (self.nirq, self.split)

    def properties(self) -> Sequence[Property[VmState]]:
        return [
            Property(
                "no interrupt injected when the guest cannot take it",
                "E501",
                "always",
                lambda s: not s.bad,
                lambda s: "VM entry with an injection queued while IF = 0",
            )
        ]

    def actions(self, s: VmState) -> Sequence[str]:
        out: list[str] = []
        if not s.dev_done:
            out.append("raise" if s.raised < self.nirq else "dev_end")
        out += self._vcpu_actions(s)
        if self.split:
            out += self._vmm_actions(s)
        return out

    def _vcpu_actions(self, s: VmState) -> list[str]:
        if s.vcpu == DONE:
            return []
        if s.vcpu == ENTER:
            return ["enter"]
        out: list[str] = []
        if s.in_guest:
            out += ["cli", "sti", "exit"]
            if s.window and s.if_:
                out.append("window_exit")
            if s.notif and not self.split:
                out.append("notif_exit")
        elif self.split:
            out.append("enter")
        else:
            out.append("vmm")
        if s.delivered == self.nirq:
            out.append("vcpu_end")
        return out

    def _vmm_actions(self, s: VmState) -> list[str]:
        if s.vmm == VMM_DONE:
            return []
        if s.vmm != TOP:
            return [("clear", "read", "decide", "write")[s.vmm - 1]]
        out = []
        if s.notif:
            out.append("notified")
        if not s.in_guest and s.window:
            out.append("window")
        if s.delivered == self.nirq:
            out.append("vmm_end")
        return out

    def next_state(self, s: VmState, a: str) -> VmState:
        if a == "raise":
            return s._replace(pending=s.pending + 1, notif=True, raised=s.raised + 1)
        if a == "dev_end":
            return s._replace(dev_done=True)
        if a == "cli":
            return s._replace(if_=False)
        if a == "sti":
            return s._replace(if_=True)
        if a in ("exit", "window_exit", "notif_exit"):
            return s._replace(in_guest=False)
        if a == "vmm":  # atomic { notif = 0; window = 0; try_inject }
            return _try_inject(s._replace(notif=False, window=False))._replace(vcpu=ENTER)
        if a == "enter":
            return _vm_entry(s)._replace(vcpu=RUN)
        if a == "vcpu_end":
            return s._replace(vcpu=DONE)
        return self._vmm_step(s, a)

    def _vmm_step(self, s: VmState, a: str) -> VmState:
        if a == "notified":
            return s._replace(vmm=CLEAR)
        if a == "clear":
            return s._replace(notif=False, vmm=READ)
        if a == "read":
            return s._replace(ifv=s.if_, vmm=DECIDE)
        if a == "decide":  # on the value read: stale if the guest ran since
            if s.pending > 0 and not s.entry_valid and s.ifv:
                return s._replace(vmm=WRITE)
            if s.pending > 0 and not s.ifv:
                return s._replace(window=True, vmm=TOP)
            return s._replace(vmm=TOP)
        if a == "write":
            return s._replace(entry_valid=True, pending=s.pending - 1, vmm=TOP)
        if a == "window":  # atomic { window = 0; try_inject }
            return _try_inject(s._replace(window=False))._replace(vmm=TOP)
        if a == "vmm_end":
            return s._replace(vmm=VMM_DONE)
        raise ValueError(a)


def injection_system(nv: int, nirq: int, split: bool) -> Product:
    """NV independent VMs of the spin model."""
    return Product("x86_injection", [InjectionVm(i, nirq, split) for i in range(nv)])
