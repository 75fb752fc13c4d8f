/* Multi-step round protocols: exchanges a round runs before and after its
 * TRAIN/UPDATE exchange, and a different way to carry and combine the
 * updates. Secure aggregation is one (its steps exchange keys and secret
 * shares, its updates are masked field elements, and the server learns only
 * their sum); the round engine drives any protocol through this table and
 * never names one.
 *
 * Server side, per round:
 *   begin(participants)
 *   while step(BEFORE) gives frames:  exchange them, reply()/drop() each
 *   the TRAIN exchange: each UPDATE's first tensor goes to update()
 *   while step(AFTER) gives frames:   exchange them, reply()/drop() each
 *   finish() -> the combined (weighted mean) update for the strategy
 * A participant dropped at any step takes no further part in the round.
 *
 * Node side: STEP frames go to client_step, which answers with a
 * STEP_REPLY; for TRAIN, client_seal turns the trained update into the
 * UPDATE's first tensor. Per-node state lives in fedc_protocol_client,
 * kept in the client's memory between the steps of a round. */
#ifndef FEDC_PROTOCOL_H
#define FEDC_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/proto.h"
#include "fedc/task.h"

enum { FEDC_PROTOCOL_BEFORE_TRAIN = 0, FEDC_PROTOCOL_AFTER_TRAIN = 1 };

/* A node's state; the protocol allocates it (first member free) and the
 * client memory frees it through free_state. */
typedef struct fedc_protocol_client {
    void (*free_state)(struct fedc_protocol_client *c);
} fedc_protocol_client;

typedef struct fedc_protocol_ops {
    const char *name;
    /* ---- server ---- */
    void *(*server_create)(const fedc_task *t, size_t d, fedc_error *err);
    void (*server_free)(void *self);
    /* A round with n participants (client ids). */
    int (*begin)(void *self, int round, int n, const int *clients, fedc_error *err);
    /* Fills frames[i] for every participant still in (alive[i] = 1) and
     * returns 1, or returns 0 when this phase has no further step; -1 (err)
     * when the round cannot go on (too many dropped). */
    int (*step)(void *self, int phase, const char *alive, fedc_buf *frames, fedc_error *err);
    /* Participant i's answer to the current step; -1 (err) refuses it. */
    int (*reply)(void *self, int i, const fedc_msg *m, fedc_error *err);
    /* Participant i's UPDATE tensor; -1 (err) refuses it. */
    int (*update)(void *self, int i, const uint8_t *data, size_t len, fedc_error *err);
    /* Participant i left the round (at whatever step). */
    void (*drop)(void *self, int i);
    /* The combined update: weighted mean delta into out (d floats) and the
     * total weight; -1 (err) when it cannot be recovered. */
    int (*finish)(void *self, float *out, double *weight, fedc_error *err);
    /* ---- node ---- */
    /* Answers a STEP frame (already decoded into m) into reply; samples =
     * the node's local sample count (its FedAvg weight). */
    int (*client_step)(const fedc_task *t, size_t d, double samples, fedc_protocol_client **state,
                       const fedc_msg *m, fedc_buf *reply, fedc_error *err);
    /* The UPDATE tensor for a trained delta (changed in place, e.g. clipped). */
    int (*client_seal)(const fedc_task *t, fedc_protocol_client *state, int round, float *delta, size_t d,
                       fedc_buf *out, fedc_error *err);
} fedc_protocol_ops;

/* The protocol the task asks for, or NULL for the plain exchange. */
FEDC_API const fedc_protocol_ops *fedc_protocol_for_task(const fedc_task *t);

#endif
