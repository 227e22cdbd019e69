"""Facts fixed outside sel4vmgen that more than one stage needs, each defined once.

seL4's priority range bounds the model's priorities, the rules' room above a
VMM, the plan invariants and the simulated scheduler.  The Linux arm64 boot
protocol (Documentation/arch/arm64/booting.rst) is what the rules refuse, what
resolve places by and what the simulator checks again: the Image "must be
placed text_offset bytes from a 2MB aligned base address" (text_offset was
0x80000 before Linux 5.8 and is 0 since), and the DTB "must be placed on an
8-byte boundary and must not exceed 2 megabytes in size".  The GIC frames a
camkes-vm guest sees are one page each: the VMM emulates GICD in one page and
maps the host GICV page at GICC (libsel4vm vgic_v2.c, and every app's
`untyped_mmios` entry "<GICV>:12").
"""

from __future__ import annotations

from sel4vmgen.units import MIB, PAGE

# seL4_MaxPrio = CONFIG_NUM_PRIORITIES - 1, with KernelNumPriorities' default of 256
# (seL4/seL4 libsel4/include/sel4/constants.h, config.cmake).
SEL4_MAX_PRIO = 255

ARM64_IMAGE_ALIGN = 2 * MIB  # the Image's base is 2 MiB aligned ...
ARM64_TEXT_OFFSETS = (0x0, 0x80000)  # ... and it starts text_offset above it
ARM64_DTB_ALIGN = 8
ARM64_DTB_MAX = 2 * MIB

GIC_FRAME_SIZE = PAGE


def arm64_entry_ok(address: int) -> bool:
    """Whether an arm64 Image may start at `address`: text_offset above a 2 MiB boundary."""
    return address % ARM64_IMAGE_ALIGN in ARM64_TEXT_OFFSETS
