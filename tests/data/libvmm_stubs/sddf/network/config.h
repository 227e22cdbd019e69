/* Test stub: au-ts/sddf a15355c include/sddf/network/config.h, in shape. */
#pragma once
#include <sddf/resources.h>
typedef struct net_connection_resource {
    region_resource_t free_queue;
    region_resource_t active_queue;
    uint16_t num_buffers;
    uint8_t id;
} net_connection_resource_t;
typedef struct net_mac_addr {
    uint8_t addr[6];
} net_mac_addr_t;
typedef struct net_client_config {
    char magic[5];
    net_connection_resource_t rx;
    region_resource_t rx_data;
    net_connection_resource_t tx;
    region_resource_t tx_data;
    net_mac_addr_t mac_addr;
} net_client_config_t;
bool net_config_check_magic(void *config);
