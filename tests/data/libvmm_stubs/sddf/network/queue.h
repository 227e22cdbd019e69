/* Test stub: au-ts/sddf a15355c include/sddf/network/queue.h, in shape. */
#pragma once
#include <stdint.h>
typedef struct net_queue net_queue_t;
typedef struct net_queue_handle {
    net_queue_t *free;
    net_queue_t *active;
    uint32_t capacity;
} net_queue_handle_t;
void net_queue_init(net_queue_handle_t *queue, net_queue_t *free, net_queue_t *active, uint32_t capacity);
void net_buffers_init(net_queue_handle_t *queue, uintptr_t base_addr);
