"""Architecture and platform rules: the platform fits the system, CPUs, priorities, IOMMU.

* the platform's architecture is the system's, and it builds the `sel4_arch`;
* VCPUs and cores: ARM VCPUs <= cores (and a warning above `num_nodes`, since
  camkes-vm caps `num_vcpus` at `KernelMaxNumNodes`, components/VM_Arm/src/main.c);
  x86 VMs have exactly one VCPU (libsel4vm binds one VCPU to the VMM thread);
  `num_nodes` <= cores, and 1 on platforms whose settings refuse SMP
  (camkes-vm-examples settings.cmake: "<plat> does not support SMP VMs");
* ARM priorities: the VCPU threads run at `base_prio - 1` and the IRQ server at
  `base_prio + 1` (components/VM_Arm), so the VMM priority must leave room both ways;
* x86 IOMMU domains (`iospace_domain`) are one per VM.
"""

from __future__ import annotations

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.facts import SEL4_MAX_PRIO
from sel4vmgen.model.system import System, Vm
from sel4vmgen.platforms.model import Platform
from sel4vmgen.rules.context import Ctx, error, line_of, warning

# The seL4 architectures each `arch` builds (seL4 configs/seL4Config.cmake KernelSel4Arch).
SEL4_ARCHS = {"x86": ("ia32", "x86_64"), "arm": ("aarch64", "aarch32")}


def on_microkit(platform: Platform | None) -> bool:
    """Whether the platform is a Microkit board."""
    return platform is not None and platform.framework == "microkit"


def fits(system: System, platform: Platform) -> bool:
    """Whether the platform's facts apply to the system: same arch, a sel4_arch it builds."""
    return platform.arch == system.arch and system.sel4_arch in platform.sel4_archs


def platform_fits(ctx: Ctx) -> list[Diagnostic]:
    """E205/E206: the platform's architecture and the seL4 architectures it builds."""
    p = ctx.platform
    if p is None:
        return []
    where = _platform_span(ctx)
    sys = ctx.system
    if p.arch != sys.arch:
        return [
            error(
                "E205",
                f"platform {p.name} is {p.arch}, but arch is {sys.arch} {line_of(ctx.span('arch'))}",
                where,
                ctx.span("arch"),
            )
        ]
    if sys.sel4_arch not in p.sel4_archs:
        if sys.sel4_arch not in SEL4_ARCHS[sys.arch]:
            return []  # arch_pair says it; the facts still do not apply
        return [
            error(
                "E206",
                f"platform {p.name} cannot build sel4_arch {sys.sel4_arch} "
                f"(it builds {' or '.join(p.sel4_archs)})",
                ctx.span("sel4_arch"),
                where,
            )
        ]
    return []


def _platform_span(ctx: Ctx) -> Span:
    plats = ctx.system.platforms
    if isinstance(ctx.system.platform, str):
        return ctx.span("platform")
    return ctx.span("platform", plats.index(ctx.plat_name))


def arch_pair(ctx: Ctx) -> list[Diagnostic]:
    """E206: `sel4_arch` that belongs to the other `arch` (checked once, platform or not)."""
    sys = ctx.system
    if sys.sel4_arch in SEL4_ARCHS[sys.arch]:
        return []
    return [
        error(
            "E206",
            f"sel4_arch {sys.sel4_arch} is not an {sys.arch} architecture "
            f"(use {' or '.join(SEL4_ARCHS[sys.arch])}) {line_of(ctx.span('arch'))}",
            ctx.span("sel4_arch"),
            ctx.span("arch"),
        )
    ]


def nodes(ctx: Ctx) -> list[Diagnostic]:
    """E217/E218: `num_nodes` against the platform's cores and SMP support."""
    p = ctx.platform
    n = ctx.system.num_nodes
    if p is None or n == 1:
        return []
    where = ctx.span("num_nodes")
    if not p.smp:
        return [
            error(
                "E217",
                f"{p.name} does not support SMP VMs (num_nodes is {n})",
                where,
                hint="set num_nodes: 1",
            )
        ]
    if n > p.cores:
        return [error("E218", f"num_nodes {n} is more than the {p.cores} cores of {p.name}", where)]
    return []


def vcpus(ctx: Ctx) -> list[Diagnostic]:
    """E215/E216/W201: VCPUs per VM against the architecture, cores and nodes."""
    out: list[Diagnostic] = []
    p = ctx.platform
    nodes_n = ctx.system.num_nodes
    for i, vm in ctx.vm_indices():
        if vm.vcpus is None:
            continue
        where = ctx.at(i, "vcpus")
        if ctx.system.arch == "x86":
            if vm.vcpus != 1:
                out.append(
                    error("E216", f"{vm.name} has {vm.vcpus} VCPUs; x86 VMs have exactly 1", where)
                )
            continue
        if p is not None and vm.vcpus > p.cores:
            out.append(
                error(
                    "E215",
                    f"{vm.name} has {vm.vcpus} VCPUs, more than the {p.cores} cores of {p.name}",
                    where,
                )
            )
        elif vm.vcpus > nodes_n and not on_microkit(p):  # libvmm runs every vCPU it is given
            out.append(_capped(ctx, i, vm, nodes_n))
    return out


def _capped(ctx: Ctx, i: int, vm: Vm, nodes_n: int) -> Diagnostic:
    return warning(
        "W201",
        f"{vm.name} asks for {vm.vcpus} VCPUs but num_nodes is {nodes_n}; "
        f"the VMM caps num_vcpus at KernelMaxNumNodes, so it runs {nodes_n}",
        ctx.at(i, "vcpus"),
        hint=f"set num_nodes: {vm.vcpus}, or vcpus: {nodes_n}",
    )


def priorities(ctx: Ctx) -> list[Diagnostic]:
    """E224: an ARM VMM priority with no room for its VCPUs below or its IRQ server above
    (Microkit priorities are checked in rules/microkit.py)."""
    if ctx.system.arch != "arm" or on_microkit(ctx.platform):
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        if vm.priority is None:
            continue
        where = ctx.at(i, "priority")
        if vm.priority < 1:
            out.append(
                error(
                    "E224",
                    f"{vm.name} priority {vm.priority} leaves no priority for its VCPU threads "
                    "(base_prio - 1 must be 0 or more)",
                    where,
                )
            )
        elif vm.priority > SEL4_MAX_PRIO - 1:
            out.append(
                error(
                    "E224",
                    f"{vm.name} priority {vm.priority} leaves no priority for its IRQ server "
                    f"(base_prio + 1 must be {SEL4_MAX_PRIO} or less)",
                    where,
                )
            )
    return out


def iospace_domains(ctx: Ctx) -> list[Diagnostic]:
    """E225: two x86 VMs in one IOMMU domain."""
    if ctx.system.arch != "x86":
        return []
    out: list[Diagnostic] = []
    seen: dict[int, int] = {}
    for i, vm in ctx.vm_indices():
        d = vm.iospace_domain
        if d is None:
            continue
        first = seen.setdefault(d, i)
        if first != i:
            other = ctx.at(first, "iospace_domain")
            out.append(
                error(
                    "E225",
                    f"{vm.name} iospace_domain 0x{d:x} is already the IOMMU domain of "
                    f"{ctx.vms[first].name} {line_of(other, ctx.at(i, 'iospace_domain'))}",
                    ctx.at(i, "iospace_domain"),
                    other,
                    hint="give each VM its own iospace_domain",
                )
            )
    return out


RULES_ONCE = (arch_pair,)
FIT = platform_fits
RULES = (nodes, vcpus, priorities, iospace_domains)
