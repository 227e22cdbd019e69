"""`resolve(system, platform) -> Plan`: every number decided, nothing left to the templates.

Pure and deterministic: the same System and Platform give an equal Plan (no
clock, no file system, no iteration over unordered containers, no paths of
the machine it runs on).  `resolve_all(loaded)` gives one Plan per platform
the system names, in the order written, and turns an E3xx `PlanError` into a
diagnostic pointing at the cause.

Image paths (`Image.source` with `Image.base`) are recorded exactly as the
user wrote them; `base` says how to read them:
- "build": starts with a CMake variable (`${CAMKES_VM_IMAGES_DIR}/...`,
  `${CAMKES_VM_LINUX_DIR}/...`): the renderer writes it into CMake unchanged,
  so the app builds in a stock camkes-vm-examples checkout;
- "absolute": an absolute path the user wrote, used unchanged;
- "system": relative to the folder of the system file; the renderer makes
  it absolute at render time (it knows where the file is; the Plan does not,
  so plan.json stays the same on every machine);
- "generated": a file the renderer writes into the app itself (the `.dts`
  of a VM with `dtb: {mode: provide}` and no file), relative to the app; or,
  with an empty `fs_name` and `source`, the DTB the VMM builds at boot (only
  its guest address matters; it has no file-server entry).
Image sizes are not read here (`Image.size` stays None): the files often
live in a checkout only the build can see.

Other decisions are documented where they are made: plan/x86.py,
plan/arm.py, plan/links.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sel4vmgen.diagnostics import Diagnostic, DiagnosticError
from sel4vmgen.model import Loaded
from sel4vmgen.model.system import Initrd, System
from sel4vmgen.plan.arm import ArmVm, arm_vm, first_ram_base, next_ram_base, vm_threads
from sel4vmgen.plan.common import (
    SERIAL_IRQ_PRIORITY,
    PlanError,
    fixed_threads,
    internal,
    share_images,
)
from sel4vmgen.plan.components import component_plans
from sel4vmgen.plan.links import Links, resolve_links
from sel4vmgen.plan.model import (
    CAMKES_DEFAULT_PRIORITY,
    PLAN_FORMAT,
    CMakeOption,
    Gic,
    Plan,
    QemuPlan,
    SataPlan,
    SimulationPlan,
    Thread,
    VmPlan,
)
from sel4vmgen.plan.overlays import guest_builds, rootfs_overlays
from sel4vmgen.plan.x86 import X86Vm, iospace_domains, vm_thread, x86_vm
from sel4vmgen.units import MIB
from sel4vmgen.version import version

if TYPE_CHECKING:
    from sel4vmgen.platforms.model import Platform

__all__ = ["PlanError", "resolve", "resolve_all"]

T = TypeVar("T")


def resolve(system: System, platform: Platform) -> Plan:
    """The Plan of `system` on `platform`; raises `PlanError` (E3xx) when it cannot be laid out."""
    if platform.framework == "microkit":
        return _microkit(system, platform)
    links = resolve_links(system, platform)
    vms = _x86_vms(system, links) if platform.arch == "x86" else _arm_vms(system, platform, links)
    plans = tuple(v.plan for v in vms)
    threads = _threads(system, platform, plans)
    images, clashes = share_images([i for v in vms for i in v.images])
    if clashes:
        first, clash = clashes[0]
        raise internal(  # rules/names.py refuses it (E281)
            f"file-server name '{clash.fs_name}' is used for {first.source} ({first.vm}) "
            f"and {clash.source} ({clash.vm})",
            ("vms", _index(plans, clash.vm)),
        )
    programs = _initrd_additions(system, platform, lambda i: i.programs)
    return Plan(
        **_common(system, platform),
        platform=system.sel4_arch if platform.arch == "x86" else platform.name,
        vms=plans,
        threads=threads,
        irq_routes=tuple(r for v in vms for r in v.routes),
        file_server=images,
        cmake_options=_cmake(system, platform, plans, threads),
        components=component_plans(system, links),
        virtqueues=tuple(links.virtqueues),
        notes=_notes(system, plans),
        qemu=_qemu(platform),
        overlays=rootfs_overlays(
            plans, images, _initrd_additions(system, platform, lambda i: i.files), programs
        ),
        guest_builds=guest_builds(programs, platform.arch),
        sata=_sata(system, plans),
    )


def _common(system: System, platform: Platform) -> dict[str, Any]:
    """The fields every Plan takes the same way, whatever its framework."""
    return {
        "format": PLAN_FORMAT,
        "tool_version": version(),
        "system": system.name,
        "arch": platform.arch,
        "sel4_arch": system.sel4_arch,
        "kernel_platform": platform.kernel_platform,
        "arm_platform": platform.arm_platform,
        "num_nodes": system.num_nodes,
        "gic": _gic(platform),
        "simulation": SimulationPlan(**system.simulation.model_dump()),
        "input_sha256": _digest(system),
    }


def _microkit(system: System, platform: Platform) -> Plan:
    """The Plan of a Microkit system (plan/microkit.py, plan/microkit_x86.py)."""
    from sel4vmgen.plan.microkit import arm_system, threads
    from sel4vmgen.plan.microkit_x86 import x86_system

    build = x86_system if platform.arch == "x86" else arm_system
    plans, routes, mk = build(system, platform)
    return Plan(
        **_common(system, platform),
        platform=platform.name,
        vms=plans,
        threads=threads(plans, mk),
        irq_routes=routes,
        file_server=(),
        cmake_options=(),
        framework="microkit",
        microkit=mk,
    )


def resolve_all(loaded: Loaded) -> tuple[Plan, ...]:
    """One Plan per platform the system names, in order; `DiagnosticError` on E3xx."""
    from sel4vmgen.platforms import UnknownPlatform, load

    system = loaded.system
    plans: list[Plan] = []
    for i, name in enumerate(system.platforms):
        where: tuple[str | int, ...] = (
            ("platform", i) if isinstance(system.platform, tuple) else ("platform",)
        )
        try:
            plans.append(resolve(system, load(name)))
        except UnknownPlatform as e:  # rules/arch.py refuses it first
            bug = internal(str(e))
            raise DiagnosticError(
                [Diagnostic(bug.code, bug.message, loaded.document.span(where))]
            ) from None
        except PlanError as e:
            span = loaded.document.span(_patched_path(system, name, e.path))
            raise DiagnosticError([Diagnostic(e.code, f"on {name}: {e.message}", span)]) from None
    return tuple(plans)


def _patched_path(
    system: System, platform: str, path: tuple[str | int, ...]
) -> tuple[str | int, ...]:
    """`path` inside the VM's `per_platform` patch for `platform` when the patch sets that field."""
    if len(path) < 3 or path[0] != "vms" or not isinstance(path[1], int):
        return path
    field = path[2]
    patch = system.vms[path[1]].per_platform.get(platform)
    if patch is None or not isinstance(field, str) or field not in patch.model_fields_set:
        return path
    return ("vms", path[1], "per_platform", platform, *path[2:])


