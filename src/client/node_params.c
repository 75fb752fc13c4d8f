/* The protocol around a parameter-level node model (include/fedc/node.h):
 * the model's callbacks see plain float vectors; this file decodes the
 * global model of a TRAIN frame (downlink codec, "full" / "delta" / "init"
 * bases as fedc's trainer reads them), encodes the update (uplink codec,
 * error-feedback residual kept across rounds, the trainer's random streams
 * so the same update gives the same bytes), and builds RESULT and PARAMS
 * frames. Every frame is checked as hostile input. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "fedc/engine.h"
#include "fedc/finite.h"
#include "fedc/proto.h"
#include "fedc/strategy.h"
#include "fedc/timer.h"
#include "fl/engine/engine_internal.h"
#include "fl/engine/gossip_relay.h"

void node_params_free(node_params *p) {
    fedc_codec_free(p->up);
    fedc_codec_free(p->down);
    free(p->global);
    free(p->work);
    free(p->residual);
    free(p->down_ref);
    fedc_arch_free(p->arch);
    memset(p, 0, sizeof *p);
}

int node_params_setup(node_params *p, const fedc_node_run_info *run, fedc_error *err) {
    node_params_free(p);
    const fedc_task *t = run->task;
    if (run->client_state)
        return fedc_fail(err, "strategy %s keeps client state that only fedc's own trainer maintains; this node "
                              "trains its own model",
                         t->strategy.name);
    if (strcmp(t->privacy.mode, "none") != 0)
        return fedc_fail(err, "privacy mode %s is applied by fedc's own trainer; this node trains its own model",
                         t->privacy.mode);
    p->task = *t;
    p->slot = run->slot;
    p->d = run->params;
    if (!(p->up = fedc_codec_parse(t->compression.up, err)) || !(p->down = fedc_codec_parse(t->compression.down, err)))
        goto fail;
    p->global = malloc(p->d * sizeof(float));
    p->work = malloc(p->d * sizeof(float));
    if (fedc_codec_uses_error_feedback(p->up)) p->residual = calloc(p->d, sizeof(float));
    if (!fedc_engine_codec_lossless(p->down)) p->down_ref = calloc(p->d, sizeof(float));
    if (!p->global || !p->work || (fedc_codec_uses_error_feedback(p->up) && !p->residual) ||
        (!fedc_engine_codec_lossless(p->down) && !p->down_ref)) {
        fedc_fail(err, "out of memory for a model of %zu parameters", p->d);
        goto fail;
    }
    if (!fedc_task_external(t) && p->down_ref) {
        /* A lossy downlink starts from the initial model, rebuilt from the seed. */
        if (!(p->arch = fedc_arch_parse(t->model, run->shape, run->classes, err))) goto fail;
        if (fedc_arch_nparams(p->arch) != p->d) {
            fedc_fail(err, "the task's model has %zu parameters here, %zu on the server", fedc_arch_nparams(p->arch),
                      p->d);
            goto fail;
        }
    }
    return 0;
fail:
    node_params_free(p);
    return -1;
}

