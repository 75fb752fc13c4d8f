/* Learning-rate schedules said in prose, without the schedule's name
 * (rules_choices.c reads the named ones: "cosine", "step decay", "warm-up"):
 *
 *   "halve the client learning rate every twenty rounds"   step, gamma 0.5, every 20
 *   "cut the local lr to a tenth every 30 rounds"          step, gamma 0.1, every 30
 *   "step server lr: x0.8 every 15 rounds"                 step on the server, gamma 0.8
 *   "multiply it by 0.9 every 5 rounds", "divide it by 10 every 30 rounds",
 *   "reduce it by 10% every 10 rounds"                      gamma 0.9, 0.1, 0.9
 *   "start(ing) at 0.1" beside a learning rate              the learning rate itself
 *   a cosine schedule's floor: "floor 0.001", "bring it down to 0.005 by
 *   the last round", "down to 10% of that"                  lr_min
 *
 * Structure, not proximity: a step needs "every N rounds", a factor and
 * nothing but learning-rate words (or "it" for one named in the sentence
 * before) in its clause; a start value needs "start ... at N" with only
 * learning-rate words between. The side (the clients' learning rate or the
 * server's) is the clause's; with a server optimizer named and no side
 * said, the person is asked. A decrease "by 0.1" that could be a factor or
 * an amount taken off is asked about too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intent/intent_internal.h"

static int is_word(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && !strcmp(c->it[i].text, w);
}

static int word_in(const intent_ctx *c, int i, const char *const *ws) {
    for (int k = 0; ws[k]; k++)
        if (is_word(c, i, ws[k])) return 1;
    return 0;
}

static int word_prefix(const intent_ctx *c, int i, const char *p) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && !strncmp(c->it[i].text, p, strlen(p));
}

static int free_num(const intent_ctx *c, int i) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_NUM && !c->it[i].used;
}

static int ends_sentence(const intent_ctx *c, int i) {
    return c->it[i].kind == IT_PUNCT && strchr(".;!?\n", c->it[i].text[0]);
}

static int ends_clause(const intent_ctx *c, int i) {
    return c->it[i].kind == IT_PUNCT && strchr(",;.!?\n", c->it[i].text[0]);
}

static void sentence_of(const intent_ctx *c, int i, int *lo, int *hi) {
    *lo = i;
    *hi = i;
    while (*lo > 0 && !ends_sentence(c, *lo - 1)) (*lo)--;
    while (*hi + 1 < c->nit && !ends_sentence(c, *hi + 1)) (*hi)++;
}

static void clause_of(const intent_ctx *c, int i, int *lo, int *hi) {
    *lo = i;
    *hi = i;
    while (*lo > 0 && !ends_clause(c, *lo - 1)) (*lo)--;
    while (*hi + 1 < c->nit && !ends_clause(c, *hi + 1)) (*hi)++;
}

static int is_lr(const intent_ctx *c, int j) {
    return intent_is(c, j, C_LR) || intent_is(c, j, C_SERVER_LR);
}

/* Words that refer back to a learning rate named earlier ("halve it"). */
static int is_pronoun(const intent_ctx *c, int j) {
    static const char *const w[] = {"it", "that", "this", NULL};
    return word_in(c, j, w);
}

/* The learning-rate phrase the words at item i are about: the nearest in
 * its sentence, else the last of the sentence before ("the client learning
 * rate needs to come down. Start at 0.1 and halve it ..."); -1 if none. */
static int lr_about(const intent_ctx *c, int i) {
    int lo, hi, best = -1;
    sentence_of(c, i, &lo, &hi);
    for (int j = lo; j <= hi; j++)
        if (is_lr(c, j) && (best < 0 || abs(j - i) < abs(best - i))) best = j;
    if (best >= 0 || lo < 2) return best;
    int plo, phi;
    sentence_of(c, lo - 2, &plo, &phi);
    for (int j = phi; j >= plo; j--)
        if (is_lr(c, j)) return j;
    return -1;
}

/* The side of the learning rate at item lr (its clause first, then that of
 * the words at item i). */
static int side_at(const intent_ctx *c, int lr, int i) {
    int s = lr >= 0 ? intent_lr_side(c, lr) : 0;
    return s ? s : intent_lr_side(c, i);
}

/* Sets the schedule field leaf on the side's group(s): local.LEAF and/or
 * strategy.server_LEAF. num >= 0: an integer count from that item; else
 * str (a text) or v (a real). */
