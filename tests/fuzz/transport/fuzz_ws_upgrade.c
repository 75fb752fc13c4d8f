/* Fuzz target: the first request head of a connection, as the server's
 * network threads classify it. The head is located as the server does
 * (fedc_ws_handshake_end within what it reads) and parsed from a copy of
 * exactly that many bytes; without a blank line the whole input is parsed
 * too. Invariants: an upgrade has a NUL-terminated path shorter than its
 * buffer and without the query, a 24-character key that is in the input,
 * status 101, and an answer the node's own check accepts; a refusal has
 * status 400 or 426 and a non-empty, printable reason that fits the
 * refusal the server sends; plain HTTP leaves nothing to read. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/ws_internal.h"

#define PROTO "fedc-node"

static void check_head(const uint8_t *data, size_t len) {
    uint8_t *head = malloc(len ? len : 1); /* exactly len bytes: reads beyond are caught */
    if (!head) return;
    if (len) memcpy(head, data, len);
    fedc_ws_upgrade u;
    int status = -7;
    fedc_error e;
    memset(e.msg, 0, sizeof e.msg);
    int r = fedc_ws_upgrade_parse(head, len, PROTO, &u, &status, &e);
    if (r == FEDC_WS_HEAD_UPGRADE) {
        if (status != 101) abort();
        if (!memchr(u.path, 0, sizeof u.path)) abort();
        size_t pl = strlen(u.path);
        if (pl >= sizeof u.path || strchr(u.path, '?')) abort();
        if (u.key[FEDC_WS_KEY_LEN] != 0 || strlen(u.key) != FEDC_WS_KEY_LEN) abort();
        if (u.key[22] != '=' || u.key[23] != '=') abort();
        int found = 0;
        for (size_t i = 0; i + FEDC_WS_KEY_LEN <= len && !found; i++)
            found = !memcmp(head + i, u.key, FEDC_WS_KEY_LEN);
        if (!found) abort();
        /* the answer the server sends is one the node accepts */
        char ans[512];
        int n = fedc_ws_upgrade_answer(ans, sizeof ans, u.key, PROTO);
        if (n <= 0) abort();
        if (fedc_ws_handshake_check((const uint8_t *)ans, (size_t)n, u.key, PROTO, &e) != 0) abort();
    } else if (r == FEDC_WS_HEAD_REFUSED) {
        if (status != 400 && status != 426) abort();
        size_t ml = strnlen(e.msg, sizeof e.msg);
        if (ml == 0 || ml == sizeof e.msg) abort(); /* a refusal always says why */
        for (size_t i = 0; i < ml; i++)
            if (!isprint((unsigned char)e.msg[i])) abort(); /* peer bytes are quoted, never copied */
        char out[1024]; /* the server's refusal buffer */
        int n = fedc_ws_upgrade_refusal(out, sizeof out, status, e.msg);
        if (n <= 0 || (size_t)n != strlen(out)) abort();
    } else if (r != FEDC_WS_HEAD_HTTP) {
        abort();
    }
    free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* the server reads at most this much before it gives up on a head */
    if (size > FEDC_WS_REQUEST_HEAD_MAX + 4096) size = FEDC_WS_REQUEST_HEAD_MAX + 4096;
    size_t end = fedc_ws_handshake_end(data, size);
    if (end > size) abort();
    check_head(data, end ? end : size);
    return 0;
}
