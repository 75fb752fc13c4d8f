/* Evaluation of a backend on a JSONL file: exact match of whole task specs
 * (canonical JSON: every field, defaults filled in), accuracy per field,
 * and whether every output is a valid task or a refusal with a message.
 * Lines are outside input: bounded length, clear errors naming the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "intent/intent_internal.h"

#define EVAL_LINE_MAX (256 * 1024)

/* The request and the expected task (or refusal words, or the field a
 * question should be about) of one line. */
typedef struct {
    char *request;
    fedc_task task;
    int has_task;
    char refuse[256];
    char ask[64];
} eval_case;

/* read_case's answer for a well-formed line whose expected task the
 * validator rejects: counted, not scored, not fatal. */
#define CASE_INVALID_EXPECTED 1

static int read_case(const char *line, size_t len, const char *path, int lineno, eval_case *ec, fedc_error *err) {
    memset(ec, 0, sizeof *ec);
    json_error_t je;
    json_t *root = json_loadb(line, len, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return fedc_fail(err, "%s:%d: not a JSON object (%s)", path, lineno, root ? "wrong type" : je.text);
    }
    const char *request = NULL;
    json_t *expected = NULL;
    const char *expected_text = NULL;
    json_t *msgs = json_object_get(root, "messages");
    if (json_is_array(msgs)) {
        size_t k;
        json_t *m;
        json_array_foreach(msgs, k, m) {
            const char *role = json_string_value(json_object_get(m, "role"));
            const char *content = json_string_value(json_object_get(m, "content"));
            if (!role || !content) continue;
            if (!strcmp(role, "user")) request = content;
            if (!strcmp(role, "assistant")) expected_text = content;
        }
        if (!request || !expected_text) {
            json_decref(root);
            return fedc_fail(err, "%s:%d: a chat example needs a user and an assistant message", path, lineno);
        }
    } else {
        request = json_string_value(json_object_get(root, "request"));
        expected = json_object_get(root, "task");
        json_t *refuse = json_object_get(root, "refuse"), *ask = json_object_get(root, "ask");
        if (!request || (!json_is_object(expected) && !json_is_string(refuse) && !json_is_string(ask))) {
            json_decref(root);
            return fedc_fail(err, "%s:%d: expected {\"request\": \"...\", \"task\": {...}} or {\"request\": \"...\", "
                                  "\"refuse\": \"...\"} or {\"request\": \"...\", \"ask\": \"field\"} or a chat example",
                             path, lineno);
        }
        if (json_is_string(ask) && strlen(json_string_value(ask)) >= sizeof ec->ask) {
            json_decref(root);
            return fedc_fail(err, "%s:%d: \"ask\" names a field path longer than %zu bytes", path, lineno,
                             sizeof ec->ask - 1);
        }
        if (json_is_string(refuse)) snprintf(ec->refuse, sizeof ec->refuse, "%s", json_string_value(refuse));
        if (json_is_string(ask)) snprintf(ec->ask, sizeof ec->ask, "%s", json_string_value(ask));
        if (!json_is_object(expected)) expected = NULL;
    }
    ec->request = strdup(request);
    char *owned = expected ? json_dumps(expected, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    const char *txt = owned ? owned : expected_text;
    int rc = 0;
    if (txt) {
        fedc_error te;
        if (fedc_task_from_json(txt, strlen(txt), &ec->task, &te) < 0) {
            fedc_fail(err, "%s:%d: the expected task is invalid: %s", path, lineno, te.msg);
            rc = CASE_INVALID_EXPECTED;
        }
        ec->has_task = 1;
    }
    free(owned);
    json_decref(root);
    if (!ec->request) rc = fedc_fail(err, "out of memory");
    return rc;
}

/* Case-insensitive substring test (the refusal must name the conflict). */
static int contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

static json_t *canonical(const fedc_task *t) {
    char *s = fedc_task_to_json(t, 0);
    json_t *v = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return v;
}

static int field_index(fedc_intent_eval_report *r, const char *path) {
    for (int k = 0; k < r->n_fields; k++)
        if (!strcmp(r->fields[k].path, path)) return k;
    if (r->n_fields >= FEDC_INTENT_EVAL_MAX_FIELDS) return -1;
    intent_fmt(r->fields[r->n_fields].path, sizeof r->fields[0].path, "%s", path);
    return r->n_fields++;
}

/* Compares field by field; returns 1 when every field is equal. */
static int compare(fedc_intent_eval_report *r, json_t *want, json_t *got, FILE *verbose) {
    int all = 1;
    const char *key;
    json_t *v;
    json_object_foreach(want, key, v) {
        json_t *g = json_object_get(got, key);
        json_t *wv = v, *gv = g;
        const char *k2 = NULL;
        int nested = json_is_object(v);
        void *it = nested ? json_object_iter(v) : NULL;
        do {
            char path[64];
            if (nested) {
                if (!it) break;
                k2 = json_object_iter_key(it);
                wv = json_object_iter_value(it);
                gv = json_object_get(g, k2);
                snprintf(path, sizeof path, "%s.%s", key, k2);
            } else {
                snprintf(path, sizeof path, "%s", key);
            }
            int k = field_index(r, path);
            int eq = json_equal(wv, gv);
            if (k >= 0) {
                r->fields[k].total++;
                r->fields[k].right += eq;
            }
            if (!eq) {
                all = 0;
                if (verbose) {
                    char *a = json_dumps(wv, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
                    char *b = json_dumps(gv, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
                    fprintf(verbose, "    %s: want %s, got %s\n", path, a ? a : "?", b ? b : "?");
                    free(a);
                    free(b);
                }
            }
            if (nested) it = json_object_iter_next(v, it);
        } while (nested);
    }
    return all;
}

static void eval_one(const eval_case *ec, fedc_intent_backend backend, const fedc_llm_config *cfg, FILE *verbose,
                     fedc_intent_eval_report *r, fedc_intent_result *res) {
    fedc_error e = {{0}};
    int rc = backend == FEDC_INTENT_BACKEND_LLM ? fedc_intent_parse_llm(ec->request, cfg, res, &e)
                                                : fedc_intent_parse(ec->request, res, &e);
    r->n++;
    fedc_error ve;
    int valid = rc == 0 && res->status == FEDC_INTENT_OK && fedc_task_validate(&res->task, &ve) == 0;
    int refused = rc < 0 && strlen(e.msg) >= 10;
    r->valid += valid;
    r->refused_clearly += refused;
    r->unclear += !valid && !refused;
    if (ec->refuse[0] || ec->ask[0]) {
        /* A question about the field names it, as its path or its last part. */
        const char *last = strrchr(ec->ask, '.');
        int right = refused && (ec->refuse[0] ? contains_ci(e.msg, ec->refuse)
                                              : contains_ci(e.msg, ec->ask) || (last && contains_ci(e.msg, last + 1)));
        if (ec->refuse[0]) {
            r->expected_refusals++;
            r->refusals_right += right;
        } else {
            r->expected_questions++;
            r->questions_right += right;
        }
        r->exact += right;
        r->asked += refused && !right;
        r->silently_wrong += valid;
        if (!right && verbose)
            fprintf(verbose, "MISS (should %s \"%s\") %s\n    got: %s\n", ec->refuse[0] ? "refuse naming" : "ask about",
                    ec->refuse[0] ? ec->refuse : ec->ask, ec->request, rc < 0 ? e.msg : "a task");
        return;
    }
    if (!valid) {
        r->asked += refused;
        if (verbose) fprintf(verbose, "MISS %s\n    refused: %s\n", ec->request, e.msg);
        /* every field of this example counts as wrong */
        json_t *want = canonical(&ec->task);
        json_t *empty = json_object();
        compare(r, want, empty, NULL);
        json_decref(want);
        json_decref(empty);
        return;
    }
    json_t *want = canonical(&ec->task), *got = canonical(&res->task);
    if (verbose) {
        /* print the request first, then the differences */
        int same = want && got && json_equal(want, got);
        if (!same) fprintf(verbose, "MISS %s\n", ec->request);
    }
    int exact = want && got && compare(r, want, got, verbose);
    r->exact += exact;
    r->silently_wrong += !exact;
    json_decref(want);
    json_decref(got);
}

int fedc_intent_eval_file(const char *path, fedc_intent_backend backend, const fedc_llm_config *cfg, FILE *verbose,
                          fedc_intent_eval_report *report, fedc_error *err) {
    memset(report, 0, sizeof *report);
    FILE *f = fopen(path, "rb");
    if (!f) return fedc_fail(err, "%s: cannot open", path);
    char *line = malloc(EVAL_LINE_MAX + 2);
    fedc_intent_result *res = malloc(sizeof *res);
    if (!line || !res) {
        fclose(f);
        free(line);
        free(res);
        return fedc_fail(err, "out of memory");
    }
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, EVAL_LINE_MAX + 2, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len > EVAL_LINE_MAX) {
            rc = fedc_fail(err, "%s:%d: line longer than %d bytes", path, lineno, EVAL_LINE_MAX);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (!len) continue;
        eval_case ec;
        rc = read_case(line, len, path, lineno, &ec, err);
        if (rc == 0) eval_one(&ec, backend, cfg, verbose, report, res);
        if (rc == CASE_INVALID_EXPECTED) {
            report->invalid_expected++;
            if (verbose) fprintf(verbose, "NOT SCORED %s\n", err->msg);
            rc = 0;
        }
        free(ec.request);
    }
    if (rc == 0 && ferror(f)) rc = fedc_fail(err, "%s: read error", path);
    if (rc == 0 && report->n == 0) rc = fedc_fail(err, "%s: no examples", path);
    fclose(f);
    free(line);
    free(res);
    return rc;
}

void fedc_intent_eval_print(FILE *f, const fedc_intent_eval_report *r) {
    double n = r->n ? r->n : 1;
    fprintf(f, "examples: %d\n", r->n);
    fprintf(f, "exact task specs (or refusals as expected): %d (%.1f%%)\n", r->exact, 100.0 * r->exact / n);
    fprintf(f, "valid tasks: %d, refused with a message: %d, neither: %d (%.1f%% valid or clearly refused)\n",
            r->valid, r->refused_clearly, r->unclear, 100.0 * (r->valid + r->refused_clearly) / n);
    fprintf(f, "outcomes: exact %d, asked or refused with a message %d, silently wrong %d (%.1f%%)\n", r->exact,
            r->asked, r->silently_wrong, 100.0 * r->silently_wrong / n);
    if (r->expected_refusals)
        fprintf(f, "expected refusals: %d, refused naming the conflict: %d\n", r->expected_refusals, r->refusals_right);
    if (r->expected_questions)
        fprintf(f, "expected questions: %d, asked naming the field: %d\n", r->expected_questions, r->questions_right);
    if (r->invalid_expected)
        fprintf(f, "not scored: %d lines whose expected task is invalid here (--verbose names them)\n",
                r->invalid_expected);
    fprintf(f, "per-field accuracy (fields that are ever wrong first):\n");
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < r->n_fields; k++) {
            int perfect = r->fields[k].right == r->fields[k].total;
            if (perfect != pass) continue;
            fprintf(f, "  %-28s %6.1f%%  (%d/%d)\n", r->fields[k].path,
                    r->fields[k].total ? 100.0 * r->fields[k].right / r->fields[k].total : 0.0, r->fields[k].right,
                    r->fields[k].total);
        }
}
