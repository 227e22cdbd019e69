"""The reference simulator: a kernel model, VMM models, an explorer, and properties.

`simulate(plan, Options(...))` runs the static checks, a timed run and,
when asked, an exploration; `check_plan(plan)` is the quick check that
`generate` runs before writing.  Both return a `SimReport`.
"""

from sel4vmgen.sim.run import Options, SimReport, check_plan, plan_model, simulate

__all__ = ["Options", "SimReport", "check_plan", "plan_model", "simulate"]
