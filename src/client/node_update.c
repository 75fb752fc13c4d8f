/* UPDATE frames built by hand: the zero update of echo mode (benchmarks of
 * round overhead without training) and deliberately bad updates for the
 * tests that check the server refuses them. Both go through the task's
 * uplink codec and framing exactly like a trained update. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "fedc/proto.h"
#include "fedc/rng.h"
#include "fedc/strategy.h"

int node_poison_parse(const char *s, node_poison *kind, int *round, fedc_error *err) {
    static const char *const names[] = {"", "nan", "inf", "short", "missing", "extra", "round", "samples", "scale",
                                        "replay"};
    char name[32];
    const char *at = strchr(s, '@');
    snprintf(name, sizeof name, "%.*s", (int)(at ? (size_t)(at - s) : strlen(s)), s);
    *round = at ? atoi(at + 1) : 0;
    for (int i = 1; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(name, names[i])) {
            *kind = (node_poison)i;
            return 0;
        }
    return fedc_fail(err, "--poison %s: allowed: nan, inf, short, missing, extra, round, samples, scale, replay "
                          "(optionally @ROUND)",
                     s);
}

int node_frame_round(const uint8_t *frame, size_t len) {
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, NULL) != 0) return -1;
    int round = -1;
    json_t *o = m.type == FEDC_MSG_TRAIN || m.type == FEDC_MSG_EVALUATE || m.type == FEDC_MSG_STEP
                    ? json_loads(m.json, 0, NULL)
                    : NULL;
    json_t *r = o ? json_object_get(o, "round") : NULL;
    if (json_is_integer(r) && json_integer_value(r) > 0 && json_integer_value(r) < 100000000)
        round = (int)json_integer_value(r);
    json_decref(o);
    fedc_msg_free(&m);
    return round;
}

int node_build_update(const fedc_task *t, size_t d, int round, node_poison poison, const float *zeros,
                      fedc_buf *out, fedc_error *err) {
    fedc_codec *up = fedc_codec_parse(t->compression.up, err);
    if (!up) return -1;
    fedc_strategy *st = fedc_strategy_create(t, d, 1, err);
    if (!st) {
        fedc_codec_free(up);
        return -1;
    }
    size_t extra_up = fedc_strategy_info_get(st).extra_up;
    fedc_strategy_free(st);
    size_t n = d;
    if (poison == NODE_POISON_SHORT) n = d > 10 ? d - 10 : 1;
    /* The update is all zeros (the caller's, or fresh ones), or for "scale"
     * all 1e15. */
    float *own = zeros && poison != NODE_POISON_SCALE ? NULL : calloc(n, sizeof(float));
    const float *delta = own ? own : zeros;
    if (own && poison == NODE_POISON_SCALE)
        for (size_t j = 0; j < n; j++) own[j] = 1e15f;
    float *extra = calloc(extra_up + 1, sizeof(float));
    float *residual = NULL;
    fedc_buf blob = {0};
    int rc = -1;
    if (!delta || !extra) {
        fedc_fail(err, "out of memory building an update of %zu values", n);
        goto out;
    }
    fedc_rng rng = fedc_rng_derive(t->seed ^ 0xC0DECull, (uint64_t)round, 0);
    if (fedc_codec_encode(up, delta, n, residual, &rng, &blob, err) != 0) goto out;
    if (poison == NODE_POISON_NAN || poison == NODE_POISON_INF) {
        /* Encoders refuse non-finite input, so a hostile node writes the
         * bits itself: with the plain codec the values are the blob's tail. */
        if (strcmp(fedc_codec_name(up), "none") != 0 || blob.len < n * sizeof(float)) {
            fedc_fail(err, "--poison nan/inf needs compression.up \"none\" (the task uses \"%s\")",
                      fedc_codec_name(up));
            goto out;
        }
        float bad = poison == NODE_POISON_NAN ? NAN : INFINITY;
        size_t at = poison == NODE_POISON_NAN && n > 17 ? 17 : 0;
        memcpy(blob.data + blob.len - n * sizeof(float) + at * sizeof(float), &bad, sizeof bad);
    }
    char json[200];
    int claimed = poison == NODE_POISON_ROUND ? round + 7 : poison == NODE_POISON_REPLAY ? round - 1 : round;
    long samples = poison == NODE_POISON_SAMPLES ? 59999999L : 1;
    int jl = snprintf(json, sizeof json, "{\"round\":%d,\"n_samples\":%ld,\"steps\":0,\"loss\":0,\"cpu_s\":0}",
                      claimed, samples);
    fedc_msg m = {.type = FEDC_MSG_UPDATE, .json = json, .json_len = (size_t)jl};
    m.blobs[m.nblobs++] = (fedc_blob){blob.data, blob.len};
    if (extra_up) m.blobs[m.nblobs++] = (fedc_blob){(const uint8_t *)extra, extra_up * sizeof(float)};
    if (poison == NODE_POISON_MISSING) m.nblobs = 0;
    if (poison == NODE_POISON_EXTRA) m.blobs[m.nblobs++] = (fedc_blob){(const uint8_t *)extra, sizeof(float)};
    fedc_buf_clear(out);
    rc = fedc_msg_encode(&m, out, err);
out:
    free(own);
    free(extra);
    fedc_buf_free(&blob);
    fedc_codec_free(up);
    return rc;
}
