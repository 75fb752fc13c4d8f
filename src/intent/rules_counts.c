/* Clients and clients per round, read from the structure of the noun
 * phrases that count them rather than from the nearest number:
 *   "8 selected clients out of 64", "3 of the 12 clients", "sample 10 from
 *   100"                                  -> 8 / 3 / 10 per round of 64 / 12 / 100
 *   "Twelve clients, three of them chosen each round", "a third of them",
 *   "25% of them"                          -> per round, of the federation
 *   "all 25 of us every round", "every one of the 12 participants in each
 *   of 15 rounds", "all 40 clients take part"   -> 25 / 12 / 40, all per round
 *   "In each round, 6 clients are selected", "10 clients/round"
 *                                           -> 6 / 10 per round
 * "all N" with nothing saying every round is two readings (N clients, or N
 * clients all in every round) and is asked about when they differ. What is
 * left ("10 per round", "40 clients") goes to the number rules. */
#include <math.h>
#include <string.h>

#include "intent/intent_internal.h"

static int is_word(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && strcmp(c->it[i].text, w) == 0;
}

static int tok_is(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].t1 - c->it[i].t0 == 1 && strcmp(c->tok[c->it[i].t0].text, w) == 0;
}

static int free_num(const intent_ctx *c, int i) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_NUM && !c->it[i].used;
}

static int whole_count(const intent_ctx *c, int i) {
    /* floor, not a cast: "1e20 clients" must not overflow an integer */
    return free_num(c, i) && !(c->it[i].flags & (TK_PERCENT | TK_FRACTION)) && c->it[i].num >= 1 &&
           c->it[i].num == floor(c->it[i].num);
}

static int share_num(const intent_ctx *c, int i) {
    return free_num(c, i) && (c->it[i].flags & (TK_PERCENT | TK_FRACTION));
}

static int sentence_end(const intent_item *it) {
    return it->kind == IT_PUNCT && strchr(".;!?", it->text[0]);
}

static void sentence_of(const intent_ctx *c, int i, int *lo, int *hi) {
    int a = i, b = i;
    while (a > 0 && !sentence_end(&c->it[a - 1])) a--;
    while (b + 1 < c->nit && !sentence_end(&c->it[b + 1])) b++;
    *lo = a;
    *hi = b;
}

/* Words that say a client takes part in a round. */
static int participation_verb(const intent_ctx *c, int i) {
    static const char *const verbs[] = {"participate", "participates", "participating", "participated", "join",
                                        "joins", "involved", "selected", "sampled", "chosen", "picked", "contribute",
                                        "contributes", "contributing", "active", "drawn", "included", "involve",
                                        "involves", "involving", "train",
                                        "trains", "used", NULL};
    if (i < 0 || i >= c->nit) return 0;
    const char *w = c->tok[c->it[i].t0].text;
    if (c->it[i].kind != IT_WORD) return 0;
    for (int k = 0; verbs[k]; k++)
        if (!strcmp(w, verbs[k])) return 1;
    return is_word(c, i, "take") && is_word(c, i + 1, "part");
}

/* Verbs that pick clients for a round ("select 10 clients", "10 are
 * sampled"): a picked count is per round. */
static int selection_verb(const intent_ctx *c, int i) {
    static const char *const verbs[] = {"select", "selects", "selected", "selecting", "sample", "samples", "sampled",
                                        "sampling", "pick", "picks", "picked", "choose", "chooses", "chosen",
                                        "draw", "draws", "drawn", "participate", "participates", "participating",
                                        NULL};
    if (i < 0 || i >= c->nit || c->it[i].kind != IT_WORD) return 0;
    for (int k = 0; verbs[k]; k++)
        if (!strcmp(c->tok[c->it[i].t0].text, verbs[k])) return 1;
    return 0;
}

/* "each of (the) 15 rounds", "every one of the rounds": a per-round marker
 * made of a round count. Returns the last item of it, or -1. */
