"""`sel4vmgen simulate FILE|DIR`: run a system in the reference simulator.

FILE is a system YAML (validated and resolved in memory); DIR is a generated
application, whose `plan.json` (or `<platform>/plan.json`; `sel4vmgen.app.planfile`)
is what gets simulated.  Exit codes: 0 clean, 1 the
configuration has errors or the simulation found a violation, 2 usage error
or unreadable input.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from sel4vmgen.app.check import check_file, exit_code
from sel4vmgen.commands import completion
from sel4vmgen.commands.output import emit
from sel4vmgen.diagnostics import Diagnostic, DiagnosticError
from sel4vmgen.plan.model import Plan
from sel4vmgen.sim import trace
from sel4vmgen.sim.explore import Reductions
from sel4vmgen.sim.run import LABELS, MODELS, Options, SimReport, limits_of, simulate
from sel4vmgen.source import Document


def load_plans(target: str, fmt: str) -> tuple[list[Plan], list[Diagnostic], Document | None]:
    """Plans from a generated app folder, or resolved from a system file, the warnings found
    on the way and the file's document (to place findings at their lines); exits on failure."""
    path = Path(target)
    if path.is_dir():
        from sel4vmgen.app.planfile import CorruptPlan, plan_paths, read_plan

        files = plan_paths(path)
        if not files:
            _die(2, f"{target}: no plan.json in this folder (is it a generated application?)")

        plans = []
        for f in files:
            try:
                plans.append(read_plan(f))
            except CorruptPlan as e:
                _die(2, str(e))
        return plans, [], None
    checked = check_file(target)
    if not checked.ok or checked.loaded is None:
        emit(list(checked.diagnostics), fmt)
        raise SystemExit(exit_code([checked]))
    from sel4vmgen.plan.resolution import resolve_all

    try:
        plans = list(resolve_all(checked.loaded))
    except DiagnosticError as e:
        emit(list(e.diagnostics), fmt)
        raise SystemExit(1) from None
    return plans, list(checked.diagnostics), checked.loaded.document


def _die(code: int, message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


@click.command()
@click.argument("target", metavar="FILE|DIR", shell_complete=completion.files)
@click.option("--explore", is_flag=True, help="also explore every interleaving to the bounds")
@click.option(
    "--vmm-model",
    type=click.Choice([m for models in MODELS.values() for m in models]),
    help="the VMM design to run and explore (default: the plan's architecture); x86_split is "
    "the historical two-thread x86 design, kept for comparison",
)
@click.option("--seed", type=click.IntRange(0), help="seed of the timed run (default: the plan's)")
@click.option("--max-states", type=click.IntRange(1), help="exploration bound on states")
@click.option("--max-depth", type=click.IntRange(1), help="exploration bound on depth")
@click.option("--interrupts", type=click.IntRange(1, 16), default=3, show_default=True,
              help="interrupts per VM (per VCPU on ARM) in an exploration")  # fmt: skip
@click.option("--duration-ms", type=click.IntRange(1, 60_000), help="length of the timed run")
@click.option("--spin", multiple=True, metavar="VM", help="this VM's guest busy-loops, tickless")
@click.option("--unchecked-lrs", is_flag=True,
              help="ARM VMM variant: inject without checking the list-register shadow")  # fmt: skip
@click.option("--stale-after-notification", is_flag=True,
              help="x86 VMM variant: decide injection on the last fault exit's RFLAGS after a "
                   "notification exit")  # fmt: skip
@click.option("--suspend-to-stop", is_flag=True,
              help="x86_split variant: suspend the VCPU thread while injecting")  # fmt: skip
@click.option("--no-reduce", is_flag=True,
              help="explore without reductions: the whole system as one, every order of "
                   "independent steps, symmetric components each")  # fmt: skip
@click.option("--require-exhaustive", is_flag=True,
              help="explore, and exit 1 unless every exploration covered its whole state space "
                   "within the bounds")  # fmt: skip
@click.option("--trace", "trace_file", type=click.Path(dir_okay=False, writable=True),
              help="write a Chrome/Perfetto trace (JSON) of the run or counterexample")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)  # fmt: skip
