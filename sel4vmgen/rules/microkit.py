"""Rules of Microkit systems: the framework each platform belongs to, and every check the
Microkit tool makes on an SDF that a system file can cause, reported at the YAML line.

The tool's checks are those of seL4/microkit 2.3.0 (8780fab) tool/microkit/src/sdf.rs:
priorities 0-254 (PD_MAX_PRIORITY), budget <= period, vcpu ids < 62 (VCPU_MAX_ID 61),
memory region sizes and physical addresses aligned to the page size (0x1000 or
0x200000, sel4.rs `page_sizes`), protected calls only to a strictly higher priority.
Names and ids the tool also checks (PD, memory region and VM names, channel, IRQ and
ioport ids) are all derived by `plan/microkit.py` from names E201 already keeps unique.
What the Microkit backend does not generate yet is refused here, not dropped.

    framework   E260 platform of a framework not listed, E261 framework with no platform
    mcs         E262 budget above period, E263 budget/period on CAmkES
    microkit    E264 priority outside what the SDF can hold, E265 too many vCPUs,
                E266 x86 RAM not page aligned, E267 not generated for Microkit (virtio: rules/microkit_virtio.py),
                E268 a second x86 VM, E269 an image path make cannot name,
                E270 a board's default passthrough device given to two VMs,
                E271 ARM guest RAM placed outside the guest memory seL4 keeps free,
                E272 a guest left to a console device it is not given
"""

from __future__ import annotations

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.model.system import Vm
from sel4vmgen.model.types import make_unsafe
from sel4vmgen.rules.arch import on_microkit
from sel4vmgen.rules.context import Ctx, error, hexr, line_of
from sel4vmgen.units import PAGE

# seL4/microkit 2.3.0 tool/microkit/src/sdf.rs
PD_MAX_PRIORITY = 254
VCPU_MAX_ID = 61
BUDGET_DEFAULT_US = 1000  # BUDGET_DEFAULT; the period defaults to the budget
# Priority of the sDDF timer driver an x86 VMM calls to measure the TSC
# (au-ts/libvmm 0.2.0 examples/simple/board/x86_64_generic_vtx/simple.system).
X86_TIMER_PRIORITY = 254


def _platform_span(ctx: Ctx) -> tuple[str | int, ...]:
    plat = ctx.system.platform
    if isinstance(plat, str):
        return ("platform",)
    return ("platform", plat.index(ctx.plat_name))


def framework_of_platform(ctx: Ctx) -> list[Diagnostic]:
    """E260: the platform belongs to a framework the system does not name."""
    p = ctx.platform
    if p is None or p.framework in ctx.system.frameworks:
        return []
    kind = "a Microkit board" if p.framework == "microkit" else "a CAmkES platform"
    named = ", ".join(ctx.system.frameworks)
    return [
        error(
            "E260",
            f"platform {p.name} is {kind}, but framework is {named}",
            ctx.span(*_platform_span(ctx)),
            ctx.span("framework") if "framework" in ctx.system.model_fields_set else None,
            hint=f"add {p.framework} to framework",
        )
    ]


def platforms_of_framework(ctx: Ctx) -> list[Diagnostic]:
    """E261: a framework named with no platform of it (nothing would be generated for it)."""
    from sel4vmgen import platforms as db

    if "framework" not in ctx.system.model_fields_set:
        return []  # the default: E260 says which framework a board needs
    if not set(ctx.system.platforms) <= set(db.names()):
        return []  # E204 names the unknown platform
    found = {db.load(n).framework for n in ctx.system.platforms}
    out: list[Diagnostic] = []
    for k, name in enumerate(ctx.system.frameworks):
        if name in found:
            continue
        where = ("framework",) if isinstance(ctx.system.framework, str) else ("framework", k)
        out.append(error("E261", f"framework {name} has no platform in platform", ctx.span(*where)))
    return out


def _budget(vm: Vm) -> tuple[int, int]:
    budget = vm.budget_us if vm.budget_us is not None else BUDGET_DEFAULT_US
    return budget, vm.period_us if vm.period_us is not None else budget


