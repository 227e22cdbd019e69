"""Run every benchmark: each `benchmarks/bench_*.py` module's `main()` prints its table.

    python benchmarks/run.py            # all of them
    python benchmarks/run.py validate   # only those whose name contains 'validate'

Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def discover(filters: list[str]) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    return [p for p in found if not filters or any(f in p.stem for f in filters)]


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path.name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    benches = discover(argv)
    if not benches:
        print("no benchmark matches", file=sys.stderr)
        return 2
    for path in benches:
        module = load(path)
        title = (module.__doc__ or path.stem).strip().splitlines()[0]
        print(f"== {path.stem}: {title}")
        start = time.perf_counter()
        module.main()
        print(f"   ({time.perf_counter() - start:.1f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
