"""The ARM backend: plans -> a camkes-vm-examples `apps/Arm/<name>/` application.

`render(plans, ctx)` takes one Plan per platform of a system and returns the
app's files: `CMakeLists.txt`, `settings.cmake`, `<name>.camkes`, one
`<plat>/devices.camkes` per platform (plus `<plat>/<vm>.dts` for each VM
whose device tree sel4vmgen provides), the cross-VM glue
`src/cross_vm_connections.c` and `components/<Type>/<Type>.camkes` for
native components.  This module arranges plan values into small views
(settings as ready literals, file-server entries, connections); the
templates in `templates/arm/` lay them out and decide nothing.

Where settings go: the platform-specific VM settings (address and image
configuration, VCPUs, passthrough, kept devices) always go in
`<plat>/devices.camkes`, as in the real apps; the other VM settings go in
`<name>.camkes` when every platform has the same value, else beside the
platform's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sel4vmgen.plan.model import CAMKES_VM_BASE_PRIO, Image, Plan, VmPlan
from sel4vmgen.render import RenderContext
from sel4vmgen.render.arm_connections import (
    ComponentType,
    Connection,
    app_settings,
    component_types,
    connections,
    crossvm_glue,
    vm_interfaces,
)
from sel4vmgen.render.arm_values import (
    CamkesValue,
    Query,
    camkes_value,
    cmake_option,
    cmake_path,
    identifier,
    mmio_entry,
    platform_name,
    untyped_mmio_list,
)
from sel4vmgen.render.dts import guest_dts
from sel4vmgen.render.env import (
    RenderError,
    cmake_quote,
    environment,
    overlay_files,
    render_template,
)
from sel4vmgen.render.guest_builds import BuildView, build_views, overlay_builds

# The VMM source that builds a VM's RAM from the dataport it shares with a component.
GUEST_RAM_SOURCE = "src/guest_ram_dataport.c"


@dataclass(frozen=True)
class SettingLine:
    """`<target>.<attr> = <text>;`"""

    target: str
    attr: str
    text: str


@dataclass(frozen=True)
class ImageView:
    """One `AddToFileServer` entry; `dts` set when the build compiles it with dtc first,
    `initrd` set when the DTB's initrd range is patched with `UpdateDtbFromInitrd`."""

    fs_name: str  # CMake-quoted
    source: str  # CMake-quoted
    target: str = ""  # custom-target prefix for compiled DTBs
    dts: str = ""  # CMake-quoted .dts source
    initrd: str = ""  # CMake-quoted initrd source
    initrd_addr: str = ""
    initrd_target: str = ""  # the target that rebuilds `initrd` (an overlaid rootfs), if any
    overlay: OverlayView | None = None  # the initrd is rebuilt with extra files first


@dataclass(frozen=True)
class OverlayView:
    """A rootfs overlay: its CMake name, flavour, compression and (name, source, folder)
    of each file (AddFileToOverlayDir / AddOverlayDirToRootfs of camkes-vm-linux)."""

    target: str
    distro: str
    gzip: bool
    files: tuple[tuple[str, str, str], ...]
    programs: tuple[BuildView, ...] = ()  # guest builds whose programs it gets


@dataclass(frozen=True)
class PlatformView:
    """Everything of one platform: CMake block, settings options, devices.camkes."""

    platform: str
    arm_platform: str
    folder: str
    cpp_flag: str
    aarch64: bool
    smp_nodes: int  # the node count the app pins NUM_NODES to; 0 on a single core
    options: tuple[tuple[str, str], ...]
    images: tuple[ImageView, ...]
    settings: tuple[SettingLine, ...]
    dts: tuple[tuple[str, str], ...]  # (relative path, text)
    # QEMU_MEMORY in MiB on a QEMU platform (0 elsewhere); the build then also writes the
    # `simulate` script that boots the image, as camkes-vm-examples vm_minimal does
    qemu_memory: int = 0
    builds: tuple[BuildView, ...] = ()  # programs built for the guests (ExternalProjects)


@dataclass(frozen=True)
class AppView:
    """The whole app as the templates see it."""

    name: str
    system: str
    tool_version: str
    platforms: tuple[PlatformView, ...]
    supported: str
    vm_indexes: tuple[int, ...]
    vm_interfaces: tuple[str, ...]
    serial_vms: str
    components: tuple[ComponentType, ...]
    instances: tuple[tuple[str, str], ...]  # (type, instance) besides the VMs
    connections: tuple[Connection, ...]
    settings: tuple[SettingLine, ...]
    vmm_sources: tuple[str, ...]
    component_sources: tuple[tuple[str, tuple[str, ...]], ...]  # (type, CMake-quoted sources)
    uses_vswitch: bool  # virtqueue links: the vswitch_mapping struct and vswitch_layout
    uses_mac: bool  # a VM with virtio-net: vswitch_mac_address


