/* Server side of the round engine: setup, scheduling, encoding the global
 * model, checking and aggregating updates, evaluation, stopping rule. */
#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/aggregate.h"
#include "fedc/engine.h"
#include "fedc/finite.h"
#include "fedc/log.h"
#include "fedc/privacy.h"
#include "fedc/protocol.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "engine_internal.h"
#include "fedc/deploy.h"
#include "run_state.h"
#include "dadao_relay.h"
#include "gossip_relay.h"

/* One participant's result, filled by the transport callbacks. */
typedef struct slot {
    int client;
    int status; /* 0 pending, 1 ok, -1 dropped, -2 rejected */
    char reason[256];
    float *delta;
    float *extra;
    double weight, loss, cpu_s;
    double personal_acc; /* < 0: not reported */
    double client_acc;   /* node's score of its own model on its local test split; < 0: not reported */
    int steps;
    uint64_t bytes_down, bytes_up;
    fedc_buf frame;   /* per-participant TRAIN frame (lossy downlink only) */
    int step_status;  /* this protocol step: 0 pending, 1 answered, -1 dropped, -2 refused */
    float *recon;     /* the model this participant will reconstruct (lossy downlink) */
    int verdict;      /* robust aggregation's judgement (fedc_verdict), status 1 only */
    char verdict_why[128];
    /* Asynchronous strategies: a slot is a client training across rounds. */
    int busy;         /* its update waits for its simulated arrival */
    int version;      /* model version (rounds done) it trained on */
    double finish;    /* simulated time its update arrives */
} slot;

/* An update that arrived in an asynchronous deployment and waits for the
 * aggregation that takes it (the buffer). */
typedef struct async_entry {
    int client, ticket, version, steps;
    double weight, loss, cpu_s;
    uint64_t bytes_up;
    float *delta, *extra;
} async_entry;

/* A checkpoint's buffer and next ticket, checked and parsed, not yet
 * adopted (run_state.h). */
struct fedc_async_snapshot {
    int ticket_next, n;
    async_entry *e;
};

/* One evaluator's report (federated evaluation). */
typedef struct eval_slot {
    int client;
    int status; /* 0 pending, 1 reported, -1 dropped, -2 refused */
    double loss, accuracy, examples;
    uint64_t bytes_down, bytes_up;
} eval_slot;

struct fedc_run {
    fedc_task task;
    fedc_run_options opt;
    fedc_dataset train, test; /* owned copies when loaded here */
    const fedc_dataset *trainp, *testp;
    /* Dataset synthetic: every client's data is generated when it is used
     * (lazy_data.c), so train holds no samples, only their shape and
     * classes, and part is empty; the test set is generated up front. */
    int lazy;
    uint64_t lazy_owner;
    fedc_synthetic_config syn;
    /* Feature skew: the clients' domains; the test set with sample i in
     * domain i mod n (evalp points to it, else to testp); per domain the
     * test ids a participant's personal evaluation uses. */
    fedc_feature_skew skew;
    fedc_dataset test_skewed;
    const fedc_dataset *evalp;
    uint32_t *personal_ids;
    size_t personal_n;
    fedc_partition part;
    /* Per-client evaluation (partition.test_fraction): the clients' local
     * test splits, held out of part; per client the last scores of the
     * global model and of the model the client uses; who scores them. */
    fedc_partition split_part;
    int has_holdout;
    double *acc_global, *acc_own;
    fedc_client_evaluator client_eval;
    void *client_eval_ctx;
    /* task.validation: the samples held out of the clients' partitions
     * (owned copy, n = 0 when none). */
    fedc_dataset val;
    fedc_partition test_part; /* federated evaluation in simulation: the clients' test data */
    int has_test_part;
    fedc_arch *arch;          /* NULL for an external model */
    int external, need_init;
    fedc_manifest manifest;
    /* Federated evaluation. */
    int fed_eval;
    eval_slot *eslots;
    int *eval_clients;
    fedc_codec *eval_codec;   /* the downlink codec when lossless, else none: the exact model */
    fedc_buf eval_frame;
    size_t d;
    float *x;
    fedc_strategy *strategy;
    fedc_strategy_info sinfo;
    fedc_combiner *combiner;    /* strategy.aggregator, lent to the strategy */
    fedc_attack *attack;        /* simulated roles, read only to report them */
    int *upd_slot;              /* slot of each update passed to the strategy */
    int *verdict_lists;         /* left out | malicious | unreliable | attackers | unreliable clients | all */
    fedc_codec *up, *down;
    fedc_sched *sched;
    fedc_profile *profile;
    fedc_client_info *info;
    fedc_pool *pool;
    fedc_ws **eval_ws;
    float **eval_x; /* per worker: one evaluation batch of byte features as floats */
    slot *slots;
    int nslots;
    int *selected;
    fedc_buf model_blob, frame;
    fedc_update *updates;
    int rounds_done;
    /* A relayed round (fedc_run_relay_round): the participants' weighted
     * mean update goes here instead of into the model; NULL otherwise. */
    float *relay_out;
    double relay_weight;
    double best_accuracy, last_accuracy;
    /* Plateau rule (stop.plateau_rounds): the best monitored accuracy, the
     * round it was reached and the last evaluated round. Not checkpointed: a
     * resumed run counts its patience afresh, so it never stops earlier. */
    double plateau_best;
    int plateau_best_round, plateau_last_round;
    double start_wall, sim_elapsed;
    uint64_t bytes_down_total, bytes_up_total;
    /* Lossy downlink: what each node holds, so the next model goes as a delta.
     * Bounded by down_ref_budget entries; least recently used are dropped. */
    int down_lossy;
    float *x0;          /* initial model: the base for nodes without a copy */
    float **down_ref;
    int *down_ref_used;
    int down_ref_count, down_ref_budget;
    /* Bytes per participant last round: what the scheduler predicts with. */
    double last_down_pp, last_up_pp;
    /* Differential privacy: the accountant, and for dp-fedavg the noised
     * mean that replaces the individual updates before the strategy. */
    fedc_privacy *privacy;
    float *dp_mean;
    int secret_noise; /* deployment: noise from the OS CSPRNG */
    /* A multi-step round protocol (protocol.h), or NULL: its server half,
     * the combined update it yields, and the per-step exchange buffers. */
    const fedc_protocol_ops *proto;
    void *proto_self;
    float *proto_mean;
    char *alive;
    int *map;
    fedc_buf *step_frames, *step_sub;
    /* Deployment: sets which client slots are online (deploy.h). */
    fedc_client_hook client_hook;
    void *client_hook_ctx;
    /* The aggregate is checked before it replaces the model (guard.c). */
    fedc_agg_guard *guard;
    char *refused;
    char (*refused_why)[256];
    /* Asynchronous strategies (strategy info async_buffer / async_window_s):
     * rounds are aggregations; exchange index -> slot of the new starters. */
    int async;
    int *async_map;
    /* The same strategies in a deployment (the transport keeps one exchange
     * open, transport.h post/collect): nodes train continuously; a slot's
     * frame carries a ticket (the TRAIN's number in the run) as its round;
     * arrived updates wait in the buffer (abuf, arrival order) until it
     * fills or the window closes. The buffer and the next ticket are
     * checkpointed; live_rec lists what the last round finished. */
    int ticket_next;
    int *slot_ticket;  /* per slot: the ticket it trains for, 0 = free */
    int *slot_version; /* per slot: the model version it trains on */
    char *live_send;
    fedc_buf *live_frames;
    int *live_clients;
    async_entry *abuf;
    int abuf_n, abuf_cap;
    fedc_update *live_upd;
    fedc_async_update *live_rec;
    char (*live_why)[256];
    int live_rec_n, live_rec_cap;
    int *buf_tickets, *buf_clients;
    uint64_t live_down;
    int live_blob_round; /* the round whose model r->model_blob holds (exact downlink) */
    /* Decentralised strategies (strategy info decentral): every node trains
     * its own model (the strategy keeps them) and the models gossip; x is
     * their average. Per node: the delta to gossip (NULL: did not train),
     * models sent, and the last evaluation. */
    int decentral;
    int gossip_relay; /* the gossip steps go through the transport (deploy.h) */
    int smoothness_known; /* event-driven strategies: data_smoothness computed */
    double data_smoothness;
    float **node_delta;
    int *gossip_sent;
    double *node_acc;
};

int fedc_engine_optim_config(const fedc_task *t, fedc_optim_config *oc, fedc_error *err) {
    fedc_opt_kind kind;
    if (fedc_opt_kind_parse(t->local.optimizer, &kind) != 0)
        return fedc_fail(err, "local.optimizer: \"%s\" is not known", t->local.optimizer);
    /* The optimizer's paper defaults, then the task's settings; 0 in lr,
     * betas and eps keeps the optimizer's own value. */
    *oc = fedc_optim_defaults(kind, (float)t->local.lr);
    oc->momentum = (float)t->local.momentum;
    oc->nesterov = t->local.nesterov;
    oc->weight_decay = (float)t->local.weight_decay;
    if (t->local.beta1 > 0) oc->beta1 = (float)t->local.beta1;
    if (t->local.beta2 > 0) oc->beta2 = (float)t->local.beta2;
    if (t->local.beta3 > 0) oc->beta3 = (float)t->local.beta3;
    if (t->local.eps > 0) oc->eps = (float)t->local.eps;
    oc->hessian_power = (float)t->local.hessian_power;
    oc->delta = (float)t->local.adamp_delta;
    oc->wd_ratio = (float)t->local.adamp_wd_ratio;
    oc->dynamic_step = t->local.exadam_dynamic_step;
    oc->window = t->local.mfac_window;
    oc->damp = (float)t->local.mfac_damp;
    return 0;
}

void fedc_run_free(fedc_run *r) {
    if (!r) return;
    if (r->lazy) fedc_engine_lazy_release(r->lazy_owner); /* this thread's copies (worker threads drop theirs on exit) */
    fedc_dataset_free(&r->train);
    fedc_dataset_free(&r->test);
    fedc_dataset_free(&r->val);
    fedc_dataset_free(&r->test_skewed);
    free(r->personal_ids);
    fedc_partition_free(&r->part);
    fedc_partition_free(&r->split_part);
    free(r->acc_global);
    free(r->acc_own);
    if (r->has_test_part) fedc_partition_free(&r->test_part);
    fedc_manifest_free(&r->manifest);
    free(r->eslots);
    free(r->eval_clients);
    fedc_codec_free(r->eval_codec);
    fedc_buf_free(&r->eval_frame);
    if (r->eval_ws && r->pool)
        for (int i = 0; i < fedc_pool_size(r->pool); i++) fedc_ws_free(r->eval_ws[i]);
    if (r->eval_x && r->pool)
        for (int i = 0; i < fedc_pool_size(r->pool); i++) fedc_nn_free(r->eval_x[i]);
    free(r->eval_ws);
    free(r->eval_x);
    fedc_pool_destroy(r->pool);
    fedc_arch_free(r->arch);
    free(r->x);
    fedc_strategy_free(r->strategy);
    fedc_combiner_free(r->combiner);
    fedc_attack_free(r->attack);
    free(r->upd_slot);
    free(r->verdict_lists);
    fedc_privacy_free(r->privacy);
    free(r->dp_mean);
    if (r->proto) r->proto->server_free(r->proto_self);
    free(r->proto_mean);
    free(r->alive);
    free(r->map);
    free(r->async_map);
    free(r->slot_ticket);
    free(r->slot_version);
    free(r->live_send);
    free(r->live_frames);
    free(r->live_clients);
    for (int i = 0; i < r->abuf_cap; i++) {
        free(r->abuf[i].delta);
        free(r->abuf[i].extra);
    }
    free(r->abuf);
    free(r->live_upd);
    free(r->live_rec);
    free(r->live_why);
    free(r->buf_tickets);
    free(r->buf_clients);
    free(r->node_delta);
    free(r->gossip_sent);
    free(r->node_acc);
    for (int i = 0; r->step_frames && i < r->nslots; i++) fedc_buf_free(&r->step_frames[i]);
    free(r->step_frames);
    free(r->step_sub);
    fedc_codec_free(r->up);
    fedc_codec_free(r->down);
    fedc_sched_free(r->sched);
    fedc_profile_free(r->profile);
    free(r->info);
    for (int i = 0; i < r->nslots; i++) {
        free(r->slots[i].delta);
        free(r->slots[i].extra);
        free(r->slots[i].recon);
        fedc_buf_free(&r->slots[i].frame);
    }
    if (r->down_ref)
        for (int k = 0; k < r->task.clients; k++) free(r->down_ref[k]);
    free(r->down_ref);
    free(r->down_ref_used);
    free(r->x0);
    free(r->slots);
    free(r->selected);
    free(r->updates);
    fedc_buf_free(&r->model_blob);
    fedc_buf_free(&r->frame);
    fedc_agg_guard_free(r->guard);
    free(r->refused);
    free(r->refused_why);
    free(r);
}

/* Feature skew and personal evaluation: the domains, the test set as seen
 * across them, and the test ids of each domain a participant scores. */
static int setup_domains(fedc_run *r, fedc_error *err) {
    const fedc_task *t = &r->task;
    if (fedc_feature_skew_parse(t->partition.feature_skew, r->trainp->shape, &r->skew, err) != 0) {
        fedc_fail_prefix(err, "partition.feature_skew: ");
        return -1;
    }
    r->evalp = r->testp;
    const size_t nd = r->skew.n > 0 ? (size_t)r->skew.n : 1, ntest = r->testp->n;
    if (r->skew.n > 0) {
        fedc_dataset *ts = &r->test_skewed;
        /* The domains transform the stored features: floats. */
        if (fedc_dataset_copy(r->testp, ts, err) != 0 || fedc_dataset_to_float(ts, err) != 0) return -1;
        for (size_t i = 0; i < ntest; i++) {
            uint32_t id = (uint32_t)i;
            fedc_domain_apply(fedc_feature_skew_domain(&r->skew, i), ts->shape, t->seed, &id, ts->x + i * ts->dim, 1);
        }
        r->evalp = ts;
    }
    if (t->eval_personal > 0) {
        /* Domain k holds test ids k, k + nd, k + 2 nd, ... */
        size_t per = (ntest / nd) < (size_t)t->eval_personal ? ntest / nd : (size_t)t->eval_personal;
        if (per == 0) return fedc_fail(err, "eval_personal: the test set has fewer samples than domains");
        r->personal_ids = malloc(nd * per * sizeof *r->personal_ids);
        if (!r->personal_ids) return fedc_fail(err, "out of memory for personal evaluation ids");
        for (size_t k = 0; k < nd; k++)
            for (size_t j = 0; j < per; j++) r->personal_ids[k * per + j] = (uint32_t)(k + j * nd);
        r->personal_n = per;
    }
    return 0;
}

/* The model's tensors for the strategy, local parameters marked as buffers
 * (neither is trained by a server optimizer). */
static int set_strategy_layout(fedc_run *r, fedc_error *err) {
    /* External models: the manifest's tensors, all trained, are the layout
     * given at creation (local_params is refused for them). */
    if (!r->arch) return 0;
    int nt = fedc_arch_ntensors(r->arch);
    fedc_tensor_info *ti = malloc((size_t)(nt > 0 ? nt : 1) * sizeof *ti);
    unsigned char *mask = calloc((size_t)nt + 1, 1);
    int rc = -1;
    if (!ti || !mask) {
        fedc_fail(err, "out of memory for the model's tensor layout");
        goto out;
    }
    if (fedc_arch_select(r->arch, fedc_task_local_params(&r->task), mask, err) < 0) {
        fedc_fail_prefix(err, "strategy.local_params: ");
        goto out;
    }
    for (int i = 0; i < nt; i++) {
        ti[i] = fedc_arch_tensor(r->arch, i);
        if (mask[i]) ti[i].buffer = 1;
    }
    rc = fedc_strategy_set_tensors(r->strategy, ti, nt, err);
out:
    free(ti);
    free(mask);
    return rc;
}

fedc_client_data fedc_run_client_data(const fedc_run *r, int client) {
    if (r->lazy) {
        fedc_client_data cd = {.data = r->trainp, .domain_seed = r->task.seed};
        fedc_error e;
        if (client >= 0 && client < r->task.clients &&
            fedc_engine_lazy_client(r->lazy_owner, &r->syn, client, 1, &cd, &e) != 0) {
            FEDC_WARN("client %d: %s", client, e.msg);
            cd.n = 0;
        }
        return cd;
    }
    fedc_client_data cd = {.data = r->trainp,
                           .index = fedc_partition_client(&r->part, client),
                           .n = fedc_partition_size(&r->part, client),
                           .domain = fedc_feature_skew_domain(&r->skew, (size_t)client),
                           .domain_seed = r->task.seed};
    if (r->personal_n) {
        size_t nd = r->skew.n > 0 ? (size_t)r->skew.n : 1;
        cd.eval = r->evalp;
        cd.eval_index = r->personal_ids + ((size_t)client % nd) * r->personal_n;
        cd.eval_n = r->personal_n;
    }
    if (r->has_holdout) {
        cd.split_index = fedc_partition_client(&r->split_part, client);
        cd.split_n = fedc_partition_size(&r->split_part, client);
    }
    return cd;
}

/* task.validation: from each client's samples, floor(share * n) drawn from
 * the stream (seed, client, VALIDATION) leave its partition and join the
 * validation set, so no client ever trains on them. Holding out per client
 * keeps the validation set's label mix the federation's own (a non-IID
 * partition's), and the partition otherwise stays the one the task had. */
static int hold_out_validation(fedc_run *r, fedc_error *err) {
    const fedc_task *t = &r->task;
    if (!(t->validation > 0)) return 0;
    fedc_partition *p = &r->part;
    const fedc_dataset *tr = r->trainp;
    size_t total = 0;
    for (int k = 0; k < p->n_clients; k++)
        total += (size_t)(t->validation * (double)fedc_partition_size(p, k));
    if (total == 0)
        return fedc_fail(err, "validation: %g of every client's samples holds none out; the clients have too "
                         "few samples for it",
                         t->validation);
    uint32_t *held = malloc(total * sizeof *held);
    if (!held) return fedc_fail(err, "validation: out of memory for %zu held-out samples", total);
    size_t out = 0, w = 0;
    for (int k = 0; k < p->n_clients; k++) {
        size_t lo = p->offsets[k], n = fedc_partition_size(p, k), h = (size_t)(t->validation * (double)n);
        uint32_t *ids = p->index + lo;
        /* Partial Fisher-Yates: the last h entries become the held-out ones. */
        fedc_rng rng = fedc_rng_derive(t->seed, (uint64_t)k, 0x7A11DA7Eull);
        for (size_t i = 0; i < h; i++) {
            size_t last = n - 1 - i, j = fedc_rng_below(&rng, (uint32_t)(last + 1));
            uint32_t tmp = ids[j];
            ids[j] = ids[last];
            ids[last] = tmp;
        }
        for (size_t i = n - h; i < n; i++, out++) held[out] = ids[i];
        p->offsets[k] = w; /* compact: the kept ids move down over the held-out ones */
        memmove(p->index + w, ids, (n - h) * sizeof *ids);
        w += n - h;
    }
    p->offsets[p->n_clients] = w;
    /* The held-out samples, in the training set's feature form. */
    int rc = fedc_dataset_select(tr, held, total, &r->val, err);
    free(held);
    if (rc != 0) fedc_fail_prefix(err, "validation: ");
    return rc;
}

