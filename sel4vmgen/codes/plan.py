"""Diagnostic codes of plan resolution (E3xx).

`resolve` runs on systems the rules accepted, so these mean a system that
got past the rules but still cannot be laid out; each comes with the place
in the file that caused it.
"""

from __future__ import annotations

from sel4vmgen.codes import Code

CODES: tuple[Code, ...] = (
    Code(
        "E301",
        "one file-server name for two different files",
        "Two VMs give the same file-server name (kernel.name, initrd.name) to different image "
        "files; the file server holds one file per name.  No longer given: `validate` "
        "refuses it at its line as E281.",
        "vms:\n  - name: a\n    kernel: {image: a/Image, name: linux}\n"
        "  - name: b\n    kernel: {image: b/Image, name: linux}",
    ),
    Code(
        "E302",
        "no guest RAM layout",
        "The VM gives no RAM base and the platform has no default guest layout to take it from.  "
        "No longer given: every ARM platform's data has one; resolve reports E309 if not.",
        "vms:\n  - name: vm0\n    ram: {size: 256MiB}   # no base, on a platform with no guest layout",
    ),
    Code(
        "E303",
        "guest RAM not a whole number of MiB",
        "x86 guest RAM is given to camkes-vm as `guest_ram_mb`, so its size must be a multiple "
        "of 1 MiB.  No longer given: `validate` refuses such a size at its line as E211.",
        "ram: {size: 0x1000}",
    ),
    Code(
        "E304",
        "connection names no such VM or component",
        "A virtio_net or cross_vm connection names a VM or component the system does not declare.  "
        "No longer given: `validate` refuses it at its line as E228.",
        "connections:\n  - {type: virtio_net, between: [vm0, vm9]}   # there is no vm9",
    ),
    Code(
        "E305",
        "unknown platform",
        "The system names a platform sel4vmgen has no data for; `sel4vmgen platforms` lists them.  "
        "No longer given: `validate` refuses it at its line as E204.",
        "platform: rpi4",
    ),
    Code(
        "E306",
        "no free interrupt",
        "The platform has no free interrupt for the virtio or cross-VM notifications the VM needs.  "
        "No longer given: `validate` refuses it at its line as E280.",
        "platform: tx1   # camkes-vm lists no free IRQ for tx1\nvms:\n  - name: vm0\n    virtio: {console: true}",
    ),
    Code(
        "E308",
        "platform data lacks a setting the system needs",
        "The system needs a CMake setting the platform's data file does not give (for "
        "instance the kernel timer options a TimeServer needs, which a virtio console brings "
        "in); sel4vmgen does not guess it.  No longer given: `validate` refuses it as E249.",
        "platform: tx2\nvms:\n  - name: vm0\n    virtio: {console: true}",
    ),
    Code(
        "E309",
        "internal error in plan resolution",
        "Resolution assumes a system the rules accepted, on platform data its loader "
        "accepted.  This one breaks that assumption: a rule is missing or wrong, which is a "
        "bug in sel4vmgen.  Please report it with the system file and the command that ran.",
        "",
    ),
)
