"""Copying native components' C and CakeML sources, rootfs files and guest program folders into the
application.

A source the user wrote (not one that starts with a checkout variable) is
read from the user's tree and placed at `render.copied_source_path`, the
place the rendered CMake refers to, so that the app builds wherever it is
moved.  A guest program's project folder (`initrd.programs`) is copied whole, file by file
(regular UTF-8 text files; hidden names skipped), to guest_programs/<build>.  Problems are
E408.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sel4vmgen.diagnostics import Diagnostic, DiagnosticError
from sel4vmgen.render import RenderContext, copied_source_path
from sel4vmgen.render.guest_builds import copied_folder, is_copied
from sel4vmgen.safeio import TEXT_CAP, FileProblem, read_regular

if TYPE_CHECKING:
    from sel4vmgen.plan.model import ComponentPlan, Plan


def copied_sources(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """The native components' C sources and the files the system adds to guest root file
    systems, read from the user's tree, by their place in the app."""
    out: dict[str, str] = _rootfs_files(plans, ctx) | _program_folders(plans, ctx)
    for comp in plans[0].components:
        for source in component_files(comp):
            if source.startswith("${"):
                continue
            rel = copied_source_path(comp.type, source)
            if rel in out:
                name = PurePosixPath(source).name
                raise DiagnosticError(
                    [Diagnostic("E408", f"component {comp.name}: two sources named {name}")]
                )
            path = Path(ctx.image_path(source))
            try:
                out[rel] = read_regular(path, TEXT_CAP).decode("utf-8")
            except (FileProblem, UnicodeDecodeError) as e:
                reason = str(e)
                raise DiagnosticError(
                    [
                        Diagnostic(
                            "E408", f"component {comp.name}: cannot read source {source}: {reason}"
                        )
                    ]
                ) from None
    return out


def component_files(comp: ComponentPlan) -> tuple[str, ...]:
    """A component's C sources, then its CakeML scripts and library scripts."""
    cml = comp.cakeml
    if cml is None:
        return comp.sources
    return (*comp.sources, *cml.sources, *(lib.source for lib in cml.libraries))


def _rootfs_files(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """Each file a plan's rootfs overlays copy from the user's tree (`OverlayFile.copy_of`)."""
    out: dict[str, str] = {}
    for plan in plans:
        for overlay in plan.overlays:
            for f in overlay.files:
                if not f.copy_of or f.source in out:
                    continue
                try:
                    data = read_regular(Path(ctx.image_path(f.copy_of)), TEXT_CAP)
                    out[f.source] = data.decode("utf-8")
                except (FileProblem, UnicodeDecodeError) as e:
                    raise DiagnosticError(
                        [Diagnostic("E408", f"rootfs file {f.copy_of}: cannot read it: {e}")]
                    ) from None
    return out


# The most files one guest program folder may hold: a project, not a checkout.
MAX_PROGRAM_FILES = 256


def _program_folders(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """Each file of the guest program folders the user wrote, by its place in the app."""
    out: dict[str, str] = {}
    for plan in plans:
        for build in plan.guest_builds:
            if not is_copied(build) or any(k.startswith(copied_folder(build) + "/") for k in out):
                continue
            out |= _folder_files(Path(ctx.image_path(build.source)), copied_folder(build))
    return out


def _folder_files(root: Path, dest: str) -> dict[str, str]:
    """The text files under `root` (hidden names skipped), keyed by `dest`/<relative path>."""
    out: dict[str, str] = {}
    if not root.is_dir():
        raise DiagnosticError([Diagnostic("E408", f"guest program folder {root}: not a folder")])
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.is_dir():
            continue
        if len(out) == MAX_PROGRAM_FILES:
            msg = f"guest program folder {root}: more than {MAX_PROGRAM_FILES} files"
            raise DiagnosticError([Diagnostic("E408", msg)])
        try:
            out[f"{dest}/{rel.as_posix()}"] = read_regular(path, TEXT_CAP).decode("utf-8")
        except (FileProblem, UnicodeDecodeError) as e:
            msg = f"guest program file {path}: cannot copy it: {e}"
            raise DiagnosticError([Diagnostic("E408", msg)]) from None
    return out
