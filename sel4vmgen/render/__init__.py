"""Rendering: from resolved plans to the text of an application's files.  Pure.

`render(plans, ctx) -> {relative path: text}` formats the plans (one per
platform of one system) with the framework's backend: CAmkES plans through
the architecture's module, Microkit plans through `render/microkit.py`.  It
resolves nothing, simulates nothing and touches no file: the application
layer (`sel4vmgen.app`) resolves, simulates, adds `plan.json` and the copied
native sources, and writes.

A backend is a module with `render(plans: Sequence[Plan], ctx: RenderContext)
-> dict[str, str]`; `BACKENDS` below is the one registration point, by
`Plan.arch`.  Backends build their Jinja2 environment with
`sel4vmgen.render.env.environment("<arch>")`.

A backend formats what the plan decided; a plan that a checked system could
not have given (a `RenderError`) is a bug, reported as E405.
"""

from __future__ import annotations

import importlib
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sel4vmgen.diagnostics import Diagnostic, DiagnosticError
from sel4vmgen.render.env import RenderError
from sel4vmgen.version import version

if TYPE_CHECKING:
    from sel4vmgen.plan.model import Image, Plan

__all__ = ["BACKENDS", "RenderContext", "copied_source_path", "render"]

BUG = (
    "the rules accepted a system the renderer cannot write: a bug in sel4vmgen; please "
    "report it with the system file"
)

# arch -> module providing `render(plans, ctx) -> dict[str, str]`.
BACKENDS: dict[str, str] = {
    "x86": "sel4vmgen.render.x86",
    "arm": "sel4vmgen.render.arm",
}

Backend = Callable[[Sequence["Plan"], "RenderContext"], dict[str, str]]


@dataclass(frozen=True)
class RenderContext:
    """What a backend may know besides the plans."""

    base_dir: Path  # folder of the system file (absolute): relative image paths start there
    system: str  # the system's name (the app name)
    tool_version: str = field(default_factory=version)
    input_sha256: str = ""

    def image_path(self, source: str) -> str:
        """An image path as the build refers to it: `${VAR}/...` and absolute paths as they are,
        a relative path joined to the system file's folder (no file is looked at)."""
        if source.startswith("${") or PurePosixPath(source).is_absolute():
            return source
        return posixpath.normpath((self.base_dir / source).as_posix())

    def source_location(self, comp_type: str, source: str) -> str:
        """Where the build finds a native component's C source: a file the user wrote is copied
        into the app (`sel4vmgen.app.sources`), so the app builds wherever it is moved; a path
        that starts with a checkout variable is referred to as it is."""
        if source.startswith("${"):
            return source
        return "${CMAKE_CURRENT_SOURCE_DIR}/" + copied_source_path(comp_type, source)

    def image_location(self, image: Image) -> str:
        """Where the build finds an image, by `Image.base`: a file the renderer writes into
        the app is `${CMAKE_CURRENT_SOURCE_DIR}/...`; the others as `image_path` says."""
        if image.base == "generated":
            return "${CMAKE_CURRENT_SOURCE_DIR}/" + image.source
        return self.image_path(image.source)


def copied_source_path(comp_type: str, source: str) -> str:
    """The app-relative path a native component's source is copied to."""
    return f"components/{comp_type}/src/{PurePosixPath(source).name}"


def backend(arch: str) -> Backend:
    """The registered backend's `render` for `arch`."""
    module = BACKENDS.get(arch)
    if module is None:
        raise DiagnosticError([Diagnostic("E406", f"no backend for architecture {arch!r}")])
    try:
        fn: Backend = importlib.import_module(module).render
    except ModuleNotFoundError as e:
        if e.name != module:
            raise  # the backend exists but is broken: a bug, not a missing backend
        raise DiagnosticError(
            [Diagnostic("E406", f"the {arch} backend ({module}) is not available")]
        ) from None
    return fn


def _render_frameworks(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """CAmkES plans through the architecture's backend, Microkit plans through the Microkit
    backend (under `<board>/` when the system also has other plans)."""
    camkes = [p for p in plans if p.framework == "camkes"]
    microkit = [p for p in plans if p.framework == "microkit"]
    files = dict(backend(camkes[0].arch)(camkes, ctx)) if camkes else {}
    if microkit:
        from sel4vmgen.render.microkit import render as render_microkit

        if camkes and len(microkit) == 1:
            one = render_microkit(microkit, ctx)
            mk_files = {f"{microkit[0].platform}/{k}": v for k, v in one.items()}
        else:
            mk_files = render_microkit(microkit, ctx)
        for rel in mk_files.keys() & files.keys():
            raise DiagnosticError([Diagnostic("E405", f"two backends write {rel}")])
        files.update(mk_files)
    return files


def render(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """The rendered files of the application for these plans (one system), by relative path."""
    if not plans:
        raise DiagnosticError([Diagnostic("E406", "nothing to render: no plan")])
    try:
        return _render_frameworks(plans, ctx)
    except RenderError as e:
        raise DiagnosticError([Diagnostic("E405", str(e), hint=BUG)]) from None
