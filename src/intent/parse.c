/* fedc_intent_parse: the embedded parser's pipeline (see intent_internal.h)
 * plus the two checks that keep it from guessing: a negation next to
 * something the rules used is a question ("don't use adam" is not
 * understood as "use adam"), and every word or number no rule used is
 * reported. */
#include <stdlib.h>
#include <string.h>

#include "intent/intent_internal.h"

/* "not"/"don't"/"without" right before a used keyword: the rules read the
 * keyword as wanted, which is the opposite of what was said. */
static int negations(intent_ctx *c) {
    for (int i = 0; i < c->nit; i++) {
        if (!intent_is(c, i, C_NEGATION) || c->it[i].used) continue;
        int j = i + 1;
        while (j < c->nit && c->it[j].kind == IT_WORD &&
               (!strcmp(c->it[j].text, "use") || !strcmp(c->it[j].text, "the") || !strcmp(c->it[j].text, "a") ||
                !strcmp(c->it[j].text, "any") || !strcmp(c->it[j].text, "an")))
            j++;
        if (j < c->nit && c->it[j].used && c->it[j].kind != IT_PUNCT) {
            /* "sgd, not adam": the field has another value from the words */
            int elsewhere = 0;
            for (int r = 0; r < c->nrejected; r++)
                if (c->rejected[r].start >= intent_span_start(c, j) && c->rejected[r].start < intent_span_end(c, j) &&
                    intent_slot_find(c, c->rejected[r].path))
                    elsewhere = 1;
            if (elsewhere) {
                c->it[i].used = 1;
                continue;
            }
            char ev[96];
            intent_evidence(c, intent_span_start(c, i), intent_span_end(c, j), ev, sizeof ev);
            return intent_ask(c, "\"%s\": I cannot tell what the negation changes. Please say what you want "
                                 "instead (e.g. \"use sgd\" rather than \"don't use adam\").",
                              ev);
        }
        c->it[i].used = 1; /* a negation of something not understood: the word is reported instead */
    }
    return 0;
}

static void add_unknown(fedc_intent_result *r, const char *text) {
    for (int k = 0; k < r->n_unknown; k++)
        if (!strcmp(r->unknown[k], text)) return;
    if (r->n_unknown >= FEDC_INTENT_MAX_WORDS) return;
    intent_fmt(r->unknown[r->n_unknown], sizeof r->unknown[0], "%s", text);
    intent_utf8_sanitise(r->unknown[r->n_unknown]);
    r->n_unknown++;
}

static void unknown_words(intent_ctx *c) {
    for (int i = 0; i < c->nit; i++) {
        const intent_item *it = &c->it[i];
        if (it->used || intent_in_rejected_span(c, intent_span_start(c, i))) continue;
        int report = 0;
        switch (it->kind) {
        case IT_WORD: report = !(it->wclass & W_STOP); break;
        case IT_NUM: case IT_PATH: case IT_SPEC: report = 1; break;
        case IT_CONCEPT: report = !(intent_concept_flags(it->concept) & CF_OPTIONAL) && it->concept != C_GOAL; break;
        default: break;
        }
        if (!report) continue;
        char text[96];
        intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), text, sizeof text);
        add_unknown(c->out, text);
    }
}

/* "no, double it", "halve it", "triple that": arithmetic on a value said
 * before, which no rule reads; running the old value would be a silent
 * misreading, so it is a question. */
static int arithmetic_words(intent_ctx *c) {
    static const char *const verbs[] = {"double", "doubled", "halve", "halved", "triple", "tripled", "quadruple", NULL};
    for (int i = 0; i + 1 < c->nit; i++) {
        const intent_item *it = &c->it[i];
        if (it->used || it->kind != IT_WORD) continue;
        int verb = 0;
        for (int k = 0; verbs[k]; k++) verb |= !strcmp(c->tok[it->t0].text, verbs[k]);
        const char *next = c->tok[c->it[i + 1].t0].text;
        if (!verb || c->it[i + 1].kind != IT_WORD || (strcmp(next, "it") && strcmp(next, "that") && strcmp(next, "this")))
            continue;
        char ev[96];
        intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i + 1), ev, sizeof ev);
        return intent_ask_which(c, NULL,
                                "\"%s\": I do not work out new values from old ones, so no task was made. Please give "
                                "the new value with its setting, e.g. \"actually rounds=40\".",
                                ev);
    }
    return 0;
}

/* A number no rule read almost always means a setting was missed: the task
 * would run without it. That is a question, never a silent default. */
