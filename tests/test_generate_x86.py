"""The x86 backend and `sel4vmgen generate`: golden apps, settings read back against plan.json,
the real camkes-vm-examples apps, hostile strings, and the writer's guarantees end to end."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from x86_plans import (
    KERNEL,
    MIB,
    PLANS,
    minimal,
    optiplex9020,
    passthrough,
    plan,
    vm_plan,
    zmq_samples,
)

import sel4vmgen.app.generate as app_generate
import sel4vmgen.render as render
from sel4vmgen.app.check import check_file
from sel4vmgen.app.generate import app_files
from sel4vmgen.app.planfile import parse_plan
from sel4vmgen.app.writer import MANIFEST
from sel4vmgen.cli import cli
from sel4vmgen.diagnostics import Diagnostic, DiagnosticError
from sel4vmgen.plan.model import (
    ComponentPlan,
    Dataport,
    Event,
    Image,
    Plan,
    Setting,
    Virtqueue,
    VirtqueueEnd,
    VmPlan,
)
from sel4vmgen.render import RenderContext
from sel4vmgen.render.env import RenderError, render_template
from sel4vmgen.sim.run import quick_check_scope

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "x86"
REAL = json.loads((Path(__file__).resolve().parent / "data" / "real_x86_subset.json").read_text())

CTX = RenderContext(Path("/images-root"), "x")


def rendered(p: Plan) -> dict[str, str]:
    return app_files([p], CTX)


# ---------------------------------------------------------------- golden apps


def compare_golden(files: dict[str, str], folder: Path) -> None:
    """The whole output equals the golden folder; UPDATE_GOLDEN=1 rewrites the folder."""
    if os.environ.get("UPDATE_GOLDEN") == "1":
        if folder.exists():
            for old in sorted(folder.rglob("*"), reverse=True):
                old.unlink() if old.is_file() else old.rmdir()
        for rel, text in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, "utf-8")
    on_disk = {
        p.relative_to(folder).as_posix(): p.read_text("utf-8")
        for p in folder.rglob("*")
        if p.is_file()
    }
    assert sorted(on_disk) == sorted(files)
    for rel, text in files.items():
        assert text == on_disk[rel], f"{folder.name}/{rel} differs from the golden file"


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_renders_to_the_golden_app(name: str) -> None:
    compare_golden(rendered(PLANS[name]()), GOLDEN / f"plan-{name}")


def test_rendering_is_byte_identical_across_runs() -> None:
    assert rendered(optiplex9020()) == rendered(optiplex9020())


def test_app_has_the_camkes_vm_example_files() -> None:
    files = rendered(optiplex9020())
    assert sorted(files) == [
        "CMakeLists.txt",
        "README.md",
        "app_settings.cmake",
        "optiplex9020.camkes",
        "plan.json",
        "src/cross_vm_connections.c",
    ]


# ---------------------------------------------------------------- reading the .camkes back

_SETTING = re.compile(r"^\s*([A-Za-z_][\w.]*)\.(\w+)\s*=\s*(.*);\s*$")
_HEX = re.compile(r'("[^"]*")|\b0x([0-9a-fA-F]+)\b')


def camkes_value(text: str) -> Any:
    """A one-line CAmkES value as Python data: strings, hex/decimal ints, true/false, lists."""
    text = text.strip()
    if text in ("true", "false"):
        return int(text == "true")
    # CAmkES strings have no escapes; JSON's need backslashes doubled
    as_json = _HEX.sub(
        lambda m: json.dumps(m.group(1)[1:-1]) if m.group(1) else str(int(m.group(2), 16)), text
    )
    return json.loads(as_json)


def camkes_settings(text: str) -> dict[str, Any]:
    """Every `instance.attribute = value;` line of a generated .camkes file."""
    found: dict[str, Any] = {}
    for line in text.splitlines():
        m = _SETTING.match(line)
        if m:
            key = f"{m.group(1)}.{m.group(2)}"
            assert key not in found, f"{key} set twice"
            found[key] = camkes_value(m.group(3))
    return found


def plan_settings(p: Plan) -> dict[str, Any]:
    """What plan.json says each VM's attributes are (the same names camkes-vm uses)."""
    out: dict[str, Any] = {}
    for vm in p.vms:
        a = vm.instance
        out[f"{a}.guest_ram_mb"] = vm.ram.size // MIB
        out[f"{a}.kernel_cmdline"] = vm.cmdline
        out[f"{a}.kernel_image"] = vm.kernel.fs_name
        if vm.kernel_relocs is not None:
            out[f"{a}.kernel_relocs"] = vm.kernel_relocs
        if vm.initrd:
            out[f"{a}.initrd_image"] = vm.initrd.fs_name
        if vm.iospace_domain is not None:
            out[f"{a}.iospace_domain"] = vm.iospace_domain
        if vm.priority != 254:  # CAmkESDefaultPriority: the attribute is left out
            out[f"{a}.priority"] = vm.priority
        for s in vm.settings:
            out[f"{a}.{s.name}"] = list(s.value) if isinstance(s.value, tuple) else s.value
        for dp in vm.dataports:
            out[f"{a}.{dp.name}_id"], out[f"{a}.{dp.name}_size"] = dp.id, dp.size
        if vm.ioports:
            out[f"{a}.vm_ioports"] = [
                {"start": i.start, "end": i.end, "pci_device": i.pci_device, "name": i.name}
                for i in vm.ioports
            ]
        out.update(virtqueue_settings(p, vm))
        if vm.untyped_mmios:
            out[f"{a}.untyped_mmios"] = [
                f"0x{r.paddr or 0:x}:{r.size.bit_length() - 1}" for r in vm.untyped_mmios
            ]
        if vm.framebuffer:
            out[f"{a}.simple_extra_bootinfo"] = ["SEL4_BOOTINFO_HEADER_X86_VBE"]
        if vm.exclude_paddr:
            out[f"{a}.exclude_paddr"] = [[r.paddr, r.size] for r in vm.exclude_paddr]
        if vm.blk_partitions:
            out[f"{a}.sataserver_iface_attributes"] = str(vm.index)
            out[f"{a}.sataserver_iface_partitions"] = list(vm.blk_partitions)
        routes = [r for r in p.irq_routes if r.vm == a and r.kind == "passthrough"]
        if routes:
            out[f"{a}.vm_irqs"] = [
                {
                    "name": r.name,
                    "source": r.source,
                    "level_trig": int(r.trigger == "level"),
                    "active_low": int(r.active_low),
                    "dest": r.virq,
                }
                for r in routes
            ]
    return out


