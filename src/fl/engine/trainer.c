/* Node side of a round: decode the TRAIN frame, run local epochs of the
 * task's optimizer (with the strategy's client terms), encode the update.
 * The simulator and `fedc node` both call fedc_trainer_handle. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/engine.h"
#include "fedc/finite.h"
#include "fedc/privacy.h"
#include "fedc/protocol.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "engine_internal.h"
#include "dadao_relay.h"
#include "gossip_relay.h"

/* Client record layout: header, then float sections (see engine.h). */
typedef struct record_header {
    uint32_t flags;        /* REC_* */
    int32_t trained_round; /* last round trained (undo: the round the undo copy precedes) */
    uint32_t pad[14];      /* keeps the float sections 64-byte aligned */
} record_header;
enum { REC_HAS_DOWN_REF = 1, REC_HAS_UNDO = 2 };

struct fedc_trainer {
    fedc_task task;
    const fedc_arch *arch;
    size_t d;
    fedc_ws *ws;
    fedc_optim *opt;
    fedc_hvp_ws *hw;           /* adahessian: Hessian-vector products */
    local_set local;           /* strategy.local_params: never aggregated */
    float *eval_x;             /* personal evaluation batch */
    int32_t *eval_y;
    size_t eval_cap;
    fedc_strategy *strategy;   /* client part only */
    fedc_strategy_info sinfo;
    fedc_codec *up, *down;
    fedc_attack *attack;       /* simulated attackers / unreliable clients, or NULL */
    fedc_frl *frl;             /* aggregator frl: scores are trained, rankings sent */
    float *weff, *gscore;      /* frl: masked weights and the score gradient */
    const fedc_protocol_ops *proto; /* multi-step round protocol, or NULL */
    float *global, *work, *grad, *delta, *down_extra, *up_extra, *scratch, *gtmp;
    float *xb, *xf;
    int32_t *yb, *yf;
    int nb;                    /* samples in the current batch */
    uint32_t *perm;
    size_t perm_cap;
    fedc_buf enc;
    const fedc_client_data *cd; /* the client being trained (oracle) */
    fedc_rng *rng;
    int keep_undo;
    int report_client_acc;     /* nodes: "client_acc" in the update */
    int secret_noise;          /* local DP noise from the OS CSPRNG (nodes) */
    /* record sections, in floats after the header */
    size_t off_state, off_residual, off_optim, off_local, off_down_ref, off_undo, undo_floats, record_floats;
    size_t optim_floats;       /* local.keep_state: the optimizer's state blob */
    int uses_ef, lossy_down;
};

void fedc_client_mem_free(fedc_client_mem *m) {
    if (m->owned) free(m->record);
    m->record = NULL;
    m->owned = 0;
}

void fedc_pending_free(fedc_pending_update *p) {
    free(p->update);
    free(p->extra);
    memset(p, 0, sizeof *p);
}

void fedc_trainer_free(fedc_trainer *tr) {
    if (!tr) return;
    fedc_ws_free(tr->ws);
    fedc_optim_free(tr->opt);
    fedc_hvp_ws_free(tr->hw);
    fedc_engine_local_set_free(&tr->local);
    free(tr->eval_x);
    free(tr->eval_y);
    fedc_strategy_free(tr->strategy);
    fedc_codec_free(tr->up);
    fedc_codec_free(tr->down);
    fedc_attack_free(tr->attack);
    fedc_frl_free(tr->frl);
    fedc_nn_free(tr->weff);
    free(tr->gscore);
    free(tr->global);
    fedc_nn_free(tr->work);
    fedc_nn_free(tr->grad);
    free(tr->delta);
    free(tr->down_extra);
    free(tr->up_extra);
    free(tr->scratch);
    fedc_nn_free(tr->gtmp);
    free(tr->xb);
    free(tr->yb);
    free(tr->xf);
    free(tr->yf);
    free(tr->perm);
    fedc_buf_free(&tr->enc);
    free(tr);
}

static void layout_record(fedc_trainer *tr) {
    size_t off = 0;
    tr->off_state = off;
    off += tr->sinfo.state_floats;
    tr->off_residual = off;
    if (tr->uses_ef) off += tr->d;
    /* The optimizer's state (zeros are a fresh optimizer: step 0, no moments). */
    tr->off_optim = off;
    off += tr->optim_floats;
    /* Local parameters: a validity flag (1 once trained), then the values. */
    tr->off_local = off;
    if (tr->local.n) off += 1 + tr->local.floats;
    tr->off_down_ref = off;
    if (tr->lossy_down) off += tr->d;
    tr->off_undo = off;
    /* The undo copy covers what a round changes: strategy state, residual,
     * optimizer state and local parameters. */
    tr->undo_floats = tr->off_down_ref - tr->off_state;
    if (tr->keep_undo) off += tr->undo_floats;
    tr->record_floats = off;
}

size_t fedc_trainer_record_size(const fedc_trainer *tr) {
    return sizeof(record_header) + tr->record_floats * sizeof(float);
}

void fedc_trainer_secret_noise(fedc_trainer *tr, int on) { tr->secret_noise = on != 0; }

void fedc_trainer_report_client_acc(fedc_trainer *tr, int on) { tr->report_client_acc = on != 0; }

void fedc_trainer_keep_undo(fedc_trainer *tr, int on) {
    tr->keep_undo = on != 0;
    layout_record(tr);
}

int fedc_trainer_record_round(const void *record) { return ((const record_header *)record)->trained_round; }

static float *section(void *record, size_t off) { return (float *)((char *)record + sizeof(record_header)) + off; }

