"""Native component rules: CakeML components and components at the end of virtio-net links.

A CakeML component (`cakeml:`) is built by camkes-tool with seL4_tools'
DeclareCakeMLLib, which gives the CakeML compiler a target for x86_64, ARMv7 and ARMv8
only (seL4_tools cmake-tool/helpers/cakeml.cmake @21d3f19, lines 72-83): on ia32 it is
refused (E286).  Only the x86 CAmkES backend declares CakeML components (E287 elsewhere).
Its scripts are HOL theory scripts, `<theory>Script.sml` (Holmake builds a theory from
such a file; CakeMLPP names the theory a library extends after it), and the folders its
HOL build reads must be named by a build variable, since a folder the user has is not
carried into the app (E289).  On x86 a component at the end of a virtio_net link is a
node of camkes-vm's vswitch, whose macros (configurations/connections.h) name the
instance of node n `vm<n>`: it must be named vm<its index> (E288).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.model.system import VirtioNet
from sel4vmgen.rules.arch import on_microkit
from sel4vmgen.rules.context import Ctx, error

SCRIPT_SUFFIX = "Script.sml"


def cakeml_target(ctx: Ctx) -> list[Diagnostic]:
    """E286 a CakeML component on ia32; E287 one the backend of the platform cannot declare."""
    out: list[Diagnostic] = []
    for k, comp in enumerate(ctx.system.components):
        if comp.cakeml is None:
            continue
        where = ctx.key_span("components", k, "cakeml")
        if ctx.system.arch != "x86" or on_microkit(ctx.platform):
            kind = "a Microkit system" if on_microkit(ctx.platform) else f"{ctx.system.arch}"
            out.append(
                error(
                    "E287",
                    f"component {comp.name} is a CakeML component, which sel4vmgen declares "
                    f"only in x86 CAmkES apps, not on {kind}",
                    where,
                    hint="write the component in C (sources:), or build it for x86",
                )
            )
        elif ctx.system.sel4_arch == "ia32":
            out.append(
                error(
                    "E286",
                    f"component {comp.name} is a CakeML component, and the CakeML compiler has "
                    "no ia32 target (seL4's DeclareCakeMLLib builds for x86_64, ARMv7, ARMv8)",
                    where,
                    ctx.span("sel4_arch"),
                    hint="set sel4_arch: x86_64",
                )
            )
    return out


def cakeml_files(ctx: Ctx) -> list[Diagnostic]:
    """E289: a CakeML script not named <theory>Script.sml, or an include folder that is not
    under a build variable."""
    out: list[Diagnostic] = []
    for k, comp in enumerate(ctx.system.components):
        cml = comp.cakeml
        if cml is None:
            continue
        scripts = [("sources", j, s) for j, s in enumerate(cml.sources)]
        scripts += [("libraries", j, s) for j, s in enumerate(cml.libraries)]
        for field, j, script in scripts:
            name = PurePosixPath(script).name
            if not name.endswith(SCRIPT_SUFFIX) or name == SCRIPT_SUFFIX:
                out.append(
                    error(
                        "E289",
                        f"component {comp.name}: CakeML script {name} is not a HOL theory "
                        f"script (<theory>{SCRIPT_SUFFIX})",
                        ctx.span("components", k, "cakeml", field, j),
                        hint=f"name it after its theory, e.g. filter{SCRIPT_SUFFIX}",
                    )
                )
        for j, folder in enumerate(cml.includes):
            if not folder.startswith("${"):
                out.append(
                    error(
                        "E289",
                        f"component {comp.name}: CakeML include folder {folder} is not under a "
                        "build variable; the app does not carry folders of the user's",
                        ctx.span("components", k, "cakeml", "includes", j),
                        hint="name it from the CakeML checkout: ${CAKEMLDIR}/...",
                    )
                )
    return out


def vswitch_names(ctx: Ctx) -> list[Diagnostic]:
    """E288: an x86 component at the end of a virtio_net link not named vm<its index>."""
    if ctx.system.arch != "x86":
        return []
    linked = {
        name for c in ctx.system.connections if isinstance(c, VirtioNet) for name in c.between
    }
    out: list[Diagnostic] = []
    count = len(ctx.system.vms)
    for k, comp in enumerate(ctx.system.components):
        want = f"vm{count + k}"
        if comp.name in linked and comp.name != want:
            out.append(
                error(
                    "E288",
                    f"component {comp.name} ends a virtio_net link, and camkes-vm's "
                    f"connections.h names the instance of vswitch node {count + k} '{want}'",
                    ctx.span("components", k, "name"),
                    hint=f"name it '{want}': components are numbered after the VMs, in the "
                    "order written",
                )
            )
    return out


RULES_ONCE = (cakeml_files, vswitch_names)
RULES = (cakeml_target,)