def render(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """Every file of the ARM application for these plans (one per platform)."""
    if any(p.arch != "arm" for p in plans):
        raise RenderError("the ARM backend was given a plan for another architecture")
    app = app_view(plans, ctx)
    env = environment("arm")
    files = {
        "CMakeLists.txt": render_template(env, "CMakeLists.txt.j2", app=app),
        "settings.cmake": render_template(env, "settings.cmake.j2", app=app),
        f"{app.name}.camkes": render_template(env, "app.camkes.j2", app=app),
    }
    for plat in app.platforms:
        files[f"{plat.folder}/devices.camkes"] = render_template(
            env, "devices.camkes.j2", app=app, plat=plat
        )
        files.update(dict(plat.dts))
    for plan in plans:
        for overlay in plan.overlays:
            for f in overlay.files:
                if f.getty:  # a user's file is copied in by the application layer
                    files[f.source] = render_template(env, "inittab.j2", getty=f.getty)
    glue = crossvm_glue(plans)
    if glue is not None:
        files["src/cross_vm_connections.c"] = render_template(
            env, "cross_vm_connections.c.j2", app=app, glue=glue
        )
    ram = next((vm.ram_dataport for vm in plans[0].vms if vm.ram_dataport), None)
    if ram is not None:
        files[GUEST_RAM_SOURCE] = render_template(
            env, "guest_ram_dataport.c.j2", app=app, handle=f"{identifier(ram.name)}_handle"
        )
    for comp in app.components:
        files[f"components/{comp.type}/{comp.type}.camkes"] = render_template(
            env, "component.camkes.j2", app=app, comp=comp
        )
    return files


def app_view(plans: Sequence[Plan], ctx: RenderContext) -> AppView:
    """The view of the app: shared parts from the first plan, per-platform parts from each."""
    first = plans[0]
    shared, per_plat = _split_settings(plans)
    platforms = tuple(_platform_view(p, ctx, per_plat[p.platform]) for p in plans)
    types = component_types(first)
    glue = crossvm_glue(plans)
    return AppView(
        name=identifier(first.system),
        system=first.system,
        tool_version=first.tool_version,
        platforms=platforms,
        supported='"' + ";".join(platform_name(p.platform) for p in plans) + '"',
        vm_indexes=tuple(vm.index for vm in first.vms),
        vm_interfaces=vm_interfaces(first),
        serial_vms=",".join(str(vm.index) for vm in first.vms if vm.virtio_console),
        components=types,
        instances=tuple((c.type, identifier(c.name)) for c in first.components)
        + tuple(("VirtQueueInit", identifier(q.instance)) for q in first.virtqueues),
        connections=connections(first),
        settings=shared,
        vmm_sources=(
            *(("src/cross_vm_connections.c",) if glue is not None else ()),
            *((GUEST_RAM_SOURCE,) if any(vm.ram_dataport for vm in first.vms) else ()),
        ),
        component_sources=tuple(
            (t.type, tuple(cmake_path(ctx.source_location(t.type, s)) for s in t.sources))
            for t in types
            if t.sources
        ),
        uses_vswitch=any(vm.virtqueues for vm in first.vms),
        uses_mac=any(vm.mac or vm.virtqueues for vm in first.vms),
    )


# ---------------------------------------------------------------- settings


def _lines(target: str, pairs: Iterable[tuple[str, CamkesValue]]) -> tuple[SettingLine, ...]:
    return tuple(SettingLine(target, identifier(a), camkes_value(v)) for a, v in pairs)


def _split_settings(
    plans: Sequence[Plan],
) -> tuple[tuple[SettingLine, ...], dict[str, tuple[SettingLine, ...]]]:
    """App settings equal on every platform (shared) and the rest, per platform."""
    each = {p.platform: app_settings(p) for p in plans}
    first = each[plans[0].platform]
    shared = tuple(s for s in first if all(s in each[p.platform] for p in plans))
    rest = {
        p.platform: tuple(s for s in each[p.platform] if s not in shared) + platform_settings(p)
        for p in plans
    }
    lines = tuple(SettingLine(t, identifier(a), camkes_value(v)) for t, a, v in shared)
    return lines, {
        k: tuple(SettingLine(t, identifier(a), camkes_value(v)) for t, a, v in v_)
        for k, v_ in rest.items()
    }


def platform_settings(plan: Plan) -> tuple[tuple[str, str, CamkesValue], ...]:
    """The per-platform settings of every VM, in the order devices.camkes writes them."""
    out: list[tuple[str, str, CamkesValue]] = []
    for vm in plan.vms:
        out += [(vm.instance, a, v) for a, v in vm_platform_settings(vm)]
    return tuple(out)


def vm_platform_settings(vm: VmPlan) -> list[tuple[str, CamkesValue]]:
    """One VM's settings in `<plat>/devices.camkes` (camkes-vm VM_INIT_DEF attributes)."""
    pairs: list[tuple[str, CamkesValue]] = [
        ("vm_address_config", address_config(vm)),
        ("vm_image_config", image_config(vm)),
        ("num_vcpus", vm.vcpus),
    ]
    if vm.priority != CAMKES_VM_BASE_PRIO:  # else VM_CONFIGURATION_DEF sets it
        pairs.append(("base_prio", vm.priority))
    pairs.append(("dtb", Query(vm.dtb_nodes, vm.dtb_compatibles)))
    optional: list[tuple[str, CamkesValue]] = [
        ("dtb_irqs", list(vm.dtb_irqs)),
        ("untyped_mmios", untyped_mmio_list(vm.untyped_mmios)),
        ("mmios", [mmio_entry(r) for r in vm.mmios]),
        ("irqs", list(vm.irqs)),
        ("plat_keep_devices", list(vm.keep_devices)),
        ("plat_keep_devices_and_subtree", list(vm.keep_devices_and_subtree)),
    ]
    pairs += [(a, v) for a, v in optional if v]
    return pairs


def _addr(value: int | None, what: str, vm: VmPlan) -> str:
    if value is None:
        raise RenderError(f"{vm.instance}: the plan has no {what}")
    return f"0x{value:x}"


def address_config(vm: VmPlan) -> dict[str, CamkesValue]:
    """`vm_address_config` (the current form; camkes-vm VM_INIT_DEF)."""
    ram_base = vm.ram.guest if vm.ram.guest is not None else vm.ram.paddr
    paddr = vm.ram.paddr if vm.ram.paddr is not None else ram_base
    return {
        "ram_base": _addr(ram_base, "guest RAM base", vm),
        "ram_paddr_base": _addr(paddr, "guest RAM physical base", vm),
        "ram_size": f"0x{vm.ram.size:x}",
        "dtb_addr": _addr(dtb_address(vm), "DTB address", vm),
        "initrd_addr": f"0x{vm.initrd.guest:x}" if vm.initrd and vm.initrd.guest else "0x0",
        # "-1" = the VMM's default entry, RAM base + 0x80000 (vm.h, main.c)
        "kernel_entry_addr": f"0x{vm.kernel.guest:x}" if vm.kernel.guest is not None else "-1",
    }


def dtb_address(vm: VmPlan) -> int | None:
    """Where the VMM puts the guest's DTB: the DTB image's address, else the plan's
    `dtb` region (a generated DTB has no image)."""
    if vm.dtb is not None and vm.dtb.guest is not None:
        return vm.dtb.guest
    return next((r.guest for r in vm.devices if r.kind == "dtb"), None)


def image_config(vm: VmPlan) -> dict[str, CamkesValue]:
    """`vm_image_config` (the current form; camkes-vm VM_INIT_DEF)."""
    dtb_name = vm.dtb.fs_name if vm.dtb is not None and vm.dtb_mode == "provide" else ""
    # a DTB image in generate mode is the base the VMM starts from (zcu102's dtb_base_name)
    based = vm.dtb is not None and vm.dtb_mode == "generate" and bool(vm.dtb.source)
    base = vm.dtb.fs_name if vm.dtb is not None and based else ""
    return {
        "kernel_name": vm.kernel.fs_name,
        "dtb_name": dtb_name,
        "initrd_name": vm.initrd.fs_name if vm.initrd is not None else "",
        "kernel_bootcmdline": vm.cmdline,
        "kernel_stdout": vm.stdout or "",
        "dtb_base_name": base,
        "provide_dtb": vm.dtb_mode == "provide",
        "generate_dtb": vm.dtb_mode == "generate",
        "provide_initrd": vm.initrd is not None,
        "clean_cache": vm.clean_cache,
        "map_one_to_one": vm.map_one_to_one,
    }


# ---------------------------------------------------------------- platforms and images


def _platform_view(
    plan: Plan, ctx: RenderContext, settings: tuple[SettingLine, ...]
) -> PlatformView:
    folder = platform_name(plan.arm_platform or plan.platform)
    dts = tuple((dts_path(plan, vm), guest_dts(plan, vm)) for vm in plan.vms if writes_dts(vm))
    options = tuple(
        (identifier(o.name), cmake_option(o.value))
        for o in plan.cmake_options
        if o.name not in ("AARCH64", "NUM_NODES")
    )
    return PlatformView(
        platform=platform_name(plan.platform),
        arm_platform=folder,
        folder=folder,
        cpp_flag="-DKERNELARMPLATFORM_" + folder.upper(),
        aarch64=plan.sel4_arch == "aarch64",
        smp_nodes=plan.num_nodes if plan.num_nodes > 1 else 0,
        options=options,
        images=tuple(_images(plan, ctx)),
        settings=settings,
        dts=dts,
        qemu_memory=plan.qemu.memory_mb if plan.qemu is not None else 0,
        builds=build_views(plan),
    )


def _generated(image: Image) -> bool:
    return getattr(image, "base", "build") == "generated"


def writes_dts(vm: VmPlan) -> bool:
    """Whether sel4vmgen writes this VM's .dts: the DTB is provided, from a file the plan
    says the renderer generates (`Image.base == "generated"`, `source` its path in the app)."""
    return vm.dtb_mode == "provide" and vm.dtb is not None and _generated(vm.dtb)


def dts_path(plan: Plan, vm: VmPlan) -> str:
    """Where the generated .dts of `vm` lives in the app: the plan's file name, inside the
    platform's folder (each platform has its own guest device tree)."""
    if vm.dtb is None or not vm.dtb.source.endswith(".dts"):
        raise RenderError(f"{vm.instance} on {plan.platform}: no .dts path for its device tree")
    folder = platform_name(plan.arm_platform or plan.platform)
    name = vm.dtb.source.rsplit("/", 1)[-1]
    return f"{folder}/{name}"


def _source(ctx: RenderContext, image: Image, generated_at: str = "") -> str:
    """An image's path as CMake reads it, quoted."""
    if _generated(image):
        return cmake_path("${CMAKE_CURRENT_SOURCE_DIR}/" + (generated_at or image.source))
    return cmake_path(ctx.image_path(image.source))


def _owner(plan: Plan, image: Image) -> VmPlan | None:
    for vm in plan.vms:
        if vm.dtb is image or (image.vm is not None and vm.instance == image.vm):
            return vm
    return None


def _images(plan: Plan, ctx: RenderContext) -> Iterable[ImageView]:
    seen: set[str] = set()
    for image in plan.file_server:
        if image.fs_name in seen:
            continue
        seen.add(image.fs_name)
        yield _image_view(plan, ctx, image)


def _overlay_view(plan: Plan, image: Image) -> OverlayView | None:
    for o in plan.overlays:
        if o.image == image.fs_name:
            files = overlay_files(o.files, cmake_path)
            programs = overlay_builds(plan, o)
            return OverlayView(identifier(o.target), cmake_quote(o.distro), o.gzip, files, programs)
    return None


def _image_view(plan: Plan, ctx: RenderContext, image: Image) -> ImageView:
    name = cmake_quote(image.fs_name)
    if image.role == "initrd":
        return ImageView(name, _source(ctx, image), overlay=_overlay_view(plan, image))
    vm = _owner(plan, image)
    if image.role != "dtb" or vm is None:
        return ImageView(name, _source(ctx, image))
    is_dts = image.source.endswith(".dts") or image.format == "dts"
    initrd = vm.initrd if vm.dtb_mode == "provide" else None
    # an overlaid initrd: the DTB's initrd range is that of the rebuilt rootfs
    # (camkes-vm-examples apps/Arm/vm_serial_server/CMakeLists.txt:40-48)
    overlay = _overlay_view(plan, initrd) if initrd is not None else None
    source = _source(ctx, initrd) if initrd is not None and initrd.guest is not None else ""
    if overlay is not None and source:
        source = f'"${{{overlay.target}_rootfs}}"'  # the target is an identifier
    return ImageView(
        fs_name=name,
        source="" if is_dts else _source(ctx, image),
        target=identifier(f"{vm.instance}_dtb"),
        dts=_source(ctx, image, dts_path(plan, vm) if writes_dts(vm) else "") if is_dts else "",
        initrd=source,
        initrd_addr=f"0x{initrd.guest:x}" if initrd is not None and initrd.guest else "",
        initrd_target=f"{overlay.target}_target" if overlay is not None and source else "",
    )
