"""Every example resolves to what the camkes-vm-examples app it mirrors resolves to.

The facts compared come from tests/data/real_apps_subset.json (extracted from the real apps as
camkes-tool's parser resolves them; see its `_source`).  Each Plan is turned into the
settings a generated app would carry (`camkes_view`), in the real apps' shape, and compared
key by key.  Also: every example validates, its plan round-trips through JSON exactly, and
`sel4vmgen plan` prints byte-identical output across runs and hash seeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sel4vmgen.app.check import check_file
from sel4vmgen.app.planfile import parse_plan
from sel4vmgen.model import load
from sel4vmgen.plan import resolve_all
from sel4vmgen.plan.model import Plan, Region, VmPlan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
REAL = json.loads((ROOT / "tests" / "data" / "real_apps_subset.json").read_text())["cases"]
# Fixed CAmkES instances on x86 that VM_COMPOSITION_DEF always brings and the Plan leaves implicit.
IMPLICIT = {"pci_config", "rtc"}
FIXED_TYPES = {"fserv": "FileServer", "serial": "SerialServer", "time_server": "TimeServer"}


def plan_for(example: str, platform: str) -> Plan:
    loaded = load(ROOT / "examples" / f"{example}.yaml")
    plans = dict(zip(loaded.system.platforms, resolve_all(loaded), strict=True))
    return plans[platform]


# ------------------------------------------------------------------ the plan, as settings


def _untyped(r: Region) -> tuple[int, int]:
    return (r.paddr if r.paddr is not None else r.guest or 0, r.size.bit_length() - 1)


def _mmio(r: Region) -> tuple[int, int, int]:
    return (r.paddr if r.paddr is not None else r.guest or 0, r.size, r.page_bits)


def _arm_address(vm: VmPlan) -> dict[str, int]:
    ram = vm.ram
    out = {
        "ram_base": ram.guest or 0,
        "ram_paddr_base": ram.paddr or 0,
        "ram_size": ram.size,
        "dtb_addr": vm.dtb.guest if vm.dtb and vm.dtb.guest is not None else -1,
        "initrd_addr": vm.initrd.guest if vm.initrd and vm.initrd.guest is not None else -1,
        "kernel_entry_addr": vm.kernel.guest or 0,
    }
    if vm.initrd is not None and vm.initrd.max_size is not None:
        out["initrd_max_size"] = vm.initrd.max_size
    return out


def _arm_vm(vm: VmPlan, plan: Plan) -> dict[str, Any]:
    i = vm.instance
    out: dict[str, Any] = {
        f"{i}.base_prio": vm.priority,
        f"{i}._priority": vm.irq_server_priority,
        f"{i}.num_vcpus": vm.vcpus,
        f"{i}.untyped_mmios": [_untyped(r) for r in vm.untyped_mmios],
        f"{i}.mmios": [_mmio(r) for r in vm.mmios],
        f"{i}.dtb_irqs": list(vm.dtb_irqs),
        f"{i}.plat_keep_devices": list(vm.keep_devices),
        f"{i}.plat_keep_devices_and_subtree": list(vm.keep_devices_and_subtree),
        f"{i}.address": _arm_address(vm),
        f"{i}.kernel_name": vm.kernel.fs_name,
        f"{i}.initrd_name": vm.initrd.fs_name if vm.initrd else "",
        f"{i}.cmdline": vm.cmdline,
        f"{i}.stdout": vm.stdout,
        f"{i}.dtb_paths": list(vm.dtb_nodes),
        f"{i}.dtb_compatibles": list(vm.dtb_compatibles),
        f"{i}.dtb_image": vm.dtb.fs_name if vm.dtb else None,
        f"{i}.dtb_mode": vm.dtb_mode,
        f"{i}.map_one_to_one": vm.map_one_to_one,
        f"{i}.clean_cache": vm.clean_cache,
        f"{i}.vswitch_mac_address": vm.mac,
    }
    out[f"{i}.irqs"] = list(vm.irqs)  # written when not empty (VM_Arm's default is [])
    for s in vm.settings:
        out[f"{i}.{s.name}"] = list(s.value) if isinstance(s.value, tuple) else s.value
    for end in vm.virtqueues:
        size = next(q.shmem_size for q in plan.virtqueues if end in q.ends)
        out |= {
            f"{i}.{end.send}_id": end.send_id,
            f"{i}.{end.recv}_id": end.recv_id,
            f"{i}.{end.send}_shmem_size": size,
            f"{i}.{end.recv}_shmem_size": size,
        }
    out[f"{i}.vswitch_layout"] = [
        {"mac_addr": peer.mac, "recv_id": end.recv_id, "send_id": end.send_id}
        for end in vm.virtqueues
        for q in plan.virtqueues
        if end in q.ends
        for peer in q.ends
        if peer is not end
    ]
    for dp in vm.dataports:
        out |= {f"{i}.{dp.name}_id": dp.id, f"{i}.{dp.name}_size": dp.size}
    if vm.ram_dataport is not None:  # the RAM shared for introspection, and its connection
        ram = vm.ram_dataport
        out |= {
            f"{i}.{ram.name}_hardware_cached": False,
            f"{i}_{ram.name}_conn.paddr": vm.ram.paddr,
            f"{i}_{ram.name}_conn.size": ram.size,
        }
    return out


def _x86_vm(vm: VmPlan, plan: Plan) -> dict[str, Any]:
    i = vm.instance
    out: dict[str, Any] = {
        f"{i}.guest_ram_mb": vm.ram.size >> 20,
        f"{i}.iospace_domain": vm.iospace_domain,
        f"{i}.kernel_cmdline": vm.cmdline,
        f"{i}.kernel_image": vm.kernel.fs_name,
        f"{i}.kernel_relocs": vm.kernel_relocs,
        f"{i}.initrd_image": vm.initrd.fs_name if vm.initrd else None,
    }
    for s in vm.settings:
        out[f"{i}.{s.name}"] = list(s.value) if isinstance(s.value, tuple) else s.value
    out[f"{i}.untyped_mmios"] = [
        f"0x{r.paddr or 0:x}:{r.size.bit_length() - 1}" for r in vm.untyped_mmios
    ]
    out[f"{i}.exclude_paddr"] = [[r.paddr, r.size] for r in vm.exclude_paddr]
    out[f"{i}.vm_ioports"] = [
        {"end": p.end, "name": p.name, "pci_device": p.pci_device, "start": p.start}
        for p in vm.ioports
    ]
    if vm.framebuffer:
        out[f"{i}.simple_extra_bootinfo"] = ["SEL4_BOOTINFO_HEADER_X86_VBE"]
    if vm.blk_partitions:
        out[f"{i}.sataserver_iface_partitions"] = list(vm.blk_partitions)
        out[f"{i}.init_cons"] = [{"init": "make_virtio_blk"}]
    out[f"{i}.pci_devices"] = [
        {
            "bus": p.bus,
            "dev": p.dev,
            "fun": p.fun,
            "irq": p.name,
            "memory": [
                {"paddr": m.paddr, "page_bits": m.page_bits, "size": m.size} for m in p.memory
            ],
            "name": p.name,
        }
        for p in vm.pci_devices
    ]
    out[f"{i}.vm_irqs"] = [
        {
            "active_low": int(r.active_low),
            "dest": r.virq,
            "level_trig": int(r.trigger == "level"),
            "name": r.name,
            "source": r.source,
        }
        for r in plan.irq_routes
        if r.vm == i and r.kind == "passthrough"
    ]
    for end in vm.virtqueues:
        out |= {f"{i}.{end.send}_id": end.send_id, f"{i}.{end.recv}_id": end.recv_id}
    for dp in vm.dataports:
        out |= {f"{i}.{dp.name}_id": dp.id, f"{i}.{dp.name}_size": dp.size}
    return out


def camkes_view(plan: Plan) -> dict[str, Any]:
    """The Plan as instance settings, keyed like real-apps (ARM boot settings normalised)."""
    out: dict[str, Any] = {}
    for t in plan.threads:
        if t.role == "time_server":
            out["time_server.priority"] = t.priority
        if t.role == "serial" and plan.arch == "x86":
            out["serial.serial_irq_priority"] = t.priority
    for vm in plan.vms:
        out |= _arm_vm(vm, plan) if plan.arch == "arm" else _x86_vm(vm, plan)
    return out


# ------------------------------------------------------------------ the real app, normalised


def _int(text: str | int) -> int:
    return text if isinstance(text, int) else int(text, 16)


def _parse_untyped(entry: str) -> tuple[int, int]:
    paddr, bits = entry.split(":")
    return int(paddr, 16), int(bits)


def _parse_mmio(entry: str) -> tuple[int, int, int]:
    paddr, size, bits = entry.split(":")
    return int(paddr, 16), int(size, 16), int(bits)


_LEGACY_ADDRESS = {
    "linux_ram_base": "ram_base",
    "linux_ram_paddr_base": "ram_paddr_base",
    "linux_ram_size": "ram_size",
    "dtb_addr": "dtb_addr",
    "initrd_addr": "initrd_addr",
    "initrd_max_size": "initrd_max_size",
}


def _real_arm(inst: str, attr: str, value: Any, out: dict[str, Any]) -> None:
    k = f"{inst}."
    if attr == "untyped_mmios":
        out[k + attr] = [_parse_untyped(e) for e in value]
    elif attr == "mmios":
        out[k + attr] = [_parse_mmio(e) for e in value]
    elif attr == "dtb":
        nodes = [n for n in value["dtb_query_nodes"] if n is not None]
        out[k + "dtb_nodes"] = nodes
    elif attr == "linux_address_config":
        out[k + "address"] = {
            _LEGACY_ADDRESS[a]: _int(v) for a, v in value.items() if a in _LEGACY_ADDRESS
        }
    elif attr == "vm_address_config":
        out[k + "address"] = {a: _int(v) for a, v in value.items()}
    elif attr in ("linux_image_config", "vm_image_config"):
        _real_image(k, value, out)
    elif attr == "allow_smc":
        out[k + attr] = bool(value)
    else:
        out[k + attr] = value


def _real_image(k: str, cfg: dict[str, Any], out: dict[str, Any]) -> None:
    out[k + "kernel_name"] = cfg.get("linux_name", cfg.get("kernel_name"))
    out[k + "initrd_name"] = cfg["initrd_name"]
    out[k + "cmdline"] = cfg.get("linux_bootcmdline", cfg.get("kernel_bootcmdline"))
    out[k + "stdout"] = cfg.get("linux_stdout", cfg.get("kernel_stdout"))
    if "generate_dtb" in cfg:
        out[k + "dtb_mode"] = "generate" if cfg["generate_dtb"] else "provide"
        out[k + "dtb_image"] = cfg["dtb_base_name"] or None
        out[k + "map_one_to_one"] = bool(cfg["map_one_to_one"])
        out[k + "clean_cache"] = bool(cfg["clean_cache"])


def _renamed(case: dict[str, Any], name: str) -> str:
    """A real instance name as sel4vmgen names that instance (the case's `renamed`)."""
    renamed: dict[str, str] = case.get("renamed", {})
    return renamed.get(name, name)


def real_view(case: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in case["settings"].items():
        key = _renamed(case, key)
        inst, attr = key.split(".", 1)
        inst = _renamed(case, inst)
        key = f"{inst}.{attr}"
        if case["platform"] == "pc99" or not inst.startswith("vm"):
            out[key] = value
        else:
            _real_arm(inst, attr, value, out)
    return out


def _plan_instances(plan: Plan) -> dict[str, str]:
    out = {vm.instance: vm.component for vm in plan.vms}
    out |= {c.name: c.type for c in plan.components}
    out |= {q.instance: "VirtQueueInit" for q in plan.virtqueues}
    out |= {t.name: FIXED_TYPES[t.name] for t in plan.threads if t.name in FIXED_TYPES}
    if plan.sata is not None:  # SATA_COMPOSITION_DEF() of camkes-vm configurations/sata.h
        out["sataserver"] = "Sataserver"
    return out


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("key", sorted(REAL))
def test_example_matches_real_app_settings(key: str) -> None:
    case = REAL[key]
    plan = plan_for(case["example"], case["platform"])
    mine = camkes_view(plan)
    real = real_view(case)
    for name, value in sorted(real.items()):
        if name.endswith(".dtb_nodes"):
            inst = name.split(".")[0]
            paths, compatibles = mine[f"{inst}.dtb_paths"], mine[f"{inst}.dtb_compatibles"]
            assert value[: len(paths)] == paths, name
            assert len(value) == len(paths) + len(compatibles), name
            continue
        if name.endswith(".address") and "initrd_max_size" not in value:
            mine[name].pop("initrd_max_size", None)
        if name.endswith(".address") and "kernel_entry_addr" not in value:
            mine[name].pop("kernel_entry_addr", None)
        if name.endswith(".initrd_name") and plan.vm(name.split(".")[0]).initrd is None:
            continue  # the default name of an initrd that is not loaded (below)
        if name.endswith(".address") and plan.vm(name.split(".")[0]).initrd is None:
            # No initrd is loaded (VmInitRdFile off): the real app's initrd_addr and
            # initrd_max_size are unused copies of the board template; sel4vmgen writes none.
            value = {k: v for k, v in value.items() if not k.startswith("initrd_")}
            mine[name] = {k: v for k, v in mine[name].items() if not k.startswith("initrd_")}
        assert mine.get(name) == value, name


@pytest.mark.parametrize("key", sorted(REAL))
def test_example_has_real_app_instances(key: str) -> None:
    case = REAL[key]
    plan = plan_for(case["example"], case["platform"])
    skip = IMPLICIT | set(case.get("not_compared", ()))
    real = {
        _renamed(case, k): v for k, v in case["instances"].items() if "." not in k and k not in skip
    }
    mine = {k: v for k, v in _plan_instances(plan).items() if k not in skip}
    assert mine == real


def test_every_real_combination_is_compared_or_says_why_not() -> None:
    every = json.loads((ROOT / "tests" / "data" / "real_settings.json").read_text())
    not_mirrored = json.loads((ROOT / "tests" / "data" / "real_apps_subset.json").read_text())[
        "_not_mirrored"
    ]
    assert set(REAL).isdisjoint(not_mirrored)
    assert sorted(set(REAL) | set(not_mirrored)) == every["combinations"]


def test_every_example_is_compared_or_is_minimal_only() -> None:
    compared = {c["example"] for c in REAL.values()}
    # The Microkit examples mirror libvmm's examples, compared in test_generate_microkit.py.
    camkes = {p.stem for p in EXAMPLES if not p.stem.startswith("microkit_")}
    assert camkes == compared


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_validates_without_errors(path: Path) -> None:
    checked = check_file(path)
    assert checked.ok, [f"{d.code} {d.message}" for d in checked.diagnostics]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_starts_with_schema_comment(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/system.schema.json"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_plan_json_round_trips_exactly(path: Path) -> None:
    for plan in resolve_all(load(path)):
        text = plan.to_json()
        again = parse_plan(text, path.name)
        assert again == plan
        assert again.to_json() == text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_plan_json_is_read_back_by_the_checked_reader(path: Path, tmp_path: Path) -> None:
    """What `simulate APP` reads: plan.json through the reader that refuses corrupt plans
    (strings such as the Sataserver's "0xf090:0xf097,..." port list are not numbers)."""
    from sel4vmgen.app.planfile import read_plan

    for n, plan in enumerate(resolve_all(load(path))):
        file = tmp_path / f"plan{n}.json"
        file.write_text(plan.to_json())
        assert read_plan(file) == plan


def _plan_output(path: Path, seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    cmd = [sys.executable, "-m", "sel4vmgen", "plan", str(path)]
    done = subprocess.run(cmd, env=env, capture_output=True, check=True, cwd=ROOT)
    return done.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_plan_command_is_deterministic_across_runs_and_hash_seeds(path: Path) -> None:
    outputs = {_plan_output(path, seed) for seed in ("0", "12345", "0")}
    assert len(outputs) == 1
    assert json.loads(outputs.pop())


def test_tx2_guest_ram_is_split_like_the_real_app() -> None:
    vm = plan_for("vm_minimal", "tx2").vms[0]
    got = [f"0x{p:X}:{b}" for p, b in map(_untyped, vm.untyped_mmios)]
    assert got == [
        "0x3886000:12",
        "0xF1000000:24",
        "0xF2000000:25",
        "0xF4000000:26",
        "0xF8000000:24",
    ]


def test_vm_multi_layout_is_what_sel4vmgen_would_choose_itself() -> None:
    """The example writes the app's addresses; the defaults give the same layout."""
    loaded = load(ROOT / "examples" / "vm_multi.yaml")
    stripped = loaded.system.model_copy(
        update={
            "vms": tuple(
                vm.model_copy(
                    update={
                        "ram": vm.ram.model_copy(update={"base": None, "paddr": None})
                        if vm.ram
                        else None,
                        "dtb": None,
                        "initrd": vm.initrd.model_copy(update={"address": None})
                        if vm.initrd
                        else None,
                    }
                )
                for vm in loaded.system.vms
            )
        }
    )
    from sel4vmgen.plan import resolve
    from sel4vmgen.platforms import load as platform

    auto = resolve(stripped, platform("qemu-arm-virt"))
    written = resolve(loaded.system, platform("qemu-arm-virt"))
    for a, w in zip(auto.vms, written.vms, strict=True):
        assert (a.ram, a.kernel.guest) == (w.ram, w.kernel.guest)
        assert a.initrd is not None and w.initrd is not None
        assert a.initrd.guest == w.initrd.guest
        assert a.dtb_mode == w.dtb_mode == "generate"


# ---------------------------------------------------------------- warnings are deliberate


def _warnings_of(example: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """Every warning `validate` and `generate` print for the example."""
    from conftest import run_cli

    found: list[dict[str, Any]] = []
    for args in (("validate",), ("generate", "-o", str(tmp_path / example.stem))):
        run = run_cli(args[0], str(example), *args[1:], "--format", "json")
        assert run.exit_code == 0, run.stdout + run.stderr
        found += [d for d in json.loads(run.stdout) if d["severity"] == "warning"]
    return found


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_warning_an_example_gives_is_explained_where_it_points(
    example: Path, tmp_path: Path
) -> None:
    """A warning on an example is deliberate: the line it points at (or, for one with no place,
    some line) carries `# CODE, deliberate: why`."""
    lines = example.read_text(encoding="utf-8").splitlines()
    for d in _warnings_of(example, tmp_path):
        marker = f"# {d['code']}, deliberate: "
        if d.get("line"):
            assert marker in lines[d["line"] - 1], (d["line"], d["message"])
        else:
            assert any(marker in line for line in lines), d["message"]
