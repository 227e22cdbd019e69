"""Shared test helpers: where the examples and fixtures are, and running the CLI in-process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# validate's result cache stays off in the tests (and in what they start), so that no run
# writes to the user's cache or is answered from it; tests/test_result_cache.py turns it on.
os.environ["SEL4VMGEN_NO_CACHE"] = "1"


@dataclass(frozen=True)
class Run:
    """The outcome of one command-line run."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> Run:
    """Run `sel4vmgen ARGS...` in-process; never lets an exception escape unnoticed."""
    from sel4vmgen.cli import cli

    result = CliRunner().invoke(cli, list(args), prog_name="sel4vmgen")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli() -> Callable[..., Run]:
    return run_cli


Writer = Callable[[str, str | bytes], Path]


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write a file under tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


MINIMAL_X86 = """\
name: sys
arch: x86
sel4_arch: ia32
platform: pc99
vms:
  - name: vm0
    ram:
      size: 128MiB
    kernel:
      image: images/bzimage
"""


# ---------------------------------------------------------------- skips


def in_ci() -> bool:
    """Whether this run is CI's (`CI` set, as CI services and `.ci/run`'s caller set it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skipped test fails, saying why it skipped: CI installs every tool a test needs
    (README.md, "System packages"), so a skip there is a missing install step."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = str(reason).removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """After the run, one line on how to run the tests that skipped for want of a tool."""
    skipped = len(terminalreporter.stats.get("skipped", []))
    if skipped:
        terminalreporter.write_line(
            f"{skipped} test(s) skipped, each for the reason the summary gives: install the packages "
            "README.md lists under 'System packages' to run them"
        )
