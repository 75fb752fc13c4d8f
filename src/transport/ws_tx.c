/* Outgoing messages: reference-counted payloads shared by many connections
 * and a per-connection queue that cuts each message into WebSocket
 * fragments of at most FEDC_WS_FRAGMENT_SIZE bytes. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/proto.h"
#include "fedc/ws.h"

struct fedc_ws_payload {
    atomic_int refs;
    uint8_t *data;
    size_t len;
};

static fedc_ws_payload *payload_wrap(uint8_t *data, size_t len) {
    fedc_ws_payload *p = malloc(sizeof *p);
    if (!p) return NULL;
    atomic_init(&p->refs, 1);
    p->data = data;
    p->len = len;
    return p;
}

fedc_ws_payload *fedc_ws_payload_copy(const void *data, size_t len) {
    uint8_t *d = malloc(len ? len : 1);
    if (!d) return NULL;
    if (len) memcpy(d, data, len);
    fedc_ws_payload *p = payload_wrap(d, len);
    if (!p) free(d);
    return p;
}

fedc_ws_payload *fedc_ws_payload_take(fedc_buf *b) {
    fedc_ws_payload *p = payload_wrap(b->data, b->len);
    if (!p) return NULL;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

fedc_ws_payload *fedc_ws_payload_ref(fedc_ws_payload *p) {
    atomic_fetch_add(&p->refs, 1);
    return p;
}

void fedc_ws_payload_unref(fedc_ws_payload *p) {
    if (!p) return;
    if (atomic_fetch_sub(&p->refs, 1) == 1) {
        free(p->data);
        free(p);
    }
}

const uint8_t *fedc_ws_payload_data(const fedc_ws_payload *p) { return p->data; }
size_t fedc_ws_payload_len(const fedc_ws_payload *p) { return p->len; }

uint64_t fedc_ws_wire_bytes(size_t len, int masked) {
    return (uint64_t)len + fedc_ws_overhead(len, masked, FEDC_WS_FRAGMENT_SIZE);
}

void fedc_ws_txq_init(fedc_ws_txq *q) {
    memset(q, 0, sizeof *q);
    q->fragment_size = FEDC_WS_FRAGMENT_SIZE;
}

void fedc_ws_txq_free(fedc_ws_txq *q) {
    for (size_t i = 0; i < q->count; i++) fedc_ws_payload_unref(q->items[(q->head + i) % q->cap].p);
    free(q->items);
    size_t fs = q->fragment_size;
    memset(q, 0, sizeof *q);
    q->fragment_size = fs;
}

int fedc_ws_txq_push(fedc_ws_txq *q, fedc_ws_payload *p, uint64_t tag) {
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 4;
        fedc_ws_txq_item *n = malloc(ncap * sizeof *n);
        if (!n) {
            fedc_ws_payload_unref(p);
            return -1;
        }
        for (size_t i = 0; i < q->count; i++) n[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->items[(q->head + q->count) % q->cap] = (fedc_ws_txq_item){p, tag};
    q->count++;
    return 0;
}

int fedc_ws_txq_peek(const fedc_ws_txq *q, fedc_ws_fragment *f) {
    if (q->count == 0) return 0;
    const fedc_ws_payload *p = q->items[q->head].p;
    size_t left = p->len - q->off, fs = q->fragment_size ? q->fragment_size : p->len;
    f->data = p->data + q->off;
    f->len = left < fs ? left : fs;
    f->first = q->off == 0;
    f->last = f->len == left;
    return 1;
}

int fedc_ws_txq_advance(fedc_ws_txq *q, int masked, uint64_t *tag, uint64_t *wire) {
    fedc_ws_fragment f;
    if (!fedc_ws_txq_peek(q, &f)) return 0;
    q->off += f.len;
    q->wire += f.len + fedc_ws_overhead(f.len, masked, 0);
    if (!f.last) return 0;
    fedc_ws_txq_item it = q->items[q->head];
    if (tag) *tag = it.tag;
    if (wire) *wire = q->wire;
    fedc_ws_payload_unref(it.p);
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->off = 0;
    q->wire = 0;
    return 1;
}
