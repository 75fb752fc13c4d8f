/* Tokens -> items, and the helpers rules use to look around an item. An
 * item is one concept phrase ("learning rate"), one number, path, spec,
 * punctuation mark or leftover word. Rules look for a keyword's number to
 * its right ("lr 0.1", "batches of 64") and a unit's number to its left
 * ("40 rounds", "5 local epochs"), skipping only filler words, never
 * crossing a comma or a sentence end. */
#include <string.h>

#include "intent/intent_internal.h"

int intent_items_build(intent_ctx *c) {
    /* drop tokens swallowed by number words */
    int n = 0;
    for (int i = 0; i < c->ntok; i++)
        if (!c->tok[i].merged) c->tok[n++] = c->tok[i];
    c->ntok = n;
    c->nit = 0;
    for (int i = 0; i < n;) {
        intent_item *it = &c->it[c->nit++];
        memset(it, 0, sizeof *it);
        it->t0 = i;
        it->text = c->tok[i].text;
        const intent_phrase *ph = NULL;
        int len = 0;
        if (c->tok[i].kind == TK_WORD || c->tok[i].kind == TK_PUNCT) len = intent_phrase_match(c->tok, n, i, &ph);
        if (len > 0) {
            it->kind = IT_CONCEPT;
            it->concept = ph->concept;
            it->arg = ph->arg;
            i += len;
        } else {
            switch (c->tok[i].kind) {
            case TK_NUM:
                it->kind = IT_NUM;
                it->num = c->tok[i].num;
                it->flags = c->tok[i].flags;
                break;
            case TK_PATH: it->kind = IT_PATH; break;
            case TK_SPEC:
                it->kind = IT_SPEC;
                it->flags = c->tok[i].flags;
                break;
            case TK_PUNCT:
                it->kind = IT_PUNCT;
                it->wclass = intent_word_class(c->tok[i].text);
                break;
            default:
                it->kind = IT_WORD;
                it->wclass = intent_word_class(c->tok[i].text);
                break;
            }
            i++;
        }
        it->t1 = i;
    }
    return 0;
}

int intent_is(const intent_ctx *c, int i, concept_id k) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_CONCEPT && c->it[i].concept == k;
}

int intent_span_start(const intent_ctx *c, int i) {
    return c->tok[c->it[i].t0].start;
}

int intent_span_end(const intent_ctx *c, int i) {
    return c->tok[c->it[i].t1 - 1].end;
}

void intent_use(intent_ctx *c, int i) {
    if (i >= 0 && i < c->nit) c->it[i].used = 1;
}

static int is_sentence_end(const intent_item *it) {
    return it->kind == IT_PUNCT && strchr(".;!?", it->text[0]);
}

static int is_clause_end(const intent_item *it) {
    return it->kind == IT_PUNCT && strchr(".;!?,", it->text[0]);
}

static int is_filler(const intent_item *it) {
    if (it->kind == IT_WORD || it->kind == IT_PUNCT) return (it->wclass & W_FILL) != 0;
    return it->kind == IT_CONCEPT && it->concept == C_FILLER_PHRASE;
}

int intent_num_after(const intent_ctx *c, int i, int maxskip) {
    int skipped = 0;
    for (int j = i + 1; j < c->nit; j++) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_NUM) return it->used ? -1 : j;
        if (!is_filler(it) || ++skipped > maxskip) return -1;
    }
    return -1;
}

/* Words that may stand between a count and its unit: "5 local epochs",
 * "100 IID clients", "20 more rounds". */
static int is_adjective(const intent_item *it) {
    if (it->kind == IT_WORD) return (it->wclass & W_ADJ) != 0;
    if (it->kind != IT_CONCEPT) return 0;
    switch (it->concept) {
    case C_IID: case C_NONIID: case C_STRONG: case C_MILD: case C_MODERATE: case C_LOCAL:
    case C_FILLER_PHRASE: case C_OPT_SGD: case C_OPT_ADAM: case C_OPT_ADAMW: /* "2 local SGD epochs" */
        return 1;
    default:
        return 0;
    }
}

int intent_num_before(const intent_ctx *c, int i, int maxskip) {
    int skipped = 0;
    for (int j = i - 1; j >= 0; j--) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_NUM) return it->used ? -1 : j;
        if (!is_adjective(it) || ++skipped > maxskip) return -1;
    }
    return -1;
}

static int is_meaningless(const intent_item *it) {
    if (it->kind == IT_WORD) return (it->wclass & W_STOP) != 0;
    if (it->kind == IT_PUNCT) return !is_sentence_end(it) && it->text[0] != ',';
    return it->kind == IT_CONCEPT && it->concept == C_FILLER_PHRASE;
}

int intent_next(const intent_ctx *c, int i) {
    for (int j = i + 1; j < c->nit; j++) {
        if (is_sentence_end(&c->it[j])) return -1;
        if (!is_meaningless(&c->it[j])) return j;
    }
    return -1;
}

int intent_prev(const intent_ctx *c, int i) {
    for (int j = i - 1; j >= 0; j--) {
        if (is_sentence_end(&c->it[j])) return -1;
        if (!is_meaningless(&c->it[j])) return j;
    }
    return -1;
}

int intent_same_sentence(const intent_ctx *c, int a, int b) {
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    for (int j = a + 1; j < b; j++)
        if (is_sentence_end(&c->it[j])) return 0;
    return 1;
}

int intent_near(const intent_ctx *c, int i, concept_id k, int dist) {
    int best = -1, bestd = dist + 1;
    /* right */
    int d = 0;
    for (int j = i + 1; j < c->nit && d <= dist; j++) {
        if (is_clause_end(&c->it[j])) break;
        if (is_meaningless(&c->it[j])) continue;
        d++;
        if (intent_is(c, j, k) && d < bestd) {
            best = j;
            bestd = d;
            break;
        }
    }
    d = 0;
    for (int j = i - 1; j >= 0 && d <= dist; j--) {
        if (is_clause_end(&c->it[j])) break;
        if (is_meaningless(&c->it[j])) continue;
        d++;
        if (intent_is(c, j, k) && d <= bestd) {
            best = j;
            bestd = d;
            break;
        }
    }
    return best;
}
