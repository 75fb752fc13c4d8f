/* `fedc node`: fedc's own trainer behind the node loop (fedc_node_serve).
 * For each run it builds the task's architecture, loads the local data
 * (training split, and a partition's test split for federated evaluation),
 * creates the trainer and handles TRAIN and EVALUATE frames whole, so
 * strategies with client state, codecs and privacy behave exactly as in
 * simulation. It keeps its client record in the --state folder, and has
 * the hidden echo and poison modes of the benchmarks and server tests and
 * the hostile mode (--attack, --collude) of the robustness tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_internal.h"
#include "fedc/engine.h"
#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/protocol.h"

typedef struct builtin {
    const fedc_node_config *cfg;
    fedc_node_data data;
    node_poison poison;
    int poison_round;
    node_attack attack;          /* hostile mode (--attack) */
    node_board board;            /* colluders' folder (--collude) */
    fedc_pending_update pending; /* a colluder's benign update while it waits */
    float *peer_mean, *peer_std;
    int64_t run_id, node_id;
    int slot;
    fedc_task task;
    char *task_json;
    fedc_arch *arch;
    fedc_trainer *trainer;
    fedc_client_mem mem;
    fedc_protocol_client *proto; /* round-protocol state between steps (protocol.h) */
    float *zeros; /* echo / poison modes: the model-sized zero update */
} builtin;

/* ---- The node's own copy of its client state (--state DIR) ----
 * One file per (run, slot): a header naming the task it belongs to, then the
 * trainer's client record. Written after every round the node trains and
 * before the update leaves, replaced atomically, so a node restarted (even
 * by kill -9) comes back with the state the server's model agrees with. */
typedef struct state_file_header {
    char magic[8];        /* "FEDCCST1" */
    uint64_t task_hash;   /* FNV-1a of the task JSON */
    uint64_t record_bytes;
} state_file_header;

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void state_path(const builtin *b, char *out, size_t cap) {
    snprintf(out, cap, "%s/client-state-run%lld-slot%d.bin", b->cfg->state_dir, (long long)b->run_id, b->slot);
}

static int state_save(builtin *b, fedc_error *err) {
    if (!b->cfg->state_dir || !b->mem.record) return 0;
    char path[1200], tmp[1300];
    state_path(b, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    state_file_header h = {{'F', 'E', 'D', 'C', 'C', 'S', 'T', '1'}, fnv1a(b->task_json),
                           fedc_trainer_record_size(b->trainer)};
    FILE *f = fopen(tmp, "wb");
    if (!f) return fedc_fail(err, "cannot write %s: %s", tmp, strerror(errno));
    int bad = fwrite(&h, sizeof h, 1, f) != 1 || fwrite(b->mem.record, h.record_bytes, 1, f) != 1;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return fedc_fail(err, "cannot save the client state to %s: %s", path, strerror(errno));
    }
    return 0;
}

/* Loads the saved state of this run and slot if it belongs to this task. */
static void state_restore(builtin *b) {
    if (!b->cfg->state_dir || !b->mem.record) return;
    char path[1200];
    state_path(b, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    state_file_header h;
    size_t want = fedc_trainer_record_size(b->trainer);
    int ok = fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, "FEDCCST1", 8) == 0 &&
             h.task_hash == fnv1a(b->task_json) && h.record_bytes == want;
    void *tmp = ok ? malloc(want) : NULL;
    ok = tmp && fread(tmp, want, 1, f) == 1 && fgetc(f) == EOF;
    fclose(f);
    if (ok) {
        memcpy(b->mem.record, tmp, want);
        FEDC_INFO("run %lld slot %d: client state restored from %s (last trained round %d)", (long long)b->run_id,
                  b->slot, path, fedc_trainer_record_round(b->mem.record));
    } else {
        FEDC_WARN("%s is not this task's client state; starting from zeros", path);
    }
    free(tmp);
}

static void forget_state(builtin *b);

