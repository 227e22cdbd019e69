"""The codes of the cross-field rules: E2xx errors and W2xx warnings, for `explain`."""

from __future__ import annotations

from sel4vmgen.codes import Code

CODES: tuple[Code, ...] = (
    Code(
        "E201",
        "name used twice",
        "VMs and native components share one name space: each becomes a CAmkES instance or "
        "the name connections refer to, so no two may have the same name.",
        "vms:\n  - name: guest\n  - name: guest",
    ),
    Code(
        "E202",
        "name taken by a generated instance",
        "The generated assembly declares `vm<n>` for the n-th VM, the fixed camkes-vm "
        "instances (x86: fserv, serial, time_server, pci_config, rtc; ARM: fserv) and one "
        "`<a>_<b>` instance per virtio_net link.  A component may not take one of these "
        "names, and a VM named `vm<k>` must be the k-th VM.  Component types may not be "
        "camkes-vm's own (FileServer, VM, SerialServer, TimeServer, PCIConfigIO, RTC, and "
        "on x86 `Init<n>`).",
        "components:\n  - name: fserv\n    type: Hello",
    ),
    Code(
        "E203",
        "dataport or event name used twice",
        "The dataports and events of one VM become interfaces and `<name>_id` attributes of "
        "its VMM component, and their peers interfaces of the native component; on each side "
        "the names must differ.",
        "dataports:\n  - {name: buf, peer: a}\nevents:\n  - {name: buf, direction: to_vm, peer: b}",
    ),
    Code(
        "E204",
        "unknown platform",
        "The platform is not in sel4vmgen's platform database; `sel4vmgen platforms` lists "
        "the supported ones.",
        "platform: qemu-virt   # did you mean 'qemu-arm-virt'?",
    ),
    Code(
        "E205",
        "platform of another architecture",
        "The platform's architecture differs from `arch`.",
        "arch: x86\nplatform: tx2",
    ),
    Code(
        "E206",
        "sel4_arch the platform cannot build",
        "seL4 builds each platform for some architectures only (tx2: aarch64; tk1 and "
        "exynos5422: aarch32; pc99: ia32 or x86_64), and `sel4_arch` must belong to `arch`.",
        "arch: arm\nsel4_arch: aarch32\nplatform: tx2",
    ),
    Code(
        "E207",
        "guest RAM outside the platform's memory",
        "A VM's host-physical RAM must lie inside the platform's RAM or one of its guest-RAM "
        "(device untyped) ranges.",
        "ram: {base: 0x20000000, size: 256MiB}   # qemu-arm-virt RAM starts at 0x40000000",
    ),
    Code(
        "E208",
        "guest RAM in reserved memory",
        "The RAM overlaps memory the kernel or firmware keeps for itself.",
        "platform: odroidc2\nvms:\n  - name: vm0\n    ram: {base: 0x05000000, size: 2MiB}   # the secure monitor's memory",
    ),
    Code(
        "E209",
        "two VMs share host-physical memory",
        "The RAM, untyped windows or passed-through DTB nodes of two VMs overlap (or one VM's "
        "MMIO window lies on another's RAM or untyped window); each such page can be given "
        "to one VM only.  The GIC virtual CPU interface frame, which every VM gets, is the "
        "exception; two VMs mapping one device frame (`mmios`) is warning W209.",
        "vms:\n  - name: vm0\n    ram: {base: 0x40000000, size: 192MiB}\n"
        "  - name: vm1\n    ram: {base: 0x48000000, size: 128MiB}",
    ),
    Code(
        "E210",
        "passthrough window outside the platform's devices",
        "An `mmios` window must lie inside a device region of the platform; an "
        "`untyped_mmios` window inside a device region or memory.",
        "passthrough:\n  mmios: [{paddr: 0x7000000, size: 4KiB}]",
    ),
    Code(
        "E211",
        "misaligned memory",
        "Guest RAM and MMIO windows are mapped in 4 KiB pages, so addresses and sizes are "
        "multiples of 4 KiB; an `untyped_mmios` window is one untyped object (`paddr:size_bits`), "
        "so its size is a power of two and its address a multiple of the size.  x86 guest RAM "
        "is given in whole MiB (`guest_ram_mb`), and PCI memory starts on a page of "
        "`page_bits`.",
        "untyped_mmios: [{paddr: 0x40000000, size: 384MiB}]",
    ),
    Code(
        "E212",
        "arm64 kernel entry misaligned",
        "Linux Documentation/arch/arm64/booting.rst: the Image must be placed text_offset "
        "bytes from a 2 MiB-aligned base (text_offset 0x80000 before Linux 5.8, 0 since), so "
        "the entry is a 2 MiB boundary or 0x80000 above one.",
        "kernel: {image: Image, entry: 0x40010000}",
    ),
    Code(
        "E213",
        "IRQ given to two VMs",
        "An interrupt can be delivered to one VM only: its IRQ handler capability goes to one "
        "VMM.  This includes the IRQs of DTB nodes passed through.",
        "vms:\n  - name: vm0\n    passthrough: {irqs: [40]}\n"
        "  - name: vm1\n    passthrough: {irqs: [40]}",
    ),
    Code(
        "E214",
        "IRQ reserved by the kernel",
        "The kernel keeps some interrupts (its timer, the VGIC maintenance interrupt, the "
        "guest virtual timer, its serial port); a VM cannot be given them.",
        "passthrough: {irqs: [26]}   # the kernel timer on ARM with hypervisor support",
    ),
    Code(
        "E215",
        "more VCPUs than cores",
        "An ARM VM may have at most one VCPU per core of the platform.",
        "vcpus: 16",
    ),
    Code(
        "E216",
        "x86 VM with more than one VCPU",
        "On x86 libsel4vm binds one VCPU to the VMM thread; x86 guests have exactly one VCPU.",
        "arch: x86\nvms:\n  - name: vm0\n    vcpus: 2",
    ),
    Code(
        "E217",
        "SMP on a platform that refuses it",
        "camkes-vm-examples' settings stop with '<plat> does not support SMP VMs' when "
        "NUM_NODES > 1 on exynos5422, exynos5410 or tk1.",
        "platform: exynos5422\nnum_nodes: 2",
    ),
    Code(
        "E218",
        "more nodes than cores",
        "`num_nodes` (KernelMaxNumNodes) may not exceed the platform's cores.",
        "num_nodes: 16",
    ),
    Code(
        "E219",
        "boot image outside guest RAM",
        "The kernel, initrd and DTB are loaded into guest RAM; each must lie inside it.",
        "ram: {base: 0x40000000, size: 256MiB}\ndtb: {address: 0x50000000}",
    ),
    Code(
        "E220",
        "boot images overlap",
        "The kernel, initrd and DTB must not overlap.  Sizes: the file's size when present, "
        "else `initrd.max_size`, and 2 MiB for the DTB.",
        "initrd: {image: rootfs.cpio, address: 0x4f000000, max_size: 16MiB}\n"
        "dtb: {address: 0x4f800000}",
    ),
    Code(
        "E221",
        "DTB misaligned",
        "arm64 booting.rst: the device tree blob must be placed on an 8-byte boundary.",
        "dtb: {address: 0x4f000004}",
    ),
    Code(
        "E222",
        "DTB too large",
        "arm64 booting.rst: the device tree blob must not exceed 2 megabytes.",
        "dtb: {mode: provide, file: big.dtb}   # a 3 MiB file",
    ),
    Code(
        "E223",
        "more guest RAM than the platform has",
        "The RAM of all VMs together exceeds the platform's memory.",
        "platform: qemu-arm-virt   # 2 GiB of RAM\nvms:   # three VMs of 1 GiB each",
    ),
    Code(
        "E224",
        "VMM priority leaves no room",
        "On ARM the VCPU threads run at base_prio - 1 and the IRQ server at base_prio + 1, so a "
        "VMM priority must be between 1 and 254.",
        "priority: 255",
    ),
    Code(
        "E225",
        "IOMMU domain used twice",
        "Each x86 VM's `iospace_domain` must be unique: it names the VM's IOMMU domain.",
        "vms:\n  - name: vm0\n    iospace_domain: 0x0f\n  - name: vm1\n    iospace_domain: 0x0f",
    ),
    Code(
        "E226",
        "guest kernel the architecture cannot boot",
        "`Image` kernels are arm64, `zImage` 32-bit ARM, `bzImage` x86; a 64-bit x86 guest "
        "(an image with XLF_KERNEL_64, or KernelX86_64VTX64BitGuests) needs sel4_arch x86_64.",
        "sel4_arch: aarch32\nkernel: {image: Image, format: Image}",
    ),
    Code(
        "E227",
        "field of the other architecture",
        "x86 VMs take IO ports, PCI devices, IOAPIC IRQs, IOMMU domains and relocations; ARM "
        "VMs take DTBs, RAM addresses, MMIO windows, GIC IRQs and SMC settings.  A field of "
        "one architecture on the other would be silently ignored by camkes-tool.",
        "arch: arm\nvms:\n  - name: vm0\n    passthrough: {ioports: [...]}",
    ),
    Code(
        "E228",
        "connection to something that does not exist",
        "A connection names a VM or component the system does not declare.",
        "connections:\n  - {type: virtio_net, between: [vm0, vm9]}",
    ),
    Code(
        "E229",
        "virtio-net link to itself",
        "A virtio_net link joins two different VMs, or a VM and a component: not a VM to "
        "itself, nor two components.",
        "connections:\n  - {type: virtio_net, between: [vm0, vm0]}",
    ),
    Code(
        "E230",
        "link declared twice",
        "Two connections join the same pair the same way; merge them.",
        "connections:\n  - {type: virtio_net, between: [vm0, vm1]}\n  - {type: virtio_net, between: [vm1, vm0]}",
    ),
    Code(
        "E231",
        "unknown kernel option",
        "`kernel_options` takes the CMake options of seL4, camkes-vm and libsel4vm for the "
        "system's architecture; a misspelt option would be ignored by CMake.",
        "kernel_options:\n  KernelPrintng: true   # did you mean 'KernelPrinting'?",
    ),
    Code(
        "E232",
        "kernel option set by another field",
        "KernelMaxNumNodes, KernelSel4Arch, KernelArch and the platform options follow "
        "`num_nodes`, `sel4_arch`, `arch` and `platform`; set those instead.",
        "kernel_options:\n  KernelMaxNumNodes: 4",
    ),
    Code(
        "E233",
        "IRQ the platform does not have",
        "The IRQ number is above the highest interrupt of the platform's GIC, or an x86 IOAPIC "
        "pin beyond the IOAPIC's pins.",
        "passthrough: {irqs: [1000]}",
    ),
    Code(
        "E234",
        "passthrough of a GIC frame",
        "The GIC distributor is emulated by the VMM, the VMM maps the GICV frame where the "
        "guest expects the CPU interface, and the hypervisor interface belongs to the kernel; "
        "none of them can be passed through.",
        "passthrough:\n  mmios: [{paddr: 0x8000000, size: 4KiB}]   # qemu-arm-virt GICD",
    ),
    Code(
        "E235",
        "IO ports held twice",
        "An x86 IO port range must have its end at or above its start, and may be given to one "
        "VM only, never covering the ports the fixed components hold (COM1 0x3f8-0x3ff, the "
        "PIT 0x40-0x43, the CMOS 0x70-0x71, PCI configuration 0xcf8-0xcff).",
        "ioports: [{name: com, start: 0x3f8, end: 0x3ff}]",
    ),
    Code(
        "E236",
        "PCI device given twice",
        "A PCI function (bus:dev.fun) can be passed through to one VM only.",
        "passthrough:\n  pci: [{name: nic, bus: 0, dev: 25, fun: 0}]   # in vm0 and again in vm1",
    ),
    Code(
        "E237",
        "initrd larger than its max_size",
        "The initrd file is larger than `initrd.max_size`, the room the layout leaves for it.",
        "initrd: {image: rootfs.cpio, max_size: 16MiB}   # rootfs.cpio is 20 MiB",
    ),
    Code(
        "E238",
        "IRQ of a virtual device",
        "camkes-vm injects its virtio devices' interrupt (libvirtio's per-platform IRQ) and "
        "the cross-VM notification (free_plat_interrupts[0]) into the guest; a passthrough "
        "IRQ with the same number would collide with them in the guest's GIC.",
        "platform: qemu-arm-virt\nvms:\n  - name: vm0\n    virtio: {net: true}\n"
        "    passthrough: {irqs: [82]}",
    ),
    Code(
        "E239",
        "RAM not one-to-one where the VMM maps it so",
        "On platforms where camkes-vm maps guest RAM one-to-one (map_one_to_one: qemu-arm-virt, "
        "tx2, exynos5422...), guest-physical addresses are host-physical ones, so `ram.paddr` "
        "must equal `ram.base`.  Only a platform whose SMMU translates guest DMA (tk1) may "
        "place guest RAM elsewhere (camkes-vm components/VM_Arm/src/main.c).",
        "platform: qemu-arm-virt\nvms:\n  - name: vm0\n    ram: {base: 0x40000000, "
        "paddr: 0x50000000, size: 128MiB}",
    ),
    Code(
        "E240",
        "value cannot be written in the generated app",
        "Some text goes into the generated app as it is written.  A VM's `cmdline` (and "
        '`stdout` on ARM) becomes a CAmkES string, which camkes-tool reads as `"[^"]*"` '
        "with no escapes after the C preprocessor has run: it cannot hold a double quote or a "
        "control character (newline, tab...), nor end in an odd run of backslashes.  A "
        "`kernel_options` text value becomes a CMake argument, which cannot hold a `;` (CMake "
        "keeps `\\;` as two characters and splits on a bare one) or a control character "
        "other than newline, tab and carriage return.  `generate` would refuse these (E405); "
        "the check points at the value instead.",
        "cmdline: 'console=ttyS0 root=\"/dev/vda\"'   # CAmkES strings have no escapes",
    ),
    Code(
        "E241",
        "file cannot be used",
        "A file the system names must be a regular file the tool and the build can read: a "
        "guest image that is present may not be a folder, FIFO, socket, device or symlink loop, "
        "nor larger than 4 GiB; a native component source (copied into the app) must exist and "
        "be UTF-8 text of at most 4 MiB.  An image that is absent is left to the build.",
        "kernel:\n  image: /dev/zero   # a device, not an image file",
    ),
    Code(
        "E242",
        "component source cannot be copied",
        "A native component's sources are copied into one folder of the app by their file "
        "name, so each needs a plain name (not hidden, not `.` or `..`) that no other source of "
        "the component has.",
        "components:\n  - name: peer\n    type: Peer\n    sources: [a/main.c, b/main.c]",
    ),
    Code(
        "E243",
        "IRQ named twice in one VM",
        "A VM's passthrough IRQs (and x86 IOAPIC pins) each get one IRQ handler capability; "
        "naming one twice asks camkes-vm for the same capability twice.",
        "passthrough: {irqs: [40, 40]}",
    ),
    Code(
        "E244",
        "platform listed twice",
        "Each platform of `platform:` is built once; a second entry for it means nothing.",
        "platform: [qemu-arm-virt, qemu-arm-virt]",
    ),
    Code(
        "E245",
        "dataport not a whole number of pages",
        "A CAmkES dataport (and a virtio_net virtqueue) is shared memory mapped in 4 KiB "
        "frames, so its size is a multiple of 4096.",
        "dataports:\n  - {name: buf, size: 5000, peer: buf}",
    ),
    Code(
        "E246",
        "size the target cannot hold",
        "On a 32-bit seL4 (ia32, aarch32) the VMM is a 32-bit process and the guest a 32-bit "
        "machine: heap, dataports, virtqueues and guest RAM stay below 4 GiB.  On a 64-bit "
        "one the VMM heap stays within the user address space (47 bits on x86_64, 48 on "
        "aarch64), and x86 guest RAM is camkes-vm's `attribute int guest_ram_mb`, a C int.",
        "sel4_arch: ia32\nvms:\n  - name: vm0\n    ram: {size: 8GiB}",
    ),
    Code(
        "E247",
        "image path the build cannot carry",
        "The build is given each image by its full path (a relative path joined to the system "
        "file's folder); CMake cannot carry a `;` or a control character in it, and on x86 "
        "the file server splits its `name:file` entries at `:`.",
        "# the system file in /home/me/a;b/, with kernel: {image: bzimage}",
    ),
    Code(
        "E248",
        "x86 cross-VM event without a dataport",
        "On x86 the generated cross-VM connections give each event of a VM one of its "
        "dataports to travel with, so a VM needs at least as many dataports as events.",
        "connections:\n  - {type: cross_vm, vm: vm0, component: peer,\n"
        "     events: [{name: ready, direction: to_vm, peer: ready}]}",
    ),
    Code(
        "E249",
        "platform data lacks a setting the system needs",
        "A virtio console brings camkes-vm's SerialServer and a TimeServer into an ARM app, "
        "and a TimeServer needs platform-specific kernel timer options (qemu-arm-virt: "
        "KernelArmExportPCNTUser and KernelArmExportPTMRUser, as camkes-vm-examples vm_multi "
        "sets them).  sel4vmgen takes them from the platform data and refuses to guess when "
        "the data does not give them.",
        "platform: tx2\nvms:\n  - name: vm0\n    virtio: {console: true}",
    ),
    Code(
        "E250",
        "platform data lacks the SMMU options",
        "A VM given SMMU module ids (`passthrough.smmu`, camkes-vm's VM_Arm `smmu`) needs the "
        "kernel built with the platform's SMMU support (tk1: KernelTk1SMMU and "
        "KernelTk1SMMUInterruptEnable, as camkes-vm-examples vm_minimal sets them).  sel4vmgen "
        "takes them from the platform data and refuses to guess when the data does not give "
        "them.",
        "platform: tx2\nvms:\n  - name: vm0\n    passthrough: {smmu: [10]}",
    ),
    Code(
        "E251",
        "a platform option is not chosen",
        "Some platforms build differently for a choice only the user knows: on zcu102 the "
        "VMM is compiled for one Petalinux release (camkes-vm's VmZynqmpPetalinuxVersion: "
        "2018_3, 2021_1 or 2022_1) and must load guest images of that release.  sel4vmgen does "
        "not fall back to camkes-vm's default; write the choice in `platform_options`.",
        "platform: zcu102\nvms:\n  - name: vm0\n    kernel: {image: zynqmp/2022_1/linux}",
    ),
    Code(
        "E252",
        "guest RAM shared on x86",
        "`guest_ram` makes an ARM VMM build the guest's RAM from a dataport shared with a "
        "component (camkes-vm-examples vm_introspect).  The x86 VMM allocates guest RAM "
        "itself (guest_ram_mb) and has no such hook.",
        "arch: x86\nconnections:\n  - type: cross_vm\n    vm: vm0\n    component: md\n"
        "    guest_ram: {name: memdev, peer: memdev}",
    ),
    Code(
        "E253",
        "guest RAM shared twice",
        "The VMM builds a VM's RAM from one shared dataport, so only one connection may share "
        "it (`guest_ram`).",
        "connections:\n  - {type: cross_vm, vm: vm0, component: a, guest_ram: {name: m, peer: m}}\n"
        "  - {type: cross_vm, vm: vm0, component: b, guest_ram: {name: n, peer: n}}",
    ),
    Code(
        "E254",
        "virtio-blk without a SATA controller",
        "An x86 virtio-blk disk is served from partitions of a SATA disk that camkes-vm's "
        "Sataserver drives; the system names that AHCI controller in `sata:` (its IO ports, "
        "IO space, PCI address and IOMMU domain, as camkes-vm-examples virtio_blk_sample sets "
        "`sataserver.*`).  sel4vmgen does not guess a board's controller.  `sata:` on an ARM "
        "system is refused with the same code.",
        "vms:\n  - name: vm0\n    virtio: {blk: {partitions: [1]}}",
    ),
    Code(
        "E255",
        "one initrd, different added files",
        "VMs that load the same initrd (one file-server name) load one rebuilt rootfs, so "
        "they must add the same `initrd.files` and `initrd.programs`; give the initrd another "
        "name for a VM that needs other files (as vm_multi's linux-initrd-vm0 and "
        "linux-initrd-vm-client).",
        "vms:\n  - name: a\n    initrd: {image: r.cpio, name: rootfs, files: [...]}\n"
        "  - name: b\n    initrd: {image: r.cpio, name: rootfs}",
    ),
    Code(
        "W201",
        "more VCPUs than nodes",
        "camkes-vm caps num_vcpus at KernelMaxNumNodes when the VMM starts, so VCPUs above "
        "`num_nodes` are silently dropped.",
        "num_nodes: 1\nvms:\n  - name: vm0\n    vcpus: 4",
    ),
    Code(
        "W202",
        "component not used",
        "A native component that no connection uses does nothing for the VMs.",
        "components:\n  - {name: logger, type: Logger}   # no connection names logger",
    ),
    Code(
        "W203",
        "patch for a platform not built",
        "A `per_platform` patch names a platform the system does not list, so it never applies.",
        "platform: qemu-arm-virt\nvms:\n  - name: vm0\n    per_platform:\n      tx2: {vcpus: 4}",
    ),
    Code(
        "W204",
        "passthrough IRQ with no device",
        "An IRQ is passed to a VM that is given no device raising it.",
        "passthrough: {irqs: [40]}",
    ),
    Code(
        "W205",
        "field with no effect",
        "A field is ignored because of another (dtb.file with dtb.mode generate and no "
        "dtb.base_name, "
        "dtb.base_name with dtb.mode provide, allowed_smc_functions without allow_smc).",
        "dtb: {mode: generate, file: linux.dtb}   # no base_name: the file is never read",
    ),
    Code(
        "W206",
        "virtio.net with no link",
        "`virtio.net` is enabled on a VM that no virtio_net connection names, so only the "
        "VMM's built-in ARP responder (VmVirtioNetArping) answers the guest's network device.",
        "virtio: {net: true}   # and no virtio_net connection names this VM",
    ),
    Code(
        "W207",
        "empty cross-VM connection",
        "A cross_vm connection with no dataports and no events shares nothing.",
        "connections:\n  - {type: cross_vm, vm: vm0, component: peer}   # no dataports, no events",
    ),
    Code(
        "W208",
        "kernel console IRQ given to a guest",
        "The IRQ belongs to the UART the kernel prints to.  The kernel polls that UART and "
        "does not claim its IRQ, so a guest may have it (tk1 vm_minimal does), but kernel and "
        "guest output will interleave on the same port.",
        "platform: tk1\nvms:\n  - name: vm0\n    passthrough: {irqs: [122]}",
    ),
    Code(
        "W209",
        "device frame mapped by two VMs",
        "Two VMs' `mmios` windows cover the same device page.  CAmkES can map one device "
        "frame into both (camkes-vm-examples vm_multi shares the read-only exynos chip-id "
        "page), but two guests driving one device is usually a mistake.",
        "vms:\n  - name: vm0\n    passthrough: {mmios: [{paddr: 0x10000000, size: 4KiB}]}\n"
        "  - name: vm1\n    passthrough: {mmios: [{paddr: 0x10000000, size: 4KiB}]}",
    ),
    Code(
        "E280",
        "no free interrupt for notifications",
        "camkes-vm signals an ARM guest's virtio devices (on a platform with no fixed virtio "
        "IRQ) and the cross-VM events sent to it on one of the platform's free interrupts "
        "(free_plat_interrupts, VM_Arm vmlinux.h); the platform data lists none.",
        "platform: zcu102\nconnections:\n  - type: cross_vm\n    vm: a\n    component: peer\n"
        "    events: [{name: e, direction: to_vm, peer: e}]",
    ),
    Code(
        "E281",
        "one file-server name for two different files",
        "The CAmkES file server holds one file a name.  Two images (of one VM or of two) "
        "whose file-server names are the same (`kernel.name`, `initrd.name`, "
        "`dtb.base_name`, or the names sel4vmgen gives when they are left out: bzimage and "
        "rootfs.cpio on x86, linux, linux-initrd and linux-dtb on ARM) must be the same "
        "file; VMs that load one file under one name share it.",
        "vms:\n  - name: a\n    kernel: {image: a/Image, name: linux}\n"
        "  - name: b\n    kernel: {image: b/Image, name: linux}",
    ),
    Code(
        "E282",
        "guest program source folder missing",
        "A guest program (`initrd.programs`) is a CMake project the build compiles for the "
        "guest; its `source` must be a folder that holds a CMakeLists.txt.  A path under a "
        "checkout variable (${LIBZMQ_PATH}, ${CAMKES_VM_LINUX_DIR}) is left to the build.",
        "initrd:\n  programs:\n    - {name: hello, source: no/such/folder, installs: [hello]}",
    ),
    Code(
        "E283",
        "guest program depends on a build it does not follow",
        "`depends` names builds of the same initrd listed before this one (the libraries it "
        "links); another name would leave the build without its library, or loop.",
        "programs:\n  - {name: demo, source: demo, depends: [zmq]}   # no zmq build before it",
    ),
    Code(
        "E284",
        "guest programs for a 64-bit x86 guest",
        "On x86 the programs are cross-built with camkes-vm's 32-bit Linux toolchain "
        "(FindCustomPollyToolchain linux-gcc-32bit-pic, as camkes-vm-examples zmq_samples); "
        "no toolchain for 64-bit guests is known, so programs for a guest loaded without "
        "relocations are refused rather than built for the wrong word size.",
        "sel4_arch: x86_64\nvms:\n  - name: vm0\n    initrd:\n      programs: [{name: a, "
        "source: a}]",
    ),
    Code(
        "E285",
        "one guest build name for two different builds",
        "Each guest program build is one CMake target (ExternalProject_Add) of the app, built "
        "once and added to every initrd that lists it; two initrds may list one name only "
        "with the same source, installs, dependencies and arguments.",
        "vm0 programs: [{name: a, source: x}]\nvm1 programs: [{name: a, source: y}]",
    ),
    Code(
        "E286",
        "CakeML component on ia32",
        "camkes-tool builds a CakeML component with seL4's DeclareCakeMLLib, which gives the "
        "CakeML compiler a target for x86_64, ARMv7 and ARMv8 only (seL4_tools "
        "cmake-tool/helpers/cakeml.cmake); on an ia32 kernel the build would fail late with an "
        "unknown target, so the component is refused here.",
        "sel4_arch: ia32\ncomponents:\n  - name: vm1\n    type: Filter\n    cakeml: "
        "{sources: [filterScript.sml]}",
    ),
    Code(
        "E287",
        "CakeML component outside an x86 CAmkES app",
        "Only the x86 CAmkES backend declares CakeML components (DeclareCAmkESComponent with "
        'CAKEML_SOURCES and `environment = "cakeml"`, as camkes-vm-examples zmq_cakeml); '
        "the ARM and Microkit backends would silently drop the program, so it is refused.",
        "arch: arm\ncomponents:\n  - name: filter\n    type: Filter\n    cakeml: "
        "{sources: [filterScript.sml]}",
    ),
    Code(
        "E288",
        "virtio_net component not named vm<n>",
        "On x86 a component at the end of a virtio_net link is a node of camkes-vm's vswitch: "
        "configurations/connections.h names the interfaces of node n `ether_<peer>_send` / "
        "`_recv` on instance `vm<n>`, and nodes are numbered VMs first, then components in the "
        "order written.  The component must be named after its number (zmq_cakeml's CakeML "
        "filter is `vm2`, after vm0 and vm1).",
        "vms: [{name: vm0}, {name: vm1}]\ncomponents:\n  - name: filter   # must be vm2\n"
        "connections:\n  - {type: virtio_net, between: [vm0, filter]}",
    ),
    Code(
        "E289",
        "CakeML file the app cannot carry",
        "A CakeML component's sources and libraries are HOL theory scripts, "
        "`<theory>Script.sml`: Holmake builds a theory from such a file and a library's "
        "@DEPENDENCY_PATH@ names the theory before it.  Its include folders (CAKEML_INCLUDES) "
        "must be named from a build variable (${CAKEMLDIR}/...): sel4vmgen copies files of the "
        "user's into the app, not folders.",
        "cakeml:\n  sources: [filter.sml]        # filterScript.sml\n  includes: [semantics]",
    ),
)
