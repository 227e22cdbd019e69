/*
 * crossvm_init: the native end of the vm_cross_connector example.
 *
 * The guest writes a NUL-terminated string into the `src` dataport and
 * signals `ready`; this component writes the string reversed into `dest`
 * and emits `done`, which the VMM turns into a virtual interrupt.
 */

#include <camkes.h>

#define BUF_SIZE 4096

static void reverse_into(volatile char *dst, volatile const char *src, size_t limit)
{
    size_t n = 0;
    while (n < limit - 1 && src[n] != '\0') {
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[n - 1 - i];
    }
    dst[n] = '\0';
}

int run(void)
{
    volatile const char *in = (volatile const char *)src;
    volatile char *out = (volatile char *)dest;

    while (1) {
        ready_wait();
        __sync_synchronize();
        reverse_into(out, in, BUF_SIZE);
        __sync_synchronize();
        done_emit();
    }
    return 0;
}