long fedc_trainer_record_local_params(const fedc_trainer *tr, const void *record, float *out, size_t cap) {
    if (!tr->local.n) return 0;
    const float *sec = section((void *)record, tr->off_local);
    if (sec[0] != 1.0f) return 0;
    size_t n = tr->local.floats < cap ? tr->local.floats : cap;
    memcpy(out, sec + 1, n * sizeof *out);
    return (long)n;
}

long long fedc_trainer_record_optim_steps(const fedc_trainer *tr, const void *record) {
    if (!tr->optim_floats) return -1;
    long long steps;
    memcpy(&steps, section((void *)record, tr->off_optim), sizeof steps); /* the blob's first field */
    return steps;
}

fedc_trainer *fedc_trainer_create(const fedc_task *t, const fedc_arch *a, fedc_error *err) {
    fedc_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    tr->task = *t;
    tr->arch = a;
    tr->d = fedc_arch_nparams(a);
    size_t d = tr->d, dim = (size_t)fedc_arch_input(a).c * fedc_arch_input(a).h * fedc_arch_input(a).w;
    fedc_optim_config oc;
    if (fedc_engine_optim_config(t, &oc, err) != 0) goto fail;
    tr->ws = fedc_ws_create(a, t->local.batch);
    /* Over the model's tensors: per-tensor rules see shapes, and batch-norm
     * running statistics are never stepped. */
    tr->opt = fedc_optim_create_arch(&oc, a);
    if (tr->opt && fedc_optim_wants_hvp(tr->opt) && !(tr->hw = fedc_hvp_ws_create(a, t->local.batch))) {
        fedc_fail(err, "out of memory for Hessian-vector products of %zu parameters", d);
        goto fail;
    }
    if (tr->opt && t->local.keep_state) tr->optim_floats = fedc_optim_state_size(tr->opt);
    if (fedc_engine_local_set(t, a, &tr->local, err) != 0) goto fail;
    {
        /* The model's tensors and input size (pfedgate's blocks and gate). */
        int nt = fedc_arch_ntensors(a);
        size_t *off = calloc((size_t)nt + 1, sizeof *off), *cnt = calloc((size_t)nt + 1, sizeof *cnt);
        if (!off || !cnt) {
            free(off);
            free(cnt);
            fedc_fail(err, "out of memory for the layout of %d tensors", nt);
            goto fail;
        }
        for (int i = 0; i < nt; i++) {
            fedc_tensor_info ti = fedc_arch_tensor(a, i);
            off[i] = ti.offset;
            cnt[i] = ti.count;
        }
        fedc_param_layout lay = {nt, off, cnt};
        fedc_strategy_env env = {d, 1, &lay, NULL, dim};
        tr->strategy = fedc_strategy_create_env(t, &env, err);
        free(off);
        free(cnt);
    }
    if (!tr->strategy) goto fail;
    tr->sinfo = fedc_strategy_info_get(tr->strategy);
    tr->up = fedc_codec_parse(t->compression.up, err);
    if (!tr->up) goto fail;
    tr->down = fedc_codec_parse(t->compression.down, err);
    if (!tr->down) goto fail;
    tr->proto = fedc_protocol_for_task(t);
    tr->uses_ef = fedc_codec_uses_error_feedback(tr->up);
    tr->lossy_down = !fedc_engine_codec_lossless(tr->down);
    layout_record(tr);
    tr->global = malloc(d * sizeof(float));
    if (strcmp(t->strategy.aggregator, "frl") == 0) {
        /* FRL's fixed weights come from the task's initial model. */
        if (!tr->global) goto oom;
        fedc_engine_initial_model(t, a, tr->global);
        if (!(tr->frl = fedc_frl_create(t, a, tr->global, err))) goto fail;
        tr->weff = fedc_nn_alloc(d);
        tr->gscore = malloc(d * sizeof(float));
        if (!tr->weff || !tr->gscore) goto oom;
    }
    if (strcmp(t->attack.kind, "none") != 0 || t->attack.unreliable > 0)
        if (!(tr->attack = fedc_attack_create(t, tr->frl, err))) goto fail;
    /* Huge-page backed: the dense backward strides through these. */
    tr->work = fedc_nn_alloc(d);
    tr->grad = fedc_nn_alloc(d);
    tr->gtmp = fedc_nn_alloc(d);
    tr->delta = malloc(d * sizeof(float));
    tr->down_extra = calloc(tr->sinfo.extra_down + 1, sizeof(float));
    tr->up_extra = calloc(tr->sinfo.extra_up + 1, sizeof(float));
    tr->scratch = calloc(tr->sinfo.scratch_floats + 1, sizeof(float));
    tr->xb = malloc((size_t)t->local.batch * dim * sizeof(float));
    tr->yb = malloc((size_t)t->local.batch * sizeof(int32_t));
    tr->xf = malloc((size_t)t->local.batch * dim * sizeof(float));
    tr->yf = malloc((size_t)t->local.batch * sizeof(int32_t));
    if (!tr->ws || !tr->opt || !tr->global || !tr->work || !tr->grad || !tr->gtmp || !tr->delta ||
        !tr->down_extra || !tr->up_extra || !tr->scratch || !tr->xb || !tr->yb || !tr->xf || !tr->yf)
        goto oom;
    return tr;
oom:
    fedc_fail(err, "out of memory creating a trainer for %zu parameters", d);
fail:
    fedc_trainer_free(tr);
    return NULL;
}

/* The local loss: cross-entropy, plus the strategy's margin term. */
static float local_grad(fedc_trainer *tr, const fedc_client_ctx *cc, const float *w, float *g, const float *xb,
                        const int32_t *yb, int nb) {
    if (cc->margin_lambda > 0)
        return fedc_nn_grad_margin(tr->arch, tr->ws, w, g, xb, yb, nb, tr->rng, cc->margin_lambda);
    return fedc_nn_grad(tr->arch, tr->ws, w, g, xb, yb, nb, tr->rng);
}

