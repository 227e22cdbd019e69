"""The configuration data of a Microkit VM's sDDF subsystems, serialised by sdfgen.

The Plan decides the subsystems (plan/microkit_sddf.py); sdfgen 0.35.1 owns the binary
format the sDDF components and the VMM read from their ELF sections, so it serialises it
(`serialise_config`, as libvmm 0.2.0 examples/virtio_mmio/meta.py does).  sdfgen is driven
with the Plan's names, priorities and MAC address, on device trees and driver resources
made from the Plan and the board's facts; the SDF it then renders must agree with the
Plan's in every region, map, IRQ and channel number, or nothing is written.  The files are
returned as base64 text (`<name>.data.b64`), decoded by the generated Makefile.

sdfgen (and fdt, which compiles the device trees it reads) is imported here only, when a
Plan has virtio devices.
"""

from __future__ import annotations

import base64
import json
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sel4vmgen.render.env import RenderError

if TYPE_CHECKING:
    from sel4vmgen.plan.microkit_model import MicrokitSystem, MkPd
    from sel4vmgen.plan.model import Plan, VmPlan
    from sel4vmgen.platforms.model import SddfDevice, SddfFacts

REGS_SIZE = 0x1000  # sDDF drivers/*/config.json "regs": size 4096, dt_index 0
# Driver folders sdfgen 0.35.1 opens besides the ones used (it reports each one missing).
PROBED = ("timer", "blk/mmc", "i2c", "gpu", "gpio")


@dataclass(frozen=True)
class DataFile:
    """One serialised configuration file and where the Makefile puts it: the ELF section
    of the program it configures (libvmm 0.2.0 examples/virtio_mmio/virtio_mmio.mk)."""

    name: str
    section: str
    program: str


def data_files(vmm: MkPd, mk: MicrokitSystem) -> tuple[DataFile, ...]:
    """The files sdfgen writes for the subsystems of `vmm`, with their sections."""
    kinds = {v.kind for v in vmm.virtio}
    pds = {pd.name: pd.program_image for pd in mk.pds}
    out: list[DataFile] = []
    if "console" in kinds:
        out += [
            DataFile("serial_driver_device_resources", ".device_resources", pds["serial_driver"]),
            DataFile("serial_driver_config", ".serial_driver_config", pds["serial_driver"]),
            DataFile("serial_virt_rx", ".serial_virt_rx_config", pds["serial_virt_rx"]),
            DataFile("serial_virt_tx", ".serial_virt_tx_config", pds["serial_virt_tx"]),
            DataFile(f"serial_client_{vmm.name}", ".serial_client_config", vmm.program_image),
        ]
    if "blk" in kinds:
        out += [
            DataFile("blk_driver_device_resources", ".device_resources", pds["blk_driver"]),
            DataFile("blk_driver", ".blk_driver_config", pds["blk_driver"]),
            DataFile("blk_virt", ".blk_virt_config", pds["blk_virt"]),
            DataFile(f"blk_client_{vmm.name}", ".blk_client_config", vmm.program_image),
        ]
    if "net" in kinds:
        copier = next(p for p in mk.pds if p.program_image == "network_copy.elf")
        out += [
            DataFile("eth_driver_device_resources", ".device_resources", pds["eth_driver"]),
            DataFile("net_driver", ".net_driver_config", pds["eth_driver"]),
            DataFile("net_virt_rx", ".net_virt_rx_config", pds["net_virt_rx"]),
            DataFile("net_virt_tx", ".net_virt_tx_config", pds["net_virt_tx"]),
            DataFile(f"net_copy_{copier.name}", ".net_copy_config", copier.program_image),
            DataFile(f"net_client_{vmm.name}", ".net_client_config", vmm.program_image),
        ]
    return tuple(out)


def _cells(value: int) -> str:
    return f"0x{value >> 32:x} 0x{value & 0xFFFFFFFF:x}"


def _node(
    name: str, compatible: tuple[str, ...], base: int, size: int, spi: int, flags: int
) -> str:
    compat = ", ".join(f'"{c}"' for c in compatible)
    return (
        f"\t{name} {{\n\t\tcompatible = {compat};\n"
        f"\t\treg = <{_cells(base)} {_cells(size)}>;\n"
        f"\t\tinterrupts = <0x0 0x{spi:x} 0x{flags:x}>;\n\t}};\n"
    )


_GIC = (
    '\tintc@8000000 {\n\t\tphandle = <0x8001>;\n\t\tcompatible = "arm,cortex-a15-gic";\n'
    "\t\t#interrupt-cells = <0x3>;\n\t\tinterrupt-controller;\n"
    "\t\treg = <REGS>;\n\t};\n"
)


def _tree(body: str, gic: tuple[int, ...]) -> str:
    regs = " ".join(_cells(v) for v in gic)
    return (
        "/dts-v1/;\n/ {\n\t#address-cells = <0x2>;\n\t#size-cells = <0x2>;\n"
        "\tinterrupt-parent = <0x8001>;\n" + _GIC.replace("REGS", regs) + body + "};\n"
    )


