"""Rendering: from resolved plans to the files of a CAmkES VM application.

`generate(loaded, out_dir, ...)` is the whole back half of the pipeline:
resolve the plans (one per platform), optionally run the simulator's quick
check, render with the architecture's backend, add `plan.json`, and write
the tree atomically with its manifest (or, with `check=True`, only compare).

A backend is a module with `render(plans: Sequence[Plan], ctx: RenderContext)
-> dict[str, str]` (relative path -> text); `BACKENDS` below is the one
registration point, by `Plan.arch`.  Backends build their Jinja2 environment
with `sel4vmgen.render.env.environment("<arch>")`.

`plan.json` layout: with one platform, `plan.json` at the top of the app;
with several, `<platform>/plan.json` for each (beside that platform's own
files, as the real ARM apps keep per-platform folders).

Problems are raised as `DiagnosticError` with E4xx codes (`render/codes.py`);
resolution problems keep their own codes.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sel4vmgen import __version__
from sel4vmgen.diagnostics import Diagnostic, DiagnosticError, Severity, has_errors
from sel4vmgen.render.env import RenderError
from sel4vmgen.render.writer import WriteError, check_tree, encoded, write_tree
from sel4vmgen.safeio import TEXT_CAP, FileProblem, read_regular

if TYPE_CHECKING:
    from sel4vmgen.model import Loaded
    from sel4vmgen.plan.model import Image, Plan
    from sel4vmgen.source import Document

__all__ = [
    "BACKENDS",
    "GenerateResult",
    "RenderContext",
    "generate",
    "plan_files",
    "render_plans",
]

# arch -> module providing `render(plans, ctx) -> dict[str, str]`.
BACKENDS: dict[str, str] = {
    "x86": "sel4vmgen.render.x86",
    "arm": "sel4vmgen.render.arm",
}

Backend = Callable[[Sequence["Plan"], "RenderContext"], dict[str, str]]


@dataclass(frozen=True)
class RenderContext:
    """What a backend may know besides the plans."""

    base_dir: Path  # folder of the system file: relative image paths are relative to it
    system: str  # the system's name (the app name)
    tool_version: str = __version__
    input_sha256: str = ""

    def image_path(self, source: str) -> str:
        """An image path as the build refers to it: `${VAR}/...` and absolute paths as they are,
        a relative path made absolute against the system file's folder."""
        if source.startswith("${") or Path(source).is_absolute():
            return source
        return (self.base_dir / source).resolve().as_posix()

    def source_location(self, comp_type: str, source: str) -> str:
        """Where the build finds a native component's C source: a file the user wrote is copied
        into the app (`copied_sources`), so the app builds wherever it is moved; a path that
        starts with a checkout variable is referred to as it is."""
        if source.startswith("${"):
            return source
        return "${CMAKE_CURRENT_SOURCE_DIR}/" + copied_source_path(comp_type, source)

    def image_location(self, image: Image) -> str:
        """Where the build finds an image, by `Image.base`: a file the renderer writes into
        the app is `${CMAKE_CURRENT_SOURCE_DIR}/...`; the others as `image_path` says."""
        if image.base == "generated":
            return "${CMAKE_CURRENT_SOURCE_DIR}/" + image.source
        return self.image_path(image.source)


@dataclass(frozen=True)
class GenerateResult:
    """What `generate` did or found."""

    out_dir: Path
    plans: tuple[Plan, ...]
    files: tuple[str, ...] = ()  # every file of the app, manifest included
    changed: tuple[str, ...] = ()  # files written (or, with check, that differ)
    violations: tuple[Diagnostic, ...] = field(default=())  # the simulator's findings
    checked: bool = False
    expected: Mapping[str, bytes] = field(default_factory=dict)  # with check: each file's bytes

    @property
    def ok(self) -> bool:
        return not has_errors(self.violations) and not (self.checked and self.changed)


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


def plan_files(plans: Sequence[Plan]) -> dict[str, str]:
    """`plan.json` for one plan, `<platform>/plan.json` for each of several."""
    if len(plans) == 1:
        return {"plan.json": plans[0].to_json()}
    return {f"{p.platform}/plan.json": p.to_json() for p in plans}