static int unread_numbers(intent_ctx *c) {
    for (int i = 0; i < c->nit; i++) {
        const intent_item *it = &c->it[i];
        /* "none of the sampled clients": a count of zero, as much a number as "0" */
        int none_of = it->kind == IT_WORD && !strcmp(it->text, "none") && i + 1 < c->nit &&
                      c->it[i + 1].kind == IT_WORD && !strcmp(c->it[i + 1].text, "of");
        if (it->used || (it->kind != IT_NUM && !none_of) || intent_in_rejected_span(c, intent_span_start(c, i))) continue;
        if (it->flags & TK_SINGLE) continue; /* "a single seed": a word, unless something counts it */
        int a = i, b = i;
        for (int k = 0; k < 3 && a > 0 && !(c->it[a - 1].kind == IT_PUNCT && strchr(".;!?\n", c->it[a - 1].text[0])); k++) a--;
        for (int k = 0; k < 3 && b + 1 < c->nit && !(c->it[b + 1].kind == IT_PUNCT && strchr(".;!?", c->it[b + 1].text[0])); k++) b++;
        char num[96], ctx[96];
        intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), num, sizeof num);
        intent_evidence(c, intent_span_start(c, a), intent_span_end(c, b), ctx, sizeof ctx);
        return intent_ask_which(c, NULL,
                                "\"%s\" (in \"%s\"): I could not tell which setting this number is for, so no task "
                                "was made. Please say it with its setting, e.g. \"%s rounds\" or \"rounds=%s\".",
                                num, ctx, num, num);
    }
    return 0;
}

static void corrections(intent_ctx *c) {
    for (int k = 0; k < c->nit; k++) {
        const intent_item *it = &c->it[k];
        if (!it->used || (it->kind != IT_CONCEPT && it->kind != IT_WORD) || it->raw) continue;
        for (int i = it->t0; i < it->t1; i++)
            if (c->tok[i].flags & TK_CORRECTED)
                intent_note(c, "read \"%s\" as \"%s\"", c->tok[i].orig, c->tok[i].text);
    }
}

int fedc_intent_parse(const char *request, fedc_intent_result *out, fedc_error *err) {
    intent_result_init(out, "builtin");
    if (!request) {
        out->status = FEDC_INTENT_INPUT;
        return fedc_fail(err, "request: missing");
    }
    size_t len = strnlen(request, FEDC_INTENT_REQUEST_MAX + 1);
    if (len > FEDC_INTENT_REQUEST_MAX) {
        out->status = FEDC_INTENT_INPUT;
        return fedc_fail(err, "request: longer than %d bytes; describe the task in fewer words", FEDC_INTENT_REQUEST_MAX);
    }
    size_t k = 0;
    while (k < len && (request[k] == ' ' || request[k] == '\t' || request[k] == '\n' || request[k] == '\r')) k++;
    if (k == len) {
        out->status = FEDC_INTENT_INPUT;
        return fedc_fail(err, "request: empty; describe the task, e.g. \"train a small CNN on fashion-mnist "
                              "across 50 clients for 40 rounds\"");
    }
    intent_ctx *c = calloc(1, sizeof *c);
    int max = (int)len + 2;
    intent_tok *tok = calloc((size_t)max, sizeof *tok);
    intent_item *it = calloc((size_t)max, sizeof *it);
    if (!c || !tok || !it) {
        free(c);
        free(tok);
        free(it);
        out->status = FEDC_INTENT_INPUT;
        return fedc_fail(err, "out of memory");
    }
    c->text = request;
    c->len = len;
    c->tok = tok;
    c->it = it;
    c->out = out;
    c->err = err;
    int rc = -1;
    c->ntok = intent_lex(request, len, tok, max, err);
    if (c->ntok < 0) {
        out->status = FEDC_INTENT_INPUT;
        goto done;
    }
    intent_number_words(tok, c->ntok);
    intent_lexicon_normalise(tok, c->ntok);
    intent_items_build(c);
    intent_find_overrides(c);
    if (intent_rules_keys(c) < 0 || intent_rules_text(c) < 0 || intent_rules_data(c) < 0 ||
        intent_rules_model(c) < 0 || intent_rules_codec(c) < 0 || intent_rules_choices(c) < 0 ||
        intent_rules_schedule(c) < 0 || intent_rules_memory(c) < 0 ||
        intent_rules_quorum(c) < 0 || intent_rules_described_early(c) < 0 || intent_rules_counts(c) < 0 ||
        intent_rules_numbers(c) < 0 || intent_rules_methods(c) < 0 || intent_rules_leaf_keys(c) < 0 ||
        intent_rules_schedule_late(c) < 0 || intent_rules_quorum_late(c) < 0 || intent_rules_goals(c) < 0 ||
        intent_elided_corrections(c) < 0 || intent_rules_described(c) < 0 || intent_rules_vague(c) < 0 ||
        negations(c) < 0 || intent_check_pending_keys(c) < 0)
        goto done;
    unknown_words(c);
    corrections(c);
    if (intent_unread_corrections(c) < 0 || arithmetic_words(c) < 0 || unread_numbers(c) < 0) goto done;
    if (intent_resolve(c) < 0) goto done;
    out->status = FEDC_INTENT_OK;
    rc = 0;
done:
    for (int s = 0; s < c->nslot; s++) {
        json_decref(c->slot[s].value);
        for (int a = 0; a < c->slot[s].nalt; a++) json_decref(c->slot[s].alt[a].value);
    }
    for (int r = 0; r < c->nrejected; r++) json_decref(c->rejected[r].value);
    if (rc < 0 && out->status == FEDC_INTENT_OK) out->status = FEDC_INTENT_CONFLICT;
    free(c);
    free(tok);
    free(it);
    return rc;
}
