/* Test stub: the prototypes of libvmm 0.2.0 (au-ts/libvmm 7069ab9) that the generated VMMs
 * call, copied in shape from include/libvmm/{guest.h,guest_ram.h,virq.h,util/util.h,
 * arch/aarch64/linux.h,arch/aarch64/fault.h,arch/x86_64/linux.h,arch/x86_64/fault.h,
 * arch/x86_64/memory_space.h,virtio/console.h,virtio/block.h,virtio/net.h}. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <microkit.h>

int printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
#define LOG_VMM(...) do{ printf("%s|INFO: ", microkit_name); printf(__VA_ARGS__); }while(0)
#define LOG_VMM_ERR(...) do{ printf("%s|ERROR (%s:%u): ", microkit_name, __FUNCTION__, __LINE__); printf(__VA_ARGS__); }while(0)

#define GUEST_BOOT_VCPU_ID 0UL
#define GUEST_MAX_RAM_REGIONS 3
struct guest_ram_region {
    uint64_t gpa_start;
    uint64_t size;
    void *vmm_vaddr;
};
struct guest_pci_init {
    uint64_t ecam_gpa;
    uint64_t ecam_size;
    uint64_t mmio_aperature_gpa;
    uint64_t mmio_aperature_size;
};

enum irq_type { IRQ_TYPE_INVALID = 0, IRQ_TYPE_ARM_GIC = 1, IRQ_TYPE_X86_IOAPIC = 2 };
typedef struct irq_routing_info {
    enum irq_type type;
    union {
        struct arm_gic { int vcpu_id; uint32_t intid; } arm_gic;
        struct x86_ioapic { uint8_t chip; uint8_t pin; } x86_ioapic;
    } hw;
} irq_routing_info_t;
#define ARM_GIC_IRQ_ROUTE(_vcpu_id, _intid) \
    (irq_routing_info_t) { .type = IRQ_TYPE_ARM_GIC, .hw.arm_gic = { .vcpu_id = (_vcpu_id), .intid = (_intid) } }
#define X86_IOAPIC_IRQ_ROUTE(_chip, _pin) \
    (irq_routing_info_t) { .type = IRQ_TYPE_X86_IOAPIC, .hw.x86_ioapic = { .chip = (_chip), .pin = (_pin) } }
bool virq_register_passthrough(irq_routing_info_t irq_routing_info, microkit_channel irq_ch);
bool virq_handle_passthrough(microkit_channel irq_ch);
bool fault_handle(size_t vcpu_id, microkit_msginfo msginfo);

#if defined(CONFIG_ARCH_X86_64)
#define LOW_RAM_START_GPA 0
typedef struct arch_guest_init {
    bool bsp;
    microkit_channel timer_ch;
    uintptr_t apicv_hva;
    size_t num_guest_ram_regions;
    struct guest_ram_region guest_ram_regions[GUEST_MAX_RAM_REGIONS];
    struct guest_pci_init pci_init;
} arch_guest_init_t;
typedef struct linux_setup_ret {
    uintptr_t kernel_entry_gpa;
    uintptr_t pml4_gpa;
    uintptr_t zero_page_gpa;
    uintptr_t gdt_gpa;
    uint64_t gdt_limit;
} linux_x86_setup_ret_t;
bool guest_init(arch_guest_init_t init_args);
bool linux_setup_images(uintptr_t kernel_src, size_t kernel_size, uintptr_t initrd_src, size_t initrd_size,
                        void *dsdt_blob, uint64_t dsdt_blob_size, char *cmdline, seL4_VCPUContext *initial_regs,
                        linux_x86_setup_ret_t *ret);
bool guest_start_long_mode(uint64_t kernel_rip, uint64_t cr3, uint64_t gdt_gpa, uint64_t gdt_limit,
                           seL4_VCPUContext *initial_regs);
#elif defined(CONFIG_ARCH_ARM)
typedef struct arch_guest_init {
    size_t num_vcpus;
    size_t num_guest_ram_regions;
    struct guest_ram_region guest_ram_regions[GUEST_MAX_RAM_REGIONS];
    struct guest_pci_init pci_init;
} arch_guest_init_t;
bool guest_init(arch_guest_init_t init_args);
uint64_t linux_setup_images(uint64_t ram_start_gpa, uintptr_t kernel, size_t kernel_size, uintptr_t dtb_src,
                            uint64_t dtb_dest_gpa, size_t dtb_size, uintptr_t initrd_src, uint64_t initrd_dest_gpa,
                            size_t initrd_size);
bool guest_start(uintptr_t kernel_pc, uintptr_t dtb, uintptr_t initrd);
#else
#error "define CONFIG_ARCH_ARM or CONFIG_ARCH_X86_64"
#endif

#if defined(CONFIG_ARCH_ARM)
/* The virtio-mmio devices, as include/libvmm/virtio/{console,block,net}.h declare them. */
#include <sddf/serial/queue.h>
#include <sddf/blk/queue.h>
#include <sddf/network/queue.h>
#define VIRTIO_NET_CONFIG_MAC_SZ 6
struct virtio_console_device { int opaque; };
struct virtio_blk_device { int opaque; };
struct virtio_net_device { int opaque; };
bool virtio_mmio_console_init(struct virtio_console_device *console, uintptr_t region_base, uintptr_t region_size,
                              irq_routing_info_t irq_routing_info, serial_queue_handle_t *rxq,
                              serial_queue_handle_t *txq, int tx_ch, int rx_ch);
bool virtio_console_queue_notify(struct virtio_console_device *console);
bool virtio_mmio_blk_init(struct virtio_blk_device *blk_dev, uintptr_t region_base, uintptr_t region_size,
                          irq_routing_info_t irq_routing_info, uintptr_t data_region, size_t data_region_size,
                          blk_storage_info_t *storage_info, blk_queue_handle_t *queue_h, uint32_t queue_capacity,
                          int server_ch);
bool virtio_blk_handle_resp(struct virtio_blk_device *blk_dev);
bool virtio_mmio_net_init(struct virtio_net_device *net_dev, uintptr_t region_base, uintptr_t region_size,
                          irq_routing_info_t irq_routing_info, net_queue_handle_t *rx, net_queue_handle_t *tx,
                          uintptr_t rx_data, uintptr_t tx_data, microkit_channel rx_ch, microkit_channel tx_ch,
                          uint8_t mac[VIRTIO_NET_CONFIG_MAC_SZ], bool csum_offload);
void virtio_net_handle_rx(struct virtio_net_device *dev);
#endif