fedc_run *fedc_run_create(const fedc_task *t, const fedc_run_options *opt, fedc_error *err) {
    if (fedc_task_validate(t, err) != 0) return NULL;
    fedc_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->task = *t;
    if (opt) r->opt = *opt;
    r->external = fedc_task_external(t);
    r->fed_eval = fedc_task_federated_eval(t);
    if (r->external) {
        /* The nodes' own model: no data and no arch on the server. */
        if (!t->model_manifest[0]) {
            fedc_fail(err, "model.manifest: an external model's tensors are not known yet (a node supplies them)");
            goto fail;
        }
        if (fedc_manifest_parse(t->model_manifest, strlen(t->model_manifest), &r->manifest, err) != 0) {
            fedc_fail_prefix(err, "model.manifest: ");
            goto fail;
        }
        r->d = r->manifest.total;
        r->need_init = 1;
        goto data_done;
    }
    if (!strcmp(t->dataset.name, "synthetic")) {
        /* Generated per client, never as a whole (shared copies from the
         * caller are not used: the clients' data would not be theirs). */
        fedc_dataset_spec spec;
        fedc_task_dataset_spec(t, &spec);
        r->syn = spec.synthetic;
        r->lazy = 1;
        r->lazy_owner = fedc_engine_lazy_owner();
        if (fedc_task_dataset_load(t, 0, NULL, &r->test, err) != 0) goto fail;
        r->train.shape = r->test.shape;
        r->train.dim = r->test.dim;
        r->train.n_classes = r->test.n_classes;
        r->trainp = &r->train;
        r->testp = &r->test;
    } else if (opt && opt->train_data && opt->test_data) {
        r->trainp = opt->train_data;
        r->testp = opt->test_data;
    } else {
        if (fedc_task_dataset_load(t, 1, NULL, &r->train, err) != 0 ||
            fedc_task_dataset_load(t, 0, NULL, &r->test, err) != 0)
            goto fail;
        r->trainp = &r->train;
        r->testp = &r->test;
    }
    r->arch = fedc_arch_parse(t->model, r->trainp->shape, r->trainp->n_classes, err);
    if (!r->arch) {
        fedc_fail_prefix(err, "model: ");
        goto fail;
    }
    r->d = fedc_arch_nparams(r->arch);
    if (fedc_manifest_from_arch(r->arch, &r->manifest, err) != 0) goto fail;
    if (setup_domains(r, err) != 0) goto fail;
    local_set probe;
    if (fedc_engine_local_set(t, r->arch, &probe, err) != 0) goto fail;
    fedc_engine_local_set_free(&probe);
    fedc_partition_config pc = {0};
    if (fedc_part_kind_parse(t->partition.kind, &pc.kind) != 0) {
        fedc_fail(err, "partition.kind: \"%s\" is not known", t->partition.kind);
        goto fail;
    }
    pc.alpha = t->partition.alpha;
    pc.classes_per_client = t->partition.classes_per_client;
    pc.sigma = t->partition.sigma;
    if (!r->lazy && fedc_partition_make(r->trainp, &pc, t->clients, t->seed, &r->part, err) != 0) goto fail;
    if (t->partition.test_fraction > 0) {
        if (fedc_partition_hold_out(&r->part, t->partition.test_fraction, t->seed, &r->split_part, err) != 0)
            goto fail;
        r->has_holdout = 1;
        r->acc_global = malloc((size_t)t->clients * sizeof *r->acc_global);
        r->acc_own = malloc((size_t)t->clients * sizeof *r->acc_own);
        if (!r->acc_global || !r->acc_own) {
            fedc_fail(err, "out of memory for per-client evaluation of %d clients", t->clients);
            goto fail;
        }
        for (int k = 0; k < t->clients; k++) r->acc_global[k] = r->acc_own[k] = NAN;
    }
    if (hold_out_validation(r, err) != 0) goto fail;
    if (r->fed_eval && !r->lazy) {
        /* Each client's local test data: the test set cut like the training set
         * (synthetic: each client's own test samples, generated when asked). */
        if (fedc_partition_make(r->testp, &pc, t->clients, fedc_eval_partition_seed(t->seed), &r->test_part, err) !=
            0) {
            fedc_fail_prefix(err, "federated evaluation: test set: ");
            goto fail;
        }
        r->has_test_part = 1;
    }
data_done:

    r->x = malloc(r->d * sizeof(float));
    if (!r->x) {
        fedc_fail(err, "out of memory for %zu parameters", r->d);
        goto fail;
    }
    if (r->arch) fedc_engine_initial_model(t, r->arch, r->x);
    else memset(r->x, 0, r->d * sizeof(float));
    {
        int nt = r->manifest.n;
        size_t *off = calloc((size_t)nt + 1, sizeof *off), *cnt = calloc((size_t)nt + 1, sizeof *cnt);
        if (off && cnt)
            for (int i = 0; i < nt; i++) {
                off[i] = r->manifest.t[i].offset;
                cnt[i] = r->manifest.t[i].count;
            }
        fedc_param_layout lay = {nt, off, cnt};
        fedc_strategy_env env = {.d = r->d,
                                 .n_clients = t->clients,
                                 .layout = off && cnt ? &lay : NULL,
                                 .input_dim = r->arch ? fedc_arch_input_size(r->arch) : 0}; /* external: unknown */
        r->strategy = fedc_strategy_create_env(t, &env, err);
        free(off);
        free(cnt);
    }
    if (!r->strategy || set_strategy_layout(r, err) != 0) goto fail;
    r->sinfo = fedc_strategy_info_get(r->strategy);
    /* Robust aggregation: the strategy combines through it; FRL's model
     * starts from the seed's scores. */
    if (!(r->combiner = fedc_combiner_create(t, r->arch, r->d, r->x, t->clients, err))) goto fail;
    fedc_combiner_initial_model(r->combiner, r->x);
    fedc_strategy_set_combine(r->strategy, fedc_combiner_combine_fn, r->combiner);
    if ((strcmp(t->attack.kind, "none") != 0 || t->attack.unreliable > 0) &&
        !(r->attack = fedc_attack_create(t, NULL, err)))
        goto fail;
    r->async = r->sinfo.async_buffer > 0 || r->sinfo.async_window_s > 0;
    if ((r->decentral = r->sinfo.decentral)) {
        /* Every node starts from the task's initial model. */
        for (int k = 0; k < t->clients; k++)
            memcpy(fedc_strategy_node_model(r->strategy, k), r->x, r->d * sizeof(float));
        r->node_delta = calloc((size_t)t->clients, sizeof *r->node_delta);
        r->gossip_sent = calloc((size_t)t->clients, sizeof *r->gossip_sent);
        r->node_acc = calloc((size_t)t->clients, sizeof *r->node_acc);
        if (!r->node_delta || !r->gossip_sent || !r->node_acc) {
            fedc_fail(err, "out of memory for %d nodes", t->clients);
            goto fail;
        }
    }
    if (!(r->privacy = fedc_privacy_create(t, r->d, err))) goto fail;
    if (fedc_privacy_central(r->privacy)) {
        if (r->sinfo.extra_up) {
            fedc_fail(err, "privacy.mode: dp-fedavg cannot be combined with strategy %s, whose clients "
                           "upload per-client data besides the update",
                      t->strategy.name);
            goto fail;
        }
        if (!(r->dp_mean = malloc(r->d * sizeof(float)))) {
            fedc_fail(err, "out of memory for %zu parameters", r->d);
            goto fail;
        }
    }
    if (!(r->up = fedc_codec_parse(t->compression.up, err))) goto fail;
    if (!(r->down = fedc_codec_parse(t->compression.down, err))) goto fail;
    if (r->sinfo.client_models) {
        /* Each client gets its own model as a whole: no shared delta base, no combined-only aggregate. */
        const char *why = !fedc_engine_codec_lossless(r->down) ? "compression.down must be lossless (none or zstd)"
                          : fedc_protocol_for_task(t)      ? "secagg.mode must be none"
                          : fedc_privacy_central(r->privacy) ? "privacy.mode dp-fedavg gives the server only the mean"
                          : r->async                         ? "it is not asynchronous"
                                                             : NULL;
        if (why) {
            fedc_fail(err, "strategy.name: %s sends each client its own model, so %s", t->strategy.name, why);
            goto fail;
        }
    }
    fedc_sched_config sc = {0};
    snprintf(sc.policy, sizeof sc.policy, "%s", t->scheduling.policy);
    sc.choice_d = t->scheduling.choice_d;
    sc.deadline_s = t->scheduling.deadline_s;
    if (!(r->sched = fedc_sched_create(&sc, t->clients, err))) goto fail;
    if (!(r->profile = fedc_profile_create(t->scheduling.profile, t->clients, t->seed, err))) goto fail;
    r->info = calloc((size_t)t->clients, sizeof *r->info);
    if (!r->info) {
        fedc_fail(err, "out of memory for the state of %d clients", t->clients);
        goto fail;
    }
    for (int k = 0; k < t->clients; k++) {
        r->info[k].n_samples = r->external ? 0
                               : r->lazy   ? fedc_synthetic_train_size(fedc_synthetic_client_size(&r->syn, k))
                                           : fedc_partition_size(&r->part, k);
        r->info[k].last_loss = -1;
        r->info[k].last_round = -1;
        r->info[k].available = 1;
    }
    int threads = r->opt.threads > 0 ? r->opt.threads : fedc_cpu_count();
    if (!(r->pool = fedc_pool_create(threads))) {
        fedc_fail(err, "cannot start %d worker threads (out of memory or thread limit)", threads);
        goto fail;
    }
    /* Parallelism comes from clients training side by side; a second level
     * inside BLAS would only oversubscribe the cores. */
    if (threads > 1) openblas_set_num_threads(1);
    r->eval_ws = calloc((size_t)threads, sizeof *r->eval_ws);
    r->eval_x = calloc((size_t)threads, sizeof *r->eval_x);
    if (!r->eval_ws || !r->eval_x) {
        fedc_fail(err, "out of memory for %d evaluation workspaces", threads);
        goto fail;
    }
    /* External models: the server never evaluates (no arch, no workspaces). */
    const int eval_batch = r->opt.eval_batch > 0 ? r->opt.eval_batch : FEDC_EVAL_BATCH;
    for (int i = 0; r->arch && i < threads; i++)
        if (!(r->eval_ws[i] = fedc_ws_create(r->arch, eval_batch)) ||
            !(r->eval_x[i] = fedc_nn_alloc((size_t)eval_batch * fedc_arch_input_size(r->arch)))) {
            fedc_fail(err, "out of memory for %d evaluation workspaces", threads);
            goto fail;
        }
    r->slots = calloc((size_t)t->clients_per_round, sizeof *r->slots);
    r->selected = calloc((size_t)t->clients_per_round, sizeof(int));
    r->updates = calloc((size_t)t->clients_per_round, sizeof *r->updates);
    r->upd_slot = calloc((size_t)t->clients_per_round, sizeof *r->upd_slot);
    r->verdict_lists = calloc((size_t)t->clients_per_round * 6, sizeof *r->verdict_lists);
    if (!r->slots || !r->selected || !r->updates || !r->upd_slot || !r->verdict_lists) {
        fedc_fail(err, "out of memory for %d participants' slots", t->clients_per_round);
        goto fail;
    }
    r->nslots = t->clients_per_round; /* fedc_run_free walks the slots from here on */
    if (r->async && !(r->async_map = calloc((size_t)r->nslots, sizeof(int)))) {
        fedc_fail(err, "out of memory for %d asynchronous slots", r->nslots);
        goto fail;
    }
    for (int i = 0; i < r->nslots; i++) {
        r->slots[i].delta = malloc(r->d * sizeof(float));
        r->slots[i].extra = calloc(r->sinfo.extra_up + 1, sizeof(float));
        if (!r->slots[i].delta || !r->slots[i].extra) {
            fedc_fail(err, "out of memory for %d update buffers of %zu parameters", r->nslots, r->d);
            goto fail;
        }
    }
    r->guard = fedc_agg_guard_create(r->d, fedc_strategy_state_size(r->strategy), r->nslots);
    r->refused = calloc((size_t)r->nslots, 1);
    r->refused_why = calloc((size_t)r->nslots, sizeof *r->refused_why);
    if (!r->guard || !r->refused || !r->refused_why) {
        fedc_fail(err, "out of memory for checking the aggregate");
        goto fail;
    }
    if (r->fed_eval) {
        r->eslots = calloc((size_t)t->clients + 1, sizeof *r->eslots);
        r->eval_clients = calloc((size_t)t->clients + 1, sizeof(int));
        r->eval_codec = fedc_codec_parse(fedc_engine_codec_lossless(r->down) ? t->compression.down : "none", err);
        if (!r->eslots || !r->eval_clients || !r->eval_codec) {
            if (!r->eval_codec) fedc_fail_prefix(err, "federated evaluation: ");
            else fedc_fail(err, "out of memory for federated evaluation");
            goto fail;
        }
    }
    r->down_lossy = !fedc_engine_codec_lossless(r->down);
    if (r->down_lossy) {
        r->down_ref = calloc((size_t)t->clients, sizeof *r->down_ref);
        r->down_ref_used = calloc((size_t)t->clients, sizeof(int));
        r->x0 = malloc(r->d * sizeof(float));
        if (!r->down_ref || !r->down_ref_used || !r->x0) {
            fedc_fail(err, "out of memory for downlink reference models");
            goto fail;
        }
        memcpy(r->x0, r->x, r->d * sizeof(float));
        /* ~1 GiB of reference models at most; nodes beyond get whole models. */
        double per = (double)r->d * sizeof(float);
        r->down_ref_budget = (int)(1073741824.0 / per);
        if (r->down_ref_budget < r->nslots) r->down_ref_budget = r->nslots;
        for (int i = 0; i < r->nslots; i++) {
            r->slots[i].recon = malloc(r->d * sizeof(float));
            if (!r->slots[i].recon) {
                fedc_fail(err, "out of memory for downlink reference models");
                goto fail;
            }
        }
    }
    if ((r->proto = fedc_protocol_for_task(t))) {
        if (r->sinfo.extra_up) {
            fedc_fail(err, "secagg.mode: %s cannot be combined with strategy %s, whose clients upload per-client "
                           "data besides the update",
                      r->proto->name, t->strategy.name);
            goto fail;
        }
        r->proto_self = r->proto->server_create(t, r->d, err);
        if (!r->proto_self) goto fail;
        r->proto_mean = malloc(r->d * sizeof(float));
        r->alive = calloc((size_t)r->nslots, 1);
        r->map = calloc((size_t)r->nslots, sizeof(int));
        r->step_frames = calloc((size_t)r->nslots, sizeof(fedc_buf));
        r->step_sub = calloc((size_t)r->nslots, sizeof(fedc_buf));
        if (!r->proto_mean || !r->alive || !r->map || !r->step_frames || !r->step_sub) {
            fedc_fail(err, "out of memory for the round protocol");
            goto fail;
        }
    }
    if (fedc_privacy_would_exceed(r->privacy, 0, 0))
        FEDC_WARN("privacy.target_epsilon %g: even one round would exceed it, so no round will run",
                  t->privacy.target_epsilon);
    r->start_wall = fedc_wall_s();
    r->plateau_best = -INFINITY;
    return r;
fail:
    fedc_run_free(r);
    return NULL;
}

/* ---- Evaluation: the test set split across the pool's threads. -------- */
typedef struct {
    fedc_run *r;
    const float *x;
    const fedc_dataset *ds;
    size_t chunk, n;
    double *correct, *loss_sum;
} eval_ctx;

/* Samples lo + first .. of a dataset as floats (byte features scaled). */
typedef struct {
    const fedc_dataset *ds;
    size_t lo;
} eval_rows_ctx;

static void eval_rows(void *vctx, size_t first, size_t n, float *x) {
    const eval_rows_ctx *c = vctx;
    fedc_dataset_rows(c->ds, c->lo + first, n, x);
}

static void eval_chunk(void *vctx, size_t i, int worker) {
    eval_ctx *c = vctx;
    fedc_run *r = c->r;
    const fedc_dataset *ts = c->ds;
    size_t lo = i * c->chunk, hi = lo + c->chunk < c->n ? lo + c->chunk : c->n;
    if (lo >= hi) return;
    double acc, loss;
    if (ts->x8) {
        eval_rows_ctx rc = {ts, lo};
        fedc_nn_evaluate_rows(r->arch, r->eval_ws[worker], c->x, eval_rows, &rc, r->eval_x[worker], ts->y + lo,
                              hi - lo, &acc, &loss);
    } else {
        fedc_nn_evaluate(r->arch, r->eval_ws[worker], c->x, ts->x + lo * ts->dim, ts->y + lo, hi - lo, &acc,
                         &loss);
    }
    c->correct[i] = acc * (double)(hi - lo);
    c->loss_sum[i] = loss * (double)(hi - lo);
}

/* Model x's accuracy and mean loss on the first n samples of ds. */
static void evaluate_on(fedc_run *r, const float *x, const fedc_dataset *ds, size_t n, double *accuracy,
                        double *loss) {
    size_t parts = (size_t)fedc_pool_size(r->pool) * 4;
    size_t chunk = (n + parts - 1) / parts;
    if (chunk == 0) chunk = 1;
    parts = (n + chunk - 1) / chunk;
    double *correct = calloc(parts + 1, sizeof(double)), *ls = calloc(parts + 1, sizeof(double));
    double one_correct[2] = {0, 0}, one_ls[2] = {0, 0};
    if (!correct || !ls) {
        /* No memory for per-part sums: the whole test set as one part, on this thread. */
        free(correct);
        free(ls);
        correct = ls = NULL;
        parts = 1;
        chunk = n ? n : 1;
    }
    eval_ctx c = {r, x, ds, chunk, n, correct ? correct : one_correct, ls ? ls : one_ls};
    if (correct)
        fedc_pool_for(r->pool, parts, eval_chunk, &c);
    else
        eval_chunk(&c, 0, 0);
    double sc = 0, sl = 0;
    for (size_t i = 0; i < parts; i++) {
        sc += c.correct[i];
        sl += c.loss_sum[i];
    }
    free(correct);
    free(ls);
    *accuracy = n ? sc / (double)n : 0;
    *loss = n ? sl / (double)n : 0;
}

void fedc_run_evaluate(fedc_run *r, double *accuracy, double *loss) {
    evaluate_on(r, fedc_combiner_model(r->combiner, r->x), r->evalp, r->testp->n, accuracy, loss);
}

int fedc_run_evaluate_validation(fedc_run *r, double *accuracy, double *loss) {
    if (r->val.n == 0) return -1;
    evaluate_on(r, fedc_combiner_model(r->combiner, r->x), &r->val, r->val.n, accuracy, loss);
    return 0;
}