def instance_index(p: Plan, instance: str) -> int:
    """The connections.h number of a VM or of a vswitch component."""
    comps = {c.name: c.index for c in p.components if c.index is not None}
    return comps[instance] if instance in comps else p.vm(instance).index


def virtqueue_settings(p: Plan, vm: VmPlan) -> dict[str, Any]:
    """The settings camkes-vm's VM_CONNECTION_CONFIG makes, with the plan's numbers."""
    out: dict[str, Any] = {}
    layout = []
    for end in vm.virtqueues:
        link = next(q for q in p.virtqueues if end in q.ends)
        other = link.ends[1] if link.ends[0] == end else link.ends[0]
        me, peer = vm.index, instance_index(p, other.vm)
        pre = f"{vm.instance}.ether_{peer}"
        out[f"{pre}_send_id"], out[f"{pre}_recv_id"] = end.send_id, end.recv_id
        out[f"{pre}_send_attributes"], out[f"{pre}_recv_attributes"] = f"{me}{peer}", f"{peer}{me}"
        out[f"{pre}_send_shmem_size"] = out[f"{pre}_recv_shmem_size"] = link.shmem_size
        out[f"{vm.instance}.vswitch_mac_address"] = end.mac
        layout.append({"mac_addr": other.mac, "send_id": end.send_id, "recv_id": end.recv_id})
    if layout:
        out[f"{vm.instance}.vswitch_layout"] = layout
    return out


@pytest.mark.parametrize("make", [*PLANS.values(), passthrough], ids=[*PLANS, "passthrough"])
def test_camkes_settings_read_back_equal_plan_json(make: Callable[[], Plan]) -> None:
    files = rendered(make())
    from_json = parse_plan(files["plan.json"], "plan.json")
    written = camkes_settings(files[f"{from_json.system}.camkes"])
    expected = plan_settings(from_json)
    for vm in from_json.vms:
        mine = {k: v for k, v in written.items() if k.startswith(vm.instance + ".")}
        want = {k: v for k, v in expected.items() if k.startswith(vm.instance + ".")}
        want.pop(f"{vm.instance}.pci_devices", None)
        mine.pop(f"{vm.instance}.pci_devices", None)
        assert mine == want, vm.instance


def test_virtqueue_topology_joins_each_send_end_to_the_peers_receive_end() -> None:
    written = camkes_settings(rendered(zmq_samples())["zmq_samples.camkes"])
    assert written["init.init_topology"] == [
        {"drv": f"vm{a}.ether_{b}_send", "dev": f"vm{b}.ether_{a}_recv"}
        for a, b in ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1))
    ]


def test_pci_devices_name_their_interrupt_by_its_vm_irqs_entry() -> None:
    written = camkes_settings(rendered(passthrough())["passthrough.camkes"])
    assert written["vm0.pci_devices"] == [
        {
            "name": "eth",
            "bus": 5,
            "dev": 0,
            "fun": 0,
            "irq": "eth",
            "memory": [{"paddr": 0xC0500000, "size": 0x20000, "page_bits": 12}],
        }
    ]


# ---------------------------------------------------------------- against the real apps

_MACRO = re.compile(
    r"^\s*(VM_COMPOSITION_DEF|VM_PER_VM_COMP_DEF|VM_CONFIGURATION_DEF|VM_PER_VM_CONFIG_DEF)\((\d*)\)\s*$"
)
_INSTANCE = re.compile(r"^\s*component\s+(\w+)\s+(\w+);\s*$")
_CONNECTION = re.compile(r"^\s*connection\s+(\w+)\s+\w+\(((?:\s*(?:from|to)\s+[\w.]+,?)+)\);\s*$")
_CONNECTION_END = re.compile(r"(from|to)\s+([\w.]+)")
_TOPOLOGY = re.compile(r"^#define VM(\d+)_topology_def\(f\) f\(\d+,([\d,]+)\)$")
_INIT_HANDLER = re.compile(r"^\s*VM_CONNECTION_INIT_HANDLER\((\d+),topology_def\),$")
_REAL_CONNECTION = re.compile(r"^(\w+): \[(.*)\] -> \[(.*)\]$")
_END = re.compile(r"\('([\w.]+)', '(\w+)'\)")


