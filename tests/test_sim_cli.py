"""`sel4vmgen simulate`: files and generated apps, explore, variants, traces, exit codes."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import EXAMPLES, Run
from sim_plans import arm_plan, arm_vm, x86_plan

Cli = Callable[..., Run]
REPR = re.compile(r"'|\(\d+,|\(\)|None|\{")  # what str() of a tuple, None or dict looks like


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_simulates_clean_under_explore(cli: Cli, example: Path) -> None:
    r = cli("simulate", str(example), "--explore", "--format", "json")
    out = json.loads(r.stdout)
    assert r.exit_code == 0, out
    assert out["ok"] and out["plans"]
    assert all(p["explored"]["complete"] for p in out["plans"])


def test_generated_app_folder_is_simulated_from_its_plan_files(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(x86_plan().to_json())
    r = cli("simulate", str(tmp_path))
    assert r.exit_code == 0
    assert r.stdout.startswith("x86_test on ia32 (x86 VMM): timed run ")
    assert r.stdout.rstrip().endswith("; ok")
    multi = tmp_path / "multi"
    for platform in ("qemu-arm-virt", "ia32"):  # the layout `generate` writes for several
        (multi / platform).mkdir(parents=True)
    (multi / "qemu-arm-virt" / "plan.json").write_text(arm_plan().to_json())
    (multi / "ia32" / "plan.json").write_text(x86_plan().to_json())
    out = json.loads(cli("simulate", str(multi), "--format", "json").stdout)
    assert [p["platform"] for p in out["plans"]] == ["ia32", "qemu-arm-virt"]


def test_violation_exits_1_with_the_code_and_a_timeline(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(x86_plan().to_json())
    r = cli("simulate", str(tmp_path), "--explore", "--vmm-model", "x86_split")
    assert r.exit_code == 1
    assert (
        "error[E501]: x86_test on ia32: no interrupt injected when the guest cannot take it"
        in r.stderr
    )
    assert "counterexample in vm0 (" in r.stdout
    assert "  !!!  E501 broken:" in r.stdout


def test_trace_file_is_chrome_trace_events(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(arm_plan().to_json())
    trace = tmp_path / "out.json"
    assert cli("simulate", str(tmp_path), "--trace", str(trace), "--seed", "3").exit_code == 0
    events = json.loads(trace.read_text())["traceEvents"]
    names = {e["name"] for e in events if e["ph"] == "X"}
    assert {"vm0", "vm0_vcpu0"} <= names
    assert [(e["name"], e["tid"], e["args"]) for e in events if e["ph"] == "M"] == [
        ("process_name", 0, {"name": "arm_test on qemu-arm-virt: timed run"}),
        ("thread_name", 0, {"name": "core 0"}),
        ("thread_sort_index", 0, {"sort_index": 0}),
    ]
    again = tmp_path / "again.json"
    cli("simulate", str(tmp_path), "--trace", str(again), "--seed", "3")
    assert again.read_bytes() == trace.read_bytes()


def test_counterexample_trace_has_a_track_per_actor(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(arm_plan(irqs=5).to_json())
    trace = tmp_path / "cex.json"
    r = cli("simulate", str(tmp_path), "--explore", "--unchecked-lrs", "--interrupts", "5",
            "--trace", str(trace))  # fmt: skip
    assert r.exit_code == 1 and "error[E502]" in r.stderr
    events = json.loads(trace.read_text())["traceEvents"]
    names = [e["args"]["name"] for e in events if e["name"] == "thread_name"]
    assert names == ["device", "kernel", "vm0_vcpu0", "vm0"]  # the plan's threads
    process = [e["args"]["name"] for e in events if e["name"] == "process_name"]
    assert process == ["counterexample in vm0: E502"]
    assert events[-1]["name"] == "E502 no interrupt lost"


@pytest.mark.parametrize(
    "flags",
    [("--explore", "--vmm-model", "x86_split"), ("--vmm-model", "x86_split", "--suspend-to-stop")],
    ids=["counterexample", "timed"],
)
def test_trace_args_are_words_not_python_reprs(
    cli: Cli, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    (tmp_path / "plan.json").write_text(x86_plan().to_json())
    trace = tmp_path / "t.json"
    cli("simulate", str(tmp_path), *flags, "--trace", str(trace))
    events = json.loads(trace.read_text())["traceEvents"]
    texts = [e["name"] for e in events] + [
        str(v) for e in events for v in e.get("args", {}).values()
    ]
    assert any("->" in t or " to " in t for t in texts)
    assert not [t for t in texts if REPR.search(t)]


def test_spin_knob_and_priority_from_the_plan(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(arm_plan(vmm_priority=98).to_json())
    r = cli("simulate", str(tmp_path))  # the guest may busy-loop: the explorer tries it
    assert r.exit_code == 1
    assert (
        "error[E505]: arm_test on qemu-arm-virt: while linux's guest busy-loops (priority 99): vm0 (priority 98) runnable"
        in r.stderr
    )
    r = cli("simulate", str(tmp_path), "--spin", "linux")
    assert (
        r.exit_code == 1 and "error[E505]: arm_test on qemu-arm-virt: vm0 (priority 98)" in r.stderr
    )
    (tmp_path / "plan.json").write_text(arm_plan().to_json())
    assert cli("simulate", str(tmp_path)).exit_code == 0


def test_explain_names_a_property_code(cli: Cli) -> None:
    r = cli("explain", "E509")
    assert r.exit_code == 0 and r.stdout.startswith("E509: vGIC overflow ring full")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.yaml"], ""),
        (["--vmm-model", "arm"], "--vmm-model arm does not run x86 guests (ia32)"),
        (["--max-states", "0"], ""),
    ],
)
def test_usage_errors_exit_2(cli: Cli, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "plan.json").write_text(x86_plan().to_json())
    target = [] if args[0] == "nope.yaml" else [str(tmp_path)]
    r = cli("simulate", *target, *args)
    assert r.exit_code == 2
    assert message in r.stderr


def test_unreadable_plan_and_empty_folder_exit_2(cli: Cli, tmp_path: Path) -> None:
    r = cli("simulate", str(tmp_path))
    assert r.exit_code == 2 and "no plan.json in this folder" in r.stderr
    (tmp_path / "plan.json").write_text('{"format": 99}')
    r = cli("simulate", str(tmp_path))
    assert r.exit_code == 2 and "corrupt plan: plan format 99 is not 2" in r.stderr


def test_config_errors_exit_1_before_simulating(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\narch: x86\nplatform: pc99\nvms: []\n")
    r = cli("simulate", str(bad))
    assert r.exit_code == 1 and "error[" in r.stderr


def test_plan_with_stated_latency_reports_e506_in_json(cli: Cli, tmp_path: Path) -> None:
    plan = arm_plan(arm_vm(latency_us=1000), vmm_priority=99)
    (tmp_path / "plan.json").write_text(replace(plan).to_json())
    out = json.loads(cli("simulate", str(tmp_path), "--spin", "vm0", "--format", "json").stdout)
    assert [v["code"] for v in out["plans"][0]["violations"]] == ["E506"]
    assert out["ok"] is False


def test_plan_the_models_cannot_run_exits_2_without_a_traceback(cli: Cli, tmp_path: Path) -> None:
    plan = arm_plan()
    bad = replace(plan, threads=tuple(replace(t, priority=300) for t in plan.threads))
    (tmp_path / "plan.json").write_text(bad.to_json())
    r = cli("simulate", str(tmp_path))
    assert r.exit_code == 2
    first = bad.threads[0].name
    assert (
        f"corrupt plan: not a plan sel4vmgen would make: thread {first} has priority 300, outside 0-255"
        in (r.stderr)
    )


SYSTEM = """\
name: latency
arch: x86
sel4_arch: ia32
platform: pc99
vms:
  - name: vm0
    ram: {size: 128MiB}
    kernel: {image: bzimage, format: bzImage}
    requirements: {irq_latency_us: LATENCY}
