"""The resolved Plan: frozen dataclasses (`plan.model`) and `resolve` / `resolve_all`.

`resolve`, `resolve_all` and `PlanError` live in `plan.resolution` and are
reached from here on first use, so that importing `plan.model` (what the
simulator and the plan.json reader need) loads no resolver.  The plan modules
import the platform database only for type checking, so that
`sel4vmgen.platforms` can be imported first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sel4vmgen.plan.resolution import PlanError, resolve, resolve_all

__all__ = ["PlanError", "resolve", "resolve_all"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sel4vmgen.plan import resolution

        return getattr(resolution, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
