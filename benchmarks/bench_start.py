"""The lean start: `validate` and `generate` of an example beside a bare `python -c pass`.

The three commands run in turn, round after round (bare, validate, generate,
bare, ...), so that a drift in the machine's speed touches all three alike;
each figure is the median over the rounds of the command's CPU time (user +
sys, from the kernel's accounting of the finished process) and wall time,
and the ratios are taken round by round against that round's bare start.
The aims: validate within 8x the bare start, generate within 12x.  Byte-code
caching is on (in a temporary PYTHONPYCACHEPREFIX, after a warm-up round).

validate and generate are measured twice: cold (SEL4VMGEN_NO_CACHE=1: validate
loads, validates and runs the rules; generate compiles its templates) and warm (the
caches filled in the warm-up round, in a temporary XDG_CACHE_HOME: validate's result
cache hits, as the example and the tool are unchanged, and generate reads its
compiled templates back); the first is what a user meets on an edited file, the
second on a re-run (a pre-commit hook over unchanged files, an editor's check on focus).

Two floors are measured in the same rounds, to say how much of a figure is
the libraries' own start rather than sel4vmgen's: "validate's libraries"
imports what validate cannot do without (click, ruamel.yaml, pydantic) and
validates one one-field pydantic model, so pydantic builds a schema and loads
its plugin machinery as it does for the system model; "generate's libraries"
adds Jinja2 and its sandbox and compiles one template.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 15
EXAMPLE = ROOT / "examples" / "minimal.yaml"
AIMS = {
    "validate, cold": 8.0,
    "validate, warm": 8.0,
    "generate, cold": 12.0,
    "generate, warm": 12.0,
}
# What the command line does before anything else (cli.main): no pydantic plugin look-up.
PLUGINS_OFF = "from sel4vmgen.cli import no_pydantic_plugins\nno_pydantic_plugins()\n"
VALIDATE_LIBRARIES = (
    PLUGINS_OFF + "import click, ruamel.yaml\n"
    "from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator\n"
    "class One(BaseModel):\n    x: int = Field(ge=0)\n"
    "One.model_validate({'x': 1})\n"
)
GENERATE_LIBRARIES = (
    VALIDATE_LIBRARIES + "import jinja2\nfrom jinja2.sandbox import ImmutableSandboxedEnvironment\n"
    "ImmutableSandboxedEnvironment().from_string('{% for x in xs %}{{ x }}{% endfor %}')\n"
)


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(cpu seconds, wall seconds, exit status) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, wall, proc.returncode


COLD = {"SEL4VMGEN_NO_CACHE": "1"}


def commands(out: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each measured command: its argv and what it adds to the environment."""
    cli = [sys.executable, "-m", "sel4vmgen"]
    generate = [*cli, "generate", str(EXAMPLE), "-o", str(out), "--force"]
    return {
        "python -c pass": ([sys.executable, "-c", "pass"], {}),
        "validate's libraries": ([sys.executable, "-c", VALIDATE_LIBRARIES], {}),
        "validate, cold": ([*cli, "validate", str(EXAMPLE)], COLD),
        "validate, warm": ([*cli, "validate", str(EXAMPLE)], {}),
        "generate's libraries": ([sys.executable, "-c", GENERATE_LIBRARIES], {}),
        "generate, cold": (generate, COLD),
        "generate, warm": (generate, {}),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours = ("PYTHONDONTWRITEBYTECODE", "SEL4VMGEN_NO_CACHE")
        env = {k: v for k, v in os.environ.items() if k not in ours}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        env["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        argvs = commands(Path(tmp) / "app")
        for argv, extra in argvs.values():  # warm-up: byte-code, the app, the caches written
            _run(argv, {**env, **extra})
        runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in argvs}
        for _ in range(ROUNDS):
            for name, (argv, extra) in argvs.items():
                runs[name].append(_run(argv, {**env, **extra}))
    report(runs)


def report(runs: dict[str, list[tuple[float, float, int]]]) -> None:
    bare = runs["python -c pass"]
    print(f"   {EXAMPLE.relative_to(ROOT)}, median of {ROUNDS} interleaved rounds")
    print(f"   {'command':<22} {'cpu ms':>8} {'wall ms':>8} {'cpu x':>7} {'wall x':>7} {'aim':>5}")
    for name, rows in runs.items():
        cpu = statistics.median(r[0] for r in rows) * 1000
        wall = statistics.median(r[1] for r in rows) * 1000
        cpu_x = statistics.median(r[0] / max(b[0], 1e-6) for r, b in zip(rows, bare, strict=True))
        wall_x = statistics.median(r[1] / b[1] for r, b in zip(rows, bare, strict=True))
        aim = f"{AIMS[name]:.0f}x" if name in AIMS else ""
        codes = {r[2] for r in rows}
        flag = "" if codes == {0} else f"  exit {sorted(codes)}"
        print(f"   {name:<22} {cpu:>8.1f} {wall:>8.1f} {cpu_x:>7.1f} {wall_x:>7.1f} {aim:>5}{flag}")


if __name__ == "__main__":
    main()