static int each_of_rounds(const intent_ctx *c, int i) {
    if (!(tok_is(c, i, "each") || tok_is(c, i, "every"))) return -1;
    int j = i + 1;
    if (j < c->nit && c->it[j].kind == IT_NUM && c->it[j].num == 1 && (c->it[j].flags & TK_WORDS)) j++; /* "one" */
    if (!is_word(c, j, "of")) return -1;
    j++;
    if (is_word(c, j, "the")) j++;
    if (j < c->nit && c->it[j].kind == IT_NUM) j++;
    return intent_is(c, j, C_ROUND) ? j : -1;
}

/* A marker that a count is per round, in items [lo, hi]: an unused "per
 * round" phrase or "each of the 15 rounds". */
static int per_round_marker(const intent_ctx *c, int lo, int hi) {
    for (int j = lo; j <= hi && j < c->nit; j++) {
        if (j < 0) continue;
        if (intent_is(c, j, C_PER_ROUND) && !c->it[j].used) return j;
        if (each_of_rounds(c, j) >= 0) return j;
    }
    return -1;
}

/* The client noun of a count at n: "N [adjectives] clients"; -1 if none. */
static int client_noun_after(const intent_ctx *c, int n) {
    for (int j = n + 1; j < c->nit && j <= n + 3; j++) {
        if (intent_is(c, j, C_CLIENT)) return j;
        const intent_item *it = &c->it[j];
        if (it->kind == IT_WORD && (it->wclass & (W_ADJ | W_VERB)) && !is_word(c, j, "of")) continue;
        /* "18 neighbourhood clinics", "24 GP surgeries": a word the vocabulary
         * does not know, before the noun, qualifies it */
        if (it->kind == IT_WORD && !(it->wclass & W_KNOWN) && !it->used) continue;
        if (selection_verb(c, j) || participation_verb(c, j)) continue;
        if (it->kind == IT_CONCEPT && (it->concept == C_IID || it->concept == C_NONIID || it->concept == C_STRONG ||
                                       it->concept == C_MILD || it->concept == C_PROF_LOGNORMAL))
            continue;
        return -1;
    }
    return -1;
}

/* Does a count of clients follow at j ("64", "64 clients", "the 64")? */
static int count_at(const intent_ctx *c, int j, int *last) {
    /* "the 64", "a pool of 240", "a total of 90" */
    for (int k = 0; k < 4 && (is_word(c, j, "the") || is_word(c, j, "our") || is_word(c, j, "all") ||
                              is_word(c, j, "a") || is_word(c, j, "pool") || is_word(c, j, "population") ||
                              is_word(c, j, "total") || is_word(c, j, "fleet") || is_word(c, j, "group") ||
                              is_word(c, j, "set") || is_word(c, j, "of"));
         k++)
        j++;
    if (!whole_count(c, j)) return -1;
    *last = j;
    int u = client_noun_after(c, j);
    if (u >= 0) *last = u;
    /* "8 out of 10 classes" counts something else */
    if (u < 0 && j + 1 < c->nit && c->it[j + 1].kind == IT_CONCEPT &&
        (intent_is(c, j + 1, C_CLASS) || intent_is(c, j + 1, C_ROUND) || intent_is(c, j + 1, C_EPOCH) ||
         intent_is(c, j + 1, C_SHARD) || intent_is(c, j + 1, C_STEP)))
        return -1;
    return j;
}

static int set_pair(intent_ctx *c, int n, int a, int m, int b, int share) {
    if (intent_set_int(c, "clients", m, RANK_WORDS, m, b, NULL) < 0) return -1;
    if (share) {
        intent_use(c, n);
        return intent_set_cpr_share(c, c->it[n].flags & TK_PERCENT ? c->it[n].num / 100 : c->it[n].num, a, m) < 0
                   ? -1
                   : 1;
    }
    return intent_set_int(c, "clients_per_round", n, RANK_WORDS, n, a, NULL) < 0 ? -1 : 1;
}

