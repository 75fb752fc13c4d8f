/* Deployment quorums said in prose: how many nodes must connect before the
 * first round (deploy.min_nodes) and how many of a round's clients must
 * report back for it to count (deploy.min_updates):
 *
 *   "don't start until at least 15 have joined", "start once 75% of them
 *   are connected", "wait for at least 5 of the 10 nodes to connect",
 *   "until all nine are connected"                          -> min_nodes
 *   "at least 3 of the 5 must report", "a round fails unless at least
 *   half of them report back", "a round is good if 6 of them report back",
 *   "at least 80% of them need to answer"                   -> min_updates
 *
 * The count is read by structure: [at least] N | a share | all [N] ["of
 * (the M | them)"] [nodes] [must / need to / have / are ...] VERB, all in
 * one clause and said as a requirement ("at least", "once", "unless",
 * "until", "must", "need to"), before the other count rules can read "3 of the 5" as a
 * selection. "of the M" names the group the count is taken from: the
 * clients for a connection, the round's clients for a report; it is set
 * as that field (a different value said elsewhere is a question). A share
 * is turned into a count once the group's size is read (intent_rules_
 * quorum_late); a group whose size the request does not give, or a share
 * that is not a whole count of it, is a question. */
#include <math.h>
#include <string.h>

#include "intent/intent_internal.h"

static int is_word(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && !strcmp(c->it[i].text, w);
}

static int tok_in(const intent_ctx *c, int i, const char *const *ws) {
    if (i < 0 || i >= c->nit || c->it[i].kind != IT_WORD) return 0;
    for (int k = 0; ws[k]; k++)
        if (!strcmp(c->tok[c->it[i].t0].text, ws[k]) || !strcmp(c->it[i].text, ws[k])) return 1;
    return 0;
}

/* A one-word item of any kind ("until" is also a stopping word). */
static int word_in(const intent_ctx *c, int i, const char *const *ws) {
    if (i < 0 || i >= c->nit || c->it[i].t1 - c->it[i].t0 != 1 || c->it[i].kind == IT_NUM) return 0;
    for (int k = 0; ws[k]; k++)
        if (!strcmp(c->tok[c->it[i].t0].text, ws[k])) return 1;
    return 0;
}

static int free_num(const intent_ctx *c, int i) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_NUM && !c->it[i].used;
}

static int ends_clause(const intent_ctx *c, int i) {
    return c->it[i].kind == IT_PUNCT && strchr(",;.!?\n:", c->it[i].text[0]);
}

enum { Q_NONE, Q_CONNECT, Q_REPORT };

/* "are up", "is up": a node that has come up has connected. */
static int is_up(const intent_ctx *c, int v) {
    static const char *const be[] = {"are", "is", "be", "been", "come", "comes", "came", NULL};
    return v > 0 && c->it[v].t1 - c->it[v].t0 == 1 && !strcmp(c->tok[c->it[v].t0].text, "up") && tok_in(c, v - 1, be);
}

/* The quorum verb at item v: Q_CONNECT, Q_REPORT or Q_NONE; the last item
 * of the verb phrase in *last. */
static int quorum_verb(const intent_ctx *c, int v, int *last) {
    static const char *const connect[] = {"connect", "connects", "connecting", "join", "joins", "register",
                                          "registers", NULL};
    static const char *const report[] = {"report", "reports", "reported", "reporting", "answer", "answers",
                                         "answered", "respond", "responds", "responded", "reply", "replies",
                                         "replied", "return", "returns", "returned", NULL};
    static const char *const come[] = {"come", "comes", "came", "get", "gets", "send", "sends", "check", "checks",
                                       "checked", NULL};
    *last = v;
    /* "to connect" is also the connect timeout's word: read for both */
    if (intent_is(c, v, C_CONNECTED) || tok_in(c, v, connect) || is_up(c, v) ||
        (intent_is(c, v, C_CONNECT_TIMEOUT) && !strcmp(c->tok[c->it[v].t1 - 1].text, "connect")))
        return Q_CONNECT;
    if (tok_in(c, v, report)) {
        if (is_word(c, v + 1, "back") || is_word(c, v + 1, "in")) *last = v + 1;
        return Q_REPORT;
    }
    if (tok_in(c, v, come) && is_word(c, v + 1, "back")) {
        *last = v + 1;
        return Q_REPORT;
    }
    if (tok_in(c, v, come) && is_word(c, v + 1, "in")) {
        *last = v + 1;
        return Q_CONNECT;
    }
    return Q_NONE;
}

