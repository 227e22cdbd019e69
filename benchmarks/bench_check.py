"""Cross-field check time for large synthetic systems: 128 to 1,024 VMs, 16 windows each.

Each VM has its own RAM, sixteen passthrough MMIO windows and a virtio-net link
to its neighbour, on a synthetic platform (qemu-arm-virt's facts with memory and a device bus large enough for
all of them), so every rule runs and none fires.  Prints the best-of-7 check time
per size and the growth ratio per doubling: near 2 means near-linear, 4 would
mean pairwise.  Only `rules.check` is timed, not loading the YAML.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from sel4vmgen import platforms
from sel4vmgen.model import Loaded, load
from sel4vmgen.platforms.model import Device, MemRange, Platform
from sel4vmgen.rules import check

SIZES = (128, 256, 512, 1024)
WINDOWS = 16
RAM_BASE = 0x1_0000_0000
RAM_STRIDE = 0x400_0000  # 64 MiB per VM
RAM_SIZE = 0x200_0000  # 32 MiB of it used
BUS = 0x80_0000_0000  # synthetic device bus for the passthrough windows
REPEATS = 7


def bench_platform(vms: int) -> Platform:
    base = platforms.load("qemu-arm-virt")
    bus = Device("bench-bus", "/bench-bus", BUS, vms * WINDOWS * 0x1000)
    return dataclasses.replace(
        base,
        name="bench",
        ram=(MemRange(RAM_BASE, RAM_BASE + vms * RAM_STRIDE, "bench"),),
        devices=(*base.devices, bus),
    )


def system_yaml(vms: int) -> str:
    lines = ["name: bench", "arch: arm", "sel4_arch: aarch64", "platform: bench", "vms:"]
    for i in range(vms):
        ram = RAM_BASE + i * RAM_STRIDE
        lines += [
            f"  - name: vm{i}",
            f"    ram: {{base: 0x{ram:x}, size: 0x{RAM_SIZE:x}}}",
            "    kernel: {image: linux}",
            f"    dtb: {{address: 0x{ram + 0x1000000:x}}}",
            "    virtio: {net: true}",
            "    passthrough:",
            "      mmios:",
        ]
        for k in range(WINDOWS):
            lines.append(f"        - {{paddr: 0x{BUS + (i * WINDOWS + k) * 0x1000:x}, size: 4KiB}}")
    lines.append("connections:")  # VMs in pairs, each pair on a virtio-net link
    for i in range(0, vms - 1, 2):
        lines += ["  - type: virtio_net", f"    between: [vm{i}, vm{i + 1}]"]
    return "\n".join(lines) + "\n"


def loaded_system(vms: int, folder: Path) -> Loaded:
    path = folder / f"bench-{vms}.yaml"
    path.write_text(system_yaml(vms))
    return load(path)


def timed(loaded: Loaded, plat: Platform) -> float:
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        found = check(loaded, {"bench": plat})
        runs.append(time.perf_counter() - start)
        if found:
            raise SystemExit(f"the synthetic system should check clean: {found[0]}")
    return min(runs)  # the least disturbed run: other load only ever adds time


def main() -> None:
    print(f"{'VMs':>6} {'windows':>8} {'check s':>9} {'x per doubling':>15}")
    previous: float | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for vms in SIZES:
            seconds = timed(loaded_system(vms, Path(tmp)), bench_platform(vms))
            ratio = f"{seconds / previous:.2f}" if previous else "-"
            print(f"{vms:>6} {vms * WINDOWS:>8} {seconds:>9.4f} {ratio:>15}")
            previous = seconds


if __name__ == "__main__":
    main()