typedef struct oracle_self {
    fedc_trainer *tr;
    const fedc_client_ctx *cc;
} oracle_self;

static double oracle_batch(void *vs, const float *w, float *g) {
    oracle_self *o = vs;
    return local_grad(o->tr, o->cc, w, g, o->tr->xb, o->tr->yb, o->tr->nb);
}

/* Mean gradient over all local samples, in index order, batch by batch. */
static double oracle_full(void *vs, const float *w, float *g) {
    oracle_self *o = vs;
    fedc_trainer *tr = o->tr;
    const fedc_client_data *cd = tr->cd;
    size_t d = tr->d, n = cd->n, B = (size_t)tr->task.local.batch;
    memset(g, 0, d * sizeof(float));
    if (n == 0) return 0;
    double loss = 0;
    for (size_t b = 0; b < n; b += B) {
        int nb = (int)(n - b < B ? n - b : B);
        fedc_dataset_gather(cd->data, cd->index + b, (size_t)nb, tr->xf, tr->yf);
        if (cd->domain)
            fedc_domain_apply(cd->domain, fedc_arch_input(tr->arch), cd->domain_seed, cd->index + b, tr->xf, (size_t)nb);
        float l = local_grad(tr, o->cc, w, tr->gtmp, tr->xf, tr->yf, nb);
        float f = (float)nb / (float)n;
        for (size_t j = 0; j < d; j++) g[j] += f * tr->gtmp[j];
        loss += (double)l * nb / (double)n;
    }
    return loss;
}

static const float *oracle_batch_inputs(void *vs, int *n, size_t *dim) {
    oracle_self *o = vs;
    *n = o->tr->nb;
    *dim = fedc_arch_input_size(o->tr->arch);
    return o->tr->xb;
}

/* The client's samples from `start`, one local batch at most, in index
 * order (into the full-gradient buffers, free between oracle calls). */
static const float *oracle_data_inputs(void *vs, size_t start, int *n, size_t *dim) {
    oracle_self *o = vs;
    fedc_trainer *tr = o->tr;
    const fedc_client_data *cd = tr->cd;
    size_t B = (size_t)tr->task.local.batch;
    *dim = fedc_arch_input_size(tr->arch);
    *n = 0;
    if (start >= cd->n) return NULL;
    int nb = (int)(cd->n - start < B ? cd->n - start : B);
    fedc_dataset_gather(cd->data, cd->index + start, (size_t)nb, tr->xf, tr->yf);
    if (cd->domain)
        fedc_domain_apply(cd->domain, fedc_arch_input(tr->arch), cd->domain_seed, cd->index + start, tr->xf,
                          (size_t)nb);
    *n = nb;
    return tr->xf;
}

/* The model the client starts from: the global one with its own values of
 * the local parameters (from its last round; the global, i.e. initial,
 * values the first time). */
static void personalise(fedc_trainer *tr, void *record) {
    if (!tr->local.n) return;
    float *sec = section(record, tr->off_local);
    if (sec[0] == 1.0f) fedc_engine_local_scatter(&tr->local, sec + 1, tr->global);
}

/* Accuracy of the starting model on the client's personal test samples. */
static int personal_accuracy(fedc_trainer *tr, const fedc_client_data *cd, double *acc) {
    size_t dim = cd->eval->dim, n = cd->eval_n;
    if (n > tr->eval_cap) {
        float *x = realloc(tr->eval_x, n * dim * sizeof *x);
        if (x) tr->eval_x = x;
        int32_t *y = realloc(tr->eval_y, n * sizeof *y);
        if (y) tr->eval_y = y;
        if (!x || !y) return -1;
        tr->eval_cap = n;
    }
    fedc_dataset_gather(cd->eval, cd->eval_index, n, tr->eval_x, tr->eval_y);
    fedc_nn_evaluate(tr->arch, tr->ws, tr->global, tr->eval_x, tr->eval_y, n, acc, NULL);
    return 0;
}

/* One local step on the batch in xb/yb; returns its loss. FRL trains the
 * scores (work) through the masked fixed weights, straight-through. */
static float local_step(fedc_trainer *tr, fedc_client_ctx *cc, int steps, fedc_rng *rng) {
    if (tr->frl) {
        fedc_frl_weights(tr->frl, tr->work, tr->weff);
        float l = local_grad(tr, cc, tr->weff, tr->grad, tr->xb, tr->yb, tr->nb);
        fedc_frl_score_grad(tr->frl, tr->work, tr->grad, tr->gscore);
        fedc_optim_set_lr(tr->opt, cc->lr);
        fedc_optim_step(tr->opt, tr->work, tr->gscore);
        return l;
    }
    float l = local_grad(tr, cc, tr->work, tr->grad, tr->xb, tr->yb, tr->nb);
    /* Batch-norm running statistics follow the batches trained on. */
    fedc_nn_commit_stats(tr->arch, tr->ws, tr->work);
    cc->step = steps;
    fedc_strategy_client_grad(cc, tr->work, tr->grad, l);
    if (tr->hw) { /* adahessian: H z of this batch's loss, exact */
        const float *z = fedc_optim_hvp_probe(tr->opt, rng);
        fedc_nn_hvp(tr->arch, tr->ws, tr->hw, tr->work, z, fedc_optim_hvp_buffer(tr->opt), NULL, tr->xb, tr->yb,
                    tr->nb);
    }
    fedc_optim_set_lr(tr->opt, cc->lr * cc->lr_scale);
    fedc_optim_step(tr->opt, tr->work, tr->grad);
    return l;
}

