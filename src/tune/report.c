/* Leaderboards: JSON for the web app, a text table, CSV. Trials that went
 * furthest come first (an accuracy after 1 round is not comparable with one
 * after 30), then by accuracy, fewer bytes, lower id; failed trials last. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

typedef struct board_key {
    int id, failed, rounds;
    double accuracy;
    uint64_t bytes;
} board_key;

static int cmp_board(const void *x, const void *y) {
    const board_key *a = x, *b = y;
    if (a->failed != b->failed) return a->failed - b->failed;
    if (a->rounds != b->rounds) return b->rounds - a->rounds;
    if (a->accuracy != b->accuracy) return a->accuracy > b->accuracy ? -1 : 1;
    if (a->bytes != b->bytes) return a->bytes < b->bytes ? -1 : 1;
    return a->id - b->id;
}

/* Trial indices in leaderboard order (malloc'd). */
static int *leaderboard_order(const fedc_tune_search *s) {
    board_key *keys = malloc((size_t)(s->ntrials + 1) * sizeof *keys);
    int *order = malloc((size_t)(s->ntrials + 1) * sizeof *order);
    if (!keys || !order) {
        free(keys);
        free(order);
        return NULL;
    }
    for (int i = 0; i < s->ntrials; i++) {
        const fedc_tune_trial *t = &s->trials[i];
        keys[i] = (board_key){i, t->status == FEDC_TRIAL_FAILED, t->rounds, t->rung >= 0 ? t->accuracy : -1, t->bytes};
    }
    qsort(keys, (size_t)s->ntrials, sizeof *keys, cmp_board);
    for (int i = 0; i < s->ntrials; i++) order[i] = keys[i].id;
    free(keys);
    return order;
}

static void human_bytes(double b, char *out, size_t n);

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

