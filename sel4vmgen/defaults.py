"""What sel4vmgen chooses where the system file leaves a choice to it, when more than one
stage must know it: the file-server names a VM's images get (resolve and the rules), and
the simulation's scenario knobs (the model's defaults, the plan's, the simulator's).

They are the names the camkes-vm-examples apps use (apps/x86/minimal: `bzimage`,
`rootfs.cpio`; apps/Arm/vm_minimal: `linux`, `linux-initrd`, `linux-dtb`).  `resolve`
names the images with them and `rules/names.py` refuses two files under one name, so
both read them here.
"""

from __future__ import annotations

KERNEL_NAME = {"x86": "bzimage", "arm": "linux"}
INITRD_NAME = {"x86": "rootfs.cpio", "arm": "linux-initrd"}
DTB_NAME = "linux-dtb"


def written_dtb_name(instance: str, vms: int) -> str:
    """The file-server name of a DTB sel4vmgen writes from the plan (`dtb: {mode: provide}`
    without a file): `linux-dtb` alone, one per VM instance when there are several."""
    return DTB_NAME if vms == 1 else f"{DTB_NAME}-{instance}"


# The reference simulator's scenario when `simulation:` leaves a knob out: the model's
# defaults, `plan.model.DEFAULT_SIMULATION` and the simulator's own defaults are these.
SIMULATION: dict[str, int] = {
    "seed": 0,
    "duration_ms": 100,
    "timer_hz": 250,
    "device_irq_hz": 1000,
    "critical_section_us": 50,
    "max_states": 200_000,
    "max_depth": 200,
}