/* "N [selected clients] out of M", "N of the M clients", "N from (the) M". */
static int out_of(intent_ctx *c, int n) {
    int share = share_num(c, n);
    if (!whole_count(c, n) && !share) return 0;
    int j = n + 1, noun = -1;
    /* "8 selected clients out of 64", "10 clients from the 100", "12
     * devices per round from a pool of 240" */
    while (j < c->nit && j <= n + 5 &&
           (intent_is(c, j, C_CLIENT) || selection_verb(c, j) || participation_verb(c, j) ||
            (intent_is(c, j, C_PER_ROUND) && !c->it[j].used && noun >= 0) ||
            (c->it[j].kind == IT_WORD && (c->it[j].wclass & W_ADJ)))) {
        if (intent_is(c, j, C_CLIENT)) noun = j;
        j++;
    }
    int kind = 0; /* 1 "out of", 2 "of", 3 "from"/"among" */
    if (intent_is(c, j, C_OUT_OF)) kind = 1;
    else if (is_word(c, j, "of") && noun < 0) kind = 2;
    else if ((is_word(c, j, "from") || is_word(c, j, "among") || is_word(c, j, "amongst")) && noun >= 0) kind = 3;
    if (!kind) return 0;
    int last;
    int m = count_at(c, j + 1, &last);
    if (m < 0) return 0;
    /* "3 of the 12": per round only where the words pick clients */
    if (kind == 2 || kind == 3) {
        int lo, hi;
        sentence_of(c, n, &lo, &hi);
        int picks = per_round_marker(c, lo, hi) >= 0;
        for (int k = lo; k <= hi && !picks; k++) picks = selection_verb(c, k) || participation_verb(c, k);
        if (!picks && !(kind == 2 && client_noun_after(c, m) >= 0)) return 0;
        if (!picks) return 0;
    }
    for (int k = n + 1; k <= j; k++) intent_use(c, k);
    if (noun >= 0) intent_use(c, noun);
    for (int k = m + 1; k <= last; k++) intent_use(c, k);
    return set_pair(c, n, j, m, last, share);
}

/* The federation counted before item i ("Twelve clients, three of them"):
 * the nearest earlier noun phrase of clients decides what "them" is. */
static int other_count_noun(const intent_ctx *c, int j) {
    return intent_is(c, j, C_CLASS) || intent_is(c, j, C_ROUND) || intent_is(c, j, C_EPOCH) ||
           intent_is(c, j, C_SHARD) || intent_is(c, j, C_STEP) || intent_is(c, j, C_UNIT);
}

static int them_are_clients(const intent_ctx *c, int i) {
    for (int j = i - 1; j >= 0; j--) {
        if (intent_is(c, j, C_CLIENT) || intent_is(c, j, C_CLIENT_KEY)) return 1;
        if (other_count_noun(c, j)) return 0;
    }
    /* "10% of them each round, 300 clients in total": named after */
    for (int j = i + 1; j < c->nit; j++) {
        if (intent_is(c, j, C_CLIENT) || intent_is(c, j, C_CLIENT_KEY)) return 1;
        if (other_count_noun(c, j) && !intent_is(c, j, C_ROUND)) return 0;
    }
    return 0;
}

/* "three of them (chosen each round)", "a third of them", "25% of them",
 * "5 of us per round". */
static int of_them(intent_ctx *c, int n) {
    int share = share_num(c, n);
    if (!whole_count(c, n) && !share) return 0;
    if (!is_word(c, n + 1, "of")) return 0;
    int p = n + 2;
    int us = tok_is(c, p, "us");
    if (!(tok_is(c, p, "them") || tok_is(c, p, "those") || tok_is(c, p, "these") || us)) return 0;
    if (!us && !them_are_clients(c, n)) return 0;
    intent_use(c, n + 1);
    intent_use(c, p);
    /* the per-round words that follow belong to this count */
    int lo, hi;
    sentence_of(c, n, &lo, &hi);
    int mk = per_round_marker(c, p + 1, hi < p + 8 ? hi : p + 8);
    if (mk >= 0 && intent_is(c, mk, C_PER_ROUND)) intent_use(c, mk);
    for (int k = p + 1; k <= hi && k <= p + 6; k++)
        if (selection_verb(c, k) || participation_verb(c, k)) intent_use(c, k);
    if (share) {
        intent_use(c, n);
        return intent_set_cpr_share(c, c->it[n].flags & TK_PERCENT ? c->it[n].num / 100 : c->it[n].num, n, p) < 0
                   ? -1
                   : 1;
    }
    return intent_set_int(c, "clients_per_round", n, RANK_WORDS, n, mk >= 0 ? mk : p, NULL) < 0 ? -1 : 1;
}