/* Local epochs over the client's samples in a per-round shuffled order.
 * An attacker's or unreliable client's batches pass through the attack's
 * data side first (arng: its own stream, so honest streams are unchanged). */
static void local_train(fedc_trainer *tr, int client, int round, const fedc_client_data *cd, void *record,
                        fedc_role role, fedc_rng *rng, fedc_rng *arng, int *steps_out, double *loss_out) {
    const fedc_task *t = &tr->task;
    size_t d = tr->d, n = cd->n;
    memcpy(tr->work, tr->global, d * sizeof(float));
    if (tr->optim_floats)
        fedc_optim_state_load(tr->opt, section(record, tr->off_optim)); /* zeros: a fresh optimizer */
    else
        fedc_optim_reset(tr->opt);
    tr->cd = cd;
    tr->rng = rng;
    tr->nb = 0;
    memset(tr->scratch, 0, (tr->sinfo.scratch_floats + 1) * sizeof(float));
    fedc_client_ctx cc = {.strategy = tr->strategy,
                          .client = client,
                          .round = round,
                          .global = tr->global,
                          .down_extra = tr->down_extra,
                          .state = tr->sinfo.state_floats ? section(record, tr->off_state) : NULL,
                          .scratch = tr->scratch,
                          .d = d,
                          .n_samples = (double)n,
                          .lr = (float)fedc_task_local_lr(t, round),
                          .lr_scale = 1.0f};
    oracle_self os = {tr, &cc};
    fedc_local_oracle oracle = {.batch_grad = oracle_batch,
                                .full_grad = oracle_full,
                                .self = &os,
                                .batch_inputs = oracle_batch_inputs,
                                .data_inputs = oracle_data_inputs};
    cc.oracle = &oracle;
    fedc_strategy_client_begin(&cc);
    /* Heterogeneous local work: the client's own draw, from its own stream. */
    int epochs = t->local.epochs;
    if (t->local.min_epochs > 0 && t->local.min_epochs < epochs) {
        fedc_rng erng = fedc_rng_derive(t->seed ^ 0xE90C5ull, (uint64_t)round, (uint64_t)client);
        epochs = t->local.min_epochs + (int)fedc_rng_below(&erng, (uint32_t)(epochs - t->local.min_epochs + 1));
    }
    int steps = 0;
    double loss_sum = 0;
    for (int e = 0; e < epochs && !cc.no_training; e++) {
        memcpy(tr->perm, cd->index, n * sizeof(uint32_t));
        fedc_rng_shuffle_u32(rng, tr->perm, n);
        for (size_t b = 0; b < n; b += (size_t)t->local.batch) {
            if (t->local.max_steps > 0 && steps >= t->local.max_steps) goto done;
            int nb = (int)(n - b < (size_t)t->local.batch ? n - b : (size_t)t->local.batch);
            fedc_dataset_gather(cd->data, tr->perm + b, (size_t)nb, tr->xb, tr->yb);
            if (cd->domain)
                fedc_domain_apply(cd->domain, fedc_arch_input(tr->arch), cd->domain_seed, tr->perm + b, tr->xb,
                                  (size_t)nb);
            tr->nb = nb;
            if (role != FEDC_ROLE_HONEST &&
                !fedc_attack_batch(tr->attack, role, cd->data->shape, tr->xb, tr->yb, nb, cd->data->n_classes, arng))
                continue;
            loss_sum += local_step(tr, &cc, steps, rng);
            steps++;
        }
    }
done:
    /* FRL uploads the ranking of its scores, not a delta. */
    if (tr->frl) fedc_frl_rank_positions(tr->frl, tr->work, tr->delta);
    else
        for (size_t j = 0; j < d; j++) tr->delta[j] = tr->work[j] - tr->global[j];
    cc.step = steps;
    fedc_strategy_client_end(&cc, tr->work, steps, tr->delta, tr->up_extra);
    /* Local parameters stay here: kept for the next round, never uploaded,
     * whatever the strategy did to the delta. */
    if (tr->local.n) {
        float *sec = section(record, tr->off_local);
        sec[0] = 1.0f;
        fedc_engine_local_gather(&tr->local, tr->work, sec + 1);
        fedc_engine_local_zero(&tr->local, tr->delta);
    }
    if (tr->optim_floats) fedc_optim_state_save(tr->opt, section(record, tr->off_optim));
    *steps_out = steps;
    *loss_out = steps ? loss_sum / steps : 0.0;
}

/* The UPDATE frame for the update in tr->delta (and tr->up_extra). Its
 * cpu_s is cpu_prior plus this thread's CPU since cpu_mark, read after the
 * codec: encoding the update is the client's work too. */
