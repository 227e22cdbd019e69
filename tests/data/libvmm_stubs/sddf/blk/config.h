/* Test stub: au-ts/sddf a15355c include/sddf/blk/config.h, in shape. */
#pragma once
#include <sddf/resources.h>
typedef struct blk_connection_resource {
    region_resource_t storage_info;
    region_resource_t req_queue;
    region_resource_t resp_queue;
    uint16_t num_buffers;
    uint8_t id;
} blk_connection_resource_t;
typedef struct blk_client_config {
    char magic[5];
    blk_connection_resource_t virt;
    region_resource_t data;
} blk_client_config_t;
bool blk_config_check_magic(void *config);
