"""E5xx: the properties the simulator checks, each with a stable code and its meaning."""

from __future__ import annotations

from sel4vmgen.codes import Code

CODES: tuple[Code, ...] = (
    Code(
        "E501",
        "interrupt injected when the guest cannot take it",
        "An interrupt reached the guest while it had interrupts disabled (x86 RFLAGS.IF = 0 or "
        "STI/MOV-SS blocking).  The VMM decided on a stale read of the guest's state: the guest "
        "ran between reading its state and writing the injection.",
        "sel4vmgen simulate system.yaml --explore --vmm-model x86_split",
    ),
    Code(
        "E502",
        "interrupt lost",
        "An interrupt that a device raised was neither delivered to the guest nor still pending "
        "anywhere (notification word, emulated PIC, VM-entry info, list register, VMM queue).  "
        "On ARM the usual cause is an InjectIRQ into a list register that is still PENDING: the "
        "kernel overwrites it.",
        "sel4vmgen simulate examples/vm_multi.yaml --explore --unchecked-lrs --interrupts 5",
    ),
    Code(
        "E503",
        "fault lost or answered twice",
        "A fault message (a VM exit or a VCPU fault sent to the VMM) vanished before it was "
        "answered, or was answered twice.  seL4_TCB_Suspend cancels a thread's IPC: a pending "
        "fault and its reply cap are discarded.",
        "sel4vmgen simulate examples/minimal.yaml --explore --vmm-model x86_split --suspend-to-stop",
    ),
    Code(
        "E504",
        "deadlock",
        "The system reached a state where no thread can run but work is left: an interrupt "
        "pending that will never be delivered, or a VCPU blocked on a reply nobody will send.",
        "sel4vmgen simulate system.yaml --explore   # a VCPU in WFI waits for an interrupt nobody injects",
    ),
    Code(
        "E505",
        "thread with pending work starved",
        "A runnable thread waited longer than the starvation bound (two timeslices by default) "
        "while other threads ran on its core.  A VMM thread at or below the priority of a VCPU "
        "that spins on the same core cannot serve that VCPU's faults or interrupts.",
        "vms:\n  - name: vm0\n    vmm:\n      priority: 100   # VCPU threads run at base_prio - 1",
    ),
    Code(
        "E506",
        "interrupt latency over the bound",
        "The time from a device raising an interrupt to the guest taking it exceeded the VM's "
        "stated `irq_latency_us` (or, when none is stated, one timeslice: 10 ms, the longest a VM "
        "waits for its turn on a core shared at equal priority).",
        "requirements: {irq_latency_us: 1}   # shorter than one pass of the VMM",
    ),
    Code(
        "E507",
        "boot image does not fit guest RAM",
        "A kernel, initrd or device tree is loaded outside the VM's RAM, overlaps another image, "
        "or is not aligned as the guest kernel requires (the DTB to 8 bytes, an arm64 Image to "
        "2 MiB from the start of RAM plus its text offset, the initrd to a page).",
        "initrd:\n  addr: 0x4f000000   # where the DTB already is",
    ),
    Code(
        "E508",
        "device not backed",
        "The guest is given a device window that is neither mapped (passthrough, untyped MMIO) "
        "nor emulated by the VMM: its first access would fault with nobody to answer it.",
        "a plan.json edited by hand: a device window in `devices` with no mapping and no emulation",
    ),
    Code(
        "E509",
        "vGIC overflow ring full",
        "More interrupts were waiting for a free list register than libsel4vm's 64-entry "
        "overflow ring can hold (63 usable); the VMM aborts.  An interrupt storm while the "
        "guest keeps interrupts disabled does this.",
        "simulation: {device_irq_hz: 1000000}   # an interrupt storm against 4 list registers",
    ),
    Code(
        "E510",
        "interrupt line masked forever",
        "The kernel masked a device's IRQ line when it fired and nobody acked it for a whole "
        "timeslice: the device cannot interrupt again.  The VMM acks a passthrough line when the "
        "guest EOIs the interrupt it carries; a line whose interrupt never reaches the guest "
        "(its VM starved, or merged with another line) stays masked.  So does a level-triggered "
        "line that two PCI devices of the VM share (one IRQ handler carries both): a device the "
        "guest does not clear keeps it asserted, the line fires again unclaimed, and the guest "
        'disables it without an EOI (Linux: "nobody cared").  An edge-triggered line is '
        "re-armed by the ack.",
        "vms:\n  - name: vm1\n    priority: 200   # above vm0 on its core: while vm1 spins, vm0's lines stay masked",
    ),
    Code(
        "E511",
        "interrupt pending, never delivered",
        "An interrupt a line raised was still undelivered when the system came to rest with the "
        "guest's interrupts enabled and nothing left to run: it waits in a notification word, "
        "the VMM's queue or a list register that nothing will move on.",
        "sel4vmgen simulate system.yaml --explore   # an interrupt the VMM queued but never injects",
    ),
    Code(
        "E512",
        "fault never answered",
        "A thread sent a fault (a VM exit, a VCPU fault) and the system came to rest with it "
        "still blocked on the reply: its fault handler will never answer it.",
        "sel4vmgen simulate system.yaml --explore   # a VCPU fault sent to a VMM that waits elsewhere",
    ),
    Code(
        "E513",
        "VMM out of budget when an interrupt came",
        "On a Microkit board every protection domain runs on an MCS scheduling context: "
        "`budget_us` of CPU time every `period_us`.  An interrupt reached the guest later than "
        "its bound (the VM's `irq_latency_us`, else one timeslice) because its VMM's scheduling "
        "context had spent its budget and waited for the next period meanwhile.  On x86 the "
        "VM shares its VMM's scheduling context, so the guest's own running spends it too.",
        "vms:\n  - name: linux\n    budget_us: 200\n    period_us: 20000   # 19.8 ms of every 20 ms without a VMM",
    ),
    Code(
        "E514",
        "VM out of budget when an interrupt came",
        "An ARM Microkit VM runs its vCPUs on its own scheduling context (`budget_us` every "
        "`period_us`, as its VMM's).  An interrupt the VMM injected waited longer than the VM's "
        "bound because the vCPU had spent its budget: it takes the interrupt only when the "
        "budget comes back.  Give the VM a budget closer to its period, or a shorter period.",
        "vms:\n  - name: linux\n    budget_us: 200\n    period_us: 20000",
    ),
    Code(
        "E515",
        "a round-robin scheduling context starves lower priorities",
        "A thread with work waited longer than the starvation bound while a thread of a higher "
        "priority on its core ran on a scheduling context whose budget equals its period "
        "(the Microkit default, 1000 us every 1000 us): such a context is refilled as soon as "
        "it is spent, so while its guest busy-loops nothing below it runs.  Lower the busy "
        "VM's priority, or give it a budget below its period.",
        "vms:\n  - name: high\n    priority: 200   # above low's VMM, with the default budget",
    ),
)
