"""The codes of the Microkit rules (rules/microkit.py) and of the Microkit backend, for
`explain`."""

from __future__ import annotations

from sel4vmgen.codes import Code

CODES: tuple[Code, ...] = (
    Code(
        "E260",
        "platform of a framework the system does not name",
        "Each platform belongs to one framework: the CAmkES platforms (qemu-arm-virt, pc99, "
        "...) to camkes, the Microkit boards (qemu_virt_aarch64, odroidc4, x86_64_generic_vtx, "
        "...) to microkit.  `framework` (default camkes) must name the framework of every platform.",
        "platform: qemu_virt_aarch64   # framework defaults to camkes",
    ),
    Code(
        "E261",
        "framework with no platform",
        "A framework named in `framework` has no platform in `platform`, so nothing would be "
        "generated for it.",
        "framework: [camkes, microkit]\nplatform: qemu-arm-virt",
    ),
    Code(
        "E262",
        "budget above period",
        "A Microkit scheduling context runs for `budget_us` in every `period_us` (both "
        "default to 1000 us, the period to the budget); the Microkit tool refuses a budget "
        "larger than its period.",
        "budget_us: 2000\nperiod_us: 1000",
    ),
    Code(
        "E263",
        "scheduling budget on a CAmkES platform",
        "`budget_us` and `period_us` are Microkit (MCS) scheduling settings; the CAmkES apps "
        "sel4vmgen generates have no scheduling budgets.",
        "platform: qemu-arm-virt\nvms:\n  - name: vm0\n    budget_us: 500",
    ),
    Code(
        "E264",
        "priority a Microkit system cannot hold",
        "Microkit protection domains take priorities 0-254.  On ARM the VM runs one priority "
        "below its VMM, so the VMM's priority is 1-254; on x86 the VMM calls the timer driver "
        "at 254 and a protected call must go to a strictly higher priority, so it is 0-253.",
        "platform: qemu_virt_aarch64\nvms:\n  - name: vm0\n    priority: 255",
    ),
    Code(
        "E265",
        "more vCPUs than Microkit has ids for",
        "Each vCPU is a `vcpu` element whose id must be below 62 (VCPU_MAX_ID 61 in the "
        "Microkit tool).",
        "vcpus: 64",
    ),
    Code(
        "E266",
        "memory region not page aligned",
        "Guest RAM and passthrough windows become Microkit memory regions; their sizes and "
        "addresses must be multiples of the 4 KiB page size.",
        "ram: {size: 0x10000800}",
    ),
    Code(
        "E267",
        "not generated for Microkit",
        "The Microkit backend does not generate CAmkES components and connections, CAmkES "
        "VMM attributes, IOMMU domains, PCI passthrough, untyped MMIO windows, kept DTB "
        "nodes, a user-given guest DTB, files added to an initrd or guest programs built "
        "into it; they are refused rather than silently dropped.",
        "platform: qemu_virt_aarch64\nvms:\n  - name: vm0\n    iospace_domain: 1",
    ),
    Code(
        "E268",
        "a second x86 VM on Microkit",
        "An x86_64 Microkit system is generated as libvmm's x86 example: one VMM whose guest "
        "measures time through the one channel of the sDDF HPET timer driver.  A second "
        "x86 VM would need a second client of that driver, which is not generated.",
        "platform: x86_64_generic_vtx\nvms:\n  - name: a\n  - name: b",
    ),
    Code(
        "E269",
        "image path the Makefile cannot name",
        "A Microkit system's Makefile names each guest image as a prerequisite and in a "
        "compiler command line; a path with a space or a character make or the shell reads "
        "as syntax (# % : = ; quotes, wildcards, parentheses) cannot be written there.",
        'kernel: {image: "images/my linux"}',
    ),
    Code(
        "E270",
        "a board's default passthrough device given to two VMs",
        "A VM on an ARM Microkit board that writes no `passthrough` gets the board's default "
        "devices (on qemu_virt_aarch64 the PL011 serial, as libvmm's example maps it into "
        "its guest).  When another VM has one of them too, both VMMs would take its IRQ, "
        "which the Microkit tool refuses (duplicate irq), and map its registers twice.",
        "vms:\n  - name: a\n    passthrough: {devices: [/pl011@9000000]}\n  - name: b",
    ),
    Code(
        "E271",
        "ARM guest RAM placed in seL4's own memory",
        "On an ARM Microkit board, guest RAM with a `ram.paddr` must lie in the guest memory "
        "seL4 keeps out of its own RAM (on qemu_virt_aarch64 0x40000000-0x60000000, seL4's "
        "overlay-reserve-vm-memory.dts).  The Microkit tool places the kernel, the initial "
        "task and every kernel object in seL4's RAM and refuses a fixed region that meets "
        "them.  Without `paddr` the tool places guest RAM itself.",
        "ram: {base: 0x40000000, size: 256MiB, paddr: 0x60000000}",
    ),
    Code(
        "E272",
        "a guest left to a console device it is not given",
        "On an ARM Microkit board the default `stdout` and `cmdline` of a guest name the "
        "board's serial (chosen stdout-path, and earlycon at the UART's address, as libvmm's "
        "examples/simple overlay.dts).  A VM that is not given that device must write both: "
        "its guest would otherwise write to registers it has no mapping of, and libvmm stops "
        "it at the first write (unexpected memory fault).",
        "vms:\n  - name: b\n    passthrough: {devices: []}   # no stdout, no cmdline",
    ),
    Code(
        "E273",
        "virtio on a Microkit board without sDDF subsystems",
        "On a Microkit board a VM's virtio console, blk and net devices are emulated by its "
        "libvmm VMM and served by sDDF drivers and virtualisers, as libvmm 0.2.0's "
        "examples/virtio_mmio builds them.  sel4vmgen knows those subsystems (devices, "
        "drivers, the guest's virtio-mmio windows) for qemu_virt_aarch64 only; on x86 libvmm "
        "has virtio-PCI, which is not generated.",
        "platform: x86_64_generic_vtx\nvms:\n  - name: vm0\n    virtio: {console: true}",
    ),
    Code(
        "E274",
        "virtio devices on a second Microkit VM",
        "The sDDF subsystems behind virtio devices are generated as libvmm's "
        "examples/virtio_mmio has them: one client VMM per serial, blk and net subsystem.  A "
        "second VM with virtio devices would need a second client of each virtualiser.",
        "vms:\n  - name: a\n    virtio: {console: true}\n  - name: b\n    virtio: {console: true}",
    ),
    Code(
        "E275",
        "a VM given the device its virtio device is served by",
        "A virtio device of a Microkit VM is served by an sDDF driver of a host device (the "
        "console by the board's UART driver, blk and net by QEMU's virtio-mmio transports).  "
        "The driver maps that device's registers and takes its IRQ; a VM (that one or "
        "another) given the same device by passthrough (written, or the board's default when "
        "`passthrough` is not written) would claim them twice, which the Microkit tool "
        "refuses.",
        "vms:\n  - name: vm0\n    virtio: {console: true}   # no passthrough: the default UART",
    ),
    Code(
        "E276",
        "a Microkit virtio-blk disk of several partitions",
        "The sDDF block virtualiser gives each client one partition of the disk (sdfgen "
        "Vmm.add_virtio_mmio_blk `partition`); the guest's virtio-blk disk is that partition.",
        "virtio: {blk: {partitions: [1, 2]}}",
    ),
    Code(
        "E277",
        "virtio on Microkit without sdfgen installed",
        "The configuration data that libvmm's VMM and the sDDF drivers and virtualisers read "
        "from their ELF sections is serialised by sdfgen, the library that owns the format, "
        "at the release libvmm 0.2.0 pins.  sdfgen is installed with sel4vmgen on Linux "
        "(PyPI has builds for x86_64 and aarch64 only); elsewhere a system with virtio "
        "devices on a Microkit board cannot be generated.",
        "framework: microkit\nvms:\n  - name: vm0\n    virtio: {console: true}",
    ),
    Code(
        "E307",
        "a Microkit name made twice",
        "Memory region and protection domain names are made from VM names (`<vm>_ram`, "
        "`vmm_<vm>`, `<vm>_<device>`); two VMs whose names make the same one cannot be "
        "written into one SDF.  Names made from distinct VM names do not collide, so this "
        "guards the resolver rather than the input.",
        "",
    ),
)
