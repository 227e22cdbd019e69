"""Start-up cost of `sel4vmgen validate` against a bare interpreter.

Wall time, median of N runs in a subprocess each, of `sel4vmgen validate` on
the largest example and on a synthetic 256-VM system, against `python -c pass`;
the ratio is the figure to watch (the aim: an example validates in under 8x
the bare start).  Then the slowest imports on the validate path, from
`python -X importtime`, to show where the time goes.

Byte-code caching is on (in a temporary PYTHONPYCACHEPREFIX, after one warm-up
run), as for an installed package, even when PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9
SYNTHETIC_VMS = 256
TOP_IMPORTS = 12


def command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m sel4vmgen`."""
    script = Path(sys.executable).with_name("sel4vmgen")
    if script.exists():
        return [str(script)]
    found = shutil.which("sel4vmgen")
    return [found] if found else [sys.executable, "-m", "sel4vmgen"]


def environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def median_seconds(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    subprocess.run(argv, cwd=cwd, capture_output=True, check=False, env=env)  # warm the cache
    times = []
    code = 0
    for _ in range(RUNS):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=False, env=env)
        times.append(time.perf_counter() - start)
        code = proc.returncode
    return statistics.median(times), code


def synthetic_system(vms: int) -> str:
    lines = ["name: bench", "arch: x86", "sel4_arch: ia32", "platform: pc99", "vms:"]
    for i in range(vms):
        lines += [
            f"  - name: vm{i}",
            "    ram: {size: 8MiB}",
            "    kernel: {image: images/bzimage, name: bzimage}",
        ]
    return "\n".join(lines) + "\n"


def largest_example() -> Path:
    return max(sorted((ROOT / "examples").glob("*.yaml")), key=lambda p: p.stat().st_size)


def import_profile(target: Path, env: dict[str, str]) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest imports while validating `target`."""
    argv = [sys.executable, "-X", "importtime", "-m", "sel4vmgen", "validate", "--no-cache"]
    argv.append(str(target))
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) <= 3:
            rows.append((int(m.group(1)), m.group(3).strip()))
    return sorted(rows, reverse=True)[:TOP_IMPORTS]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(Path(tmp) / "pycache")
        measure(Path(tmp), env)


def measure(tmp: Path, env: dict[str, str]) -> None:
    bare, _ = median_seconds([sys.executable, "-c", "pass"], ROOT, env)
    example = largest_example()
    rows = [("python -c pass", bare, 0)]
    synthetic = tmp / f"synthetic-{SYNTHETIC_VMS}.yaml"
    synthetic.write_text(synthetic_system(SYNTHETIC_VMS), encoding="utf-8")
    for label, target in (
        (f"validate {example.relative_to(ROOT)}", example),
        (f"validate {SYNTHETIC_VMS}-VM system", synthetic),
    ):
        argv = [*command(), "validate", "-q", "--no-cache", str(target)]  # the cold start
        seconds, code = median_seconds(argv, ROOT, env)
        rows.append((label, seconds, code))
    print(f"   median of {RUNS} runs; python {sys.version.split()[0]} on {os.uname().sysname}")
    print(f"   {'command':<36} {'ms':>8} {'x bare':>7} {'exit':>5}")
    for label, seconds, code in rows:
        print(f"   {label:<36} {seconds * 1000:>8.1f} {seconds / bare:>7.2f} {code:>5}")
    print(f"\n   slowest imports while validating {example.name} (cumulative ms):")
    for micros, module in import_profile(example, env):
        print(f"   {micros / 1000:>8.1f}  {module}")


if __name__ == "__main__":
    main()