def expand(text: str, n: str) -> Any:
    return text.replace("{n}", n)


def resolved_app(camkes: str) -> dict[str, Any]:
    """Instances, connections (connector, from, to) and settings after the vm.h macros run."""
    macros = REAL["vm_h"]
    instances: dict[str, str] = {}
    connections: set[tuple[str, str, str]] = set()
    settings = camkes_settings(camkes)
    for line in camkes.splitlines():
        if m := _MACRO.match(line):
            facts, n = macros[m.group(1)], m.group(2)
            for k, v in facts.get("instances", {}).items():
                instances[expand(k, n)] = expand(v, n)
            connections |= {tuple(expand(x, n) for x in c) for c in facts.get("connections", [])}
            for k, v in facts.get("settings", {}).items():
                settings[expand(k, n)] = expand(v, n) if isinstance(v, str) else v
        elif m := _INSTANCE.match(line):
            instances[m.group(2)] = m.group(1)
        elif m := _CONNECTION.match(line):
            ends = _CONNECTION_END.findall(m.group(2))
            tos = [e for kind, e in ends if kind == "to"]
            connections |= {(m.group(1), e, t) for kind, e in ends if kind == "from" for t in tos}
    settings |= init_handlers(camkes)
    return {"instances": instances, "connections": connections, "settings": settings}


def init_handlers(camkes: str) -> dict[str, Any]:
    """`vm<n>.init_cons` as camkes-vm configurations/connections.h @ad66b65 expands
    VM_CONNECTION_INIT_HANDLER(n, topology_def): per peer of VM<n>_topology_def a
    driver-dummy entry for its send and its receive queue, then make_virtio_net_vswitch."""
    peers = {
        m.group(1): m.group(2).split(",") for m in map(_TOPOLOGY.match, camkes.splitlines()) if m
    }
    out: dict[str, Any] = {}
    for m in filter(None, map(_INIT_HANDLER.match, camkes.splitlines())):
        n = m.group(1)
        rows: list[dict[str, str]] = [
            {
                "badge": f"ether_{p}_{q}_notification_badge()",
                "init": "make_virtio_net_vswitch_driver_dummy",
                "irq": "virtio_net_notify_vswitch",
            }
            for p in peers[n]
            for q in ("send", "recv")
        ]
        out[f"vm{n}.init_cons"] = [*rows, {"init": "make_virtio_net_vswitch"}]
    return out


def real_connections(lines: list[str]) -> set[tuple[str, str, str]]:
    """The real apps' `C: [(from...)] -> [(to)]` lines as (connector, from, to) triples."""
    out: set[tuple[str, str, str]] = set()
    for line in lines:
        m = _REAL_CONNECTION.match(line)
        assert m, line
        tos = [f"{a}.{b}" for a, b in _END.findall(m.group(3))]
        out |= {(m.group(1), f"{a}.{b}", t) for a, b in _END.findall(m.group(2)) for t in tos}
    return out