simulation: {seed: 5, critical_section_us: 800}
"""


def test_yaml_requirements_and_simulation_knobs_reach_the_run(cli: Cli, tmp_path: Path) -> None:
    tight = tmp_path / "tight.yaml"
    tight.write_text(SYSTEM.replace("LATENCY", "300"))
    r = cli("simulate", str(tight), "--format", "json")
    out = json.loads(r.stdout)
    assert r.exit_code == 1
    assert [v["code"] for v in out["plans"][0]["violations"]] == ["E506"]
    assert out["plans"][0]["violations"][0]["message"].endswith("over the 300 us bound")
    loose = tmp_path / "loose.yaml"
    loose.write_text(SYSTEM.replace("LATENCY", "5000"))
    assert cli("simulate", str(loose)).exit_code == 0


def test_timed_trace_marks_the_violation(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(arm_plan(vmm_priority=98).to_json())
    trace = tmp_path / "starved.json"
    assert cli("simulate", str(tmp_path), "--spin", "linux", "--trace", str(trace)).exit_code == 1
    events = json.loads(trace.read_text())["traceEvents"]
    marks = [e for e in events if e["name"] == "E505 violated"]
    assert len(marks) == 1 and marks[0]["ts"] == 22_000
    assert marks[0]["args"]["detail"].startswith("vm0 (priority 98) runnable on core 0")


def test_app_written_by_generate_simulates_like_its_system_file(cli: Cli, tmp_path: Path) -> None:
    system = EXAMPLES / "vm_minimal.yaml"
    app = tmp_path / "app"
    assert cli("generate", str(system), "-o", str(app)).exit_code == 0
    from_app = json.loads(cli("simulate", str(app), "--explore", "--format", "json").stdout)
    from_yaml = json.loads(cli("simulate", str(system), "--explore", "--format", "json").stdout)

    # the app's platform folders are read in name order, the system's platforms as written
    def by_platform(plans: list[dict[str, object]]) -> list[dict[str, object]]:
        return sorted(plans, key=lambda p: str(p["platform"]))

    assert from_app["ok"] and by_platform(from_app["plans"]) == by_platform(from_yaml["plans"])


def test_spin_names_a_vm_of_the_system(cli: Cli) -> None:
    r = cli("simulate", str(EXAMPLES / "vm_multi.yaml"), "--spin", "nope")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "error: --spin nope: vm_multi on qemu-arm-virt has no such VM (vm0, vm1, vm2)"
    )


def test_a_hand_edited_plan_json_is_refused_not_simulated(cli: Cli, tmp_path: Path) -> None:
    data = json.loads(x86_plan().to_json())
    data["num_nodes"] = 0
    data["vms"][0]["vcpus"] = -5
    (tmp_path / "plan.json").write_text(json.dumps(data))
    r = cli("simulate", str(tmp_path))
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        f"error: {tmp_path / 'plan.json'}: corrupt plan: not a plan sel4vmgen would make: "
        "num_nodes is 0; a system has at least one core; VM vm0 has -5 VCPUs"
    )


@pytest.mark.parametrize("model", ["x86", "x86_split"])
def test_a_spinning_x86_guest_ends_its_timed_run(cli: Cli, model: str) -> None:
    # the guest's loop has no exit of its own: only notifications end its VMEnter segments
    r = cli("simulate", str(EXAMPLES / "minimal.yaml"), "--vmm-model", model, "--spin", "vm0")
    label = "x86 VMM" if model == "x86" else "x86_split VMM: historical two-thread design"
    assert r.stdout.startswith(f"minimal on ia32 ({label}")
    if model == "x86":
        assert r.exit_code == 0, r.stderr
    else:  # the two-thread VMM injects at the guest's next exit, which never comes
        assert r.exit_code == 1
        assert "error[E510]: minimal on ia32: vm0: interrupt line serial (IRQ 4) masked" in r.stderr


def test_bounded_exploration_says_it_is_not_exhaustive(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(x86_plan().to_json())
    r = cli("simulate", str(tmp_path), "--explore", "--max-states", "20")
    assert r.exit_code == 0
    assert r.stdout.endswith(
        "; no violation in 20 states, not exhaustive (stopped at the states bound, depth 15); ok\n"
    )
    out = json.loads(
        cli("simulate", str(tmp_path), "--explore", "--max-states", "20", "--format", "json").stdout
    )
    assert out["plans"][0]["explored"]["exhaustive"] is False
    assert out["plans"][0]["explored"]["bounds_reached"] == ["states"]
    shallow = cli("simulate", str(tmp_path), "--explore", "--max-depth", "3")
    assert (
        "no violation in 43 states, not exhaustive (stopped at the depth bound, depth 3); ok"
        in (shallow.stdout)
    )
    full = cli("simulate", str(tmp_path), "--explore")
    assert ", exhaustive; ok" in full.stdout


def test_require_exhaustive_exits_1_on_a_bounded_run(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(x86_plan().to_json())
    r = cli("simulate", str(tmp_path), "--require-exhaustive", "--max-states", "20")
    assert r.exit_code == 1
    assert "error: --require-exhaustive: not exhaustive: x86_test on ia32" in r.stderr
    assert cli("simulate", str(tmp_path), "--require-exhaustive").exit_code == 0


SCAFFOLD_PLATFORMS = ("pc99", "qemu-arm-virt", "tx2", "zcu102", "exynos5422")


SMP_BOUND = "5000"  # states: a four-VCPU VM is explored to this bound in the tests


def explored_clean(cli: Cli, system: Path) -> None:
    """`simulate --explore` finds nothing, and each plan is exhaustive or says it is not."""
    r = cli("simulate", str(system), "--explore", "--max-states", SMP_BOUND)
    assert r.exit_code == 0, r.stdout + r.stderr
    out = json.loads(
        cli(
            "simulate", str(system), "--explore", "--max-states", SMP_BOUND, "--format", "json"
        ).stdout
    )
    assert out["ok"]
    for plan, line in zip(out["plans"], r.stdout.splitlines(), strict=False):
        e = plan["explored"]
        assert e["exhaustive"] or (e["states"] >= int(SMP_BOUND) and "not exhaustive" in line)


@pytest.mark.parametrize("platform", SCAFFOLD_PLATFORMS)
def test_every_new_guest_scaffold_explores_clean(cli: Cli, platform: str, tmp_path: Path) -> None:
    r = cli("new-guest", "-o", str(tmp_path), "--no-input", "--set", f"platform={platform}")
    assert r.exit_code == 0, r.stderr
    (system,) = tmp_path.glob("*/system.yaml")
    explored_clean(cli, system)


@pytest.mark.parametrize("nodes", [2, 4])
@pytest.mark.parametrize("example", ["vm_minimal", "vm_multi", "vm_virtio_net"])
def test_smp_variants_of_the_arm_examples_explore_clean(
    cli: Cli, example: str, nodes: int, tmp_path: Path
) -> None:
    text = (EXAMPLES / f"{example}.yaml").read_text().replace("num_nodes: 1", f"num_nodes: {nodes}")
    system = tmp_path / f"{example}.yaml"
    system.write_text(text)
    # the files the examples add to guest root file systems, beside the system file
    shutil.copytree(EXAMPLES / "overlay_files", tmp_path / "overlay_files")
    explored_clean(cli, system)


def test_x86_vms_sharing_a_core_at_one_priority_explore_clean(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(x86_plan(vms=3).to_json())
    r = cli("simulate", str(tmp_path), "--require-exhaustive")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_generate_says_what_its_quick_simulation_checked(cli: Cli, tmp_path: Path) -> None:
    r = cli("generate", str(EXAMPLES / "minimal.yaml"), "-o", str(tmp_path / "app"))
    assert r.exit_code == 0, r.stderr
    assert r.stderr.splitlines()[-1] == (
        "quick simulation: layout checks (E507, E508), a 20 ms timed run of each plan "
        "(E501-E503, E505, E506, E509, E510) and one with each guest busy-looping in turn "
        "(E505), and for an ARM VM with VCPUs on several cores and a stated irq_latency_us one "
        "with each secondary VCPU polling an emulated device (E506); interleavings not explored (run `sel4vmgen simulate FILE --explore` for that)"
    )
