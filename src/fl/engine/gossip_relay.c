/* The wire half of a deployed mixing strategy (dpsgd, dfedsam,
 * dfedsam-mgs): the server relays, the nodes mix.
 *
 * Gossip step q of a round reaches node i as one STEP frame holding what
 * the members of i's row of the mixing matrix sent (i itself included, so
 * that a node keeps nothing between steps and a node that reconnects can
 * go on): their models (blob 0), and in the first step the updates they
 * trained (blob 1), with the row's weights in the JSON:
 *
 *   {"round":r,"gossip_step":q,"self":s,"nodes":[k...],"weights":[w...],
 *    "updates":[0|1...]}
 *
 * The node computes its mix with fedc_gossip_mix_row, the arithmetic of the
 * simulation, and answers with a STEP_REPLY {"round":r,"gossip_step":q}
 * carrying its new model, which the server forwards in the next step. The
 * server never combines models: it routes them and records the last one
 * each node sent. Tensors travel as raw little-endian float32 (the
 * decentralised strategies require an exact codec). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/finite.h"
#include "fedc/strategy.h"
#include "gossip_relay.h"

int fedc_relay_step_encode(int round, int step, int self, int m, const int *ids, const double *w,
                           const float *const *x, const float *const *delta, size_t d, fedc_buf *out,
                           fedc_error *err) {
    if (m < 1 || m > FEDC_RELAY_MAX_ROW)
        return fedc_fail(err, "gossip relay: a row of %d nodes; at most %d can be relayed", m, FEDC_RELAY_MAX_ROW);
    json_t *nodes = json_array(), *weights = json_array(), *updates = json_array();
    int nu = 0;
    for (int q = 0; q < m; q++) {
        json_array_append_new(nodes, json_integer(ids[q]));
        json_array_append_new(weights, json_real(w[q]));
        int has = delta && delta[q];
        nu += has;
        json_array_append_new(updates, json_integer(has));
    }
    json_t *o = json_pack("{s:i,s:i,s:i,s:o,s:o,s:o}", "round", round, "gossip_step", step, "self", self, "nodes",
                          nodes, "weights", weights, "updates", updates);
    char *js = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(o);
    float *models = malloc((size_t)m * d * sizeof(float) + 1);
    float *deltas = malloc((size_t)nu * d * sizeof(float) + 1);
    int rc = -1;
    if (!js || !models || !deltas) {
        fedc_fail(err, "gossip relay: out of memory for a step of %d models", m);
        goto out;
    }
    for (int q = 0, u = 0; q < m; q++) {
        memcpy(models + (size_t)q * d, x[q], d * sizeof(float));
        if (delta && delta[q]) memcpy(deltas + (size_t)u++ * d, delta[q], d * sizeof(float));
    }
    fedc_msg msg = {.type = FEDC_MSG_STEP, .json = js, .json_len = strlen(js), .nblobs = nu ? 2 : 1};
    msg.blobs[0].data = (const uint8_t *)models;
    msg.blobs[0].len = (size_t)m * d * sizeof(float);
    msg.blobs[1].data = (const uint8_t *)deltas;
    msg.blobs[1].len = (size_t)nu * d * sizeof(float);
    fedc_buf_clear(out);
    rc = fedc_msg_encode(&msg, out, err);
out:
    free(js);
    free(models);
    free(deltas);
    return rc;
}

/* Copies n floats out of a blob (which may sit unaligned in the frame) and
 * checks them. */
static int read_floats(const fedc_blob *b, size_t n, float *out, const char *what, fedc_error *err) {
    if (b->len != n * sizeof(float))
        return fedc_fail(err, "gossip relay: %s is %zu bytes; expected %zu", what, b->len, n * sizeof(float));
    memcpy(out, b->data, b->len);
    size_t bad = fedc_first_nonfinite(out, n);
    if (bad < n) return fedc_fail(err, "gossip relay: %s value %zu is not finite", what, bad);
    return 0;
}

static int int_in(json_t *v, long long lo, long long hi, long long *out) {
    if (!json_is_integer(v)) return 0;
    *out = json_integer_value(v);
    return *out >= lo && *out <= hi;
}