def copied_source_path(comp_type: str, source: str) -> str:
    """The app-relative path a native component's source is copied to."""
    return f"components/{comp_type}/src/{PurePosixPath(source).name}"


def copied_sources(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """The native components' C sources, read from the user's tree, by their place in the app."""
    out: dict[str, str] = {}
    for comp in plans[0].components:
        for source in comp.sources:
            if source.startswith("${"):
                continue
            rel = copied_source_path(comp.type, source)
            if rel in out:
                raise DiagnosticError(
                    [
                        Diagnostic(
                            "E408",
                            f"component {comp.name}: two sources named {PurePosixPath(source).name}",
                        )
                    ]
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


def render_plans(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """Every file of the application for these plans (one system, one arch), plan.json included."""
    if not plans:
        raise DiagnosticError([Diagnostic("E406", "nothing to render: no plan")])
    try:
        files = _render_frameworks(plans, ctx)
    except RenderError as e:
        raise DiagnosticError([Diagnostic("E405", str(e))]) from None
    for rel, text in (plan_files(plans) | copied_sources(plans, ctx)).items():
        if rel in files:
            raise DiagnosticError([Diagnostic("E405", f"the backend wrote the reserved {rel}")])
        files[rel] = text
    return files


def input_hash(loaded: Loaded, plans: Sequence[Plan]) -> str:
    """The plans' `input_sha256` (a digest of the resolved system, so that comment or layout
    edits of the YAML change nothing); else the SHA-256 of the system file as read."""
    if plans and plans[0].input_sha256:
        return plans[0].input_sha256
    try:
        return hashlib.sha256(Path(loaded.document.file).read_bytes()).hexdigest()
    except OSError:
        return hashlib.sha256(loaded.system.model_dump_json().encode()).hexdigest()


def resolve_plans(loaded: Loaded) -> tuple[Plan, ...]:
    """One plan per platform of the system (raises `DiagnosticError`)."""
    from sel4vmgen.plan.resolve import resolve_all

    return tuple(resolve_all(loaded))


def simulate_plans(plans: Sequence[Plan], doc: Document | None = None) -> tuple[Diagnostic, ...]:
    """The simulator's quick check of each plan (static checks and a short timed run), its
    findings placed in `doc`, the system file."""
    from sel4vmgen.sim import check_plan

    found: list[Diagnostic] = []
    for plan in plans:
        if plan.framework != "camkes":
            found.append(
                Diagnostic(
                    "W410",
                    f"{plan.platform}: the simulation check is not available for "
                    f"{plan.framework} plans; generated without it",
                    severity=Severity.WARNING,
                )
            )
            continue
        found.extend(check_plan(plan).diagnostics(doc))
    return tuple(found)


def generate(
    loaded: Loaded,
    out_dir: str | Path,
    *,
    check: bool = False,
    force: bool = False,
    simulate: bool = True,
) -> GenerateResult:
    """Resolve, (simulate), render and write -- or with `check`, compare -- one system's app."""
    out = Path(out_dir)
    plans = resolve_plans(loaded)
    violations: tuple[Diagnostic, ...] = ()
    if simulate:
        violations = simulate_plans(plans, loaded.document)
        if has_errors(violations):
            return GenerateResult(out, plans, violations=violations)
    digest = input_hash(loaded, plans)
    ctx = RenderContext(loaded.base_dir, loaded.system.name, __version__, digest)
    files = render_plans(plans, ctx)
    try:
        if check:
            differ = check_tree(out, files, __version__, digest)
            expected = encoded(files, __version__, digest)
            return GenerateResult(
                out, plans, tuple(files), differ, violations, checked=True, expected=expected
            )
        done = write_tree(out, files, version=__version__, input_sha256=digest, force=force)
    except WriteError as e:
        raise DiagnosticError([write_diagnostic(e)]) from None
    return GenerateResult(out, plans, done.files, done.changed + done.removed, violations)


def write_diagnostic(e: WriteError) -> Diagnostic:
    """The E4xx diagnostic for a writer refusal."""
    if e.kind == "edited":
        return Diagnostic("E401", str(e), hint="pass --force to overwrite them")
    if e.kind == "unsafe":
        return Diagnostic("E403", str(e))
    return Diagnostic("E404", str(e))
