"""`sel4vmgen graph FILE -o OUT.(dot|svg|png)`: a picture of the system from its Plan.

FILE is a system YAML file (checked and resolved, like `validate` then `plan`),
a generated application's `plan.json`, or the application folder holding it.
DOT is written by our own code; SVG and PNG go through the Graphviz `dot`
program, and its absence is a usage error (exit 2).  OUT is written atomically, never
through a symlink or onto a FIFO or device (exit 2).  With `--memory` each VM's
guest-physical memory map is drawn to scale, overlapping windows side by side
and conflicts in red, with the size of each boot image whose file is present; a system
whose check fails is still drawn when it can be laid out (so the overlap the diagnostics
name can be seen), and the command then prints them and exits 1.  Missing folders of OUT
are created.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sel4vmgen.commands import completion
from sel4vmgen.commands.output import emit
from sel4vmgen.diagnostics import Diagnostic, DiagnosticError
from sel4vmgen.plan.model import Plan

if TYPE_CHECKING:
    from sel4vmgen.model.system import System


def _fail(message: str, code: int) -> SystemExit:
    click.echo(f"error: {message}", err=True)
    return SystemExit(code)


def _from_json(path: Path) -> Plan:
    from sel4vmgen.app.planfile import CorruptPlan, read_plan

    try:
        return read_plan(path)
    except CorruptPlan as e:
        raise _fail(str(e), 2) from None


@dataclass(frozen=True)
class Source:
    """The plan to draw, and the check's diagnostics to report after drawing it."""

    plan: Plan
    diagnostics: tuple[Diagnostic, ...] = ()
    exit_code: int = 0


def _lay_out(system: System, path: Path, platform: str | None) -> Plan:
    from sel4vmgen.plan import resolve
    from sel4vmgen.platforms import UnknownPlatform, load

    name = platform or system.platforms[0]
    if name not in system.platforms:
        raise _fail(f"{path} is not for platform '{name}' ({', '.join(system.platforms)})", 2)
    try:
        return resolve(system, load(name))
    except UnknownPlatform as e:
        raise _fail(str(e), 2) from None


def _resolve(path: Path, platform: str | None, memory: bool) -> Source:
    """Check and resolve a system file; diagnostics end the command (exit 1, or 2), except
    that a memory map is drawn first when the system can still be laid out."""
    from sel4vmgen.app.check import check_file, exit_code
    from sel4vmgen.graph.sizes import with_file_sizes
    from sel4vmgen.plan.common import PlanError

    checked = check_file(path)
    if checked.loaded is None or (not checked.ok and not memory):
        emit(checked.diagnostics, "text")
        raise SystemExit(exit_code([checked]))
    base = checked.loaded.base_dir
    try:
        plan = with_file_sizes(_lay_out(checked.loaded.system, path, platform), base)
    except (DiagnosticError, PlanError) as e:
        if not checked.ok:  # the check's own diagnostics say why it cannot be laid out
            emit(checked.diagnostics, "text")
            raise SystemExit(exit_code([checked])) from None
        if isinstance(e, PlanError):
            raise _fail(str(e), 1) from None
        emit(e.diagnostics, "text")
        raise SystemExit(1) from None
    return Source(plan, checked.diagnostics, exit_code([checked]))


def _names(plan: Plan) -> set[str]:
    return {plan.platform, plan.kernel_platform, plan.arm_platform or plan.kernel_platform}


def _app_plan(app: Path, platform: str | None) -> Plan:
    """The plan of a generated app: `plan.json`, or `<platform>/plan.json` when it has several."""
    from sel4vmgen.app.planfile import PLAN_FILE, plan_paths

    found = plan_paths(app)
    if found == [app / PLAN_FILE]:  # the reader refuses what is not a plan file
        return _from_json(found[0])
    if not found:
        raise _fail(f"{app} holds no plan.json: give a system file or a generated app", 2)
    if platform is None and len(found) == 1:
        return _from_json(found[0])
    folders = ", ".join(f.parent.name for f in found)
    if platform is None:
        raise _fail(f"{app} holds plans for {folders}: choose one with --platform", 2)
    for f in found:
        if f.parent.name == platform:
            return _from_json(f)
    for f in found:
        plan = _from_json(f)
        if platform in _names(plan):
            return plan
    raise _fail(f"{app} has no plan for platform '{platform}' ({folders})", 2)


def load_plan(source: Path, platform: str | None, memory: bool = False) -> Source:
    """The plan FILE stands for: resolved from YAML, or read from a generated app."""
    if source.is_dir():
        return Source(_app_plan(source, platform))
    if source.suffix == ".json":
        return Source(_from_json(source))
    return _resolve(source, platform, memory)


def _format_of(output: Path | None, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    if output is None:
        return "dot"
    suffix = output.suffix.lower().lstrip(".")
    if suffix == "gv":
        return "dot"
    if suffix not in ("dot", "svg", "png"):
        raise click.BadParameter(
            f"cannot tell the format of '{output.name}': use .dot, .svg or .png, or --format",
            param_hint="-o",
        )
    return suffix


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    from sel4vmgen.safeio import FileProblem, atomic_write

    try:
        atomic_write(output, data, make_parents=True)
    except FileProblem as e:
        raise _fail(f"cannot write {output}: {e.detail}", 2) from None


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="OUT.dot, OUT.svg or OUT.png (DOT on stdout when omitted; missing folders are made)",
)
@click.option(
    "--format", "fmt", type=click.Choice(["dot", "svg", "png"]), help="override -o's suffix"
)
@click.option(
    "--platform",
    help="which of the system's platforms to draw (default: the first)",
    shell_complete=completion.platforms,
)
@click.option(
    "--memory",
    is_flag=True,
    help="draw each VM's guest-physical memory map instead, to scale, overlaps in red",
)
def command(
    file: Path, output: Path | None, fmt: str | None, platform: str | None, memory: bool
) -> None:
    """Draw FILE's system (or, with --memory, its VMs' memory maps) as DOT, SVG or PNG."""
    from sel4vmgen import graph

    kind = _format_of(output, fmt)
    source = load_plan(file, platform, memory)
    plan = source.plan
    text = graph.memory_dot(plan) if memory else graph.system_dot(plan)
    if kind == "dot":
        _write(text.encode("utf-8"), output)
        _report(source)
        return
    try:
        data = graph.render(text, kind)
    except graph.GraphvizMissing:
        raise _fail(
            f"writing {kind.upper()} needs the Graphviz `dot` program, which is not installed; "
            "install graphviz, or write .dot and convert it elsewhere",
            2,
        ) from None
    except graph.GraphvizError as e:
        raise _fail(str(e), 1) from None
    _write(data, output)
    _report(source)


def _report(source: Source) -> None:
    """After drawing a system whose check failed: its diagnostics, and exit 1."""
    if source.exit_code:
        emit(source.diagnostics, "text")
        click.echo("the memory map was drawn from a system with the errors above", err=True)
        raise SystemExit(source.exit_code)
