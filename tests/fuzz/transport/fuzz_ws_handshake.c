/* Fuzz target: a server's answer to the node's upgrade request. The header
 * block is located as the node does (within FEDC_WS_HANDSHAKE_MAX bytes)
 * and checked; a refusal always says why, and an accepted answer really
 * carries the Accept value that matches the key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/ws_internal.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > FEDC_WS_HANDSHAKE_MAX) size = FEDC_WS_HANDSHAKE_MAX;
    size_t end = fedc_ws_handshake_end(data, size);
    if (end > size) abort();
    if (!end) return 0;
    fedc_error e;
    e.msg[0] = 0;
    if (fedc_ws_handshake_check(data, end, KEY, "fedc-node", &e) != 0) {
        if (!e.msg[0]) abort();
        return 0;
    }
    /* accepted: the right Accept value must be in the block */
    int found = 0;
    for (size_t i = 0; i + strlen(ACCEPT) <= end && !found; i++)
        found = !memcmp(data + i, ACCEPT, strlen(ACCEPT));
    if (!found) abort();
    return 0;
}
