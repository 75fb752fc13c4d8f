/* Fuzz target: arbitrary bytes as a SecAgg+ frame, to both halves of the
 * protocol at every step that reads outside input: a node answering a step
 * (fresh, and after a valid keys step, so that shares / collect / unmask
 * parsing is reached), the server reading a node's reply, and the server
 * reading a masked update. Besides not crashing or leaking, a refusal must
 * say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/secagg/secagg_internal.h"

static void node_after_keys(const fedc_task *t, const fedc_msg *m) {
    const char *j = "{\"round\":1,\"step\":\"keys\",\"index\":0,\"n\":3,\"t\":2}";
    uint8_t nb[8];
    sa_put32(nb, 1);
    sa_put32(nb + 4, 2);
    fedc_msg keys = {.type = FEDC_MSG_STEP, .json = j, .json_len = strlen(j), .nblobs = 1};
    keys.blobs[0].data = nb;
    keys.blobs[0].len = sizeof nb;
    fedc_protocol_client *st = NULL;
    fedc_buf reply = {0};
    fedc_error e;
    if (sa_client_step(t, 4, 10, &st, &keys, &reply, &e) != 0) abort();
    e.msg[0] = 0;
    if (sa_client_step(t, 4, 10, &st, m, &reply, &e) != 0 && !e.msg[0]) abort();
    float d[4] = {0};
    fedc_buf out = {0};
    e.msg[0] = 0;
    if (sa_client_seal(t, st, 1, d, 4, &out, &e) != 0 && !e.msg[0]) abort();
    if (st) st->free_state(st);
    fedc_buf_free(&reply);
    fedc_buf_free(&out);
}

static void server_reads(const fedc_task *t, const fedc_msg *m, const uint8_t *data, size_t size) {
    fedc_error e;
    void *srv = sa_server_create(t, 4, &e);
    if (!srv) abort();
    int clients[3] = {0, 1, 2};
    char alive[3] = {1, 1, 1};
    fedc_buf frames[3] = {{0}};
    if (sa_server_begin(srv, 1, 3, clients, &e) != 0) abort();
    if (sa_server_step(srv, FEDC_PROTOCOL_BEFORE_TRAIN, alive, frames, &e) != 1) abort();
    e.msg[0] = 0;
    if (sa_server_reply(srv, 0, m, &e) != 0 && !e.msg[0]) abort();
    e.msg[0] = 0;
    if (sa_server_update(srv, 1, data, size, &e) == 0) abort(); /* no update is due at the keys step */
    for (int i = 0; i < 3; i++) fedc_buf_free(&frames[i]);
    sa_server_free(srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_task t;
    memset(&t, 0, sizeof t);
    snprintf(t.secagg.mode, sizeof t.secagg.mode, "secagg+");
    t.secagg.clip = 10;
    t.secagg.threshold = 0.5;
    fedc_msg m;
    fedc_error e;
    if (fedc_msg_decode(data, size, &m, &e) != 0) return 0;
    fedc_protocol_client *st = NULL;
    fedc_buf reply = {0};
    e.msg[0] = 0;
    if (sa_client_step(&t, 4, 10, &st, &m, &reply, &e) != 0 && !e.msg[0]) abort();
    if (st) st->free_state(st);
    fedc_buf_free(&reply);
    node_after_keys(&t, &m);
    server_reads(&t, &m, data, size);
    fedc_msg_free(&m);
    return 0;
}