static int encode_reply(fedc_trainer *tr, fedc_client_mem *mem, float *residual, int client, int round,
                        size_t n_samples, int steps, double loss, double cpu_prior, double cpu_mark, double pacc,
                        double client_acc, fedc_buf *reply, fedc_error *err) {
    fedc_buf_clear(&tr->enc);
    fedc_rng crng = fedc_rng_derive(tr->task.seed ^ 0xC0DECull, (uint64_t)round, (uint64_t)client);
    if (tr->proto) {
        /* A round protocol (secure aggregation) seals the update instead of the codec. */
        if (!mem->protocol) return fedc_fail(err, "%s: this client keeps no protocol state", tr->proto->name);
        if (tr->proto->client_seal(&tr->task, *mem->protocol, round, tr->delta, tr->d, &tr->enc, err) != 0)
            return -1;
    } else if (fedc_codec_encode(tr->up, tr->delta, tr->d, residual, &crng, &tr->enc, err) != 0) {
        return -1;
    }
    double cpu_s = cpu_prior + fedc_cpu_thread_s() - cpu_mark;
    char json[320];
    int jl = snprintf(json, sizeof json, "{\"round\":%d,\"n_samples\":%zu,\"steps\":%d,\"loss\":%.9g,\"cpu_s\":%.6f",
                      round, n_samples, steps, isfinite(loss) ? loss : -1.0, cpu_s);
    /* Personal evaluation (eval_personal): the starting model on the client's own test samples. */
    if (pacc >= 0) jl += snprintf(json + jl, sizeof json - (size_t)jl, ",\"personal_acc\":%.9g", pacc);
    /* Per-client evaluation on a node: its own model on its local test split. */
    if (client_acc >= 0) jl += snprintf(json + jl, sizeof json - (size_t)jl, ",\"client_acc\":%.9g", client_acc);
    jl += snprintf(json + jl, sizeof json - (size_t)jl, "}");
    fedc_msg up = {.type = FEDC_MSG_UPDATE, .json = json, .json_len = (size_t)jl, .nblobs = 1};
    up.blobs[0].data = tr->enc.data;
    up.blobs[0].len = tr->enc.len;
    if (tr->sinfo.extra_up) {
        up.nblobs = 2;
        up.blobs[1].data = (const uint8_t *)tr->up_extra;
        up.blobs[1].len = tr->sinfo.extra_up * sizeof(float);
    }
    fedc_buf_clear(reply);
    return fedc_msg_encode(&up, reply, err);
}

/* Parks a colluding attacker's benign update in the caller's pending slot. */
static int defer(fedc_trainer *tr, fedc_client_mem *mem, int round, size_t n_samples, int steps, double loss,
                 double cpu_s, double pacc, double client_acc, fedc_error *err) {
    fedc_pending_update *p = mem->pending;
    if (!p) return fedc_fail(err, "a colluding attacker needs somewhere to wait for the others (no pending slot)");
    if (!p->update && !(p->update = malloc(tr->d * sizeof(float))))
        return fedc_fail(err, "out of memory for a colluding attacker's update");
    if (tr->sinfo.extra_up && !p->extra && !(p->extra = malloc(tr->sinfo.extra_up * sizeof(float))))
        return fedc_fail(err, "out of memory for a colluding attacker's update");
    memcpy(p->update, tr->delta, tr->d * sizeof(float));
    if (tr->sinfo.extra_up) memcpy(p->extra, tr->up_extra, tr->sinfo.extra_up * sizeof(float));
    p->round = round;
    p->samples = n_samples;
    p->steps = steps;
    p->loss = loss;
    p->cpu_s = cpu_s;
    p->personal_acc = pacc;
    p->client_acc = client_acc;
    return FEDC_TRAINER_DEFERRED;
}

int fedc_trainer_finish(fedc_trainer *tr, int client, fedc_client_mem *mem, const fedc_attack_peers *peers,
                        fedc_buf *reply, fedc_error *err) {
    double cpu0 = fedc_cpu_thread_s();
    fedc_pending_update *p = mem->pending;
    if (!p || !p->update || p->round < 1) return fedc_fail(err, "client %d has no deferred update to finish", client);
    if (!mem->record) return fedc_fail(err, "no client record to finish with");
    if (!tr->attack || !peers || peers->count < 1)
        return fedc_fail(err, "client %d: a colluding attack needs the statistics of at least one benign update",
                         client);
    memcpy(tr->delta, p->update, tr->d * sizeof(float));
    if (tr->sinfo.extra_up) memcpy(tr->up_extra, p->extra, tr->sinfo.extra_up * sizeof(float));
    fedc_rng arng = fedc_rng_derive(tr->task.seed ^ 0xA77Full, (uint64_t)p->round, (uint64_t)client);
    fedc_attack_update(tr->attack, tr->delta, tr->d, peers, &arng);
    int round = p->round;
    p->round = 0;
    float *residual = tr->uses_ef ? section(mem->record, tr->off_residual) : NULL;
    return encode_reply(tr, mem, residual, client, round, p->samples, p->steps, p->loss, p->cpu_s, cpu0,
                        p->personal_acc, p->client_acc, reply, err);
}

/* ---- DADAO across real nodes: the node keeps its six vectors in its
 * record (the strategy's client state: [0] the round they are in, [1] the
 * round whose end the undo copy holds, then 6 d live floats, then 6 d
 * undo floats, the vectors as the round found them, so that a round the
 * server runs again starts from them). ---- */
typedef struct dadao_node_grad {
    fedc_trainer *tr;
    int client, round;
    const fedc_client_data *cd;
    void *record;
    int grads;
} dadao_node_grad;

/* The gradient of the node's mean loss at x: what a gradient TRAIN frame of
 * the simulation computes (a local round with no training; the strategy's
 * client_end writes the full gradient as the update). */
static int dadao_node_grad_fn(void *vctx, const float *x, float *g, fedc_error *err) {
    (void)err;
    dadao_node_grad *c = vctx;
    fedc_trainer *tr = c->tr;
    memcpy(tr->global, x, tr->d * sizeof(float));
    fedc_rng rng = fedc_rng_derive(tr->task.seed, (uint64_t)c->round, (uint64_t)c->client);
    fedc_rng arng = fedc_rng_derive(tr->task.seed ^ 0xA77Aull, (uint64_t)c->round, (uint64_t)c->client);
    int steps = 0;
    double loss = 0;
    local_train(tr, c->client, c->round, c->cd, c->record, FEDC_ROLE_HONEST, &rng, &arng, &steps, &loss);
    memcpy(g, tr->delta, tr->d * sizeof(float));
    c->grads++;
    return 0;
}

