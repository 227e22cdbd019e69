/*
 * md: the native end of the vm_introspect example.
 *
 * `memdev` is the guest's whole RAM.  The guest writes a guest-physical address into
 * `introspect_data` and signals `ready`; this component prints the word the guest has
 * at that address, read straight from the guest's memory, and emits `done`.
 */

#include <camkes.h>
#include <stdint.h>
#include <stdio.h>

/* The guest RAM base (qemu-arm-virt and exynos5422 guests of the example both start there). */
#define GUEST_RAM_BASE 0x40000000UL

int run(void)
{
    volatile const uintptr_t *request = (volatile const uintptr_t *)introspect_data;
    volatile const uint8_t *ram = (volatile const uint8_t *)memdev;
    size_t ram_size = memdev_size();

    while (1) {
        ready_wait();
        uintptr_t addr = *request;
        if (addr < GUEST_RAM_BASE || addr - GUEST_RAM_BASE + sizeof(uint32_t) > ram_size) {
            printf("md: 0x%lx is not in guest RAM\n", (unsigned long)addr);
        } else {
            volatile const uint32_t *word = (volatile const uint32_t *)(ram + (addr - GUEST_RAM_BASE));
            printf("md: guest word at 0x%lx is 0x%08x\n", (unsigned long)addr, (unsigned)*word);
        }
        done_emit();
    }
    return 0;
}
