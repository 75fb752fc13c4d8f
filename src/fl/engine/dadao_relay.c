/* The wire half of DADAO across real nodes (see dadao_relay.h).
 *
 * A node's events in a round are cut at its communication events: step
 * after step, the server sends it
 *
 *   {"round":r,"dadao_step":w,"first":0|1,"from":t0,"until":t1,
 *    "grads":[t...],"send":"yz"|"x","mu":mu,"k":[nu,alpha,...,gamma~],
 *    "init":0|1,"peer":0|1}
 *
 * with blobs: the starting model (init, first step of round 1 only: a node
 * starts from the run's initial model) and the peer's y and z (peer: the
 * communication the node reported at t0, now that its peer reported too).
 * The node applies that communication's jump, plays its gradient events
 * (on its own data, with the trainer's gradient), flows to t1 and answers a
 * STEP_REPLY {"round":r,"dadao_step":w,"grads":g} holding its y and z at
 * t1 (a communication at t1) or its x (t1 = 1, the round's end). The
 * constants travel in every frame (17 significant digits: the doubles
 * exactly), so a node needs neither the graph nor the data's smoothness.
 * Vectors travel as raw little-endian float32. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dadao_relay.h"
#include "fedc/finite.h"

static const char *const k_names[11] = {"nu",    "alpha", "alpha~", "eta",   "theta", "beta",
                                        "beta~", "delta", "delta~", "gamma", "gamma~"};

static void consts_get(const dadao_consts *k, double out[11]) {
    const double v[11] = {k->nu,   k->alpha,   k->alpha_t, k->eta,   k->theta,  k->beta,
                          k->beta_t, k->delta, k->delta_t, k->gamma, k->gamma_t};
    memcpy(out, v, sizeof v);
}

static void consts_set(const double in[11], dadao_consts *k) {
    *k = (dadao_consts){in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8], in[9], in[10]};
}

int fedc_dadao_step_encode(const fedc_dadao_step *s, size_t d, fedc_buf *out, fedc_error *err) {
    if (s->n_grads < 0 || s->n_grads > FEDC_DADAO_MAX_GRADS)
        return fedc_fail(err, "dadao relay: %d gradient events in one step; at most %d", s->n_grads,
                         FEDC_DADAO_MAX_GRADS);
    json_t *grads = json_array(), *k = json_array();
    double kv[11];
    consts_get(&s->k, kv);
    for (int q = 0; q < s->n_grads; q++) json_array_append_new(grads, json_real(s->grads[q]));
    for (int q = 0; q < 11; q++) json_array_append_new(k, json_real(kv[q]));
    json_t *o = json_pack("{s:i,s:i,s:i,s:f,s:f,s:o,s:s,s:f,s:o,s:i,s:i}", "round", s->round, "dadao_step", s->step,
                          "first", s->first, "from", s->from, "until", s->until, "grads", grads, "send",
                          s->send_x ? "x" : "yz", "mu", s->mu, "k", k, "init", s->init != NULL, "peer",
                          s->peer != NULL);
    char *js = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(o);
    if (!js) return fedc_fail(err, "dadao relay: out of memory for a step");
    if (strlen(js) > FEDC_PROTO_MAX_JSON) {
        free(js);
        return fedc_fail(err, "dadao relay: a step's control part is over %d bytes", FEDC_PROTO_MAX_JSON);
    }
    fedc_msg msg = {.type = FEDC_MSG_STEP, .json = js, .json_len = strlen(js), .nblobs = 0};
    if (s->init) msg.blobs[msg.nblobs++] = (fedc_blob){(const uint8_t *)s->init, d * sizeof(float)};
    if (s->peer) msg.blobs[msg.nblobs++] = (fedc_blob){(const uint8_t *)s->peer, 2 * d * sizeof(float)};
    fedc_buf_clear(out);
    int rc = fedc_msg_encode(&msg, out, err);
    free(js);
    return rc;
}

int fedc_dadao_is_step(const fedc_msg *m) {
    if (m->type != FEDC_MSG_STEP || !m->json) return 0;
    json_t *o = json_loadb(m->json, m->json_len, 0, NULL);
    int is = json_is_object(o) && json_object_get(o, "dadao_step") != NULL;
    json_decref(o);
    return is;
}

static int int_in(json_t *v, long long lo, long long hi, long long *out) {
    if (!json_is_integer(v)) return 0;
    *out = json_integer_value(v);
    return *out >= lo && *out <= hi;
}

static int num_in(json_t *v, double lo, double hi, double *out) {
    if (!json_is_number(v)) return 0;
    *out = json_number_value(v);
    return isfinite(*out) && *out >= lo && *out <= hi;
}

/* A blob of n float32 values, copied (blobs sit at any alignment) into a
 * fresh array *out, all finite. */
