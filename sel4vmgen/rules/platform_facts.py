"""Settings the system needs that the platform's data file does not give.

sel4vmgen writes every CMake setting of an app from the platform data or from the system;
where the data is silent about something the system needs, the system is refused here
(so `validate` reports it) rather than generated with the setting missing.
"""

from __future__ import annotations

from collections.abc import Callable

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.model.system import Vm
from sel4vmgen.rules.context import Ctx, error


def _first_vm(
    ctx: Ctx, code: str, key: tuple[str, ...], uses: Callable[[Vm], bool], message: str, hint: str
) -> list[Diagnostic]:
    """`code` at the first VM that `uses` what the platform data is silent about, at its
    `key`; `{vm}` and `{platform}` in the message and hint are the names."""
    p = ctx.platform
    for i, vm in ctx.vm_indices():
        if p is not None and uses(vm):
            names = {"vm": vm.name, "platform": p.name}
            where = ctx.key_at(i, *key)
            return [error(code, message.format(**names), where, hint=hint.format(**names))]
    return []


def time_server_options(ctx: Ctx) -> list[Diagnostic]:
    """E249: an ARM VM with a virtio console brings a TimeServer (camkes-vm's
    VM_VIRTUAL_SERIAL_COMPOSITION_DEF), whose kernel timer options must be known."""
    p = ctx.platform
    if p is None or p.framework != "camkes" or p.arch != "arm" or p.time_server_options is not None:
        return []
    return _first_vm(
        ctx,
        "E249",
        ("virtio", "console"),
        lambda vm: vm.virtio is not None and vm.virtio.console,
        "{vm}'s virtio console needs a TimeServer, and the platform data of {platform} does "
        "not say which kernel timer options a TimeServer needs there",
        "add `time_server_options` to the {platform} platform data file (an empty list when "
        "it needs none), or drop the virtio console",
    )


def smmu_options(ctx: Ctx) -> list[Diagnostic]:
    """E250: a VM given SMMU module ids on a platform whose data does not say which kernel
    options give guests its SMMU (tk1: KernelTk1SMMU, camkes-vm-examples vm_minimal)."""
    p = ctx.platform
    if p is None or p.framework != "camkes" or p.smmu_options is not None:
        return []
    return _first_vm(
        ctx,
        "E250",
        ("passthrough", "smmu"),
        lambda vm: vm.passthrough is not None and bool(vm.passthrough.smmu),
        "{vm} is given SMMU module ids, and the platform data of {platform} does not say "
        "which kernel options give guests its SMMU",
        "add `smmu_options` to the {platform} platform data file, or drop passthrough.smmu",
    )


def required_options(ctx: Ctx) -> list[Diagnostic]:
    """E251: an option the platform's apps must choose (zcu102's Petalinux release) that the
    system does not set in `platform_options`, or sets to a value the platform does not take."""
    p = ctx.platform
    if p is None or p.framework != "camkes" or not p.required_options:
        return []
    written = ctx.system.platform_options.get(p.name, {})
    out: list[Diagnostic] = []
    for name, values in p.required_options:
        choices = ", ".join(values)
        if name not in written:
            plat = ctx.system.platform
            where = (
                ctx.key_span("platform_options", p.name)
                if p.name in ctx.system.platform_options
                else ctx.span("platform")
                if isinstance(plat, str)
                else ctx.span("platform", plat.index(p.name))
            )
            out.append(
                error(
                    "E251",
                    f"platform {p.name} needs {name} chosen: sel4vmgen cannot tell it from "
                    "the system",
                    where,
                    hint=f"add `platform_options: {{{p.name}: {{{name}: ...}}}}` with one of "
                    f"{choices}",
                )
            )
        elif str(written[name]) not in values:
            out.append(
                error(
                    "E251",
                    f"{name} is {written[name]!r}; platform {p.name} takes {choices}",
                    ctx.span("platform_options", p.name, name),
                    hint=f"write one of {choices}",
                )
            )
    return out


RULES = (time_server_options, smmu_options, required_options)