def budgets(ctx: Ctx) -> list[Diagnostic]:
    """E262/E263: a budget above its period; budgets on a CAmkES platform."""
    if ctx.platform is None:
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        if vm.budget_us is None and vm.period_us is None:
            continue
        field = "budget_us" if vm.budget_us is not None else "period_us"
        if not on_microkit(ctx.platform):
            out.append(
                error(
                    "E263",
                    f"{vm.name}: {field} is a Microkit (MCS) setting; "
                    f"CAmkES platform {ctx.plat_name} has no scheduling budgets",
                    ctx.key_at(i, field),
                )
            )
            continue
        budget, period = _budget(vm)
        if budget > period:
            out.append(
                error(
                    "E262",
                    f"{vm.name}: budget ({budget}) must be less than, or equal to, "
                    f"period ({period})",
                    ctx.at(i, field),
                )
            )
    return out


def priorities(ctx: Ctx) -> list[Diagnostic]:
    """E264: a VMM priority the SDF cannot hold (0-254; an ARM VM runs one below its VMM,
    an x86 VMM calls the timer driver at 254, so it must be below it)."""
    p = ctx.platform
    if not on_microkit(p) or p is None:
        return []
    out: list[Diagnostic] = []
    low = 1 if p.arch == "arm" else 0
    high = PD_MAX_PRIORITY if p.arch == "arm" else X86_TIMER_PRIORITY - 1
    why = (
        "its virtual machine runs one priority below it"
        if p.arch == "arm"
        else f"it calls the timer driver at priority {X86_TIMER_PRIORITY}, which must be higher"
    )
    for i, vm in ctx.vm_indices():
        if vm.priority is not None and not low <= vm.priority <= high:
            out.append(
                error(
                    "E264",
                    f"{vm.name} priority {vm.priority} is outside {low}-{high} on Microkit: "
                    f"protection domains take 0-{PD_MAX_PRIORITY} and {why}",
                    ctx.at(i, "priority"),
                )
            )
    return out


def vcpu_ids(ctx: Ctx) -> list[Diagnostic]:
    """E265: more vCPUs than the SDF has ids for."""
    if not on_microkit(ctx.platform):
        return []
    return [
        error(
            "E265",
            f"{vm.name} has {vm.vcpus} vCPUs; Microkit vcpu ids must be < {VCPU_MAX_ID + 1}",
            ctx.at(i, "vcpus"),
        )
        for i, vm in ctx.vm_indices()
        if vm.vcpus is not None and vm.vcpus > VCPU_MAX_ID + 1
    ]


def alignment(ctx: Ctx) -> list[Diagnostic]:
    """E266: x86 guest RAM becomes a memory region: its size must be a multiple of the page
    size (on ARM, E211 already asks this of RAM and passthrough windows)."""
    p = ctx.platform
    if not on_microkit(p) or p is None or p.arch != "x86":
        return []
    return [
        error(
            "E266",
            f"{vm.name}: RAM size 0x{vm.ram.size:x} is not a multiple of the 0x{PAGE:x} "
            "page size of a Microkit memory region",
            ctx.at(i, "ram", "size"),
        )
        for i, vm in ctx.vm_indices()
        if vm.ram is not None and vm.ram.size % PAGE
    ]


# VM fields the Microkit backend does not generate (yet), with what they are.
_NOT_GENERATED = (
    ("vmm", "CAmkES VMM attributes"),
    ("iospace_domain", "an IOMMU domain (Microkit io_address_space)"),
)
_NOT_GENERATED_PASSTHROUGH = (
    ("pci", "PCI passthrough (it needs an io_address_space)"),
    ("untyped_mmios", "untyped MMIO windows (a CAmkES notion)"),
    ("keep_devices", "kept DTB nodes (the guest DTB is written whole)"),
    ("keep_devices_and_subtree", "kept DTB subtrees (the guest DTB is written whole)"),
    ("irq_caps", "IRQs given by number (CAmkES VM_Arm `irqs`)"),
    ("smmu", "SMMU module ids (CAmkES VM_Arm `smmu`)"),
)