static void teardown(void *user, int run_ended) {
    builtin *b = user;
    if (run_ended) forget_state(b);
    fedc_trainer_free(b->trainer);
    b->trainer = NULL;
    fedc_arch_free(b->arch);
    b->arch = NULL;
    fedc_client_mem_free(&b->mem);
    if (b->proto) b->proto->free_state(b->proto);
    b->proto = NULL;
    free(b->zeros);
    b->zeros = NULL;
    free(b->peer_mean);
    free(b->peer_std);
    b->peer_mean = b->peer_std = NULL;
    fedc_pending_free(&b->pending);
    free(b->task_json);
    b->task_json = NULL;
}

/* The run ended for good (the server said so): its state file goes too. */
static void forget_state(builtin *b) {
    if (!b->cfg->state_dir || b->run_id == 0) return;
    char path[1200];
    state_path(b, path, sizeof path);
    unlink(path);
}

static int setup(void *user, fedc_node_run_info *run, fedc_error *err) {
    builtin *b = user;
    teardown(b, 0);
    /* The server's attack section is never followed; a hostile node puts its own. */
    fedc_task own = *run->task;
    if (node_attack_apply(&b->attack, b->board.colluders, &own, err) != 0) return -1;
    const fedc_task *t = &own;
    if (fedc_task_external(t))
        return fedc_fail(err, "the run trains an external model; fedc node trains built-in models only");
    if (!(b->arch = fedc_arch_parse(t->model, run->shape, run->classes, err))) {
        fedc_fail_prefix(err, "welcome: model: ");
        return -1;
    }
    if (fedc_arch_nparams(b->arch) != run->params)
        return fedc_fail(err, "welcome: the model has %zu parameters here but %zu on the server",
                         fedc_arch_nparams(b->arch), run->params);
    if (!b->cfg->echo) {
        if (fedc_node_data_prepare(&b->data, t, err) != 0) return -1;
        if (b->data.ds.dim != fedc_arch_input_size(b->arch))
            return fedc_fail(err, "local data has %zu values per sample; the task's model takes %zu", b->data.ds.dim,
                             fedc_arch_input_size(b->arch));
        for (size_t i = 0; i < b->data.n; i++)
            if (b->data.ds.y[i] < 0 || b->data.ds.y[i] >= run->classes)
                return fedc_fail(err, "local data: label %d of sample %zu is outside the task's %d classes",
                                 b->data.ds.y[i], i, run->classes);
        if (!(b->trainer = fedc_trainer_create(t, b->arch, err))) return -1;
        fedc_trainer_keep_undo(b->trainer, 1);
        /* DP noise from the OS CSPRNG: the task seed is no secret here. */
        fedc_trainer_secret_noise(b->trainer, 1);
        fedc_trainer_report_client_acc(b->trainer, 1);
        b->mem.record = calloc(1, fedc_trainer_record_size(b->trainer));
        b->mem.owned = 1;
        b->mem.pending = &b->pending;
        b->mem.protocol = &b->proto;
        if (!b->mem.record) return fedc_fail(err, "out of memory for the client state");
        run->n_samples = (double)b->data.n;
        run->samples_per_s = node_measure_speed(b->arch, &b->data, t->local.batch);
    }
    b->task = *t;
    b->run_id = run->run_id;
    b->node_id = run->node_id;
    b->slot = run->slot;
    if (!(b->task_json = strdup(run->task_json))) return fedc_fail(err, "out of memory");
    if (b->trainer) state_restore(b);
    return 0;
}

/* A colluding attacker's benign update waits for the others' (see
 * node_collude.c), then the attack completes the reply. */
static int collude(builtin *b, int round, fedc_buf *reply, fedc_error *err) {
    size_t d = fedc_arch_nparams(b->arch);
    if ((!b->peer_mean && !(b->peer_mean = malloc(d * sizeof(float)))) ||
        (!b->peer_std && !(b->peer_std = malloc(d * sizeof(float)))))
        return fedc_fail(err, "out of memory for the colluders' statistics");
    int count = 0;
    if (node_collude(&b->board, b->run_id, round, b->node_id, b->pending.update, d, b->peer_mean, b->peer_std, &count,
                     b->cfg->stop, err) != 0)
        return -1;
    if (count < 2) FEDC_WARN("round %d: %s sees only its own update (no other colluder)", round, b->attack.kind);
    fedc_attack_peers p = {b->peer_mean, b->peer_std, count};
    return fedc_trainer_finish(b->trainer, b->slot, &b->mem, &p, reply, err);
}