char *fedc_tune_leaderboard_json(const fedc_tune_search *s) {
    int *order = leaderboard_order(s);
    if (!order) return NULL;
    int best = fedc_tune_search_best(s);
    json_t *rungs = json_array();
    for (int r = 0; r < s->nrungs; r++) json_array_append_new(rungs, json_integer(s->rungs[r]));
    json_t *trials = json_array();
    for (int k = 0; k < s->ntrials; k++) {
        const fedc_tune_trial *t = &s->trials[order[k]];
        char *cj = fedc_tune_config_to_json(s->space, &t->config);
        json_t *config = cj ? json_loads(cj, 0, NULL) : NULL;
        free(cj);
        json_t *at = json_array();
        for (int r = 0; r <= t->rung && r < s->nrungs; r++)
            json_array_append_new(at, json_pack("{s:i,s:o,s:o,s:I,s:o}", "rounds", t->at[r].rounds, "accuracy",
                                                num_or_null(t->at[r].accuracy), "loss", num_or_null(t->at[r].loss),
                                                "bytes", (json_int_t)t->at[r].bytes, "cpu_s",
                                                num_or_null(t->at[r].cpu_s)));
        int started = t->rung >= 0;
        json_t *o = json_pack("{s:i,s:i,s:s,s:s,s:i,s:o,s:o,s:I,s:o,s:o,s:o}", "rank", k + 1, "trial", t->id,
                              "status", fedc_trial_status_name(t->status), "source", t->source, "rounds", t->rounds,
                              "accuracy", started ? num_or_null(t->accuracy) : json_null(), "loss",
                              started ? num_or_null(t->loss) : json_null(), "bytes", (json_int_t)t->bytes, "cpu_s",
                              num_or_null(t->cpu_s), "config", config ? config : json_object(), "rungs", at);
        if (started) {
            const fedc_tune_measure *m = &t->last;
            json_object_set_new(o, "client_gflop", num_or_null(m->client_gflop));
            json_object_set_new(o, "client_cpu_s", num_or_null(m->client_cpu_s));
            json_object_set_new(o, "server_cpu_s", num_or_null(m->server_cpu_s));
            json_object_set_new(o, "bytes_up", json_integer((json_int_t)m->bytes_up));
            json_object_set_new(o, "bytes_down", json_integer((json_int_t)m->bytes_down));
            json_object_set_new(o, "wall_s", num_or_null(m->wall_s));
            /* The test figure is reported for the final choice only when the
             * search selected on validation. */
            if (!m->validated || t->id == best) json_object_set_new(o, "test_accuracy", num_or_null(m->test_accuracy));
        }
        json_object_set_new(o, "pareto_rank", t->pareto_rank > 0 ? json_integer(t->pareto_rank) : json_null());
        if (s->opt.goal == FEDC_TUNE_GOAL_BUDGET)
            json_object_set_new(o, "feasible", t->feasible < 0 ? json_null() : json_boolean(t->feasible));
        if (t->error[0]) json_object_set_new(o, "error", json_string(t->error));
        json_array_append_new(trials, o);
    }
    long rounds;
    double cpu;
    int reused;
    fedc_tune_search_totals(s, &rounds, &cpu, &reused);
    json_t *root = json_pack("{s:I,s:s,s:i,s:I,s:i,s:s,s:o,s:o,s:I,s:f,s:i,s:o}", "search", (json_int_t)s->id,
                             "method", fedc_tune_method_name(s->opt.method), "budget", s->opt.budget, "seed",
                             (json_int_t)s->opt.seed, "max_rounds", s->opt.max_rounds, "objective", s->opt.objective,
                             "rungs", rungs, "best", best >= 0 ? json_integer(best) : json_null(), "total_rounds",
                             (json_int_t)rounds, "total_cpu_s", cpu, "reused", reused, "trials", trials);
    if (root) {
        json_object_set_new(root, "goal", json_string(fedc_tune_goal_name(s->opt.goal)));
        int validated = best >= 0 && s->trials[best].last.validated;
        json_object_set_new(root, "selected_on", json_string(validated ? "validation" : "test"));
        json_object_set_new(root, "best_test_accuracy",
                            best >= 0 ? num_or_null(s->trials[best].last.test_accuracy) : json_null());
        if (s->opt.goal == FEDC_TUNE_GOAL_BUDGET) {
            double c, b;
            int known = fedc_tune_search_limits(s, &c, &b);
            char lc[32], lb[32];
            fedc_tune_limit_format(&s->opt.max_client_cpu, lc, sizeof lc);
            fedc_tune_limit_format(&s->opt.max_bytes, lb, sizeof lb);
            json_object_set_new(
                root, "budget",
                json_pack("{s:s,s:s,s:s,s:o,s:o,s:b}", "max_client_cpu", lc, "max_bytes", lb, "client_unit",
                          s->opt.max_client_cpu.unit == FEDC_TUNE_LIMIT_SECONDS ? "client_cpu_s" : "client_gflop",
                          "client_limit", num_or_null(c), "bytes_limit", num_or_null(b), "known", known));
        }
        unsigned axes = s->opt.pareto_axes ? s->opt.pareto_axes : FEDC_TUNE_AXIS_CLIENT | FEDC_TUNE_AXIS_BYTES;
        json_t *ax = json_pack("[s]", "accuracy");
        if (axes & FEDC_TUNE_AXIS_CLIENT) json_array_append_new(ax, json_string("client_gflop"));
        if (axes & FEDC_TUNE_AXIS_BYTES) json_array_append_new(ax, json_string("bytes"));
        if (axes & FEDC_TUNE_AXIS_WALL) json_array_append_new(ax, json_string("wall_s"));
        json_object_set_new(root, "pareto_axes", ax);
        int *front = malloc((size_t)(s->ntrials + 1) * sizeof *front);
        json_t *fr = json_array();
        int nf = front ? fedc_tune_search_front(s, front, s->ntrials) : 0;
        for (int k = 0; k < nf; k++) json_array_append_new(fr, json_integer(front[k]));
        free(front);
        json_object_set_new(root, "front", fr);
    }
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(root);
    free(order);
    return text;
}

