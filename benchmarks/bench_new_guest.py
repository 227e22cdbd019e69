"""new-guest's answer check: the time one prompt takes to judge an answer, per platform.

Each answer is judged by rendering the whole guest folder and checking it as `validate`
does (`answers.problems`); this prints the best-of-5 time of one such check per platform
(after one warm-up check), and the time to build both JSON Schemas from the models.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sel4vmgen import jsonschema as schema_module
from sel4vmgen.commands.answers import problems

PLATFORMS = ("pc99", "qemu-arm-virt", "tx2", "tk1", "zcu102")
REPEATS = 5


def best(run: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        problems({"name": "warm"}, out)
        print(f"   {'platform':<16} {'one answer checked':>20}")
        for platform in PLATFORMS:
            answers = {"name": "vm1", "platform": platform, "ram": "4GiB"}
            seconds = best(lambda a=answers: problems(a, out))
            print(f"   {platform:<16} {seconds * 1000:>17.1f} ms")

    def schemas() -> None:
        schema_module.schema()
        schema_module.vm_schema()

    print(f"   both schemas generated: {best(schemas) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
