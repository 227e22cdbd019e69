/* Test stub: au-ts/sddf a15355c include/sddf/serial/config.h, in shape. */
#pragma once
#include <sddf/resources.h>
typedef struct serial_connection_resource {
    region_resource_t queue;
    region_resource_t data;
    uint8_t id;
} serial_connection_resource_t;
typedef struct serial_client_config {
    char magic[5];
    serial_connection_resource_t rx;
    serial_connection_resource_t tx;
} serial_client_config_t;
bool serial_config_check_magic(void *config);
