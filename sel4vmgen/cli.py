"""The command line: a click group whose subcommands are imported only when run.

Each subcommand lives in `sel4vmgen/commands/<name>.py` and exports
`command`.  Keeping the group lazy keeps `sel4vmgen validate` quick to start.
Exit codes: 0 ok, 1 the configuration has errors (or a simulation found a
violation), 2 usage error or unreadable input.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Any

import click

COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("sel4vmgen.commands.validate", "check system files and report every problem"),
    "schema": ("sel4vmgen.commands.schema", "print the JSON Schema of the system format"),
    "explain": ("sel4vmgen.commands.explain", "say what a diagnostic code means, with an example"),
    "platforms": ("sel4vmgen.commands.platforms", "list supported platforms and their facts"),
    "plan": ("sel4vmgen.commands.plan", "print the resolved plan of a system as JSON"),
    "generate": ("sel4vmgen.commands.generate", "write the CAmkES VM application"),
    "simulate": ("sel4vmgen.commands.simulate", "run a system in the reference simulator"),
    "graph": ("sel4vmgen.commands.graph", "draw the system (DOT, SVG or PNG)"),
    "new-guest": ("sel4vmgen.commands.new_guest", "scaffold a new guest with cookiecutter"),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        try:
            module = importlib.import_module(entry[0])
        except ModuleNotFoundError:
            return None
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """`--version`: the package's version (read only when asked for)."""
    if not value or ctx.resilient_parsing:
        return
    from sel4vmgen.version import version

    click.echo(f"sel4vmgen, version {version()}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """sel4vmgen: one YAML file to a checked, simulated seL4 CAmkES VMM application."""


# pydantic's plugin loader (pydantic/plugin/_loader.py); `get_plugins` is the one name
# pydantic takes from it (pydantic/plugin/_schema_validator.py, tests/test_layers.py checks).
PLUGIN_LOADER = "pydantic.plugin._loader"


def no_pydantic_plugins() -> None:
    """The command line uses no pydantic plugin: it says so to pydantic, and stands in for
    pydantic's plugin loader with one that finds none, as the real one does when told so.
    The real one imports `importlib.metadata` (email, zipfile, ...) only to be told: a
    fifth of validate's start.  Nothing is replaced once pydantic has loaded its own."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] != "__all__" or PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(PLUGIN_LOADER, "No pydantic plugins (sel4vmgen.cli).")
    loader.get_plugins = tuple  # type: ignore[attr-defined]
    setattr(loader, "__getattr__", _real_plugin_loader)  # noqa: B010 (a module's own hook)
    sys.modules[PLUGIN_LOADER] = loader


def _real_plugin_loader(name: str) -> object:
    """Anything else a pydantic release asks of its loader comes from the real one, so a
    pydantic that needs more than `get_plugins` still works (only slower to start); the
    import machinery's own questions (`__path__`, ...) are answered as for any module."""
    if name.startswith("__"):
        raise AttributeError(name)
    del sys.modules[PLUGIN_LOADER]
    return getattr(importlib.import_module(PLUGIN_LOADER), name)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point; click turns usage errors into exit code 2."""
    no_pydantic_plugins()
    try:
        return cli.main(args=argv, prog_name="sel4vmgen")
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