size_t fedc_run_validation_size(const fedc_run *r) { return r->val.n; }

/* ---- Transport callbacks: each touches only its own slot. ------------- */
static void on_sent(void *ctx, int i, uint64_t wire_bytes) {
    fedc_run *r = ctx;
    r->slots[i].bytes_down += wire_bytes;
}

static void on_drop(void *ctx, int i, const char *reason) {
    fedc_run *r = ctx;
    slot *s = &r->slots[i];
    if (s->status != 0) return;
    s->status = -1;
    snprintf(s->reason, sizeof s->reason, "%.255s", reason);
}

/* Refuses anything that could poison the aggregate: wrong type or round,
 * wrong lengths, missing or extra tensors, non-finite values. */
static int check_update(fedc_run *r, slot *s, int round, const uint8_t *frame, size_t len,
                        fedc_error *err) {
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = -1;
    json_t *ctl = NULL;
    if (m.type != FEDC_MSG_UPDATE) {
        fedc_fail(err, "expected an update, got a %s message", fedc_msg_type_name(m.type));
        goto out;
    }
    ctl = json_loads(m.json, 0, NULL);
    json_int_t rnd = -1, n_samples = -1, steps = -1;
    double loss = 0, cpu = 0;
    if (!ctl || json_unpack(ctl, "{s:I,s:I,s:I,s:F,s:F}", "round", &rnd, "n_samples", &n_samples,
                            "steps", &steps, "loss", &loss, "cpu_s", &cpu) != 0) {
        fedc_fail(err, "update: control fields round, n_samples, steps, loss, cpu_s are required");
        goto out;
    }
    if (rnd != round) {
        fedc_fail(err, "update is for round %lld; the current round is %d", (long long)rnd, round);
        goto out;
    }
    json_int_t max_samples = r->trainp && !r->lazy ? (json_int_t)r->trainp->n * 1000 : (json_int_t)1000000000000LL;
    if (n_samples < 0 || n_samples > max_samples || steps < 0 || steps > 100000000 ||
        !isfinite(loss) || !isfinite(cpu) || cpu < 0) {
        fedc_fail(err, "update: n_samples, steps, loss or cpu_s out of range");
        goto out;
    }
    /* The sample count weighs the update: it may not exceed what the client
     * holds (its partition, or the count its node declared when it joined). */
    if ((size_t)n_samples > r->info[s->client].n_samples) {
        fedc_fail(err, "update: n_samples %lld is more than the %zu samples client %d holds", (long long)n_samples,
                  r->info[s->client].n_samples, s->client);
        goto out;
    }
    int want = r->sinfo.extra_up ? 2 : 1;
    if (m.nblobs != want) {
        fedc_fail(err, "update carries %d tensors; the strategy expects %d", m.nblobs, want);
        goto out;
    }
    if (r->proto) {
        /* A protocol's update (e.g. masked field elements) is its own to check. */
        if (r->proto->update(r->proto_self, (int)(s - r->slots), m.blobs[0].data, m.blobs[0].len, err) != 0) {
            fedc_fail_prefix(err, "update: ");
            goto out;
        }
    } else if (fedc_codec_decode(r->up, m.blobs[0].data, m.blobs[0].len, s->delta, r->d, err) != 0) {
        fedc_fail_prefix(err, "update: ");
        goto out;
    }
    size_t bad = r->proto ? r->d : fedc_first_nonfinite(s->delta, r->d);
    if (bad < r->d) {
        fedc_fail(err, "update: value %zu is not finite (%g)", bad, (double)s->delta[bad]);
        goto out;
    }
    if (r->sinfo.extra_up) {
        if (m.blobs[1].len != r->sinfo.extra_up * sizeof(float)) {
            fedc_fail(err, "update: strategy payload is %zu bytes; expected %zu", m.blobs[1].len,
                      r->sinfo.extra_up * sizeof(float));
            goto out;
        }
        memcpy(s->extra, m.blobs[1].data, m.blobs[1].len);
        size_t bad_extra = fedc_first_nonfinite(s->extra, r->sinfo.extra_up);
        if (bad_extra < r->sinfo.extra_up) {
            fedc_fail(err, "update: strategy payload value %zu is not finite", bad_extra);
            goto out;
        }
    }
    /* Optional: the participant's personal accuracy (eval_personal). */
    json_t *pa = json_object_get(ctl, "personal_acc");
    s->personal_acc = -1;
    if (pa) {
        double v = json_number_value(pa);
        if (!json_is_number(pa) || !(v >= 0 && v <= 1)) {
            fedc_fail(err, "update: personal_acc must be a number in [0, 1]");
            goto out;
        }
        s->personal_acc = v;
    }
    /* Optional: the node's score of its own model (per-client evaluation). */
    json_t *ca = json_object_get(ctl, "client_acc");
    s->client_acc = -1;
    if (ca) {
        double v = json_number_value(ca);
        if (!json_is_number(ca) || !(v >= 0 && v <= 1)) {
            fedc_fail(err, "update: client_acc must be a number in [0, 1]");
            goto out;
        }
        s->client_acc = v;
    }
    s->weight = (double)n_samples;
    s->steps = (int)steps;
    s->loss = loss;
    s->cpu_s = cpu;
    rc = 0;
out:
    json_decref(ctl);
    fedc_msg_free(&m);
    return rc;
}

typedef struct {
    fedc_run *r;
    int round;
    const int *map; /* exchange index -> slot; NULL = the same */
} reply_ctx;
#define SLOT_OF(c, i) ((c)->map ? (c)->map[i] : (i))

static void on_reply(void *ctx, int i, const uint8_t *frame, size_t len, uint64_t wire_bytes) {
    reply_ctx *rc = ctx;
    fedc_run *r = rc->r;
    slot *s = &r->slots[SLOT_OF(rc, i)];
    s->bytes_up += wire_bytes;
    if (s->status != 0) return; /* already dropped or answered: late or duplicate */
    fedc_error e;
    if (check_update(r, s, rc->round, frame, len, &e) != 0) {
        s->status = -2;
        snprintf(s->reason, sizeof s->reason, "%.255s", e.msg);
        FEDC_WARN("round %d: update from client %d refused: %s", rc->round, s->client, e.msg);
        return;
    }
    s->status = 1;
}

static void on_sent_cb(void *ctx, int i, uint64_t b) { on_sent(((reply_ctx *)ctx)->r, SLOT_OF((reply_ctx *)ctx, i), b); }
static void on_drop_cb(void *ctx, int i, const char *why) {
    on_drop(((reply_ctx *)ctx)->r, SLOT_OF((reply_ctx *)ctx, i), why);
}

/* ---- Multi-step round protocol (protocol.h): extra exchanges before and
 * after TRAIN/UPDATE. Each step goes to the participants still in; one
 * that does not answer, or answers wrongly, leaves the round. ---- */
static void step_sent(void *ctx, int i, uint64_t b) {
    reply_ctx *c = ctx;
    c->r->slots[c->map[i]].bytes_down += b;
}

static void step_drop(void *ctx, int i, const char *why) {
    reply_ctx *c = ctx;
    slot *s = &c->r->slots[c->map[i]];
    if (s->step_status != 0) return;
    s->step_status = -1;
    snprintf(s->reason, sizeof s->reason, "%.255s", why);
}

/* A protocol answer that states the client's sample count (secure
 * aggregation weighs by it) is bounded like an update's n_samples: no more
 * than the client holds. 1: within bounds or not stated. */
static int step_samples_held(const fedc_run *r, const slot *s, const fedc_msg *m, fedc_error *e) {
    json_t *ctl = json_loadb(m->json, m->json_len, 0, NULL);
    json_t *v = ctl ? json_object_get(ctl, "samples") : NULL;
    int ok = 1;
    if (json_is_number(v) && !(json_number_value(v) <= (double)r->info[s->client].n_samples)) {
        fedc_fail(e, "protocol answer: samples %.0f is more than the %zu samples client %d holds",
                  json_number_value(v), r->info[s->client].n_samples, s->client);
        ok = 0;
    }
    json_decref(ctl);
    return ok;
}

static void step_reply(void *ctx, int i, const uint8_t *frame, size_t len, uint64_t wire) {
    reply_ctx *c = ctx;
    fedc_run *r = c->r;
    int k = c->map[i];
    slot *s = &r->slots[k];
    s->bytes_up += wire;
    if (s->step_status != 0) return;
    fedc_msg m;
    fedc_error e;
    int ok = fedc_msg_decode(frame, len, &m, &e) == 0;
    if (ok) {
        ok = step_samples_held(r, s, &m, &e) && r->proto->reply(r->proto_self, k, &m, &e) == 0;
        fedc_msg_free(&m);
    }
    if (!ok) {
        s->step_status = -2;
        snprintf(s->reason, sizeof s->reason, "%.255s", e.msg);
        FEDC_WARN("round %d: protocol answer from client %d refused: %s", c->round, s->client, e.msg);
        return;
    }
    s->step_status = 1;
}

/* Runs the protocol's steps of one phase. Before training a participant
 * that fails a step is out of the round (dropped or refused); after it, its
 * update stays aggregated but it gets no further step. */
static int protocol_phase(fedc_run *r, fedc_transport *tp, int round, int n, int phase, fedc_error *err) {
    for (;;) {
        for (int i = 0; i < n; i++) {
            slot *s = &r->slots[i];
            if (phase == FEDC_PROTOCOL_BEFORE_TRAIN) r->alive[i] = s->status == 0;
            else r->alive[i] = r->alive[i] && s->status == 1;
        }
        int more = r->proto->step(r->proto_self, phase, r->alive, r->step_frames, err);
        if (more < 0) return -1;
        if (more == 0) return 0;
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (!r->alive[i]) continue;
            r->slots[i].step_status = 0;
            r->map[m] = i;
            r->selected[m] = r->slots[i].client;
            r->step_sub[m++] = r->step_frames[i];
        }
        if (m == 0) return fedc_fail(err, "round %d: every participant left during the round protocol", round);
        reply_ctx rc = {r, round, r->map};
        fedc_exchange ex = {round, m, r->selected, r->step_sub, r->task.deploy.round_timeout_s, step_sent,
                            step_reply, step_drop, &rc};
        if (tp->ops->exchange(tp, &ex, err) != 0) return -1;
        for (int q = 0; q < m; q++) {
            int i = r->map[q];
            slot *s = &r->slots[i];
            if (s->step_status == 1) continue;
            if (s->step_status == 0) snprintf(s->reason, sizeof s->reason, "no answer to a round protocol step");
            r->proto->drop(r->proto_self, i);
            r->alive[i] = 0;
            if (phase == FEDC_PROTOCOL_BEFORE_TRAIN) s->status = s->step_status == -2 ? -2 : -1;
        }
        for (int i = 0; i < n; i++) r->selected[i] = r->slots[i].client;
    }
}

/* Seconds client k would take for this round under its profile. */
static double simulated_seconds(const fedc_run *r, int k, const slot *s) {
    const fedc_client_info *c = &r->info[k];
    if (c->samples_per_s <= 0) return 0;
    double work = (double)c->n_samples * r->task.local.epochs;
    if (r->task.local.max_steps > 0) {
        double cap = (double)r->task.local.max_steps * r->task.local.batch;
        if (cap < work) work = cap;
    }
    double t = work / c->samples_per_s;
    if (c->down_bps > 0) t += (double)s->bytes_down * 8.0 / c->down_bps;
    if (c->up_bps > 0) t += (double)s->bytes_up * 8.0 / c->up_bps;
    return t;
}

static int frame_from_blob(fedc_run *r, int round, const char *base_kind, const fedc_buf *blob, fedc_buf *frame,
                           fedc_error *err);

/* Encodes the TRAIN frame for model x; with base, as x - base. */
static int encode_train_frame(fedc_run *r, int round, const float *x, const float *base,
                              const char *base_kind, int client, fedc_buf *blob, fedc_buf *frame,
                              fedc_error *err) {
    fedc_buf_clear(blob);
    fedc_rng drng = fedc_rng_derive(r->task.seed, (uint64_t)round, 0xD0D0ull ^ ((uint64_t)client << 20));
    const float *v = x;
    float *diff = NULL;
    if (base) {
        diff = malloc(r->d * sizeof(float));
        if (!diff) return fedc_fail(err, "out of memory encoding the model");
        for (size_t j = 0; j < r->d; j++) diff[j] = x[j] - base[j];
        v = diff;
    }
    int rc = fedc_codec_encode(r->down, v, r->d, NULL, &drng, blob, err);
    free(diff);
    if (rc != 0) return -1;
    return frame_from_blob(r, round, base_kind, blob, frame, err);
}

/* The TRAIN frame around an encoded model. */
static int frame_from_blob(fedc_run *r, int round, const char *base_kind, const fedc_buf *blob, fedc_buf *frame,
                           fedc_error *err) {
    char json[96];
    int jl = snprintf(json, sizeof json, "{\"round\":%d,\"base\":\"%s\"}", round, base_kind);
    fedc_msg tm = {.type = FEDC_MSG_TRAIN, .json = json, .json_len = (size_t)jl, .nblobs = 1};
    tm.blobs[0].data = blob->data;
    tm.blobs[0].len = blob->len;
    if (r->sinfo.extra_down) {
        tm.nblobs = 2;
        tm.blobs[1].data = (const uint8_t *)fedc_strategy_down_extra(r->strategy);
        tm.blobs[1].len = r->sinfo.extra_down * sizeof(float);
    }
    fedc_buf_clear(frame);
    return fedc_msg_encode(&tm, frame, err);
}

/* What the node will hold after decoding its frame (the server decodes its
 * own encoding, so both sides agree bit for bit). */
static int reconstruct(fedc_run *r, slot *s, fedc_error *err) {
    if (fedc_codec_decode(r->down, r->model_blob.data, r->model_blob.len, s->recon, r->d, err) != 0)
        return -1;
    const float *base = r->down_ref[s->client] ? r->down_ref[s->client] : r->external ? NULL : r->x0;
    for (size_t j = 0; base && j < r->d; j++) s->recon[j] += base[j];
    return 0;
}

/* After the round: a node that answered holds s->recon; one that did not may
 * or may not have decoded, so next time its base is the initial model. */
static void commit_down_ref(fedc_run *r, slot *s, int round) {
    int k = s->client;
    if (s->status != 1) {
        if (r->down_ref[k]) {
            free(r->down_ref[k]);
            r->down_ref[k] = NULL;
            r->down_ref_count--;
        }
        return;
    }
    if (!r->down_ref[k]) {
        if (r->down_ref_count >= r->down_ref_budget) {
            int lru = -1;
            for (int q = 0; q < r->task.clients; q++)
                if (r->down_ref[q] && (lru < 0 || r->down_ref_used[q] < r->down_ref_used[lru])) lru = q;
            if (lru >= 0) {
                free(r->down_ref[lru]);
                r->down_ref[lru] = NULL;
                r->down_ref_count--;
            }
        }
        r->down_ref[k] = malloc(r->d * sizeof(float));
        if (!r->down_ref[k]) return;
        r->down_ref_count++;
    }
    memcpy(r->down_ref[k], s->recon, r->d * sizeof(float));
    r->down_ref_used[k] = round;
}

/* The aggregator's judgements (kept in the slots for deployments) and,
 * in simulation, who really attacked, as the round's lists. */
static void report_robust(fedc_run *r, int nu, fedc_round_metrics *m) {
    const fedc_task *t = &r->task;
    int *lists = r->verdict_lists, cap = r->nslots;
    int *left = lists, *mal = lists + cap, *unrel = lists + 2 * cap, *att = lists + 3 * cap, *unc = lists + 4 * cap;
    int *all = lists + 5 * cap, na = 0;
    for (int k = 0; k < nu; k++) {
        slot *s = &r->slots[r->upd_slot[k]];
        if (s->status != 1) continue; /* refused by the aggregate check (guard.c) */
        all[na++] = s->client;
        /* The strategy may have combined a subset (FedAMD's miners): match by client. */
        const char *why = "";
        fedc_verdict v = FEDC_VERDICT_KEPT;
        for (int i = 0; i < fedc_combiner_count(r->combiner); i++)
            if (fedc_combiner_client(r->combiner, i) == s->client) {
                v = fedc_combiner_verdict(r->combiner, i, &why);
                break;
            }
        s->verdict = (int)v;
        snprintf(s->verdict_why, sizeof s->verdict_why, "%s", why);
        if (v == FEDC_VERDICT_LEFT_OUT) left[m->n_left_out++] = s->client;
        if (v == FEDC_VERDICT_MALICIOUS) mal[m->n_malicious++] = s->client;
        if (v == FEDC_VERDICT_UNRELIABLE) unrel[m->n_unreliable++] = s->client;
        fedc_role role = r->attack ? fedc_attack_role(r->attack, s->client) : FEDC_ROLE_HONEST;
        if (role == FEDC_ROLE_ATTACKER) att[m->n_attackers++] = s->client;
        if (role == FEDC_ROLE_UNRELIABLE) unc[m->n_unreliable_clients++] = s->client;
    }
    m->left_out = left;
    m->malicious = mal;
    m->unreliable = unrel;
    m->attackers = att;
    m->unreliable_clients = unc;
    m->aggregated = all;
    m->clipped = fedc_combiner_clipped(r->combiner);
    m->robust_report = strcmp(t->strategy.aggregator, "mean") != 0 || t->strategy.norm_bound > 0;
    m->attack_report = r->attack != NULL;
}

/* ---- Federated evaluation: EVALUATE frames out, RESULT frames back. ---- */
typedef struct eval_ctx_x {
    fedc_run *r;
    int round;
} eval_ctx_x;

static void eval_on_sent(void *ctx, int i, uint64_t b) { ((eval_ctx_x *)ctx)->r->eslots[i].bytes_down += b; }

static void eval_on_drop(void *ctx, int i, const char *why) {
    eval_slot *e = &((eval_ctx_x *)ctx)->r->eslots[i];
    if (e->status == 0) {
        e->status = -1;
        FEDC_DEBUG("round %d: client %d did not evaluate: %s", ((eval_ctx_x *)ctx)->round, e->client, why);
    }
}

/* Refuses reports that could distort the mean: wrong type or round, values
 * out of range or not finite. */
static int check_result(const uint8_t *frame, size_t len, int round, eval_slot *e, fedc_error *err) {
    fedc_msg m;
    if (fedc_msg_decode(frame, len, &m, err) != 0) return -1;
    int rc = -1;
    json_t *o = NULL;
    if (m.type != FEDC_MSG_RESULT) {
        fedc_fail(err, "expected a result, got a %s message", fedc_msg_type_name(m.type));
        goto out;
    }
    o = json_loads(m.json, 0, NULL);
    json_int_t rnd = -1;
    double loss = 0, acc = 0, ex = 0;
    if (!o || json_unpack(o, "{s:I,s:F,s:F,s:F}", "round", &rnd, "loss", &loss, "accuracy", &acc, "examples", &ex) !=
                  0) {
        fedc_fail(err, "result: control fields round, loss, accuracy, examples are required");
        goto out;
    }
    if (rnd != round) {
        fedc_fail(err, "result is for round %lld; the current round is %d", (long long)rnd, round);
        goto out;
    }
    if (!isfinite(loss) || loss < 0 || !(acc >= 0 && acc <= 1) || !(ex >= 0 && ex <= 1e12) || ex != floor(ex) ||
        m.nblobs != 0) {
        fedc_fail(err, "result: loss (finite, >= 0), accuracy (0..1), examples (a count) or blobs (none) out of range");
        goto out;
    }
    e->loss = loss;
    e->accuracy = acc;
    e->examples = ex;
    rc = 0;
out:
    json_decref(o);
    fedc_msg_free(&m);
    return rc;
}

