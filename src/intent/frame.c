/* The frame: every field the request sets, with the words that set it and
 * how strongly (rank). The rule that keeps the parser honest lives here:
 * two different values for one field from the words (directly, implied or
 * computed) are never resolved by picking one; the person is asked. Goals
 * only fill fields the words left open, and two goals that disagree are a
 * question too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/task/task_internal.h"
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

/* The field a message is about, when it starts with a task-field path. */
static void question_field(fedc_intent_result *r, const char *msg) {
    size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz_.");
    char path[48];
    if (n == 0 || n >= sizeof path || msg[n] != ':') return;
    memcpy(path, msg, n);
    path[n] = '\0';
    if (task_field_find(path)) snprintf(r->question.field, sizeof r->question.field, "%s", path);
}

static int raise(intent_ctx *c, fedc_intent_status st, const char *field, const char *fmt, va_list ap) {
    char msg[FEDC_ERROR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    c->failed = 1;
    c->out->status = st;
    memset(&c->out->question, 0, sizeof c->out->question);
    if (field)
        snprintf(c->out->question.field, sizeof c->out->question.field, "%s", field);
    else
        question_field(c->out, msg);
    return fedc_fail(c->err, "%s", msg);
}

int intent_ask(intent_ctx *c, const char *fmt, ...) {
    if (c->failed) return -1; /* the first question is the one asked */
    va_list ap;
    va_start(ap, fmt);
    int rc = raise(c, FEDC_INTENT_CONFLICT, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int intent_ask_which(intent_ctx *c, const char *field, const char *fmt, ...) {
    if (c->failed) return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = raise(c, FEDC_INTENT_QUESTION, field, fmt, ap);
    va_end(ap);
    return rc;
}

void intent_reading(intent_ctx *c, const char *field, const char *value_json, const char *reason) {
    fedc_intent_question *q = &c->out->question;
    if (q->n_readings >= FEDC_INTENT_MAX_READINGS) return;
    for (int k = 0; k < q->n_readings; k++)
        if (!strcmp(q->readings[k].value, value_json) && (!field || strstr(q->readings[k].answer, field))) return;
    fedc_intent_reading *rd = &q->readings[q->n_readings++];
    snprintf(rd->value, sizeof rd->value, "%s", value_json);
    snprintf(rd->reason, sizeof rd->reason, "%s", reason);
    /* strings go bare ("strategy.name=fedprox"): the key reader takes them so */
    const char *v = value_json;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
        snprintf(rd->answer, sizeof rd->answer, "actually %s=%.*s", field, (int)(n - 2), v + 1);
    else
        snprintf(rd->answer, sizeof rd->answer, "actually %s=%s", field, v);
    intent_utf8_sanitise(rd->value);
    intent_utf8_sanitise(rd->reason);
    intent_utf8_sanitise(rd->answer);
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

int intent_in_rejected_span(const intent_ctx *c, int pos) {
    for (int k = 0; k < c->nreject_span; k++)
        if (pos >= c->reject_start[k] && pos < c->reject_end[k]) return 1;
    return 0;
}

static void alt_from(intent_alt *a, json_t *value, slot_rank rank, int start, int end, const char *why) {
    a->value = value;
    a->rank = rank;
    a->start = start;
    a->end = end;
    snprintf(a->why, sizeof a->why, "%s", why ? why : "");
}

/* The question between two values of a field, with both as readings. */
static int ask_between(intent_ctx *c, const char *path, const json_t *v1, int s1, int e1, const json_t *v2, int s2,
                       int e2, int same_rank_words) {
    char a[96], b[96], va[96], vb[96];
    intent_evidence(c, s1, e1, a, sizeof a);
    intent_evidence(c, s2, e2, b, sizeof b);
    value_text(v1, va, sizeof va);
    value_text(v2, vb, sizeof vb);
    int rc;
    if (same_rank_words)
        rc = intent_ask(c, "%s: \"%s\" asks for %s but \"%s\" asks for %s. Which one did you mean?", path, a, va, b,
                        vb);
    else
        rc = intent_ask(c, "%s: \"%s\" and \"%s\" disagree (%s vs %s). Which one did you mean?", path, a, b, va, vb);
    char why[120];
    intent_fmt(why, sizeof why, "from \"%s\"", a);
    intent_reading(c, path, va, why);
    intent_fmt(why, sizeof why, "from \"%s\"", b);
    intent_reading(c, path, vb, why);
    return rc;
}

int intent_set(intent_ctx *c, const char *path, json_t *value, slot_rank rank, int start, int end,
               const char *why) {
    if (!value) return intent_ask(c, "out of memory while reading the request");
    if (c->failed) {
        json_decref(value);
        return -1;
    }
    /* "instead of plain averaging": a value turned down, not asked for */
    if (!c->settled && from_words(rank) && intent_in_rejected_span(c, start)) {
        if (c->nrejected >= FRAME_MAX_REJECTED) {
            json_decref(value);
            return 0;
        }
        intent_rejected *rj = &c->rejected[c->nrejected++];
        snprintf(rj->path, sizeof rj->path, "%s", path);
        rj->value = value;
        rj->start = start;
        rj->end = end;
        return 0;
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
    int competing = (from_words(rank) && from_words(s->rank)) || rank == s->rank;
    if (competing && !c->settled) {
        /* kept until every rule has run: a correction or a rejection may decide */
        for (int k = 0; k < s->nalt; k++)
            if (json_equal(s->alt[k].value, value)) {
                if (rank > s->alt[k].rank) alt_from(&s->alt[k], s->alt[k].value, rank, start, end, why);
                json_decref(value);
                return 0;
            }
        if (s->nalt >= SLOT_MAX_ALTS) {
            int rc = ask_between(c, path, s->value, s->start, s->end, value, start, end, from_words(rank));
            json_decref(value);
            return rc;
        }
        alt_from(&s->alt[s->nalt++], value, rank, start, end, why);
        return 0;
    }
    if (competing) {
        int rc = ask_between(c, path, s->value, s->start, s->end, value, start, end,
                             from_words(rank) && from_words(s->rank));
        json_decref(value);
        return rc;
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

/* ---- settling the candidates of each field ---- */

typedef struct {
    json_t *value;
    slot_rank rank;
    int start, end;
    const char *why;
    int out;
} candidate;

static int rejected_value(const intent_ctx *c, const char *path, const json_t *v) {
    for (int k = 0; k < c->nrejected; k++)
        if (!strcmp(c->rejected[k].path, path) && json_equal(c->rejected[k].value, v)) return k;
    return -1;
}

/* A correction ("actually", "no wait", "make that") between the end of a
 * and the start of b. */
static int corrected_between(const intent_ctx *c, int a_end, int b_start) {
    for (int k = 0; k < c->ncorrection; k++)
        if (c->correction[k] >= a_end && c->correction[k] <= b_start) return 1;
    return 0;
}

static int settle_slot(intent_ctx *c, int k) {
    intent_slot *s = &c->slot[k];
    candidate cand[SLOT_MAX_ALTS + 1];
    int n = 0;
    cand[n++] = (candidate){s->value, s->rank, s->start, s->end, s->why, 0};
    for (int a = 0; a < s->nalt; a++)
        cand[n++] = (candidate){s->alt[a].value, s->alt[a].rank, s->alt[a].start, s->alt[a].end, s->alt[a].why, 0};
    int left = n, rej = -1;
    for (int i = 0; i < n; i++) {
        int r = rejected_value(c, s->path, cand[i].value);
        if (r >= 0) {
            cand[i].out = 1;
            rej = r;
            left--;
        }
    }
    if (left == 0) {
        char ev[96], v[96];
        intent_evidence(c, c->rejected[rej].start, c->rejected[rej].end, ev, sizeof ev);
        value_text(c->rejected[rej].value, v, sizeof v);
        return intent_ask_which(c, s->path, "%s: \"%s\" turns %s down but no other value is given. Which %s do you "
                                            "want?", s->path, ev, v, s->path);
    }
    /* a later value after a correction replaces the earlier one */
    for (int i = 0; i < n && left > 1; i++) {
        if (cand[i].out) continue;
        for (int j = 0; j < n; j++)
            if (j != i && !cand[j].out && cand[j].start >= cand[i].end && corrected_between(c, cand[i].end, cand[j].start)) {
                cand[i].out = 1;
                left--;
                break;
            }
    }
    if (left > 1) {
        int first = -1, second = -1;
        for (int i = 0; i < n; i++)
            if (!cand[i].out) {
                if (first < 0) first = i;
                else if (second < 0) second = i;
            }
        /* in the order the words come */
        if (cand[second].start < cand[first].start) {
            int t = first;
            first = second;
            second = t;
        }
        int rc = ask_between(c, s->path, cand[first].value, cand[first].start, cand[first].end, cand[second].value,
                             cand[second].start, cand[second].end,
                             from_words(cand[first].rank) && from_words(cand[second].rank));
        for (int i = 0; i < n; i++)
            if (!cand[i].out && i != first && i != second) {
                char v[96], ev[96], why[120];
                value_text(cand[i].value, v, sizeof v);
                intent_evidence(c, cand[i].start, cand[i].end, ev, sizeof ev);
                intent_fmt(why, sizeof why, "from \"%s\"", ev);
                intent_reading(c, s->path, v, why);
            }
        return rc;
    }
    int keep = 0;
    while (cand[keep].out) keep++;
    if (keep > 0 || s->nalt > 0) {
        /* note what was set aside, then keep the one value */
        for (int i = 0; i < n; i++) {
            if (i == keep) continue;
            char v[96], ev[96];
            value_text(cand[i].value, v, sizeof v);
            intent_evidence(c, cand[i].start, cand[i].end, ev, sizeof ev);
            intent_note(c, "%s: %s from \"%s\" was %s", s->path, v, ev,
                        rejected_value(c, s->path, cand[i].value) >= 0 ? "turned down (instead of / rather than)"
                                                                       : "corrected later in the request");
        }
        candidate kept = cand[keep];
        char why[240];
        snprintf(why, sizeof why, "%s", kept.why);
        for (int i = 0; i < n; i++)
            if (i != keep) json_decref(cand[i].value);
        s->value = kept.value;
        s->rank = kept.rank;
        s->start = kept.start;
        s->end = kept.end;
        snprintf(s->why, sizeof s->why, "%s", why);
        s->nalt = 0;
    }
    return 0;
}

/* The default value of path in the defaults document. */
static json_t *default_of(json_t *defaults, const char *path) {
    const char *dot = strchr(path, '.');
    if (!dot) return json_object_get(defaults, path);
    char group[32];
    snprintf(group, sizeof group, "%.*s", (int)(dot - path), path);
    return json_object_get(json_object_get(defaults, group), dot + 1);
}

int intent_settle(intent_ctx *c) {
    for (int k = 0; k < c->nslot && !c->failed; k++)
        if (settle_slot(c, k) < 0) return -1;
    /* "instead of fedavg" with nothing in its place would leave the field at
     * the very value turned down */
    fedc_task d;
    fedc_task_defaults(&d);
    char *txt = fedc_task_to_json(&d, 0);
    json_t *defaults = txt ? json_loads(txt, 0, NULL) : NULL;
    free(txt);
    for (int r = 0; r < c->nrejected && !c->failed; r++) {
        const intent_rejected *rj = &c->rejected[r];
        if (intent_slot_find(c, rj->path)) continue;
        json_t *dv = default_of(defaults, rj->path);
        if (!dv || !json_equal(dv, rj->value)) continue;
        char ev[96], v[96];
        intent_evidence(c, rj->start, rj->end, ev, sizeof ev);
        value_text(rj->value, v, sizeof v);
        intent_ask_which(c, rj->path, "%s: \"%s\" turns %s down but no other value is given. Which %s do you want?",
                         rj->path, ev, v, rj->path);
    }
    json_decref(defaults);
    c->settled = 1;
    return c->failed ? -1 : 0;
}