/* The global model of a TRAIN frame into p->global; its round in *round. */
static int read_train(node_params *p, const uint8_t *frame, size_t len, int *round, fedc_error *err) {
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = -1;
    json_t *ctl = NULL;
    if (m.type != FEDC_MSG_TRAIN) {
        fedc_fail(err, "expected a train message, got %s", fedc_msg_type_name(m.type));
        goto out;
    }
    ctl = json_loads(m.json, 0, NULL);
    json_int_t r = -1;
    const char *base = "full";
    if (!ctl || json_unpack(ctl, "{s:I,s?s}", "round", &r, "base", &base) != 0 || r < 1 || r > 1000000) {
        fedc_fail(err, "train message: \"round\" must be an integer in 1..1000000");
        goto out;
    }
    int full = !strcmp(base, "full"), delta = !strcmp(base, "delta"), init = !strcmp(base, "init");
    if (!full && !delta && !init) {
        fedc_fail(err, "train message: \"base\" must be \"full\", \"delta\" or \"init\", got \"%.32s\"", base);
        goto out;
    }
    if ((delta || init) && !p->down_ref) {
        fedc_fail(err, "train message: a model delta arrived but the downlink codec is lossless");
        goto out;
    }
    if (delta && !p->have_ref) {
        fedc_fail(err, "train message: a model delta arrived but this node holds no earlier model");
        goto out;
    }
    if (init) {
        if (!p->arch) {
            fedc_fail(err, "train message: base \"init\" needs the initial model of a built-in architecture");
            goto out;
        }
        fedc_engine_initial_model(&p->task, p->arch, p->down_ref);
    }
    if (m.nblobs != 1) {
        fedc_fail(err, "train message: %d blobs; expected 1 (strategies with client state are not served here)",
                  m.nblobs);
        goto out;
    }
    if (fedc_codec_decode(p->down, m.blobs[0].data, m.blobs[0].len, p->global, p->d, err) != 0) {
        fedc_fail_prefix(err, "train message: model: ");
        goto out;
    }
    if (delta || init)
        for (size_t j = 0; j < p->d; j++) p->global[j] += p->down_ref[j];
    size_t bad = fedc_first_nonfinite(p->global, p->d);
    if (bad < p->d) {
        fedc_fail(err, "train message: model value %zu is not finite", bad);
        goto out;
    }
    if (p->down_ref) {
        memcpy(p->down_ref, p->global, p->d * sizeof(float));
        p->have_ref = 1;
    }
    *round = (int)r;
    rc = 0;
out:
    json_decref(ctl);
    fedc_msg_free(&m);
    return rc;
}

int node_params_train(node_params *p, const fedc_node_model *md, const uint8_t *frame, size_t len, fedc_buf *reply,
                      fedc_error *err) {
    double cpu0 = fedc_cpu_thread_s();
    int round = 0;
    if (read_train(p, frame, len, &round, err) != 0) return -1;
    fedc_node_fit_args args = {round, &p->task, fedc_task_local_lr(&p->task, round)};
    fedc_node_fit_result res = {0, 0, 0};
    if (md->fit_delta) {
        if (md->fit_delta(md->user, &args, p->global, p->work, p->d, &res, err) != 0) return -1;
    } else {
        memcpy(p->work, p->global, p->d * sizeof(float));
        if (md->fit(md->user, &args, p->work, p->d, &res, err) != 0) return -1;
    }
    /* What leaves the node is checked like the server checks it. */
    size_t bad = fedc_first_nonfinite(p->work, p->d);
    if (bad < p->d)
        return fedc_fail(err, "the %s value %zu is not finite; no update sent",
                         md->fit_delta ? "update's" : "trained model's", bad);
    if (!isfinite(res.n_samples) || res.n_samples < 0 || res.n_samples > 1e12 || res.n_samples != floor(res.n_samples) ||
        res.steps < 0 || !isfinite(res.loss))
        return fedc_fail(err, "fit: n_samples (a count), steps (>= 0) or loss (finite) out of range");
    if (!md->fit_delta)
        for (size_t j = 0; j < p->d; j++) p->work[j] -= p->global[j];
    fedc_buf enc = {0};
    fedc_rng crng = fedc_rng_derive(p->task.seed ^ 0xC0DECull, (uint64_t)round, (uint64_t)p->slot);
    if (fedc_codec_encode(p->up, p->work, p->d, p->residual, &crng, &enc, err) != 0) {
        fedc_buf_free(&enc);
        return -1;
    }
    char json[256];
    int jl = snprintf(json, sizeof json, "{\"round\":%d,\"n_samples\":%.0f,\"steps\":%d,\"loss\":%.9g,\"cpu_s\":%.6f}",
                      round, res.n_samples, res.steps, res.loss, fedc_cpu_thread_s() - cpu0);
    fedc_msg up = {.type = FEDC_MSG_UPDATE, .json = json, .json_len = (size_t)jl, .nblobs = 1};
    up.blobs[0] = (fedc_blob){enc.data, enc.len};
    fedc_buf_clear(reply);
    int rc = fedc_msg_encode(&up, reply, err);
    fedc_buf_free(&enc);
    return rc;
}