/* "all 25 hospitals", "all 25 of us", "all of the 40 clients", "every one
 * of the 12 participants", "each of the 30 devices": the federation, and
 * all of it per round where the words say so. */
static int all_n(intent_ctx *c, int i) {
    int j = i;
    if (intent_is(c, i, C_ALL) && c->it[i].t1 - c->it[i].t0 == 1 && tok_is(c, i, "all")) {
        j = i + 1;
    } else if ((tok_is(c, i, "every") || tok_is(c, i, "each")) && c->it[i].kind == IT_WORD) {
        j = i + 1;
        /* "every single one of": "single" is a number word only when counted */
        if (is_word(c, j, "single") || (j < c->nit && c->it[j].kind == IT_NUM && (c->it[j].flags & TK_SINGLE))) {
            intent_use(c, j);
            j++;
        }
        if (j < c->nit && c->it[j].kind == IT_NUM && c->it[j].num == 1 && (c->it[j].flags & TK_WORDS)) {
            intent_use(c, j);
            j++;
        } else if (tok_is(c, i, "every")) {
            return 0; /* "every 5 rounds" is an interval */
        }
        if (!is_word(c, j, "of")) return 0;
    } else {
        return 0;
    }
    if (is_word(c, j, "of")) j++;
    if (is_word(c, j, "the") || is_word(c, j, "our") || is_word(c, j, "those") || is_word(c, j, "these")) j++;
    if (!whole_count(c, j)) return 0;
    int n = j, last = n;
    int u = client_noun_after(c, n);
    int us = 0;
    if (u >= 0) {
        last = u;
    } else if (is_word(c, n + 1, "of") && (tok_is(c, n + 2, "us") || tok_is(c, n + 2, "them"))) {
        us = tok_is(c, n + 2, "us");
        if (!us && !them_are_clients(c, n)) return 0;
        last = n + 2;
    } else if ((participation_verb(c, n + 1) || selection_verb(c, n + 1)) && tok_is(c, i, "all")) {
        /* "all 12 participate every round": the verb says they are clients */
        int lo, hi;
        sentence_of(c, i, &lo, &hi);
        if (per_round_marker(c, lo, hi) < 0) return 0;
        last = n;
    } else {
        return 0;
    }
    (void)us;
    int lo, hi;
    sentence_of(c, i, &lo, &hi);
    int mk = per_round_marker(c, lo, hi);
    int verb = 0;
    for (int k = lo; k <= hi && !verb; k++) verb = participation_verb(c, k) && !is_word(c, k, "train") && !is_word(c, k, "trains");
    for (int k = i; k <= last; k++) intent_use(c, k);
    if (intent_set_int(c, "clients", n, RANK_WORDS, i, last, NULL) < 0) return -1;
    if (mk >= 0 || verb) {
        if (mk >= 0 && intent_is(c, mk, C_PER_ROUND)) intent_use(c, mk);
        return intent_set_cpr_all(c, i, mk >= 0 && intent_is(c, mk, C_PER_ROUND) ? mk : last) < 0 ? -1 : 1;
    }
    /* "each of the 20 clients trains 2 epochs" speaks of every client, not
     * of rounds; "all 40 clients" and nothing about rounds may mean everyone
     * every round: asked when the two readings differ (resolve.c) */
    if (!tok_is(c, i, "all")) return 1;
    c->all_maybe = 1;
    c->all_maybe_start = intent_span_start(c, i);
    c->all_maybe_end = intent_span_end(c, last);
    return 1;
}

/* "the whole federation of 64 takes part in each of 10 rounds", "use the
 * entire federation of 32 in every round": the federation, all of it per
 * round where the words say so (else the two readings of "all N"). */