# Deliberate differences from the real apps (docs/x86.md): optiplex9020 also connects
# StringReverse's optional `putchar` to the serial server, and sets `pci_devices_iospace` on VMs
# that have no PCI devices; sel4vmgen writes only what the system describes.
MISSING_BY_DESIGN: dict[str, dict[str, set[Any]]] = {
    "optiplex9020": {
        "connections": {("seL4RPCCall", "string_reverse.putchar", "serial.processed_putchar")},
        "settings": {"vm0.pci_devices_iospace", "vm1.pci_devices_iospace"},
    },
    "minimal": {"connections": set(), "settings": set()},
    # zmq_cakeml.camkes also writes VM_PER_VM_CONFIG_DEF(2), the VM attributes and
    # VM_CONNECTION_INIT_HANDLER(2) on its CakeMLFilter `vm2`, which declares none of them
    # (no fs or serial_getchar interface, no VMM), and pci_devices_iospace on VMs without
    # PCI devices; sel4vmgen writes only attributes the instance has.
    "zmq_cakeml": {
        "connections": set(),
        "settings": {
            "vm0.pci_devices_iospace",
            "vm1.pci_devices_iospace",
            *(
                f"vm2.{a}"
                for a in (
                    "fs_shmem_size",
                    "serial_getchar_attributes",
                    "serial_getchar_shmem_size",
                    "guest_ram_mb",
                    "kernel_cmdline",
                    "kernel_image",
                    "kernel_relocs",
                    "initrd_image",
                    "iospace_domain",
                    "pci_devices_iospace",
                    "init_cons",
                )
            ),
        },
    },
}
# cma34cr_centos's network stack is not generated (docs/x86.md): the Ethernet driver
# (Ethdriver82574 with its hardware HWEthDriver82574, MMIO, IRQ, IOMMU space and DMA
# allocator), the Firewall between it and vm0, the UDP servers and Echo over lwIP, and vm0's
# virtio-net device backed by the driver (`ethdriver_mac`, `make_virtio_net`).  Both cma34cr
# apps set `pci_devices_iospace` as the other apps do, and centos connects StringReverse's
# optional putchar to the serial server, as optiplex9020.
CMA34CR_NETWORK = {
    "HWEthdriver": "HWEthDriver82574",
    "echo": "Echo",
    "ethdriver": "Ethdriver82574",
    "firewall": "Firewall",
    "udpserver0": "UDPServer",
    "udpserver1": "UDPServer",
}
MISSING_BY_DESIGN["cma34cr_centos"] = {
    "instances": set(CMA34CR_NETWORK),
    "connections": {
        (
            "DynamicUntypedAllocatorEnvironment",
            "ethdriver.init_dynamic_init1",
            "ethdriver.init_dynamic_init2",
        ),
        ("seL4Ethdriver", "firewall.ethdriver", "ethdriver.client"),
        ("seL4Ethdriver", "udpserver0.ethdriver", "ethdriver.client"),
        ("seL4Ethdriver", "udpserver1.ethdriver", "ethdriver.client"),
        ("seL4Ethdriver", "vm0.ethdriver", "firewall.client"),
        ("seL4GlobalAsynchCallback", "firewall.dummy", "firewall.ethdriver_has_data"),
        ("seL4HardwareInterrupt", "HWEthdriver.irq", "ethdriver.irq"),
        ("seL4HardwareMMIO", "ethdriver.EthDriver", "HWEthdriver.mmio"),
        ("seL4RPCCall", "string_reverse.putchar", "serial.processed_putchar"),
        ("seL4UDPRecv", "echo.echo2_recv", "udpserver1.client_recv"),
        ("seL4UDPRecv", "echo.echo_recv", "udpserver0.client_recv"),
        ("seL4UDPSend", "echo.echo2_send", "udpserver1.client_send"),
        ("seL4UDPSend", "echo.echo_send", "udpserver0.client_send"),
        ("x86IOSpaceDMA", "ethdriver.init_iospaces_init1", "ethdriver.init_iospaces_init2"),
    },
    "settings": {"vm0.ethdriver_mac", "vm0.init_cons", "vm0.pci_devices_iospace"},
}
MISSING_BY_DESIGN["cma34cr_ubuntu"] = {
    "connections": set(),
    "settings": {"vm0.pci_devices_iospace"},
}
# Settings sel4vmgen writes that the real app leaves to a default: zmq_cakeml's virtqueue
# sizes (the plan's 4 KiB, the seL4VirtQueues connector's one-page default, written out so
# that the .camkes says what plan.json says).
EXTRA_BY_DESIGN: dict[str, set[str]] = {
    "zmq_cakeml": {
        f"{inst}.ether_{peer}_{q}_shmem_size"
        for inst, peer in (("vm0", 2), ("vm1", 2), ("vm2", 0), ("vm2", 1))
        for q in ("send", "recv")
    },
}


def assert_like_the_real_app(name: str, camkes: str) -> None:
    """Instances, connections and settings equal the real app's, but for MISSING_BY_DESIGN."""
    ours, real, skip = resolved_app(camkes), REAL[name], MISSING_BY_DESIGN[name]
    missing = skip.get("instances", set())
    assert ours["instances"] == {k: v for k, v in real["instances"].items() if k not in missing}
    assert missing <= set(real["instances"])
    assert skip["connections"] <= real_connections(real["connections"])
    assert skip["settings"] <= set(real["settings"])
    assert ours["connections"] == real_connections(real["connections"]) - skip["connections"]
    extra = EXTRA_BY_DESIGN.get(name, set())
    compared = {
        k: v
        for k, v in ours["settings"].items()
        if (k.split(".")[0] in {"serial", "time_server"} or k.startswith("vm")) and k not in extra
    }
    assert extra <= set(ours["settings"])
    assert compared == {k: v for k, v in real["settings"].items() if k not in skip["settings"]}


@pytest.mark.parametrize("name", ["minimal", "optiplex9020"])
def test_generated_app_resolves_like_the_real_app(name: str) -> None:
    assert_like_the_real_app(name, rendered(PLANS[name]())[f"{name}.camkes"])