static int dadao_node_step(fedc_trainer *tr, int client, const fedc_client_data *cd, fedc_client_mem *mem,
                           const fedc_msg *m, fedc_buf *reply, fedc_error *err) {
    size_t d = tr->d;
    if (tr->sinfo.state_floats != 2 + 12 * d) return fedc_fail(err, "dadao relay: this node keeps no DADAO state");
    fedc_dadao_step st;
    if (fedc_dadao_step_decode(m, d, &st, err) != 0) return -1;
    float *sec = section(mem->record, tr->off_state), *live = sec + 2, *undo = sec + 2 + 6 * d;
    int rc = -1, held = (int)sec[0], undone = (int)sec[1];
    if (st.first) {
        if (st.init) { /* round 1: x from the run's initial model, the other five zero */
            memset(live, 0, 6 * d * sizeof(float));
            memcpy(live, st.init, d * sizeof(float));
        } else if (held == st.round && undone == st.round - 1) { /* the round again: from where it started */
            memcpy(live, undo, 6 * d * sizeof(float));
        } else if (held != st.round - 1) {
            fedc_fail(err,
                      "dadao relay: round %d starts from the DADAO state at the end of round %d, but this node "
                      "holds that of round %d (its state directory is from another point of the run)",
                      st.round, st.round - 1, held);
            goto out;
        }
        memcpy(undo, live, 6 * d * sizeof(float));
        sec[1] = (float)(st.round - 1);
        sec[0] = (float)st.round;
    } else if (held != st.round) {
        fedc_fail(err, "dadao relay: step %d of round %d, but this node is in round %d", st.step, st.round, held);
        goto out;
    }
    float *v[6];
    for (int b = 0; b < 6; b++) v[b] = live + (size_t)b * d;
    float *g = malloc(d * sizeof(float)), *yz = malloc(2 * d * sizeof(float));
    if (!g || !yz) {
        free(g);
        free(yz);
        fedc_fail(err, "dadao relay: out of memory for a model of %zu parameters", d);
        goto out;
    }
    double cpu0 = fedc_cpu_thread_s();
    dadao_node_grad c = {tr, client, st.round, cd, mem->record, 0};
    rc = dadao_node_play(&st.k, st.mu, v, d, st.peer, st.peer ? st.peer + d : NULL, st.from, st.grads, st.n_grads,
                         st.until, g, dadao_node_grad_fn, &c, err);
    if (rc == 0) {
        memcpy(yz, v[2], d * sizeof(float));
        memcpy(yz + d, v[4], d * sizeof(float));
        double cpu_s = fedc_cpu_thread_s() - cpu0;
        rc = st.send_x ? fedc_dadao_reply_encode(st.round, st.step, c.grads, cpu_s, v[0], d, reply, err)
                       : fedc_dadao_reply_encode(st.round, st.step, c.grads, cpu_s, yz, 2 * d, reply, err);
    }
    free(g);
    free(yz);
out:
    fedc_dadao_step_free(&st);
    return rc;
}

