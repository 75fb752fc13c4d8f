/* Overrides: the words a person uses to change their mind inside one
 * request. Two kinds, found before the rules run:
 *   - rejections: "instead of X", "rather than X", "in place of X", "as
 *     opposed to X", "not X": what X would set is turned down (frame.c
 *     keeps it out of the task; a field left at the very value turned
 *     down is a question);
 *   - corrections: "actually", "no wait", "make that", "I mean", "or
 *     rather", "scratch that", "X instead": a value given after one of
 *     these replaces a different value the words gave the same field
 *     before it.
 * Without these words two values for one field stay a question. */
#include <string.h>

#include "intent/intent_internal.h"

static int word_at(const intent_ctx *c, int i, const char *w) {
    if (i < 0 || i >= c->nit) return 0;
    const intent_item *it = &c->it[i];
    /* a phrase item ("no wait") starts with its first word */
    return (it->kind == IT_WORD || it->kind == IT_CONCEPT) && it->t1 - it->t0 >= 1 &&
           strcmp(c->tok[it->t0].text, w) == 0 && (it->kind == IT_WORD || it->t1 - it->t0 == 1);
}

static int tok_word(const intent_ctx *c, int t, const char *w) {
    return t >= 0 && t < c->ntok && c->tok[t].kind == TK_WORD && strcmp(c->tok[t].text, w) == 0;
}

static int is_clause_end(const intent_ctx *c, int i) {
    const intent_item *it = &c->it[i];
    if (it->kind == IT_PUNCT) return strchr(",;.!?()", it->text[0]) != NULL;
    if (it->kind != IT_WORD) return 0;
    static const char *const ends[] = {"and", "but", "so", "then", "while", "use", "using", "with", "please",
                                       "for", "keep", "go", NULL};
    for (int k = 0; ends[k]; k++)
        if (!strcmp(it->text, ends[k])) return 1;
    return 0;
}

/* Whether a line break separates item i from the one before it. */
static int newline_before(const intent_ctx *c, int i) {
    if (i <= 0) return 1;
    int a = intent_span_end(c, i - 1), b = intent_span_start(c, i);
    for (int p = a; p < b && p < (int)c->len; p++)
        if (c->text[p] == '\n') return 1;
    return 0;
}

static void add_reject(intent_ctx *c, int from, int to) {
    if (c->nreject_span >= FRAME_MAX_SPANS || from > to) return;
    c->reject_start[c->nreject_span] = intent_span_start(c, from);
    c->reject_end[c->nreject_span] = intent_span_end(c, to);
    c->nreject_span++;
}

static void add_correction(intent_ctx *c, int pos) {
    if (c->ncorrection < FRAME_MAX_SPANS) c->correction[c->ncorrection++] = pos;
}

/* The span rejected after a marker ending at item m: up to the clause end,
 * at most 8 items. */
static void reject_after(intent_ctx *c, int m) {
    int first = m + 1, last = -1;
    for (int j = first; j < c->nit && j < first + 8; j++) {
        if (is_clause_end(c, j) || (j > first && newline_before(c, j))) break;
        last = j;
    }
    if (last >= first) add_reject(c, first, last);
}

/* "not adam", "don't use 30 rounds": the next item that means something,
 * with the unit of a number. */
static void reject_negated(intent_ctx *c, int m) {
    /* "don't start until ...", "never start before ...": the negation is
     * about when to start; what follows the condition word is wanted */
    static const char *const when[] = {"until", "till", "before", "unless", NULL};
    for (int k = m + 1; k < c->nit && k <= m + 4 && !is_clause_end(c, k); k++)
        for (int w = 0; when[w]; w++)
            if (word_at(c, k, when[w])) return;
    int j = m + 1;
    while (j < c->nit && ((c->it[j].kind == IT_WORD && (c->it[j].wclass & W_STOP)) ||
                          (c->it[j].kind == IT_PUNCT && c->it[j].text[0] == '"')))
        j++;
    if (j >= c->nit || is_clause_end(c, j)) return;
    int last = j;
    if (c->it[j].kind == IT_NUM && j + 1 < c->nit && c->it[j + 1].kind == IT_CONCEPT) last = j + 1;
    add_reject(c, j, last);
}

/* Start of the clause holding item i (byte offset). */
static int clause_start(const intent_ctx *c, int i) {
    int j = i;
    while (j > 0) {
        const intent_item *p = &c->it[j - 1];
        if (p->kind == IT_PUNCT && strchr(",;.!?", p->text[0])) break;
        if (newline_before(c, j)) break;
        j--;
    }
    return intent_span_start(c, j);
}

