"""Shared test helpers: where the examples and fixtures are, and running the CLI in-process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
