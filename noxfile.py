"""Developer sessions: tests, lint, typecheck and benchmarks."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite against an installed copy of the package."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "sel4vmgen", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "sel4vmgen", "tests", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[typecheck]")
    session.run("mypy", "--strict", "sel4vmgen")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed and scale figures; prints a table, asserts nothing about time."""
    session.install("-e", ".")
    session.run("python", "benchmarks/run.py", *session.posargs)