static int whole_federation(intent_ctx *c, int i) {
    if (!(tok_is(c, i, "whole") || tok_is(c, i, "entire") || tok_is(c, i, "full"))) return 0;
    int k = i + 1;
    if (!intent_is(c, k, C_CLIENT_KEY) || c->it[k].used) return 0;
    int n = k + 1;
    if (!whole_count(c, n)) return 0;
    int lo, hi;
    sentence_of(c, i, &lo, &hi);
    int mk = per_round_marker(c, lo, hi);
    int verb = 0;
    for (int j = lo; j <= hi && !verb; j++) verb = participation_verb(c, j) && !is_word(c, j, "train") && !is_word(c, j, "trains");
    for (int j = i; j <= n; j++) intent_use(c, j);
    if (intent_set_int(c, "clients", n, RANK_WORDS, i, n, NULL) < 0) return -1;
    if (mk >= 0 || verb) {
        if (mk >= 0 && intent_is(c, mk, C_PER_ROUND)) intent_use(c, mk);
        return intent_set_cpr_all(c, i, mk >= 0 && intent_is(c, mk, C_PER_ROUND) ? mk : n) < 0 ? -1 : 1;
    }
    c->all_maybe = 1;
    c->all_maybe_start = intent_span_start(c, i);
    c->all_maybe_end = intent_span_end(c, n);
    return 1;
}

/* Whether only stopwords ("in", "for", "then") stand between item m and
 * the start of its clause. */
static int opens_clause(const intent_ctx *c, int m) {
    for (int j = m - 1; j >= 0; j--) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_PUNCT && strchr(",;.!?:(", it->text[0])) return 1;
        if (it->kind == IT_WORD && (it->wclass & W_STOP) && !is_word(c, j, "and")) continue;
        return 0;
    }
    return 1;
}

/* "In each round, 6 clients are selected", "6 clients are sampled every
 * round", "each round we pick 6 clients", "10 clients/round". */
static int picked_per_round(intent_ctx *c, int n) {
    if (!whole_count(c, n) && !share_num(c, n)) return 0;
    int u = client_noun_after(c, n);
    if (u < 0) return 0;
    int lo, hi;
    sentence_of(c, n, &lo, &hi);
    /* right: "[are] [randomly] selected each round" */
    int mk = -1, verb = 0;
    for (int j = u + 1, d = 0; j <= hi && d < 5; j++) {
        if (intent_is(c, j, C_PER_ROUND) && !c->it[j].used) {
            mk = j;
            break;
        }
        if (each_of_rounds(c, j) >= 0) {
            mk = j;
            break;
        }
        const intent_item *it = &c->it[j];
        if (selection_verb(c, j) || participation_verb(c, j)) {
            verb = 1;
            continue;
        }
        /* a conjunction starts another clause: "75 clinics and we'd like each round ..." */
        if (is_word(c, j, "and") || is_word(c, j, "but") || is_word(c, j, "so") || is_word(c, j, "while") ||
            is_word(c, j, "then") || is_word(c, j, "where") || is_word(c, j, "which"))
            break;
        if (it->kind == IT_WORD && (it->wclass & (W_STOP | W_VERB | W_FILL))) continue;
        if (it->kind == IT_CONCEPT && it->concept == C_POL_RANDOM) continue;
        break;
    }
    /* left: "In each round, [we select]": the marker opens its clause, so
     * it is not the tail of another count ("10% participation per round,
     * with 50 devices") */
    if (mk < 0) {
        for (int j = n - 1, d = 0; j >= lo && d < 5; j--) {
            const intent_item *it = &c->it[j];
            if (intent_is(c, j, C_PER_ROUND) && !it->used) {
                if (opens_clause(c, j)) mk = j;
                break;
            }
            if (it->kind == IT_PUNCT && it->text[0] == ',') continue;
            if (selection_verb(c, j) || participation_verb(c, j)) {
                verb = 1;
                continue;
            }
            if (it->kind == IT_WORD && (it->wclass & (W_STOP | W_VERB | W_FILL))) {
                d++;
                continue;
            }
            if (it->kind == IT_CONCEPT && it->concept == C_POL_RANDOM) continue;
            break;
        }
    }
    if (mk < 0) return 0;
    (void)verb;
    for (int k = n + 1; k <= u; k++) intent_use(c, k);
    if (intent_is(c, mk, C_PER_ROUND)) intent_use(c, mk);
    int a = mk < n ? mk : n, b = mk > u ? mk : u;
    if (share_num(c, n)) {
        intent_use(c, n);
        return intent_set_cpr_share(c, c->it[n].flags & TK_PERCENT ? c->it[n].num / 100 : c->it[n].num, a, b) < 0
                   ? -1
                   : 1;
    }
    return intent_set_int(c, "clients_per_round", n, RANK_WORDS, a, b, NULL) < 0 ? -1 : 1;
}