static void eval_on_reply(void *ctx, int i, const uint8_t *frame, size_t len, uint64_t wire) {
    eval_ctx_x *c = ctx;
    eval_slot *e = &c->r->eslots[i];
    e->bytes_up += wire;
    if (e->status != 0) return;
    fedc_error err;
    if (check_result(frame, len, c->round, e, &err) != 0) {
        e->status = -2;
        FEDC_WARN("round %d: evaluation report of client %d refused: %s", c->round, e->client, err.msg);
        return;
    }
    e->status = 1;
}

/* The clients whose updates the round aggregated, into r->eval_clients
 * (what eval.clients 0 evaluates). Synchronous rounds: the slots with a
 * usable update; asynchronous ones: the slots async_map names. */
static int accepted_clients(fedc_run *r, int nslots, const int *map) {
    int n = 0;
    if (!r->fed_eval) return 0;
    for (int i = 0; i < nslots; i++) {
        const slot *sl = &r->slots[map ? map[i] : i];
        if (map || sl->status == 1) r->eval_clients[n++] = sl->client;
    }
    return n;
}

/* Who evaluates: the round's naccepted accepted participants (already in
 * r->eval_clients), or eval.clients available clients drawn by the seed. */
static int pick_evaluators(fedc_run *r, int round, int naccepted) {
    const fedc_task *t = &r->task;
    int n = 0;
    if (t->eval.clients <= 0) return naccepted;
    int avail = 0;
    for (int k = 0; k < t->clients; k++) avail += r->info[k].available != 0;
    if (avail == 0) return 0;
    uint32_t *pool = malloc((size_t)avail * sizeof *pool), *pick = malloc((size_t)avail * sizeof *pick);
    if (!pool || !pick) {
        free(pool);
        free(pick);
        return 0;
    }
    int a = 0;
    for (int k = 0; k < t->clients; k++)
        if (r->info[k].available) pool[a++] = (uint32_t)k;
    int want = t->eval.clients < avail ? t->eval.clients : avail;
    fedc_rng erng = fedc_rng_derive(t->seed, (uint64_t)round, 0xE7A1ull);
    fedc_rng_sample_u32(&erng, (uint32_t)avail, (uint32_t)want, pick);
    for (int i = 0; i < want; i++) r->eval_clients[n++] = (int)pool[pick[i]];
    free(pool);
    free(pick);
    return n;
}

static void federated_evaluation(fedc_run *r, fedc_transport *tp, int round, int naccepted, fedc_round_metrics *m) {
    int n = pick_evaluators(r, round, naccepted);
    if (n == 0) return;
    fedc_buf blob = {0};
    fedc_error err;
    char json[160];
    int jl = snprintf(json, sizeof json, "{\"round\":%d,\"codec\":\"%s\"}", round, fedc_codec_name(r->eval_codec));
    fedc_rng rng = fedc_rng_derive(r->task.seed, (uint64_t)round, 0xE7A2ull);
    /* The model itself (FRL: the masked weights its scores stand for). */
    const float *model = fedc_combiner_model(r->combiner, r->x);
    if (fedc_codec_encode(r->eval_codec, model, r->d, NULL, &rng, &blob, &err) != 0) {
        FEDC_WARN("round %d: federated evaluation skipped: %s", round, err.msg);
        fedc_buf_free(&blob);
        return;
    }
    fedc_msg em = {.type = FEDC_MSG_EVALUATE, .json = json, .json_len = (size_t)jl, .nblobs = 1};
    em.blobs[0] = (fedc_blob){blob.data, blob.len};
    fedc_buf_clear(&r->eval_frame);
    int rc = fedc_msg_encode(&em, &r->eval_frame, &err);
    fedc_buf_free(&blob);
    if (rc != 0) {
        FEDC_WARN("round %d: federated evaluation skipped: %s", round, err.msg);
        return;
    }
    fedc_buf *frames = malloc((size_t)n * sizeof *frames);
    if (!frames) return;
    for (int i = 0; i < n; i++) {
        frames[i] = r->eval_frame; /* aliases: the transport only reads */
        r->eslots[i] = (eval_slot){.client = r->eval_clients[i]};
    }
    eval_ctx_x ec = {r, round};
    fedc_exchange ex = {round, n, r->eval_clients, frames, r->task.deploy.round_timeout_s, eval_on_sent,
                        eval_on_reply, eval_on_drop, &ec};
    rc = tp->ops->exchange(tp, &ex, &err);
    free(frames);
    if (rc != 0) {
        FEDC_WARN("round %d: federated evaluation failed: %s", round, err.msg);
        return;
    }
    double ex_sum = 0, acc = 0, loss = 0;
    for (int i = 0; i < n; i++) {
        eval_slot *e = &r->eslots[i];
        m->bytes_down += e->bytes_down;
        m->bytes_up += e->bytes_up;
        if (e->status != 1) continue;
        m->fed_reports++;
        ex_sum += e->examples;
        acc += e->accuracy * e->examples;
        loss += e->loss * e->examples;
    }
    if (ex_sum > 0) {
        m->fed_evaluated = 1;
        m->fed_examples = ex_sum;
        m->fed_accuracy = acc / ex_sum;
        m->fed_loss = loss / ex_sum;
    }
}

/* Most rounds any one client took part in: what local DP composes over. */
static int max_participations(const fedc_run *r) {
    int most = 0;
    for (int k = 0; k < r->task.clients; k++)
        if (r->info[k].times_selected > most) most = r->info[k].times_selected;
    return most;
}

static void finish_round(fedc_run *r, fedc_transport *tp, int naccepted, fedc_round_metrics *m, int round,
                         double sim_round, double cpu_srv, double wall0);
static int run_round_async(fedc_run *r, fedc_transport *tp, fedc_round_metrics *m, fedc_error *err);
static int live_round_async(fedc_run *r, fedc_transport *tp, fedc_round_metrics *m, fedc_error *err);

static int run_round_decentral(fedc_run *r, fedc_transport *tp, fedc_round_metrics *m, fedc_error *err);

int fedc_run_round(fedc_run *r, fedc_transport *tp, fedc_round_metrics *m, fedc_error *err) {
    if (r->async) return tp->ops->post ? live_round_async(r, tp, m, err) : run_round_async(r, tp, m, err);
    if (r->decentral) return run_round_decentral(r, tp, m, err);
    double wall0 = fedc_wall_s(), cpu_srv = 0, c0 = fedc_cpu_thread_s();
    int round = r->rounds_done + 1;
    memset(m, 0, sizeof *m);
    m->round = round;
    const fedc_task *t = &r->task;
    if (r->need_init) return fedc_fail(err, "round %d: the external model has no initial parameters yet", round);

    /* 1. Who takes part. Clients without data cannot train. */
    for (int k = 0; k < t->clients; k++) {
        fedc_profile_apply(r->profile, k, round, &r->info[k]);
        if (r->info[k].n_samples == 0) r->info[k].available = 0;
    }
    if (r->client_hook) r->client_hook(r->client_hook_ctx, round, r->info, t->clients);
    fedc_round_cost cost = {(double)t->local.epochs,
                            t->local.max_steps > 0 ? (double)t->local.max_steps * t->local.batch : 0,
                            r->last_down_pp > 0 ? r->last_down_pp : (double)(r->d * 4),
                            r->last_up_pp > 0 ? r->last_up_pp : (double)(r->d * 4)};
    fedc_rng srng = fedc_rng_derive(t->seed, (uint64_t)round, 0x5C4EDull);
    int n = fedc_sched_select(r->sched, round, r->info, t->clients, t->clients_per_round, &cost, &srng,
                              r->selected);
    m->selected = n;
    if (n <= 0) return fedc_fail(err, "round %d: no client is available to train", round);

    fedc_round_ctx rctx = {round, t->rounds, t->clients, r->info, fedc_task_local_lr(t, round),
                           fedc_task_server_lr(t, round)};
    fedc_strategy_round_begin(r->strategy, &rctx);

    /* 2. TRAIN frames: one shared frame when the downlink is exact; with a
     * lossy downlink each node gets the model as a delta against its copy. */
    fedc_buf *frames = malloc((size_t)n * sizeof *frames);
    if (!frames) return fedc_fail(err, "round %d: out of memory for %d model frames", round, n);
    for (int i = 0; i < n; i++) {
        slot *s = &r->slots[i];
        s->client = r->selected[i];
        s->status = 0;
        s->reason[0] = 0;
        s->bytes_down = s->bytes_up = 0;
    }
    if (r->proto) {
        if (r->proto->begin(r->proto_self, round, n, r->selected, err) != 0 ||
            protocol_phase(r, tp, round, n, FEDC_PROTOCOL_BEFORE_TRAIN, err) != 0) {
            free(frames);
            return -1;
        }
        c0 = fedc_cpu_thread_s();
    }
    if (r->sinfo.client_models) {
        /* Per-client models (clustered): each participant its own frame. */
        for (int i = 0; i < n; i++) {
            slot *s = &r->slots[i];
            if (encode_train_frame(r, round, fedc_run_client_model(r, s->client), NULL, "full", s->client,
                                   &r->model_blob, &s->frame, err) != 0) {
                free(frames);
                return -1;
            }
            frames[i] = s->frame;
        }
    } else if (!r->down_lossy) {
        if (encode_train_frame(r, round, r->x, NULL, "full", 0, &r->model_blob, &r->frame, err) != 0) {
            free(frames);
            return -1;
        }
        for (int i = 0; i < n; i++) frames[i] = r->frame; /* aliases: the transport only reads */
    } else {
        for (int i = 0; i < n; i++) {
            slot *s = &r->slots[i];
            /* A node rebuilds the initial model from the seed ("init"); an
             * external model's it cannot, so it gets the model itself. */
            const float *base = r->down_ref[s->client] ? r->down_ref[s->client] : r->external ? NULL : r->x0;
            if (encode_train_frame(r, round, r->x, base,
                                   r->down_ref[s->client] ? "delta" : r->external ? "full" : "init",
                                   s->client, &r->model_blob, &s->frame, err) != 0 ||
                reconstruct(r, s, err) != 0) {
                free(frames);
                return -1;
            }
            frames[i] = s->frame;
        }
    }
    cpu_srv += fedc_cpu_thread_s() - c0;

    /* 3. Exchange over the transport. */
    reply_ctx rc = {r, round, NULL};
    fedc_exchange ex = {round, n, r->selected, frames, t->deploy.round_timeout_s, on_sent_cb, on_reply,
                        on_drop_cb, &rc};
    if (r->proto) {
        /* Only those still in after the protocol's first steps train. */
        int in = 0;
        for (int i = 0; i < n; i++)
            if (r->slots[i].status == 0) {
                r->map[in] = i;
                r->selected[in] = r->slots[i].client;
                frames[in++] = frames[i];
            }
        rc.map = r->map;
        ex.n = in;
    }
    int xrc = ex.n > 0 ? tp->ops->exchange(tp, &ex, err) : 0;
    free(frames);
    if (r->proto) {
        for (int i = 0; i < n; i++) r->selected[i] = r->slots[i].client;
    }
    if (xrc != 0) return -1;
    c0 = fedc_cpu_thread_s();

    /* 4. Simulated time and deadline (profiles only), then collect. */
    double sim_round = 0;
    int nu = 0, personal_cnt = 0;
    double train_loss = 0, personal_sum = 0;
    for (int i = 0; i < n; i++) {
        slot *s = &r->slots[i];
        m->bytes_down += s->bytes_down;
        m->bytes_up += s->bytes_up;
        if (s->status == 0) {
            s->status = -1;
            snprintf(s->reason, sizeof s->reason, "no reply");
        }
        double ts = simulated_seconds(r, s->client, s);
        if (s->status == 1 && t->scheduling.deadline_s > 0 && ts > t->scheduling.deadline_s) {
            s->status = -1;
            snprintf(s->reason, sizeof s->reason, "missed the %.1f s deadline (needed %.1f s)",
                     t->scheduling.deadline_s, ts);
            ts = t->scheduling.deadline_s;
        }
        if (ts > sim_round) sim_round = ts;
        if (s->status == 1) {
            m->client_cpu_s += s->cpu_s;
            m->client_steps += (uint64_t)(s->steps > 0 ? s->steps : 0);
            r->upd_slot[nu] = i;
            s->verdict = FEDC_VERDICT_KEPT;
            s->verdict_why[0] = '\0';
            fedc_update *u = &r->updates[nu++];
            u->client = s->client;
            u->weight = s->weight;
            u->steps = s->steps;
            u->staleness = 0;
            u->loss = s->loss;
            u->delta = s->delta;
            u->extra = r->sinfo.extra_up ? s->extra : NULL;
            train_loss += s->loss;
            if (s->personal_acc >= 0) {
                personal_sum += s->personal_acc;
                personal_cnt++;
            }
            /* A deployment's per-client evaluation: the nodes' latest reports. */
            if (r->has_holdout && !r->client_eval && s->client_acc >= 0) r->acc_own[s->client] = s->client_acc;
            r->info[s->client].last_loss = s->loss;
        } else if (s->status == -1) {
            m->dropped++;
        } else {
            m->rejected++;
        }
        r->info[s->client].last_round = round;
        r->info[s->client].times_selected++;
        if (r->down_lossy) commit_down_ref(r, s, round);
    }
    if (r->proto) {
        /* The protocol's steps after training, once the simulated deadline
         * has had its say: an update dropped by it leaves the sum too. */
        for (int i = 0; i < n; i++) {
            if (r->slots[i].status != 1) r->proto->drop(r->proto_self, i);
            r->alive[i] = r->slots[i].status == 1;
        }
        if (protocol_phase(r, tp, round, n, FEDC_PROTOCOL_AFTER_TRAIN, err) != 0) return -1;
        m->bytes_down = m->bytes_up = 0;
        for (int i = 0; i < n; i++) {
            m->bytes_down += r->slots[i].bytes_down;
            m->bytes_up += r->slots[i].bytes_up;
        }
    }
    m->participants = nu;
    r->last_down_pp = (double)m->bytes_down / n;
    if (nu > 0) r->last_up_pp = (double)m->bytes_up / n;
    int min_updates = t->deploy.min_updates > 0 ? t->deploy.min_updates : 1;
    if (nu < min_updates) {
        cpu_srv += fedc_cpu_thread_s() - c0;
        return fedc_fail(err, "round %d: %d of %d participants returned a usable update; at least %d needed",
                         round, nu, n, min_updates);
    }
    if (r->relay_out) {
        /* A mid-level server's round: the weighted mean (the FedAvg
         * aggregate, in slot order) goes upstream; the model stays. */
        r->relay_weight = fedc_weighted_mean(r->updates, nu, r->d, r->relay_out);
        m->train_loss = train_loss / nu;
        r->rounds_done = round;
        r->bytes_down_total += m->bytes_down;
        r->bytes_up_total += m->bytes_up;
        m->bytes_down_total = r->bytes_down_total;
        m->bytes_up_total = r->bytes_up_total;
        m->server_cpu_s = cpu_srv + fedc_cpu_thread_s() - c0;
        m->wall_s = fedc_wall_s() - wall0;
        m->elapsed_s = fedc_wall_s() - r->start_wall;
        return 0;
    }
    int n_agg = nu;
    if (r->proto) {
        /* The protocol yields only the weighted mean of the updates. */
        double weight = 0;
        if (r->proto->finish(r->proto_self, r->proto_mean, &weight, err) != 0) {
            fedc_fail_prefix(err, "round: ");
            return -1;
        }
        fedc_update *u = &r->updates[0];
        int steps = u->steps;
        memset(u, 0, sizeof *u);
        u->client = -1;
        u->weight = weight;
        u->steps = steps;
        u->loss = train_loss / nu;
        u->delta = r->proto_mean;
        n_agg = 1;
    } else if (fedc_privacy_central(r->privacy)) {
        /* The strategy sees only the clipped, noised mean. */
        m->dp_clip = fedc_privacy_clip(r->privacy);
        fedc_rng nrng = fedc_privacy_noise_rng(t, (uint64_t)round, 0xD9FEDull, r->secret_noise);
        fedc_privacy_combine(r->privacy, r->updates, nu, r->dp_mean, &nrng);
        fedc_update *u = &r->updates[0];
        int steps = u->steps;
        memset(u, 0, sizeof *u);
        u->client = -1;
        u->weight = 1;
        u->steps = steps;
        u->loss = train_loss / nu;
        u->delta = r->dp_mean;
        n_agg = 1;
    }
    /* The robust aggregator (strategy.aggregator) combines for the strategy.
     * With a protocol or central DP it sees one combined update (client -1):
     * the validator keeps robust rules away from both (only mean runs).
     * The aggregate is checked before it replaces the model (guard.c). */
    fedc_combiner_round(r->combiner, round, r->x);
    char verdict[600];
    int g = fedc_agg_guard_run(r->guard, r->strategy, r->x, r->updates, n_agg, &rctx, r->refused, r->refused_why,
                               verdict, sizeof verdict, err);
    if (g < 0) {
        /* The robust rule's own reason is more telling than the strategy's. */
        if (fedc_combiner_error(r->combiner)[0]) fedc_fail(err, "%s", fedc_combiner_error(r->combiner));
        return -1;
    }
    /* Updates refused by the check count as rejected (their nodes are
     * flagged); a combined one (secure aggregation, central DP) names none. */
    for (int k = 0; k < n_agg; k++) {
        if (!r->refused[k] || r->updates[k].client < 0) continue;
        for (int i = 0; i < n; i++)
            if (r->slots[i].client == r->updates[k].client && r->slots[i].status == 1) {
                r->slots[i].status = -2;
                snprintf(r->slots[i].reason, sizeof r->slots[i].reason, "%s", r->refused_why[k]);
                FEDC_WARN("round %d: update from client %d refused: %s", round, r->updates[k].client,
                          r->refused_why[k]);
            }
        m->participants--;
        m->rejected++;
        train_loss -= r->updates[k].loss;
    }
    if (g == 1) return fedc_fail(err, "round %d: %s", round, verdict);
    m->train_loss = m->participants > 0 ? train_loss / m->participants : NAN;
    report_robust(r, nu, m);
    if (personal_cnt) {
        m->personal_evaluated = 1;
        m->personal_accuracy = personal_sum / personal_cnt;
    }
    cpu_srv += fedc_cpu_thread_s() - c0;
    finish_round(r, tp, accepted_clients(r, n, NULL), m, round, sim_round, cpu_srv, wall0);
    return 0;
}

