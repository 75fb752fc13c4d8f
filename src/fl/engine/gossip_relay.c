/* The wire half of a deployed decentralised strategy: the server relays,
 * the nodes mix.
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
 * each node sent.
 *
 * Pairwise gossip (gossip, gossip-vc) goes in waves of pushes between
 * disjoint pairs (fedc_gossip_waves); a wave is one exchange, in which the
 * receiver of a push gets a STEP frame holding its model and the sender's,
 * each with its update the first time it appears in the round (members
 * [receiver, sender], self 0):
 *
 *   {"round":r,"gossip_step":w,"self":0,"nodes":[j,i],"updates":[0|1,0|1],
 *    "merge":"average"|"average-vc","tensors":t}
 *
 * and answers fedc_gossip_merge of the two (model + update each). A node
 * whose update has not been applied yet when it first pushes gets a frame
 * of itself alone in the same wave, and answers its model plus its update:
 * the server never adds one to a model. With average-vc a last blob holds
 * the model's layout, t (offset, count) pairs of little-endian uint64, over
 * whose tensors the variance correction runs.
 *
 * Tensors travel as raw little-endian float32 (the decentralised strategies
 * require an exact codec). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/finite.h"
#include "fedc/strategy.h"
#include "gossip_relay.h"

/* The STEP frame: control JSON o (taken), the m members' models as blob 0,
 * the updates of those that carry one as the next blob, then (layout_n > 0)
 * layout_n uint64 values as the last. */
static int encode_step(json_t *o, int m, const float *const *x, const float *const *delta, size_t d,
                       const uint64_t *layout, size_t layout_n, fedc_buf *out, fedc_error *err) {
    char *js = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(o);
    int nu = 0;
    for (int q = 0; q < m; q++) nu += delta && delta[q];
    float *models = malloc((size_t)m * d * sizeof(float) + 1);
    float *deltas = malloc((size_t)nu * d * sizeof(float) + 1);
    int rc = -1;
    if (!js || !models || !deltas) {
        fedc_fail(err, "gossip relay: out of memory for a step of %d models", m);
        goto out;
    }
    if (strlen(js) > FEDC_PROTO_MAX_JSON) {
        fedc_fail(err, "gossip relay: a step's control part of %zu bytes; at most %d", strlen(js), FEDC_PROTO_MAX_JSON);
        goto out;
    }
    for (int q = 0, u = 0; q < m; q++) {
        memcpy(models + (size_t)q * d, x[q], d * sizeof(float));
        if (delta && delta[q]) memcpy(deltas + (size_t)u++ * d, delta[q], d * sizeof(float));
    }
    fedc_msg msg = {.type = FEDC_MSG_STEP, .json = js, .json_len = strlen(js), .nblobs = 1};
    msg.blobs[0].data = (const uint8_t *)models;
    msg.blobs[0].len = (size_t)m * d * sizeof(float);
    if (nu) msg.blobs[msg.nblobs++] = (fedc_blob){(const uint8_t *)deltas, (size_t)nu * d * sizeof(float)};
    if (layout_n) msg.blobs[msg.nblobs++] = (fedc_blob){(const uint8_t *)layout, layout_n * sizeof(uint64_t)};
    fedc_buf_clear(out);
    rc = fedc_msg_encode(&msg, out, err);
out:
    free(js);
    free(models);
    free(deltas);
    return rc;
}

int fedc_relay_step_encode(int round, int step, int self, int m, const int *ids, const double *w,
                           const float *const *x, const float *const *delta, size_t d, fedc_buf *out,
                           fedc_error *err) {
    if (m < 1 || m > FEDC_RELAY_MAX_ROW)
        return fedc_fail(err, "gossip relay: a row of %d nodes; at most %d can be relayed", m, FEDC_RELAY_MAX_ROW);
    json_t *nodes = json_array(), *weights = json_array(), *updates = json_array();
    for (int q = 0; q < m; q++) {
        json_array_append_new(nodes, json_integer(ids[q]));
        json_array_append_new(weights, json_real(w[q]));
        json_array_append_new(updates, json_integer(delta && delta[q]));
    }
    json_t *o = json_pack("{s:i,s:i,s:i,s:o,s:o,s:o}", "round", round, "gossip_step", step, "self", self, "nodes",
                          nodes, "weights", weights, "updates", updates);
    return encode_step(o, m, x, delta, d, NULL, 0, out, err);
}

