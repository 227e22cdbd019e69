/* Test stub: the sDDF resource descriptors the generated VMMs read, in the shape of
 * au-ts/sddf a15355c (libvmm 0.2.0's dep/sddf) include/sddf/resources/common.h and device.h. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <microkit.h>

typedef struct region_resource {
    void *vaddr;
    uint64_t size;
} region_resource_t;

typedef struct device_region_resource {
    region_resource_t region;
    uintptr_t io_addr;
} device_region_resource_t;