static int handle_frame(void *user, const uint8_t *frame, size_t len, fedc_buf *reply, fedc_error *err) {
    builtin *b = user;
    if (fedc_frame_type(frame, len) == FEDC_MSG_EVALUATE) {
        if (!b->trainer) return fedc_fail(err, "no local data to evaluate on (echo mode)");
        if (fedc_node_data_prepare_test(&b->data, &b->task, err) != 0) return -1;
        fedc_client_data test = {.data = &b->data.test, .index = b->data.test_index, .n = b->data.n_test};
        return fedc_trainer_evaluate(b->trainer, &test, frame, len, reply, err);
    }
    int round = node_frame_round(frame, len);
    int poisoned = b->poison != NODE_POISON_NONE && (b->poison_round == 0 || b->poison_round == round);
    if (b->cfg->echo || poisoned) {
        size_t d = fedc_arch_nparams(b->arch);
        if (!b->zeros && !(b->zeros = calloc(d, sizeof(float))))
            return fedc_fail(err, "out of memory for an update of %zu values", d);
        return node_build_update(&b->task, d, round, poisoned ? b->poison : NODE_POISON_NONE, b->zeros, reply, err);
    }
    fedc_client_data cd = {.data = &b->data.ds, .index = b->data.index, .n = b->data.n,
                           .split_index = b->data.split_index, .split_n = b->data.split_n};
    int rc = fedc_trainer_handle(b->trainer, b->slot, &cd, &b->mem, frame, len, reply, err);
    if (rc == FEDC_TRAINER_DEFERRED) rc = collude(b, round, reply, err);
    if (rc != 0) return -1;
    return state_save(b, err);
}

int fedc_node_run(const fedc_node_config *cfg, fedc_error *err) {
    builtin b;
    memset(&b, 0, sizeof b);
    b.cfg = cfg;
    b.slot = -1;
    if (cfg->poison && node_poison_parse(cfg->poison, &b.poison, &b.poison_round, err) != 0) return -1;
    if (cfg->attack && node_attack_parse(cfg->attack, &b.attack, err) != 0) return -1;
    if (cfg->collude_dir) {
        if (!cfg->attack) return fedc_fail(err, "--collude needs --attack alie or ipm");
        if (strlen(cfg->collude_dir) >= sizeof b.board.dir) return fedc_fail(err, "--collude: the path is too long");
        snprintf(b.board.dir, sizeof b.board.dir, "%s", cfg->collude_dir);
    }
    b.board.colluders = cfg->colluders;
    b.board.wait_s = cfg->collude_wait_s > 0 ? cfg->collude_wait_s : 5;
    if (b.attack.on) FEDC_WARN("hostile mode: this node attacks (%s) every run it serves", cfg->attack);
    if (fedc_node_data_parse(cfg->echo ? (cfg->data_spec ? cfg->data_spec : "none") : cfg->data_spec, &b.data, err) !=
        0)
        return -1;
    if (b.data.kind == FEDC_NODE_DATA_NONE && !cfg->echo) return fedc_fail(err, "--data none needs echo mode");
    fedc_node_model model = {
        .user = &b,
        .setup = setup,
        .teardown = teardown,
        .handle_frame = handle_frame,
        .data_label = b.data.spec,
        .part_k = b.data.part_k,
        .part_n = b.data.kind == FEDC_NODE_DATA_CATALOG ? b.data.part_n : 0,
    };
    int rc = fedc_node_serve(cfg, &model, err);
    teardown(&b, 0);
    fedc_node_data_free(&b.data);
    return rc;
}