int fedc_relay_push_encode(int round, int wave, int m, const int *ids, const float *const *x,
                           const float *const *delta, size_t d, int corrected, const fedc_param_layout *layout,
                           fedc_buf *out, fedc_error *err) {
    if (m < 1 || m > 2) return fedc_fail(err, "gossip relay: a push involves 1 or 2 nodes, not %d", m);
    if (corrected && layout && layout->n > FEDC_RELAY_MAX_TENSORS)
        return fedc_fail(err, "gossip relay: a model of %d tensors; at most %d can be relayed", layout->n,
                         FEDC_RELAY_MAX_TENSORS);
    json_t *nodes = json_array(), *updates = json_array();
    for (int q = 0; q < m; q++) {
        json_array_append_new(nodes, json_integer(ids[q]));
        json_array_append_new(updates, json_integer(delta && delta[q]));
    }
    int nt = corrected && layout ? layout->n : 0;
    json_t *o = json_pack("{s:i,s:i,s:i,s:o,s:o,s:s,s:i}", "round", round, "gossip_step", wave, "self", 0, "nodes",
                          nodes, "updates", updates, "merge", corrected ? "average-vc" : "average", "tensors", nt);
    uint64_t *lay = malloc(((size_t)nt * 2 + 1) * sizeof *lay);
    if (!lay) {
        json_decref(o);
        return fedc_fail(err, "gossip relay: out of memory for a layout of %d tensors", nt);
    }
    for (int t = 0; t < nt; t++) {
        lay[2 * t] = layout->offset[t];
        lay[2 * t + 1] = layout->count[t];
    }
    int rc = encode_step(o, m, x, delta, d, lay, (size_t)nt * 2, out, err);
    free(lay);
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

/* A push's merge: members [receiver, sender] (or the receiver alone, which
 * only takes its update), each its model plus its update when it carries
 * one, as the simulation adds them; then fedc_gossip_merge. */
static int answer_push(json_t *o, const fedc_msg *m, int layout_blob, size_t rows, size_t d, const float *const *xs,
                       const float *const *ds, float *y, float *out, fedc_error *err) {
    const char *merge = json_string_value(json_object_get(o, "merge"));
    int corrected = merge && !strcmp(merge, "average-vc");
    if (!merge || (!corrected && strcmp(merge, "average")))
        return fedc_fail(err, "gossip relay: \"merge\" must be \"average\" or \"average-vc\"");
    if (rows > 2) return fedc_fail(err, "gossip relay: a push carries 1 or 2 nodes, not %zu", rows);
    size_t nt = (size_t)json_integer_value(json_object_get(o, "tensors"));
    const fedc_blob *b = &m->blobs[layout_blob];
    if (nt && b->len != nt * 2 * sizeof(uint64_t))
        return fedc_fail(err, "gossip relay: the layout is %zu bytes; expected %zu (\"tensors\" %zu)", b->len,
                         nt * 2 * sizeof(uint64_t), nt);
    uint64_t *lay = malloc((nt * 2 + 1) * sizeof *lay);
    size_t *off = malloc((nt + 1) * sizeof *off), *cnt = malloc((nt + 1) * sizeof *cnt);
    int rc = -1;
    if (!lay || !off || !cnt) {
        fedc_fail(err, "gossip relay: out of memory for %zu tensors", nt);
        goto out;
    }
    if (nt) memcpy(lay, b->data, b->len);
    for (size_t t = 0; t < nt; t++) {
        if (lay[2 * t] >= d || lay[2 * t + 1] < 1 || lay[2 * t + 1] > d - lay[2 * t]) {
            fedc_fail(err, "gossip relay: tensor %zu of the layout (offset %llu, %llu values) is not inside the "
                      "model's %zu values", t, (unsigned long long)lay[2 * t], (unsigned long long)lay[2 * t + 1], d);
            goto out;
        }
        off[t] = (size_t)lay[2 * t];
        cnt[t] = (size_t)lay[2 * t + 1];
    }
    for (size_t q = 0; q < rows; q++) {
        float *yq = y + q * d;
        for (size_t j = 0; j < d; j++) yq[j] = xs[q][j];
        if (ds[q])
            for (size_t j = 0; j < d; j++) yq[j] += ds[q][j];
    }
    fedc_param_layout pl = {(int)nt, off, cnt};
    if (rows == 1) memcpy(out, y, d * sizeof(float));
    else fedc_gossip_merge(y, y + d, d, nt ? &pl : NULL, corrected, out);
    rc = 0;
out:
    free(lay);
    free(off);
    free(cnt);
    return rc;
}

int fedc_relay_answer(size_t d, const fedc_msg *m, fedc_buf *reply, fedc_error *err) {
    if (m->type != FEDC_MSG_STEP) return fedc_fail(err, "gossip relay: expected a step, got %s", fedc_msg_type_name(m->type));
    json_t *o = json_loads(m->json, 0, NULL);
    long long round, step, self;
    int rc = -1, nu = 0, push = 0;
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
    push = json_object_get(o, "merge") != NULL;
    if (!int_in(json_object_get(o, "round"), 1, 1000000, &round)) {
        fedc_fail(err, "gossip relay: \"round\" must be an integer in 1..1000000");
        goto out;
    }
    if (!int_in(json_object_get(o, "gossip_step"), 1, 1000000, &step)) {
        fedc_fail(err, "gossip relay: \"gossip_step\" must be an integer in 1..1000000");
        goto out;
    }
    if (!json_is_array(nodes) || json_array_size(nodes) < 1 || json_array_size(nodes) > FEDC_RELAY_MAX_ROW) {
        fedc_fail(err, "gossip relay: \"nodes\" must be an array of 1..%d node ids", FEDC_RELAY_MAX_ROW);
        goto out;
    }
    rows = json_array_size(nodes);
    if ((!push && (!json_is_array(weights) || json_array_size(weights) != rows)) || !json_is_array(updates) ||
        json_array_size(updates) != rows) {
        fedc_fail(err, "gossip relay: %s must be arrays of %zu entries, one per node",
                  push ? "\"updates\"" : "\"weights\" and \"updates\"", rows);
        goto out;
    }
    if (!int_in(json_object_get(o, "self"), 0, push ? 0 : (long long)rows - 1, &self)) {
        fedc_fail(err, "gossip relay: \"self\" must be an integer in 0..%zu", push ? 0 : rows - 1);
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
        if (!push && (!json_is_number(wq) || !(json_number_value(wq) >= 0 && json_number_value(wq) <= 1))) {
            fedc_fail(err, "gossip relay: \"weights\"[%zu] must be a number in [0, 1]", q);
            goto out;
        }
        if (!int_in(json_array_get(updates, q), 0, 1, &has)) {
            fedc_fail(err, "gossip relay: \"updates\"[%zu] must be 0 or 1", q);
            goto out;
        }
        w[q] = push ? 0 : json_number_value(wq);
        nu += (int)has;
    }
    long long nt = 0;
    if (push && !int_in(json_object_get(o, "tensors"), 0, FEDC_RELAY_MAX_TENSORS, &nt)) {
        fedc_fail(err, "gossip relay: \"tensors\" must be an integer in 0..%d", FEDC_RELAY_MAX_TENSORS);
        goto out;
    }
    if (m->nblobs != 1 + (nu > 0) + (nt > 0)) {
        fedc_fail(err, "gossip relay: %d blobs; expected %d (the models%s%s)", m->nblobs, 1 + (nu > 0) + (nt > 0),
                  nu ? ", the updates" : "", nt ? ", the layout" : "");
        goto out;
    }
    if (d == 0 || rows > (SIZE_MAX / sizeof(float)) / d) {
        fedc_fail(err, "gossip relay: %zu models of %zu parameters overflow memory", rows, d);
        goto out;
    }
    x = malloc(rows * d * sizeof(float));
    dl = malloc(((size_t)nu * d + 1) * sizeof(float));
    acc = malloc((push ? rows : 1) * d * sizeof(float));
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
    if (push) {
        if (answer_push(o, m, 1 + (nu > 0), rows, d, xs, ds, acc, out, err) != 0) goto out;
    } else {
        fedc_gossip_mix_row(xs[self], (int)rows, w, xs, ds, d, acc, out);
    }
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
