/* The frame: every field the request sets, with the words that set it and
 * how strongly (rank). The rule that keeps the parser honest lives here:
 * two different values for one field from the words (directly, implied or
 * computed) are never resolved by picking one; the person is asked. Goals
 * only fill fields the words left open, and two goals that disagree are a
 * question too. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "intent/intent_internal.h"

intent_slot *intent_slot_find(intent_ctx *c, const char *path) {
    for (int k = 0; k < c->nslot; k++)
        if (strcmp(c->slot[k].path, path) == 0) return &c->slot[k];
    return NULL;
}

void intent_evidence(const intent_ctx *c, int start, int end, char *out, size_t cap) {
    if (start < 0) start = 0;
    if (end > (int)c->len) end = (int)c->len;
    while (start < end && (c->text[start] == ' ' || c->text[start] == ',')) start++;
    while (end > start && strchr(" ,.;:", c->text[end - 1])) end--;
    size_t n = end > start ? (size_t)(end - start) : 0;
    const size_t max = 72;
    size_t o = 0;
    for (size_t k = 0; k < n && k < max && o + 1 < cap; k++) {
        unsigned char ch = (unsigned char)c->text[start + (int)k];
        out[o++] = (ch < 0x20 || ch == 0x7F) ? ' ' : (char)ch;
    }
    if (n > max && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    intent_utf8_sanitise(out);
}

int intent_ask(intent_ctx *c, const char *fmt, ...) {
    if (c->failed) return -1; /* the first question is the one asked */
    char msg[FEDC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->failed = 1;
    c->out->status = FEDC_INTENT_CONFLICT;
    return fedc_fail(c->err, "%s", msg);
}

void intent_note(intent_ctx *c, const char *fmt, ...) {
    fedc_intent_result *r = c->out;
    if (r->n_notes >= FEDC_INTENT_MAX_NOTES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes[r->n_notes], sizeof r->notes[0], fmt, ap);
    va_end(ap);
    intent_utf8_sanitise(r->notes[r->n_notes]);
    r->n_notes++;
}

static void value_text(const json_t *v, char *out, size_t cap) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
    snprintf(out, cap, "%s", s ? s : "?");
    free(s);
}

/* Words, implied and derived values all come from what the person said. */
static int from_words(slot_rank r) {
    return r == RANK_WORDS || r == RANK_IMPLIED || r == RANK_DERIVED;
}

int intent_set(intent_ctx *c, const char *path, json_t *value, slot_rank rank, int start, int end,
               const char *why) {
    if (!value) return intent_ask(c, "out of memory while reading the request");
    if (c->failed) {
        json_decref(value);
        return -1;
    }
    intent_slot *s = intent_slot_find(c, path);
    if (!s) {
        if (c->nslot >= FRAME_MAX_SLOTS) {
            json_decref(value);
            return intent_ask(c, "the request sets more than %d fields; split it up", FRAME_MAX_SLOTS);
        }
        s = &c->slot[c->nslot++];
        memset(s, 0, sizeof *s);
        snprintf(s->path, sizeof s->path, "%s", path);
        s->value = value;
        s->rank = rank;
        s->start = start;
        s->end = end;
        snprintf(s->why, sizeof s->why, "%s", why ? why : "");
        return 0;
    }
    if (json_equal(s->value, value)) {
        if (rank > s->rank) { /* the stronger evidence explains it */
            s->rank = rank;
            s->start = start;
            s->end = end;
            snprintf(s->why, sizeof s->why, "%s", why ? why : "");
        }
        json_decref(value);
        return 0;
    }
    char a[96], b[96], va[96], vb[96];
    intent_evidence(c, s->start, s->end, a, sizeof a);
    intent_evidence(c, start, end, b, sizeof b);
    value_text(s->value, va, sizeof va);
    value_text(value, vb, sizeof vb);
    if (from_words(rank) && from_words(s->rank)) {
        json_decref(value);
        return intent_ask(c, "%s: \"%s\" asks for %s but \"%s\" asks for %s. Which one did you mean?", path, a,
                          va, b, vb);
    }
    if (rank == s->rank) {
        json_decref(value);
        return intent_ask(c, "%s: \"%s\" and \"%s\" disagree (%s vs %s). Which one did you mean?", path, a, b, va,
                          vb);
    }
    if (rank > s->rank) {
        json_decref(s->value);
        s->value = value;
        s->rank = rank;
        s->start = start;
        s->end = end;
        snprintf(s->why, sizeof s->why, "%s", why ? why : "");
        return 0;
    }
    json_decref(value);
    return 0; /* weaker than what is there (goals note this themselves) */
}