int fedc_relay_answer(size_t d, const fedc_msg *m, fedc_buf *reply, fedc_error *err) {
    if (m->type != FEDC_MSG_STEP) return fedc_fail(err, "gossip relay: expected a step, got %s", fedc_msg_type_name(m->type));
    json_t *o = json_loads(m->json, 0, NULL);
    long long round, step, self;
    int rc = -1, nu = 0;
    size_t rows = 0;
    float *x = NULL, *dl = NULL, *acc = NULL, *out = NULL;
    const float **xs = NULL, **ds = NULL;
    double *w = NULL;
    json_t *nodes = o ? json_object_get(o, "nodes") : NULL, *weights = o ? json_object_get(o, "weights") : NULL,
           *updates = o ? json_object_get(o, "updates") : NULL;
    if (!json_is_object(o)) {
        fedc_fail(err, "gossip relay: the step's control part is not a JSON object");
        goto out;
    }
    if (!int_in(json_object_get(o, "round"), 1, 1000000, &round)) {
        fedc_fail(err, "gossip relay: \"round\" must be an integer in 1..1000000");
        goto out;
    }
    if (!int_in(json_object_get(o, "gossip_step"), 1, 1000, &step)) {
        fedc_fail(err, "gossip relay: \"gossip_step\" must be an integer in 1..1000");
        goto out;
    }
    if (!json_is_array(nodes) || json_array_size(nodes) < 1 || json_array_size(nodes) > FEDC_RELAY_MAX_ROW) {
        fedc_fail(err, "gossip relay: \"nodes\" must be an array of 1..%d node ids", FEDC_RELAY_MAX_ROW);
        goto out;
    }
    rows = json_array_size(nodes);
    if (!json_is_array(weights) || json_array_size(weights) != rows || !json_is_array(updates) ||
        json_array_size(updates) != rows) {
        fedc_fail(err, "gossip relay: \"weights\" and \"updates\" must be arrays of %zu entries, one per node", rows);
        goto out;
    }
    if (!int_in(json_object_get(o, "self"), 0, (long long)rows - 1, &self)) {
        fedc_fail(err, "gossip relay: \"self\" must be an integer in 0..%zu", rows - 1);
        goto out;
    }
    w = malloc(rows * sizeof *w);
    xs = malloc(rows * sizeof *xs);
    ds = malloc(rows * sizeof *ds);
    if (!w || !xs || !ds) {
        fedc_fail(err, "gossip relay: out of memory for a row of %zu nodes", rows);
        goto out;
    }
    for (size_t q = 0; q < rows; q++) {
        long long id, has;
        json_t *wq = json_array_get(weights, q);
        if (!int_in(json_array_get(nodes, q), 0, 100000000, &id)) {
            fedc_fail(err, "gossip relay: \"nodes\"[%zu] must be a node id (an integer >= 0)", q);
            goto out;
        }
        if (!json_is_number(wq) || !(json_number_value(wq) >= 0 && json_number_value(wq) <= 1)) {
            fedc_fail(err, "gossip relay: \"weights\"[%zu] must be a number in [0, 1]", q);
            goto out;
        }
        if (!int_in(json_array_get(updates, q), 0, 1, &has)) {
            fedc_fail(err, "gossip relay: \"updates\"[%zu] must be 0 or 1", q);
            goto out;
        }
        w[q] = json_number_value(wq);
        nu += (int)has;
    }
    if (m->nblobs != (nu ? 2 : 1)) {
        fedc_fail(err, "gossip relay: %d blobs; expected %d (the models%s)", m->nblobs, nu ? 2 : 1,
                  nu ? " and the updates" : "");
        goto out;
    }
    if (d == 0 || rows > (SIZE_MAX / sizeof(float)) / d) {
        fedc_fail(err, "gossip relay: %zu models of %zu parameters overflow memory", rows, d);
        goto out;
    }
    x = malloc(rows * d * sizeof(float));
    dl = malloc(((size_t)nu * d + 1) * sizeof(float));
    acc = malloc(d * sizeof(float));
    out = malloc(d * sizeof(float));
    if (!x || !dl || !acc || !out) {
        fedc_fail(err, "gossip relay: out of memory for %zu models of %zu parameters", rows, d);
        goto out;
    }
    if (read_floats(&m->blobs[0], rows * d, x, "the models", err) != 0) goto out;
    if (nu && read_floats(&m->blobs[1], (size_t)nu * d, dl, "the updates", err) != 0) goto out;
    for (size_t q = 0, u = 0; q < rows; q++) {
        xs[q] = x + q * d;
        ds[q] = json_integer_value(json_array_get(updates, q)) ? dl + u++ * d : NULL;
    }
    fedc_gossip_mix_row(xs[self], (int)rows, w, xs, ds, d, acc, out);
    char js[96];
    int jl = snprintf(js, sizeof js, "{\"round\":%lld,\"gossip_step\":%lld}", round, step);
    fedc_msg r = {.type = FEDC_MSG_STEP_REPLY, .json = js, .json_len = (size_t)jl, .nblobs = 1};
    r.blobs[0].data = (const uint8_t *)out;
    r.blobs[0].len = d * sizeof(float);
    fedc_buf_clear(reply);
    rc = fedc_msg_encode(&r, reply, err);
out:
    json_decref(o);
    free(w);
    free(xs);
    free(ds);
    free(x);
    free(dl);
    free(acc);
    free(out);
    return rc;
}

int fedc_relay_reply_decode(const uint8_t *frame, size_t len, int round, int step, size_t d, float *out,
                            fedc_error *err) {
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = -1;
    json_t *o = json_loads(m.json, 0, NULL);
    long long r, q;
    if (m.type != FEDC_MSG_STEP_REPLY) {
        fedc_fail(err, "gossip relay: expected a step reply, got %s", fedc_msg_type_name(m.type));
    } else if (!json_is_object(o) || !int_in(json_object_get(o, "round"), round, round, &r)) {
        fedc_fail(err, "gossip relay: the reply's \"round\" must be %d", round);
    } else if (!int_in(json_object_get(o, "gossip_step"), step, step, &q)) {
        fedc_fail(err, "gossip relay: the reply's \"gossip_step\" must be %d", step);
    } else if (m.nblobs != 1) {
        fedc_fail(err, "gossip relay: the reply has %d blobs; expected 1 (the node's model)", m.nblobs);
    } else {
        rc = read_floats(&m.blobs[0], d, out, "the node's model", err);
    }
    json_decref(o);
    fedc_msg_free(&m);
    return rc;
}
