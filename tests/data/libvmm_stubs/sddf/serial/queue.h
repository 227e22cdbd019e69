/* Test stub: au-ts/sddf a15355c include/sddf/serial/queue.h, in shape. */
#pragma once
#include <stdint.h>
typedef struct serial_queue serial_queue_t;
typedef struct serial_queue_handle {
    serial_queue_t *queue;
    uint32_t capacity;
    char *data_region;
} serial_queue_handle_t;
static inline void serial_queue_init(serial_queue_handle_t *qh, serial_queue_t *queue, uint32_t capacity,
                                     char *data_region)
{
    qh->queue = queue;
    qh->capacity = capacity;
    qh->data_region = data_region;
}