def host_dts(facts: SddfFacts, gic: tuple[int, ...]) -> str:
    """The nodes of the board's device tree the sDDF drivers read (sDDF dts/<board>.dts)."""
    body = ""
    for dev in (facts.serial, facts.blk, facts.net):
        flags = 4 if dev.trigger == "level" else 1
        body += _node(dev.node, dev.compatible, dev.paddr, dev.size, dev.irq - 32, flags)
    return _tree(body, gic)


def guest_dts(vm: VmPlan, vmm: MkPd, gic: tuple[int, ...]) -> str:
    """What sdfgen reads of the guest's device tree: its RAM, initrd and virtio windows,
    with the Plan's numbers (the guest's own tree is render/dts.py's)."""
    ram = vm.ram.guest or 0
    body = f'\tmemory@{ram:x} {{\n\t\tdevice_type = "memory";\n\t\treg = <{_cells(ram)} {_cells(vm.ram.size)}>;\n\t}};\n'
    if vm.initrd is not None and vm.initrd.guest is not None:
        start = vm.initrd.guest
        end = start + (vm.initrd.max_size or vm.initrd.size or 0)
        body += (
            f"\tchosen {{\n\t\tlinux,initrd-start = <0x{start:x}>;\n"
            f"\t\tlinux,initrd-end = <0x{end:x}>;\n\t}};\n"
        )
    for v in vmm.virtio:
        body += _node(f"virtio_mmio@{v.base:x}", ("virtio,mmio",), v.base, v.size, v.irq - 32, 4)
    return _tree(body, gic)


def _driver_json(dev: SddfDevice) -> str:
    """The driver's resources as its sDDF config.json states them."""
    regions: list[dict[str, Any]] = [
        {"name": "regs", "perms": "rw", "size": REGS_SIZE, "dt_index": 0}
    ]
    for name, size, cached in dev.regions:
        regions.append({"name": name, "size": size, **({"cached": True} if cached else {})})
    return json.dumps(
        {
            "compatible": list(dev.compatible),
            "resources": {"regions": regions, "irqs": [{"dt_index": 0}]},
        }
    )


def _sddf_tree(root: Path, facts: SddfFacts) -> None:
    """An sDDF tree holding only what sdfgen reads of it: the drivers' config.json."""
    for probed in PROBED:
        (root / "drivers" / probed).mkdir(parents=True, exist_ok=True)
    for dev in (facts.serial, facts.blk, facts.net):
        folder = root / "drivers" / dev.driver
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(_driver_json(dev), encoding="utf-8")


def _dtb(text: str) -> bytes:
    import fdt

    blob: bytes = fdt.parse_dts(text).to_dtb(version=17)
    return blob


def _gic_regs(plan: Plan) -> tuple[int, ...]:
    gic = plan.gic
    if gic is None:
        raise RenderError("a Microkit plan with virtio devices has no GIC")
    frame = 0x10000
    return (gic.dist, frame, gic.cpu, frame, gic.hyp, frame, gic.vcpu, frame)


def _drive(plan: Plan, vm: VmPlan, vmm: MkPd, facts: SddfFacts, out_dir: Path) -> str:
    """Build the subsystems with sdfgen from the Plan's names, serialise their configuration
    into `out_dir`, and return the SDF sdfgen renders for them."""
    import sdfgen

    mk = plan.microkit
    assert mk is not None
    sd = sdfgen.SystemDescription
    root = out_dir / "sddf"
    _sddf_tree(root, facts)
    gic = _gic_regs(plan)
    host = sdfgen.DeviceTree(_dtb(host_dts(facts, gic)))
    guest = sdfgen.DeviceTree(_dtb(guest_dts(vm, vmm, gic)))
    system = sd(sd.Arch.AARCH64, facts.paddr_top)
    sdfgen.Sddf(str(root))
    pds: dict[str, Any] = {}
    for pd in mk.pds:
        if pd.role == "sddf" or pd.name == vmm.name:
            pds[pd.name] = sd.ProtectionDomain(
                pd.name,
                pd.program_image,
                priority=pd.priority,
                budget=pd.budget,
                period=pd.period,
                stack_size=pd.stack_size,
            )
    machine = vmm.vm
    assert machine is not None
    vm_sd = sd.VirtualMachine(
        machine.name, [sd.VirtualMachine.Vcpu(id=v.id) for v in machine.vcpus]
    )
    client = sdfgen.Vmm(system, pds[vmm.name], vm_sd, guest)
    subsystems: list[Any] = []
    for v in vmm.virtio:
        node = guest.node(f"virtio_mmio@{v.base:x}")
        if v.kind == "console":
            serial = sdfgen.Sddf.Serial(
                system,
                host.node(facts.serial.node),
                pds["serial_driver"],
                pds["serial_virt_tx"],
                virt_rx=pds["serial_virt_rx"],
                enable_color=False,
            )
            client.add_virtio_mmio_console(node, serial)
            subsystems.append(serial)
        elif v.kind == "blk":
            blk = sdfgen.Sddf.Blk(
                system, host.node(facts.blk.node), pds["blk_driver"], pds["blk_virt"]
            )
            client.add_virtio_mmio_blk(node, blk, partition=v.partition or 0)
            subsystems.append(blk)
        else:
            net = sdfgen.Sddf.Net(
                system,
                host.node(facts.net.node),
                pds["eth_driver"],
                pds["net_virt_tx"],
                pds["net_virt_rx"],
            )
            copier = next(p for p in mk.pds if p.program_image == "network_copy.elf")
            client.add_virtio_mmio_net(
                node, net, copier=pds[copier.name], vswitch=False, mac_addr=v.mac
            )
            subsystems.append(net)
    for pd in pds.values():
        system.add_pd(pd)
    for sub in (*subsystems, client):
        if not sub.connect() or not sub.serialise_config(str(out_dir)):
            raise RenderError(f"sdfgen could not build the sDDF subsystems of {vm.instance}")
    text: str = system.render()
    return text