def not_generated(ctx: Ctx) -> list[Diagnostic]:
    """E267: what a Microkit system cannot carry from this file, refused rather than dropped."""
    if not on_microkit(ctx.platform):
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        for field, what in _NOT_GENERATED:
            if getattr(vm, field) is not None:
                out.append(_refused(ctx, ctx.key_at(i, field), vm.name, what))
        if vm.initrd is not None and vm.initrd.files:
            what = "files added to the initrd (a CAmkES rootfs overlay)"
            out.append(_refused(ctx, ctx.key_at(i, "initrd", "files"), vm.name, what))
        if vm.initrd is not None and vm.initrd.programs:
            what = "guest programs built into the initrd (CAmkES ExternalProjects)"
            out.append(_refused(ctx, ctx.key_at(i, "initrd", "programs"), vm.name, what))
        if vm.dtb is not None and vm.dtb.file is not None:
            what = "a guest DTB file (sel4vmgen writes the guest device tree)"
            out.append(_refused(ctx, ctx.key_at(i, "dtb", "file"), vm.name, what))
        for field, what in _NOT_GENERATED_PASSTHROUGH:
            if vm.passthrough is not None and getattr(vm.passthrough, field):
                out.append(_refused(ctx, ctx.key_at(i, "passthrough", field), vm.name, what))
    for key in ("components", "connections"):
        if getattr(ctx.system, key):
            out.append(_refused(ctx, ctx.key_span(key), "the system", f"{key} (CAmkES)"))
    return out


def _refused(ctx: Ctx, span: Span, who: str, what: str) -> Diagnostic:
    return error(
        "E267",
        f"{who}: {what} cannot be generated for Microkit board {ctx.plat_name}",
        span,
    )


def one_x86_vm(ctx: Ctx) -> list[Diagnostic]:
    """E268: the x86 timer driver of libvmm's example serves one VMM (one channel, id 1)."""
    p = ctx.platform
    if not on_microkit(p) or p is None or p.arch != "x86" or len(ctx.vms) < 2:
        return []
    return [
        error(
            "E268",
            f"{ctx.vms[1].name}: an x86_64 Microkit system runs one VM here (its VMM shares "
            "the one sDDF timer driver channel of libvmm's x86 example)",
            ctx.span("vms", 1),
        )
    ]


def make_paths(ctx: Ctx) -> list[Diagnostic]:
    """E269: an image path the generated Makefile cannot name (model/types.py `make_unsafe`,
    which render/env.py `make_path` applies)."""
    if not on_microkit(ctx.platform):
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        images = [("kernel", vm.kernel.image if vm.kernel else None)]
        images.append(("initrd", vm.initrd.image if vm.initrd else None))
        for field, path in images:
            if path is None:
                continue
            bad = make_unsafe(path)
            if bad is not None:
                message = f"{vm.name}: {field}.image cannot hold {bad!r} in a Makefile path"
                out.append(error("E269", message, ctx.at(i, field, "image")))
    return out


def devices_of(ctx: Ctx, vm: Vm) -> tuple[tuple[str, ...], bool]:
    """The DTB paths a VM is given, and whether they are the board's default (no
    `passthrough` written: plan/arm.py gives the guest defaults' dtb_nodes)."""
    if vm.passthrough is None:
        guest = ctx.platform.guest if ctx.platform is not None else None
        return (guest.dtb_nodes if guest is not None else ()), True
    paths = tuple(d if isinstance(d, str) else (d.path or "") for d in vm.passthrough.devices)
    return paths, False