/* Words between a count and its verb ("must", "need to", "have", "are"). */
static const char *const helpers[] = {"must", "need", "needs", "needed", "to", "have", "has", "had", "should",
                                      "are", "is", "be", "been", "will", "can", "do", "does", "did", "actually",
                                      "successfully", "got", "able", "already", "fully", "shall", NULL};
/* Words that make a count a condition ("unless", "once", "until"). */
static const char *const conditions[] = {"unless", "if", "once", "until", "till", "when", "before", "after",
                                         "soon", "must", "need", "needs", "should", NULL};

static int set_count(intent_ctx *c, const char *path, int num, int a, int b) {
    return intent_set_int(c, path, num, RANK_WORDS, a, b, NULL);
}

static int quorum(intent_ctx *c, int v) {
    int last;
    int kind = quorum_verb(c, v, &last);
    if (!kind || c->it[v].used) return 0;
    const char *field = kind == Q_CONNECT ? "deploy.min_nodes" : "deploy.min_updates";
    const char *group = kind == Q_CONNECT ? "clients" : "clients_per_round";
    int j = v - 1, cond = 0;
    static const char *const have[] = {"has", "have", "had", "got", NULL};
    /* "has to connect": the "to" is inside the verb phrase */
    if (c->it[v].t1 - c->it[v].t0 == 2 && !strcmp(c->tok[c->it[v].t0].text, "to") && tok_in(c, j, have)) cond = 1;
    while (j >= 0 && !ends_clause(c, j) && tok_in(c, j, helpers) && !intent_is(c, j, C_ALL)) {
        /* "must", "need to", "has to", "have to" */
        cond |= tok_in(c, j, conditions) || (is_word(c, j, "to") && tok_in(c, j - 1, have));
        j--;
    }
    int noun = -1, ref = -1, q = -1, all = -1, least = -1, of = -1;
    if (j >= 0 && intent_is(c, j, C_CLIENT) && !c->it[j].used) {
        noun = j--;
        /* "the 9 selected clients" */
        while (j >= 0 && c->it[j].kind == IT_WORD && (c->it[j].wclass & (W_ADJ | W_VERB)) && !c->it[j].used) j--;
    }
    static const char *const pronouns[] = {"them", "those", "these", "us", NULL};
    if (free_num(c, j) && is_word(c, j - 1, "the") && is_word(c, j - 2, "of")) {
        ref = j;
        of = j - 2;
        j -= 3;
    } else if (free_num(c, j) && is_word(c, j - 1, "of") && !(c->it[j].flags & (TK_PERCENT | TK_FRACTION))) {
        ref = j;
        of = j - 1;
        j -= 2;
    } else if (tok_in(c, j, pronouns) && is_word(c, j - 1, "of")) {
        /* "of them": the group the verb's clause is about */
        of = j - 1;
        j -= 2;
    }
    if (free_num(c, j) && !(c->it[j].flags & (TK_ORDINAL | TK_FACTOR))) q = j--;
    /* "every one of them", "each of the 8": all of the group */
    static const char *const each[] = {"every", "each", NULL};
    int one = -1;
    if (q >= 0 && c->it[q].num == 1 && (c->it[q].flags & TK_WORDS) && of >= 0 && tok_in(c, j, each)) {
        all = j--;
        one = q;
        q = -1;
    } else if (q < 0 && of >= 0 && tok_in(c, j, each)) {
        all = j--;
    }
    if (j >= 0 && intent_is(c, j, C_ALL) && !c->it[j].used) all = j--;
    /* "once enough of them have connected", "when most have reported": a
     * quorum without its size */
    static const char *const vague[] = {"enough", "most", "some", "several", "many", "few", "majority", NULL};
    /* "most of the nodes" */
    if (q < 0 && all < 0 && of < 0 && noun >= 0 && is_word(c, j, "the") && is_word(c, j - 1, "of")) j -= 2;
    if (q < 0 && all < 0 && (word_in(c, j, vague) || intent_is(c, j, C_VAGUE))) {
        char ev[96];
        intent_evidence(c, intent_span_start(c, j), intent_span_end(c, last), ev, sizeof ev);
        return intent_ask_which(c, field, "%s: \"%s\" does not say how many. How many (e.g. \"%s=8\")?", field, ev,
                                field);
    }
    if (q < 0 && all < 0) return 0;
    if (j >= 0 && (intent_is(c, j, C_AT_LEAST) || is_word(c, j, "just") || is_word(c, j, "only"))) least = j--;
    /* a condition before the count: "unless", "once", "until", "if" */
    for (int k = j, d = 0; k >= 0 && d < 6 && !ends_clause(c, k); k--, d++)
        cond |= word_in(c, k, conditions) || intent_is(c, k, C_WAIT);
    int share = q >= 0 && (c->it[q].flags & (TK_PERCENT | TK_FRACTION));
    /* a requirement, not a statement ("they all report every round") */
    if (least < 0 && !cond) return 0;
    if (ref >= 0 && (!(c->it[ref].flags & TK_INTEGER) || (c->it[ref].flags & (TK_PERCENT | TK_FRACTION)))) return 0;
    if (q >= 0 && !share && (!(c->it[q].flags & TK_INTEGER) || c->it[q].num < 1)) return 0;
    int first = least >= 0 ? least : all >= 0 ? all : q;
    for (int k = first; k <= last; k++)
        if (c->it[k].kind != IT_NUM) intent_use(c, k);
    intent_use(c, one); /* "every one of them": the "one" counts nothing */
    if (ref >= 0 && set_count(c, group, ref, of, noun >= 0 ? noun : ref) < 0) return -1;
    /* "until all 8 have connected": the whole group */
    if (all >= 0 && q >= 0 && !share && set_count(c, group, q, all, noun >= 0 ? noun : q) < 0) return -1;
    if (q >= 0 && !share) return set_count(c, field, q, first, last) < 0 ? -1 : 1;
    double f = q >= 0 ? (c->it[q].flags & TK_PERCENT ? c->it[q].num / 100.0 : c->it[q].num) : 1.0;
    if (q >= 0) intent_use(c, q);
    if (ref >= 0) {
        double n = f * c->it[ref].num;
        if (fabs(n - floor(n + 0.5)) > 1e-9 || n < 1) {
            char ev[96];
            intent_evidence(c, intent_span_start(c, first), intent_span_end(c, last), ev, sizeof ev);
            return intent_ask(c, "%s: \"%s\" is %g nodes, not a whole number. How many did you mean?", field, ev, n);
        }
        json_t *val = json_integer((json_int_t)floor(n + 0.5));
        int s, e;
        intent_items_span(c, first, last, &s, &e);
        return intent_set(c, field, val, RANK_DERIVED, s, e, NULL) < 0 ? -1 : 1;
    }
    if (c->nquorum >= 2) return 0;
    int slot = c->nquorum++;
    c->quorum[slot].share = f;
    c->quorum[slot].connect = kind == Q_CONNECT;
    c->quorum[slot].a = first;
    c->quorum[slot].b = last;
    return 1;
}

