"""The resolved Plan: frozen dataclasses (`plan.model`) and `resolve` / `resolve_all`.

`sel4vmgen.plan.resolve` is the function (the module of the same name is
reached as `sel4vmgen.plan.resolve` only through `sys.modules`/`from ... import`).
The plan modules import the platform database only for type checking, so that
`sel4vmgen.platforms` can be imported first.
"""

from __future__ import annotations

from sel4vmgen.plan.resolve import PlanError, resolve, resolve_all

__all__ = ["PlanError", "resolve", "resolve_all"]