def _index(plans: tuple[VmPlan, ...], instance: str | None) -> int:
    return next((p.index for p in plans if p.instance == instance), 0)


def _x86_vms(system: System, links: Links) -> list[X86Vm]:
    domains = iospace_domains(system, "pc99")
    return [x86_vm(vm.on("pc99"), n, system, links, domains[n]) for n, vm in enumerate(system.vms)]


def _arm_vms(system: System, platform: Platform, links: Links) -> list[ArmVm]:
    out: list[ArmVm] = []
    base = first_ram_base(platform)
    for n, vm in enumerate(system.vms):
        resolved = arm_vm(vm.on(platform.name), n, system, platform, links, base)
        base = max(base, next_ram_base(resolved.plan.ram))
        out.append(resolved)
    return out


def _threads(system: System, platform: Platform, plans: tuple[VmPlan, ...]) -> tuple[Thread, ...]:
    if platform.arch == "x86":
        fixed = fixed_threads(serial=SERIAL_IRQ_PRIORITY, time_server=True)
        return (*fixed, *(vm_thread(p) for p in plans), *_component_threads(system))
    console = any(p.virtio_console for p in plans)
    fixed = fixed_threads(serial=CAMKES_DEFAULT_PRIORITY if console else None, time_server=console)
    per_vm = (t for p in plans for t in vm_threads(p, system.num_nodes))
    return (*fixed, *per_vm, *_component_threads(system))


