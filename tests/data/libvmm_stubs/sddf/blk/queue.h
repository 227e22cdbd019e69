/* Test stub: au-ts/sddf a15355c include/sddf/blk/queue.h and storage_info.h, in shape. */
#pragma once
#include <stdint.h>
#include <stdbool.h>
typedef struct blk_req_queue blk_req_queue_t;
typedef struct blk_resp_queue blk_resp_queue_t;
typedef struct blk_queue_handle {
    blk_req_queue_t *req_queue;
    blk_resp_queue_t *resp_queue;
    uint32_t capacity;
} blk_queue_handle_t;
typedef struct blk_storage_info blk_storage_info_t;
void blk_queue_init(blk_queue_handle_t *h, blk_req_queue_t *request, blk_resp_queue_t *response,
                    uint32_t capacity);
bool blk_storage_is_ready(blk_storage_info_t *storage_info);
