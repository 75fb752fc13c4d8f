/* The result type shared by both backends: initialisation, notes, names,
 * and its JSON form for the CLI's --json and the REST layer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "intent/intent_internal.h"

void intent_result_init(fedc_intent_result *out, const char *backend) {
    memset(out, 0, sizeof *out);
    fedc_task_defaults(&out->task);
    out->status = FEDC_INTENT_OK;
    snprintf(out->backend, sizeof out->backend, "%s", backend);
}

void intent_result_note(fedc_intent_result *out, const char *fmt, ...) {
    if (out->n_notes >= FEDC_INTENT_MAX_NOTES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->notes[out->n_notes], sizeof out->notes[0], fmt, ap);
    va_end(ap);
    intent_utf8_sanitise(out->notes[out->n_notes]);
    out->n_notes++;
}

const char *fedc_intent_status_name(fedc_intent_status s) {
    switch (s) {
    case FEDC_INTENT_OK: return "ok";
    case FEDC_INTENT_CONFLICT: return "conflict";
    case FEDC_INTENT_INVALID: return "invalid";
    case FEDC_INTENT_BACKEND: return "backend";
    case FEDC_INTENT_INPUT: return "input";
    case FEDC_INTENT_QUESTION: return "question";
    }
    return "unknown";
}

const char *fedc_intent_source_name(fedc_intent_source s) {
    switch (s) {
    case FEDC_INTENT_FROM_DEFAULT: return "default";
    case FEDC_INTENT_FROM_WORDS: return "words";
    case FEDC_INTENT_FROM_GOAL: return "goal";
    case FEDC_INTENT_FROM_LLM: return "llm";
    }
    return "unknown";
}

/* Replaces bytes that are not part of a well-formed UTF-8 sequence. */
void intent_utf8_sanitise(char *s) {
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 1) {
            if (*p < 0x20 || *p == 0x7F) *p = ' ';
            p++;
            continue;
        }
        int ok = n > 1 && !(n == 2 && *p < 0xC2);
        for (int k = 1; ok && k < n; k++) ok = (p[k] & 0xC0) == 0x80;
        if (ok && n == 3) {
            unsigned cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
            ok = cp >= 0x800 && !(cp >= 0xD800 && cp <= 0xDFFF);
        }
        if (ok && n == 4) {
            unsigned cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
            ok = cp >= 0x10000 && cp <= 0x10FFFF;
        }
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}


char *fedc_intent_result_to_json(const fedc_intent_result *r, const char *err_msg, int pretty) {
    json_t *root = json_object();
    if (!root) return NULL;
    json_object_set_new(root, "status", json_string(fedc_intent_status_name(r->status)));
    json_object_set_new(root, "backend", json_string(r->backend));
    if (!strcmp(r->backend, "llm") || r->llm_attempts) json_object_set_new(root, "llm_attempts", json_integer(r->llm_attempts));
    if (r->status == FEDC_INTENT_OK) {
        char *t = fedc_task_to_json(&r->task, 0);
        json_t *tv = t ? json_loads(t, 0, NULL) : NULL;
        free(t);
        json_object_set_new(root, "task", tv ? tv : json_null());
    }
    json_t *ex = json_array();
    for (int k = 0; ex && k < r->n_choices; k++) {
        const fedc_intent_choice *c = &r->choices[k];
        json_t *v = json_loads(c->value, JSON_DECODE_ANY, NULL);
        json_array_append_new(ex, json_pack("{s:s, s:o, s:s, s:s, s:s}", "field", c->field, "value",
                                            v ? v : json_null(), "source", fedc_intent_source_name(c->source),
                                            "reason", c->reason, "evidence", c->evidence));
    }
    json_object_set_new(root, "explanation", ex);
    json_t *unk = json_array();
    for (int k = 0; unk && k < r->n_unknown; k++) json_array_append_new(unk, json_string(r->unknown[k]));
    json_object_set_new(root, "not_understood", unk);
    json_t *notes = json_array();
    for (int k = 0; notes && k < r->n_notes; k++) json_array_append_new(notes, json_string(r->notes[k]));
    json_object_set_new(root, "notes", notes);
    json_t *goals = json_array();
    for (int k = 0; goals && k < r->n_goals; k++) json_array_append_new(goals, json_string(r->goals[k]));
    json_object_set_new(root, "goals", goals);
    if (r->status == FEDC_INTENT_CONFLICT || r->status == FEDC_INTENT_QUESTION) {
        const fedc_intent_question *q = &r->question;
        json_t *rd = json_array();
        for (int k = 0; rd && k < q->n_readings && k < FEDC_INTENT_MAX_READINGS; k++) {
            json_t *v = json_loads(q->readings[k].value, JSON_DECODE_ANY, NULL);
            json_array_append_new(rd, json_pack("{s:o, s:s, s:s}", "value", v ? v : json_string(q->readings[k].value),
                                                "reason", q->readings[k].reason, "answer", q->readings[k].answer));
        }
        json_object_set_new(root, "question", json_pack("{s:s, s:o}", "field", q->field, "readings",
                                                        rd ? rd : json_array()));
    }
    if (r->status != FEDC_INTENT_OK && err_msg) {
        char msg[FEDC_ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", err_msg);
        intent_utf8_sanitise(msg);
        json_object_set_new(root, "error", json_string(msg));
    }
    char *s = json_dumps(root, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_REAL_PRECISION(15));
    json_decref(root);
    return s;
}
