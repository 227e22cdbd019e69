"""Pictures of a system from its Plan: DOT text, and SVG/PNG through Graphviz `dot`.

`system_dot(plan)` draws VMs, threads, components, connections, devices and
IRQ routes; `memory_dot(plan)` draws each VM's guest-physical memory map to
scale (its nodes are pinned and the graph asks for the `neato` layout, which
`dot` obeys).  `render(dot_text, fmt)` runs the Graphviz `dot` program (no
shell) and raises `GraphvizMissing` when it is not installed.
"""

from __future__ import annotations

import shutil
import subprocess

from sel4vmgen.graph.memory import memory_graph
from sel4vmgen.graph.system import system_graph
from sel4vmgen.plan.model import Plan

__all__ = ["FORMATS", "GraphvizError", "GraphvizMissing", "memory_dot", "render", "system_dot"]

FORMATS = ("dot", "svg", "png")


class GraphvizMissing(RuntimeError):
    """The `dot` program is not on PATH."""


class GraphvizError(RuntimeError):
    """`dot` ran and failed."""


def system_dot(plan: Plan) -> str:
    return system_graph(plan).text()


def memory_dot(plan: Plan) -> str:
    return memory_graph(plan).text()


def render(dot_text: str, fmt: str) -> bytes:
    """DOT source -> `fmt` (svg or png) bytes via `dot -T<fmt>`."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"cannot render {fmt!r}")
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing("the Graphviz `dot` program is not installed")
    done = subprocess.run(
        [program, f"-T{fmt}"],
        input=dot_text.encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise GraphvizError(f"dot failed ({done.returncode}): {message}")
    return done.stdout