void intent_find_overrides(intent_ctx *c) {
    for (int i = 0; i < c->nit; i++) {
        const intent_item *it = &c->it[i];
        if (word_at(c, i, "instead") && word_at(c, i + 1, "of")) {
            reject_after(c, i + 1);
            i++;
        } else if (word_at(c, i, "instead")) {
            /* "use 40 instead": the clause it ends replaces what came before */
            add_correction(c, clause_start(c, i));
        } else if (word_at(c, i, "rather") && word_at(c, i + 1, "than")) {
            reject_after(c, i + 1);
            i++;
        } else if (word_at(c, i, "rather")) {
            add_correction(c, intent_span_start(c, i)); /* "30, or rather 40" */
        } else if (word_at(c, i, "in") && word_at(c, i + 1, "place") && word_at(c, i + 2, "of")) {
            reject_after(c, i + 2);
            i += 2;
        } else if (word_at(c, i, "as") && word_at(c, i + 1, "opposed") && word_at(c, i + 2, "to")) {
            reject_after(c, i + 2);
            i += 2;
        } else if (it->kind == IT_CONCEPT && it->concept == C_NEGATION) {
            if (tok_word(c, it->t0, "no") && i + 1 < c->nit && c->it[i + 1].kind == IT_PUNCT &&
                strchr(",;", c->it[i + 1].text[0]))
                add_correction(c, intent_span_start(c, i)); /* "30 rounds, no, 40" */
            else
                reject_negated(c, i);
        } else if (word_at(c, i, "actually") || word_at(c, i, "oops") || word_at(c, i, "sorry") ||
                   (word_at(c, i, "scratch") && word_at(c, i + 1, "that"))) {
            add_correction(c, intent_span_start(c, i));
        } else if ((word_at(c, i, "correction") || word_at(c, i, "update") || word_at(c, i, "edit")) &&
                   i + 1 < c->nit && c->it[i + 1].kind == IT_PUNCT && strchr(":,", c->it[i + 1].text[0]) &&
                   /* "Update: ..." opens its sentence; "at least 3 updates, otherwise" does not */
                   (i == 0 || (c->it[i - 1].kind == IT_PUNCT && strchr(".;!?(", c->it[i - 1].text[0])) ||
                    newline_before(c, i))) {
            add_correction(c, intent_span_start(c, i));
        } else if (it->kind == IT_CONCEPT && tok_word(c, it->t0, "no") && tok_word(c, it->t0 + 1, "wait")) {
            add_correction(c, intent_span_start(c, i)); /* "no wait" */
        } else if ((word_at(c, i, "make") || word_at(c, i, "change")) && (word_at(c, i + 1, "that") || word_at(c, i + 1, "it"))) {
            add_correction(c, intent_span_start(c, i));
        } else if ((word_at(c, i, "bump") || word_at(c, i, "raise") || word_at(c, i, "lower") ||
                    word_at(c, i, "increase") || word_at(c, i, "reduce") || word_at(c, i, "change")) &&
                   (word_at(c, i + 1, "that") || word_at(c, i + 1, "it") || word_at(c, i + 1, "this")) &&
                   word_at(c, i + 2, "to")) {
            add_correction(c, intent_span_start(c, i)); /* "0.2 - bump it to 0.3" */
        } else if (word_at(c, i, "wait") && i + 1 < c->nit && c->it[i + 1].kind == IT_PUNCT &&
                   strchr(",:", c->it[i + 1].text[0])) {
            add_correction(c, intent_span_start(c, i)); /* "2 classes each; wait, 3" */
        } else if ((word_at(c, i, "er") || word_at(c, i, "erm") || word_at(c, i, "um") || word_at(c, i, "uh")) &&
                   ((i > 0 && c->it[i - 1].kind == IT_PUNCT) || (i + 1 < c->nit && c->it[i + 1].kind == IT_PUNCT))) {
            add_correction(c, intent_span_start(c, i)); /* "fedyogi - er, fedadam", "seed 1, er, seed 7" */
        } else if ((word_at(c, i, "change") && word_at(c, i + 1, "of") && word_at(c, i + 2, "plan")) ||
                   (word_at(c, i, "on") && word_at(c, i + 1, "reflection"))) {
            add_correction(c, intent_span_start(c, i));
        } else if (word_at(c, i, "i") && (word_at(c, i + 1, "mean") || word_at(c, i + 1, "meant"))) {
            add_correction(c, intent_span_start(c, i));
        } else if (word_at(c, i, "second") && word_at(c, i + 1, "thought")) {
            add_correction(c, intent_span_start(c, i));
        }
    }
}

/* Words that may stand between a correction and its bare number: "make it
 * 40", "actually, no, 40", "I mean 40". */
static int correction_filler(const intent_ctx *c, int i) {
    static const char *const words[] = {"make", "it", "that", "change", "to", "no", "wait", "actually", "rather",
                                        "or", "i", "mean", "meant", "sorry", "oops", "let's", "say", "go",
                                        "with", "instead", "correction", "update", "edit", "for", "use", "do",
                                        "we", "want", "please", "just", "scratch", "second", "thought", "on",
                                        "oops", "hmm", "er", "um", "okay", "ok", "bump", "raise", "lower", "increase",
                                        "reduce", "this", "plan", "reflection", "erm", "uh", NULL};
    const intent_item *it = &c->it[i];
    if (it->kind == IT_PUNCT) return strchr(",:;-!\"", it->text[0]) != NULL;
    if (it->kind == IT_CONCEPT && it->concept == C_FILLER_PHRASE) return 1; /* "no wait" */
    if (it->kind == IT_CONCEPT && it->concept == C_NEGATION) return 1;
    if (it->kind != IT_WORD) return 0;
    for (int k = 0; words[k]; k++)
        if (!strcmp(c->tok[it->t0].text, words[k])) return 1;
    return 0;
}

