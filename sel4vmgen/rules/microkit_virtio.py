"""Rules of virtio devices on Microkit boards: what the sDDF subsystems behind them
(plan/microkit_sddf.py, libvmm 0.2.0 examples/virtio_mmio/meta.py) can carry.

    E273 virtio on a Microkit board with no sDDF subsystems for it (x86: virtio-PCI)
    E274 virtio devices on a second VM (the subsystems are the example's, one client each)
    E275 a VM given a host device the sDDF driver behind a virtio device drives
    E276 a virtio-blk disk of more than one partition (one partition per sDDF blk client)
    E277 virtio devices on a Microkit board where the sdfgen package is not installed
"""

from __future__ import annotations

import importlib.util

from sel4vmgen.diagnostics import Diagnostic
from sel4vmgen.model.system import Vm
from sel4vmgen.rules.arch import on_microkit
from sel4vmgen.rules.context import Ctx, error
from sel4vmgen.rules.microkit import devices_of

# libvmm 0.2.0 (7069ab9) examples/virtio_mmio/meta.py asserts sdfgen's minor version 35;
# pyproject.toml pins the same release
SDFGEN_VERSION = "0.35.1"


def _virtio_vms(ctx: Ctx) -> list[tuple[int, Vm]]:
    return [(i, vm) for i, vm in ctx.vm_indices() if vm.virtio is not None]


def _asks(vm: Vm) -> bool:
    v = vm.virtio
    return v is not None and (v.console or v.net or v.blk is not None)


def sddf_board(ctx: Ctx) -> list[Diagnostic]:
    """E273: virtio devices on a Microkit board with no sDDF facts."""
    p = ctx.platform
    if not on_microkit(p) or p is None or (p.microkit is not None and p.microkit.sddf):
        return []
    return [
        error(
            "E273",
            f"{vm.name}: virtio devices are not generated for Microkit board {p.name} "
            "(libvmm serves them there from sDDF subsystems sel4vmgen has no facts of)",
            ctx.key_at(i, "virtio"),
            hint="drop virtio, or use qemu_virt_aarch64 (libvmm's examples/virtio_mmio)",
        )
        for i, vm in _virtio_vms(ctx)
        if _asks(vm)
    ]


def one_client(ctx: Ctx) -> list[Diagnostic]:
    """E274: the sDDF subsystems are generated with one client, as in the example."""
    if not on_microkit(ctx.platform):
        return []
    asking = [(i, vm) for i, vm in _virtio_vms(ctx) if _asks(vm)]
    if len(asking) < 2:
        return []
    first = asking[0][1].name
    return [
        error(
            "E274",
            f"{vm.name}: virtio devices are generated for one VM of a Microkit system, "
            f"and {first} has them (the sDDF virtualisers serve one client here)",
            ctx.key_at(i, "virtio"),
            ctx.key_at(asking[0][0], "virtio"),
        )
        for i, vm in asking[1:]
    ]


def driven_device(ctx: Ctx) -> list[Diagnostic]:
    """E275: a VM given a host device that the sDDF driver behind a virtio device (its own
    or another VM's) drives: the driver maps its registers and takes its IRQ, and the tool
    refuses a second claim."""
    p = ctx.platform
    facts = p.microkit.sddf if p is not None and p.microkit is not None else None
    if not on_microkit(p) or facts is None:
        return []
    devices = {"console": facts.serial, "blk": facts.blk, "net": facts.net}
    served: list[tuple[int, Vm, str]] = []
    for i, vm in _virtio_vms(ctx):
        v = vm.virtio
        assert v is not None
        wanted = {"console": v.console, "blk": v.blk is not None, "net": v.net}
        served += [(i, vm, k) for k in devices if wanted[k]]
    out: list[Diagnostic] = []
    for j, other in ctx.vm_indices():
        paths, default = devices_of(ctx, other)
        for i, vm, kind in served:
            node = f"/{devices[kind].node}"
            if node not in paths:
                continue
            whose = "its" if i == j else f"{vm.name}'s"
            given = "by default " if default else ""
            out.append(
                error(
                    "E275",
                    f"{other.name} is given {node} {given}and {whose} virtio {kind} is served "
                    f"by the sDDF driver of that device",
                    ctx.key_at(i, "virtio", kind),
                    (
                        ctx.key_span("vms", j, "name")
                        if default
                        else ctx.at(j, "passthrough", "devices")
                    )
                    if i != j or not default
                    else None,
                    hint="write passthrough: {devices: []}" if default else f"drop {node}",
                )
            )
    return out


def one_partition(ctx: Ctx) -> list[Diagnostic]:
    """E276: an sDDF blk client sees one partition of the disk."""
    if not on_microkit(ctx.platform):
        return []
    return [
        error(
            "E276",
            f"{vm.name}: a Microkit virtio-blk disk is one partition of the sDDF disk, "
            f"not {len(vm.virtio.blk.partitions)}",
            ctx.at(i, "virtio", "blk", "partitions"),
            hint=f"keep one: partitions: [{vm.virtio.blk.partitions[0]}]",
        )
        for i, vm in _virtio_vms(ctx)
        if vm.virtio is not None and vm.virtio.blk is not None and len(vm.virtio.blk.partitions) > 1
    ]


def sdfgen_installed(ctx: Ctx) -> list[Diagnostic]:
    """E277: the configuration data of the sDDF subsystems is serialised by sdfgen
    (render/microkit_sddf.py), an optional dependency where PyPI has no build of it."""
    if not on_microkit(ctx.platform) or importlib.util.find_spec("sdfgen") is not None:
        return []
    return [
        error(
            "E277",
            f"{vm.name}: virtio devices on a Microkit board need the sdfgen package "
            f"{SDFGEN_VERSION}, which serialises their sDDF configuration, and it is not "
            "installed",
            ctx.key_at(i, "virtio"),
            hint=f"pip install sdfgen=={SDFGEN_VERSION} (PyPI has it for Linux on x86_64 and "
            "aarch64), or drop virtio",
        )
        for i, vm in _virtio_vms(ctx)
        if _asks(vm)
    ][:1]


RULES = (sddf_board, one_client, driven_device, one_partition, sdfgen_installed)