void fedc_tune_front_print(const fedc_tune_search *s, FILE *f) {
    int *front = malloc((size_t)(s->ntrials + 1) * sizeof *front);
    if (!front) return;
    int nf = fedc_tune_search_front(s, front, s->ntrials);
    fprintf(f, "Pareto front (%d trial%s; accuracy against client compute and bytes%s):\n", nf, nf == 1 ? "" : "s",
            s->opt.pareto_axes & FEDC_TUNE_AXIS_WALL ? " and wall time" : "");
    fprintf(f, "%5s %8s %12s %10s %10s %8s  %s\n", "trial", "accuracy", "client GFLOP", "client s", "bytes", "wall s",
            "config");
    for (int k = 0; k < nf; k++) {
        const fedc_tune_trial *t = &s->trials[front[k]];
        char cfg[320], bytes[32];
        fedc_tune_config_describe(s->space, &t->config, cfg, sizeof cfg);
        human_bytes((double)t->bytes, bytes, sizeof bytes);
        fprintf(f, "%5d %8.4f %12.1f %10.1f %10s %8.1f  %s\n", t->id, t->accuracy, t->last.client_gflop,
                t->last.client_cpu_s, bytes, t->last.wall_s, cfg);
    }
    free(front);
}

static void human_bytes(double b, char *out, size_t n) {
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf(out, n, "%.1f %s", b, u[i]);
}

void fedc_tune_leaderboard_print(const fedc_tune_search *s, FILE *f, int max_rows) {
    int *order = leaderboard_order(s);
    if (!order) return;
    int rows = max_rows > 0 && max_rows < s->ntrials ? max_rows : s->ntrials;
    int budget = s->opt.goal == FEDC_TUNE_GOAL_BUDGET;
    fprintf(f, "%4s %5s %-8s %-6s %6s %8s %10s %8s %10s %5s%s  %s\n", "rank", "trial", "status", "source", "rounds",
            "accuracy", "bytes", "cpu_s", "cli GFLOP", "front", budget ? " budget" : "", "config");
    for (int k = 0; k < rows; k++) {
        const fedc_tune_trial *t = &s->trials[order[k]];
        char cfg[320], bytes[32], acc[16];
        fedc_tune_config_describe(s->space, &t->config, cfg, sizeof cfg);
        human_bytes((double)t->bytes, bytes, sizeof bytes);
        if (t->rung >= 0) snprintf(acc, sizeof acc, "%.4f", t->accuracy);
        else snprintf(acc, sizeof acc, "-");
        const char *verdict = !budget ? "" : t->feasible == 1 ? " within" : t->feasible == 0 ? " OVER  " : " ?     ";
        fprintf(f, "%4d %5d %-8s %-6s %6d %8s %10s %8.1f %10.1f %5s%s  %s\n", k + 1, t->id,
                fedc_trial_status_name(t->status), t->source, t->rounds, acc, bytes, t->cpu_s, t->last.client_gflop,
                t->pareto_rank == 1 ? "*" : "", verdict, cfg);
        if (t->status == FEDC_TRIAL_FAILED && t->error[0]) fprintf(f, "%30s %.200s\n", "error:", t->error);
    }
    if (rows < s->ntrials) fprintf(f, "(%d more trials)\n", s->ntrials - rows);
    free(order);
}

/* CSV field: quoted, with quotes doubled. */
static void csv_field(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int fedc_tune_leaderboard_csv(const fedc_tune_search *s, const char *path, fedc_error *err) {
    FILE *f = fopen(path, "w");
    if (!f) return fedc_fail(err, "%s: cannot write: %s", path, strerror(errno));
    int *order = leaderboard_order(s);
    if (!order) {
        fclose(f);
        return fedc_fail(err, "%s: out of memory", path);
    }
    fprintf(f, "rank,trial,status,source,rounds,accuracy,loss,bytes,cpu_s,config,error\n");
    for (int k = 0; k < s->ntrials; k++) {
        const fedc_tune_trial *t = &s->trials[order[k]];
        fprintf(f, "%d,%d,%s,%s,%d,", k + 1, t->id, fedc_trial_status_name(t->status), t->source, t->rounds);
        if (t->rung >= 0) fprintf(f, "%.6f,%.6f,", t->accuracy, t->loss);
        else fprintf(f, ",,");
        fprintf(f, "%" PRIu64 ",%.3f,", t->bytes, t->cpu_s);
        char *cj = fedc_tune_config_to_json(s->space, &t->config);
        csv_field(f, cj ? cj : "");
        free(cj);
        fputc(',', f);
        csv_field(f, t->error);
        fputc('\n', f);
    }
    free(order);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return fedc_fail(err, "%s: write error", path);
    return 0;
}
