/* Proposals from the LLM backend of the intent module. The history of the
 * search becomes a plain-language request (the task, the settings that may
 * change with their allowed values, the trials so far, best first); the
 * intent backend sends it to the chat endpoint and returns a task it has
 * validated (repairing the answer from the validator's messages); the
 * proposal is that task's values of the space's parameters, which must lie
 * inside the space — the search then checks it like any configuration. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/intent.h"
#include "tune/tune_internal.h"

/* Appends to a bounded buffer; returns -1 (and appends nothing) when the
 * text would not fit. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static int sb_add(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= b->cap - b->len) {
        b->p[b->len] = 0;
        return -1;
    }
    b->len += (size_t)w;
    return 0;
}

static void describe_param(sbuf *b, const fedc_tune_space *s, const fedc_tune_param *p) {
    switch (p->type) {
    case FEDC_PARAM_FLOAT: sb_add(b, "- %s: a number from %g to %g", p->name, p->min, p->max); break;
    case FEDC_PARAM_LOG_FLOAT: sb_add(b, "- %s: a number from %g to %g (log scale)", p->name, p->min, p->max); break;
    case FEDC_PARAM_INT: sb_add(b, "- %s: an integer from %g to %g", p->name, p->min, p->max); break;
    case FEDC_PARAM_CHOICE:
        sb_add(b, "- %s: one of", p->name);
        for (int k = 0; k < p->nchoices; k++) sb_add(b, "%s %s", k ? "," : "", p->choices[k]);
        break;
    }
    if (p->parent >= 0) {
        const fedc_tune_param *pp = &s->p[p->parent];
        sb_add(b, " (only when %s is", pp->name);
        for (int k = 0; k < p->nwhen; k++) {
            if (pp->type == FEDC_PARAM_CHOICE) sb_add(b, "%s %s", k ? " or" : "", pp->choices[(int)p->when[k]]);
            else sb_add(b, "%s %g", k ? " or" : "", p->when[k]);
        }
        sb_add(b, ")");
    }
    sb_add(b, "\n");
}

static const char *str_or(json_t *v, const char *dflt) {
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* Score used to list trials best first: full runs above partial ones. */
typedef struct hist_row {
    double acc;
    int rounds, failed, idx;
} hist_row;

static int cmp_rows(const void *x, const void *y) {
    const hist_row *a = x, *b = y;
    if (a->failed != b->failed) return a->failed - b->failed;
    if (a->rounds != b->rounds) return b->rounds - a->rounds;
    if (a->acc != b->acc) return a->acc > b->acc ? -1 : 1;
    return a->idx - b->idx;
}

