"""Properties: boot layout, backed devices, codes, determinism, the quick check for generate."""

from __future__ import annotations

from dataclasses import replace

from sim_plans import arm_plan, arm_vm, x86_plan

from sel4vmgen.codes import all_codes
from sel4vmgen.plan.model import Region
from sel4vmgen.sim import check_plan, simulate
from sel4vmgen.sim.kernel import Call, Endpoint, Kernel, Recv
from sel4vmgen.sim.layout import check_layout
from sel4vmgen.sim.monitor import Monitor
from sel4vmgen.sim.trace import chrome_trace_timed, dumps


def messages(plan: object) -> list[tuple[str, str]]:
    return [(v.code, v.message) for v in check_layout(plan)]  # type: ignore[arg-type]


def test_stock_layout_is_clean() -> None:
    assert messages(arm_plan()) == []


def test_initrd_overlapping_the_dtb_is_reported() -> None:
    vm = arm_vm()
    assert vm.initrd is not None
    bad = replace(vm, initrd=replace(vm.initrd, guest=0x4E000000))
    assert messages(arm_plan(bad)) == [
        ("E507", "linux: initrd 0x4e000000-0x4f900000 overlaps dtb 0x4f000000-0x4f000001")
    ]


def test_image_outside_ram_and_misalignment_are_reported() -> None:
    vm = arm_vm()
    assert vm.dtb is not None
    bad = replace(
        vm, dtb=replace(vm.dtb, guest=0x60000004), kernel=replace(vm.kernel, guest=0x40100000)
    )
    assert messages(arm_plan(bad)) == [
        ("E507", "linux: dtb 0x60000004-0x60000005 is outside RAM 0x40000000-0x60000000"),
        ("E507", "linux: kernel at 0x40100000 is not 2 MiB aligned plus the Image text offset (0 or 0x80000)"),
        ("E507", "linux: dtb at 0x60000004 is not 8-byte aligned"),
    ]  # fmt: skip


def test_device_without_mapping_or_emulation_is_reported() -> None:
    uart = Region("mmio", "uart1", 0x1000, guest=0x09040000, paddr=0x09040000)
    assert messages(arm_plan(arm_vm(devices=(uart,)))) == [
        ("E508", "linux: device uart1 0x9040000-0x9041000 is neither mapped nor emulated")
    ]
    mapped = replace(arm_vm(devices=(uart,)), mmios=(uart,))
    assert messages(arm_plan(mapped)) == []
    by_dtb = replace(arm_vm(devices=(uart,)), dtb_nodes=("/pl011@9040000",))
    assert messages(arm_plan(by_dtb)) == []


def test_every_property_code_is_explained() -> None:
    codes = all_codes()
    for n in range(501, 510):
        entry = codes[f"E{n}"]
        assert entry.title and entry.explanation


def test_check_plan_yields_diagnostics_for_generate() -> None:
    vm = arm_vm()
    assert vm.initrd is not None
    report = check_plan(arm_plan(replace(vm, initrd=replace(vm.initrd, guest=0x4E000000))))
    assert not report.ok
    found = list(report)
    assert [d.code for d in found] == ["E507"]
    assert found[0].message.startswith("arm_test on qemu-arm-virt: linux: initrd")
    assert list(check_plan(arm_plan())) == []


def test_x86_latency_over_the_stated_bound_is_reported() -> None:
    plan = x86_plan(critical_section_us=400)
    tight = replace(plan, vms=(replace(plan.vms[0], irq_latency_us=100),))
    codes = [v.code for v in simulate(tight).violations]
    assert codes == ["E506"]


def test_same_seed_same_trace_byte_for_byte_and_another_seed_differs() -> None:
    def trace(seed: int) -> str:
        r = simulate(arm_plan(seed=seed))
        assert r.timed is not None
        return dumps(chrome_trace_timed(r.timed.log, r.timed.cores, 100_000))

    assert trace(7) == trace(7)
    assert trace(7) != trace(8)


def test_overwritten_caller_slot_counts_as_a_lost_fault() -> None:
    k = Kernel()
    mon = Monitor(k)
    ep = Endpoint("ep")

    def faulting(name: str) -> object:
        yield Call(ep, name, 1, fault=True)

    def careless_vmm() -> object:
        yield Recv(ep)
        yield Recv(ep)  # the first caller's reply cap is overwritten

    for n in ("vcpu0", "vcpu1"):
        k.start(k.thread(n, 10, 0, faulting(n)))  # type: ignore[arg-type]
    k.start(k.thread("vmm", 20, 0, careless_vmm()))  # type: ignore[arg-type]
    k.run(100)
    assert [(v.code, v.message) for v in mon.violations] == [
        ("E503", "reply cap for vcpu0 lost: caller slot overwritten")
    ]