/* Nouns a count may name that are never the federation: units of memory,
 * size and time, and parts of a model or a data set. */
static int never_clients(const char *w) {
    static const char *const words[] = {"gb", "mb", "kb", "tb", "gib", "mib", "kib", "tib", "byte", "gigabyte",
                                        "megabyte", "kilobyte", "terabyte", "bit", "ms", "sec", "min", "hr",
                                        "time", "times", "layer", "neuron", "filter", "channel", "feature",
                                        "image", "example", "row", "column", "file", "dimension", "parameter",
                                        "weight", "point", "digit", "letter", "word", "day", "week", "month",
                                        "year", "core", "thread", "cpu", "gpu_hour", "percent", "step",
                                        "candidate", "anchor", "miner", "attacker", "class", "label", NULL};
    for (int k = 0; words[k]; k++)
        if (!strcmp(w, words[k])) return 1;
    return 0;
}

/* A word that may stand between a count and its noun ("8 production
 * lines"): not a function word that starts another phrase. */
static int noun_modifier(const intent_ctx *c, int j) {
    static const char *const stops[] = {"and", "or", "of", "the", "a", "an", "in", "to", "with", "for", "per",
                                        "each", "every", "but", "so", "at", "on", "from", "by", "is", "are", NULL};
    if (j < 0 || j >= c->nit || c->it[j].kind != IT_WORD || c->it[j].used) return 0;
    for (int k = 0; stops[k]; k++)
        if (!strcmp(c->it[j].text, stops[k])) return 0;
    return 1;
}

static int plain_noun(const intent_ctx *c, int j) {
    if (j < 0 || j >= c->nit || c->it[j].kind != IT_WORD || (c->it[j].wclass & W_KNOWN) || c->it[j].used) return 0;
    const char *w = c->it[j].text;
    size_t len = strlen(w);
    if (len < 2 || never_clients(w)) return 0;
    for (size_t k = 0; k < len; k++)
        if (!((w[k] >= 'a' && w[k] <= 'z') || w[k] == '\'')) return 0;
    return 1;
}

/* A noun a count may name as the federation: a plain word (known or not)
 * that is no part of a setting's name. */
static int count_noun(const intent_ctx *c, int j) {
    if (plain_noun(c, j)) return 1;
    if (j < 0 || j >= c->nit || c->it[j].kind != IT_WORD || c->it[j].used ||
        (c->it[j].wclass & (W_FILL | W_FIELD | W_VERB | W_ADJ)))
        return 0;
    const char *w = c->it[j].text;
    size_t len = strlen(w);
    if (len < 3 || never_clients(w)) return 0;
    for (size_t k = 0; k < len; k++)
        if (!(w[k] >= 'a' && w[k] <= 'z')) return 0;
    return 1;
}

/* The federation named by a noun the vocabulary does not know ("15 farms",
 * "400 meters, 40 a round", "Eighteen neighbourhood clinics, nine per
 * round"): a plural noun counted by a whole number, in a request that picks
 * some of something each round and counts no clients by name. Every
 * occurrence of that noun then reads as the clients, so "Pick 10 farms each
 * round" and "Simulate the 30 stores" attach by the rules below. */
static void federation_nouns(intent_ctx *c);

/* "24 GP surgeries", "Seven NHS trusts": words the vocabulary does not know
 * between a count and its client noun qualify the noun, so the count
 * reaches it (they are still listed as not understood). */
static void client_modifiers(intent_ctx *c) {
    for (int k = 0; k < c->nit; k++) {
        if (!intent_is(c, k, C_CLIENT)) continue;
        int j = k - 1;
        while (j >= 0 && j >= k - 2 && plain_noun(c, j)) j--;
        if (j == k - 1 || !whole_count(c, j)) continue;
        for (int m = j + 1; m < k; m++) c->it[m].wclass |= W_ADJ;
    }
}

