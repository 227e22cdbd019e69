"""A Microkit plan in the simulator: its PDs on the MCS kernel, run and explored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run
from sim_plans import resolve_file

from sel4vmgen.plan.model import Plan
from sel4vmgen.sim import Options, simulate
from sel4vmgen.sim.explore import Product
from sel4vmgen.sim.mcs import McsKernel
from sel4vmgen.sim.run import plan_model
from sel4vmgen.sim.system import SystemModel
from sel4vmgen.sim.timed import Scenario, build

ROOT = Path(__file__).resolve().parent.parent
MICROKIT_EXAMPLES = sorted((ROOT / "examples").glob("microkit_*.yaml"))
Cli = Callable[..., Run]


def microkit_plan(name: str) -> Plan:
    return next(p for p in resolve_file(ROOT / "examples" / name) if p.framework == "microkit")


def run_for(plan: Plan, ms: int) -> McsKernel:
    k, _ = build(plan, Scenario.of(plan, duration_ms=ms))
    assert isinstance(k, McsKernel)
    k.run(ms * 1000)
    return k


def test_an_x86_vm_runs_in_its_vmms_thread_on_its_vmms_scheduling_context() -> None:
    k = run_for(microkit_plan("microkit_x86.yaml"), 2)
    assert [(t.name, t.priority) for t in k.threads] == [("vmm_linux", 0), ("timer_driver", 254)]
    vmm = k.threads[0]
    assert vmm.guest is not None
    assert (k.sc[vmm].budget, k.sc[vmm].period) == (1000, 1000)
    assert k.threads[1] in k.passive


def test_the_x86_vmm_calls_the_timer_driver_before_its_guest_runs() -> None:
    k = run_for(microkit_plan("microkit_x86.yaml"), 1)
    first = [(e.time, e.kind, e.thread) for e in k.log if e.kind == "switch"][:4]
    # the driver waits for calls; the VMM calls it (priority 254 preempts at once), the
    # driver works 5 us on the VMM's scheduling context and replies
    assert first == [(0, "switch", "timer_driver"), (0, "switch", "vmm_linux"),
                     (0, "switch", "timer_driver"), (5, "switch", "vmm_linux")]  # fmt: skip
    timer = k.threads[1]
    assert k.sc[timer].left == k.sc[timer].budget  # its own budget untouched


def test_an_arm_vm_has_a_thread_per_vcpu_on_its_own_scheduling_context() -> None:
    k = run_for(microkit_plan("microkit_simple.yaml"), 2)
    assert [(t.name, t.priority) for t in k.threads] == [
        ("vmm_linux_vcpu0", 253),
        ("vmm_linux", 254),
    ]
    vcpu, vmm = k.threads
    assert k.sc[vcpu] is not k.sc[vmm]
    faults = [e for e in k.log if e.kind == "fault"]
    assert faults[0].thread == "vmm_linux_vcpu0"
    assert faults[0].detail.endswith("to vm0_fault_ep")


def test_the_explorer_runs_the_protected_call_too() -> None:
    plan = microkit_plan("microkit_x86.yaml")
    model = plan_model(plan, Options(explore=True))
    assert isinstance(model, Product)
    (part,) = model.parts
    assert isinstance(part, SystemModel)
    assert [t.name for t in part.template.threads] == ["vmm_linux", "timer_driver"]
    assert [e.name for e in part.template.endpoints] == ["timer_driver_ep"]


@pytest.mark.parametrize("example", MICROKIT_EXAMPLES, ids=lambda p: p.stem)
def test_every_microkit_example_simulates_and_explores_clean(example: Path) -> None:
    for plan in resolve_file(example):
        report = simulate(plan, Options(explore=True))
        assert report.violations == ()
        assert report.explored is not None and report.explored.complete


def test_a_busy_vm_above_another_with_budget_below_its_period_starves_nobody(
    cli: Cli, tmp_path: Path
) -> None:
    fixture = ROOT / "tests" / "fixtures" / "bad-at-simulate"
    text = (fixture / "round_robin_vm_above_another_vmm_on_its_core.yaml").read_text()
    text = text.replace("    priority: 200\n", "    priority: 200\n    budget_us: 5000\n"
                        "    period_us: 10000\n")  # fmt: skip
    path = tmp_path / "half.yaml"
    path.write_text(text)
    r = cli("simulate", str(path))
    assert r.exit_code == 0, r.stderr
    assert "ok" in r.stdout


def test_simulate_and_explore_on_the_command_line(cli: Cli) -> None:
    r = cli("simulate", str(ROOT / "examples" / "microkit_x86.yaml"), "--explore")
    assert r.exit_code == 0
    assert r.stdout.startswith("simple_x86 on x86_64_generic_vtx (x86 VMM): timed run ")
    assert "exhaustive; ok" in r.stdout


def test_a_generated_microkit_app_simulates_from_its_plan_json(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "app"
    assert (
        cli("generate", str(ROOT / "examples" / "microkit_x86.yaml"), "-o", str(out)).exit_code == 0
    )
    from_yaml = cli("simulate", str(ROOT / "examples" / "microkit_x86.yaml"))
    from_app = cli("simulate", str(out))
    assert from_app.exit_code == 0
    assert from_app.stdout == from_yaml.stdout


SDDF_PDS = [
    ("serial_driver", 200),
    ("serial_virt_tx", 199),
    ("serial_virt_rx", 199),
    ("blk_driver", 200),
    ("blk_virt", 199),
    ("eth_driver", 101),
    ("net_virt_tx", 100),
    ("net_virt_rx", 99),
    ("client0_net_copier", 98),
]


def test_the_sddf_pds_behind_virtio_devices_are_servers_in_the_explorer() -> None:
    # joined to the VMM by notification channels only, they are still the explored system's
    model = plan_model(microkit_plan("microkit_virtio_mmio.yaml"), Options(explore=True))
    assert isinstance(model, Product)
    (part,) = model.parts
    assert isinstance(part, SystemModel)
    threads = [(t.name, t.priority) for t in part.template.threads]
    assert threads == [("vmm_client_linux_vcpu0", 97), ("vmm_client_linux", 100), *SDDF_PDS]


def test_a_virtio_guest_runs_below_every_sddf_pd_serving_it() -> None:
    k = run_for(microkit_plan("microkit_virtio_mmio.yaml"), 2)
    threads = {t.name: t for t in k.threads}
    assert threads["vmm_client_linux_vcpu0"].priority == 97  # below the copier's 98
    eth = threads["eth_driver"]
    assert (k.sc[eth].budget, k.sc[eth].period) == (100, 400)