char *fedc_tune_llm_request(const char *history_json, fedc_error *err) {
    json_error_t je;
    json_t *h = history_json ? json_loads(history_json, 0, &je) : NULL;
    if (!h) {
        fedc_fail(err, "history: not JSON");
        return NULL;
    }
    char *space_text = json_dumps(json_object_get(h, "space"), 0);
    fedc_tune_space *s = space_text ? fedc_tune_space_from_json(space_text, strlen(space_text), "history space", err)
                                    : NULL;
    free(space_text);
    json_t *task = json_object_get(h, "task"), *trials = json_object_get(h, "trials");
    const char *goal = str_or(json_object_get(h, "objective"), "maximise test accuracy");
    char *out = calloc(1, FEDC_INTENT_REQUEST_MAX + 1);
    hist_row *rows = calloc(json_array_size(trials) + 1, sizeof *rows);
    if (!s || !out || !rows) {
        if (s) fedc_fail(err, "out of memory");
        goto fail;
    }
    sbuf b = {out, 0, FEDC_INTENT_REQUEST_MAX + 1};
    sb_add(&b, "Tune a federated-learning task: %s.\n", goal);
    if (json_is_object(task)) {
        json_t *part = json_object_get(task, "partition"), *strat = json_object_get(task, "strategy");
        sb_add(&b,
               "The task: dataset %s, %lld clients, %s partition (alpha %g), model \"%s\", strategy %s, "
               "%lld rounds.\n",
               str_or(json_object_get(json_object_get(task, "dataset"), "name"), "?"),
               (long long)json_integer_value(json_object_get(task, "clients")),
               str_or(json_object_get(part, "kind"), "?"), json_number_value(json_object_get(part, "alpha")),
               str_or(json_object_get(task, "model"), "?"), str_or(json_object_get(strat, "name"), "?"),
               (long long)json_integer_value(json_object_get(task, "rounds")));
    }
    sb_add(&b, "Settings you may change, and their allowed values:\n");
    for (int i = 0; i < s->n; i++) describe_param(&b, s, &s->p[i]);
    sb_add(&b, "The arch.* settings describe the model: an MLP is dense:W1,...,dense:Wdepth,dense:CLASSES; a CNN is "
               "conv:C1:K,pool:2,...,dense:DENSE,dense:CLASSES.\n");
    size_t i;
    json_t *t;
    int n = 0;
    json_array_foreach(trials, i, t) {
        const char *st = json_string_value(json_object_get(t, "status"));
        if (st && !strcmp(st, "pending")) continue;
        rows[n++] = (hist_row){json_number_value(json_object_get(t, "accuracy")),
                               (int)json_integer_value(json_object_get(t, "rounds")), st && !strcmp(st, "failed"),
                               (int)i};
    }
    qsort(rows, (size_t)n, sizeof *rows, cmp_rows);
    const char *tail = "Answer with the complete task spec: the task above with new values for these settings, "
                       "different from every trial listed and likely to beat the best one. Keep every other field "
                       "unchanged.\n";
    size_t reserve = strlen(tail) + 64;
    sb_add(&b, "Trials so far (best first):\n");
    int listed = 0;
    for (int k = 0; k < n; k++) {
        json_t *tr = json_array_get(trials, (size_t)rows[k].idx);
        char *cfg =
            json_dumps(json_object_get(tr, "config"), JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        char line[1024];
        if (rows[k].failed)
            snprintf(line, sizeof line, "%d. %s -> failed (diverged or invalid)\n", listed + 1, cfg ? cfg : "{}");
        else
            snprintf(line, sizeof line, "%d. %s -> accuracy %.4f after %d rounds\n", listed + 1, cfg ? cfg : "{}",
                     rows[k].acc, rows[k].rounds);
        free(cfg);
        if (b.len + strlen(line) + reserve > b.cap) break;
        sb_add(&b, "%s", line);
        listed++;
    }
    if (listed < n) sb_add(&b, "(%d more trials not shown)\n", n - listed);
    if (sb_add(&b, "%s", tail) != 0) {
        fedc_fail(err, "the space is too large to describe in a request of %d bytes", FEDC_INTENT_REQUEST_MAX);
        goto fail;
    }
    fedc_tune_space_free(s);
    free(rows);
    json_decref(h);
    return out;
fail:
    fedc_tune_space_free(s);
    free(rows);
    free(out);
    json_decref(h);
    return NULL;
}

int fedc_tune_llm_propose(void *ctx, const char *history_json, char **config_json, fedc_error *err) {
    const fedc_llm_config *cfg = ctx;
    *config_json = NULL;
    char *request = fedc_tune_llm_request(history_json, err);
    if (!request) return -1;
    fedc_intent_result *res = calloc(1, sizeof *res);
    json_t *h = json_loads(history_json, 0, NULL);
    char *space_text = h ? json_dumps(json_object_get(h, "space"), 0) : NULL;
    json_decref(h);
    fedc_tune_space *s = space_text ? fedc_tune_space_from_json(space_text, strlen(space_text), "history space", err)
                                    : NULL;
    free(space_text);
    int rc = -1;
    if (!res || !s) {
        if (!res) fedc_fail(err, "out of memory");
    } else if (fedc_intent_parse_llm(request, cfg, res, err) != 0) {
        fedc_fail_prefix(err, "LLM: ");
    } else if (!strcmp(res->backend, "llm")) {
        fedc_tune_config c;
        if (fedc_tune_config_from_task(s, &res->task, &c, err) == 0) {
            *config_json = fedc_tune_config_to_json(s, &c);
            rc = *config_json ? 0 : fedc_fail(err, "out of memory");
        } else {
            fedc_fail_prefix(err, "the LLM's task is outside the space: ");
        }
    } else {
        /* With fallback_builtin the intent module may answer from its rule
         * parser, which knows nothing of the search: not a proposal. */
        fedc_fail(err, "the LLM endpoint did not answer (the intent module fell back to its %s parser)", res->backend);
    }
    fedc_tune_space_free(s);
    free(res);
    free(request);
    return rc;
}