Facts = set[tuple[str, ...]]


def _sdf_facts(root: ET.Element, pds: set[str], skip_mr: set[str]) -> Facts:
    """Every number of the PDs `pds` in an SDF: their maps (bar `skip_mr`), IRQs and
    channels, and the regions they map."""
    out: Facts = set()
    mapped: set[str] = set()
    for pd in root.iter("protection_domain"):
        name = pd.get("name", "")
        if name not in pds:
            continue
        for m in pd.findall("map"):
            mr = m.get("mr", "")
            if mr in skip_mr:
                continue
            mapped.add(mr)
            cached = m.get("cached", "true")
            vaddr = hex(int(m.get("vaddr", "0"), 0))
            out.add(("map", name, mr, vaddr, m.get("perms", ""), cached))
        for q in pd.findall("irq"):
            out.add(("irq", name, q.get("irq", ""), q.get("id", ""), q.get("trigger", "level")))
    for r in root.iter("memory_region"):
        if r.get("name", "") in mapped:
            phys = r.get("phys_addr")
            out.add(
                (
                    "mr",
                    r.get("name", ""),
                    hex(int(r.get("size", "0"), 0)),
                    hex(int(phys, 0)) if phys else "",
                )
            )
    for c in root.iter("channel"):
        ends = c.findall("end")
        if all(e.get("pd") in pds for e in ends):
            out.add(("channel", *(f"{e.get('pd')}:{e.get('id')}" for e in ends)))
    return out


def disagreement(plan_sdf: str, sdfgen_sdf: str, vmm: MkPd, mk: MicrokitSystem) -> list[str]:
    """What differs between the Plan's SDF and sdfgen's for the sDDF subsystems of `vmm`
    (the VMM's guest RAM, its virtual machine and passthrough IRQs are the Plan's alone)."""
    pds = {pd.name for pd in mk.pds if pd.role == "sddf"} | {vmm.name}
    guest_mrs = {m.mr for m in vmm.maps if m.setvar_vaddr} | {
        r.get("name", "")
        for r in ET.fromstring(sdfgen_sdf).iter("memory_region")
        if r.get("name", "").startswith("guest_ram_")
    }
    ours = {
        f
        for f in _sdf_facts(ET.fromstring(plan_sdf), pds, guest_mrs)
        if not (f[0] == "irq" and f[1] == vmm.name)
    }
    theirs = _sdf_facts(ET.fromstring(sdfgen_sdf), pds, guest_mrs)
    return [f"plan only: {f}" for f in sorted(ours - theirs)] + [
        f"sdfgen only: {f}" for f in sorted(theirs - ours)
    ]


def config_files(plan: Plan, plan_sdf: str) -> dict[str, str]:
    """`<name>.data.b64` for every configuration file of the Plan's sDDF subsystems."""
    mk = plan.microkit
    if mk is None or mk.sddf is None:
        return {}
    out: dict[str, str] = {}
    for vm in plan.vms:
        vmm = next((p for p in mk.pds if p.vm_instance == vm.instance and p.virtio), None)
        if vmm is None:
            continue
        with tempfile.TemporaryDirectory(prefix="sel4vmgen-sddf-") as tmp:
            made = _drive(plan, vm, vmm, mk.sddf, Path(tmp))
            wrong = disagreement(plan_sdf, made, vmm, mk)
            if wrong:
                raise RenderError(
                    f"sdfgen's system for {vm.instance} differs from the plan: "
                    + "; ".join(wrong[:6])
                )
            for f in data_files(vmm, mk):
                blob = (Path(tmp) / f"{f.name}.data").read_bytes()
                out[f"{f.name}.data.b64"] = base64.encodebytes(blob).decode("ascii")
    return out