/* Per-client evaluation: every client's scores on its local test split.
 * A simulator scores both models with each client's own state; without
 * one (a deployment) the server scores the global model itself, and the
 * clients' own models are those the nodes reported, each its latest (a
 * node scores its model when it starts a round). */
static void per_client_evaluation(fedc_run *r, int round, fedc_round_metrics *m) {
    const int K = r->task.clients;
    fedc_error e;
    for (int k = 0; k < K; k++) r->acc_global[k] = NAN;
    if (r->client_eval) {
        for (int k = 0; k < K; k++) r->acc_own[k] = NAN;
        if (r->client_eval(r->client_eval_ctx, r->x, round, r->acc_global, r->acc_own, &e) != 0) {
            FEDC_WARN("round %d: per-client evaluation failed: %s", round, e.msg);
            return;
        }
    } else {
        size_t B = (size_t)(r->opt.eval_batch > 0 ? r->opt.eval_batch : FEDC_EVAL_BATCH), dim = r->trainp->dim;
        float *xb = malloc(B * dim * sizeof *xb);
        int32_t *yb = malloc(B * sizeof *yb);
        for (int k = 0; xb && yb && k < K; k++) {
            fedc_client_data cd = fedc_run_client_data(r, k);
            r->acc_global[k] = fedc_engine_split_accuracy(r->arch, r->eval_ws[0], r->x, &cd, B, xb, yb);
        }
        free(xb);
        free(yb);
    }
    int n = fedc_engine_client_summary(r->acc_global, K, &m->global_client_acc_mean, &m->global_client_acc_p10,
                                       &m->global_client_acc_min);
    if (n > 0) m->clients_evaluated = n;
    if (fedc_engine_client_summary(r->acc_own, K, &m->client_acc_mean, &m->client_acc_p10, &m->client_acc_min) > 0)
        m->client_evaluated = 1;
}

/* 5. Evaluate, account, decide whether to stop (both kinds of round). */
/* Decentralised: each node's own model on the first topology.eval_samples
 * test samples; accuracy and loss become the nodes' means, the average
 * model's accuracy is kept beside them. */
static void evaluate_nodes(fedc_run *r, fedc_round_metrics *m) {
    size_t ntest = r->testp->n;
    if (r->task.topology.eval_samples > 0 && (size_t)r->task.topology.eval_samples < ntest)
        ntest = (size_t)r->task.topology.eval_samples;
    int n = r->task.clients;
    double sum_acc = 0, sum_loss = 0, lo = 1, hi = 0;
    for (int k = 0; k < n; k++) {
        double acc, loss;
        evaluate_on(r, fedc_strategy_node_model(r->strategy, k), r->evalp, ntest, &acc, &loss);
        r->node_acc[k] = acc;
        sum_acc += acc;
        sum_loss += loss;
        if (acc < lo) lo = acc;
        if (acc > hi) hi = acc;
    }
    m->avg_model_accuracy = m->accuracy;
    m->avg_model_loss = m->loss;
    m->accuracy = sum_acc / n;
    m->loss = sum_loss / n;
    m->node_accuracy_min = lo;
    m->node_accuracy_max = hi;
    m->node_accuracy = r->node_acc;
}

/* 5. Evaluate, account, decide whether to stop (every kind of round). */
static void finish_round(fedc_run *r, fedc_transport *tp, int naccepted, fedc_round_metrics *m, int round,
                         double sim_round, double cpu_srv, double wall0) {
    const fedc_task *t = &r->task;
    double c0 = fedc_cpu_thread_s();
    r->rounds_done = round;
    int last = round >= t->rounds;
    if (t->eval_every <= 1 || round % t->eval_every == 0 || last || round == 1) {
        if (r->arch) {
            fedc_run_evaluate(r, &m->accuracy, &m->loss);
            m->evaluated = 1;
            m->val_evaluated = fedc_run_evaluate_validation(r, &m->val_accuracy, &m->val_loss) == 0;
            if (r->attack && strcmp(t->attack.kind, "backdoor") == 0) {
                int batch = r->opt.eval_batch > 0 ? r->opt.eval_batch : FEDC_EVAL_BATCH;
                m->attack_success_rate = fedc_engine_backdoor_success(r->arch, r->eval_ws, batch, r->pool,
                                                                     fedc_combiner_model(r->combiner, r->x), r->testp,
                                                                     t->attack.target);
                m->asr_measured = 1;
            }
            if (r->decentral) evaluate_nodes(r, m);
            r->last_accuracy = m->accuracy;
            if (m->accuracy > r->best_accuracy) r->best_accuracy = m->accuracy;
            if (r->has_holdout) per_client_evaluation(r, round, m);
        }
        if (r->fed_eval) {
            cpu_srv += fedc_cpu_thread_s() - c0;
            federated_evaluation(r, tp, round, naccepted, m);
            c0 = fedc_cpu_thread_s();
            if (m->fed_evaluated && !r->arch) {
                /* The nodes' scores are the only ones: they drive the stopping rule. */
                r->last_accuracy = m->fed_accuracy;
                if (m->fed_accuracy > r->best_accuracy) r->best_accuracy = m->fed_accuracy;
            }
        }
        /* The plateau rule watches the figure a search selects on: the
         * validation split when there is one, so the test set decides
         * nothing; the nodes' federated scores for an external model. */
        if (m->evaluated || m->fed_evaluated) {
            double watched = m->val_evaluated ? m->val_accuracy : m->evaluated ? m->accuracy : m->fed_accuracy;
            if (watched > r->plateau_best + t->stop.plateau_delta) {
                r->plateau_best = watched;
                r->plateau_best_round = round;
            }
            r->plateau_last_round = round;
            if (round < t->rounds && fedc_run_plateaued(r))
                FEDC_INFO("round %d: the %s accuracy has not risen by more than %g since round %d "
                          "(stop.plateau_rounds %d), so the run stops here",
                          round, m->val_evaluated ? "validation" : m->evaluated ? "test" : "federated",
                          t->stop.plateau_delta, r->plateau_best_round, t->stop.plateau_rounds);
        }
    }
    if (fedc_privacy_enabled(r->privacy)) {
        m->dp = 1;
        if (!fedc_privacy_central(r->privacy)) m->dp_clip = t->privacy.clip;
        fedc_privacy_account(r->privacy, round, max_participations(r), &m->epsilon, &m->delta);
        if (round < t->rounds && fedc_privacy_would_exceed(r->privacy, round, max_participations(r)))
            FEDC_INFO("round %d: epsilon %.4g spent (delta %g); another round would exceed the budget %g, so the "
                      "run stops here",
                      round, m->epsilon, m->delta, t->privacy.target_epsilon);
    }
    r->bytes_down_total += m->bytes_down;
    r->bytes_up_total += m->bytes_up;
    m->bytes_down_total = r->bytes_down_total;
    m->bytes_up_total = r->bytes_up_total;
    r->sim_elapsed += sim_round;
    m->sim_time_s = sim_round;
    m->sim_elapsed_s = r->sim_elapsed;
    cpu_srv += fedc_cpu_thread_s() - c0;
    m->server_cpu_s = cpu_srv;
    m->wall_s = fedc_wall_s() - wall0;
    m->elapsed_s = fedc_wall_s() - r->start_wall;
}

/* ---- Asynchronous rounds (fedbuff, fedfix, async-fedavg): a simulated
 * clock, clients_per_round clients training at once. A round (1) starts
 * clients on the free slots with the current model, version rounds_done --
 * they train now, through the same transport, and their updates wait in
 * their slots until the simulated time they would arrive (profile speeds,
 * links and bytes); (2) advances the clock to the async_buffer-th earliest
 * arrival, or by async_window_s; (3) aggregates the arrived updates, each
 * with its staleness (versions made since it started). Arrivals are taken
 * in (time, slot) order and aggregated in slot order, so with every client
 * equally fast and the buffer = clients_per_round a round is exactly a
 * synchronous one. ---- */
static int cmp_arrival(const void *a, const void *b, void *ctx) {
    const slot *sl = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (sl[i].finish != sl[j].finish) return sl[i].finish < sl[j].finish ? -1 : 1;
    return (i > j) - (i < j);
}

/* Insertion sort: slots are few, and it needs no qsort_r. */
static void sort_arrivals(int *idx, int n, const slot *sl) {
    for (int a = 1; a < n; a++) {
        int v = idx[a], b = a - 1;
        while (b >= 0 && cmp_arrival(&idx[b], &v, (void *)sl) > 0) {
            idx[b + 1] = idx[b];
            b--;
        }
        idx[b + 1] = v;
    }
}

static int stale_bucket(int tau) {
    if (tau < 4) return tau < 0 ? 0 : tau;
    if (tau < 8) return 4;
    if (tau < 16) return 5;
    if (tau < 32) return 6;
    return 7;
}

static int run_round_async(fedc_run *r, fedc_transport *tp, fedc_round_metrics *m, fedc_error *err) {
    double wall0 = fedc_wall_s(), c0 = fedc_cpu_thread_s(), cpu_srv = 0;
    int round = r->rounds_done + 1, version = r->rounds_done;
    memset(m, 0, sizeof *m);
    m->round = round;
    m->async = 1;
    const fedc_task *t = &r->task;

    /* 1. Who starts: free slots, filled with available clients not already training. */
    for (int k = 0; k < t->clients; k++) {
        fedc_profile_apply(r->profile, k, round, &r->info[k]);
        if (r->info[k].n_samples == 0) r->info[k].available = 0;
    }
    if (r->client_hook) r->client_hook(r->client_hook_ctx, round, r->info, t->clients);
    int busy = 0, nfree = 0;
    for (int i = 0; i < r->nslots; i++) {
        if (r->slots[i].busy) {
            r->info[r->slots[i].client].available = 0;
            busy++;
        } else {
            r->async_map[nfree++] = i;
        }
    }
    fedc_round_cost cost = {(double)t->local.epochs,
                            t->local.max_steps > 0 ? (double)t->local.max_steps * t->local.batch : 0,
                            r->last_down_pp > 0 ? r->last_down_pp : (double)(r->d * 4),
                            r->last_up_pp > 0 ? r->last_up_pp : (double)(r->d * 4)};
    fedc_rng srng = fedc_rng_derive(t->seed, (uint64_t)round, 0x5C4EDull);
    int n = nfree > 0 ? fedc_sched_select(r->sched, round, r->info, t->clients, nfree, &cost, &srng, r->selected)
                      : 0;
    if (n < 0) return fedc_fail(err, "round %d: the scheduler failed", round);
    if (n == 0 && busy == 0) return fedc_fail(err, "round %d: no client is available to train", round);
    m->selected = n;
    fedc_round_ctx rctx = {round, t->rounds, t->clients, r->info, fedc_task_local_lr(t, round),
                           fedc_task_server_lr(t, round)};
    fedc_strategy_round_begin(r->strategy, &rctx);

    /* 2. TRAIN frames for the starters and the exchange. */
    fedc_buf *frames = malloc(((size_t)n + 1) * sizeof *frames);
    if (!frames) return fedc_fail(err, "out of memory");
    for (int q = 0; q < n; q++) {
        slot *s = &r->slots[r->async_map[q]];
        s->client = r->selected[q];
        s->status = 0;
        s->reason[0] = 0;
        s->bytes_down = s->bytes_up = 0;
    }
    int frc = 0;
    if (n > 0 && !r->down_lossy) {
        frc = encode_train_frame(r, round, r->x, NULL, "full", 0, &r->model_blob, &r->frame, err);
        for (int q = 0; q < n; q++) frames[q] = r->frame;
    } else {
        for (int q = 0; q < n && frc == 0; q++) {
            slot *s = &r->slots[r->async_map[q]];
            const float *base = r->down_ref[s->client] ? r->down_ref[s->client] : r->x0;
            frc = encode_train_frame(r, round, r->x, base, r->down_ref[s->client] ? "delta" : "init", s->client,
                                     &r->model_blob, &s->frame, err);
            if (frc == 0) frc = reconstruct(r, s, err);
            frames[q] = s->frame;
        }
    }
    cpu_srv += fedc_cpu_thread_s() - c0;
    reply_ctx rc = {r, round, r->async_map};
    fedc_exchange ex = {round, n, r->selected, frames, t->deploy.round_timeout_s, on_sent_cb, on_reply,
                        on_drop_cb, &rc};
    if (frc == 0 && n > 0) frc = tp->ops->exchange(tp, &ex, err);
    free(frames);
    if (frc != 0) return -1;
    c0 = fedc_cpu_thread_s();

    /* 3. Starters whose training succeeded wait for their arrival time. */
    double now = r->sim_elapsed;
    for (int q = 0; q < n; q++) {
        slot *s = &r->slots[r->async_map[q]];
        m->bytes_down += s->bytes_down;
        m->bytes_up += s->bytes_up;
        if (s->status == 0) {
            s->status = -1;
            snprintf(s->reason, sizeof s->reason, "no reply");
        }
        if (s->status == 1) {
            s->busy = 1;
            s->version = version;
            s->finish = now + simulated_seconds(r, s->client, s);
            m->client_cpu_s += s->cpu_s;
            m->client_steps += (uint64_t)(s->steps > 0 ? s->steps : 0);
        } else if (s->status == -1) {
            m->dropped++;
        } else {
            m->rejected++;
        }
        r->info[s->client].last_round = round;
        r->info[s->client].times_selected++;
        if (r->down_lossy) commit_down_ref(r, s, round);
    }
    if (n > 0) {
        r->last_down_pp = (double)m->bytes_down / n;
        r->last_up_pp = (double)m->bytes_up / n;
    }

    /* 4. Advance the clock to this aggregation and take the arrivals. */
    int nb = 0;
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].busy) r->async_map[nb++] = i;
    if (nb == 0) return fedc_fail(err, "round %d: no client is training (every starter failed)", round);
    sort_arrivals(r->async_map, nb, r->slots);
    int na;
    double clock;
    if (r->sinfo.async_window_s > 0) {
        clock = now + r->sinfo.async_window_s;
        for (na = 0; na < nb && r->slots[r->async_map[na]].finish <= clock; na++) {
        }
    } else {
        na = r->sinfo.async_buffer < nb ? r->sinfo.async_buffer : nb;
        clock = r->slots[r->async_map[na - 1]].finish;
        if (clock < now) clock = now;
    }
    /* Aggregated in slot order: the synchronous order when all arrive. */
    for (int a = 1; a < na; a++) {
        int v = r->async_map[a], b = a - 1;
        while (b >= 0 && r->async_map[b] > v) {
            r->async_map[b + 1] = r->async_map[b];
            b--;
        }
        r->async_map[b + 1] = v;
    }
    double train_loss = 0, stale_sum = 0;
    for (int a = 0; a < na; a++) {
        slot *s = &r->slots[r->async_map[a]];
        fedc_update *u = &r->updates[a];
        u->client = s->client;
        u->weight = s->weight;
        u->steps = s->steps;
        u->staleness = version - s->version;
        u->loss = s->loss;
        u->delta = s->delta;
        u->extra = r->sinfo.extra_up ? s->extra : NULL;
        r->upd_slot[a] = r->async_map[a];
        s->verdict = FEDC_VERDICT_KEPT;
        s->verdict_why[0] = '\0';
        train_loss += s->loss;
        r->info[s->client].last_loss = s->loss;
        stale_sum += u->staleness;
        if (u->staleness > m->staleness_max) m->staleness_max = u->staleness;
        m->staleness_hist[stale_bucket(u->staleness)]++;
        s->busy = 0;
    }
    m->participants = na;
    m->in_flight = nb - na;
    if (na > 0) {
        m->staleness_mean = stale_sum / na;
        /* The robust aggregator combines the arrivals (after their staleness weights). */
        fedc_combiner_round(r->combiner, round, r->x);
        if (fedc_strategy_aggregate(r->strategy, r->x, r->updates, na, &rctx, err) != 0) {
            for (int a = 0; a < na; a++) r->slots[r->async_map[a]].busy = 1; /* nothing consumed */
            if (fedc_combiner_error(r->combiner)[0]) fedc_fail(err, "%s", fedc_combiner_error(r->combiner));
            return -1;
        }
        m->train_loss = train_loss / na;
        report_robust(r, na, m);
    }
    cpu_srv += fedc_cpu_thread_s() - c0;
    finish_round(r, tp, accepted_clients(r, na, r->async_map), m, round, clock - now, cpu_srv, wall0);
    return 0;
}

/* ---- Asynchronous strategies in a deployment: nodes train continuously.
 * A round (one aggregation, one model version) (1) gives every free slot
 * a node with the current model at once, each TRAIN with its own ticket;
 * (2) takes the updates as they arrive into the buffer, and gives their
 * slots the current model again; (3) once the buffer holds async_buffer
 * updates (fedbuff, async-fedavg), or the window of async_window_s wall
 * seconds closes with at least deploy.min_updates in it (fedfix; an
 * emptier window makes no version and the next one follows), aggregates
 * them -- the first async_buffer in arrival order, or all -- with their
 * staleness, through the strategy as in simulation. Updates that arrived
 * beyond the buffer stay for the next round and are checkpointed. ---- */
#define ASYNC_BUFFER_MAX 4096

static void live_sent(void *ctx, int i, uint64_t b) {
    (void)i;
    ((fedc_run *)ctx)->live_down += b;
}

static void live_drop(void *ctx, int i, const char *why) { on_drop(ctx, i, why); }

/* Runs in the pool for distinct slots: touches only slot i. */
static void live_reply(void *ctx, int i, const uint8_t *frame, size_t len, uint64_t wire) {
    fedc_run *r = ctx;
    slot *s = &r->slots[i];
    s->bytes_up += wire;
    if (s->status != 0) return;
    fedc_error e;
    if (check_update(r, s, r->slot_ticket[i], frame, len, &e) != 0) {
        s->status = -2;
        snprintf(s->reason, sizeof s->reason, "%.255s", e.msg);
        FEDC_WARN("ticket %d: update from client %d refused: %s", r->slot_ticket[i], s->client, e.msg);
        return;
    }
    s->status = 1;
}

static int live_alloc(fedc_run *r, fedc_error *err) {
    if (r->slot_ticket) return 0;
    int n = r->nslots;
    r->slot_ticket = calloc((size_t)n, sizeof *r->slot_ticket);
    r->slot_version = calloc((size_t)n, sizeof *r->slot_version);
    r->live_send = calloc((size_t)n, 1);
    r->live_frames = calloc((size_t)n, sizeof *r->live_frames);
    r->live_clients = calloc((size_t)n, sizeof *r->live_clients);
    if (!r->slot_ticket || !r->slot_version || !r->live_send || !r->live_frames || !r->live_clients)
        return fedc_fail(err, "out of memory for %d asynchronous slots", n);
    if (r->ticket_next < 1) r->ticket_next = 1;
    return 0;
}