# Names the generated .camkes may use (plus `<dataport>_id` / `<dataport>_size`, the settings
# apps/x86/optiplex9020 gives each cross-VM dataport, and the virtqueue ones below), each with
# where camkes-vm or camkes-tool defines it.
ALLOWED_ATTRIBUTES = {
    # camkes-vm components/VM/configurations/vm.h, VM_INIT_DEF()
    "kernel_cmdline",
    "kernel_image",
    "kernel_relocs",
    "initrd_image",
    "iospace_domain",
    "guest_ram_mb",
    "cnode_size_bits",
    # camkes-vm components/Init/templates/*.template.c (configuration[me.name].get(...))
    "vm_ioports",
    "vm_irqs",
    "pci_devices",
    "pci_devices_iospace",
    "init_cons",
    "exclude_paddr",
    "guest_mappings",
    # camkes-vm vm.h VM_INIT_DEF() and connections.h __CONFIG_EXPAND_PERVM
    "vswitch_mac_address",
    "vswitch_layout",
    # camkes-tool's simple/component templates
    "heap_size",
    "simple_untyped20_pool",
    "simple_untyped21_pool",
    "simple_untyped22_pool",
    "simple_untyped23_pool",
    "simple_untyped24_pool",
    "simple_untyped25_pool",
    "priority",
    "_priority",
    "asid_pool",
    "untyped_mmios",
    "simple_extra_bootinfo",  # the extra boot information a component's simple gets
    # camkes-vm configurations/sata.h VM_INIT_SATA(): the Sataserver client interface
    "sataserver_iface_attributes",
    "sataserver_iface_partitions",
    "dma_pool",  # camkes-tool's DMA pool of a component
    # camkes-tool: a component's `simple` (simple.c template) and its global endpoint's badge
    # space (templates/macros.py global_endpoint_badges); camkes-gen.cmake `environment`
    "simple",
    "global_endpoint_mask",
    "global_endpoint_base",
    "environment",
}
ALLOWED_MACROS = {
    # camkes-vm components/VM/configurations/vm.h
    "VM_INIT_DEF",
    "VM_COMPOSITION_DEF",
    "VM_PER_VM_COMP_DEF",
    "VM_CONFIGURATION_DEF",
    "VM_PER_VM_CONFIG_DEF",
    # camkes-vm components/VM/configurations/connections.h
    "VM_CONNECTION_COMPONENT_DEF",
    "VM_CONNECTION_CONNECT_VMS",
    "VM_CONNECTION_CONFIG",
    "VM_CONNECTION_INIT_HANDLER",
    # camkes-vm components/VM/configurations/sata.h
    "VM_INIT_SATA",
    "SATA_COMPOSITION_DEF",
    "VM_SATA_CONNECTIONS",
    "VM_SATA_CONFIG",
}
# camkes-vm components/Sataserver/Sataserver.camkes (the attributes virtio_blk_sample sets)
SATASERVER_ATTRIBUTES = {"ioports", "iospaces", "pci_bdfs", "iospace_id", "num_bdfs", "drive"}
_CALL = re.compile(r"\b([A-Z][A-Z0-9_]{3,})\(")


def assert_only_camkes_vm_names(p: Plan, text: str) -> None:
    """Every attribute and macro in `text` is one camkes-vm or camkes-tool defines."""
    per_app = {f"{d.name}_{s}" for v in p.vms for d in v.dataports for s in ("id", "size")}
    # connections.h __CONFIG_PER_CONNECTION: per virtqueue interface id, attributes, shmem size
    ends = [e for v in p.vms for e in v.virtqueues] + [
        e for c in p.components for e in c.virtqueues
    ]
    per_app |= {
        f"{iface}_{s}"
        for e in ends
        for iface in (e.send, e.recv)
        for s in ("id", "attributes", "shmem_size")
    }
    # connections.h VM_CONNECTION_CONFIG: the VirtQueueInit instance's topology
    per_app.add("init_topology")
    for key in camkes_settings(text):
        inst, attr = key.split(".", 1)
        if inst == "sataserver":
            assert attr in SATASERVER_ATTRIBUTES, key
            continue
        assert attr in ALLOWED_ATTRIBUTES | per_app, key
    local = set(re.findall(r"#define (\w+)\(", text))
    assert {c for c in _CALL.findall(text) if c not in local} <= ALLOWED_MACROS


@pytest.mark.parametrize("make", [*PLANS.values(), passthrough], ids=[*PLANS, "passthrough"])
def test_only_names_camkes_vm_defines_are_emitted(make: Callable[[], Plan]) -> None:
    p = make()
    assert_only_camkes_vm_names(p, rendered(p)[f"{p.system}.camkes"])


# ---------------------------------------------------------------- hostile strings

HOSTILE = "back \\ slash */ /* %s %n ?? $HOME ${X} ; #define vm0 \\\\"


