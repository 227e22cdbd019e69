"""What every Plan satisfies when `resolve` made it, checked again for plans read from disk.

A generated app's `plan.json` may have been edited by hand.  Before the
simulator (or anything else) trusts one, `problems(plan)` lists what no
resolved plan could hold: counts below one, priorities outside 0-255, cores
the system does not have, names used twice, threads of VMs that do not exist,
empty memory windows, an ARM plan without its GIC, x86 guest RAM that camkes-vm
cannot be given in whole MiB, a CMake option that says again (or otherwise) what
a plan field says, a VM's virtio-net end that is not an end of exactly one link.
An empty list means the plan has the shape `resolve` gives; it does not re-run
the rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from sel4vmgen.facts import SEL4_MAX_PRIO
from sel4vmgen.plan.model import Plan, Region, VmPlan
from sel4vmgen.units import MIB

MAX_PRIORITY = SEL4_MAX_PRIO


def problems(plan: Plan) -> list[str]:
    """Every broken invariant of `plan`, as one sentence each (empty when none)."""
    return [
        *_system(plan),
        *(p for vm in plan.vms for p in _vm(vm)),
        *_threads(plan),
        *_links(plan),
        *_builds(plan),
    ]


def _system(plan: Plan) -> Iterator[str]:
    if plan.num_nodes < 1:
        yield f"num_nodes is {plan.num_nodes}; a system has at least one core"
    if not plan.vms:
        yield "the plan has no VM"
    arm = plan.sel4_arch in ("aarch64", "aarch32")
    if arm != (plan.arch == "arm"):
        yield f"sel4_arch {plan.sel4_arch} does not belong to arch {plan.arch}"
    if plan.arch == "arm" and plan.gic is None:
        yield "an ARM plan needs its GIC"
    if plan.gic is not None and plan.gic.list_registers < 1:
        yield f"the GIC has {plan.gic.list_registers} list registers"
    yield from _options(plan)
    yield from _duplicates("VM instance", [vm.instance for vm in plan.vms])
    yield from _duplicates("VM name", [vm.name for vm in plan.vms])
    yield from _duplicates("thread name", [t.name for t in plan.threads])


def _vm(vm: VmPlan) -> Iterator[str]:
    who = f"VM {vm.instance}"
    if vm.vcpus < 1:
        yield f"{who} has {vm.vcpus} VCPUs"
    if not 0 <= vm.priority <= MAX_PRIORITY:
        yield f"{who} has priority {vm.priority}, outside 0-{MAX_PRIORITY}"
    regions: list[Region] = [vm.ram, *vm.mmios, *vm.untyped_mmios, *vm.devices]
    for r in regions:
        if r.size < 1:
            yield f"{who}: {r.kind} window {r.name} has size {r.size}"
    if vm.irq_latency_us is not None and vm.irq_latency_us < 1:
        yield f"{who} has an interrupt latency bound of {vm.irq_latency_us} us"


def _options(plan: Plan) -> Iterator[str]:
    """x86's KernelSel4Arch and KernelMaxNumNodes are `sel4_arch` and `num_nodes`, never an
    option; an ARM plan's KernelMaxNumNodes (set on SMP systems) is `num_nodes`."""
    options = {o.name: o.value for o in plan.cmake_options}
    if plan.arch == "x86":
        for name in ("KernelSel4Arch", "KernelMaxNumNodes"):
            if name in options:
                yield f"the CMake option {name} repeats a plan field"
    nodes = options.get("KernelMaxNumNodes", plan.num_nodes)
    if plan.arch == "arm" and nodes != plan.num_nodes:
        yield f"KernelMaxNumNodes is {nodes} but num_nodes is {plan.num_nodes}"
    if plan.framework == "camkes" and plan.arch == "x86":
        for vm in plan.vms:
            if vm.ram.size % MIB:
                yield f"VM {vm.instance}: RAM 0x{vm.ram.size:x} is not a whole number of MiB"


def _threads(plan: Plan) -> Iterator[str]:
    instances = {vm.instance for vm in plan.vms}
    for t in plan.threads:
        if not 0 <= t.priority <= MAX_PRIORITY:
            yield f"thread {t.name} has priority {t.priority}, outside 0-{MAX_PRIORITY}"
        if t.core is not None and not 0 <= t.core < max(plan.num_nodes, 1):
            yield f"thread {t.name} is on core {t.core}; the system has {plan.num_nodes}"
        if t.vm is not None and t.vm not in instances:
            yield f"thread {t.name} belongs to VM {t.vm}, which the plan does not have"


def _links(plan: Plan) -> Iterator[str]:
    """Each VM's virtio-net end is an end of exactly one link (`Plan.link_of`)."""
    for vm in plan.vms:
        for end in vm.virtqueues:
            holders = sum(1 for link in plan.virtqueues if end in link.ends)
            if holders != 1:
                yield f"VM {vm.instance}: virtqueue end {end.send}/{end.recv} is an end of {holders} links"


def _builds(plan: Plan) -> Iterator[str]:
    """Each guest build follows the builds it depends on; each overlay lists planned builds."""
    built: list[str] = []
    for b in plan.guest_builds:
        for dep in b.depends:
            if dep not in built:
                yield f"guest build {b.name} depends on {dep}, which is not built before it"
        built.append(b.name)
    yield from _duplicates("guest build", built)
    for o in plan.overlays:
        for name in o.builds:
            if name not in built:
                yield f"rootfs overlay {o.target} gets the programs of {name}, which is not built"


def _duplicates(what: str, names: list[str]) -> Iterator[str]:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            yield f"{what} {n} is used twice"
        seen.add(n)