static void federation_nouns(intent_ctx *c) {
    int per_round = 0;
    for (int i = 0; i < c->nit; i++) {
        if (intent_is(c, i, C_PER_ROUND) || each_of_rounds(c, i) >= 0) per_round = 1;
        /* clients counted by their own name: the unknown noun is something else */
        if (intent_is(c, i, C_CLIENT) && ((i > 0 && c->it[i - 1].kind == IT_NUM) ||
                                          (i > 1 && c->it[i - 2].kind == IT_NUM && (c->it[i - 1].wclass & W_ADJ))))
            return;
        if (intent_is(c, i, C_CLIENT_KEY)) return;
    }
    for (int n = 0; n < c->nit; n++) {
        if (!whole_count(c, n) || c->it[n].num < 2) continue;
        int noun = -1;
        for (int j = n + 1; j <= n + 3 && noun_modifier(c, j); j++)
            if (count_noun(c, j)) noun = j;
        if (noun < 0) continue;
        /* "Simulate the 30 stores": the simulated parties are the clients */
        int simulated = 0;
        for (int j = n - 1; j >= 0 && j >= n - 2; j--)
            if (c->it[j].kind == IT_WORD && (!strcmp(c->tok[c->it[j].t0].text, "simulate") ||
                                             !strcmp(c->tok[c->it[j].t0].text, "simulating")))
                simulated = 1;
        if (!per_round && !simulated) continue;
        int end = intent_span_end(c, noun);
        if (end <= 0 || (c->text[end - 1] != 's' && c->text[end - 1] != 'S')) continue; /* a plural */
        char lemma[TOK_TEXT];
        intent_fmt(lemma, sizeof lemma, "%s", c->it[noun].text);
        for (int j = n + 1; j < noun; j++) {
            if (plain_noun(c, j)) continue; /* "GP surgeries": not understood, but qualifies */
            c->it[j].wclass |= W_ADJ;
            intent_use(c, j);
        }
        for (int k = 0; k < c->nit; k++)
            if (c->it[k].kind == IT_WORD && !strcmp(c->it[k].text, lemma)) {
                c->it[k].kind = IT_CONCEPT;
                c->it[k].concept = C_CLIENT;
            }
        char ev[64];
        intent_evidence(c, intent_span_start(c, noun), end, ev, sizeof ev);
        intent_note(c, "read \"%s\" as the clients (counted, and picked each round)", ev);
        return;
    }
}

/* "Every hospital should take part in every round", "both hospitals train
 * every round": every client (or the two there are) in every round, said
 * without a count. "Each client trains 2 epochs each round" speaks of
 * local work, not of who takes part: a local-work count in the sentence,
 * or training without "in every round", is not read this way. */
static int every_client_every_round(intent_ctx *c, int i) {
    int both = tok_is(c, i, "both");
    if (!(tok_is(c, i, "every") || both) || c->it[i].kind != IT_WORD || c->it[i].used) return 0;
    int noun = i + 1;
    if (!intent_is(c, noun, C_CLIENT) || c->it[noun].used) return 0;
    int lo, hi;
    sentence_of(c, i, &lo, &hi);
    int mk = per_round_marker(c, noun + 1, hi);
    if (mk < 0 || !intent_is(c, mk, C_PER_ROUND)) return 0;
    int verb = 0, train = 0;
    for (int k = noun + 1; k < mk; k++) {
        if (c->it[k].kind == IT_NUM || other_count_noun(c, k) || intent_is(c, k, C_EPOCH)) return 0;
        if (participation_verb(c, k) && !is_word(c, k, "train") && !is_word(c, k, "trains")) verb = 1;
        if (is_word(c, k, "train") || is_word(c, k, "trains")) train = 1;
    }
    for (int k = mk + 1; k <= hi; k++)
        if (intent_is(c, k, C_EPOCH) || intent_is(c, k, C_STEP)) return 0;
    /* "train in every round" names the rounds; "train every round" after
     * "both" is as explicit */
    int in_every = !strcmp(c->tok[c->it[mk].t0].text, "in");
    if (!verb && !(train && (in_every || both))) return 0;
    for (int k = i; k <= mk; k++)
        if (c->it[k].kind != IT_NUM) intent_use(c, k);
    if (both && intent_set(c, "clients", json_integer(2), RANK_WORDS, intent_span_start(c, i),
                           intent_span_end(c, noun), "\"both\": two clients") < 0)
        return -1;
    return intent_set_cpr_all(c, i, mk) < 0 ? -1 : 1;
}

