"""The x86 backend: a plan to the files of an `apps/x86/<name>/` CAmkES VM application.

The files mirror seL4's camkes-vm-examples x86 apps (minimal, minimal_64,
optiplex9020, zmq_samples): `CMakeLists.txt`, `app_settings.cmake`,
`<name>.camkes`, `src/cross_vm_connections.c` when a VM has cross-VM
dataports, and a short `README.md`.  This module turns the plan into plain
view records (names, already-escaped CMake arguments, attribute lists) and
checks that the plan can be written in camkes-vm's terms; the templates in
`templates/x86/` only lay the records out.  Nothing here allocates or picks
a default: every number and name is the plan's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sel4vmgen.plan.model import (
    CAMKES_DEFAULT_PRIORITY,
    ComponentPlan,
    Image,
    IrqRoute,
    Plan,
    RootfsOverlay,
    Setting,
    VirtqueueEnd,
    VmPlan,
)
from sel4vmgen.render import RenderContext
from sel4vmgen.render.env import (
    RenderError,
    camkes_string,
    cmake_quote,
    environment,
    hex_filter,
    overlay_files,
    render_template,
)
from sel4vmgen.render.guest_builds import BuildView, build_views, overlay_builds
from sel4vmgen.units import MIB

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CMAKE_BARE = re.compile(r"^[A-Za-z0-9_.+-]+$")
# Attributes the template writes from plan fields; a `Setting` may not set them again.
_FIELD_ATTRIBUTES = frozenset(
    {
        "guest_ram_mb",
        "kernel_cmdline",
        "kernel_image",
        "kernel_relocs",
        "initrd_image",
        "iospace_domain",
        "vm_ioports",
        "pci_devices",
        "vm_irqs",
        "priority",
        "untyped_mmios",
        "simple_extra_bootinfo",
        "exclude_paddr",
        "sataserver_iface_attributes",
        "sataserver_iface_partitions",
        "init_cons",
    }
)
# Settings camkes-vm's own apps write in hex (the rest are written in decimal).
_HEX_SETTINGS = frozenset(
    {"heap_size", "iospace_domain", "global_endpoint_mask", "global_endpoint_base"}
)
# camkes-vm components/VM/configurations/connections.h joins at most four peers per VM
# (__CALL_SINGLE4).
MAX_VIRTQUEUE_PEERS = 4
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")


@dataclass(frozen=True)
class Attr:
    """One `vmN.name = value;` line: `value` is already CAmkES syntax."""

    name: str
    value: str


@dataclass(frozen=True)
class CrossVmEntry:
    """One element of the `connections[]` array of `cross_vm_connections.c`."""

    dataport: str
    emit: str  # C expression: `<event>_emit` or `NULL`
    consume_id: int
    consume_callback: str  # `<event>_reg_callback` or `NULL`


@dataclass(frozen=True)
class VmView:
    """One VM as the templates see it."""

    index: int
    instance: str
    component: str
    attrs: tuple[Attr, ...]
    interfaces: tuple[str, ...]  # lines inside `component InitN { ... }`
    connections: tuple[str, ...]  # `connection ...;` lines of the composition
    cross_vm: tuple[CrossVmEntry, ...]
    cross_vm_source: str | None  # relative path of its cross_vm_connections.c
    topology: tuple[int, ...]  # virtqueue peers (VM indices), in connections.h order
    blk: bool = False  # a virtio-blk disk from the Sataserver (configurations/sata.h macros)


@dataclass(frozen=True)
class CMakeSet:
    name: str
    value: str  # CMake argument, escaped
    type: str  # BOOL or STRING


@dataclass(frozen=True)
class OverlayEntry:
    """An initrd rebuilt with extra files (camkes-vm-linux AddFileToOverlayDir /
    AddOverlayDirToRootfs, as zmq_samples' overlay_vm<i>): its CMake name, the rootfs it
    starts from, and (name, source, folder) of each file, all CMake-quoted."""

    target: str
    rootfs: str
    distro: str
    gzip: bool
    files: tuple[tuple[str, str, str], ...]
    programs: tuple[BuildView, ...] = ()  # guest builds whose programs it gets


@dataclass(frozen=True)
class FileServerEntry:
    name: str  # escaped CMake argument
    path: str  # escaped CMake argument (or a ${variable} holding the path)
    decompress: str | None  # target name when the image is a bzImage
    decompressed: str | None  # variable holding the extracted kernel
    compressed: str | None  # escaped path of the bzImage
    overlay: OverlayEntry | None = None  # the initrd is rebuilt with extra files first


@dataclass(frozen=True)
class ComponentView:
    name: str
    type: str
    import_line: str  # camkes-vm's `<T/T.camkes>`, or the generated definition
    sources: tuple[str, ...]  # escaped CMake arguments; empty for a camkes-vm component
    interfaces: tuple[str, ...]  # lines of the generated definition (components with sources)
    definition: str | None  # relative path of the generated definition
    priority: int | None
    attrs: tuple[Attr, ...] = ()  # `<name>.<attribute>` lines of the configuration
    connections: tuple[str, ...] = ()  # `connection ...;` lines of the composition
    # DeclareCAmkESComponent's arguments one a line (a CakeML or vswitch component), else ()
    declaration: tuple[str, ...] = ()
    # CakeML library scripts configured first: (theory it extends, source, configured copy)
    cakeml_libraries: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class VirtqueueInitView:
    """A VirtQueueInit instance of its own for one link (x86 links with a component end, as
    zmq_cakeml.camkes's init0 and init1): its connection and topology, written out."""

    instance: str
    connection: str
    topology: str


@dataclass(frozen=True)
class X86App:
    """Everything the x86 templates print."""

    name: str
    sel4_arch: str
    platform: str
    kernel_platform: str
    num_nodes: int
    options: tuple[CMakeSet, ...]
    vms: tuple[VmView, ...]
    file_server: tuple[FileServerEntry, ...]
    components: tuple[ComponentView, ...]
    images_package: bool  # whether an image path needs find_package(camkes-vm-images)
    virtqueues: str | None  # the shared `init.init_topology` value when only VMs are linked
    tool_version: str
    sata: tuple[Attr, ...] = ()  # `sataserver.<name> = <value>;` when a VM has virtio-blk
    builds: tuple[BuildView, ...] = ()  # programs built for the guests (ExternalProjects)
    virtqueue_inits: tuple[VirtqueueInitView, ...] = ()  # one per link, when not shared
    cakeml: bool = False  # a component is a CakeML program (the build needs CAKEMLDIR)


def render(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """All files of the x86 application for one plan."""
    if len(plans) != 1:
        raise RenderError(f"an x86 system is built for one platform, not {len(plans)}")
    app = view(plans[0], ctx)
    env = environment("x86")
    files = {
        "CMakeLists.txt": render_template(env, "CMakeLists.txt.j2", app=app),
        "app_settings.cmake": render_template(env, "app_settings.cmake.j2", app=app),
        f"{app.name}.camkes": render_template(env, "app.camkes.j2", app=app),
        "README.md": render_template(env, "README.md.j2", app=app),
    }
    for comp in app.components:
        if comp.definition:
            files[comp.definition] = render_template(env, "component.camkes.j2", comp=comp)
    for vm in app.vms:
        if vm.cross_vm_source:
            files[vm.cross_vm_source] = render_template(
                env, "cross_vm_connections.c.j2", app=app, vm=vm
            )
    return files


def identifier(name: str, what: str) -> str:
    """`name` if it is a C identifier, else `RenderError`."""
    if not _IDENT.match(name):
        raise RenderError(f"{what} {name!r} is not a C identifier")
    return name


def view(plan: Plan, ctx: RenderContext) -> X86App:
    """The plan as the records the x86 templates print."""
    if plan.arch != "x86":
        raise RenderError(f"the x86 backend cannot render a {plan.arch} plan")
    name = identifier(plan.system, "system name")
    cross_vm_count = sum(1 for v in plan.vms if v.dataports)
    vms = tuple(vm_view(plan, v, cross_vm_count) for v in plan.vms)
    sources = [ctx.image_location(i) for i in plan.file_server]
    shared = len({q.instance for q in plan.virtqueues}) == 1 and not any(
        c.virtqueues for c in plan.components
    )
    return X86App(
        name=name,
        sel4_arch=plan.sel4_arch,
        platform=plan.platform,
        kernel_platform=plan.kernel_platform,
        num_nodes=plan.num_nodes,
        options=cmake_options(plan),
        vms=vms,
        file_server=file_server(plan.file_server, ctx, plan.overlays, plan),
        components=tuple(component_view(plan, c, ctx) for c in plan.components),
        images_package=any(s.startswith("${CAMKES_VM_IMAGES_DIR}") for s in sources),
        virtqueues=virtqueue_topology(vms) if shared else None,
        tool_version=ctx.tool_version,
        sata=sata_attrs(plan),
        builds=build_views(plan),
        virtqueue_inits=() if shared else virtqueue_inits(plan),
        cakeml=any(c.cakeml is not None for c in plan.components),
    )


def sata_attrs(plan: Plan) -> tuple[Attr, ...]:
    """The Sataserver's controller settings (camkes-vm-examples virtio_blk_sample.camkes)."""
    s = plan.sata
    if s is None:
        return ()
    return (
        Attr("ioports", camkes_string(s.ioports)),
        Attr("iospaces", camkes_string(s.iospaces)),
        Attr("pci_bdfs", camkes_string(s.pci_bdfs)),
        Attr("iospace_id", hex_filter(s.iospace_id)),
        Attr("num_bdfs", str(s.num_bdfs)),
        Attr("drive", str(s.drive)),
    )


def cmake_value(value: str | int | bool) -> tuple[str, str]:
    """A CMake cache value and its type: ON/OFF for booleans, bare words unquoted."""
    if isinstance(value, bool):
        return ("ON" if value else "OFF"), "BOOL"
    text = str(value)
    return (text if _CMAKE_BARE.match(text) else cmake_quote(text)), "STRING"


def cmake_options(plan: Plan) -> tuple[CMakeSet, ...]:
    """KernelSel4Arch and KernelMaxNumNodes from the plan's `sel4_arch` and `num_nodes`, then
    its other options in order (a plan that also lists those two is not one resolve makes)."""
    fixed: dict[str, str | int | bool] = {
        "KernelSel4Arch": plan.sel4_arch,
        "KernelMaxNumNodes": plan.num_nodes,
    }
    out = [CMakeSet(k, *cmake_value(v)) for k, v in fixed.items()]
    seen = set(fixed)
    for opt in plan.cmake_options:
        identifier(opt.name, "CMake option")
        if opt.name in seen:
            raise RenderError(f"CMake option {opt.name} is set twice")
        seen.add(opt.name)
        out.append(CMakeSet(opt.name, *cmake_value(opt.value)))
    return tuple(out)


def file_server(
    images: Sequence[Image],
    ctx: RenderContext,
    overlays: Sequence[RootfsOverlay] = (),
    plan: Plan | None = None,
) -> tuple[FileServerEntry, ...]:
    """One AddToFileServer per file-server name; a bzImage kernel is decompressed first, an
    overlaid initrd rebuilt first."""
    rebuilt = {o.image: o for o in overlays}
    out: list[FileServerEntry] = []
    seen: dict[str, str] = {}
    kernels: set[str] = set()  # file names of the bzImages decompressed so far
    for image in images:
        path = ctx.image_location(image)
        if image.fs_name in seen:
            if seen[image.fs_name] != path:
                raise RenderError(f"file-server name {image.fs_name!r} names two different files")
            continue
        seen[image.fs_name] = path
        if ":" in image.fs_name or ":" in path:
            # DefineCAmkESVMFileServer splits its `<name>:<file>` entries at ':'
            raise RenderError(f"the file server cannot take {image.fs_name!r} from {path!r}: ':'")
        quoted = cmake_quote(path, variables=True)
        if image.role == "kernel" and image.format == "bzImage":
            base = path.rsplit("/", 1)[-1]
            if base in kernels:
                # DecompressLinuxKernel writes decomp/<file name>: two kernels would collide
                raise RenderError(f"two bzImage kernels are named {base!r}; rename one")
            n = len(kernels)
            kernels.add(base)
            suffix = f"_{n}" if n else ""
            target, var = f"extract_linux_kernel{suffix}", f"decompressed_kernel{suffix}"
            out.append(
                FileServerEntry(cmake_quote(image.fs_name), f"${{{var}}}", target, var, quoted)
            )
        elif image.fs_name in rebuilt:
            o = rebuilt[image.fs_name]
            target = identifier(o.target, "overlay name")
            files = overlay_files(o.files, partial(cmake_quote, variables=True))
            programs = overlay_builds(plan, o) if plan is not None else ()
            entry = OverlayEntry(target, quoted, cmake_quote(o.distro), o.gzip, files, programs)
            path_var = f'"${{{target}_rootfs}}"'
            out.append(
                FileServerEntry(cmake_quote(image.fs_name), path_var, None, None, None, entry)
            )
        else:
            out.append(FileServerEntry(cmake_quote(image.fs_name), quoted, None, None, None))
    return tuple(out)


def component_view(plan: Plan, comp: ComponentPlan, ctx: RenderContext) -> ComponentView:
    """A native component: imported from camkes-vm, or declared from its sources."""
    name = comp.name
    identifier(comp.name, "component name")
    identifier(comp.type, "component type")
    if not comp.sources and comp.cakeml is None and not comp.virtqueues:
        imp = f"import <{comp.type}/{comp.type}.camkes>;"
        return ComponentView(comp.name, comp.type, imp, (), (), None, comp.priority)
    lines = ["control;"]
    for vm in plan.vms:
        lines += [f"dataport Buf({d.size}) {d.peer_name};" for d in vm.dataports if d.peer == name]
        for ev in vm.events:
            if ev.peer == name:
                verb = "consumes" if ev.direction == "from_vm" else "emits"
                lines.append(f"{verb} {event_type(ev.peer_name)} {ev.peer_name};")
    vswitch = vswitch_parts(plan, comp)
    lines += vswitch.interfaces
    names = [line.rstrip(";").split()[-1] for line in lines[1:]]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RenderError(f"component {comp.name}: interface {dup[0]} is declared twice")
    path = f"components/{comp.type}/{comp.type}.camkes"
    sources = tuple(
        cmake_quote(ctx.source_location(comp.type, s), variables=True) for s in comp.sources
    )
    settings = [Attr(s.name, camkes_value(s.name, s.value)) for s in comp.settings]
    for s in comp.settings:
        identifier(s.name, f"{comp.name} setting")
    return ComponentView(
        comp.name,
        comp.type,
        f'import "{path}";',
        sources,
        tuple(lines),
        path,
        comp.priority,
        attrs=(*vswitch.attrs, *settings),
        connections=vswitch.connections,
        declaration=declaration(comp, sources, ctx),
        cakeml_libraries=cakeml_libraries(comp, ctx),
    )


@dataclass(frozen=True)
class VswitchParts:
    """A component's side of its virtio-net links: interfaces, attributes, connections."""

    interfaces: tuple[str, ...]
    attrs: tuple[Attr, ...]
    connections: tuple[str, ...]


# A vswitch node waits for its virtqueues' notifications on a notification of its own, made
# by connecting an emitted event to a consumed one (zmq_cakeml.camkes: `emits Callback self;
# consumes Callback virtqueue_wait;` and a seL4GlobalAsynch connection between them; the
# component's code reads it with `virtqueue_wait_notification()`, global_endpoint.c).
SELF_EVENT, WAIT_EVENT, WAIT_TYPE = "self", "virtqueue_wait", "Callback"


def vswitch_parts(plan: Plan, comp: ComponentPlan) -> VswitchParts:
    """connections.h's interfaces of a component's virtio-net ends (`uses VirtQueueDrv
    ether_<p>_send; uses VirtQueueDev ether_<p>_recv;`, VM_CONNECTION_COMPONENT_DEF), their
    ids and connector attributes, and its self-notification."""
    if not comp.virtqueues:
        return VswitchParts((), (), ())
    if comp.index is None or comp.name != f"vm{comp.index}":
        raise RenderError(
            f"component {comp.name}: connections.h names a vswitch node vm<index>, "
            f"the plan gives it index {comp.index}"
        )
    links = end_links(plan, comp.name, comp.virtqueues)
    interfaces: list[str] = []
    for x in links:
        interfaces += [f"uses VirtQueueDrv {x.end.send};", f"uses VirtQueueDev {x.end.recv};"]
    interfaces += [f"emits {WAIT_TYPE} {SELF_EVENT};", f"consumes {WAIT_TYPE} {WAIT_EVENT};"]
    conn = (
        f"connection seL4GlobalAsynch {comp.name}_{WAIT_EVENT}_conn"
        f"(from {comp.name}.{SELF_EVENT}, to {comp.name}.{WAIT_EVENT});"
    )
    attrs = tuple(a for a in virtqueue_attrs(comp.index, links) if not a.name.startswith("vswitch"))
    return VswitchParts(tuple(interfaces), attrs, (conn,))


def declaration(comp: ComponentPlan, sources: Sequence[str], ctx: RenderContext) -> tuple[str, ...]:
    """DeclareCAmkESComponent's arguments one a line, as zmq_samples/CMakeLists.txt declares
    CakeMLFilter; () for a C component without libraries (declared on one line)."""
    if comp.cakeml is None and not comp.libs:
        return ()
    out = [comp.type]
    cml = comp.cakeml
    if cml is not None:
        out += ["CAKEML_SOURCES"]
        out += [cmake_quote(ctx.source_location(comp.type, s), variables=True) for s in cml.sources]
        out += [cmake_quote(lib.configured, variables=True) for lib in cml.libraries]
        if cml.includes:
            out += ["CAKEML_INCLUDES", *(cmake_quote(i, variables=True) for i in cml.includes)]
    if sources:
        out += ["SOURCES", *sources]
    if comp.libs:
        out += ["LIBS", *(identifier(lib, "library") for lib in comp.libs)]
    if cml is not None and cml.heap_size is not None:
        out += ["CAKEML_HEAP_SIZE", str(cml.heap_size)]
    if cml is not None and cml.stack_size is not None:
        out += ["CAKEML_STACK_SIZE", str(cml.stack_size)]
    return tuple(out)


def cakeml_libraries(comp: ComponentPlan, ctx: RenderContext) -> tuple[tuple[str, str, str], ...]:
    """(theory extended, source, configured copy) of each CakeML library script, escaped."""
    if comp.cakeml is None:
        return ()
    return tuple(
        (
            cmake_quote(lib.extends),
            cmake_quote(ctx.source_location(comp.type, lib.source), variables=True),
            cmake_quote(lib.configured, variables=True),
        )
        for lib in comp.cakeml.libraries
    )


def camkes_value(name: str, value: object) -> str:
    """A setting's value in CAmkES syntax."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return hex_filter(value) if name in _HEX_SETTINGS else str(value)
    if isinstance(value, str):
        return camkes_string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(camkes_value(name, v) for v in value) + "]"
    raise RenderError(f"setting {name} has a value CAmkES cannot hold: {value!r}")


def camkes_dict(items: Sequence[tuple[str, str]]) -> str:
    """`{"key":value, ...}` with values already in CAmkES syntax."""
    return "{" + ", ".join(f'"{k}":{v}' for k, v in items) + "}"


def guest_ram_mb(vm: VmPlan) -> int:
    """camkes-vm's `guest_ram_mb`: the RAM size in MiB, which it must be whole in (the rules
    refuse any other size, E211; a plan that holds one is refused here, not rounded)."""
    if vm.ram.size % MIB:
        raise RenderError(f"{vm.instance}: guest RAM {vm.ram.size:#x} is not a whole number of MiB")
    return vm.ram.size // MIB


def memory_attrs(vm: VmPlan) -> list[Attr]:
    """untyped_mmios, the VBE boot information of a frame buffer, and exclude_paddr."""
    attrs: list[Attr] = []
    if vm.untyped_mmios:
        rows = [
            camkes_string(f"0x{r.paddr or 0:x}:{r.size.bit_length() - 1}") for r in vm.untyped_mmios
        ]
        attrs.append(Attr("untyped_mmios", "[" + ", ".join(rows) + "]"))
    if vm.framebuffer:  # the VMM reads the VBE mode information from its bootinfo
        attrs.append(Attr("simple_extra_bootinfo", '["SEL4_BOOTINFO_HEADER_X86_VBE"]'))
    if vm.exclude_paddr:
        rows = [f"[{hex_filter(r.paddr or 0)}, {hex_filter(r.size)}]" for r in vm.exclude_paddr]
        attrs.append(Attr("exclude_paddr", "[" + ", ".join(rows) + "]"))
    return attrs


def device_attrs(plan: Plan, vm: VmPlan) -> list[Attr]:
    """vm_ioports, pci_devices and vm_irqs, as camkes-vm's Init templates read them."""
    attrs: list[Attr] = []
    if vm.ioports:
        rows = [
            camkes_dict(
                [
                    ("start", hex_filter(p.start)),
                    ("end", hex_filter(p.end)),
                    ("pci_device", str(p.pci_device)),
                    ("name", camkes_string(p.name)),
                ]
            )
            for p in vm.ioports
        ]
        attrs.append(Attr("vm_ioports", "[" + ", ".join(rows) + "]"))
    routes = [r for r in plan.irq_routes if r.vm == vm.instance and r.kind == "passthrough"]
    if vm.pci_devices:
        attrs.append(Attr("pci_devices", "[" + ", ".join(pci_rows(vm, routes)) + "]"))
    if routes:
        attrs.append(Attr("vm_irqs", "[" + ", ".join(irq_row(r) for r in routes) + "]"))
    return attrs


def pci_rows(vm: VmPlan, routes: Sequence[IrqRoute]) -> list[str]:
    rows = []
    for dev in vm.pci_devices:
        irq = ""
        if dev.irq is not None:
            match = [r.name for r in routes if r.source == dev.irq]
            if not match:
                raise RenderError(
                    f"{vm.instance}: PCI device {dev.name} uses IRQ {dev.irq}, "
                    "which no vm_irqs entry routes"
                )
            irq = match[0]
        memory = ", ".join(
            camkes_dict(
                [
                    ("paddr", hex_filter(m.paddr or 0)),
                    ("size", hex_filter(m.size)),
                    ("page_bits", str(m.page_bits)),
                ]
            )
            for m in dev.memory
        )
        rows.append(
            camkes_dict(
                [
                    ("name", camkes_string(dev.name)),
                    ("bus", str(dev.bus)),
                    ("dev", hex_filter(dev.dev)),
                    ("fun", str(dev.fun)),
                    ("irq", camkes_string(irq)),
                    ("memory", f"[{memory}]"),
                ]
            )
        )
    return rows


def irq_row(r: IrqRoute) -> str:
    items = [
        ("name", camkes_string(r.name)),
        ("source", hex_filter(r.source)),
        ("level_trig", "1" if r.trigger == "level" else "0"),
        ("active_low", "1" if r.active_low else "0"),
        ("dest", str(r.virq)),
    ]
    if r.ioapic:
        items.append(("ioapic", str(r.ioapic)))
    return camkes_dict(items)


def setting_attrs(vm: VmPlan, settings: Sequence[Setting]) -> list[Attr]:
    out: list[Attr] = []
    for s in settings:
        identifier(s.name, f"{vm.instance} setting")
        if s.name in _FIELD_ATTRIBUTES:
            raise RenderError(f"{vm.instance}: setting {s.name} duplicates a plan field")
        out.append(Attr(s.name, camkes_value(s.name, s.value)))
    return out


def vm_attrs(plan: Plan, vm: VmPlan, links: Sequence[VirtqueueLink]) -> tuple[Attr, ...]:
    """Every `vmN.<attribute>` line of one VM, in a fixed order."""
    attrs = [
        Attr("guest_ram_mb", str(guest_ram_mb(vm))),
        Attr("kernel_cmdline", camkes_string(vm.cmdline)),
        Attr("kernel_image", camkes_string(vm.kernel.fs_name)),
    ]
    if vm.kernel_relocs is not None:
        attrs.append(Attr("kernel_relocs", camkes_string(vm.kernel_relocs)))
    if vm.initrd is not None:
        attrs.append(Attr("initrd_image", camkes_string(vm.initrd.fs_name)))
    if vm.iospace_domain is not None:
        attrs.append(Attr("iospace_domain", hex_filter(vm.iospace_domain, 2)))
    if vm.priority != CAMKES_DEFAULT_PRIORITY:
        # The VM's one thread (x86 runs the guest on the VMM's TCB); CAmkES gives every
        # thread of an instance without `priority` its default, which the plan records as is.
        attrs.append(Attr("priority", str(vm.priority)))
    attrs += setting_attrs(vm, vm.settings)
    attrs += memory_attrs(vm)
    if vm.blk_partitions:  # the Sataserver client interface VM_INIT_SATA() declares
        attrs.append(Attr("sataserver_iface_attributes", camkes_string(str(vm.index))))
        parts = ", ".join(str(n) for n in vm.blk_partitions)
        attrs.append(Attr("sataserver_iface_partitions", f"[{parts}]"))
    attrs += device_attrs(plan, vm)
    for dp in vm.dataports:
        attrs += [Attr(f"{dp.name}_id", str(dp.id)), Attr(f"{dp.name}_size", str(dp.size))]
    attrs += virtqueue_attrs(vm.index, links)
    names = [a.name for a in attrs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RenderError(f"{vm.instance}: attribute {dup[0]} is set twice")
    return tuple(attrs)


def event_type(peer_name: str) -> str:
    """The CAmkES event type both ends declare: the component's event name, capitalised."""
    return peer_name[:1].upper() + peer_name[1:]


def cross_vm_parts(vm: VmPlan) -> tuple[list[str], list[str], list[CrossVmEntry]]:
    """Interfaces of InitN, composition connections, and the C connection table of one VM.

    The i-th event (in plan order) goes with the i-th dataport, as optiplex9020 pairs
    `ready` with dp1 and `done` with dp2.  A consumed event's id is the plan's badge for it:
    the VMM finds the connection an incoming event belongs to by that id
    (libsel4vmmplatsupport `consume_connection_event`); -1 means none.
    """
    interfaces: list[str] = []
    connections: list[str] = []
    for dp in vm.dataports:
        identifier(dp.name, "dataport")
        identifier(dp.peer, "dataport peer")
        identifier(dp.peer_name, "dataport peer interface")
        interfaces.append(f"dataport Buf({dp.size}) {dp.name};")
        connections.append(
            f"connection seL4SharedDataWithCaps {vm.instance}_{dp.name}_conn"
            f"(from {dp.peer}.{dp.peer_name}, to {vm.instance}.{dp.name});"
        )
    if len(vm.events) > len(vm.dataports):
        raise RenderError(
            f"{vm.instance}: {len(vm.events)} cross-VM events but {len(vm.dataports)} dataports; "
            "each event travels with a dataport"
        )
    entries = [CrossVmEntry(dp.name, "NULL", -1, "NULL") for dp in vm.dataports]
    for i, ev in enumerate(vm.events):
        for n in (ev.name, ev.peer, ev.peer_name):
            identifier(n, "event")
        kind = event_type(ev.peer_name)
        ends = (f"{vm.instance}.{ev.name}", f"{ev.peer}.{ev.peer_name}")
        if ev.direction == "from_vm":
            interfaces.append(f"emits {kind} {ev.name};")
            entries[i] = CrossVmEntry(entries[i].dataport, f"{ev.name}_emit", -1, "NULL")
        else:
            interfaces.append(f"consumes {kind} {ev.name};")
            ends = (ends[1], ends[0])
            entries[i] = CrossVmEntry(
                entries[i].dataport, "NULL", ev.badge, f"{ev.name}_reg_callback"
            )
        connections.append(
            f"connection seL4Notification {vm.instance}_{ev.name}_conn"
            f"(from {ends[0]}, to {ends[1]});"
        )
    return interfaces, connections, entries


@dataclass(frozen=True)
class VirtqueueLink:
    """One end of a VM's virtio-net link, with its peer, as the templates need it."""

    peer: int  # the peer VM's index
    end: VirtqueueEnd
    peer_mac: str
    shmem_size: int


def virtqueue_links(plan: Plan, vm: VmPlan) -> tuple[VirtqueueLink, ...]:
    """The VM's virtqueue ends in plan order (which is its connections.h topology order)."""
    out = end_links(plan, vm.instance, vm.virtqueues)
    if len({x.end.mac for x in out}) > 1:
        raise RenderError(f"{vm.instance}: the plan gives its virtqueue ends different MACs")
    return out


def peer_index(plan: Plan, instance: str) -> int:
    """The connections.h number of a link's end: a VM's index, or a vswitch component's."""
    for v in plan.vms:
        if v.instance == instance:
            return v.index
    for c in plan.components:
        if c.name == instance and c.index is not None and c.virtqueues:
            return c.index
    raise RenderError(f"virtio-net link end {instance} is neither a VM nor a vswitch component")


def end_links(plan: Plan, instance: str, ends: Sequence[VirtqueueEnd]) -> tuple[VirtqueueLink, ...]:
    """An instance's virtqueue ends with their peers, in plan order.

    camkes-vm's `VM_CONNECTION_COMPONENT_DEF` names an instance's interfaces to peer `p`
    `ether_<p>_send` / `ether_<p>_recv`, so the plan's names must be those.
    """
    out: list[VirtqueueLink] = []
    for end in ends:
        try:
            link, other = plan.link_of(end)
        except KeyError:
            raise RenderError(f"{instance}: virtqueue end {end.send} belongs to no link") from None
        peer = peer_index(plan, other.vm)
        if (end.send, end.recv) != (f"ether_{peer}_send", f"ether_{peer}_recv"):
            raise RenderError(
                f"{instance}: camkes-vm's connections.h names the link to {other.vm} "
                f"ether_{peer}_send/ether_{peer}_recv, the plan says {end.send}/{end.recv}"
            )
        for mac in (end.mac, other.mac):
            if not _MAC.fullmatch(mac):
                raise RenderError(f"{instance}: {mac!r} is not a MAC address")
        out.append(VirtqueueLink(peer, end, other.mac, link.shmem_size))
    if len(out) > MAX_VIRTQUEUE_PEERS:
        raise RenderError(f"{instance}: connections.h joins at most {MAX_VIRTQUEUE_PEERS} peers")
    return tuple(out)


def virtqueue_inits(plan: Plan) -> tuple[VirtqueueInitView, ...]:
    """One VirtQueueInit per link, its connection and topology written out (zmq_cakeml.camkes
    init0/init1: `init<k>.init_topology` joins each send end to the other end's receive)."""
    out: list[VirtqueueInitView] = []
    for q in plan.virtqueues:
        inst = identifier(q.instance, "VirtQueueInit instance")
        a, b = q.ends
        froms = ", ".join(f"from {e.vm}.{i}" for e in (a, b) for i in (e.send, e.recv))
        rows = [
            camkes_dict(
                [
                    ("drv", camkes_string(f"{x.vm}.{x.send}")),
                    ("dev", camkes_string(f"{y.vm}.{y.recv}")),
                ]
            )
            for x, y in ((a, b), (b, a))
        ]
        out.append(
            VirtqueueInitView(
                inst,
                f"connection seL4VirtQueues {inst}_conn(to {inst}.init, {froms});",
                "[" + ", ".join(rows) + "]",
            )
        )
    return tuple(out)


def virtqueue_attrs(me: int, links: Sequence[VirtqueueLink]) -> list[Attr]:
    """What camkes-vm's `VM_CONNECTION_CONFIG` would set for instance number `me`, with the
    plan's numbers: ids, connector attributes (`"<me><peer>"` on send, `"<peer><me>"` on
    receive), queue sizes, the vswitch MAC and the vswitch layout."""
    attrs: list[Attr] = []
    for x in links:
        stem = f"ether_{x.peer}"
        attrs += [
            Attr(f"{stem}_send_id", str(x.end.send_id)),
            Attr(f"{stem}_send_attributes", camkes_string(f"{me}{x.peer}")),
            Attr(f"{stem}_recv_id", str(x.end.recv_id)),
            Attr(f"{stem}_recv_attributes", camkes_string(f"{x.peer}{me}")),
            Attr(f"{stem}_send_shmem_size", str(x.shmem_size)),
            Attr(f"{stem}_recv_shmem_size", str(x.shmem_size)),
        ]
    if links:
        attrs.append(Attr("vswitch_mac_address", camkes_string(links[0].end.mac)))
        rows = [
            camkes_dict(
                [
                    ("mac_addr", camkes_string(x.peer_mac)),
                    ("send_id", str(x.end.send_id)),
                    ("recv_id", str(x.end.recv_id)),
                ]
            )
            for x in links
        ]
        attrs.append(Attr("vswitch_layout", "[" + ", ".join(rows) + "]"))
    return attrs


def virtqueue_topology(vms: Sequence[VmView]) -> str | None:
    """`init.init_topology`: each send end joined to the peer's receive end, VM by VM."""
    rows = [
        camkes_dict(
            [
                ("drv", camkes_string(f"{vm.instance}.ether_{peer}_send")),
                ("dev", camkes_string(f"vm{peer}.ether_{vm.index}_recv")),
            ]
        )
        for vm in vms
        for peer in vm.topology
    ]
    return "[" + ", ".join(rows) + "]" if rows else None


def vm_view(plan: Plan, vm: VmPlan, cross_vm_count: int) -> VmView:
    if vm.instance != f"vm{vm.index}" or vm.component != f"Init{vm.index}":
        raise RenderError(
            f"VM {vm.name}: camkes-vm's VM_PER_VM_COMP_DEF({vm.index}) names it "
            f"vm{vm.index} of type Init{vm.index}, the plan says {vm.instance} of {vm.component}"
        )
    interfaces, connections, entries = cross_vm_parts(vm)
    source = None
    if vm.dataports:
        single = cross_vm_count == 1
        source = (
            "src/cross_vm_connections.c" if single else f"src/cross_vm_connections_{vm.instance}.c"
        )
    links = virtqueue_links(plan, vm)
    return VmView(
        index=vm.index,
        instance=vm.instance,
        component=vm.component,
        attrs=vm_attrs(plan, vm, links),
        interfaces=tuple(interfaces),
        connections=tuple(connections),
        cross_vm=tuple(entries),
        cross_vm_source=source,
        topology=tuple(x.peer for x in links),
        blk=bool(vm.blk_partitions),
    )
