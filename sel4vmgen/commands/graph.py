"""`sel4vmgen graph FILE -o OUT.(dot|svg|png)`: a picture of the system from its Plan.

FILE is a system YAML file (checked and resolved, like `validate` then `plan`),
a generated application's `plan.json`, or the application folder holding it.
DOT is written by our own code; SVG and PNG go through the Graphviz `dot`
program, and its absence is a usage error (exit 2).  OUT is written atomically, never
through a symlink or onto a FIFO or device (exit 2).  With `--memory` each VM's
guest-physical memory map is drawn to scale, overlapping windows side by side
and conflicts in red.  Missing folders of OUT are created.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sel4vmgen.commands import completion
from sel4vmgen.commands.output import emit
from sel4vmgen.diagnostics import DiagnosticError
from sel4vmgen.plan.model import Plan


def _fail(message: str, code: int) -> SystemExit:
    click.echo(f"error: {message}", err=True)
    return SystemExit(code)


def _from_json(path: Path) -> Plan:
    from sel4vmgen.app.planfile import CorruptPlan, read_plan

    try:
        return read_plan(path)
    except CorruptPlan as e:
        raise _fail(str(e), 2) from None


def _resolve(path: Path, platform: str | None) -> Plan:
    """Check and resolve a system file; diagnostics end the command (exit 1, or 2)."""
    from sel4vmgen.app.check import check_file, exit_code

    checked = check_file(path)
    if not checked.ok or checked.loaded is None:
        emit(checked.diagnostics, "text")
        raise SystemExit(exit_code([checked]))
    from sel4vmgen.plan import resolve
    from sel4vmgen.platforms import UnknownPlatform, load

    system = checked.loaded.system
    name = platform or system.platforms[0]
    if name not in system.platforms:
        raise _fail(f"{path} is not for platform '{name}' ({', '.join(system.platforms)})", 2)
    try:
        return resolve(system, load(name))
    except UnknownPlatform as e:
        raise _fail(str(e), 2) from None
    except DiagnosticError as e:
        emit(e.diagnostics, "text")
        raise SystemExit(1) from None


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


def load_plan(source: Path, platform: str | None) -> Plan:
    """The plan FILE stands for: resolved from YAML, or read from a generated app."""
    if source.is_dir():
        return _app_plan(source, platform)
    if source.suffix == ".json":
        return _from_json(source)
    return _resolve(source, platform)


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
    plan = load_plan(file, platform)
    text = graph.memory_dot(plan) if memory else graph.system_dot(plan)
    if kind == "dot":
        _write(text.encode("utf-8"), output)
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
