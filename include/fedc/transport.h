/* The one interface the round engine talks to. Two transports implement
 * it: the simulator's in-process one (fedc_sim_transport_create, used by
 * `fedc sim`: every client trains in this process) and the server's, which
 * sends each frame to an edge node over WebSocket/TLS (src/server/exchange.c,
 * used by `fedc server`). The engine hands over one TRAIN frame per
 * participant and gets UPDATE frames back through callbacks; bytes are
 * counted by the transport where they cross it (frame + WebSocket headers),
 * so simulation and deployment report alike. */
#ifndef FEDC_TRANSPORT_H
#define FEDC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/error.h"

typedef struct fedc_exchange {
    int round;
    int n;                    /* participants */
    const int *clients;       /* client (node) ids, n */
    const fedc_buf *frames;   /* TRAIN frame per participant, n */
    double deadline_s;        /* wall seconds to wait for replies; <= 0 = no deadline (sim) */
    /* Callbacks; for distinct i they may run concurrently (each writes only slot i). */
    void (*on_sent)(void *ctx, int i, uint64_t wire_bytes);
    void (*on_reply)(void *ctx, int i, const uint8_t *frame, size_t len, uint64_t wire_bytes);
    void (*on_drop)(void *ctx, int i, const char *reason);
    void *ctx;
} fedc_exchange;

typedef struct fedc_transport fedc_transport;
typedef struct fedc_transport_ops {
    /* Delivers every frame, returns when each participant has replied or been
     * dropped (deadline, disconnect). Fails only if the transport itself broke. */
    int (*exchange)(fedc_transport *t, const fedc_exchange *ex, fedc_error *err);
    void (*destroy)(fedc_transport *t);
} fedc_transport_ops;

struct fedc_transport {
    const fedc_transport_ops *ops;
    void *self;
};

#endif
