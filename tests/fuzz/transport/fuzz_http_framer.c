/* Fuzz target: the request framer of relayed HTTP connections, fed the
 * input in pieces whose sizes come from its first byte (as the network
 * delivers it). Invariants: what it passes on never exceeds what came in
 * plus the Content-Length lines it writes for de-chunked bodies; a refusal
 * is one of the statuses it documents, with a reason; after a refusal the
 * caller stops feeding; a request passed on has a complete head (a blank
 * line) before anything else; the deadline check answers 0 or 408. Small
 * limits make the limit paths reachable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/ws_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t piece = 1 + data[0] % 64;
    data++;
    size--;
    fedc_http_framer f;
    fedc_http_framer_init(&f, 512, 2048);
    fedc_buf out = {0};
    size_t fed = 0;
    int status = 0;
    double now = 0;
    while (fed < size && !status) {
        size_t n = size - fed < piece ? size - fed : piece;
        char why[200] = "";
        status = fedc_http_framer_feed(&f, data + fed, n, now, &out, why, sizeof why);
        fed += n;
        now += 0.5;
        if (status) {
            if (status != 400 && status != 408 && status != 413 && status != 414 && status != 431 &&
                status != 501 && status != 503)
                abort();
            if (!why[0]) abort();
        }
    }
    /* De-chunking replaces the chunk framing (at least 5 bytes: "0\r\n\r\n")
     * with one Content-Length line per request (at most 40 bytes). */
    if (out.len > fed + 40 * (size_t)(f.requests + 1)) abort();
    if (out.len && !fedc_ws_handshake_end(out.data, out.len)) abort();
    char why[200];
    int d = fedc_http_framer_overdue(&f, now + 100, 10, 10, why, sizeof why);
    if (d != 0 && d != 408) abort();
    if (d == 0 && fedc_http_framer_busy(&f)) abort();
    fedc_buf_free(&out);
    fedc_http_framer_free(&f);
    return 0;
}