int intent_rules_quorum(intent_ctx *c) {
    for (int v = 0; v < c->nit && !c->failed; v++)
        if (quorum(c, v) < 0) return -1;
    return c->failed ? -1 : 0;
}

int intent_rules_quorum_late(intent_ctx *c) {
    for (int r = 0; r < c->nquorum && !c->failed; r++) {
        int connect = c->quorum[r].connect;
        const char *field = connect ? "deploy.min_nodes" : "deploy.min_updates";
        const char *group = connect ? "clients" : "clients_per_round";
        char ev[96];
        intent_evidence(c, intent_span_start(c, c->quorum[r].a), intent_span_end(c, c->quorum[r].b), ev, sizeof ev);
        intent_slot *s = intent_slot_find(c, group);
        /* every client in every round: the round's clients are all of them */
        if (!s && !connect && c->cpr_all) s = intent_slot_find(c, "clients");
        if (!s || !json_is_integer(s->value))
            return intent_ask(c, "%s: \"%s\" is a share of the %s, and the request does not say how many there are. "
                                 "Please give the count (e.g. \"%s=4\") or the number of %s.",
                              field, ev, connect ? "clients" : "clients in a round", field, group);
        double n = c->quorum[r].share * (double)json_integer_value(s->value);
        if (fabs(n - floor(n + 0.5)) > 1e-9 || n < 1)
            return intent_ask(c, "%s: \"%s\" of %lld is %g, not a whole number. How many did you mean?", field, ev,
                              (long long)json_integer_value(s->value), n);
        char why[96];
        intent_fmt(why, sizeof why, "%g of %s %lld", c->quorum[r].share, group, (long long)json_integer_value(s->value));
        int a, b;
        intent_items_span(c, c->quorum[r].a, c->quorum[r].b, &a, &b);
        if (intent_set(c, field, json_integer((json_int_t)floor(n + 0.5)), RANK_DERIVED, a, b, why) < 0) return -1;
    }
    return c->failed ? -1 : 0;
}
