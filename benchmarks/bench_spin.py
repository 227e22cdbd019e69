"""spin against the explorer on the x86 interrupt-injection protocol, side by side.

The Promela model is the reference one (x86_injection.pml; give its path with --pml or in
SPIN_MODEL); benchmarks/injection_model.py is the same protocol as an explorer model.  For
NV = 3 and NIRQ = 2 and 3 it runs, on this machine, one after the other:

* spin: `spin -a`, `gcc -O2`, `./pan -m1000000 -E` (partial-order reduction on), the
  single-thread design (verified) and the two-thread design (counterexample);
* the explorer with its reductions (independent VMs, symmetry, partial order), with partial
  order alone, and with none (bounded at --raw-states, for the raw rate).

Each run is a separate process measured by /usr/bin/time (wall time, peak RSS).  Figures
are printed, never asserted.

Run: python benchmarks/bench_spin.py --pml ../shared/reference/spin/x86_injection.pml
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIME = ["/usr/bin/time", "-f", "@@ %e %M"]  # seconds, peak KiB


def measured(cmd: list[str], cwd: Path | None = None) -> tuple[str, float, int]:
    """Run `cmd` under /usr/bin/time: (its stdout+stderr, seconds, peak MiB)."""
    p = subprocess.run([*TIME, *cmd], cwd=cwd, capture_output=True, text=True, check=False)
    out = p.stdout + p.stderr
    m = re.search(r"@@ ([\d.]+) (\d+)", out)
    secs, kib = (float(m.group(1)), int(m.group(2))) if m else (0.0, 0)
    return out, secs, kib // 1024


def spin_run(pml: Path, nv: int, nirq: int, split: int, work: Path) -> dict[str, object]:
    defs = [f"-DSPLIT={split}", f"-DNV={nv}", f"-DNIRQ={nirq}"]
    subprocess.run(["spin", *defs, "-a", str(pml)], cwd=work, check=True, capture_output=True)
    subprocess.run(
        ["gcc", "-O2", *defs, "-DMEMLIM=16000", "-o", "pan", "pan.c"],
        cwd=work,
        check=True,
        capture_output=True,
    )
    out, secs, mib = measured(["./pan", "-m1000000", "-E"], cwd=work)
    states = re.search(r"([\d.e+]+) states, stored", out)
    errors = re.search(r"errors: (\d+)", out)
    return {
        "states": int(float(states.group(1))) if states else -1,
        "verdict": "violation" if errors and errors.group(1) != "0" else "verified",
        "seconds": secs,
        "mib": mib,
    }


def explorer_child(nv: int, nirq: int, split: bool, mode: str, raw_states: int) -> None:
    """In a child process: explore and print `states verdict complete seconds`."""
    sys.path.insert(0, str(HERE))
    from injection_model import injection_system

    from sel4vmgen.sim.explore import Limits, Reductions, check

    reductions = {
        "all": Reductions(),
        "por": Reductions(independent=False, symmetry=False),
        "none": Reductions(independent=False, symmetry=False, partial_order=False),
    }[mode]
    limits = Limits(max_depth=10_000, max_states=raw_states, max_seconds=600)
    r = check(injection_system(nv, nirq, split), limits, reductions)
    verdict = "verified" if r.ok else "violation"
    print(f"RESULT {r.states} {verdict} {int(r.complete)} {r.seconds:.4f}")


def explorer_run(nv: int, nirq: int, split: bool, mode: str, raw: int) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", f"{nv},{nirq},{int(split)},{mode},{raw}"]
    out, secs, mib = measured(cmd)
    m = re.search(r"RESULT (\d+) (\w+) (\d) ([\d.]+)", out)
    if not m:
        raise SystemExit(f"explorer run failed:\n{out}")
    states, search = int(m.group(1)), float(m.group(4))
    return {
        "states": states,
        "verdict": m.group(2) + ("" if m.group(3) == "1" else " (bounded)"),
        "seconds": secs,
        "search_s": search,
        "rate": states / search if search else 0.0,
        "mib": mib,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pml", default=os.environ.get("SPIN_MODEL", ""))
    ap.add_argument("--nirq", default="2,3")
    ap.add_argument("--raw-states", type=int, default=2_000_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    if args.child:
        nv, nirq, split, mode, raw = args.child.split(",")
        explorer_child(int(nv), int(nirq), split == "1", mode, int(raw))
        return
    pml = Path(args.pml)
    if not pml.is_file() or shutil.which("spin") is None or shutil.which("gcc") is None:
        print("   skipped: needs spin, gcc and the model (--pml PATH or SPIN_MODEL=PATH)")
        return
    row = "| {:<32} | {:>4} | {:>11} | {:<20} | {:>8} | {:>7} | {:>10} |"
    print(row.format("run", "NIRQ", "states", "verdict", "time s", "MiB", "states/s"))
    print(row.format(*["---"] * 7))
    with tempfile.TemporaryDirectory() as tmp:
        for nirq in (int(n) for n in args.nirq.split(",")):
            for split, design in ((0, "single-thread"), (1, "two-thread")):
                s = spin_run(pml, 3, nirq, split, Path(tmp))
                rate = f"{s['states'] / s['seconds']:.0f}" if s["seconds"] else "-"  # type: ignore[operator]
                print(row.format(f"spin {design}", nirq, s["states"], s["verdict"],
                                 f"{s['seconds']:.2f}", s["mib"], rate))  # fmt: skip
                for mode in ("all", "por", "none"):
                    e = explorer_run(3, nirq, bool(split), mode, args.raw_states)
                    name = f"explorer {design} ({mode})"
                    print(row.format(name, nirq, e["states"], e["verdict"], f"{e['seconds']:.2f}",
                                     e["mib"], f"{e['rate']:.0f}"))  # fmt: skip
                sys.stdout.flush()


if __name__ == "__main__":
    main()