int intent_elided_corrections(intent_ctx *c) {
    for (int n = 0; n < c->nit && !c->failed; n++) {
        const intent_item *num = &c->it[n];
        if (num->kind != IT_NUM || num->used) continue;
        int start = intent_span_start(c, n);
        /* the correction this number follows, with only fillers between */
        int marker = -1;
        for (int k = 0; k < c->ncorrection; k++)
            if (c->correction[k] < start && c->correction[k] > marker) marker = c->correction[k];
        /* "instead of 30 rounds, go for 60": the field turned down */
        const intent_rejected *rj = NULL;
        for (int k = 0; k < c->nrejected; k++)
            if (c->rejected[k].end <= start && c->rejected[k].end > marker && json_is_number(c->rejected[k].value)) {
                rj = &c->rejected[k];
                marker = rj->end;
            }
        if (marker < 0) continue;
        int ok = 1;
        for (int j = n - 1; j >= 0 && intent_span_start(c, j) >= marker && ok; j--) ok = correction_filler(c, j);
        if (!ok) continue;
        /* the number the words gave last before the correction */
        intent_slot *best = NULL;
        for (int s = 0; s < c->nslot && !rj; s++) {
            intent_slot *sl = &c->slot[s];
            if (sl->rank < RANK_IMPLIED || sl->end > marker || !json_is_number(sl->value)) continue;
            if (!best || sl->end > best->end) best = sl;
        }
        if (!best && !rj) continue;
        int a = n;
        while (a > 0 && intent_span_start(c, a - 1) >= marker) a--;
        for (int j = a; j < n; j++) intent_use(c, j);
        char path[48];
        snprintf(path, sizeof path, "%s", rj ? rj->path : best->path);
        if (json_is_integer(rj ? rj->value : best->value)) {
            if (intent_set_int(c, path, n, RANK_WORDS, a, n, "a correction of the value given before it") < 0)
                return -1;
        } else if (intent_set_real(c, path, num->flags & TK_PERCENT ? num->num / 100 : num->num, RANK_WORDS, a, n,
                                   "a correction of the value given before it") < 0) {
            return -1;
        }
        intent_use(c, n);
    }
    return c->failed ? -1 : 0;
}

/* Whether item i carries meaning of its own (not a stopword, not a
 * structure word such as "round" or "data"). */
static int meaningful(const intent_ctx *c, int i) {
    const intent_item *it = &c->it[i];
    switch (it->kind) {
    case IT_WORD: return !(it->wclass & W_STOP);
    case IT_NUM: case IT_PATH: case IT_SPEC: return 1;
    case IT_CONCEPT:
        return !(intent_concept_flags(it->concept) & CF_OPTIONAL) && it->concept != C_FILLER_PHRASE &&
               it->concept != C_NEGATION;
    default: return 0;
    }
}

/* "No wait, make the deadline shorter", "actually drop nesterov", "no,
 * double it": a correction whose words no rule read changes something the
 * parser cannot tell; running the value given before it would be a silent
 * misreading, so it is a question. */
int intent_unread_corrections(intent_ctx *c) {
    for (int k = 0; k < c->ncorrection; k++) {
        int pos = c->correction[k], first = -1;
        for (int i = 0; i < c->nit; i++)
            if (intent_span_start(c, i) >= pos) {
                first = i;
                break;
            }
        if (first < 0) continue;
        for (int i = first, d = 0; i < c->nit && d < 10; i++, d++) {
            const intent_item *it = &c->it[i];
            if (it->kind == IT_PUNCT && strchr(".!?", it->text[0])) break;
            if (i > first && newline_before(c, i)) break;
            if (it->used || !meaningful(c, i) || correction_filler(c, i)) continue;
            if (intent_in_rejected_span(c, intent_span_start(c, i))) continue;
            char ev[96], w[64];
            int e = i;
            while (e + 1 < c->nit && e < i + 6 && !(c->it[e + 1].kind == IT_PUNCT && strchr(".!?;", c->it[e + 1].text[0])))
                e++;
            intent_evidence(c, pos, intent_span_end(c, e), ev, sizeof ev);
            intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), w, sizeof w);
            return intent_ask_which(c, NULL,
                                    "\"%s\": I could not tell what this correction changes (\"%s\" is not "
                                    "understood), so no task was made. Please give the new value with its setting, "
                                    "e.g. \"actually rounds=40\".",
                                    ev, w);
        }
    }
    return 0;
}