int node_params_relay(node_params *p, const uint8_t *frame, size_t len, fedc_buf *reply, fedc_error *err) {
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = fedc_relay_answer(p->d, &m, reply, err);
    fedc_msg_free(&m);
    return rc;
}

int node_params_evaluate(node_params *p, const fedc_node_model *md, const uint8_t *frame, size_t len,
                         fedc_buf *reply, fedc_error *err) {
    if (!md->evaluate) return fedc_fail(err, "this node does not evaluate");
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = -1;
    json_t *ctl = NULL;
    fedc_codec *codec = NULL;
    json_int_t round = -1;
    const char *cname = NULL;
    if (m.type != FEDC_MSG_EVALUATE || !(ctl = json_loads(m.json, 0, NULL)) ||
        json_unpack(ctl, "{s:I,s:s}", "round", &round, "codec", &cname) != 0 || round < 1 || round > 1000000 ||
        m.nblobs != 1) {
        fedc_fail(err, "evaluate message: \"round\", \"codec\" and one blob (the model) are required");
        goto out;
    }
    if (!(codec = fedc_codec_parse(cname, err)) ||
        fedc_codec_decode(codec, m.blobs[0].data, m.blobs[0].len, p->work, p->d, err) != 0) {
        fedc_fail_prefix(err, "evaluate message: ");
        goto out;
    }
    fedc_node_eval_result res = {0, 0, 0};
    if (md->evaluate(md->user, (int)round, p->work, p->d, &res, err) != 0) goto out;
    if (!isfinite(res.loss) || res.loss < 0 || !(res.accuracy >= 0 && res.accuracy <= 1) ||
        !(res.examples >= 0 && res.examples <= 1e12) || res.examples != floor(res.examples)) {
        fedc_fail(err, "evaluate: loss (finite, >= 0), accuracy (0..1) or examples (a count) out of range");
        goto out;
    }
    char json[200];
    int jl = snprintf(json, sizeof json, "{\"round\":%lld,\"loss\":%.9g,\"accuracy\":%.9g,\"examples\":%.0f}",
                      (long long)round, res.loss, res.accuracy, res.examples);
    fedc_msg out_m = {.type = FEDC_MSG_RESULT, .json = json, .json_len = (size_t)jl};
    fedc_buf_clear(reply);
    rc = fedc_msg_encode(&out_m, reply, err);
out:
    fedc_codec_free(codec);
    json_decref(ctl);
    fedc_msg_free(&m);
    return rc;
}

int node_params_initial(node_params *p, const fedc_node_model *md, fedc_buf *reply, fedc_error *err) {
    if (!md->get_parameters) return fedc_fail(err, "the server asks for initial parameters; this node has none");
    if (md->get_parameters(md->user, p->work, p->d, err) != 0) return -1;
    size_t bad = fedc_first_nonfinite(p->work, p->d);
    if (bad < p->d) return fedc_fail(err, "initial parameter %zu is not finite", bad);
    fedc_codec *none = fedc_codec_parse("none", err);
    fedc_buf enc = {0};
    int rc = none ? fedc_codec_encode(none, p->work, p->d, NULL, NULL, &enc, err) : -1;
    fedc_codec_free(none);
    if (rc == 0) {
        static const char json[] = "{\"round\":0}";
        fedc_msg m = {.type = FEDC_MSG_PARAMS, .json = json, .json_len = sizeof json - 1, .nblobs = 1};
        m.blobs[0] = (fedc_blob){enc.data, enc.len};
        fedc_buf_clear(reply);
        rc = fedc_msg_encode(&m, reply, err);
    }
    fedc_buf_free(&enc);
    return rc;
}