static int blob_floats(const fedc_blob *b, size_t n, const char *what, float **out, fedc_error *err) {
    if (b->len != n * sizeof(float))
        return fedc_fail(err, "dadao relay: %s is %zu bytes; expected %zu", what, b->len, n * sizeof(float));
    float *v = malloc(n * sizeof(float));
    if (!v) return fedc_fail(err, "dadao relay: out of memory for %s", what);
    memcpy(v, b->data, n * sizeof(float));
    size_t bad = fedc_first_nonfinite(v, n);
    if (bad < n) {
        free(v);
        return fedc_fail(err, "dadao relay: %s value %zu is not finite", what, bad);
    }
    *out = v;
    return 0;
}

void fedc_dadao_step_free(fedc_dadao_step *s) {
    if (!s->owned) return;
    free((void *)s->init);
    free((void *)s->peer);
    s->init = s->peer = NULL;
    s->owned = 0;
}

int fedc_dadao_step_decode(const fedc_msg *m, size_t d, fedc_dadao_step *s, fedc_error *err) {
    memset(s, 0, sizeof *s);
    if (m->type != FEDC_MSG_STEP)
        return fedc_fail(err, "dadao relay: expected a step, got %s", fedc_msg_type_name(m->type));
    json_t *o = json_loadb(m->json, m->json_len, 0, NULL);
    int rc = -1;
    long long round, step, first, init, peer;
    const char *send = NULL;
    json_t *grads = o ? json_object_get(o, "grads") : NULL, *k = o ? json_object_get(o, "k") : NULL;
    if (!json_is_object(o)) {
        fedc_fail(err, "dadao relay: the step's control part is not a JSON object");
        goto out;
    }
    if (!int_in(json_object_get(o, "round"), 1, 1000000, &round)) {
        fedc_fail(err, "dadao relay: \"round\" must be an integer in 1..1000000");
        goto out;
    }
    if (!int_in(json_object_get(o, "dadao_step"), 1, 100000000, &step)) {
        fedc_fail(err, "dadao relay: \"dadao_step\" must be an integer in 1..100000000");
        goto out;
    }
    if (!int_in(json_object_get(o, "first"), 0, 1, &first) || !int_in(json_object_get(o, "init"), 0, 1, &init) ||
        !int_in(json_object_get(o, "peer"), 0, 1, &peer)) {
        fedc_fail(err, "dadao relay: \"first\", \"init\" and \"peer\" must be 0 or 1");
        goto out;
    }
    if (init && (!first || round != 1)) {
        fedc_fail(err, "dadao relay: \"init\" (a starting model) comes only with the first step of round 1");
        goto out;
    }
    if (!num_in(json_object_get(o, "from"), 0, 1, &s->from) || !num_in(json_object_get(o, "until"), s->from, 1, &s->until)) {
        fedc_fail(err, "dadao relay: \"from\" and \"until\" must be times with 0 <= from <= until <= 1");
        goto out;
    }
    if (first && (s->from != 0 || peer)) {
        fedc_fail(err, "dadao relay: a node's first step of a round starts at \"from\" 0 with no \"peer\"");
        goto out;
    }
    send = json_string_value(json_object_get(o, "send"));
    if (!send || (strcmp(send, "x") != 0 && strcmp(send, "yz") != 0)) {
        fedc_fail(err, "dadao relay: \"send\" must be \"x\" or \"yz\"");
        goto out;
    }
    s->send_x = !strcmp(send, "x");
    if (s->send_x && s->until != 1) {
        fedc_fail(err, "dadao relay: \"send\" \"x\" ends the round: \"until\" must be 1");
        goto out;
    }
    if (!json_is_array(grads) || json_array_size(grads) > FEDC_DADAO_MAX_GRADS) {
        fedc_fail(err, "dadao relay: \"grads\" must be an array of at most %d times", FEDC_DADAO_MAX_GRADS);
        goto out;
    }
    s->n_grads = (int)json_array_size(grads);
    for (int q = 0; q < s->n_grads; q++)
        if (!num_in(json_array_get(grads, (size_t)q), q ? s->grads[q - 1] : s->from, s->until, &s->grads[q])) {
            fedc_fail(err, "dadao relay: \"grads\"[%d] must be a time in order between \"from\" and \"until\"", q);
            goto out;
        }
    if (!num_in(json_object_get(o, "mu"), 1e-300, 1e300, &s->mu)) {
        fedc_fail(err, "dadao relay: \"mu\" must be a positive number");
        goto out;
    }
    double kv[11];
    if (!json_is_array(k) || json_array_size(k) != 11) {
        fedc_fail(err, "dadao relay: \"k\" must be an array of the 11 constants");
        goto out;
    }
    for (int q = 0; q < 11; q++)
        if (!num_in(json_array_get(k, (size_t)q), 0, 1e300, &kv[q])) {
            fedc_fail(err, "dadao relay: \"k\"[%d] (%s) must be a number >= 0", q, k_names[q]);
            goto out;
        }
    consts_set(kv, &s->k);
    if (m->nblobs != (int)(init + peer)) {
        fedc_fail(err, "dadao relay: %d blobs; expected %lld (%s%s%s)", m->nblobs, init + peer,
                  init ? "the starting model" : "", init && peer ? ", " : "", peer ? "the peer's y and z" : "none");
        goto out;
    }
    if (d == 0 || d > (SIZE_MAX / sizeof(float)) / 2) {
        fedc_fail(err, "dadao relay: a model of %zu parameters", d);
        goto out;
    }
    float *iv = NULL, *pv = NULL;
    if (init && blob_floats(&m->blobs[0], d, "the starting model", &iv, err) != 0) goto out;
    if (peer && blob_floats(&m->blobs[init], 2 * d, "the peer's y and z", &pv, err) != 0) {
        free(iv);
        goto out;
    }
    s->init = iv;
    s->peer = pv;
    s->owned = 1;
    s->round = (int)round;
    s->step = (int)step;
    s->first = (int)first;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int fedc_dadao_reply_encode(int round, int step, int grads, double cpu_s, const float *v, size_t n, fedc_buf *out,
                            fedc_error *err) {
    char js[128];
    int jl = snprintf(js, sizeof js, "{\"round\":%d,\"dadao_step\":%d,\"grads\":%d,\"cpu_s\":%.6f}", round, step,
                      grads, isfinite(cpu_s) && cpu_s >= 0 ? cpu_s : 0.0);
    fedc_msg r = {.type = FEDC_MSG_STEP_REPLY, .json = js, .json_len = (size_t)jl, .nblobs = 1};
    r.blobs[0] = (fedc_blob){(const uint8_t *)v, n * sizeof(float)};
    fedc_buf_clear(out);
    return fedc_msg_encode(&r, out, err);
}

int fedc_dadao_reply_decode(const uint8_t *frame, size_t len, int round, int step, size_t n, float *out,
                            int *grads, double *cpu_s, fedc_error *err) {
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = -1;
    json_t *o = json_loadb(m.json, m.json_len, 0, NULL);
    long long r, q, g;
    double cpu = 0;
    if (m.type != FEDC_MSG_STEP_REPLY) {
        fedc_fail(err, "dadao relay: expected a step reply, got %s", fedc_msg_type_name(m.type));
    } else if (!json_is_object(o) || !int_in(json_object_get(o, "round"), round, round, &r)) {
        fedc_fail(err, "dadao relay: the reply's \"round\" must be %d", round);
    } else if (!int_in(json_object_get(o, "dadao_step"), step, step, &q)) {
        fedc_fail(err, "dadao relay: the reply's \"dadao_step\" must be %d", step);
    } else if (!int_in(json_object_get(o, "grads"), 0, FEDC_DADAO_MAX_GRADS, &g)) {
        fedc_fail(err, "dadao relay: the reply's \"grads\" must be an integer in 0..%d", FEDC_DADAO_MAX_GRADS);
    } else if (!num_in(json_object_get(o, "cpu_s"), 0, 1e9, &cpu)) {
        fedc_fail(err, "dadao relay: the reply's \"cpu_s\" must be a number of seconds >= 0");
    } else if (m.nblobs != 1) {
        fedc_fail(err, "dadao relay: the reply has %d blobs; expected 1 (the node's vectors)", m.nblobs);
    } else if (m.blobs[0].len != n * sizeof(float)) {
        fedc_fail(err, "dadao relay: the node's vectors are %zu bytes; expected %zu", m.blobs[0].len,
                  n * sizeof(float));
    } else {
        memcpy(out, m.blobs[0].data, n * sizeof(float));
        size_t bad = fedc_first_nonfinite(out, n);
        if (bad < n) {
            fedc_fail(err, "dadao relay: the node's vectors: value %zu is not finite", bad);
        } else {
            *grads = (int)g;
            *cpu_s = cpu;
            rc = 0;
        }
    }
    json_decref(o);
    fedc_msg_free(&m);
    return rc;
}
