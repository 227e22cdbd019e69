"""The pipeline runs one way: no module imports a stage above it.

Every module of the package is read (statically, with `ast`: top-level,
function-level and type-checking imports alike, and module names written as
strings for `importlib`), and each arrow between two top-level parts of the
package must point down the ranks below.  Parts of one rank (render, sim,
graph) do not import each other.  `ALLOWED` lists the exceptions, each with
its reason; it is empty.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sel4vmgen"

# Lower ranks are imported by higher ones, never the other way round.
RANKS: dict[str, int] = {
    "version": 0,  # the package's version, from its metadata
    "text": 0,  # shortening text for messages
    "codes": 0,  # the codes' tables: plain data
    "units": 0,  # sizes: MIB, PAGE
    "defaults": 0,  # choices more than one stage must know
    "safeio": 1,  # reading and writing files safely
    "facts": 1,  # what seL4, Linux's arm64 boot protocol and libsel4vm fix (in units)
    "diagnostics": 2,
    "source": 3,  # YAML with positions
    "codec": 3,  # dataclasses to JSON and back
    "model": 4,  # System: what the user wrote
    "platforms": 4,  # platform facts, from data files
    "rules": 5,  # cross-field rules on a System
    "jsonschema": 5,  # the JSON Schemas editors use: the models, with the platforms' names
    "plan": 6,  # resolve: System -> Plan
    "render": 7,  # Plan -> {path: text}
    "sim": 7,  # Plan -> findings
    "graph": 7,  # Plan -> pictures
    "app": 8,  # orchestration, plan.json, writing
    "scaffold": 9,  # new-guest, which checks what it wrote through app
    "commands": 10,
    "cli": 11,
    "__main__": 12,
    "": 12,  # the package's facade, sel4vmgen/__init__.py
}

# (importer, imported) arrows allowed against the ranks, each with its reason.
ALLOWED: dict[tuple[str, str], str] = {}

MODULE_NAME = re.compile(r"sel4vmgen(\.[A-Za-z_]\w*)+")


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, here: str) -> set[str]:
    """Every sel4vmgen module `tree` imports or names as a string."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package
                pkg = here.split(".")[: len(here.split(".")) - node.level]
                base = ".".join([*pkg, *([base] if base else [])])
            if base == "sel4vmgen":  # `from sel4vmgen import x`: x is a module or the facade's
                found.update(
                    f"sel4vmgen.{a.name}" if f"sel4vmgen.{a.name}" in _all() else base
                    for a in node.names
                )
            else:
                found.add(base)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and MODULE_NAME.fullmatch(node.value)
        ):
            found.add(node.value)
    return {m for m in found if m == "sel4vmgen" or m.startswith("sel4vmgen.")}


_MODULES: dict[str, Path] = {}


def _all() -> dict[str, Path]:
    if not _MODULES:
        _MODULES.update({_module(p): p for p in sorted(PACKAGE.rglob("*.py"))})
    return _MODULES


def _part(module: str) -> str:
    """The top-level part of the package a module belongs to ('' for the facade)."""
    return module.split(".")[1] if "." in module else ""


def _arrows() -> list[tuple[str, str]]:
    out = []
    for name, path in _all().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        out += [(name, target) for target in sorted(_imported(tree, name))]
    return out


def test_every_part_of_the_package_has_a_rank() -> None:
    parts = {_part(m) for m in _all()}
    assert parts - RANKS.keys() == set(), "give each new part of the package its rank in RANKS"


def test_no_module_imports_a_stage_above_or_beside_it() -> None:
    back = []
    for importer, imported in _arrows():
        a, b = _part(importer), _part(imported)
        if a == b or (importer, imported) in ALLOWED:
            continue
        if RANKS.get(b, 99) >= RANKS.get(a, -1):
            back.append(f"{importer} -> {imported}")
    assert back == []


def test_the_walk_sees_lazy_and_string_imports() -> None:
    """The walk is not blind to what the rule is about: an import inside a function and a module
    named for importlib are arrows too."""
    tree = ast.parse(
        "def f():\n    from sel4vmgen.sim import run\n"
        "BACKENDS = {'x': 'sel4vmgen.render.x86'}\n"
        "from sel4vmgen import __version__\n"
    )
    got = _imported(tree, "sel4vmgen.plan.x")
    assert got == {"sel4vmgen.sim", "sel4vmgen.render.x86", "sel4vmgen"}


def _loaded_by(code: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(run.stdout.split())


def test_the_registry_of_codes_loads_no_stage() -> None:
    loaded = _loaded_by("from sel4vmgen.codes import all_codes\nassert len(all_codes()) > 100")
    ours = {m for m in loaded if m.startswith("sel4vmgen")}
    assert ours == {m for m in ours if m == "sel4vmgen" or m.startswith("sel4vmgen.codes")}


@pytest.mark.parametrize("fmt", ["text", "sarif"])
def test_validate_loads_no_stage_after_the_rules(fmt: str) -> None:
    """The rules are the one place input is refused: validate resolves, renders and
    simulates nothing, and loads none of it."""
    example = PACKAGE.parent / "examples" / "minimal.yaml"
    loaded = _loaded_by(
        "from sel4vmgen.cli import main\n"
        f"try:\n    main(['validate', '--format', {fmt!r}, {str(example)!r}])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code"
    )
    heavy = {
        "jinja2",
        "cookiecutter",
        "sdfgen",
        "fdt",
        *(f"sel4vmgen.{s}" for s in ("plan", "render", "sim", "graph")),
    }
    assert loaded & heavy == set()
    if fmt == "text":  # no entry point look-up: the plugin loader's stand-in (cli.py)
        assert "importlib.metadata" not in loaded


def test_the_plugin_loader_stand_in_gives_way_to_the_real_one_for_anything_else() -> None:
    """cli.no_pydantic_plugins stands in for pydantic's plugin loader with `get_plugins`; a
    pydantic that asks its loader for more gets the real loader, not an ImportError."""
    code = (
        "import sys\n"
        "from sel4vmgen.cli import PLUGIN_LOADER, no_pydantic_plugins\n"
        "no_pydantic_plugins()\n"
        "from pydantic.plugin._loader import get_plugins\n"
        "assert get_plugins() == ()\n"
        "from pydantic.plugin._loader import _plugins\n"
        "assert sys.modules[PLUGIN_LOADER].__file__.endswith('_loader.py')\n"
        "import pydantic\n"
        "class M(pydantic.BaseModel):\n"
        "    x: int\n"
        "assert M(x=1).x == 1\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("module", ["sel4vmgen.plan.model", "sel4vmgen.app.planfile"])
def test_the_plan_model_loads_no_resolver(module: str) -> None:
    """Reading a plan (the simulator, graph, plan.json) needs its dataclasses, not the
    resolver that makes plans nor the system model it reads."""
    loaded = _loaded_by(f"import {module}")
    assert module in loaded
    heavy = {"sel4vmgen.plan.resolution", "sel4vmgen.model", "sel4vmgen.rules", "pydantic"}
    assert loaded & heavy == set()
