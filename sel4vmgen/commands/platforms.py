"""`sel4vmgen platforms [NAME] [--format text|json]`: the platform database.

Without NAME: a table of every platform.  With NAME: that platform's facts
in detail.  JSON output is the `Platform` dataclass as the plan codec writes
it (addresses as "0x..." strings).  An unknown NAME exits 2 with the list of
known names.
"""

from __future__ import annotations

import json

import click

from sel4vmgen.codec import encode
from sel4vmgen.commands import completion
from sel4vmgen.platforms import Platform, UnknownPlatform, load, names


def _mib(size: int) -> str:
    return f"{size >> 20} MiB" if size % (1 << 20) == 0 else f"0x{size:x} B"


def _range(start: int, end: int) -> str:
    return f"0x{start:x}-0x{end:x}"


def table(platforms: list[Platform]) -> str:
    """One line per platform: names, arch, cores, GIC, console IRQ, default guest RAM."""
    head = (
        "PLATFORM",
        "ARCH",
        "SEL4_ARCH",
        "KERNEL_PLATFORM",
        "CORES",
        "SMP",
        "GIC",
        "SERIAL_IRQ",
        "GUEST_RAM",
    )
    rows = [head]
    for p in platforms:
        gic = f"v{p.gic.version} LR={p.gic.list_registers}" if p.gic else "-"
        guest = f"0x{p.guest.ram_base:x}+{_mib(p.guest.ram_size)}" if p.guest else "guest_ram_mb"
        serial = ",".join(str(i) for i in p.serial.irqs) or "-"
        rows.append(
            (
                p.name,
                p.arch,
                "/".join(p.sel4_archs),
                p.kernel_platform,
                str(p.cores),
                "yes" if p.smp else "no",
                gic,
                serial,
                guest,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def detail(p: Platform) -> str:
    """Every fact of one platform, as readable lines."""
    lines = [
        f"{p.name}: {p.arch} ({', '.join(p.sel4_archs)})",
        f"  KernelPlatform {p.kernel_platform}"
        + (f", KernelARMPlatform {p.arm_platform}" if p.arm_platform else "")
        + (f", KernelArmCPU {p.arm_cpu}" if p.arm_cpu else ""),
        f"  cores {p.cores}, SMP VMs {'allowed' if p.smp else 'refused'}",
    ]
    lines += [f"  RAM        {_range(r.start, r.end)} {r.name}" for r in p.ram]
    lines += [f"  reserved   {_range(r.start, r.end)} {r.name}" for r in p.reserved]
    lines += [f"  guest RAM  {_range(r.start, r.end)} {r.name}" for r in p.guest_ram]
    for d in p.devices:
        irqs = f" irqs {','.join(map(str, d.irqs))}" if d.irqs else ""
        lines.append(
            f"  device     {_range(d.paddr, d.paddr + d.size)} {d.name} {d.path}{irqs}".rstrip()
        )
    s = p.serial
    lines.append(f"  serial     {s.name} {s.path} 0x{s.paddr:x} irqs {','.join(map(str, s.irqs))}")
    lines += _gic_lines(p)
    lines += [f"  reserved IRQ {r.irq}: {r.why}" for r in p.reserved_irqs]
    lines.append(f"  free IRQs  {', '.join(map(str, p.free_irqs)) or '-'}")
    lines += _guest_lines(p)
    lines += _x86_lines(p)
    lines += [f"  cmake      {k}={v}" for k, v in p.cmake_options]
    lines += [f"  source     {s}" for s in p.sources]
    return "\n".join(lines)


def _gic_lines(p: Platform) -> list[str]:
    g = p.gic
    if g is None:
        return []
    return [
        f"  GIC v{g.version}: GICD 0x{g.dist:x} GICC 0x{g.cpu:x} GICH 0x{g.hyp:x} GICV 0x{g.vcpu:x}",
        f"  GIC list registers {g.list_registers} (libsel4vm uses 4), maintenance IRQ "
        f"{g.maintenance_irq}, vtimer IRQ {g.vtimer_irq}, max IRQ {g.max_irq}",
    ]


def _guest_lines(p: Platform) -> list[str]:
    g = p.guest
    if g is None:
        return []
    return [
        f"  guest RAM  base 0x{g.ram_base:x} paddr 0x{g.ram_paddr:x} size 0x{g.ram_size:x}",
        f"  guest DTB 0x{g.dtb_addr:x}, initrd 0x{g.initrd_addr:x} (max 0x{g.initrd_max_size:x}), "
        f"entry base+0x{g.kernel_entry_offset:x}, vcpus {g.vcpus}",
        f"  guest stdout {g.stdout!r}, cmdline {g.cmdline!r}",
        f"  guest dtb nodes {', '.join(g.dtb_nodes) or '-'}",
    ]


def _x86_lines(p: Platform) -> list[str]:
    x = p.x86
    if x is None:
        return []
    out = [f"  IO ports   0x{a:x}-0x{b:x} {who}" for a, b, who in x.reserved_ioports]
    out.append(f"  IOAPIC pins {x.ioapic_pins}, max iospace_domain 0x{x.max_iospace_domain:x}")
    return out


@click.command()
@click.argument("name", required=False, shell_complete=completion.platforms)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="text (a table, or one platform in detail) or json",
)
def command(name: str | None, fmt: str) -> None:
    """List the supported platforms, or show platform NAME in detail."""
    try:
        chosen = [load(name)] if name else [load(n) for n in names()]
    except UnknownPlatform as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
    if fmt == "json":
        data = encode(chosen[0]) if name else [encode(p) for p in chosen]
        click.echo(json.dumps(data, indent=2))
    elif name:
        click.echo(detail(chosen[0]))
    else:
        click.echo(table(chosen))
