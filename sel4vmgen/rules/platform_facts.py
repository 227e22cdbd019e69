"""Settings the system needs that the platform's data file does not give.

sel4vmgen writes every CMake setting of an app from the platform data or from the system;
where the data is silent about something the system needs, the system is refused here
(so `validate` reports it) rather than generated with the setting missing.
"""

from __future__ import annotations

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.rules.context import Ctx, error


def time_server_options(ctx: Ctx) -> list[Diagnostic]:
    """E249: an ARM VM with a virtio console brings a TimeServer (camkes-vm's
    VM_VIRTUAL_SERIAL_COMPOSITION_DEF), whose kernel timer options must be known."""
    p = ctx.platform
    if p is None or p.framework != "camkes" or p.arch != "arm" or p.time_server_options is not None:
        return []
    for i, vm in ctx.vm_indices():
        if vm.virtio is not None and vm.virtio.console:
            return [
                error(
                    "E249",
                    f"{vm.name}'s virtio console needs a TimeServer, and the platform data "
                    f"of {p.name} does not say which kernel timer options a TimeServer "
                    "needs there",
                    ctx.key_at(i, "virtio", "console"),
                    hint=f"add `time_server_options` to the {p.name} platform data file "
                    "(an empty list when it needs none), or drop the virtio console",
                )
            ]
    return []


RULES = (time_server_options,)
