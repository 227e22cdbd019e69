"""Native components: their ends of virtio-net links, their CakeML build and their settings.

A component at the end of a virtio-net link is a node of camkes-vm's vswitch, as the
CakeMLFilter `vm2` of camkes-vm-examples apps/x86/zmq_samples/zmq_cakeml.camkes @dd7da62:
its interfaces are `ether_<peer>_send` / `_recv` (connections.h
VM_CONNECTION_COMPONENT_DEF), it links camkes-vm's `vswitch` library (zmq_samples
CMakeLists.txt:31-32 `LIBS vswitch`), and it takes the global-endpoint badge space the VMs
take (camkes-vm components/VM/configurations/vm.h @ad66b65 VM_PER_VM_CONFIG_DEF:
`global_endpoint_mask = 0x1fffffff & ~0x1fffe`, `global_endpoint_base = 1 << 27`), which the
app's `VM_PER_VM_CONFIG_DEF(2)` gives it.  A CakeML component gets `environment =
"cakeml"` (zmq_cakeml.camkes) and its library scripts configured in the build folder in the
order written, each extending the theory before it, the first camkesStart (zmq_samples
libs/cakeml_helpers.cmake, CakeMLPP).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from sel4vmgen.model.system import CakeML, Component, System
from sel4vmgen.plan.links import Links, instances
from sel4vmgen.plan.model import CakemlLibrary, CakemlPlan, ComponentPlan, Setting

# camkes-vm components/VM/configurations/vm.h @ad66b65, VM_PER_VM_CONFIG_DEF
GLOBAL_ENDPOINT_MASK = 0x1FFFFFFF & ~0x1FFFE
GLOBAL_ENDPOINT_BASE = 1 << 27
# The library a vswitch node links (zmq_samples CMakeLists.txt `LIBS vswitch`)
VSWITCH_LIB = "vswitch"
# The theory camkes-tool generates first for a CakeML component (camkes-gen.cmake
# camkesStartScript.sml), which the first library extends
CAKEML_FIRST_THEORY = "camkesStart"
SCRIPT_SUFFIX = "Script.sml"


def component_plans(system: System, links: Links) -> tuple[ComponentPlan, ...]:
    """Every native component of the system, in the order written."""
    names = instances(system)
    x86 = system.arch == "x86"
    return tuple(_component(c, names[c.name][0], links, x86) for c in system.components)


def _component(comp: Component, index: int, links: Links, x86: bool) -> ComponentPlan:
    """One component: its vswitch ends on x86 (and what they bring; an ARM component's
    link ends are the VM's virtqueue peers, vm_virtio_net), CakeML build and settings."""
    ends = tuple(links.ends.get(comp.name, ())) if x86 else ()
    return ComponentPlan(
        comp.name,
        comp.type,
        tuple(comp.sources),
        comp.priority,
        virtqueues=ends,
        index=index if ends else None,
        cakeml=None if comp.cakeml is None else cakeml_plan(comp.type, comp.cakeml),
        libs=(VSWITCH_LIB,) if ends else (),
        settings=_settings(comp, bool(ends)),
    )


def _settings(comp: Component, vswitch: bool) -> tuple[Setting, ...]:
    """heap_size, the untyped pools of its `simple`, the global-endpoint badge space of a
    vswitch node, and the CakeML environment."""
    out: list[Setting] = []
    if comp.heap_size is not None:
        out.append(Setting("heap_size", comp.heap_size))
    if comp.untyped_pools:
        out += [Setting("simple", True), Setting("asid_pool", True)]
        out += [
            Setting(f"simple_untyped{b}_pool", comp.untyped_pools[b])
            for b in sorted(comp.untyped_pools)
        ]
    if vswitch:
        out.append(Setting("global_endpoint_mask", GLOBAL_ENDPOINT_MASK))
        out.append(Setting("global_endpoint_base", GLOBAL_ENDPOINT_BASE))
    if comp.cakeml is not None:
        out.append(Setting("environment", "cakeml"))
    return tuple(out)


def theory(script: str) -> str:
    """The HOL theory a script defines: its file name without `Script.sml`."""
    return PurePosixPath(script).name.removesuffix(SCRIPT_SUFFIX)


def cakeml_plan(comp_type: str, cakeml: CakeML) -> CakemlPlan:
    """The CakeML build: library scripts chained from camkesStart, configured under the
    build folder's components/<type>/."""
    libraries: list[CakemlLibrary] = []
    extends = CAKEML_FIRST_THEORY
    for lib in cakeml.libraries:
        name = PurePosixPath(lib).name
        configured = f"${{CMAKE_CURRENT_BINARY_DIR}}/components/{comp_type}/{name}"
        libraries.append(CakemlLibrary(lib, configured, extends))
        extends = theory(lib)
    return CakemlPlan(
        tuple(cakeml.sources),
        tuple(libraries),
        tuple(cakeml.includes),
        cakeml.heap_size,
        cakeml.stack_size,
    )