int fedc_trainer_handle(fedc_trainer *tr, int client, const fedc_client_data *cd,
                        fedc_client_mem *mem, const uint8_t *frame, size_t len, fedc_buf *reply,
                        fedc_error *err) {
    double cpu0 = fedc_cpu_thread_s();
    if (!mem->record) return fedc_fail(err, "no client record to train with");
    record_header *hdr = mem->record;
    float *down_ref = tr->lossy_down ? section(mem->record, tr->off_down_ref) : NULL;
    float *residual = tr->uses_ef ? section(mem->record, tr->off_residual) : NULL;
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = -1;
    json_t *ctl = NULL;
    if (m.type == FEDC_MSG_STEP && tr->sinfo.event_driven && fedc_dadao_is_step(&m)) { /* a relayed DADAO step */
        rc = dadao_node_step(tr, client, cd, mem, &m, reply, err);
        goto out;
    }
    if (m.type == FEDC_MSG_STEP && tr->sinfo.decentral) { /* a deployed gossip step: this node mixes */
        rc = fedc_relay_answer(tr->d, &m, reply, err);
        goto out;
    }
    if (m.type == FEDC_MSG_STEP && tr->proto) {
        if (!mem->protocol) fedc_fail(err, "%s: this client keeps no protocol state", tr->proto->name);
        else rc = tr->proto->client_step(&tr->task, tr->d, (double)cd->n, mem->protocol, &m, reply, err);
        goto out;
    }
    if (m.type != FEDC_MSG_TRAIN) {
        fedc_fail(err, "expected a train message, got %s", fedc_msg_type_name(m.type));
        goto out;
    }
    ctl = json_loads(m.json, 0, NULL);
    json_int_t round = -1;
    const char *base = "full";
    if (!ctl || json_unpack(ctl, "{s:I,s?s}", "round", &round, "base", &base) != 0 || round < 1 ||
        round > 1000000) {
        fedc_fail(err, "train message: \"round\" must be an integer in 1..1000000");
        goto out;
    }
    /* full: the model itself; delta: against this node's last copy; init:
     * against the initial model, which the node rebuilds from the seed. */
    int delta_base = strcmp(base, "delta") == 0, init_base = strcmp(base, "init") == 0;
    if (!delta_base && !init_base && strcmp(base, "full") != 0) {
        fedc_fail(err, "train message: \"base\" must be \"full\", \"delta\" or \"init\", got \"%.32s\"",
                  base);
        goto out;
    }
    if (delta_base && !(hdr->flags & REC_HAS_DOWN_REF)) {
        fedc_fail(err, "train message: a model delta arrived but this node holds no earlier model");
        goto out;
    }
    if (init_base) {
        if (!down_ref) {
            fedc_fail(err, "train message: a model delta arrived but the downlink codec is lossless");
            goto out;
        }
        fedc_engine_initial_model(&tr->task, tr->arch, down_ref);
        hdr->flags |= REC_HAS_DOWN_REF;
        delta_base = 1;
    }
    size_t extra_bytes = tr->sinfo.extra_down * sizeof(float);
    if (m.nblobs != (tr->sinfo.extra_down ? 2 : 1)) {
        fedc_fail(err, "train message: %d blobs; expected %d", m.nblobs, tr->sinfo.extra_down ? 2 : 1);
        goto out;
    }
    if (fedc_codec_decode(tr->down, m.blobs[0].data, m.blobs[0].len, tr->global, tr->d, err) != 0) {
        fedc_fail_prefix(err, "train message: model: ");
        goto out;
    }
    if (delta_base)
        for (size_t j = 0; j < tr->d; j++) tr->global[j] += down_ref[j];
    if (tr->sinfo.extra_down) {
        if (m.blobs[1].len != extra_bytes) {
            fedc_fail(err, "train message: strategy payload is %zu bytes; expected %zu", m.blobs[1].len,
                      extra_bytes);
            goto out;
        }
        memcpy(tr->down_extra, m.blobs[1].data, extra_bytes);
    }
    size_t bad = fedc_first_nonfinite(tr->global, tr->d);
    if (bad < tr->d) {
        fedc_fail(err, "train message: model value %zu is not finite", bad);
        goto out;
    }
    /* A lossy downlink sends the next model as a delta against this copy. */
    if (down_ref) {
        memcpy(down_ref, tr->global, tr->d * sizeof(float));
        hdr->flags |= REC_HAS_DOWN_REF;
    }
    if (cd->n > tr->perm_cap) {
        uint32_t *p = realloc(tr->perm, cd->n * sizeof(uint32_t));
        if (!p) {
            fedc_fail(err, "out of memory for %zu local samples", cd->n);
            goto out;
        }
        tr->perm = p;
        tr->perm_cap = cd->n;
    }
    /* A round run again (the server's first attempt failed) starts from the
     * state this client had before its first attempt. */
    if (tr->keep_undo && tr->undo_floats) {
        float *live = section(mem->record, tr->off_state), *undo = section(mem->record, tr->off_undo);
        if ((hdr->flags & REC_HAS_UNDO) && round <= hdr->trained_round)
            memcpy(live, undo, tr->undo_floats * sizeof(float));
        else
            memcpy(undo, live, tr->undo_floats * sizeof(float));
        hdr->flags |= REC_HAS_UNDO;
    }
    hdr->trained_round = (int32_t)round;
    /* The model this client uses, scored on its own test split before it
     * trains (the simulator scores every client itself). */
    double client_acc = -1;
    if (tr->report_client_acc && cd->split_n) {
        double g;
        if (fedc_trainer_client_eval(tr, client, (int)round, cd, mem->record, tr->global, NULL, &g, &client_acc,
                                     err) != 0)
            goto out;
    }
    personalise(tr, mem->record);
    double pacc = -1;
    if (cd->eval_n && personal_accuracy(tr, cd, &pacc) != 0) {
        fedc_fail(err, "out of memory for %zu personal evaluation samples", cd->eval_n);
        goto out;
    }
    /* The client's stream depends only on (seed, round, client). */
    fedc_rng rng = fedc_rng_derive(tr->task.seed, (uint64_t)round, (uint64_t)client);
    fedc_rng arng = fedc_rng_derive(tr->task.seed ^ 0xA77Aull, (uint64_t)round, (uint64_t)client);
    fedc_role role = tr->attack ? fedc_attack_role(tr->attack, client) : FEDC_ROLE_HONEST;
    int steps = 0;
    double loss = 0;
    local_train(tr, client, (int)round, cd, mem->record, role, &rng, &arng, &steps, &loss);

    /* Privacy acts on what leaves the node, before compression. */
    fedc_rng prng = fedc_privacy_noise_rng(&tr->task, (uint64_t)round, (uint64_t)client, tr->secret_noise);
    fedc_privacy_local(&tr->task, tr->delta, tr->d, &prng);
    if (role == FEDC_ROLE_ATTACKER && fedc_attack_needs_peers(tr->attack)) {
        /* Colluders pool their benign updates first (fedc_trainer_finish). */
        rc = defer(tr, mem, (int)round, cd->n, steps, loss, fedc_cpu_thread_s() - cpu0, pacc, client_acc, err);
        goto out;
    }
    if (role == FEDC_ROLE_ATTACKER) fedc_attack_update(tr->attack, tr->delta, tr->d, NULL, &arng);
    rc = encode_reply(tr, mem, residual, client, (int)round, cd->n, steps, loss, 0.0, cpu0, pacc, client_acc, reply,
                      err);
out:
    json_decref(ctl);
    fedc_msg_free(&m);
    return rc;
}

int fedc_trainer_personal(const fedc_trainer *tr) { return tr->sinfo.personal || tr->local.n > 0; }

/* finetune: `steps` local steps of the task's optimizer (fresh state, plain
 * local loss) from the model in tr->work, over the client's samples in
 * shuffled epochs. */
