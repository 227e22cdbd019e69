"""`sel4vmgen new-guest [NAME]`: scaffold a guest folder from the cookiecutter template.

Asks the questions of `templates/new-guest/cookiecutter.json` (defaults from the
platform database once the platform is known), or takes them from `--set
key=value` with `--no-input`.  Each answer is checked as it is given, with
`validate`'s diagnostics for what it fills (`answers`); a refused answer is asked
again and the others are kept.  The result is checked exactly as `validate`
checks a file; on errors the diagnostics are printed, nothing is written and
the exit code is 1.
"""

from __future__ import annotations

from pathlib import Path

import click

from sel4vmgen import scaffold
from sel4vmgen.diagnostics import summary_line


def _parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{item}' is not key=value", param_hint="--set")
        out[key.strip()] = value
    return out


def _prompt(key: str, answers: dict[str, str], output_dir: Path) -> str:
    """Ask one question until its answer passes `validate`'s checks of what it fills."""
    from sel4vmgen.commands.answers import AnswerType

    q = next(q for q in scaffold.questions() if q.key == key)
    allowed = scaffold.choices(key, answers)
    shown = f"{q.prompt} ({', '.join(allowed)})" if allowed else q.prompt
    others = {k: v for k, v in answers.items() if k != key}
    kind = AnswerType(key, others, output_dir)
    answer: str = click.prompt(shown, default=scaffold.default(key, others), type=kind)
    return answer


def _ask(given: dict[str, str], output_dir: Path) -> dict[str, str]:
    """Prompt for every question not given, in the template's order, each answer checked
    as it is given; then ask again only the questions whose answers the whole guest still
    finds fault with (a --set answer, or one a later answer made wrong)."""
    from sel4vmgen.commands.answers import one_line, problems

    answers = dict(given)
    if "platform" in answers and "arch" not in answers:
        answers["arch"] = scaffold.default("arch", answers)
    for q in scaffold.questions():
        if q.key not in answers:
            answers[q.key] = _prompt(q.key, answers, output_dir)
    order = [q.key for q in scaffold.questions()]
    while True:
        found = problems(answers, output_dir)
        wrong = [k for k in order if found.get(k)]
        if not wrong:
            return answers
        for d in found[wrong[0]]:
            click.echo(one_line(d), err=True)
        answers[wrong[0]] = _prompt(wrong[0], answers, output_dir)


@click.command()
@click.argument("name", required=False)
@click.option("--no-input", is_flag=True, help="ask nothing; use --set values and defaults")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="answer a question (name, arch, platform, os, vcpus, ram, console, passthrough; "
    "also cmdline, system, schema); repeatable",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="folder to create the guest folder in",
)
def command(name: str | None, no_input: bool, sets: tuple[str, ...], output_dir: Path) -> None:
    """Create a guest folder (guest.yaml, system.yaml, README.md, overlay or cmdline)."""
    given = _parse_sets(sets)
    if name is not None:
        given["name"] = name
    unknown = sorted(set(given) - set(scaffold.known_keys()))
    if unknown:
        raise click.BadParameter(
            f"unknown key '{unknown[0]}' (known: {', '.join(scaffold.known_keys())})",
            param_hint="--set",
        )
    answers = given if no_input else _ask(given, output_dir)
    try:
        result = scaffold.scaffold(answers, output_dir)
    except scaffold.ScaffoldError as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
    if result.rendered:
        click.echo(result.rendered, err=True)
    if result.folder is None:
        click.echo(summary_line(result.diagnostics, 1), err=True)
        click.echo("new-guest: nothing written", err=True)
        raise SystemExit(1)
    click.echo(f"created {result.folder}/: {', '.join(result.files)}")