def command(
    target: str,
    explore: bool,
    vmm_model: str | None,
    seed: int | None,
    max_states: int | None,
    max_depth: int | None,
    interrupts: int,
    duration_ms: int | None,
    spin: tuple[str, ...],
    unchecked_lrs: bool,
    stale_after_notification: bool,
    suspend_to_stop: bool,
    no_reduce: bool,
    require_exhaustive: bool,
    trace_file: str | None,
    fmt: str,
) -> None:
    """Run system FILE (or the generated app DIR) in the simulator and report violations."""
    plans, warnings, doc = load_plans(target, fmt)
    if warnings and fmt == "text":
        emit(warnings, fmt)
    reports = []
    for plan in plans:
        _check_spin(plan, spin)
        if vmm_model and vmm_model not in MODELS[plan.arch]:
            _die(2, f"--vmm-model {vmm_model} does not run {plan.arch} guests ({plan.platform})")
        limits = limits_of(plan).show_progress(fmt == "text")
        if max_states:
            limits = limits.states(max_states)
        if max_depth:
            limits = limits.depth(max_depth)
        opts = Options(
            explore=explore or require_exhaustive,
            vmm_model=vmm_model,  # type: ignore[arg-type]
            check_shadow=not unchecked_lrs,
            reread_after_notification=not stale_after_notification,
            stop="suspend" if suspend_to_stop else "none",
            interrupts=interrupts,
            limits=limits,
            reductions=Reductions(False, False, False) if no_reduce else Reductions(),
            scenario={"seed": seed, "duration_ms": duration_ms, "spin": spin or None},
        )
        try:
            reports.append(simulate(plan, opts))
        except ValueError as e:  # a hand-edited plan the models cannot run (e.g. priority 300)
            _die(2, f"{target}: cannot simulate {plan.system} on {plan.platform}: {e}")
    if trace_file:
        _write_trace(reports, trace_file)
    _print(reports, fmt, warnings, doc)
    partial = _not_exhaustive(reports) if require_exhaustive else []
    if partial and fmt == "text":
        click.echo(f"error: --require-exhaustive: not exhaustive: {', '.join(partial)}", err=True)
    raise SystemExit(0 if all(r.ok for r in reports) and not partial else 1)


def _check_spin(plan: Plan, spin: tuple[str, ...]) -> None:
    """Every `--spin` VM must be one of the plan's (by name or instance)."""
    known = [vm.name for vm in plan.vms] + [vm.instance for vm in plan.vms]
    for name in spin:
        if name not in known:
            names = ", ".join(dict.fromkeys(known))
            _die(2, f"--spin {name}: {plan.system} on {plan.platform} has no such VM ({names})")


def _write_trace(reports: list[SimReport], path: str) -> None:
    report = next((r for r in reports if not r.ok), reports[0])
    cex = report.counterexample
    if cex is not None:
        data = trace.chrome_trace_cex(report.model, cex)
    else:
        assert report.timed is not None
        t = report.timed
        end = max((e.time for e in t.log), default=0)
        where = f"{report.system} on {report.platform}: timed run"
        data = trace.chrome_trace_timed(t.log, t.cores, end, t.violations, where)
    from sel4vmgen.safeio import FileProblem, atomic_write

    try:
        atomic_write(Path(path), trace.dumps(data).encode("utf-8"))
    except FileProblem as e:
        _die(2, f"cannot write {path}: {e.detail}")


def _print(rs: list[SimReport], fmt: str, warnings: list[Diagnostic], doc: Document | None) -> None:
    if fmt == "json":
        out = {
            "ok": all(r.ok for r in rs),
            "plans": [r.to_dict() for r in rs],
            "warnings": [w.to_dict() for w in warnings],
        }
        click.echo(json.dumps(out, indent=2, sort_keys=True))
        return
    for r in rs:
        click.echo(_summary(r))
        if not r.ok:
            found: list[Diagnostic] = list(r.diagnostics(doc))
            emit(found, "text")
            if r.trace_text:
                click.echo(r.trace_text)


def _summary(r: SimReport) -> str:
    d = r.to_dict()
    label = LABELS.get(r.vmm_model, f"{r.vmm_model} VMM")
    parts = [f"{r.system} on {r.platform} ({label}):"]
    if "timed" in d:
        t = d["timed"]
        parts.append(
            f"timed run {t['kernel_events']} kernel events, {t['interrupts_taken']} interrupts "
            f"taken, worst latency {t['max_latency_us']} us;"
        )
    if "explored" in d:
        e = d["explored"]
        if not r.ok:
            parts.append(f"explored {e['states']} states to depth {e['max_depth']};")
        elif e["exhaustive"]:
            parts.append(
                f"no violation in {e['states']} states to depth {e['max_depth']}, exhaustive;"
            )
        else:
            hit = e["bounds_reached"]
            bounds = f"{' and '.join(hit)} bound{'s' if len(hit) > 1 else ''}"
            parts.append(
                f"no violation in {e['states']} states, not exhaustive (stopped at the {bounds}, "
                f"depth {e['max_depth']});"
            )
    parts.append("ok" if r.ok else f"{len(r.violations)} violation(s)")
    return " ".join(parts)


def _not_exhaustive(rs: list[SimReport]) -> list[str]:
    """The plans whose exploration stopped at a bound."""
    return [
        f"{r.system} on {r.platform}"
        for r in rs
        if r.explored is not None and not r.explored.complete
    ]