def cmake_unquote(arg: str) -> str:
    """What CMake reads from a quoted argument (escapes only; no variable references)."""
    assert arg.startswith('"') and arg.endswith('"'), arg
    body, out, i = arg[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            assert body[i] != '"' and body[i : i + 2] != "${", body
            out.append(body[i])
            i += 1
    return "".join(out)


def test_hostile_cmdline_stays_one_camkes_string() -> None:
    p = plan("hostile", "x86_64", (vm_plan(0, cmdline=HOSTILE),))
    text = rendered(p)["hostile.camkes"]
    assert camkes_settings(text)["vm0.kernel_cmdline"] == HOSTILE
    assert text.count("*/") == 1 + HOSTILE.count("*/")  # the header comment, and the string


@pytest.mark.parametrize(
    ("cmdline", "message"),
    [
        ("a\nvm0.heap_size = 1;", "a CAmkES string cannot hold the control character '\\n'"),
        ('a"; vm0.heap_size = 1; //', "a CAmkES string cannot hold a double quote: "),
        ("root=\\", "a CAmkES string cannot end with an odd run of backslashes: "),
    ],
)
def test_what_a_camkes_string_cannot_hold_is_refused(cmdline: str, message: str) -> None:
    p = plan("hostile", "x86_64", (vm_plan(0, cmdline=cmdline),))
    with pytest.raises(DiagnosticError) as e:
        rendered(p)
    [d] = e.value.diagnostics
    assert d.code == "E405"
    assert d.message.startswith(message)


def test_hostile_image_path_stays_one_cmake_argument() -> None:
    path = '/imgs/a "b" \\ c $e ${F'
    image = Image("initrd", "rootfs.cpio", path)
    text = rendered(
        plan("hostile", "x86_64", (vm_plan(0, initrd=image),), file_server=(KERNEL, image))
    )["CMakeLists.txt"]
    line = next(ln for ln in text.splitlines() if ln.startswith('AddToFileServer("rootfs.cpio"'))
    arg = line[len('AddToFileServer("rootfs.cpio" ') : -1]
    assert cmake_unquote(arg) == path


def test_image_path_with_a_semicolon_is_refused_not_mangled() -> None:
    image = Image("initrd", "rootfs.cpio", "/imgs/a;b")
    with pytest.raises(DiagnosticError) as e:
        rendered(
            plan("hostile", "x86_64", (vm_plan(0, initrd=image),), file_server=(KERNEL, image))
        )
    assert [(d.code, d.message) for d in e.value.diagnostics] == [
        ("E405", "a ';' cannot be written in a CMake argument: '/imgs/a;b'")
    ]


@pytest.mark.parametrize(
    "field",
    [
        {"dataports": (Dataport("dp1 */", 4096, "c", "d", 1),)},
        {"settings": (Setting("heap_size; vm0.x", 1),)},
    ],
)
def test_names_that_are_not_identifiers_are_refused(field: dict[str, Any]) -> None:
    with pytest.raises(DiagnosticError, match="E405"):
        rendered(plan("hostile", "x86_64", (vm_plan(0, **field),)))


@pytest.mark.parametrize("name", ["../evil", "a/b", "/abs"])
def test_system_names_that_leave_the_folder_are_refused(name: str) -> None:
    with pytest.raises(DiagnosticError) as e:
        rendered(plan(name, "x86_64", (vm_plan(0),)))
    assert e.value.diagnostics[0].code == "E405"
    assert "is not a C identifier" in e.value.diagnostics[0].message


def test_cross_vm_events_need_a_dataport_each() -> None:
    ev = (Event("a", "from_vm", "c", "a"), Event("b", "from_vm", "c", "b"))
    dps = (Dataport("dp1", 4096, "c", "d", 1),)
    with pytest.raises(DiagnosticError, match="2 cross-VM events but 1 dataports"):
        rendered(plan("x", "x86_64", (vm_plan(0, dataports=dps, events=ev),)))


def vswitch_plan(name: str = "vm1", event: str = "ready") -> Plan:
    """vm0 linked to a vswitch component `name` (index 1) that also consumes an event."""
    a = VirtqueueEnd("vm0", "ether_1_send", "ether_1_recv", 0, 1, "02:00:00:00:AA:01")
    b = VirtqueueEnd(name, "ether_0_send", "ether_0_recv", 0, 1, "02:00:00:00:AA:02")
    dps = (Dataport("dp1", 4096, name, "d", 1),)
    ev = (Event("e", "from_vm", name, event),)
    comp = ComponentPlan(
        name, "Filter", ("${CAKEMLDIR}/f.c",), virtqueues=(b,), index=1, libs=("vswitch",)
    )
    vm = vm_plan(0, virtqueues=(a,), dataports=dps, events=ev)
    return plan(
        "x", "x86_64", (vm,), components=(comp,), virtqueues=(Virtqueue("init0", (a, b), 4096),)
    )


def test_a_vswitch_component_gets_its_ends_and_self_notification() -> None:
    text = rendered(vswitch_plan())["components/Filter/Filter.camkes"]
    assert "uses VirtQueueDrv ether_0_send;" in text and "consumes Callback virtqueue_wait;" in text


def test_a_vswitch_interface_declared_twice_is_refused() -> None:
    with pytest.raises(
        DiagnosticError, match="component vm1: interface virtqueue_wait is declared twice"
    ):
        rendered(vswitch_plan(event="virtqueue_wait"))


def test_a_vswitch_component_not_named_by_its_index_is_refused() -> None:
    with pytest.raises(DiagnosticError, match=r"connections\.h names a vswitch node vm<index>"):
        rendered(vswitch_plan(name="filter"))


# ---------------------------------------------------------------- the command, end to end


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid system file whose resolved plan is `minimal()` (resolution is tested elsewhere)."""
    src = tmp_path / "minimal.yaml"
    src.write_text((ROOT / "examples" / "minimal.yaml").read_text())
    monkeypatch.setattr(app_generate, "resolve_plans", lambda loaded: (minimal(),))
    return src


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["generate", *args])
    return result.exit_code, result.output


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_generate_writes_the_app_and_a_manifest(system: Path, tmp_path: Path) -> None:
    out = tmp_path / "app"
    code, output = run(str(system), "-o", str(out))
    assert code == 0, output
    assert sorted(tree(out)) == sorted([*rendered(minimal()), MANIFEST])
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["input_sha256"] == hashlib.sha256(system.read_bytes()).hexdigest()
    assert run(str(system), "-o", str(out)) == (0, f"up to date: {out}\n{quick_check_scope()}\n")


def test_edited_file_blocks_regeneration_without_force(system: Path, tmp_path: Path) -> None:
    out = tmp_path / "app"
    run(str(system), "-o", str(out))
    (out / "minimal.camkes").write_text("/* mine */\n")
    (out / "README.md").unlink()
    before = tree(out)
    code, output = run(str(system), "-o", str(out))
    assert code == 1
    assert (
        "error[E401]: files in the output folder were edited or not written by sel4vmgen; "
        "use --force to overwrite them: minimal.camkes" in output
    )
    assert tree(out) == before
    code, _ = run(str(system), "-o", str(out), "--force")
    assert code == 0
    assert (out / "minimal.camkes").read_text() == rendered(minimal())["minimal.camkes"]


def test_check_detects_one_changed_byte_and_writes_nothing(system: Path, tmp_path: Path) -> None:
    out = tmp_path / "app"
    run(str(system), "-o", str(out))
    assert run(str(system), "-o", str(out), "--check")[0] == 0
    data = bytearray((out / "app_settings.cmake").read_bytes())
    data[-2] ^= 1
    (out / "app_settings.cmake").write_bytes(bytes(data))
    before = tree(out)
    code, output = run(str(system), "-o", str(out), "--check")
    assert code == 1
    assert (
        f"error[E402]: {out / 'app_settings.cmake'} differs from what would be generated" in output
    )
    assert output.count("E402") == 1
    assert tree(out) == before


def test_a_template_failing_half_way_leaves_the_old_output(
    system: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "app"
    run(str(system), "-o", str(out))
    before = tree(out)
    import sel4vmgen.render.x86 as x86

    real = render_template

    def failing(env: Any, name: str, **values: Any) -> str:
        if name == "app.camkes.j2":
            raise RenderError("template app.camkes.j2: boom")
        return real(env, name, **values)

    monkeypatch.setattr(x86, "render_template", failing)
    monkeypatch.setattr(app_generate, "resolve_plans", lambda loaded: (optiplex9020(),))
    code, output = run(str(system), "-o", str(out))
    assert (code, output.splitlines()[0]) == (1, "error[E405]: template app.camkes.j2: boom")
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app", "minimal.yaml"]


def test_symlink_planted_in_the_output_folder_is_refused(
    system: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, outside = tmp_path / "app", tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "src").symlink_to(outside)
    monkeypatch.setattr(app_generate, "resolve_plans", lambda loaded: (optiplex9020(),))
    code, output = run(str(system), "-o", str(out), "--force")
    assert code == 1
    assert "error[E403]: refusing to write src/cross_vm_connections.c: src is a symlink" in output
    assert list(outside.iterdir()) == []


def test_output_folder_that_is_a_file_exits_2(system: Path, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code, output = run(str(system), "-o", str(target))
    assert code == 2
    assert f"error[E404]: {target} exists and is not a folder" in output


def test_simulation_violation_blocks_writing_unless_no_simulate(
    system: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    violation = Diagnostic("E501", "vm0: an interrupt was lost")
    monkeypatch.setattr(app_generate, "simulate_plans", lambda plans, doc=None: (violation,))
    out = tmp_path / "app"
    code, output = run(str(system), "-o", str(out))
    assert code == 1
    assert "error[E501]: vm0: an interrupt was lost" in output
    assert f"error[E407]: nothing written to {out}: the simulation found violations" in output
    assert not out.exists()
    assert run(str(system), "-o", str(out), "--no-simulate")[0] == 0
    assert (out / "minimal.camkes").exists()


def test_invalid_system_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\narch: x86\nsel4_arch: ia32\nplatform: pc99\nvms: []\n")
    code, output = run(str(bad), "-o", str(tmp_path / "app"))
    assert code == 1
    assert "error[E" in output
    assert not (tmp_path / "app").exists()


def test_missing_system_file_exits_2(tmp_path: Path) -> None:
    code, output = run(str(tmp_path / "none.yaml"), "-o", str(tmp_path / "app"))
    assert code == 2
    assert "E001" in output


# ---------------------------------------------------------------- the x86 examples


def x86_examples() -> list[str]:
    """Every CAmkES example system for x86, by file stem (new examples join automatically)."""
    found = []
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        text = path.read_text("utf-8")
        if re.search(r"^arch:\s*x86\s*$", text, re.M) and "microkit" not in text:
            found.append(path.stem)
    return found


def generate_example(stem: str, out: Path) -> dict[str, str]:
    """Generate an example into `out`; the files, with the examples folder written `<examples>`."""
    checked = check_file(ROOT / "examples" / f"{stem}.yaml")
    assert checked.ok and checked.loaded is not None, checked.diagnostics
    result = app_generate.generate(checked.loaded, out)
    assert result.ok
    examples = (ROOT / "examples").resolve().as_posix()
    raw = {
        p.relative_to(out).as_posix(): p.read_text("utf-8") for p in out.rglob("*") if p.is_file()
    }
    files = {rel: text.replace(examples, "<examples>") for rel, text in raw.items()}
    # The manifest hashes what was written; a file that names the checkout's examples folder
    # (images given relative to the system file) gets the hash of its `<examples>` form, so
    # the golden manifest does not depend on where the checkout is.
    manifest = files[MANIFEST]
    for rel, text in raw.items():
        if text != files[rel]:
            written = hashlib.sha256(text.encode()).hexdigest()
            assert written in manifest, rel
            manifest = manifest.replace(written, hashlib.sha256(files[rel].encode()).hexdigest())
    files[MANIFEST] = manifest
    return files


@pytest.mark.parametrize("stem", x86_examples())
def test_example_generates_the_golden_app(stem: str, tmp_path: Path) -> None:
    files = generate_example(stem, tmp_path / stem)
    manifest = json.loads(files[MANIFEST])
    assert manifest["input_sha256"] == json.loads(files["plan.json"])["input_sha256"] != ""
    compare_golden(files, GOLDEN / stem)
    again = generate_example(stem, tmp_path / "again")
    assert again == files  # byte-identical across runs


@pytest.mark.parametrize(
    "stem",
    [
        s
        for s in ("minimal", "optiplex9020", "zmq_cakeml", "cma34cr_centos", "cma34cr_ubuntu")
        if s in x86_examples()
    ],
)
def test_example_resolves_like_the_real_app(stem: str, tmp_path: Path) -> None:
    files = generate_example(stem, tmp_path / stem)
    assert_like_the_real_app(stem, files[f"{stem}.camkes"])


@pytest.mark.parametrize("stem", x86_examples())
def test_example_settings_read_back_equal_its_plan_json(stem: str, tmp_path: Path) -> None:
    files = generate_example(stem, tmp_path / stem)
    p = parse_plan(files["plan.json"], "plan.json")
    written = camkes_settings(files[f"{p.system}.camkes"])
    expected = plan_settings(p)
    for vm in p.vms:
        mine = {k: v for k, v in written.items() if k.startswith(vm.instance + ".")}
        want = {k: v for k, v in expected.items() if k.startswith(vm.instance + ".")}
        mine.pop(f"{vm.instance}.pci_devices", None)
        want.pop(f"{vm.instance}.pci_devices", None)
        assert mine == want, vm.instance


def test_json_format_reports_edited_files_for_machines(system: Path, tmp_path: Path) -> None:
    out = tmp_path / "app"
    run(str(system), "-o", str(out))
    (out / "README.md").write_text("mine\n")
    code, output = run(str(system), "-o", str(out), "--format", "json")
    assert code == 1
    assert json.loads(output) == [
        {
            "code": "E401",
            "hint": "pass --force to overwrite them",
            "message": "files in the output folder were edited or not written by sel4vmgen; "
            "use --force to overwrite them: README.md",
            "severity": "error",
        }
    ]


def test_two_kernels_with_one_file_name_are_refused() -> None:
    other = Image("kernel", "bzimage2", "/elsewhere/default_bzimage_4.8.16", format="bzImage")
    p = plan("two", "x86_64", (vm_plan(0), vm_plan(1, kernel=other)), file_server=(KERNEL, other))
    with pytest.raises(DiagnosticError) as e:
        rendered(p)
    assert [d.message for d in e.value.diagnostics] == [
        "two bzImage kernels are named 'default_bzimage_4.8.16'; rename one"
    ]


def test_each_distinct_kernel_is_decompressed_once() -> None:
    other = Image("kernel", "bzimage2", "/elsewhere/bzimage_other", format="bzImage")
    p = plan(
        "two",
        "x86_64",
        (vm_plan(0), vm_plan(1), vm_plan(2, kernel=other)),
        file_server=(KERNEL, KERNEL, other),
    )
    cmake = rendered(p)["CMakeLists.txt"]
    assert [ln for ln in cmake.splitlines() if ln.startswith(("Decompress", "AddTo"))] == [
        "DecompressLinuxKernel(extract_linux_kernel decompressed_kernel "
        '"${CAMKES_VM_LINUX_DIR}/images/kernel/default_bzimage_4.8.16")',
        'AddToFileServer("bzimage" ${decompressed_kernel} DEPENDS extract_linux_kernel)',
        'DecompressLinuxKernel(extract_linux_kernel_1 decompressed_kernel_1 "/elsewhere/bzimage_other")',
        'AddToFileServer("bzimage2" ${decompressed_kernel_1} DEPENDS extract_linux_kernel_1)',
    ]


def test_json_format_prints_one_document(system: Path, tmp_path: Path) -> None:
    out = tmp_path / "app"
    assert run(str(system), "-o", str(out), "--format", "json") == (0, "[]\n")
    (out / "README.md").unlink()
    (out / "minimal.camkes").write_text("changed\n")
    code, output = run(str(system), "-o", str(out), "--check", "--format", "json")
    assert code == 1
    assert [(d["code"], d["message"]) for d in json.loads(output)] == [
        ("E402", f"{out / name} differs from what would be generated")
        for name in ("README.md", "minimal.camkes")
    ]


@pytest.mark.parametrize("stem", x86_examples())
def test_example_emits_only_names_camkes_vm_defines(stem: str, tmp_path: Path) -> None:
    files = generate_example(stem, tmp_path / stem)
    p = parse_plan(files["plan.json"], "plan.json")
    assert_only_camkes_vm_names(p, files[f"{p.system}.camkes"])


@pytest.mark.parametrize("rel", ["../evil.txt", "/tmp/evil.txt", "src/../../evil.txt"])
def test_a_backend_path_leaving_the_folder_is_refused(
    rel: str, system: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "backend", lambda arch: lambda plans, ctx: {rel: "x\n"})
    out = tmp_path / "app"
    code, output = run(str(system), "-o", str(out))
    assert code == 1
    assert output.startswith(f"error[E403]: refusing to write {rel!r}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minimal.yaml"]
    assert not Path("/tmp/evil.txt").exists()
