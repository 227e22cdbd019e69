"""Resolve time: every example on every platform it names, and a synthetic 256-VM ARM system.

The synthetic system puts 256 VMs of 32 MiB on qemu-arm-virt's facts with RAM
widened to hold them all, each with a virtio console, linked in a ring of
virtio-net virtqueues (256 links).  Only `resolve` is timed (best of 7), not
loading the YAML; the plan's JSON size is printed alongside.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from sel4vmgen import platforms
from sel4vmgen.model import System, load
from sel4vmgen.plan import resolve
from sel4vmgen.platforms.model import MemRange, Platform

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 7
VMS = 256
RAM_BASE = 0x1_0000_0000
RAM_SIZE = 0x200_0000  # 32 MiB per VM


def best(system: System, platform: Platform) -> tuple[float, int]:
    """Best-of-REPEATS resolve time in ms, and the plan's JSON size in bytes."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        plan = resolve(system, platform)
        times.append(time.perf_counter() - start)
    return min(times) * 1000, len(plan.to_json())


def synthetic_platform() -> Platform:
    base = platforms.load("qemu-arm-virt")
    assert base.guest is not None
    guest = dataclasses.replace(base.guest, ram_base=RAM_BASE, ram_paddr=RAM_BASE)
    return dataclasses.replace(
        base,
        name="bench",
        ram=(MemRange(RAM_BASE, RAM_BASE + VMS * RAM_SIZE, "bench"),),
        guest=guest,
    )


def synthetic_yaml() -> str:
    lines = ["name: bench", "arch: arm", "sel4_arch: aarch64", "platform: bench", "vms:"]
    for i in range(VMS):
        lines += [
            f"  - name: vm{i}",
            "    vcpus: 1",
            f"    ram: {{size: 0x{RAM_SIZE:x}}}",
            "    kernel: {image: linux}",
            "    initrd: {image: rootfs.cpio.gz, max_size: 0x800000}",
            "    virtio: {console: true}",
            "    passthrough: {devices: []}",
        ]
    lines.append("connections:")
    for i in range(VMS):
        lines.append(f"  - {{type: virtio_net, between: [vm{i}, vm{(i + 1) % VMS}]}}")
    return "\n".join(lines) + "\n"


def rows() -> list[tuple[str, str, int, float, int]]:
    out = []
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        system = load(path).system
        for name in system.platforms:
            ms, size = best(system, platforms.load(name))
            out.append((path.stem, name, len(system.vms), ms, size))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(synthetic_yaml())
        system = load(path).system
    ms, size = best(system, synthetic_platform())
    out.append((f"synthetic-{VMS}-vm", "qemu-arm-virt*", VMS, ms, size))
    return out


def main() -> None:
    print(f"resolve time (best of {REPEATS})")
    print(f"{'system':<22} {'platform':<15} {'VMs':>4} {'ms':>9} {'plan.json':>11}")
    for system, platform, vms, ms, size in rows():
        print(f"{system:<22} {platform:<15} {vms:>4} {ms:>9.3f} {size:>10,}B")
    print("* qemu-arm-virt facts with RAM widened to hold every VM")


if __name__ == "__main__":
    main()