static int set_side(intent_ctx *c, int side, const char *leaf, const char *str, int num, double v, slot_rank rank,
                    int a, int b, const char *why) {
    for (int g = 0; g < 2; g++) {
        if (g == 0 && side == 1) continue;
        if (g == 1 && side != 1 && side != 2) continue;
        char path[64];
        intent_fmt(path, sizeof path, "%s%s", g ? "strategy.server_" : "local.", leaf);
        int rc = str ? intent_set_str(c, path, str, rank, a, b, why)
                 : num >= 0 ? intent_set_int(c, path, num, rank, a, b, why)
                            : intent_set_real(c, path, v, rank, a, b, why);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Verbs of a schedule, read once the schedule is: never left as words not
 * understood. */
static const char *const schedule_verbs[] = {
    "halve", "halved", "halving", "halves", "cut", "cuts", "reduce", "reduced", "reducing", "reduces", "decay",
    "decayed", "decaying", "decays", "drop", "dropped", "dropping", "drops", "lower", "lowered", "lowering",
    "decrease", "decreased", "decreasing", "multiply", "multiplied", "multiplying", "divide", "divided", "dividing",
    "scale", "scaled", "scaling", "shrink", "shrunk", "anneal", "annealed", "annealing", "bring", "brought", "take",
    "taken", "it", "that", "this", "times", "by", "to", "factor", "of", "a", "an", "the", "and", "then", "every",
    "gamma", "down", "schedule", NULL};

/* Whether the verb before item k in the clause [lo, k) says how a "by"
 * works: 'm' multiply/scale, 'd' divide, 'k' decay (a factor, the usual
 * sense of "decay by 0.1"), 'r' reduce/cut/lower/drop (a factor or an
 * amount), 0 none. */
static int verb_before(const intent_ctx *c, int lo, int k) {
    for (int j = k - 1; j >= lo; j--) {
        if (word_prefix(c, j, "multipl") || word_prefix(c, j, "scal")) return 'm';
        if (word_prefix(c, j, "divid")) return 'd';
        if (word_prefix(c, j, "decay") || word_prefix(c, j, "anneal") ||
            (intent_is(c, j, C_WD) && !strcmp(c->it[j].text, "decay")))
            return 'k';
        if (word_prefix(c, j, "reduc") || word_prefix(c, j, "cut") || word_prefix(c, j, "lower") ||
            word_prefix(c, j, "drop") || word_prefix(c, j, "decreas") || word_prefix(c, j, "shr"))
            return 'r';
    }
    return 0;
}

/* The factor the clause [lo, hi] multiplies a learning rate by, in *v,
 * with its items [*fa, *fb]. 1 found, 0 none, 2 two readings (*v and *alt). */
static int step_factor(const intent_ctx *c, int lo, int hi, double *v, double *alt, int *fa, int *fb) {
    for (int k = lo; k <= hi; k++) {
        const intent_item *it = &c->it[k];
        if (word_prefix(c, k, "halv") && !it->used) {
            *v = 0.5;
            *fa = *fb = k;
            return 1;
        }
        if (it->kind == IT_NUM && !it->used && (it->flags & TK_FACTOR)) {
            *v = it->num;
            *fa = *fb = k;
            return 1;
        }
        /* "to a tenth", "to 10%", "to 0.5 of its value": what is left */
        if (is_word(c, k, "to") && free_num(c, k + 1) && (c->it[k + 1].flags & (TK_FRACTION | TK_PERCENT))) {
            *v = c->it[k + 1].flags & TK_PERCENT ? c->it[k + 1].num / 100.0 : c->it[k + 1].num;
            *fa = k;
            *fb = k + 1;
            return 1;
        }
        if ((is_word(c, k, "times") || is_word(c, k, "gamma")) && free_num(c, k + 1)) {
            *v = c->it[k + 1].num;
            *fa = k;
            *fb = k + 1;
            return 1;
        }
        if (!is_word(c, k, "by")) continue;
        int j = k + 1, factor_of = 0;
        if (is_word(c, j, "a") || is_word(c, j, "an")) j++;
        if (is_word(c, j, "factor")) {
            factor_of = 1;
            j++;
            if (is_word(c, j, "of")) j++;
        }
        if (!free_num(c, j) || j > hi) continue;
        const intent_item *n = &c->it[j];
        double x = n->flags & TK_PERCENT ? n->num / 100.0 : n->num;
        int verb = verb_before(c, lo, k);
        *fa = k;
        *fb = j;
        if (factor_of || verb == 'd') {
            if (x <= 0) return 0;
            *v = x > 1 ? 1.0 / x : x;
            return 1;
        }
        if (verb == 'm') {
            *v = x;
            return 1;
        }
        if (x <= 0 || x >= 1) return 0;
        /* a share taken off: "by 10%", "by half", "by a third" */
        if (n->flags & (TK_PERCENT | TK_FRACTION)) {
            *v = 1.0 - x;
            return 1;
        }
        /* "decay by 0.1": the factor, as schedulers name it */
        if (verb == 'k') {
            *v = x;
            return 1;
        }
        *v = x;
        *alt = 1.0 - x;
        return 2;
    }
    return 0;
}

/* "halve the client learning rate every twenty rounds": item e is "every". */
static int step_in_prose(intent_ctx *c, int e) {
    if (!is_word(c, e, "every") || c->it[e].used) return 0;
    int n = e + 1, r = e + 2;
    if (!free_num(c, n) || !(c->it[n].flags & TK_INTEGER) || (c->it[n].flags & (TK_PERCENT | TK_FRACTION)) ||
        !intent_is(c, r, C_ROUND) || c->it[r].used)
        return 0;
    int lo, hi;
    clause_of(c, e, &lo, &hi);
    double v = 0, alt = 0;
    int fa = -1, fb = -1;
    int found = step_factor(c, lo, hi, &v, &alt, &fa, &fb);
    if (!found) return 0;
    /* the clause holds the schedule only: learning-rate and side words, the
     * verbs, "it", and the learning rate's own value */
    int lr = -1, pronoun = 0;
    for (int k = lo; k <= hi; k++) {
        if ((k >= fa && k <= fb) || (k >= e && k <= r)) continue;
        const intent_item *it = &c->it[k];
        if (is_lr(c, k)) {
            lr = k;
            continue;
        }
        if (is_pronoun(c, k)) pronoun = 1;
        if (it->kind == IT_NUM) {
            if (it->used || (k > 0 && is_lr(c, k - 1)) || (k > 1 && is_lr(c, k - 2) && c->it[k - 1].kind != IT_CONCEPT))
                continue;
            return 0;
        }
        if (it->kind != IT_CONCEPT || it->used) continue;
        /* a method named in the clause takes no number ("with FedAvgM") */
        if ((it->concept >= C_S_FEDAVG && it->concept <= C_S_DADAO && it->concept != C_RHO &&
             it->concept != C_ANCHOR_PROB && it->concept != C_FEATURE_SKEW && it->concept != C_EVAL_PERSONAL) ||
            (it->concept >= C_OPT_SGD && it->concept <= C_OPT_MFAC))
            continue;
        if (intent_is(c, k, C_SERVER) || intent_is(c, k, C_LOCAL) || intent_is(c, k, C_LR_STEP) ||
            intent_is(c, k, C_FILLER_PHRASE) || (intent_is(c, k, C_WD) && !strcmp(it->text, "decay")) ||
            (intent_is(c, k, C_STEP) && !strcmp(it->text, "step")))
            continue;
        return 0;
    }
    if (lr < 0 && pronoun) lr = lr_about(c, e);
    /* "lr 0.2, halved every 40 rounds": the clause opens with the verb and
     * the learning rate ends the clause before it */
    if (lr < 0 && fa == lo && lo >= 2 && c->it[lo - 1].kind == IT_PUNCT && c->it[lo - 1].text[0] == ',') {
        int plo, phi;
        clause_of(c, lo - 2, &plo, &phi);
        for (int k = phi; k >= plo && lr < 0; k--)
            if (is_lr(c, k)) lr = k;
    }
    if (lr < 0) return 0;
    int side = side_at(c, lr, e);
    if (intent_lr_two_owners(c, side)) return intent_lr_ask_side(c, e, "lr_schedule", "\"step\"");
    char ev[96];
    intent_evidence(c, intent_span_start(c, fa < e ? fa : e), intent_span_end(c, fb > r ? fb : r), ev, sizeof ev);
    if (found == 2) {
        char a[40], b[40];
        intent_fmt(a, sizeof a, "%g", v);
        intent_fmt(b, sizeof b, "%g", alt);
        char leaf[40];
        intent_fmt(leaf, sizeof leaf, "%s", side == 1 ? "strategy.server_lr_gamma" : "local.lr_gamma");
        int rc = intent_ask_which(c, leaf,
                                  "%s: \"%s\" could multiply the learning rate by %s, or take %s off it each time "
                                  "(a factor of %s). Which did you mean? (e.g. \"multiply it by %s\")",
                                  leaf, ev, a, a, b, a);
        intent_reading(c, leaf, a, "the learning rate is multiplied by this factor");
        intent_reading(c, leaf, b, "the learning rate loses this share each time");
        return rc;
    }
    /* evidence: the factor, "every N rounds" and the learning rate when it
     * is in the clause (the setters mark the ends read) */
    int first = fa < e ? fa : e, last = fb > r ? fb : r;
    if (lr >= lo && lr < first) first = lr;
    for (int k = lo; k <= hi; k++) {
        const intent_item *it = &c->it[k];
        if ((k >= fa && k <= fb) || (k >= e && k <= r) || word_in(c, k, schedule_verbs) ||
            intent_is(c, k, C_SERVER) || intent_is(c, k, C_LOCAL) || intent_is(c, k, C_LR_STEP) ||
            (intent_is(c, k, C_WD) && !strcmp(it->text, "decay")) || (intent_is(c, k, C_STEP) && !strcmp(it->text, "step")))
            intent_use(c, k);
    }
    intent_use_lr_words(c, lr);
    if (set_side(c, side, "lr_schedule", "step", -1, 0, RANK_WORDS, first, last, NULL) < 0) return -1;
    if (set_side(c, side, "lr_gamma", NULL, -1, v, RANK_WORDS, fa, fb, NULL) < 0) return -1;
    return set_side(c, side, "lr_step_rounds", NULL, n, 0, RANK_WORDS, e, r, NULL) < 0 ? -1 : 1;
}

/* "starting at 0.1", "start the server lr at 0.05", "start at 0.1 and
 * halve it": the learning rate a schedule starts from. */
static int start_at(intent_ctx *c, int s) {
    static const char *const starts[] = {"start", "starting", "starts", "begin", "beginning", "begins", NULL};
    if (!word_in(c, s, starts) || c->it[s].used) return 0;
    int lr = -1, j = s + 1;
    for (int d = 0; j < c->nit && d < 6; j++, d++) {
        if (is_lr(c, j)) {
            if (c->it[j].used) return 0;
            lr = j;
            continue;
        }
        if (is_word(c, j, "at") || is_word(c, j, "from")) break;
        if (c->it[j].kind == IT_WORD && (c->it[j].wclass & W_STOP)) continue;
        if (intent_is(c, j, C_SERVER) || intent_is(c, j, C_LOCAL)) continue;
        return 0;
    }
    if (!is_word(c, j, "at") && !is_word(c, j, "from")) return 0;
    int n = j + 1;
    if (!free_num(c, n) || (c->it[n].flags & (TK_PERCENT | TK_ORDINAL | TK_FACTOR))) return 0;
    /* "start at 5 clients", "starting from round 3": a count, not a rate */
    if (n + 1 < c->nit && c->it[n + 1].kind == IT_CONCEPT && !is_lr(c, n + 1) &&
        !intent_is(c, n + 1, C_LR_COSINE) && !intent_is(c, n + 1, C_LR_STEP))
        return 0;
    if (lr < 0) lr = lr_about(c, s);
    /* "a cosine schedule on the clients, beginning at 0.2": the schedule
     * names the learning rate */
    if (lr < 0) {
        int lo, hi;
        sentence_of(c, s, &lo, &hi);
        for (int k = lo; k <= hi && lr < 0; k++)
            if (intent_is(c, k, C_LR_COSINE) || intent_is(c, k, C_LR_STEP) || intent_is(c, k, C_WARMUP)) lr = k;
    }
    if (lr < 0) return 0;
    int side = side_at(c, lr, s);
    if (intent_lr_two_owners(c, side)) {
        char v[40];
        intent_fmt(v, sizeof v, "%g", c->it[n].num);
        return intent_lr_ask_side(c, s, "lr", v);
    }
    intent_use(c, j);
    if (lr > s && lr < n) intent_use(c, lr);
    for (int k = s; k < n; k++)
        if (is_pronoun(c, k)) intent_use(c, k);
    /* "server_" + "lr" is the server's learning rate */
    return set_side(c, side, "lr", NULL, -1, c->it[n].num, RANK_WORDS, s, n, NULL) < 0 ? -1 : 1;
}

static const char *slot_text(intent_ctx *c, const char *path) {
    intent_slot *s = intent_slot_find(c, path);
    return s && json_is_string(s->value) ? json_string_value(s->value) : NULL;
}

/* The side whose schedule is cosine: 1 server, -1 local, 2 both, 0 none. */
static int cosine_side(intent_ctx *c) {
    const char *l = slot_text(c, "local.lr_schedule"), *s = slot_text(c, "strategy.server_lr_schedule");
    int local = l && !strcmp(l, "cosine"), server = s && !strcmp(s, "cosine");
    return local && server ? 2 : server ? 1 : local ? -1 : 0;
}

/* "10% of that", "a tenth of the starting value": a share of the learning
 * rate the schedule starts from, after number item n; the last item in *end. */
static int share_of_start(const intent_ctx *c, int n, int *end) {
    if (!(c->it[n].flags & (TK_PERCENT | TK_FRACTION)) || !is_word(c, n + 1, "of")) return 0;
    int j = n + 2;
    if (is_pronoun(c, j)) {
        *end = j;
        return 1;
    }
    static const char *const starts[] = {"initial", "starting", "start", "peak", "original", "base", "first",
                                         "max", "maximum", NULL};
    if (is_word(c, j, "the") || is_word(c, j, "its")) j++;
    if (!word_in(c, j, starts)) return 0;
    *end = j;
    if (is_lr(c, j + 1) || is_word(c, j + 1, "value") || is_word(c, j + 1, "one") || is_word(c, j + 1, "rate"))
        *end = j + 1;
    return 1;
}

/* A cosine schedule's floor said in prose at item k: "floor 0.001", "a
 * minimum of 1e-4", "down to 0.005 by the last round", "ending at 0".
 * Only when a cosine schedule is set and the sentence (or the one before)
 * is about a learning rate or the schedule. */
static int cosine_floor(intent_ctx *c, int k) {
    /* "down" is also a direction word (the downlink) */
    int down = c->it[k].t1 - c->it[k].t0 == 1 && !strcmp(c->tok[c->it[k].t0].text, "down");
    if (c->it[k].used || (c->it[k].kind != IT_WORD && !down)) return 0;
    int n = -1;
    static const char *const floors[] = {"floor", "minimum", "min", "lowest", "bottom", "final", NULL};
    if (word_in(c, k, floors)) {
        for (int j = k + 1, d = 0; j < c->nit && d < 4; j++, d++) {
            if (c->it[j].kind == IT_NUM) {
                n = j;
                break;
            }
            if (!(c->it[j].kind == IT_WORD && (c->it[j].wclass & W_STOP)) && !is_lr(c, j) &&
                !(c->it[j].kind == IT_PUNCT && strchr(":=", c->it[j].text[0])))
                break;
        }
    } else if (down && is_word(c, k + 1, "to")) {
        n = k + 2;
    } else if ((is_word(c, k, "ending") || is_word(c, k, "end") || is_word(c, k, "ends")) && is_word(c, k + 1, "at")) {
        n = k + 2;
    } else if (is_word(c, k, "to") && free_num(c, k + 1) && is_word(c, k + 2, "by")) {
        /* "to 0.005 by the last round", "to 0 by the end" */
        int j = k + 3;
        if (is_word(c, j, "the")) j++;
        if (is_word(c, j, "last") || is_word(c, j, "final") || is_word(c, j, "end")) n = k + 1;
    }
    if (n < 0 || !free_num(c, n) || (c->it[n].flags & (TK_FACTOR | TK_ORDINAL))) return 0;
    int side = cosine_side(c);
    if (!side) return 0;
    int lo, hi, about = 0;
    sentence_of(c, k, &lo, &hi);
    for (int j = lo; j <= hi; j++) about |= is_lr(c, j) || intent_is(c, j, C_LR_COSINE) || is_pronoun(c, j);
    if (!about && lo >= 2) {
        int plo, phi;
        sentence_of(c, lo - 2, &plo, &phi);
        for (int j = plo; j <= phi; j++) about |= is_lr(c, j) || intent_is(c, j, C_LR_COSINE);
    }
    if (!about) return 0;
    if (side == 2) {
        side = intent_lr_side(c, k);
        if (!side) side = 2;
    }
    if ((side != 1 && intent_slot_find(c, "local.lr_min")) || (side != -1 && intent_slot_find(c, "strategy.server_lr_min")))
        return 0;
    int end = n;
    if (share_of_start(c, n, &end)) {
        if (c->nrel_min >= 2) return 0;
        for (int j = k; j <= end; j++) intent_use(c, j);
        int slot = c->nrel_min++;
        c->rel_min[slot].share = c->it[n].flags & TK_PERCENT ? c->it[n].num / 100.0 : c->it[n].num;
        c->rel_min[slot].server = side;
        c->rel_min[slot].a = k;
        c->rel_min[slot].b = end;
        return 1;
    }
    if (c->it[n].flags & TK_PERCENT) return 0;
    int last = n;
    /* "by the last round": read with the floor */
    if (is_word(c, n + 1, "by")) {
        int j = n + 2;
        if (is_word(c, j, "the")) j++;
        if (is_word(c, j, "last") || is_word(c, j, "final") || is_word(c, j, "end")) {
            last = j;
            if (intent_is(c, j + 1, C_ROUND)) last = j + 1;
        }
    }
    for (int j = k; j <= last; j++)
        if (c->it[j].kind != IT_NUM || j == n) intent_use(c, j);
    return set_side(c, side, "lr_min", NULL, -1, c->it[n].num, RANK_WORDS, k, last, NULL) < 0 ? -1 : 1;
}

int intent_rules_schedule(intent_ctx *c) {
    for (int i = 0; i < c->nit && !c->failed; i++)
        if (start_at(c, i) < 0) return -1;
    for (int i = 0; i < c->nit && !c->failed; i++)
        if (step_in_prose(c, i) < 0) return -1;
    for (int i = 0; i < c->nit && !c->failed; i++)
        if (cosine_floor(c, i) < 0) return -1;
    return c->failed ? -1 : 0;
}

/* A schedule's parameter set without the schedule ("lr_decay=0.9
 * lr_decay_every=5", "lr_min=0.001"): the one schedule that uses it. */
static int implied_schedules(intent_ctx *c) {
    static const char *const groups[] = {"local.", "strategy.server_"};
    static const struct {
        const char *leaf, *schedule;
    } uses[] = {{"lr_gamma", "step"}, {"lr_step_rounds", "step"}, {"lr_min", "cosine"}};
    for (int g = 0; g < 2; g++) {
        char sched[64];
        intent_fmt(sched, sizeof sched, "%slr_schedule", groups[g]);
        for (size_t u = 0; u < sizeof uses / sizeof uses[0]; u++) {
            char path[64];
            intent_fmt(path, sizeof path, "%s%s", groups[g], uses[u].leaf);
            intent_slot *s = intent_slot_find(c, path);
            if (!s || s->rank < RANK_DERIVED) continue;
            intent_slot *have = intent_slot_find(c, sched);
            if (have && have->rank >= RANK_IMPLIED) continue;
            char why[96];
            intent_fmt(why, sizeof why, "%s is a setting of the %s schedule", path, uses[u].schedule);
            if (intent_set(c, sched, json_string(uses[u].schedule), RANK_IMPLIED, s->start, s->end, why) < 0) return -1;
        }
    }
    return 0;
}

int intent_rules_schedule_late(intent_ctx *c) {
    if (implied_schedules(c) < 0) return -1;
    for (int r = 0; r < c->nrel_min && !c->failed; r++) {
        int side = c->rel_min[r].server;
        for (int g = 0; g < 2; g++) {
            if ((g == 0 && side == 1) || (g == 1 && side != 1 && side != 2)) continue;
            const char *lr_path = g ? "strategy.server_lr" : "local.lr", *min_path = g ? "strategy.server_lr_min" : "local.lr_min";
            intent_slot *s = intent_slot_find(c, lr_path);
            char ev[96];
            intent_evidence(c, intent_span_start(c, c->rel_min[r].a), intent_span_end(c, c->rel_min[r].b), ev, sizeof ev);
            if (!s || !json_is_number(s->value))
                return intent_ask(c, "%s: \"%s\" is a share of the starting learning rate, which the request does not "
                                     "give. Please say the floor itself (e.g. \"%s=0.001\") or the learning rate.",
                                  min_path, ev, min_path);
            /* rounded to 12 digits: 10% of 0.1 is 0.01, not 0.010000000000000002 */
            char num[40];
            intent_fmt(num, sizeof num, "%.12g", json_number_value(s->value) * c->rel_min[r].share);
            double v = strtod(num, NULL);
            char why[160];
            intent_fmt(why, sizeof why, "%g of %s %g", c->rel_min[r].share, lr_path, json_number_value(s->value));
            if (intent_set_real(c, min_path, v, RANK_DERIVED, c->rel_min[r].a, c->rel_min[r].b, why) < 0) return -1;
        }
    }
    return c->failed ? -1 : 0;
}