def _component_threads(system: System) -> tuple[Thread, ...]:
    return tuple(
        Thread(
            c.name, "component", c.priority if c.priority is not None else CAMKES_DEFAULT_PRIORITY
        )
        for c in system.components
    )


def _gic(platform: Platform) -> Gic | None:
    g = platform.gic
    if g is None:
        return None
    return Gic(
        g.version, g.dist, g.cpu, g.vcpu, g.hyp, g.list_registers, g.maintenance_irq, g.vtimer_irq
    )


def _qemu(platform: Platform) -> QemuPlan | None:
    """A QEMU platform's machine gets the whole RAM its data describes (in MiB)."""
    if not platform.qemu:
        return None
    return QemuPlan(sum(r.size for r in platform.ram) // MIB)


def _cmake(
    system: System, platform: Platform, plans: tuple[VmPlan, ...], threads: tuple[Thread, ...]
) -> tuple[CMakeOption, ...]:
    """CMake options in a fixed order, then the system's kernel_options as written."""
    out: list[CMakeOption] = []
    if platform.arch == "x86":
        # KernelSel4Arch and KernelMaxNumNodes are the plan's sel4_arch and num_nodes, which
        # the renderer writes first.  64-bit guests: a VM loaded without relocations (real minimal_64; optiplex9020
        # runs 32-bit guests on x86_64 and leaves the option off)
        if system.sel4_arch == "x86_64" and any(p.kernel_relocs == "" for p in plans):
            out.append(CMakeOption("KernelX86_64VTX64BitGuests", True))
        if any(p.framebuffer for p in plans):
            out.extend(_framebuffer_options())
        if any(p.blk_partitions for p in plans):
            # the Sataserver drives an AHCI controller (virtio_blk_sample app_settings.cmake:19)
            out.append(CMakeOption("SataserverUseAHCI", True))
    else:
        out.extend(_arm_options(system, platform, plans))
        if any(t.role == "time_server" for t in threads):
            out.extend(_time_server_options(platform))
    out.extend(CMakeOption(k, v) for k, v in system.kernel_options.items())
    out.extend(CMakeOption(k, v) for k, v in system.platform_options.get(platform.name, {}).items())
    if system.sata is not None and any(p.blk_partitions for p in plans):
        # the Sataserver's AHCI driver includes the board's details; camkes-vm stops the
        # build without it (components/Sataserver/CMakeLists.txt)
        out.append(CMakeOption("CAmkESVMDestHardware", system.sata.hardware))
    return tuple(out)


def _arm_options(
    system: System, platform: Platform, plans: tuple[VmPlan, ...]
) -> list[CMakeOption]:
    # the VMM's virtual PCI bus carries its virtio devices and the cross-VM dataports
    # (camkes-vm-examples apps/Arm/vm_cross_connector/settings.cmake:12)
    pci = any(p.virtio_console or p.virtio_net or p.dataports for p in plans)
    wanted = [
        ("VmPCISupport", pci),
        ("VmVirtioConsole", any(p.virtio_console for p in plans)),
        ("VmVirtioNetVirtqueue", any(p.virtqueues for p in plans)),
        # a virtio-net VM without a link is answered by the VMM's arping module
        # (camkes-vm-examples apps/Arm/vm_virtio_net/settings.cmake:17; default OFF in
        # camkes-vm components/VM_Arm/CMakeLists.txt)
        ("VmVirtioNetArping", any(p.virtio_net and not p.virtqueues for p in plans)),
        ("VmInitRdFile", any(p.initrd is not None for p in plans)),
        ("VmDtbFile", any(p.dtb_mode == "provide" for p in plans)),
    ]
    out = [CMakeOption(name, True) for name, on in wanted if on]
    smc = any(s.name == "allow_smc" for p in plans for s in p.settings)
    for name, value in platform.cmake_options:
        if name == "KernelAllowSMCCalls":
            smc = smc or value == "ON"
            continue
        out.append(CMakeOption(name, _cmake_value(value)))
    if smc:
        out.append(CMakeOption("KernelAllowSMCCalls", True))
    if any(s.name == "smmu" for p in plans for s in p.settings):
        if platform.smmu_options is None:
            # rules/platform_facts.py refuses it (E250)
            raise internal(f"platform {platform.name} has no data on giving guests its SMMU")
        out.extend(CMakeOption(n, _cmake_value(v)) for n, v in platform.smmu_options)
    if system.num_nodes > 1:
        out.append(CMakeOption("KernelMaxNumNodes", system.num_nodes))
    return out


def _time_server_options(platform: Platform) -> list[CMakeOption]:
    """What the platform's TimeServer needs (rules/platform_facts.py refuses a system that
    needs one where the platform data does not say)."""
    if platform.time_server_options is None:
        raise internal(f"platform {platform.name} has no data on what a TimeServer needs there")
    return [CMakeOption(n, _cmake_value(v)) for n, v in platform.time_server_options]


def _sata(system: System, plans: tuple[VmPlan, ...]) -> SataPlan | None:
    """The Sataserver's controller, when a VM has a virtio-blk disk (rules/ refuse one
    without `sata:`)."""
    s = system.sata
    if s is None or not any(p.blk_partitions for p in plans):
        return None
    bdfs = s.pci_bdfs.split(",")
    return SataPlan(s.ioports, s.iospaces, s.pci_bdfs, len(bdfs), s.iospace_id, s.drive, s.hardware)


def _initrd_additions(
    system: System, platform: Platform, pick: Callable[[Initrd], tuple[T, ...]]
) -> dict[str, tuple[T, ...]]:
    """What `pick` takes from each VM's initrd (the files added to it, the programs built
    into it), by VM instance, with the VM's patch for the platform applied."""
    out: dict[str, tuple[T, ...]] = {}
    for n, written in enumerate(system.vms):
        vm = written.on(platform.name)
        if vm.initrd is not None and (added := pick(vm.initrd)):
            out[f"vm{n}"] = added
    return out


def _framebuffer_options() -> list[CMakeOption]:
    """A guest given the VESA frame buffer: the VMM maps it (libsel4vmmplatsupport
    VESAFrameBuffer) from the VBE information the kernel takes from a linear multiboot
    graphics mode, size left to the boot loader (camkes-vm-examples
    apps/x86/cma34cr_ubuntu/app_settings.cmake:15-21)."""
    return [
        CMakeOption("KernelMultibootGFXMode", "linear"),
        CMakeOption("KernelMultibootGFXModeWidth", 0),
        CMakeOption("KernelMultibootGFXModeDepth", 0),
        CMakeOption("KernelMultibootGFXModeHeight", 0),
        CMakeOption("LibSel4VMMPlatsupportVESAFrameBuffer", True),
    ]


def _cmake_value(value: str) -> str | bool:
    return {"ON": True, "OFF": False}.get(value, value)


def _notes(system: System, plans: tuple[VmPlan, ...]) -> tuple[str, ...]:
    return tuple(
        f"{p.instance}: num_vcpus {p.vcpus} > KernelMaxNumNodes {system.num_nodes}; "
        f"camkes-vm runs {system.num_nodes} VCPU(s)"
        for p in plans
        if p.vcpus > system.num_nodes
    )


def _digest(system: System) -> str:
    """SHA-256 of the system's canonical JSON (what was resolved, independent of layout)."""
    text = json.dumps(system.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