def default_devices_once(ctx: Ctx) -> list[Diagnostic]:
    """E270: a VM that writes no `passthrough` gets the board's default devices (libvmm's
    example maps the serial into its guest); when another VM has one of them too, both
    VMMs would take its IRQ, which the Microkit tool refuses ("duplicate irq"), and map its
    registers as two regions over one physical page.  Two written ones are E209/E213."""
    p = ctx.platform
    if not on_microkit(p) or p is None or p.arch != "arm":
        return []
    first: dict[str, tuple[int, bool]] = {}
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        paths, default = devices_of(ctx, vm)
        for path in paths:
            prev = first.setdefault(path, (i, default))
            if prev[0] == i or not (default or prev[1]):
                continue
            j = prev[0]
            who, other = (i, j) if default else (j, i)
            here, there = ctx.key_span("vms", who, "name"), ctx.key_span("vms", other, "name")
            out.append(
                error(
                    "E270",
                    f"{ctx.vms[who].name} writes no passthrough, so it gets {p.name}'s default "
                    f"device {path}, which {ctx.vms[other].name} {line_of(there, here)} also "
                    "has: the Microkit tool refuses one IRQ in two protection domains",
                    here,
                    there,
                    hint=f"write `passthrough: {{devices: []}}` for {ctx.vms[who].name}",
                )
            )
    return out


def ram_placement(ctx: Ctx) -> list[Diagnostic]:
    """E271: on an ARM Microkit board, guest RAM with a `paddr` must lie in the guest
    memory seL4 keeps out of its own RAM (the platform's `guest_ram`; seL4's
    overlay-reserve-vm-memory.dts on qemu-arm-virt).  seL4's RAM is where the Microkit
    tool places the kernel, the initial task and every kernel object: a fixed region
    there is refused ("could not allocate all required kernel objects") when it meets
    them.  Without a `paddr` the tool places guest RAM itself, as libvmm's examples do."""
    p = ctx.platform
    if not on_microkit(p) or p is None or p.arch != "arm" or not p.guest_ram:
        return []
    windows = ", ".join(hexr(r.start, r.end - r.start) for r in p.guest_ram)
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        ram = vm.ram
        if ram is None or ram.paddr is None:
            continue
        start, end = ram.paddr, ram.paddr + ram.size
        if any(r.start <= start and end <= r.end for r in p.guest_ram):
            continue
        out.append(
            error(
                "E271",
                f"{vm.name} RAM at physical {hexr(start, ram.size)} is not inside the guest "
                f"memory of {p.name} ({windows}); the Microkit tool allocates the kernel and "
                "its objects from the rest",
                ctx.at(i, "ram", "paddr"),
                hint="drop ram.paddr (the tool then places guest RAM), or choose it inside "
                + windows,
            )
        )
    return out


def console_device(ctx: Ctx) -> list[Diagnostic]:
    """E272: the board's default `stdout` and `cmdline` name its serial (chosen stdout-path,
    earlycon at the UART's address; libvmm examples/simple overlay.dts), so a VM that is not
    given that device and leaves either to the default has a guest that writes to registers
    it has no mapping of: libvmm stops it at the first write ("unexpected memory fault")."""
    p = ctx.platform
    if not on_microkit(p) or p is None or p.arch != "arm" or p.guest is None:
        return []
    device = p.guest.stdout
    if not device:
        return []
    out: list[Diagnostic] = []
    for i, vm in ctx.vm_indices():
        if device in devices_of(ctx, vm)[0]:
            continue
        left = [f for f in ("stdout", "cmdline") if getattr(vm, f) is None]
        if vm.virtio is not None and "stdout" in left:
            left.remove("stdout")  # a virtio guest's default stdout is dropped in the plan
        if not left:
            continue
        out.append(
            error(
                "E272",
                f"{vm.name} is not given {device}, but its {' and '.join(left)} "
                f"{'are' if len(left) > 1 else 'is'} {p.name}'s default, which names it: "
                "the guest would fault at its first write there",
                ctx.key_span("vms", i, "name"),
                hint=f'write {" and ".join(left)} for {vm.name} (e.g. stdout: "" and a '
                "cmdline without earlycon), or pass the device through",
            )
        )
    return out


RULES_ONCE = (platforms_of_framework,)
RULES = (
    framework_of_platform,
    budgets,
    priorities,
    vcpu_ids,
    alignment,
    not_generated,
    one_x86_vm,
    make_paths,
    default_devices_once,
    ram_placement,
    console_device,
)
