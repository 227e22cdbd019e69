"""Wall time of `generate` end to end (load, validate, rules, resolve, simulate check, render,
write) for each x86 example and for a synthetic 64-VM x86 system.  Prints figures; the
target is under 0.3 s per example.

    python benchmarks/bench_generate.py
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

import bench_generate_arm  # benchmarks/bench_generate_arm.py, beside this file
import bench_validate  # its subprocess timing helpers

from sel4vmgen.app.check import check_file
from sel4vmgen.app.generate import generate

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def synthetic(n: int) -> str:
    """A pc99 system with `n` VMs, each with its own IOMMU domain and file-server images."""
    lines = ["name: synthetic", "arch: x86", "sel4_arch: x86_64", "platform: pc99", "vms:"]
    for i in range(n):
        lines += [
            f"  - name: guest{i}",
            "    ram: {size: 32MiB}",
            "    kernel: {image: '${CAMKES_VM_LINUX_DIR}/images/kernel/default_bzimage_4.8.16',"
            " name: bzimage, format: bzImage}",
            f"    initrd: {{image: '${{CAMKES_VM_LINUX_DIR}}/images/rootfs/vm{i}.cpio',"
            f" name: vm{i}_rootfs.cpio}}",
            f"    cmdline: console=ttyS0,115200 root=/dev/mem guest={i}",
            f"    iospace_domain: {0x0F + i}",
        ]
    return "\n".join(lines) + "\n"


def time_generate(system: Path, out: Path) -> tuple[float, float, float, int]:
    """Seconds end to end (first run, median of the next runs), the median of the back half
    alone (resolve, simulate, render, write), and the number of files written."""
    total, back = [], []
    files = 0
    for i in range(RUNS + 1):
        start = time.perf_counter()
        checked = check_file(system)
        if not checked.ok or checked.loaded is None:
            raise SystemExit(f"{system}: does not validate: {checked.diagnostics}")
        middle = time.perf_counter()
        result = generate(checked.loaded, out / f"run{i}", simulate=True)
        end = time.perf_counter()
        total.append(end - start)
        back.append(end - middle)
        files = len(result.files)
    return total[0], statistics.median(total[1:]), statistics.median(back[1:]), files


def x86_examples() -> list[Path]:
    return [
        p
        for p in sorted((ROOT / "examples").glob("*.yaml"))
        if re.search(r"^arch:\s*x86\s*$", p.read_text("utf-8"), re.M)
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows: list[tuple[str, float, float, float, int]] = []
        for example in x86_examples():
            rows.append((example.stem, *time_generate(example, work / example.stem)))
        big = work / "synthetic64.yaml"
        big.write_text(synthetic(64))
        rows.append(("synthetic 64 VMs", *time_generate(big, work / "synthetic")))
    print(f"{'system':<22} {'first (s)':>10} {'median (s)':>11} {'generate (s)':>13} {'files':>6}")
    for name, first, median, back, files in rows:
        print(f"{name:<22} {first:>10.3f} {median:>11.3f} {back:>13.3f} {files:>6}")
    print("in one process after the imports: first: the first run (template compilation);")
    print("median: load to write; generate: resolve + simulate + render + write only.")
    print()
    whole_process()
    print()
    bench_generate_arm.main()  # the ARM examples' figures


def whole_process() -> None:
    """`sel4vmgen generate` as a user runs it: a new process each time, against bare start-up."""
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = bench_validate.environment(work / "pycache")
        bare, _ = bench_validate.median_seconds([sys.executable, "-c", "pass"], work, env)
        print(f"whole process, median of {bench_validate.RUNS} (python -c pass: {bare:.3f} s)")
        print(f"{'example':<22} {'generate (s)':>13} {'x bare':>7}")
        for example in sorted((ROOT / "examples").glob("*.yaml")):
            argv = [*bench_validate.command(), "generate", str(example), "-o", str(work / "app")]
            seconds, code = bench_validate.median_seconds(argv, work, env)
            mark = "" if code == 0 else f"  (exit {code})"
            print(f"{example.stem:<22} {seconds:>13.3f} {seconds / bare:>7.1f}{mark}")


if __name__ == "__main__":
    main()