static void fine_tune(fedc_trainer *tr, int client, int round, const fedc_client_data *cd, int steps) {
    const fedc_task *t = &tr->task;
    size_t n = cd->n, B = (size_t)t->local.batch;
    if (n == 0) return;
    fedc_rng rng = fedc_rng_derive(t->seed ^ 0xF17E7ull, (uint64_t)round, (uint64_t)client);
    fedc_optim_reset(tr->opt);
    fedc_optim_set_lr(tr->opt, (float)fedc_task_local_lr(t, round));
    for (int done = 0; done < steps;) {
        memcpy(tr->perm, cd->index, n * sizeof(uint32_t));
        fedc_rng_shuffle_u32(&rng, tr->perm, n);
        for (size_t b = 0; b < n && done < steps; b += B, done++) {
            int nb = (int)(n - b < B ? n - b : B);
            fedc_dataset_gather(cd->data, tr->perm + b, (size_t)nb, tr->xb, tr->yb);
            if (cd->domain)
                fedc_domain_apply(cd->domain, fedc_arch_input(tr->arch), cd->domain_seed, tr->perm + b, tr->xb,
                                  (size_t)nb);
            fedc_nn_grad(tr->arch, tr->ws, tr->work, tr->grad, tr->xb, tr->yb, nb, &rng);
            fedc_nn_commit_stats(tr->arch, tr->ws, tr->work);
            fedc_optim_step(tr->opt, tr->work, tr->grad);
        }
    }
}

int fedc_trainer_client_eval(fedc_trainer *tr, int client, int round, const fedc_client_data *cd,
                             const void *record, const float *global, const float *start, double *acc_global,
                             double *acc_own, fedc_error *err) {
    *acc_global = *acc_own = NAN;
    if (cd->split_n == 0) return 0;
    size_t d = tr->d, B = (size_t)tr->task.local.batch;
    *acc_global = fedc_engine_split_accuracy(tr->arch, tr->ws, global, cd, B, tr->xf, tr->yf);
    if (!fedc_trainer_personal(tr)) {
        *acc_own = *acc_global;
        return 0;
    }
    memcpy(tr->work, start ? start : global, d * sizeof(float));
    if (record && tr->local.n) {
        const float *sec = section((void *)record, tr->off_local);
        if (sec[0] == 1.0f) fedc_engine_local_scatter(&tr->local, sec + 1, tr->work);
    }
    fedc_client_ctx cc = {.strategy = tr->strategy,
                          .client = client,
                          .round = round,
                          .global = global,
                          .state = record && tr->sinfo.state_floats ? section((void *)record, tr->off_state) : NULL,
                          .d = d,
                          .n_samples = (double)cd->n};
    fedc_strategy_client_personal(&cc, tr->work);
    if (tr->sinfo.personal_steps > 0 && cd->n > 0) {
        if (cd->n > tr->perm_cap) {
            uint32_t *p = realloc(tr->perm, cd->n * sizeof(uint32_t));
            if (!p) return fedc_fail(err, "out of memory for %zu local samples", cd->n);
            tr->perm = p;
            tr->perm_cap = cd->n;
        }
        fine_tune(tr, client, round, cd, tr->sinfo.personal_steps);
    }
    *acc_own = fedc_engine_split_accuracy(tr->arch, tr->ws, tr->work, cd, B, tr->xf, tr->yf);
    return 0;
}

int fedc_frame_type(const uint8_t *frame, size_t len) { return len >= 5 ? frame[4] : 0; }

int fedc_trainer_evaluate(fedc_trainer *tr, const fedc_client_data *test, const uint8_t *frame, size_t len,
                          fedc_buf *reply, fedc_error *err) {
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = -1;
    json_t *ctl = NULL;
    fedc_codec *codec = NULL;
    if (m.type != FEDC_MSG_EVALUATE) {
        fedc_fail(err, "expected an evaluate message, got %s", fedc_msg_type_name(m.type));
        goto out;
    }
    ctl = json_loads(m.json, 0, NULL);
    json_int_t round = -1;
    const char *cname = NULL;
    if (!ctl || json_unpack(ctl, "{s:I,s:s}", "round", &round, "codec", &cname) != 0 || round < 1 ||
        round > 1000000) {
        fedc_fail(err, "evaluate message: \"round\" (1..1000000) and \"codec\" are required");
        goto out;
    }
    if (m.nblobs != 1) {
        fedc_fail(err, "evaluate message: %d blobs; expected 1 (the model)", m.nblobs);
        goto out;
    }
    if (!(codec = fedc_codec_parse(cname, err))) {
        fedc_fail_prefix(err, "evaluate message: codec: ");
        goto out;
    }
    if (fedc_codec_decode(codec, m.blobs[0].data, m.blobs[0].len, tr->work, tr->d, err) != 0) {
        fedc_fail_prefix(err, "evaluate message: model: ");
        goto out;
    }
    if (!test || !test->n) {
        fedc_fail(err, "no local test data to evaluate on");
        goto out;
    }
    /* In batches of the local batch size through the trainer's workspace. */
    size_t B = (size_t)tr->task.local.batch;
    double correct = 0, loss = 0;
    for (size_t b = 0; b < test->n; b += B) {
        size_t nb = test->n - b < B ? test->n - b : B;
        fedc_dataset_gather(test->data, test->index + b, nb, tr->xf, tr->yf);
        double acc, l;
        fedc_nn_evaluate(tr->arch, tr->ws, tr->work, tr->xf, tr->yf, nb, &acc, &l);
        correct += acc * (double)nb;
        loss += l * (double)nb;
    }
    double n = (double)test->n;
    char json[200];
    int jl = snprintf(json, sizeof json, "{\"round\":%lld,\"loss\":%.9g,\"accuracy\":%.9g,\"examples\":%zu}",
                      (long long)round, isfinite(loss / n) ? loss / n : 1e30, correct / n, test->n);
    fedc_msg res = {.type = FEDC_MSG_RESULT, .json = json, .json_len = (size_t)jl};
    fedc_buf_clear(reply);
    rc = fedc_msg_encode(&res, reply, err);
out:
    fedc_codec_free(codec);
    json_decref(ctl);
    fedc_msg_free(&m);
    return rc;
}
