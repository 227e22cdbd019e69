"""Kernel model IPC: endpoints, fault IPC, reply caps, notifications, IRQ handlers, Suspend."""

from __future__ import annotations

from typing import Any

from sel4vmgen.sim.kernel import (
    RESTARTED,
    AckIrq,
    Body,
    Call,
    Compute,
    Endpoint,
    IrqHandler,
    Kernel,
    Notification,
    Poll,
    Recv,
    Reply,
    ReplyRecv,
    State,
    Wait,
)


def test_call_reply_is_fifo_and_carries_badges() -> None:
    k = Kernel()
    ep = Endpoint("ep")
    got: list[Any] = []
    replies: list[Any] = []

    def server() -> Body:
        msg = yield Recv(ep)
        while True:
            got.append(msg)
            msg = yield ReplyRecv(ep, f"re:{msg[1]}")

    def client(name: str, badge: int) -> Body:
        r = yield Call(ep, name, badge)
        replies.append(r)

    k.start(k.thread("c1", 10, 0, client("one", 1)))
    k.start(k.thread("c2", 10, 0, client("two", 2)))
    k.start(k.thread("srv", 5, 0, server()))
    k.run(100)
    assert got == [(1, "one"), (2, "two")]
    assert replies == ["re:one", "re:two"]


def test_bound_notification_wakes_a_receive_but_not_a_reply_wait() -> None:
    k = Kernel()
    ep, other, n = Endpoint("ep"), Endpoint("other"), Notification("n")
    seen: list[Any] = []

    def receiver() -> Body:
        seen.append((yield Recv(ep)))
        seen.append((yield Call(other, "x")))

    r = k.thread("r", 10, 0, receiver())
    k.bind(r, n)
    k.start(r)
    k.run(10)
    k.signal(n, 0b100)
    k.run(20)
    assert seen == [("notification", 0b100)]
    k.signal(n, 0b1)
    k.run(30)
    assert r.state is State.BLOCKED_ON_SEND
    assert n.word == 0b1


def test_notification_badges_are_ored_and_poll_does_not_block() -> None:
    k = Kernel()
    n = Notification("n")
    seen: list[int] = []

    def body() -> Body:
        seen.append((yield Poll(n)))
        yield Compute(10)
        seen.append((yield Wait(n)))

    k.start(k.thread("t", 10, 0, body()))
    k.run(5)
    k.signal(n, 1)
    k.signal(n, 4)
    k.run(100)
    assert seen == [0, 5]


def test_irq_is_masked_until_acked() -> None:
    k = Kernel()
    n = Notification("n")
    h = IrqHandler(5, n, 1)
    got: list[int] = []

    def handler() -> Body:
        while True:
            got.append((yield Wait(n)))
            yield Compute(10)
            yield AckIrq(h)

    k.start(k.thread("h", 10, 0, handler()))
    k.run(1)
    assert k.raise_irq(h)
    assert not k.raise_irq(h)  # masked: held until the ack
    k.run(100)
    assert got == [1, 1]


def test_suspend_discards_a_pending_fault_and_its_reply_cap() -> None:
    k = Kernel()
    ep = Endpoint("fault_ep")
    results: list[Any] = []

    def vcpu() -> Body:
        results.append((yield Call(ep, "vmfault", 1, fault=True)))

    def vmm() -> Body:
        yield Recv(ep)
        yield Compute(5)
        yield Reply("done")

    v = k.thread("vcpu", 10, 0, vcpu())
    k.start(v)
    k.start(k.thread("vmm", 20, 0, vmm()))
    k.run(2)
    assert v.state is State.BLOCKED_ON_REPLY
    k.suspend(v)
    k.run(20)
    kinds = [e.kind for e in k.log]
    assert "fault_discarded" in kinds and "reply_dropped" in kinds
    assert "fault_answered" not in kinds
    assert v.value == RESTARTED


def test_reply_restarts_a_faulting_thread_once() -> None:
    k = Kernel()
    ep = Endpoint("fault_ep")

    def vcpu() -> Body:
        yield Call(ep, "vmfault", 1, fault=True)

    def vmm() -> Body:
        yield Recv(ep)
        yield Reply("ok")
        yield Reply("again")

    k.start(k.thread("vcpu", 10, 0, vcpu()))
    k.start(k.thread("vmm", 20, 0, vmm()))
    k.run(10)
    assert [e.kind for e in k.log if e.kind in ("fault_answered", "reply_dropped")] == [
        "fault_answered",
        "reply_dropped",
    ]
