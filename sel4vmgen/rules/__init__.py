"""Cross-field rules over a validated system: everything that relates several fields.

`check(loaded)` runs every rule and returns every problem found, errors
(E2xx) and warnings (W2xx), each pointing at the place it concerns and, when
two places conflict, at the other one too.  Rules that depend on a platform
run once for each platform the system names, on the VMs as they are on that
platform (`Vm.on`); the others run once.  Each rule is a small function of a
`Ctx` in one of these modules; the codes are listed in `codes/rules.py`:

    names    unique names, clear of the generated CAmkES instances and types
    arch     platform fit, VCPUs and nodes, ARM priorities, x86 IOMMU domains
    fields   fields of the other architecture, kernel images the arch cannot boot
    options  kernel_options names
    memory   guest RAM and passthrough windows: platform, alignment, overlaps
    images   kernel, initrd and DTB inside guest RAM and apart
    irqs     IRQ owners, reserved and virtual-device IRQs
    ports    x86 IO ports and PCI functions
    links    connections, and what is declared but not used
    components  CakeML components and components at the end of virtio-net links
    strings  text the generated app cannot hold (CAmkES strings, CMake arguments)
    microkit the framework of each platform; the Microkit tool's checks
    microkit_virtio  what the sDDF subsystems behind Microkit virtio devices carry
    files    guest images and component sources: regular files the build can use
    target   what seL4 and camkes-vm cannot mean: repeated IRQs or platforms, sizes
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.model import Loaded
from sel4vmgen.platforms.model import Platform
from sel4vmgen.rules import (
    arch,
    components,
    fields,
    files,
    images,
    irqs,
    links,
    memory,
    microkit,
    microkit_virtio,
    names,
    options,
    platform_facts,
    ports,
    strings,
    target,
)
from sel4vmgen.rules.context import Ctx, Rule, error
from sel4vmgen.text import did_you_mean

ONCE: tuple[Rule, ...] = (
    *names.RULES,
    *arch.RULES_ONCE,
    *fields.RULES_ONCE,
    *options.RULES_ONCE,
    *links.RULES_ONCE,
    *components.RULES_ONCE,
    *strings.RULES_ONCE,
    *microkit.RULES_ONCE,
    *files.RULES_ONCE,
    *target.RULES_ONCE,
)
PER_PLATFORM: tuple[Rule, ...] = (
    *names.RULES_PER_PLATFORM,
    *arch.RULES,
    *fields.RULES,
    *memory.RULES,
    *images.RULES,
    *irqs.RULES,
    *ports.RULES,
    *platform_facts.RULES,
    *links.RULES,
    *components.RULES,
    *strings.RULES,
    *microkit.RULES,
    *microkit_virtio.RULES,
    *files.RULES,
    *target.RULES,
)

Lookup = Callable[[str], Platform | None]


def check(loaded: Loaded, platforms: Mapping[str, Platform] | None = None) -> list[Diagnostic]:
    """Every problem that relates several fields, or a field and the platform.

    `platforms` replaces the platform database (name -> Platform): tests and benchmarks.
    """
    system, doc = loaded.system, loaded.document
    base = loaded.base_dir
    found: list[Diagnostic] = []
    once = Ctx.build(system, doc, base, "", None)
    for rule in ONCE:
        found += rule(once)
    known, lookup = _database(platforms)
    for k, name in enumerate(system.platforms):
        platform = lookup(name) if name in known else None
        if platform is None:
            found.append(_unknown_platform(once, name, k, known))
        ctx = Ctx.build(system, doc, base, name, platform)
        if platform is not None and not arch.fits(system, platform):
            found += arch.FIT(ctx)  # and the platform's facts say nothing about this system
            ctx = Ctx.build(system, doc, base, name, None)
        for rule in PER_PLATFORM:
            found += rule(ctx)
    return list(dict.fromkeys(found))


def _database(platforms: Mapping[str, Platform] | None) -> tuple[list[str], Lookup]:
    if platforms is not None:
        return sorted(platforms), platforms.get
    from sel4vmgen import platforms as db

    return sorted(db.names()), db.load


def _unknown_platform(ctx: Ctx, name: str, k: int, known: list[str]) -> Diagnostic:
    single = isinstance(ctx.system.platform, str)
    where = ctx.span("platform") if single else ctx.span("platform", k)
    return error(
        "E204",
        f"unknown platform '{name}' (known: {', '.join(known)})",
        where,
        hint=did_you_mean(name, known),
    )