/* Room for one more buffered update (entries past abuf_n keep their memory). */
static async_entry *abuf_next(fedc_run *r, fedc_error *err) {
    if (r->abuf_n >= ASYNC_BUFFER_MAX) {
        fedc_fail(err, "the asynchronous buffer holds %d updates, the most it may", ASYNC_BUFFER_MAX);
        return NULL;
    }
    if (r->abuf_n == r->abuf_cap) {
        int cap = r->abuf_cap ? 2 * r->abuf_cap : 8;
        async_entry *a = realloc(r->abuf, (size_t)cap * sizeof *a);
        if (!a) {
            fedc_fail(err, "out of memory for the asynchronous buffer");
            return NULL;
        }
        memset(a + r->abuf_cap, 0, (size_t)(cap - r->abuf_cap) * sizeof *a);
        r->abuf = a;
        r->abuf_cap = cap;
    }
    async_entry *e = &r->abuf[r->abuf_n];
    if (!e->delta) e->delta = malloc(r->d * sizeof(float));
    if (r->sinfo.extra_up && !e->extra) e->extra = malloc(r->sinfo.extra_up * sizeof(float));
    if (!e->delta || (r->sinfo.extra_up && !e->extra)) {
        fedc_fail(err, "out of memory for the asynchronous buffer");
        return NULL;
    }
    return e;
}

static int live_record(fedc_run *r, const fedc_async_update *u, const char *why, fedc_error *err) {
    if (r->live_rec_n == r->live_rec_cap) {
        int cap = r->live_rec_cap ? 2 * r->live_rec_cap : 16;
        fedc_async_update *a = realloc(r->live_rec, (size_t)cap * sizeof *a);
        if (a) r->live_rec = a;
        char(*w)[256] = a ? realloc(r->live_why, (size_t)cap * sizeof *w) : NULL;
        if (!a || !w) return fedc_fail(err, "out of memory recording the asynchronous updates");
        r->live_why = w;
        r->live_rec_cap = cap;
    }
    int k = r->live_rec_n++;
    r->live_rec[k] = *u;
    snprintf(r->live_why[k], sizeof r->live_why[k], "%s", why ? why : "");
    return 0;
}

/* Slots whose node answered or was dropped: updates into the buffer, the
 * others recorded; the slot is free again. */
static int live_take(fedc_run *r, int round, fedc_round_metrics *m, fedc_error *err) {
    for (int i = 0; i < r->nslots; i++) {
        slot *s = &r->slots[i];
        if (!r->slot_ticket[i] || s->status == 0) continue;
        m->bytes_up += s->bytes_up;
        if (s->status == 1) {
            async_entry *e = abuf_next(r, err);
            if (!e) return -1;
            e->client = s->client;
            e->ticket = r->slot_ticket[i];
            e->version = r->slot_version[i];
            e->steps = s->steps;
            e->weight = s->weight;
            e->loss = s->loss;
            e->cpu_s = s->cpu_s;
            e->bytes_up = s->bytes_up;
            memcpy(e->delta, s->delta, r->d * sizeof(float));
            if (r->sinfo.extra_up) memcpy(e->extra, s->extra, r->sinfo.extra_up * sizeof(float));
            r->abuf_n++;
            r->info[s->client].last_loss = s->loss;
            if (r->has_holdout && !r->client_eval && s->client_acc >= 0) r->acc_own[s->client] = s->client_acc;
        } else {
            fedc_async_update u = {.client = s->client, .ticket = r->slot_ticket[i], .status = s->status,
                                   .version = r->slot_version[i], .bytes_up = s->bytes_up};
            if (live_record(r, &u, s->reason, err) != 0) return -1;
            if (s->status == -1) m->dropped++;
            else m->rejected++;
        }
        if (r->down_lossy) commit_down_ref(r, s, round);
        r->slot_ticket[i] = 0;
    }
    return 0;
}

/* Gives every free slot an available node (not already training) with the
 * current model, version `version`. */
static int live_start(fedc_run *r, fedc_transport *tp, int round, int version, fedc_round_metrics *m,
                      fedc_error *err) {
    const fedc_task *t = &r->task;
    for (int k = 0; k < t->clients; k++) {
        fedc_profile_apply(r->profile, k, round, &r->info[k]);
        if (r->info[k].n_samples == 0) r->info[k].available = 0;
    }
    if (r->client_hook) r->client_hook(r->client_hook_ctx, round, r->info, t->clients);
    int nfree = 0;
    for (int i = 0; i < r->nslots; i++) {
        if (r->slot_ticket[i]) r->info[r->slots[i].client].available = 0;
        else r->async_map[nfree++] = i;
    }
    if (nfree == 0) return 0;
    fedc_round_cost cost = {(double)t->local.epochs,
                            t->local.max_steps > 0 ? (double)t->local.max_steps * t->local.batch : 0,
                            r->last_down_pp > 0 ? r->last_down_pp : (double)(r->d * 4),
                            r->last_up_pp > 0 ? r->last_up_pp : (double)(r->d * 4)};
    fedc_rng srng = fedc_rng_derive(t->seed, (uint64_t)r->ticket_next, 0x5C4EDull);
    int n = fedc_sched_select(r->sched, round, r->info, t->clients, nfree, &cost, &srng, r->selected);
    if (n < 0) return fedc_fail(err, "round %d: the scheduler failed", round);
    if (n == 0) return 0;
    /* An exact downlink encodes the model once per version. */
    if (!r->down_lossy && r->live_blob_round != round) {
        fedc_rng drng = fedc_rng_derive(t->seed, (uint64_t)round, 0xD0D0ull);
        fedc_buf_clear(&r->model_blob);
        if (fedc_codec_encode(r->down, r->x, r->d, NULL, &drng, &r->model_blob, err) != 0) return -1;
        r->live_blob_round = round;
    }
    for (int q = 0; q < n; q++) {
        int i = r->async_map[q];
        slot *s = &r->slots[i];
        s->client = r->selected[q];
        s->status = 0;
        s->reason[0] = 0;
        s->bytes_down = s->bytes_up = 0;
        int ticket = r->ticket_next;
        int rc;
        if (!r->down_lossy) {
            rc = frame_from_blob(r, ticket, "full", &r->model_blob, &s->frame, err);
        } else {
            const float *base = r->down_ref[s->client] ? r->down_ref[s->client] : r->external ? NULL : r->x0;
            rc = encode_train_frame(r, ticket, r->x, base,
                                    r->down_ref[s->client] ? "delta" : r->external ? "full" : "init", s->client,
                                    &r->model_blob, &s->frame, err);
            if (rc == 0) rc = reconstruct(r, s, err);
            r->live_blob_round = 0;
        }
        if (rc != 0) return -1;
        r->ticket_next++;
        r->slot_ticket[i] = ticket;
        r->slot_version[i] = version;
        r->info[s->client].last_round = round;
        r->info[s->client].times_selected++;
        memset(r->live_send, 0, (size_t)r->nslots);
        r->live_send[i] = 1;
        r->live_frames[i] = s->frame;
        r->live_clients[i] = s->client;
        fedc_exchange ex = {ticket, r->nslots, r->live_clients, r->live_frames, t->deploy.round_timeout_s,
                            live_sent, live_reply, live_drop, r};
        if (tp->ops->post(tp, &ex, r->live_send, err) != 0) return -1;
        m->selected++;
        r->last_down_pp = (double)s->frame.len;
    }
    return 0;
}

static int live_round_async(fedc_run *r, fedc_transport *tp, fedc_round_metrics *m, fedc_error *err) {
    double wall0 = fedc_wall_s(), c0 = fedc_cpu_thread_s();
    int round = r->rounds_done + 1, version = r->rounds_done;
    memset(m, 0, sizeof *m);
    m->round = round;
    m->async = 1;
    r->live_rec_n = 0;
    const fedc_task *t = &r->task;
    if (r->need_init) return fedc_fail(err, "round %d: the external model has no initial parameters yet", round);
    if (r->proto) return fedc_fail(err, "round %d: a round protocol cannot run asynchronously", round);
    if (live_alloc(r, err) != 0) return -1;
    fedc_round_ctx rctx = {round, t->rounds, t->clients, r->info, fedc_task_local_lr(t, round),
                           fedc_task_server_lr(t, round)};
    fedc_strategy_round_begin(r->strategy, &rctx);
    double window = r->sinfo.async_window_s, window_end = wall0 + window;
    int K = window > 0 ? 0 : r->sinfo.async_buffer;
    int min_updates = t->deploy.min_updates > 0 ? t->deploy.min_updates : 1;
    for (;;) {
        if (live_take(r, round, m, err) != 0) return -1;
        double now = fedc_wall_s();
        if (K > 0 ? r->abuf_n >= K : now >= window_end && r->abuf_n >= min_updates) break;
        /* A window that closed with too few updates makes no version. */
        while (K == 0 && now >= window_end) window_end += window;
        if (live_start(r, tp, round, version, m, err) != 0) return -1;
        int busy = 0;
        for (int i = 0; i < r->nslots; i++) busy += r->slot_ticket[i] != 0;
        if (!busy)
            return fedc_fail(err, "round %d: no client is available to train (%d updates wait in the buffer)", round,
                             r->abuf_n);
        /* Every second at least: a node that became ready gets a free slot. */
        double until = now + 1.0;
        if (K == 0 && window_end < until) until = window_end;
        if (tp->ops->collect(tp, until, err) < 0) return -1;
    }
    int take = K > 0 ? K : r->abuf_n;
    fedc_update *u = realloc(r->live_upd, (size_t)take * sizeof *u);
    if (!u) return fedc_fail(err, "round %d: out of memory aggregating %d updates", round, take);
    r->live_upd = u;
    double train_loss = 0, stale_sum = 0;
    for (int a = 0; a < take; a++) {
        const async_entry *e = &r->abuf[a];
        u[a] = (fedc_update){.client = e->client, .weight = e->weight, .steps = e->steps,
                             .staleness = version - e->version, .loss = e->loss, .delta = e->delta,
                             .extra = r->sinfo.extra_up ? e->extra : NULL};
    }
    /* The robust aggregator combines the arrivals (after their staleness weights). */
    fedc_combiner_round(r->combiner, round, r->x);
    if (fedc_strategy_aggregate(r->strategy, r->x, u, take, &rctx, err) != 0) {
        if (fedc_combiner_error(r->combiner)[0]) fedc_fail(err, "%s", fedc_combiner_error(r->combiner));
        return -1; /* the buffer is kept for the next attempt */
    }
    for (int a = 0; a < take; a++) {
        const async_entry *e = &r->abuf[a];
        int tau = version - e->version;
        fedc_async_update rec = {.client = e->client, .ticket = e->ticket, .status = 1, .version = e->version,
                                 .staleness = tau, .stale_weight = fedc_async_staleness_weight(t, tau),
                                 .n_samples = e->weight, .loss = e->loss, .cpu_s = e->cpu_s,
                                 .bytes_up = e->bytes_up};
        if (live_record(r, &rec, "", err) != 0) return -1;
        train_loss += e->loss;
        stale_sum += tau;
        if (tau > m->staleness_max) m->staleness_max = tau;
        m->staleness_hist[stale_bucket(tau)]++;
        m->client_cpu_s += e->cpu_s;
        m->client_steps += (uint64_t)(e->steps > 0 ? e->steps : 0);
    }
    /* The taken entries move behind the rest, keeping their memory. */
    async_entry *used = malloc((size_t)take * sizeof *used);
    if (!used) return fedc_fail(err, "round %d: out of memory", round);
    memcpy(used, r->abuf, (size_t)take * sizeof *used);
    memmove(r->abuf, r->abuf + take, (size_t)(r->abuf_n - take) * sizeof *r->abuf);
    memcpy(r->abuf + (r->abuf_n - take), used, (size_t)take * sizeof *used);
    free(used);
    r->abuf_n -= take;
    m->participants = take;
    m->train_loss = train_loss / take;
    m->staleness_mean = stale_sum / take;
    for (int i = 0; i < r->nslots; i++) m->in_flight += r->slot_ticket[i] != 0;
    m->bytes_down = r->live_down;
    r->live_down = 0;
    if (m->bytes_up > 0 && take > 0) r->last_up_pp = (double)m->bytes_up / take;
    double cpu_srv = fedc_cpu_thread_s() - c0;
    finish_round(r, tp, 0, m, round, 0, cpu_srv, wall0);
    int *bt = realloc(r->buf_tickets, ((size_t)r->abuf_n + 1) * sizeof *bt);
    if (bt) r->buf_tickets = bt;
    int *bc = bt ? realloc(r->buf_clients, ((size_t)r->abuf_n + 1) * sizeof *bc) : NULL;
    if (bc) r->buf_clients = bc;
    for (int a = 0; bt && bc && a < r->abuf_n; a++) {
        bt[a] = r->abuf[a].ticket;
        bc[a] = r->abuf[a].client;
    }
    /* The last version: the nodes still training are not waited for. */
    if (fedc_run_done(r) && tp->ops->close_posted) tp->ops->close_posted(tp);
    return 0;
}

int fedc_run_async_updates(const fedc_run *r, const fedc_async_update **out) {
    *out = r->live_rec;
    for (int k = 0; k < r->live_rec_n; k++) r->live_rec[k].reason = r->live_why[k];
    return r->live_rec_n;
}

int fedc_run_async_buffered(const fedc_run *r, const int **tickets, const int **clients) {
    *tickets = r->buf_tickets;
    *clients = r->buf_clients;
    return r->buf_tickets ? r->abuf_n : 0;
}

/* ---- The buffer in a checkpoint (checkpoint.c): u32 next ticket | u32 n |
 * per update: u32 client, ticket, version, steps | f64 weight, loss, cpu_s
 * | u64 bytes_up | d f32 delta | u32 extra count | that many f32. ---- */
int fedc_run_async_save(const fedc_run *r, fedc_buf *b) {
    int rc = fedc_buf_put_u32(b, (uint32_t)(r->ticket_next > 0 ? r->ticket_next : 1));
    rc |= fedc_buf_put_u32(b, (uint32_t)r->abuf_n);
    for (int a = 0; rc == 0 && a < r->abuf_n; a++) {
        const async_entry *e = &r->abuf[a];
        rc |= fedc_buf_put_u32(b, (uint32_t)e->client);
        rc |= fedc_buf_put_u32(b, (uint32_t)e->ticket);
        rc |= fedc_buf_put_u32(b, (uint32_t)e->version);
        rc |= fedc_buf_put_u32(b, (uint32_t)e->steps);
        rc |= fedc_buf_put_f64(b, e->weight);
        rc |= fedc_buf_put_f64(b, e->loss);
        rc |= fedc_buf_put_f64(b, e->cpu_s);
        rc |= fedc_buf_put_u64(b, e->bytes_up);
        for (size_t j = 0; rc == 0 && j < r->d; j++) rc |= fedc_buf_put_f32(b, e->delta[j]);
        rc |= fedc_buf_put_u32(b, (uint32_t)r->sinfo.extra_up);
        for (size_t j = 0; rc == 0 && j < r->sinfo.extra_up; j++) rc |= fedc_buf_put_f32(b, e->extra[j]);
    }
    return rc ? -1 : 0;
}

void fedc_async_snapshot_free(fedc_async_snapshot *s) {
    if (!s) return;
    for (int a = 0; a < s->n; a++) {
        free(s->e[a].delta);
        free(s->e[a].extra);
    }
    free(s->e);
    free(s);
}

int fedc_run_async_parse(const fedc_run *r, const uint8_t *p, size_t len, int rounds_done, fedc_async_snapshot **out,
                         fedc_error *err) {
    *out = NULL;
    fedc_reader rd = fedc_reader_make(p, len);
    uint32_t next, n;
    if (fedc_read_u32(&rd, &next) || fedc_read_u32(&rd, &n))
        return fedc_fail(err, "asynchronous buffer: truncated header");
    if (next < 1 || next > 0x7FFFFFFFu) return fedc_fail(err, "asynchronous buffer: next ticket %u out of range", next);
    size_t each = 16 + 24 + 8 + r->d * 4 + 4 + r->sinfo.extra_up * 4;
    if (n > ASYNC_BUFFER_MAX || (size_t)n * each != fedc_reader_left(&rd))
        return fedc_fail(err, "asynchronous buffer: %u updates do not fit its %zu bytes", n, fedc_reader_left(&rd));
    fedc_async_snapshot *s = calloc(1, sizeof *s);
    if (!s || !(s->e = calloc((size_t)n + 1, sizeof *s->e))) {
        free(s);
        return fedc_fail(err, "out of memory reading the asynchronous buffer");
    }
    s->ticket_next = (int)next;
    for (uint32_t a = 0; a < n; a++) {
        async_entry *e = &s->e[a];
        s->n = (int)a + 1;
        uint32_t client, ticket, version, steps, nextra;
        fedc_read_u32(&rd, &client);
        fedc_read_u32(&rd, &ticket);
        fedc_read_u32(&rd, &version);
        fedc_read_u32(&rd, &steps);
        fedc_read_f64(&rd, &e->weight);
        fedc_read_f64(&rd, &e->loss);
        fedc_read_f64(&rd, &e->cpu_s);
        fedc_read_u64(&rd, &e->bytes_up);
        if ((int)client >= r->task.clients || client > 0x7FFFFFFFu || ticket < 1 || ticket >= next ||
            version > (uint32_t)rounds_done || steps > 100000000u || !(e->weight >= 0) || !isfinite(e->weight) ||
            !isfinite(e->loss) || !isfinite(e->cpu_s)) {
            fedc_async_snapshot_free(s);
            return fedc_fail(err, "asynchronous buffer: update %u (client %u, ticket %u, version %u) is out of range",
                             a, client, ticket, version);
        }
        e->client = (int)client;
        e->ticket = (int)ticket;
        e->version = (int)version;
        e->steps = (int)steps;
        e->delta = malloc(r->d * sizeof(float) + 1);
        e->extra = r->sinfo.extra_up ? malloc(r->sinfo.extra_up * sizeof(float)) : NULL;
        if (!e->delta || (r->sinfo.extra_up && !e->extra)) {
            fedc_async_snapshot_free(s);
            return fedc_fail(err, "out of memory reading the asynchronous buffer");
        }
        for (size_t j = 0; j < r->d; j++) fedc_read_f32(&rd, &e->delta[j]);
        fedc_read_u32(&rd, &nextra);
        if (nextra != r->sinfo.extra_up) {
            fedc_async_snapshot_free(s);
            return fedc_fail(err, "asynchronous buffer: update %u carries %u strategy floats; expected %zu", a, nextra,
                             r->sinfo.extra_up);
        }
        for (size_t j = 0; j < r->sinfo.extra_up; j++) fedc_read_f32(&rd, &e->extra[j]);
        if (fedc_first_nonfinite(e->delta, r->d) < r->d ||
            (r->sinfo.extra_up && fedc_first_nonfinite(e->extra, r->sinfo.extra_up) < r->sinfo.extra_up)) {
            fedc_async_snapshot_free(s);
            return fedc_fail(err, "asynchronous buffer: update %u holds a value that is not finite", a);
        }
    }
    *out = s;
    return 0;
}

void fedc_run_async_adopt(fedc_run *r, fedc_async_snapshot *s) {
    for (int i = 0; i < r->abuf_cap; i++) {
        free(r->abuf[i].delta);
        free(r->abuf[i].extra);
    }
    free(r->abuf);
    r->abuf = s->e;
    r->abuf_n = r->abuf_cap = s->n;
    r->ticket_next = s->ticket_next;
    if (r->slot_ticket) memset(r->slot_ticket, 0, (size_t)r->nslots * sizeof *r->slot_ticket);
    free(s);
}

