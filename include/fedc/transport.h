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
    /* Optional (NULL in the simulator): one exchange that stays open across
     * rounds, for asynchronous strategies in a deployment, where nodes
     * train continuously. post sends frames[i] to clients[i] for every i
     * with send[i] set (i < ex->n; n, callbacks and ctx are the same at
     * every post of a run; ex->round is the round each sent frame carries)
     * and returns at once. collect waits until at least one participant has
     * answered or been dropped since the last collect, or the wall clock
     * (fedc_wall_s) reaches until_s, runs the callbacks of what came in and
     * returns how many participants it finished (0 at until_s), or -1 if the
     * transport broke or the run must stop. A participant silent for
     * ex->deadline_s after its frame was posted is dropped. close_posted
     * ends the exchange: answers still to come are dropped. */
    int (*post)(fedc_transport *t, const fedc_exchange *ex, const char *send, fedc_error *err);
    int (*collect)(fedc_transport *t, double until_s, fedc_error *err);
    void (*close_posted)(fedc_transport *t);
} fedc_transport_ops;

struct fedc_transport {
    const fedc_transport_ops *ops;
    void *self;
};

#endif
