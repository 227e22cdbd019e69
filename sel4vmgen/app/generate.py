"""`generate`: the back half of the pipeline for one checked system.

resolve (one plan per platform) -> the simulator's quick check -> render ->
add `plan.json` (`app.planfile`) and the copied native sources
(`app.sources`) -> write the tree atomically with its manifest
(`app.writer`), or with `check=True` only compare.

Problems are raised as `DiagnosticError` with E4xx codes; resolution
problems keep their own codes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sel4vmgen.app.planfile import plan_files
from sel4vmgen.app.sources import copied_sources
from sel4vmgen.app.writer import WriteError, check_tree, encoded, write_tree
from sel4vmgen.diagnostics import Diagnostic, DiagnosticError, has_errors
from sel4vmgen.render import RenderContext, render
from sel4vmgen.version import version

if TYPE_CHECKING:
    from sel4vmgen.model import Loaded
    from sel4vmgen.plan.model import Plan
    from sel4vmgen.source import Document


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


def app_files(plans: Sequence[Plan], ctx: RenderContext) -> dict[str, str]:
    """Every file of the application for these plans: the rendered ones, `plan.json` and the
    copied native sources."""
    files = render(plans, ctx)
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
    from sel4vmgen.plan.resolution import resolve_all

    return tuple(resolve_all(loaded))


def simulate_plans(plans: Sequence[Plan], doc: Document | None = None) -> tuple[Diagnostic, ...]:
    """The simulator's quick check of each plan (static checks and a short timed run), its
    findings placed in `doc`, the system file."""
    from sel4vmgen.sim import check_plan

    found: list[Diagnostic] = []
    for plan in plans:
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
    ctx = RenderContext(loaded.base_dir, loaded.system.name, version(), digest)
    files = app_files(plans, ctx)
    try:
        if check:
            differ = check_tree(out, files, version(), digest)
            expected = encoded(files, version(), digest)
            return GenerateResult(
                out, plans, tuple(files), differ, violations, checked=True, expected=expected
            )
        done = write_tree(out, files, version=version(), input_sha256=digest, force=force)
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