/* Power of choice: "look at 50 candidates and keep the 25 with the highest
 * loss", "25 candidates, 10 chosen": the count kept from the candidates is
 * the clients per round. Only in a sentence that names candidates or the
 * loss the choice is made by. */
static int kept_from_candidates(intent_ctx *c, int n) {
    if (!whole_count(c, n)) return 0;
    int lo, hi;
    sentence_of(c, n, &lo, &hi);
    int candidates = 0, loss = 0;
    for (int k = lo; k <= hi; k++) {
        candidates |= intent_is(c, k, C_CANDIDATE) || intent_is(c, k, C_POL_POC);
        loss |= c->it[k].kind == IT_WORD && !strcmp(c->tok[c->it[k].t0].text, "loss");
    }
    if (!candidates && !loss) return 0;
    static const char *const keep[] = {"keep", "keeps", "kept", "keeping", "choose", "chooses", "select", "selects",
                                       "pick", "picks", "retain", "retains", NULL};
    int p = n - 1, first = n, last = n;
    if (is_word(c, p, "the") || is_word(c, p, "only")) p--;
    int before = 0;
    for (int k = 0; keep[k] && p >= 0; k++) before |= tok_is(c, p, keep[k]);
    /* "10 chosen", "10 selected" */
    int after = selection_verb(c, n + 1) && !intent_is(c, n + 2, C_PER_ROUND);
    if (!before && !after) return 0;
    if (before) first = p;
    if (after) last = n + 1;
    /* "with the highest loss": read with the count */
    int j = last + 1;
    if (is_word(c, j, "with") || is_word(c, j, "having")) {
        int e = j + 1;
        while (e <= hi && e < j + 5 && !(c->it[e].kind == IT_WORD && !strcmp(c->tok[c->it[e].t0].text, "loss"))) e++;
        if (e <= hi && e < j + 5) last = e;
    }
    for (int k = first; k <= last; k++)
        if (k != n && c->it[k].kind != IT_PUNCT && !intent_is(c, k, C_CLIENT)) intent_use(c, k);
    return intent_set_int(c, "clients_per_round", n, RANK_WORDS, first, last,
                          "the count kept from the candidates each round") < 0 ? -1 : 1;
}

/* "two out of every ten clients per round": a share of the clients. */
static int out_of_every(intent_ctx *c, int n) {
    if (!whole_count(c, n) || !intent_is(c, n + 1, C_OUT_OF) || !is_word(c, n + 2, "every") ||
        !whole_count(c, n + 3))
        return 0;
    double m = c->it[n + 3].num;
    if (c->it[n].num > m) return 0;
    int last = n + 3;
    if (intent_is(c, last + 1, C_CLIENT)) last++;
    for (int k = n + 1; k <= last; k++) intent_use(c, k);
    intent_use(c, n + 3);
    return intent_set_cpr_share(c, c->it[n].num / m, n, last) < 0 ? -1 : 1;
}

int intent_rules_counts(intent_ctx *c) {
    federation_nouns(c);
    client_modifiers(c);
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used) continue;
        if (all_n(c, i) < 0 || whole_federation(c, i) < 0) return -1;
        if (every_client_every_round(c, i) < 0) return -1;
    }
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_NUM) continue;
        if (out_of_every(c, i) < 0 || kept_from_candidates(c, i) < 0) return -1;
    }
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_NUM) continue;
        int rc = out_of(c, i);
        if (rc == 0) rc = of_them(c, i);
        if (rc < 0) return -1;
    }
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_NUM) continue;
        if (picked_per_round(c, i) < 0) return -1;
    }
    return c->failed ? -1 : 0;
}
