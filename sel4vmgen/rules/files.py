"""Files the system names: guest images and native component sources, checked where named.

`generate` copies each component source into the app and the build reads each
guest image, so whatever would stop either is found here, at the line that
names the file:

- an image present on this machine must be a regular file (not a folder,
  FIFO, socket, device or symlink loop) of at most `safeio.IMAGE_CAP` bytes;
  one that is absent is left to the build (it may be made later);
- a component source (one that does not start with a checkout variable) must
  be present, a regular file of at most `safeio.TEXT_CAP` bytes of UTF-8
  text, with a plain file name (not hidden, not `.` or `..`) that no other
  source of the component has (they are copied into one folder);
- the path the build is given (a relative path made absolute against the
  system file's folder) must be one CMake can carry: no `;` and no control
  character; on x86 no `:` either, since DefineCAmkESVMFileServer splits
  its `name:file` entries at the colon.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from sel4vmgen.defaults import INITRD_NAME
from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.model.system import GuestProgram, Vm
from sel4vmgen.rules.context import Ctx, error, line_of
from sel4vmgen.safeio import IMAGE_CAP, TEXT_CAP, FileProblem, inspect_regular, read_regular
from sel4vmgen.text import did_you_mean


def _local(base: Path, path: str) -> Path | None:
    """The file a path names on this machine; None for a checkout-variable path."""
    if path.startswith("$"):
        return None
    p = Path(path)
    return p if p.is_absolute() else base / p


def _absent(e: FileProblem) -> bool:
    return e.kind == "missing"


def _unusable(what: str, path: str, e: FileProblem, at: Span) -> Diagnostic:
    return error("E241", f"{what} {path} cannot be used: {e.detail}", at)


def _build_path(ctx: Ctx, path: str, what: str, at: Span) -> list[Diagnostic]:
    """E247: the path the build is given holds what CMake (or the x86 file server) cannot."""
    full = path
    if not path.startswith("$") and not Path(path).is_absolute():
        full = (ctx.base_dir / path).as_posix()
    refused = ";" + (":" if ctx.system.arch == "x86" else "")
    bad = next((c for c in full if c in refused or ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is None:
        return []
    why = "the x86 file server splits its entries at ':'" if bad == ":" else "CMake cannot carry it"
    return [
        error(
            "E247",
            f"{what} {path}{'' if full == path else f' is {full!r} to the build, which'} "
            f"holds {bad!r}: {why}",
            at,
            hint="move the system file or the image to a folder whose path has no such character",
        )
    ]


def _images(ctx: Ctx) -> Iterator[tuple[str, str, Span]]:
    """(what, path, where) for every guest image of the VMs on this platform."""
    for i, vm in ctx.vm_indices():
        yield f"{vm.name} kernel image", vm.kernel.image, ctx.at(i, "kernel", "image")
        if vm.initrd is not None:
            yield f"{vm.name} initrd image", vm.initrd.image, ctx.at(i, "initrd", "image")
        if vm.dtb is not None and vm.dtb.file is not None:
            yield f"{vm.name} DTB file", vm.dtb.file, ctx.at(i, "dtb", "file")


def image_files(ctx: Ctx) -> list[Diagnostic]:
    """E241 an image that is present but not a usable regular file; E247 its build path."""
    out: list[Diagnostic] = []
    for what, path, at in _images(ctx):
        out += _build_path(ctx, path, what, at)
        local = _local(ctx.base_dir, path)
        if local is None:
            continue
        try:
            inspect_regular(local, IMAGE_CAP)
        except FileProblem as e:
            if not _absent(e):
                out.append(_unusable(what, path, e, at))
    return out


def _source_name(source: str) -> str | None:
    """Why the file name of a source cannot be copied into the app, or None."""
    name = source.rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        return f"'{source}' names no file (its last part is '{name}')"
    if name.startswith("."):
        return f"'{name}' is a hidden file name"
    return None


def _source_text(local: Path) -> str | None:
    """Why a component source cannot be copied as text, or None."""
    try:
        raw = read_regular(local, TEXT_CAP)
    except FileProblem as e:
        return e.detail
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"byte 0x{raw[e.start]:02x} at offset {e.start} is not UTF-8"
    return None


def component_sources(ctx: Ctx) -> list[Diagnostic]:
    """E241 a source (C or CakeML) that cannot be read as text; E242 a name that cannot be
    copied."""
    out: list[Diagnostic] = []
    for c, comp in enumerate(ctx.system.components):
        seen: dict[str, Span] = {}
        files: list[tuple[tuple[str | int, ...], str]] = [
            (("sources", k), s) for k, s in enumerate(comp.sources)
        ]
        if comp.cakeml is not None:  # CakeML scripts are copied beside the C sources
            files += [(("cakeml", "sources", k), s) for k, s in enumerate(comp.cakeml.sources)]
            files += [(("cakeml", "libraries", k), s) for k, s in enumerate(comp.cakeml.libraries)]
        for sub, source in files:
            at = ctx.span("components", c, *sub)
            local = _local(ctx.base_dir, source)
            if local is None:
                continue
            what = f"component {comp.name} source"
            bad_name = _source_name(source)
            if bad_name is not None:
                out.append(error("E242", f"{what} {bad_name}; it cannot be copied", at))
                continue
            name = PurePosixPath(source).name
            if name in seen:
                out.append(
                    error(
                        "E242",
                        f"{what} {source} has the file name of another of its sources "
                        f"(line {seen[name].line}); both are copied to one folder",
                        at,
                        seen[name],
                    )
                )
                continue
            seen[name] = at
            why = _source_text(local)
            if why is not None:
                out.append(error("E241", f"{what} {source} cannot be copied: {why}", at))
    return out


def rootfs_files(ctx: Ctx) -> list[Diagnostic]:
    """E241: a file a VM's initrd gets (`initrd.files`) that cannot be copied as text;
    E255: two VMs that share an initrd (one file-server name) and add different files."""
    out: list[Diagnostic] = []
    shared: dict[str, tuple[int, tuple[object, ...]]] = {}
    for i, vm in ctx.vm_indices():
        if vm.initrd is None:
            continue
        for k, f in enumerate(vm.initrd.files):
            local = _local(ctx.base_dir, f.source)
            if local is None:
                continue
            why = _source_text(local)
            if why is not None:
                at = ctx.key_at(i, "initrd", "files", k, "source")
                out.append(
                    error("E241", f"{vm.name} rootfs file {f.source} cannot be copied: {why}", at)
                )
        name = vm.initrd.name or INITRD_NAME[ctx.system.arch]
        files = (*vm.initrd.files, *vm.initrd.programs)
        if name in shared and shared[name][1] != files:
            j = shared[name][0]
            other = ctx.key_at(j, "initrd", _added_key(ctx.vms[j]))
            out.append(
                error(
                    "E255",
                    f"{vm.name} adds other files to initrd {name} than "
                    f"{ctx.system.vms[shared[name][0]].name} {line_of(other)}; one file-server "
                    "entry is one rebuilt rootfs",
                    ctx.key_at(i, "initrd", _added_key(vm)),
                    other,
                    hint="give the initrd another name, or add the same files",
                )
            )
        shared.setdefault(name, (i, files))
    return out


def _added_key(vm: Vm) -> str:
    """The key of what a VM adds to its initrd (files, else programs), or its name."""
    assert vm.initrd is not None
    return "files" if vm.initrd.files else "programs" if vm.initrd.programs else "name"


def _program_folder(ctx: Ctx, vm: str, prog: GuestProgram, at: Span) -> list[Diagnostic]:
    """E282: a program's source folder that is not there (a checkout path is the build's)."""
    local = _local(ctx.base_dir, prog.source)
    if local is None or (local / "CMakeLists.txt").is_file():
        return []
    why = "holds no CMakeLists.txt" if local.is_dir() else "is not a folder here"
    return [
        error(
            "E282",
            f"{vm} guest program {prog.name}: source {prog.source} {why}",
            at,
            hint="name the folder of the program's CMake project, relative to the system file",
        )
    ]


def _program_depends(ctx: Ctx, i: int, vm: Vm, k: int, before: list[str]) -> list[Diagnostic]:
    """E283: a dependency that is not a build listed before this one in the initrd."""
    assert vm.initrd is not None
    prog = vm.initrd.programs[k]
    out: list[Diagnostic] = []
    for d, dep in enumerate(prog.depends):
        if dep in before:
            continue
        near = did_you_mean(dep, before)
        out.append(
            error(
                "E283",
                f"{vm.name} guest program {prog.name} depends on {dep}, which its initrd does "
                "not build before it",
                ctx.at(i, "initrd", "programs", k, "depends", d),
                hint=near or "list the build it needs before it in the same initrd",
            )
        )
    return out


def guest_programs(ctx: Ctx) -> list[Diagnostic]:
    """E282 a missing source folder, E283 an unknown dependency, E284 programs for a 64-bit
    x86 guest, E285 one build name for two builds, E247 a source path CMake cannot carry."""
    out: list[Diagnostic] = []
    seen: dict[str, tuple[GuestProgram, Span]] = {}
    for i, vm in ctx.vm_indices():
        if vm.initrd is None or not vm.initrd.programs:
            continue
        if ctx.system.arch == "x86" and not vm.kernel.loads_relocs(ctx.system.sel4_arch):
            out.append(
                error(
                    "E284",
                    f"{vm.name} is a 64-bit guest (its kernel is loaded without relocations): "
                    "guest programs are built with the 32-bit Linux toolchain only",
                    ctx.key_at(i, "initrd", "programs"),
                    hint="set kernel.relocs: true for a 32-bit guest, or drop the programs",
                )
            )
        before: list[str] = []
        for k, prog in enumerate(vm.initrd.programs):
            at = ctx.at(i, "initrd", "programs", k, "source")
            out += _build_path(ctx, prog.source, f"{vm.name} guest program {prog.name}", at)
            out += _program_folder(ctx, vm.name, prog, at)
            out += _program_depends(ctx, i, vm, k, before)
            before.append(prog.name)
            name_at = ctx.at(i, "initrd", "programs", k, "name")
            first = seen.setdefault(prog.name, (prog, name_at))
            if first[0] != prog:
                out.append(
                    error(
                        "E285",
                        f"{vm.name} guest program {prog.name} differs from the build of that "
                        f"name {line_of(first[1])}; one name is one CMake target",
                        name_at,
                        first[1],
                        hint="give one of them another name, or write the same build",
                    )
                )
    return out


RULES_ONCE = (component_sources,)
RULES = (image_files, rootfs_files, guest_programs)