/* ---- Decentralised rounds (dpsgd, gossip, gossip-vc, dfedsam,
 * dfedsam-mgs): (1) every available node trains from its own model,
 * through the same transport and trainer as a synchronous round (each gets
 * a TRAIN frame of its model); (2) the strategy gossips the trained models
 * over its topology; (3) x becomes the nodes' average, and the consensus
 * distance and the bytes the nodes sent one another are recorded. A node
 * that drops or is refused offers its model unchanged. ---- */
/* x <- the nodes' average model; the consensus distance, how far they are from it. */
static int node_average(fedc_run *r, fedc_round_metrics *m, fedc_error *err) {
    int nodes = r->task.clients;
    double *mean = calloc(r->d, sizeof *mean);
    if (!mean) return fedc_fail(err, "round %d: out of memory", m->round);
    for (int k = 0; k < nodes; k++) {
        const float *xk = fedc_strategy_node_model(r->strategy, k);
        for (size_t j = 0; j < r->d; j++) mean[j] += xk[j];
    }
    for (size_t j = 0; j < r->d; j++) r->x[j] = (float)(mean[j] / nodes);
    double cd = 0;
    for (int k = 0; k < nodes; k++) {
        const float *xk = fedc_strategy_node_model(r->strategy, k);
        for (size_t j = 0; j < r->d; j++) cd += ((double)xk[j] - r->x[j]) * ((double)xk[j] - r->x[j]);
    }
    free(mean);
    m->consensus_distance = cd / nodes;
    return 0;
}

/* ---- Event-driven decentralised rounds (dadao): no local training; the
 * strategy plays the round's gradient and communication events and asks
 * for node gradients as they come, each one exchange with that node (a
 * TRAIN of the point, answered with the gradient of its mean loss, where
 * its data lives). The models the nodes send one another at communication
 * events are what the round's bytes count; the gradient exchanges stand for
 * the node's own computation and are not counted, as local training is
 * not in the other decentralised rounds. ---- */
typedef struct event_ctx {
    fedc_run *r;
    fedc_transport *tp;
    int round, grads;
    double loss, cpu;
    size_t msg_bytes; /* one model frame */
} event_ctx;

static int event_node_grad(void *vctx, int node, const float *x, float *g, fedc_error *err) {
    event_ctx *c = vctx;
    fedc_run *r = c->r;
    slot *s = &r->slots[0];
    s->client = node;
    s->status = 0;
    s->reason[0] = 0;
    s->bytes_down = s->bytes_up = 0;
    if (encode_train_frame(r, c->round, x, NULL, "full", node, &r->model_blob, &s->frame, err) != 0) return -1;
    c->msg_bytes = s->frame.len;
    reply_ctx rc = {r, c->round, NULL};
    fedc_exchange ex = {c->round, 1, &s->client, &s->frame, r->task.deploy.round_timeout_s, on_sent_cb, on_reply,
                        on_drop_cb, &rc};
    if (c->tp->ops->exchange(c->tp, &ex, err) != 0) return -1;
    if (s->status != 1)
        return fedc_fail(err, "round %d: node %d gave no gradient: %s", c->round, node,
                         s->reason[0] ? s->reason : "no reply");
    memcpy(g, s->delta, r->d * sizeof(float));
    c->grads++;
    c->loss += s->loss;
    c->cpu += s->cpu_s;
    return 0;
}

/* 1/2 max over nodes of the mean |(a, 1)|^2 of their samples: the
 * smoothness of softmax regression's mean loss on them. */
static int data_smoothness(fedc_run *r, double *out, fedc_error *err) {
    double worst = 0;
    float *a = malloc((r->trainp->dim ? r->trainp->dim : 1) * sizeof *a);
    if (!a) return fedc_fail(err, "out of memory for one sample's features");
    for (int k = 0; k < r->task.clients; k++) {
        fedc_client_data cd = fedc_run_client_data(r, k);
        if (!cd.n) continue;
        double sum = 0;
        for (size_t i = 0; i < cd.n; i++) {
            fedc_dataset_gather(cd.data, cd.index + i, 1, a, NULL);
            double sq = 1;
            for (size_t j = 0; j < cd.data->dim; j++) sq += (double)a[j] * a[j];
            sum += sq;
        }
        if (sum / cd.n > worst) worst = sum / cd.n;
    }
    free(a);
    *out = worst / 2;
    return 0;
}

/* ---- DADAO across real nodes (dadao_relay.h): each node keeps its own
 * vectors and plays its own gradient events; the server draws the round's
 * events (the simulation's draws) and routes what a communication
 * exchanges, each node's y and z. A node's events are cut at its
 * communications; those go in waves of disjoint pairs (fedc_gossip_waves),
 * a wave being one exchange in which each node of a communication plays
 * up to it and reports its y and z; the next wave brings it its peer's.
 * A last exchange takes every node to the round's end and brings back its
 * x. ---- */
typedef struct dadao_relay_ctx {
    fedc_run *r;
    int round, step;
    const int *ids;          /* slot -> node */
    const signed char *last; /* slot: 1 = the round's last step (x comes back) */
    float *yz, *x;           /* by node: 2 d (y, z) and d (x) */
    int *grads;              /* by node */
    double cpu_s;            /* the nodes' CPU time in the steps */
    uint64_t *down, *up;     /* by node */
    signed char *ok;
    char (*why)[160];
} dadao_relay_ctx;

static void dadao_relay_sent(void *ctx, int i, uint64_t b) {
    dadao_relay_ctx *c = ctx;
    c->down[c->ids[i]] += b;
}

static void dadao_relay_reply(void *ctx, int i, const uint8_t *frame, size_t len, uint64_t b) {
    dadao_relay_ctx *c = ctx;
    int k = c->ids[i], g = 0;
    double cpu = 0;
    size_t d = c->r->d;
    c->up[k] += b;
    if (c->ok[i] != 0) return;
    fedc_error e;
    float *out = c->last[i] ? c->x + (size_t)k * d : c->yz + (size_t)k * 2 * d;
    if (fedc_dadao_reply_decode(frame, len, c->round, c->step, c->last[i] ? d : 2 * d, out, &g, &cpu, &e) != 0) {
        c->ok[i] = -1;
        snprintf(c->why[i], sizeof c->why[i], "%.159s", e.msg);
        return;
    }
    c->grads[k] += g;
    c->cpu_s += cpu;
    c->ok[i] = 1;
}

static void dadao_relay_drop(void *ctx, int i, const char *why) {
    dadao_relay_ctx *c = ctx;
    if (c->ok[i] != 0) return;
    c->ok[i] = -1;
    snprintf(c->why[i], sizeof c->why[i], "%.159s", why);
}

static int relay_dadao(fedc_run *r, fedc_transport *tp, int round, fedc_round_metrics *m, int *grads_total,
                       double *cpu_total, fedc_error *err) {
    int n = r->task.clients, rc = -1, count, nc = 0;
    size_t d = r->d;
    dadao_consts k;
    double mu;
    dadao_event *ev = NULL;
    if ((count = dadao_round_plan(r->strategy, round, r->data_smoothness, &k, &mu, &ev, err)) < 0) return -1;
    int *from = malloc(((size_t)count + 1) * sizeof *from), *to = malloc(((size_t)count + 1) * sizeof *to);
    int *cev = malloc(((size_t)count + 1) * sizeof *cev), *wave = malloc(((size_t)count + 1) * sizeof *wave);
    int *lastw = malloc((size_t)n * sizeof *lastw), *cursor = calloc((size_t)n, sizeof *cursor);
    int *ids = malloc((size_t)n * sizeof *ids), *peer = malloc((size_t)n * sizeof *peer);
    int *grads = calloc((size_t)n, sizeof *grads), *upto = malloc((size_t)n * sizeof *upto);
    signed char *last = calloc((size_t)n, 1), *ok = calloc((size_t)n, 1), *started = calloc((size_t)n, 1);
    char(*why)[160] = calloc((size_t)n, sizeof *why);
    double *at = calloc((size_t)n, sizeof *at);
    float *yz = malloc((size_t)n * 2 * d * sizeof(float)), *pend = malloc((size_t)n * 2 * d * sizeof(float));
    float *xs = malloc((size_t)n * d * sizeof(float));
    uint64_t *down = calloc((size_t)n, sizeof *down), *up = calloc((size_t)n, sizeof *up);
    fedc_buf *frames = calloc((size_t)n, sizeof *frames);
    fedc_dadao_step *st = malloc(sizeof *st);
    if (!from || !to || !cev || !wave || !lastw || !cursor || !ids || !peer || !grads || !upto || !last || !ok || !started || !why || !at ||
        !yz || !pend || !xs || !down || !up || !frames || !st) {
        fedc_fail(err, "round %d: out of memory for the dadao relay", round);
        goto out;
    }
    for (int q = 0; q < count; q++)
        if (ev[q].j >= 0) {
            from[nc] = ev[q].i;
            to[nc] = ev[q].j;
            cev[nc++] = q;
        }
    int waves = fedc_gossip_waves(from, to, nc, n, lastw, wave);
    for (int a = 0; a < n; a++) peer[a] = -1;
    /* Wave w <= waves: the communications of wave w; wave waves + 1: every
     * node to the round's end. */
    for (int w = 1; w <= waves + 1; w++) {
        int ns = 0;
        if (w <= waves) {
            for (int c = 0; c < nc; c++)
                if (wave[c] == w) {
                    ids[ns] = from[c], upto[ns] = cev[c], last[ns++] = 0;
                    ids[ns] = to[c], upto[ns] = cev[c], last[ns++] = 0;
                }
        } else {
            for (int a = 0; a < n; a++) ids[ns] = a, upto[ns] = count, last[ns++] = 1;
        }
        /* Each node's frame: its gradient events from its cursor up to the
         * step's communication (a node's communications come in waves in
         * their time order, so that is its next one), or to the round's
         * end; its pending peer's y and z. */
        for (int i = 0; i < ns; i++) {
            int a = ids[i];
            memset(st, 0, sizeof *st);
            st->round = round;
            st->step = w;
            st->first = !started[a];
            st->send_x = last[i];
            st->from = at[a];
            st->until = last[i] ? 1.0 : ev[upto[i]].t;
            st->mu = mu;
            st->k = k;
            for (int q = cursor[a]; q < upto[i]; q++) {
                if (ev[q].i != a || ev[q].j >= 0) continue;
                if (st->n_grads == FEDC_DADAO_MAX_GRADS) {
                    fedc_fail(err, "round %d: node %d has over %d gradient events between two communications",
                              round, a, FEDC_DADAO_MAX_GRADS);
                    goto out;
                }
                st->grads[st->n_grads++] = ev[q].t;
            }
            st->init = st->first && round == 1 ? fedc_strategy_node_model(r->strategy, a) : NULL;
            st->peer = peer[a] >= 0 ? pend + (size_t)a * 2 * d : NULL;
            if (fedc_dadao_step_encode(st, d, &frames[i], err) != 0) {
                fedc_fail_prefix(err, "round %d, dadao step %d: ", round, w);
                goto out;
            }
            cursor[a] = last[i] ? count : upto[i] + 1;
            at[a] = st->until;
            started[a] = 1;
            peer[a] = -1;
        }
        memset(ok, 0, (size_t)ns);
        dadao_relay_ctx c = {r, round, w, ids, last, yz, xs, grads, 0, down, up, ok, why};
        fedc_exchange ex = {round, ns, ids, frames, r->task.deploy.round_timeout_s, dadao_relay_sent,
                            dadao_relay_reply, dadao_relay_drop, &c};
        if (ns > 0 && tp->ops->exchange(tp, &ex, err) != 0) goto out;
        *cpu_total += c.cpu_s;
        for (int i = 0; i < ns; i++)
            if (ok[i] != 1) {
                fedc_fail(err, "round %d: node %d left dadao step %d of %d: %s", round, ids[i], w, waves + 1,
                          ok[i] ? why[i] : "no answer");
                goto out;
            }
        /* The wave's pairs each take the other's y and z for their next step. */
        for (int cc = 0; cc < nc && w <= waves; cc++) {
            if (wave[cc] != w) continue;
            int i = from[cc], j = to[cc];
            memcpy(pend + (size_t)i * 2 * d, yz + (size_t)j * 2 * d, 2 * d * sizeof(float));
            memcpy(pend + (size_t)j * 2 * d, yz + (size_t)i * 2 * d, 2 * d * sizeof(float));
            peer[i] = j;
            peer[j] = i;
        }
    }
    for (int a = 0; a < n; a++) {
        memcpy(fedc_strategy_node_model(r->strategy, a), xs + (size_t)a * d, d * sizeof(float));
        m->bytes_down += down[a];
        m->bytes_up += up[a];
        *grads_total += grads[a];
    }
    rc = 0;
out:
    if (frames)
        for (int i = 0; i < n; i++) fedc_buf_free(&frames[i]);
    free(frames);
    free(st);
    free(ev);
    free(from);
    free(to);
    free(cev);
    free(wave);
    free(lastw);
    free(cursor);
    free(ids);
    free(peer);
    free(grads);
    free(upto);
    free(last);
    free(started);
    free(ok);
    free(why);
    free(at);
    free(yz);
    free(pend);
    free(xs);
    free(down);
    free(up);
    return rc;
}

static int run_round_events(fedc_run *r, fedc_transport *tp, fedc_round_metrics *m, fedc_error *err) {
    double wall0 = fedc_wall_s(), c0 = fedc_cpu_thread_s();
    int round = r->rounds_done + 1, nodes = r->task.clients;
    memset(m, 0, sizeof *m);
    m->round = round;
    m->decentral = 1;
    m->n_nodes = nodes;
    m->selected = nodes;
    fedc_round_ctx rctx = {round, r->task.rounds, nodes, r->info, fedc_task_local_lr(&r->task, round),
                           fedc_task_server_lr(&r->task, round)};
    event_ctx ec = {r, tp, round, 0, 0, 0, 0};
    if (r->rounds_done == 0 || !r->smoothness_known) {
        if (data_smoothness(r, &r->data_smoothness, err) != 0) return -1;
        r->smoothness_known = 1;
    }
    if (r->gossip_relay) {
        /* Across real nodes: they play their own events; every frame's
         * bytes are counted where it crosses the transport; their steps
         * report their gradient events and CPU time. A gradient takes no
         * training step, so it has no training loss to add, as in the
         * simulation's gradient exchanges. */
        if (relay_dadao(r, tp, round, m, &ec.grads, &ec.cpu, err) != 0) return -1;
    } else {
        fedc_strategy_set_node_grad(r->strategy, event_node_grad, &ec, r->data_smoothness);
        int rc = fedc_strategy_gossip(r->strategy, r->node_delta, &rctx, r->gossip_sent, err);
        fedc_strategy_set_node_grad(r->strategy, NULL, NULL, r->data_smoothness);
        if (rc != 0) return -1;
        for (int k = 0; k < nodes; k++) m->bytes_up += (uint64_t)r->gossip_sent[k] * ec.msg_bytes;
        m->bytes_down = m->bytes_up;
    }
    m->bytes_per_node = (double)m->bytes_up / nodes;
    m->participants = nodes;
    m->client_cpu_s = ec.cpu;
    m->train_loss = ec.grads ? ec.loss / ec.grads : NAN;
    if (node_average(r, m, err) != 0) return -1;
    finish_round(r, tp, 0, m, round, 0, fedc_cpu_thread_s() - c0 - ec.cpu, wall0); /* no federated evaluation */
    return 0;
}

/* ---- The gossip relay (deploy.h, gossip_relay.c): each gossip step is
 * an exchange of STEP frames, node i's carrying what the members of its
 * row of the mixing matrix sent last (their models, and in the first step
 * their updates); each node answers with its mix, which the next step
 * forwards. Pairwise gossip goes the same way in waves of disjoint pushes.
 * The engine only routes and, after the last step, records the models the
 * nodes sent as the strategy's node models. ---- */
typedef struct relay_ctx {
    fedc_run *r;
    int round, step;
    const int *ids;    /* slot -> node */
    float *next;       /* n x d: the models the nodes answer, by node */
    uint64_t *down, *up; /* by node */
    signed char *ok;   /* by slot: 1 answered, -1 dropped or refused */
    char (*why)[160];  /* by slot */
} relay_ctx;

static void relay_sent(void *ctx, int i, uint64_t b) {
    relay_ctx *c = ctx;
    c->down[c->ids[i]] += b;
}

static void relay_reply(void *ctx, int i, const uint8_t *frame, size_t len, uint64_t b) {
    relay_ctx *c = ctx;
    c->up[c->ids[i]] += b;
    if (c->ok[i] != 0) return;
    fedc_error e;
    if (fedc_relay_reply_decode(frame, len, c->round, c->step, c->r->d, c->next + (size_t)c->ids[i] * c->r->d, &e) !=
        0) {
        c->ok[i] = -1;
        snprintf(c->why[i], sizeof c->why[i], "%.159s", e.msg);
        return;
    }
    c->ok[i] = 1;
}

static void relay_drop(void *ctx, int i, const char *why) {
    relay_ctx *c = ctx;
    if (c->ok[i] != 0) return;
    c->ok[i] = -1;
    snprintf(c->why[i], sizeof c->why[i], "%.159s", why);
}

/* One relayed exchange: frames[i] to node ids[i], whose answer lands in
 * next (by node); every node must answer. */
static int relay_exchange(fedc_run *r, fedc_transport *tp, int round, int step, int steps, int n, const int *ids,
                          const fedc_buf *frames, float *next, uint64_t *down, uint64_t *up, signed char *ok,
                          char (*why)[160], fedc_error *err) {
    memset(ok, 0, (size_t)n);
    relay_ctx c = {r, round, step, ids, next, down, up, ok, why};
    fedc_exchange ex = {round, n, ids, frames, r->task.deploy.round_timeout_s, relay_sent, relay_reply, relay_drop, &c};
    if (tp->ops->exchange(tp, &ex, err) != 0) return -1;
    for (int i = 0; i < n; i++)
        if (ok[i] != 1)
            return fedc_fail(err, "round %d: node %d left gossip step %d of %d: %s", round, ids[i], step, steps,
                             ok[i] ? why[i] : "no answer");
    return 0;
}

/* Pairwise gossip: the round's pushes (the strategy's own draws) in waves
 * of pushes between disjoint pairs. cur holds each node's last model; a
 * node's update rides along with its model until a node has applied it
 * (its first push, as receiver or sender; a node in no push applies it
 * alone in the first wave). */
static int relay_pairwise(fedc_run *r, fedc_transport *tp, int round, float *cur, float *next, uint64_t *down,
                          uint64_t *up, signed char *ok, char (*why)[160], int *ids, fedc_buf *frames,
                          fedc_error *err) {
    int n = r->task.clients, corrected, rc = -1;
    size_t d = r->d;
    fedc_param_layout lay;
    int *from = malloc((size_t)n * sizeof *from), *to = malloc((size_t)n * sizeof *to);
    int *wave = malloc((size_t)n * sizeof *wave), *last = malloc((size_t)n * sizeof *last);
    unsigned char *pend = malloc((size_t)n);
    if (!from || !to || !wave || !last || !pend) {
        fedc_fail(err, "round %d: out of memory for the gossip relay", round);
        goto out;
    }
    int np = fedc_strategy_gossip_pushes(r->strategy, round, from, to, &corrected, &lay);
    if (np < 0) {
        fedc_fail(err, "round %d: strategy %s plays no pairwise gossip a relay can carry", round,
                  r->task.strategy.name);
        goto out;
    }
    int waves = fedc_gossip_waves(from, to, np, n, last, wave);
    for (int k = 0; k < n; k++) pend[k] = r->node_delta[k] != NULL;
    if (waves == 0) waves = 1; /* no push at all: the updates still apply */
    for (int w = 1; w <= waves; w++) {
        int m = 0;
        for (int q = 0; q < np; q++) {
            if (wave[q] != w) continue;
            int i = from[q], j = to[q], pair[2] = {j, i};
            const float *xs[2] = {cur + (size_t)j * d, cur + (size_t)i * d};
            const float *ds[2] = {pend[j] ? r->node_delta[j] : NULL, pend[i] ? r->node_delta[i] : NULL};
            ids[m] = j;
            if (fedc_relay_push_encode(round, w, 2, pair, xs, ds, d, corrected, &lay, &frames[m++], err) != 0)
                goto fail;
            if (pend[i]) { /* the sender applies its update too */
                ids[m] = i;
                if (fedc_relay_push_encode(round, w, 1, &i, xs + 1, ds + 1, d, corrected, &lay, &frames[m++], err) !=
                    0)
                    goto fail;
            }
        }
        if (w == 1) /* nodes that push nothing and receive nothing this round */
            for (int k = 0; k < n; k++) {
                if (!pend[k] || last[k] != 0) continue;
                const float *xk = cur + (size_t)k * d, *dk = r->node_delta[k];
                ids[m] = k;
                if (fedc_relay_push_encode(round, w, 1, &k, &xk, &dk, d, corrected, &lay, &frames[m++], err) != 0)
                    goto fail;
            }
        if (m == 0) continue;
        if (relay_exchange(r, tp, round, w, waves, m, ids, frames, next, down, up, ok, why, err) != 0) goto out;
        for (int i = 0; i < m; i++) {
            memcpy(cur + (size_t)ids[i] * d, next + (size_t)ids[i] * d, d * sizeof(float));
            pend[ids[i]] = 0;
        }
    }
    rc = 0;
    goto out;
fail:
    fedc_fail_prefix(err, "round %d, gossip wave: ", round);
out:
    free(from);
    free(to);
    free(wave);
    free(last);
    free(pend);
    return rc;
}

static int relay_gossip(fedc_run *r, fedc_transport *tp, int round, fedc_round_metrics *m, fedc_error *err) {
    fedc_topology *topo;
    int steps = 0, n = r->task.clients, rc = -1;
    int mixing = fedc_strategy_relay_plan(r->strategy, &topo, &steps) == 0;
    size_t d = r->d;
    float *cur = malloc((size_t)n * d * sizeof(float)), *next = malloc((size_t)n * d * sizeof(float));
    uint64_t *down = calloc((size_t)n, sizeof *down), *up = calloc((size_t)n, sizeof *up);
    signed char *ok = calloc((size_t)n, 1);
    char(*why)[160] = calloc((size_t)n, sizeof *why);
    int *ids = malloc((size_t)n * sizeof *ids);
    const float **xs = malloc((size_t)n * sizeof *xs), **ds = malloc((size_t)n * sizeof *ds);
    fedc_buf *frames = calloc((size_t)n, sizeof *frames);
    if (!cur || !next || !down || !up || !ok || !why || !ids || !xs || !ds || !frames) {
        fedc_fail(err, "round %d: out of memory for the gossip relay", round);
        goto out;
    }
    for (int k = 0; k < n; k++) {
        ids[k] = k;
        memcpy(cur + (size_t)k * d, fedc_strategy_node_model(r->strategy, k), d * sizeof(float));
    }
    if (!mixing) {
        if (relay_pairwise(r, tp, round, cur, next, down, up, ok, why, ids, frames, err) != 0) goto out;
    }
    for (int q = 1; mixing && q <= steps; q++) {
        fedc_mixing w = fedc_topology_mixing(topo, (round - 1) * steps + q);
        for (int i = 0; i < n; i++) {
            int a = w.start[i], mm = w.start[i + 1] - a, self = 0;
            for (int j = 0; j < mm; j++) {
                int k = w.col[a + j];
                if (k == i) self = j;
                xs[j] = cur + (size_t)k * d;
                ds[j] = q == 1 ? r->node_delta[k] : NULL;
            }
            if (fedc_relay_step_encode(round, q, self, mm, w.col + a, w.w + a, xs, ds, d, &frames[i], err) != 0) {
                fedc_fail_prefix(err, "round %d, gossip step %d: ", round, q);
                goto out;
            }
        }
        if (relay_exchange(r, tp, round, q, steps, n, ids, frames, next, down, up, ok, why, err) != 0) goto out;
        float *t = cur;
        cur = next;
        next = t;
    }
    for (int k = 0; k < n; k++) {
        memcpy(fedc_strategy_node_model(r->strategy, k), cur + (size_t)k * d, d * sizeof(float));
        m->bytes_down += down[k];
        m->bytes_up += up[k];
    }
    rc = 0;
out:
    if (frames)
        for (int i = 0; i < n; i++) fedc_buf_free(&frames[i]);
    free(frames);
    free(cur);
    free(next);
    free(down);
    free(up);
    free(ok);
    free(why);
    free(ids);
    free(xs);
    free(ds);
    return rc;
}

void fedc_run_set_gossip_relay(fedc_run *r, int on) { r->gossip_relay = on != 0; }

static int run_round_decentral(fedc_run *r, fedc_transport *tp, fedc_round_metrics *m, fedc_error *err) {
    if (r->sinfo.event_driven) return run_round_events(r, tp, m, err);
    double wall0 = fedc_wall_s(), c0 = fedc_cpu_thread_s(), cpu_srv = 0;
    int round = r->rounds_done + 1, nodes = r->task.clients;
    const fedc_task *t = &r->task;
    memset(m, 0, sizeof *m);
    m->round = round;
    m->decentral = 1;
    m->n_nodes = nodes;
    for (int k = 0; k < nodes; k++) {
        fedc_profile_apply(r->profile, k, round, &r->info[k]);
        if (r->info[k].n_samples == 0) r->info[k].available = 0;
    }
    if (r->client_hook) r->client_hook(r->client_hook_ctx, round, r->info, nodes);
    int n = 0;
    for (int k = 0; k < nodes && n < r->nslots; k++)
        if (r->info[k].available) r->selected[n++] = k;
    m->selected = n;
    if (n <= 0) return fedc_fail(err, "round %d: no node is available to train", round);
    fedc_round_ctx rctx = {round, t->rounds, nodes, r->info, fedc_task_local_lr(t, round),
                           fedc_task_server_lr(t, round)};
    fedc_strategy_round_begin(r->strategy, &rctx);
    fedc_buf *frames = malloc(((size_t)n + 1) * sizeof *frames);
    if (!frames) return fedc_fail(err, "round %d: out of memory for %d model frames", round, n);
    int frc = 0;
    for (int i = 0; i < n && frc == 0; i++) {
        slot *s = &r->slots[i];
        s->client = r->selected[i];
        s->status = 0;
        s->reason[0] = 0;
        s->bytes_down = s->bytes_up = 0;
        frc = encode_train_frame(r, round, fedc_strategy_node_model(r->strategy, s->client), NULL, "full",
                                 s->client, &r->model_blob, &s->frame, err);
        frames[i] = s->frame;
    }
    cpu_srv += fedc_cpu_thread_s() - c0;
    reply_ctx rc = {r, round, NULL};
    fedc_exchange ex = {round, n, r->selected, frames, t->deploy.round_timeout_s, on_sent_cb, on_reply,
                        on_drop_cb, &rc};
    if (frc == 0 && n > 0) frc = tp->ops->exchange(tp, &ex, err);
    free(frames);
    if (frc != 0) return -1;
    c0 = fedc_cpu_thread_s();

    /* Who trained; the model-frame size of each node prices its messages. */
    double train_loss = 0;
    memset(r->node_delta, 0, (size_t)nodes * sizeof *r->node_delta);
    uint64_t *msg_bytes = calloc((size_t)nodes, sizeof *msg_bytes);
    if (!msg_bytes) return fedc_fail(err, "round %d: out of memory", round);
    size_t whole = r->slots[0].frame.len;
    for (int k = 0; k < nodes; k++) msg_bytes[k] = whole;
    for (int i = 0; i < n; i++) {
        slot *s = &r->slots[i];
        msg_bytes[s->client] = s->frame.len;
        if (s->status == 0) {
            s->status = -1;
            snprintf(s->reason, sizeof s->reason, "no reply");
        }
        if (s->status == 1) {
            r->node_delta[s->client] = s->delta;
            train_loss += s->loss;
            m->client_cpu_s += s->cpu_s;
            m->participants++;
            r->info[s->client].last_loss = s->loss;
        } else if (s->status == -1) {
            m->dropped++;
        } else {
            m->rejected++;
        }
        r->info[s->client].last_round = round;
        r->info[s->client].times_selected++;
    }
    int min_updates = t->deploy.min_updates > 0 ? t->deploy.min_updates : 1;
    if (m->participants < min_updates) {
        free(msg_bytes);
        return fedc_fail(err, "round %d: %d of %d nodes trained; at least %d needed", round, m->participants, n,
                         min_updates);
    }
    if (r->gossip_relay) {
        /* Everything crossed the transport: the TRAIN / UPDATE frames and
         * every relayed step. */
        free(msg_bytes);
        for (int i = 0; i < n; i++) {
            m->bytes_down += r->slots[i].bytes_down;
            m->bytes_up += r->slots[i].bytes_up;
        }
        cpu_srv += fedc_cpu_thread_s() - c0;
        if (relay_gossip(r, tp, round, m, err) != 0) return -1;
        c0 = fedc_cpu_thread_s();
    } else {
        if (fedc_strategy_gossip(r->strategy, r->node_delta, &rctx, r->gossip_sent, err) != 0) {
            free(msg_bytes);
            return -1;
        }
        for (int k = 0; k < nodes; k++) m->bytes_up += (uint64_t)r->gossip_sent[k] * msg_bytes[k];
        free(msg_bytes);
        m->bytes_down = m->bytes_up; /* every model sent is received by one neighbour */
    }
    m->bytes_per_node = (double)m->bytes_up / nodes;
    m->train_loss = m->participants > 0 ? train_loss / m->participants : NAN;

    if (node_average(r, m, err) != 0) return -1;
    cpu_srv += fedc_cpu_thread_s() - c0;
    finish_round(r, tp, 0, m, round, 0, cpu_srv, wall0); /* no federated evaluation (the validator) */
    return 0;
}

int fedc_run_done(const fedc_run *r) {
    const fedc_task *t = &r->task;
    if (r->rounds_done >= t->rounds) return 1;
    if (fedc_privacy_would_exceed(r->privacy, r->rounds_done, max_participations(r))) return 1;
    if (t->stop.target_accuracy > 0 && r->best_accuracy >= t->stop.target_accuracy) return 1;
    if (t->stop.max_wall_s > 0 && fedc_wall_s() - r->start_wall >= t->stop.max_wall_s) return 1;
    if (fedc_run_plateaued(r)) return 1;
    return 0;
}

int fedc_run_plateaued(const fedc_run *r) {
    int patience = r->task.stop.plateau_rounds;
    return patience > 0 && r->plateau_last_round > 0 && r->plateau_last_round - r->plateau_best_round >= patience;
}

int fedc_run_rounds_done(const fedc_run *r) { return r->rounds_done; }

int fedc_run_relay_round(fedc_run *r, fedc_transport *tp, int round, const float *x, float *mean, double *weight,
                         fedc_round_metrics *m, fedc_error *err) {
    if (r->async || r->decentral || r->proto || fedc_privacy_central(r->privacy) || r->sinfo.client_models ||
        r->sinfo.extra_up || r->sinfo.extra_down)
        return fedc_fail(err, "strategy %s cannot relay a round: its server state does not split across levels",
                         r->task.strategy.name);
    if (round < 1) return fedc_fail(err, "relayed round %d: rounds start at 1", round);
    size_t bad = fedc_first_nonfinite(x, r->d);
    if (bad < r->d) return fedc_fail(err, "relayed round %d: model value %zu is not finite", round, bad);
    memcpy(r->x, x, r->d * sizeof(float));
    r->rounds_done = round - 1;
    r->relay_out = mean;
    r->relay_weight = 0;
    int rc = fedc_run_round(r, tp, m, err);
    r->relay_out = NULL;
    *weight = rc == 0 ? r->relay_weight : 0;
    return rc;
}
const fedc_task *fedc_run_task(const fedc_run *r) { return &r->task; }
const fedc_arch *fedc_run_arch(const fedc_run *r) { return r->arch; }
const fedc_partition *fedc_run_partition(const fedc_run *r) { return &r->part; }
const fedc_dataset *fedc_run_train_data(const fedc_run *r) { return r->trainp; }
fedc_pool *fedc_run_pool(fedc_run *r) { return r->pool; }
float *fedc_run_model(fedc_run *r) { return r->x; }
const float *fedc_run_node_model(fedc_run *r, int node) { return fedc_strategy_node_model(r->strategy, node); }
size_t fedc_run_nparams(const fedc_run *r) { return r->d; }

int fedc_run_save_model(const fedc_run *r, const char *path, fedc_error *err) {
    char rounds[32], acc[32];
    snprintf(rounds, sizeof rounds, "%d", r->rounds_done);
    snprintf(acc, sizeof acc, "%.6f", r->last_accuracy);
    char input[48] = "";
    if (r->arch)
        snprintf(input, sizeof input, "%d,%d,%d", fedc_arch_input(r->arch).c, fedc_arch_input(r->arch).h,
                 fedc_arch_input(r->arch).w);
    const char *meta[] = {"task", r->task.name, "rounds", rounds, "accuracy", acc, "input", input};
    if (!r->arch) {
        /* External model: the manifest's tensors, as the nodes name them. */
        fedc_named_tensor *nt = calloc((size_t)r->manifest.n, sizeof *nt);
        if (!nt) return fedc_fail(err, "out of memory saving %s", path);
        for (int i = 0; i < r->manifest.n; i++) {
            const fedc_manifest_tensor *t = &r->manifest.t[i];
            nt[i] = (fedc_named_tensor){t->name, t->ndim, t->dims, t->offset, t->count};
        }
        int rc = fedc_safetensors_save_named(path, nt, r->manifest.n, r->x, "external", meta, 3, err);
        free(nt);
        return rc;
    }
    return fedc_safetensors_save(path, r->arch, fedc_combiner_model(r->combiner, r->x), meta, 4, err);
}

int fedc_run_needs_initial_model(const fedc_run *r) { return r->need_init; }

int fedc_run_set_initial_model(fedc_run *r, const float *x, size_t d, fedc_error *err) {
    if (d != r->d) return fedc_fail(err, "initial model has %zu values; the manifest has %zu", d, r->d);
    size_t bad = fedc_first_nonfinite(x, d);
    if (bad < d) return fedc_fail(err, "initial model value %zu is not finite", bad);
    memcpy(r->x, x, d * sizeof(float));
    if (r->x0) memcpy(r->x0, x, d * sizeof(float));
    if (r->decentral) /* every node starts from it */
        for (int k = 0; k < r->task.clients; k++) memcpy(fedc_strategy_node_model(r->strategy, k), x, d * sizeof(float));
    r->need_init = 0;
    return 0;
}

const fedc_manifest *fedc_run_manifest(const fedc_run *r) { return &r->manifest; }

fedc_client_data fedc_run_test_data(const fedc_run *r, int client) {
    fedc_client_data cd = {0};
    if (r->lazy && r->fed_eval && client >= 0 && client < r->task.clients) {
        fedc_error e;
        if (fedc_engine_lazy_client(r->lazy_owner, &r->syn, client, 0, &cd, &e) != 0) {
            FEDC_WARN("client %d: %s", client, e.msg);
            cd.n = 0;
        }
        return cd;
    }
    if (!r->has_test_part || client < 0 || client >= r->task.clients) return cd;
    cd.data = r->testp;
    cd.index = fedc_partition_client(&r->test_part, client);
    cd.n = fedc_partition_size(&r->test_part, client);
    return cd;
}

/* ---- Accessors for checkpoint.c (run_state.h) and deployments (deploy.h) ---- */
void fedc_run_state_access(fedc_run *r, fedc_run_state *s) {
    s->rounds_done = &r->rounds_done;
    s->best_accuracy = &r->best_accuracy;
    s->last_accuracy = &r->last_accuracy;
    s->start_wall = &r->start_wall;
    s->sim_elapsed = &r->sim_elapsed;
    s->bytes_down_total = &r->bytes_down_total;
    s->bytes_up_total = &r->bytes_up_total;
    s->x = r->x;
    s->d = r->d;
    s->strategy = r->strategy;
    s->info = r->info;
    s->n_clients = r->task.clients;
    s->sched = r->sched;
}

const float *fedc_run_client_model(const fedc_run *r, int client) {
    const float *m = r->sinfo.client_models ? fedc_strategy_client_model(r->strategy, client) : NULL;
    return m ? m : r->x;
}

void fedc_run_set_client_evaluator(fedc_run *r, fedc_client_evaluator fn, void *ctx) {
    r->client_eval = fn;
    r->client_eval_ctx = ctx;
}

int fedc_run_client_scores(const fedc_run *r, int client, double *acc_global, double *acc_own) {
    if (!r->has_holdout || client < 0 || client >= r->task.clients) return -1;
    *acc_global = r->acc_global[client];
    *acc_own = r->acc_own[client];
    return 0;
}

void fedc_run_set_secret_noise(fedc_run *r, int on) { r->secret_noise = on != 0; }

void fedc_run_set_client_hook(fedc_run *r, fedc_client_hook fn, void *ctx) {
    r->client_hook = fn;
    r->client_hook_ctx = ctx;
}

int fedc_run_participant(const fedc_run *r, int i, fedc_participant *out) {
    if (i < 0 || i >= r->nslots) return -1;
    const slot *s = &r->slots[i];
    out->client = s->client;
    out->status = s->status;
    out->reason = s->reason;
    out->bytes_down = s->bytes_down;
    out->bytes_up = s->bytes_up;
    /* Training figures are only this round's for an accepted update. */
    int ok = s->status == 1;
    out->cpu_s = ok ? s->cpu_s : 0;
    out->loss = ok ? s->loss : 0;
    out->n_samples = ok ? s->weight : 0;
    out->steps = ok ? s->steps : 0;
    out->verdict = ok ? s->verdict : FEDC_VERDICT_KEPT;
    out->verdict_reason = ok ? s->verdict_why : "";
    return 0;
}
