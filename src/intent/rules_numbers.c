/* Number rules: every number is attached to the field its neighbours name.
 * Patterns with the most context run first (durations, accuracy targets,
 * "N per round", "out of N", "wait for N nodes"), then units to the right
 * of a count ("40 rounds", "3 local epochs", "50 devices") and keywords to
 * the left of a value ("lr 0.01", "batch size of 64", "seed 7"). A number
 * nothing claims is reported as not understood, never guessed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intent/intent_internal.h"

static int is_word(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && strcmp(c->it[i].text, w) == 0;
}

static int is_punct(const intent_ctx *c, int i, char ch) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_PUNCT && c->it[i].text[0] == ch;
}

static int free_num(const intent_ctx *c, int i) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_NUM && !c->it[i].used;
}

/* A share as a fraction: "10%" -> 0.1, "a tenth" -> 0.1, "0.1" -> 0.1.
 * Returns -1 when the number is not a share. */
static double share_of(const intent_item *n) {
    if (n->flags & TK_PERCENT) return n->num / 100.0;
    if (n->flags & TK_FRACTION) return n->num;
    if (n->num > 0 && n->num <= 1 && !(n->flags & TK_INTEGER)) return n->num;
    return -1;
}

/* Concepts that are units of their own: a number right before one of these
 * belongs to it, not to a keyword on its left. */
static int is_unit(const intent_ctx *c, int i) {
    if (i < 0 || i >= c->nit || c->it[i].kind != IT_CONCEPT) return 0;
    switch (c->it[i].concept) {
    case C_CLIENT: case C_ROUND: case C_EPOCH: case C_CLASS: case C_SHARD: case C_STEP: case C_BIT:
    case C_TIME_UNIT: case C_CANDIDATE: case C_SAMPLE_PER_BATCH: case C_PER_ROUND: case C_UNIT:
        return 1;
    default:
        return 0;
    }
}

/* Number after a keyword, unless it is the count of a unit that follows. */
static int value_after(const intent_ctx *c, int i, int maxskip) {
    int n = intent_num_after(c, i, maxskip);
    if (n < 0) return -1;
    int nx = n + 1;
    while (nx < c->nit && c->it[nx].kind == IT_WORD && (c->it[nx].wclass & W_ADJ)) nx++;
    if (is_unit(c, nx)) return -1;
    return n;
}

/* ---- durations ---- */

/* Concept k within maxd meaningful items of i going in direction dir, in
 * the clause; its index (and distance) or -1. */
static int side_near(const intent_ctx *c, int i, int dir, concept_id k, int maxd, int *dist) {
    int d = 0;
    for (int j = i + dir; j >= 0 && j < c->nit; j += dir) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_PUNCT && strchr(".;!?,", it->text[0])) return -1;
        if ((it->kind == IT_WORD && (it->wclass & W_STOP)) || it->kind == IT_PUNCT) continue;
        if (++d > maxd) return -1;
        if (intent_is(c, j, k)) {
            *dist = d;
            return j;
        }
    }
    return -1;
}

/* The limiting word at item key names a time budget ("budget", "time
 * limit", "wall clock"), not a bare "at most" / "longer than". */
static int budget_named(const intent_ctx *c, int key) {
    if (key < 0 || !intent_is(c, key, C_BUDGET)) return 0;
    const char *w = c->tok[c->it[key].t0].text;
    return !strcmp(w, "budget") || !strcmp(w, "time") || !strcmp(w, "wall") || !strcmp(w, "wallclock");
}

/* "30 seconds per round", "... in a round", "rounds take up to 20 mins
 * each": the duration after item u is per round. */
static int per_round_after(const intent_ctx *c, int u) {
    for (int j = u + 1, d = 0; j < c->nit && d < 3; j++, d++) {
        if (c->it[j].kind == IT_PUNCT) break;
        if (intent_is(c, j, C_PER_ROUND)) return 1;
    }
    if (!is_word(c, u + 1, "each")) return 0;
    for (int j = u - 1; j >= 0 && !(c->it[j].kind == IT_PUNCT && strchr(".;!?,", c->it[j].text[0])); j--)
        if (intent_is(c, j, C_ROUND)) return 1;
    return 0;
}

/* The request is about a deployment (edge nodes over the network). */
static int deploy_context(const intent_ctx *c) {
    for (int j = 0; j < c->nit; j++) {
        if (intent_is(c, j, C_WAIT) || intent_is(c, j, C_CONNECTED) || intent_is(c, j, C_CONNECT_TIMEOUT) ||
            intent_is(c, j, C_MIN_NODES) || intent_is(c, j, C_MIN_UPDATES) || intent_is(c, j, C_ROUND_TIMEOUT))
            return 1;
        if (c->it[j].kind == IT_WORD && (!strcmp(c->it[j].text, "deploy") || !strcmp(c->it[j].text, "deployment") ||
                                         !strcmp(c->it[j].text, "deployed")))
            return 1;
    }
    return 0;
}

/* "don't start until", "wait until", "kick off until": an "until" about
 * when a deployment starts, not about when the run stops. */
static int start_until(const intent_ctx *c, int j) {
    int p = j - 1;
    if (is_word(c, p, "off")) p--;
    return intent_is(c, p, C_WAIT) || is_word(c, p, "start") || is_word(c, p, "begin") || is_word(c, p, "kick") ||
           is_word(c, p, "wait") || is_word(c, p, "go") || is_word(c, p, "proceed");
}

/* The request speaks of the whole run ("stop", "the run", "in total"). */
static int run_named(const intent_ctx *c) {
    static const char *const w[] = {"run", "whole", "total", "overall", "training", "experiment", "altogether", NULL};
    for (int j = 0; j < c->nit; j++) {
        if ((intent_is(c, j, C_UNTIL) && !start_until(c, j)) || (intent_is(c, j, C_BUDGET) && budget_named(c, j)))
            return 1;
        for (int k = 0; w[k] && c->it[j].kind == IT_WORD; k++)
            if (!strcmp(c->it[j].text, w[k])) return 1;
    }
    return 0;
}

/* "wait (up to) ..." right before the number at item n, in its clause. */
static int wait_before(const intent_ctx *c, int n) {
    for (int j = n - 1, d = 0; j >= 0 && d < 4; j--, d++) {
        if (c->it[j].kind == IT_PUNCT) return 0;
        if (is_word(c, j, "wait") || (intent_is(c, j, C_WAIT) && !strcmp(c->tok[c->it[j].t0].text, "wait"))) return 1;
    }
    return 0;
}

static int duration(intent_ctx *c, int u) {
    double per = c->it[u].arg;
    int n = -1, art = -1;
    int p = u - 1;
    if (p >= 0 && (is_word(c, p, "a") || is_word(c, p, "an"))) {
        art = p;
        p--;
    }
    if (free_num(c, p) && !(c->it[p].flags & TK_PERCENT)) n = p;
    if (n < 0 && art < 0) return 0;
    if (n < 0 && per == 1 && strcmp(c->it[u].text, "s") == 0) return 0; /* a bare "s" */
    double v = (n >= 0 ? c->it[n].num : 1.0) * per;
    int first = n >= 0 ? n : art;
    /* what the duration is for: the nearest of these words, on either side
     * (ties go to the left: "time budget of 45 min and round timeout 90 s") */
    static const struct {
        concept_id k;
        const char *path, *why;
    } dest[] = {
        {C_DEADLINE, "scheduling.deadline_s", NULL},
        {C_POL_DEADLINE, "scheduling.deadline_s", NULL},
        {C_CONNECT_TIMEOUT, "deploy.connect_timeout_s", NULL},
        {C_ROUND_TIMEOUT, "deploy.round_timeout_s", NULL},
        {C_BUDGET, "stop.max_wall_s", "a time budget for the whole run"},
    };
    const char *path = "stop.max_wall_s";
    const char *why = "a time budget for the whole run";
    int key = -1, bestd = 5;
    for (size_t k = 0; k < sizeof dest / sizeof dest[0]; k++) {
        int dl = 0, dr = 0;
        int l = side_near(c, first, -1, dest[k].k, 4, &dl), r = side_near(c, u, 1, dest[k].k, 4, &dr);
        if (l >= 0 && (dl < bestd || (dl == bestd && key > u))) {
            key = l;
            bestd = dl;
            path = dest[k].path;
            why = dest[k].why;
        }
        if (r >= 0 && dr < bestd) {
            key = r;
            bestd = dr;
            path = dest[k].path;
            why = dest[k].why;
        }
    }
    /* a limit with no word for what it limits ("longer than 30 seconds"):
     * per round it is the round's deadline (the deployment's timeout);
     * about a deployment and nothing about the run, it could be either */
    /* "give each round 90 seconds": a per-round marker right before */
    int round_before = 0;
    for (int j = first - 1, d = 0; j >= 0 && d < 3 && !(c->it[j].kind == IT_PUNCT); j--, d++)
        if (intent_is(c, j, C_PER_ROUND) && !c->it[j].used && !strcmp(c->tok[c->it[j].t1 - 1].text, "round"))
            round_before = 1;
    int per_round = (per_round_after(c, u) || round_before) && strcmp(path, "scheduling.deadline_s") != 0 &&
                    strcmp(path, "deploy.round_timeout_s") != 0 && !budget_named(c, key);
    if (per_round && key >= 0 && !intent_is(c, key, C_BUDGET)) key = -1; /* "connect and one minute per round" */
    if (per_round) {
        int dep = deploy_context(c);
        path = dep ? "deploy.round_timeout_s" : "scheduling.deadline_s";
        why = dep ? "a limit per round of the deployment" : "a limit per round: the round deadline";
    } else if (!strcmp(path, "stop.max_wall_s") && !budget_named(c, key) && deploy_context(c) && wait_before(c, first)) {
        /* "wait up to a quarter of an hour for that", in a deployment: the
         * time the server waits for its nodes to connect */
        path = "deploy.connect_timeout_s";
        why = "a wait in a deployment: the time the nodes have to connect";
    } else if (!strcmp(path, "stop.max_wall_s") && !budget_named(c, key) && deploy_context(c) && !run_named(c)) {
        char ev[96];
        intent_evidence(c, intent_span_start(c, key >= 0 && key < first ? key : first), intent_span_end(c, u), ev,
                        sizeof ev);
        int rc = intent_ask_which(c, NULL, "\"%s\": is this the time limit of each deployment round or of the "
                                           "whole run? Please say \"round timeout %g s\" or \"stop after %g s\".",
                                  ev, v, v);
        char val[40];
        intent_fmt(val, sizeof val, "%g", v);
        intent_reading(c, "deploy.round_timeout_s", val, "each deployment round");
        intent_reading(c, "stop.max_wall_s", val, "the whole run");
        return rc;
    }
    if (key >= 0 && key < first) {
        /* "at most", "within", "don't spend more than": the words up to the number */
        for (int j = key; j < first; j++)
            if (intent_is(c, j, C_BUDGET) || intent_is(c, j, C_NEGATION)) intent_use(c, j);
    }
    intent_use(c, art);
    intent_use(c, n);
    intent_use(c, u);
    if (key >= 0) intent_use(c, key);
    int a = key >= 0 && key < first ? key : first;
    int b = key > u ? key : u;
    return intent_set_real(c, path, v, RANK_WORDS, a, b, why) < 0 ? -1 : 1;
}

/* ---- accuracy target ---- */

static int accuracy_value(intent_ctx *c, int n, double *v) {
    const intent_item *it = &c->it[n];
    if (it->flags & TK_PERCENT) {
        *v = it->num / 100.0;
    } else if (it->num > 0 && it->num <= 1) {
        *v = it->num;
    } else if (it->num > 1 && it->num <= 100) {
        *v = it->num / 100.0; /* "accuracy 85": a percentage */
    } else {
        return 0;
    }
    return 1;
}

/* A number within dist meaningful items of i in its sentence that is not
 * followed by a unit of its own. */
static int near_number(const intent_ctx *c, int i, int dist) {
    int best = -1, bestd = dist + 1;
    for (int dir = -1; dir <= 1; dir += 2) {
        int d = 0;
        for (int j = i + dir; j >= 0 && j < c->nit; j += dir) {
            const intent_item *it = &c->it[j];
            if (it->kind == IT_PUNCT && strchr(".;!?,", it->text[0])) break;
            if (it->kind == IT_WORD && (it->wclass & W_STOP)) continue;
            if (++d > dist) break;
            if (it->kind == IT_NUM) {
                /* to the right only a share reads as an accuracy ("accuracy reaches 0.85") */
                int share = (it->flags & TK_PERCENT) || (it->num > 0 && it->num <= 1);
                if (!it->used && !is_unit(c, j + 1) && d < bestd && (dir < 0 ? j == i - 1 : share)) {
                    best = j;
                    bestd = d;
                }
                break;
            }
        }
    }
    return best;
}

static int accuracy_target(intent_ctx *c, int i) {
    int n = near_number(c, i, 3);
    double v;
    if (n < 0 || !accuracy_value(c, n, &v)) return 0;
    int until = intent_near(c, n, C_UNTIL, 3);
    intent_use(c, until);
    intent_use(c, n);
    int a = n < i ? n : i, b = n < i ? i : n;
    if (until >= 0 && until < a) a = until;
    return intent_set_real(c, "stop.target_accuracy", v, RANK_WORDS, a, b, NULL) < 0 ? -1 : 1;
}

/* ---- clients per round ---- */

static int verbish(const intent_ctx *c, int j) {
    const intent_item *it = &c->it[j];
    if (it->kind == IT_WORD) return (it->wclass & (W_VERB | W_FILL)) != 0;
    return intent_is(c, j, C_CLIENT);
}

static int set_share(intent_ctx *c, int n, int a, int b) {
    intent_use(c, n);
    return intent_set_cpr_share(c, share_of(&c->it[n]), a, b < n ? n : b);
}

static int set_all(intent_ctx *c, int a, int b) {
    return intent_set_cpr_all(c, a, b);
}

/* A count or share of clients for each round. */
static int per_round_value(intent_ctx *c, int n, int a, int b) {
    if (share_of(&c->it[n]) >= 0 && (c->it[n].flags & (TK_PERCENT | TK_FRACTION))) return set_share(c, n, a, b);
    return intent_set_int(c, "clients_per_round", n, RANK_WORDS, a, b, NULL) < 0 ? -1 : 1;
}

static int per_round(intent_ctx *c, int p) {
    /* left: "10 per round", "ten sampled each round", "5 of them per round",
     * "all of them participate every round" */
    int skipped = 0;
    for (int j = p - 1; j >= 0 && skipped <= 5; j--) {
        if (free_num(c, j)) {
            int cl = -1;
            for (int k = j + 1; k < p; k++)
                if (intent_is(c, k, C_CLIENT)) cl = k;
            /* "5% of 200 clients per round": the share is per round, the count is the federation */
            int of = j - 1, sh = j - 2;
            if (is_word(c, of, "the")) sh--, of--;
            if (is_word(c, of, "of") && free_num(c, sh) && (c->it[sh].flags & (TK_PERCENT | TK_FRACTION)) &&
                !(c->it[j].flags & (TK_PERCENT | TK_FRACTION))) {
                if (intent_set_int(c, "clients", j, RANK_WORDS, j, cl >= 0 ? cl : j, NULL) < 0) return -1;
                return set_share(c, sh, sh, p);
            }
            intent_use(c, cl);
            return per_round_value(c, j, j, p);
        }
        if (intent_is(c, j, C_ALL) && !c->it[j].used) {
            for (int k = j + 1; k < p; k++)
                if (intent_is(c, k, C_CLIENT)) intent_use(c, k);
            return set_all(c, j, p);
        }
        if (!verbish(c, j)) break;
        skipped++;
    }
    /* right: "each round picks 25% of them", "every round, all clients" */
    skipped = 0;
    for (int j = p + 1; j < c->nit && skipped <= 3; j++) {
        if (free_num(c, j)) {
            int nx = j + 1;
            /* "per-round sample of 8;": the count ends its clause */
            int ends = nx >= c->nit || (c->it[nx].kind == IT_PUNCT && strchr(",;.!?)", c->it[nx].text[0]));
            int ok = (c->it[j].flags & (TK_PERCENT | TK_FRACTION)) || intent_is(c, nx, C_CLIENT) ||
                     is_word(c, nx, "of") || (ends && skipped > 0);
            if (!ok) return 0;
            int last = j;
            if (intent_is(c, nx, C_CLIENT)) last = nx;
            if (is_word(c, nx, "of") && (is_word(c, nx + 1, "them") || intent_is(c, nx + 1, C_CLIENT)))
                last = nx + 1;
            for (int k = j + 1; k <= last; k++) intent_use(c, k);
            return per_round_value(c, j, p, last);
        }
        if (intent_is(c, j, C_ALL) && !c->it[j].used) return set_all(c, p, j);
        if (c->it[j].kind == IT_WORD && ((c->it[j].wclass & (W_VERB | W_FILL)) || !strcmp(c->it[j].text, "picks") ||
                                         !strcmp(c->it[j].text, "pick") || !strcmp(c->it[j].text, "select") ||
                                         !strcmp(c->it[j].text, "selects") || !strcmp(c->it[j].text, "samples") ||
                                         !strcmp(c->it[j].text, "sample") || !strcmp(c->it[j].text, "choose") ||
                                         !strcmp(c->it[j].text, "chooses") || !strcmp(c->it[j].text, "trains"))) {
            skipped++;
            continue;
        }
        break;
    }
    return 0;
}

/* ---- the McMahan et al. letters: E=5, B=10, C=0.1, K=100 ---- */

static int letters(intent_ctx *c, int i) {
    int n = intent_num_after(c, i, 0);
    if (n < 0) return 0;
    switch (c->it[i].concept) {
    case C_E_EQ: return intent_set_int(c, "local.epochs", n, RANK_WORDS, i, n, "E in the FedAvg paper's notation");
    case C_B_EQ: return intent_set_int(c, "local.batch", n, RANK_WORDS, i, n, "B in the FedAvg paper's notation");
    case C_K_EQ:
        /* beside FedAU, K is its cutoff (the paper's K) */
        if (intent_names_strategy(c, "fedau"))
            return intent_set_int(c, "strategy.fedau_cutoff", n, RANK_WORDS, i, n, "K in the FedAU paper's notation");
        return intent_set_int(c, "clients", n, RANK_WORDS, i, n, "K in the FedAvg paper's notation");
    case C_C_EQ:
        if (share_of(&c->it[n]) < 0 && !(c->it[n].num == 1 || c->it[n].num == 0))
            return intent_ask(c, "clients_per_round: C is the fraction of clients per round (0 to 1), not %g. "
                                 "Which fraction did you mean?", c->it[n].num);
        if (c->it[n].num == 0) return intent_ask(c, "clients_per_round: C=0 selects no client. Which fraction did you mean?");
        c->it[n].flags |= TK_FRACTION;
        return set_share(c, n, i, n);
    default: return 0;
    }
}

/* ---- seeds are 64-bit: read from the digits, not the double ---- */

static int seed(intent_ctx *c, int i) {
    int n = value_after(c, i, 2);
    /* "seed everything with 1234": words that carry nothing may stand between */
    for (int j = i + 1, d = 0; n < 0 && j < c->nit && d < 3; j++, d++) {
        if (c->it[j].kind == IT_NUM) {
            n = c->it[j].used ? -1 : j;
            break;
        }
        if (!(c->it[j].kind == IT_WORD && (c->it[j].wclass & W_STOP))) break;
    }
    if (n < 0) return 0;
    const intent_tok *t = &c->tok[c->it[n].t0];
    if (!(c->it[n].flags & TK_INTEGER) || t->text[0] == '-')
        return intent_ask(c, "seed: \"%s\" is not a whole number >= 0. Which seed did you mean?", t->text);
    char *end;
    unsigned long long v = strtoull(t->text, &end, 10);
    if (*end == ',' || c->it[n].num >= 9.2e18 || v > (unsigned long long)INT64_MAX)
        return intent_ask(c, "seed: %s is too large; allowed: 0 to 9223372036854775807", t->text);
    if (*end != '\0') v = (unsigned long long)c->it[n].num; /* "10,000" style: the value read */
    int s, e;
    intent_items_span(c, i, n, &s, &e);
    intent_use(c, i);
    intent_use(c, n);
    return intent_set(c, "seed", json_integer((json_int_t)v), RANK_WORDS, s, e, NULL);
}

/* ---- qualifiers: server-side or local? ---- */

static int anywhere(const intent_ctx *c, concept_id k) {
    for (int j = 0; j < c->nit; j++)
        if (intent_is(c, j, k)) return 1;
    return 0;
}

/* "server momentum 0.9", "beta1 0.8 on the server": the qualifier touches
 * the keyword or its value. */
static int server_side(const intent_ctx *c, int i) {
    int p = intent_prev(c, i);
    if (p >= 0 && intent_is(c, p, C_SERVER)) return 1;
    int n = intent_next(c, i);
    if (n >= 0 && c->it[n].kind == IT_NUM) n = intent_next(c, n);
    return n >= 0 && intent_is(c, n, C_SERVER);
}

static int momentum(intent_ctx *c, int i) {
    int n = value_after(c, i, 2);
    if (n < 0) return 0;
    int server = 0;
    const char *why = NULL;
    if (c->it[i].arg == 1) {
        server = 0;
    } else if (server_side(c, i)) {
        server = 1;
    } else if (anywhere(c, C_S_FEDAVGM) && !anywhere(c, C_OPT_SGD) && !anywhere(c, C_NESTEROV)) {
        server = 1;
        why = "read as FedAvgM's server momentum because the request names fedavgm";
    }
    if (!server) return intent_set_real(c, "local.momentum", c->it[n].num, RANK_WORDS, i, n, NULL);
    if (intent_set_real(c, "strategy.momentum", c->it[n].num, RANK_WORDS, i, n, why) < 0) return -1;
    return intent_set_str(c, "strategy.name", "fedavgm", RANK_IMPLIED, i, n,
                          "server momentum is what FedAvgM adds to FedAvg");
}

static int beta(intent_ctx *c, int i, int which) {
    int n = value_after(c, i, 2);
    if (n < 0) return 0;
    int server = server_side(c, i);
    if (!server && intent_near(c, i, C_LOCAL, 3) < 0 &&
        (anywhere(c, C_S_FEDADAM) || anywhere(c, C_S_FEDYOGI)) && !anywhere(c, C_OPT_ADAM) &&
        !anywhere(c, C_OPT_ADAMW))
        server = 1;
    char path[32];
    snprintf(path, sizeof path, "%s.beta%d", server ? "strategy" : "local", which);
    return intent_set_real(c, path, c->it[n].num, RANK_WORDS, i, n, NULL);
}

/* Central DP (DP-FedAvg, adaptive clipping) named anywhere: clipping and
 * noise then belong to it, not to the local Gaussian mechanism. */
static int central_dp_named(const intent_ctx *c) {
    for (int k = 0; k < c->nit; k++)
        if (c->it[k].kind == IT_CONCEPT && (c->it[k].concept == C_DP_CENTRAL || c->it[k].concept == C_ADAPTIVE_CLIP))
            return 1;
    return 0;
}

/* "clip updates at norm 1.5": the value may follow a few words later. */
static int clip(intent_ctx *c, int i) {
    for (int j = i + 1, d = 0; j < c->nit && d < 5; j++, d++) {
        if (free_num(c, j)) {
            for (int k = i + 1; k < j; k++)
                if (intent_is(c, k, C_UP)) intent_use(c, k);
            if (intent_set_real(c, "privacy.clip", c->it[j].num, RANK_WORDS, i, j, NULL) < 0) return -1;
            if (central_dp_named(c)) return 0;
            return intent_set_str(c, "privacy.mode", "dp-gaussian", RANK_IMPLIED, i, j,
                                  "clipping updates is part of the Gaussian mechanism");
        }
        const intent_item *it = &c->it[j];
        if (it->kind == IT_PUNCT && strchr(".;!?,", it->text[0])) break;
        if (!(intent_is(c, j, C_UP) || (it->kind == IT_WORD && (it->wclass & W_STOP)) || it->kind == IT_PUNCT))
            break;
    }
    return 0;
}

/* Keyword -> number -> field, for the plain cases. */
typedef struct {
    concept_id concept;
    const char *path;
    int integer;
    const char *implies_path, *implies_value, *implies_why;
} key_rule;

static const key_rule key_rules[] = {
    {C_LR, "local.lr", 0, NULL, NULL, NULL},
    {C_SERVER_LR, "strategy.server_lr", 0, NULL, NULL, NULL},
    {C_WD, "local.weight_decay", 0, NULL, NULL, NULL},
    {C_EPS, "local.eps", 0, NULL, NULL, NULL},
    {C_TAU, "strategy.tau", 0, NULL, NULL, NULL},
    {C_RHO, "strategy.rho", 0, NULL, NULL, NULL},
    {C_GOSSIP_STEPS, "strategy.gossip_steps", 1, NULL, NULL, NULL},
    {C_ANCHOR_PROB, "strategy.anchor_prob", 0, "strategy.name", "fedamd", "anchor probability is FedAMD's"},
    {C_BETA3, "local.beta3", 0, "local.optimizer", "adan", "beta3 is Adan's"},
    {C_HESSIAN_POWER, "local.hessian_power", 0, "local.optimizer", "adahessian", "the Hessian power is ADAHESSIAN's"},
    {C_ADAMP_DELTA, "local.adamp_delta", 0, NULL, NULL, NULL},
    {C_ADAMP_WD_RATIO, "local.adamp_wd_ratio", 0, NULL, NULL, NULL},
    {C_MFAC_WINDOW, "local.mfac_window", 1, "local.optimizer", "mfac", "a gradient window is M-FAC's"},
    {C_MFAC_DAMP, "local.mfac_damp", 0, "local.optimizer", "mfac", "dampening is M-FAC's"},
    {C_EVAL_PERSONAL, "eval_personal", 1, NULL, NULL, NULL},
    {C_MU, "strategy.mu", 0, "strategy.name", "fedprox", "mu is FedProx's proximal weight"},
    {C_SERVER_MOMENTUM, "strategy.momentum", 0, "strategy.name", "fedavgm",
     "server momentum is what FedAvgM adds to FedAvg"},
    {C_NOISE, "privacy.noise_multiplier", 0, "privacy.mode", "dp-gaussian",
     "a noise multiplier is the Gaussian mechanism's"},
    {C_DP_DELTA, "privacy.delta", 0, NULL, NULL, NULL},
    {C_DP_BUDGET, "privacy.target_epsilon", 0, NULL, NULL, NULL},
    {C_CLIP_QUANTILE, "privacy.target_quantile", 0, NULL, NULL, NULL},
    {C_CLIP_LR, "privacy.clip_lr", 0, NULL, NULL, NULL},
    {C_COUNT_NOISE, "privacy.count_noise", 0, NULL, NULL, NULL},
    {C_SA_DEGREE, "secagg.degree", 1, "secagg.mode", "secagg+", "masking neighbours are SecAgg+'s"},
    {C_SA_THRESHOLD, "secagg.threshold", 0, "secagg.mode", "secagg+", "the share threshold is SecAgg+'s"},
    {C_SA_CLIP, "secagg.clip", 0, "secagg.mode", "secagg+", "the quantisation clip is SecAgg+'s"},
    {C_CHOICE_D, "scheduling.choice_d", 1, "scheduling.policy", "power-of-choice",
     "d is the candidate count of power-of-choice"},
    {C_MAX_STEPS, "local.max_steps", 1, NULL, NULL, NULL},
    {C_STEP, "local.max_steps", 1, NULL, NULL, NULL},
    {C_MIN_NODES, "deploy.min_nodes", 1, NULL, NULL, NULL},
    {C_MIN_UPDATES, "deploy.min_updates", 1, NULL, NULL, NULL},
    {C_BATCH, "local.batch", 1, NULL, NULL, NULL},
    {C_EPOCH, "local.epochs", 1, NULL, NULL, NULL},
    {C_ROUND, "rounds", 1, NULL, NULL, NULL},
    {C_CLIENT_KEY, "clients", 1, NULL, NULL, NULL},
    {C_DEADLINE, "scheduling.deadline_s", 0, NULL, NULL, NULL},
    {C_ROUND_TIMEOUT, "deploy.round_timeout_s", 0, NULL, NULL, NULL},
    {C_CONNECT_TIMEOUT, "deploy.connect_timeout_s", 0, NULL, NULL, NULL},
    {C_BYZ_FRACTION, "strategy.byzantine_fraction", 0, NULL, NULL, NULL},
    {C_KRUM_M, "strategy.krum_m", 1, "strategy.aggregator", "multi-krum", "m is the count Multi-Krum averages"},
    {C_NORM_BOUND, "strategy.norm_bound", 0, NULL, NULL, NULL},
    {C_GEOMED_ITERS, "strategy.geomed_iters", 1, "strategy.aggregator", "geomed",
     "Weiszfeld iterations compute the geometric median"},
    {C_FLAG_RANK, "strategy.flag_rank", 1, "strategy.aggregator", "flag", "the subspace is the Flag Aggregator's"},
    {C_FLAG_ITERS, "strategy.flag_iters", 1, "strategy.aggregator", "flag", "IRLS iterations are the Flag Aggregator's"},
    {C_MUDHOG_EPS, "strategy.mudhog_eps", 0, "strategy.aggregator", "mudhog", "the DBSCAN radius is MUD-HoG's"},
    {C_MUDHOG_UW, "strategy.mudhog_unreliable_weight", 0, "strategy.aggregator", "mudhog",
     "unreliable clients are what MUD-HoG tells apart"},
    {C_FRL_SPARSITY, "strategy.frl_sparsity", 0, "strategy.aggregator", "frl", "the supermask is FRL's"},
    {C_ATK_FRACTION, "attack.fraction", 0, NULL, NULL, NULL},
    {C_ATK_SCALE, "attack.scale", 0, NULL, NULL, NULL},
    {C_ATK_TARGET, "attack.target", 1, NULL, NULL, NULL},
    {C_ATK_SOURCE, "attack.source", 1, "attack.kind", "label-flip", "a source class is what label flipping relabels"},
    {C_POISON_FRACTION, "attack.poison_fraction", 0, "attack.kind", "backdoor",
     "the poisoned share of a batch is the backdoor's"},
    {C_UNRELIABLE, "attack.unreliable", 0, NULL, NULL, NULL},
};

/* Unit <- number: "40 rounds", "3 epochs", "50 devices", "25 steps". */
typedef struct {
    concept_id concept;
    const char *path;
    const char *implies_path, *implies_value, *implies_why;
} unit_rule;

static const unit_rule unit_rules[] = {
    {C_ROUND, "rounds", NULL, NULL, NULL},
    {C_EPOCH, "local.epochs", NULL, NULL, NULL},
    {C_STEP, "local.max_steps", NULL, NULL, NULL},
    {C_SAMPLE_PER_BATCH, "local.batch", NULL, NULL, NULL},
    {C_CANDIDATE, "scheduling.choice_d", "scheduling.policy", "power-of-choice",
     "candidates are what power-of-choice samples before keeping the highest-loss clients"},
    {C_GEOMED_ITERS, "strategy.geomed_iters", "strategy.aggregator", "geomed",
     "Weiszfeld iterations compute the geometric median"},
    {C_FLAG_ITERS, "strategy.flag_iters", "strategy.aggregator", "flag", "IRLS iterations are the Flag Aggregator's"},
};

/* The clause of item i speaks of the clients ("clients on sgd with lr
 * 0.05", "local lr"). */
static int local_clause(const intent_ctx *c, int i) {
    int lo = i, hi = i;
    while (lo > 0 && !(c->it[lo - 1].kind == IT_PUNCT && strchr(",;.!?", c->it[lo - 1].text[0]))) lo--;
    while (hi + 1 < c->nit && !(c->it[hi + 1].kind == IT_PUNCT && strchr(",;.!?", c->it[hi + 1].text[0]))) hi++;
    for (int j = lo; j <= hi; j++)
        if (intent_is(c, j, C_LOCAL) || intent_is(c, j, C_CLIENT) || intent_is(c, j, C_OPT_SGD) ||
            intent_is(c, j, C_OPT_ADAM) || intent_is(c, j, C_OPT_ADAMW) || intent_is(c, j, C_EPOCH) ||
            (intent_is(c, j, C_LR) && (!strcmp(c->it[j].text, "client") || !strcmp(c->it[j].text, "local"))) ||
            is_word(c, j, "local"))
            return 1;
    return 0;
}

static int key_value(intent_ctx *c, int i, const key_rule *r) {
    int maxskip = r->concept == C_BATCH ? 3 : 2;
    int n = value_after(c, i, maxskip);
    /* "a 0.01 learning rate", "a 5e-4 weight decay": a rate said before its name */
    if (n < 0 && (r->concept == C_LR || r->concept == C_SERVER_LR || r->concept == C_WD) && free_num(c, i - 1) &&
        !(c->it[i - 1].flags & (TK_PERCENT | TK_ORDINAL)) && c->it[i - 1].num > 0 && c->it[i - 1].num < 1)
        n = i - 1;
    if (n < 0) {
        /* a keyword that names a method also without a number */
        if (r->implies_path && (r->concept == C_MU))
            return intent_set_str(c, r->implies_path, r->implies_value, RANK_IMPLIED, i, i, r->implies_why);
        return 0;
    }
    /* "FedYogi with a learning rate of 1e-2": the clients' or the server
     * optimizer's? (with the server's said elsewhere, this one is local) */
    if (r->concept == C_LR && intent_server_optimizer_named(c) && !local_clause(c, i) &&
        !intent_anywhere(c, C_SERVER_LR)) {
        char ev[96], v[40];
        intent_evidence(c, intent_span_start(c, i), intent_span_end(c, n), ev, sizeof ev);
        intent_fmt(v, sizeof v, "%g", c->it[n].num);
        int rc = intent_ask_which(c, NULL, "\"%s\": the clients' learning rate or the server optimizer's? Please say "
                                           "\"client lr %s\" or \"server lr %s\".",
                                  ev, v, v);
        intent_reading(c, "local.lr", v, "the clients' learning rate");
        intent_reading(c, "strategy.server_lr", v, "the server optimizer's learning rate");
        return rc;
    }
    /* only "every" N rounds is an interval, not a count */
    if (r->concept == C_ROUND && !(is_punct(c, i + 1, ':') || is_punct(c, i + 1, '=') || n == i + 1)) return 0;
    /* "before round one", "from round 3": a singular "round" followed by its
     * number is a position, not a count ("rounds 40" is a count) */
    if (r->concept == C_ROUND && n == i + 1 && c->text[intent_span_end(c, i) - 1] != 's') {
        static const char *const at[] = {"before", "after", "from", "at", "until", "till", "by", "in", "on", "since",
                                         "of", "start", "starting", "first", "last", NULL};
        int p = i - 1, prep = 0;
        for (int k = 0; at[k] && p >= 0; k++) prep |= is_word(c, p, at[k]);
        /* only the first round is a position the task has ("before round
         * one"); "from round 5" asks for something it has not */
        if (!prep || c->it[n].num != 1) return 0; /* the number stays unread: a question */
        intent_use(c, i);
        intent_use(c, n);
        return 1;
    }
    if (r->concept == C_EPOCH && n != i + 1 && !is_punct(c, i + 1, ':') && !is_punct(c, i + 1, '=')) return 0;
    const char *why = NULL;
    int rc;
    if (r->integer) {
        rc = intent_set_int(c, r->path, n, RANK_WORDS, i, n, why);
    } else {
        double v = c->it[n].num;
        if (c->it[n].flags & TK_PERCENT) v /= 100.0;
        /* In the task spec lr 0 stands for the optimizer's default; said in
         * words it is more likely a slip. */
        if (r->concept == C_LR && v == 0)
            return intent_ask(c, "local.lr: a learning rate of 0 would not train (the task spec reads 0 as the "
                                 "optimizer's default). Which learning rate did you mean?");
        if (r->concept == C_DEADLINE || r->concept == C_ROUND_TIMEOUT || r->concept == C_CONNECT_TIMEOUT)
            why = "no unit given: read as seconds";
        rc = intent_set_real(c, r->path, v, RANK_WORDS, i, n, why);
    }
    if (rc < 0) return -1;
    if (r->implies_path && !(r->concept == C_NOISE && central_dp_named(c)))
        return intent_set_str(c, r->implies_path, r->implies_value, RANK_IMPLIED, i, n, r->implies_why);
    return 1;
}

/* "train for one hundred epochs": an epoch count said with nothing local
 * about it, too large for local epochs, in a request that gives no rounds,
 * may be the run's length (global epochs) as well. */
static int epochs_or_rounds(const intent_ctx *c, int n, int u) {
    if (c->it[n].num < 20 || !strcmp(c->it[u].text, "local") || intent_anywhere(c, C_ROUND)) return 0;
    int lo = n, hi = u;
    while (lo > 0 && !(c->it[lo - 1].kind == IT_PUNCT && strchr(",;.!?\n", c->it[lo - 1].text[0]))) lo--;
    while (hi + 1 < c->nit && !(c->it[hi + 1].kind == IT_PUNCT && strchr(",;.!?\n", c->it[hi + 1].text[0]))) hi++;
    for (int j = lo; j <= hi; j++)
        if (intent_is(c, j, C_LOCAL) || intent_is(c, j, C_CLIENT) || intent_is(c, j, C_PER_ROUND) ||
            is_word(c, j, "local") || is_word(c, j, "each") || is_word(c, j, "per") || is_word(c, j, "apiece"))
            return 0;
    return 1;
}

static int unit_value(intent_ctx *c, int u, const unit_rule *r) {
    int n = intent_num_before(c, u, 2);
    if (n < 0) return 0;
    if (c->it[n].flags & TK_ORDINAL) return 0; /* "the 3rd round" counts nothing */
    if (r->concept == C_ROUND && n > 0 && (is_word(c, n - 1, "every") || is_word(c, n - 1, "each")))
        return 0; /* an interval */
    /* "a cutoff of 40 rounds": rounds are the unit of another setting */
    if (r->concept == C_ROUND && intent_field_named_before(c, n)) return 0;
    /* "d = 30 candidates": the keyword before says the same thing */
    int k = n - 1;
    while (k >= 0 && (is_punct(c, k, '=') || is_punct(c, k, ':') || (c->it[k].kind == IT_WORD && (c->it[k].wclass & W_FILL))))
        k--;
    if (r->concept == C_EPOCH && epochs_or_rounds(c, n, u)) {
        char ev[96];
        intent_evidence(c, intent_span_start(c, n), intent_span_end(c, u), ev, sizeof ev);
        int rc = intent_ask_which(c, "local.epochs",
                                  "local.epochs: \"%s\" could be the run's length (rounds, which some call global "
                                  "epochs) or each client's local epochs per round. Which did you mean? (e.g. \"%s "
                                  "rounds\" or \"%s local epochs\")",
                                  ev, c->tok[c->it[n].t0].text, c->tok[c->it[n].t0].text);
        intent_reading(c, "rounds", c->it[n].text, "the number of communication rounds");
        intent_reading(c, "local.epochs", c->it[n].text, "each client's local epochs per round");
        return rc;
    }
    int first = n;
    for (size_t m = 0; k >= 0 && c->it[k].kind == IT_CONCEPT && m < sizeof key_rules / sizeof key_rules[0]; m++)
        if (key_rules[m].concept == c->it[k].concept && !strcmp(key_rules[m].path, r->path)) {
            intent_use(c, k);
            first = k;
        }
    if (intent_set_int(c, r->path, n, RANK_WORDS, first, u, NULL) < 0) return -1;
    if (r->implies_path) return intent_set_str(c, r->implies_path, r->implies_value, RANK_IMPLIED, n, u, r->implies_why);
    return 1;
}

/* "evaluate every 5 rounds", "test every round" */
static int eval_every(intent_ctx *c, int i) {
    for (int j = i + 1, d = 0; j < c->nit && d < 6; j++, d++) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_PUNCT && strchr(".;!?,", it->text[0])) return 0;
        if (intent_is(c, j, C_PER_ROUND) && !strcmp(it->text, "every")) {
            intent_use(c, j);
            return intent_set(c, "eval_every", json_integer(1), RANK_WORDS, intent_span_start(c, i),
                              intent_span_end(c, j), NULL) < 0 ? -1 : 1;
        }
        if ((is_word(c, j, "every") || is_word(c, j, "each")) && free_num(c, j + 1)) {
            int last = j + 1;
            if (intent_is(c, j + 2, C_ROUND)) last = j + 2;
            intent_use(c, j);
            intent_use(c, last);
            return intent_set_int(c, "eval_every", j + 1, RANK_WORDS, i, last, NULL) < 0 ? -1 : 1;
        }
    }
    return 0;
}

/* "20% sign-flip attackers", "a tenth unreliable clients": a share right
 * before (an attack's name may sit between) is a fraction of the clients. */
static int share_of_clients(intent_ctx *c, int u, const char *path) {
    int j = intent_prev(c, u);
    if (j >= 0 && c->it[j].kind == IT_CONCEPT && c->it[j].concept >= C_ATK_SIGN_FLIP && c->it[j].concept <= C_ATK_IPM)
        j = intent_prev(c, j);
    if (j < 0 || c->it[j].kind != IT_NUM || c->it[j].used) return 0;
    double f = share_of(&c->it[j]);
    if (f < 0) return 0;
    return intent_set_real(c, path, f, RANK_WORDS, j, u, NULL) < 0 ? -1 : 1;
}

static int clients(intent_ctx *c, int u) {
    int n = intent_num_before(c, u, 2);
    if (n < 0) return 0;
    /* "wait for 12 nodes", "at least 12 nodes connected": deployment start */
    int w = intent_prev(c, n);
    int conn = intent_next(c, u);
    if ((w >= 0 && intent_is(c, w, C_WAIT)) ||
        (w >= 0 && intent_is(c, w, C_AT_LEAST) && conn >= 0 && intent_is(c, conn, C_CONNECTED))) {
        intent_use(c, conn >= 0 && intent_is(c, conn, C_CONNECTED) ? conn : -1);
        return intent_set_int(c, "deploy.min_nodes", n, RANK_WORDS, w, conn >= 0 && c->it[conn].used ? conn : u,
                              NULL) < 0 ? -1 : 1;
    }
    if (w >= 0 && (intent_is(c, w, C_OUT_OF) || intent_is(c, w, C_CLIENT_KEY))) intent_use(c, w);
    return intent_set_int(c, "clients", n, RANK_WORDS, n, u, NULL) < 0 ? -1 : 1;
}

int intent_rules_numbers(intent_ctx *c) {
    /* 1. the most specific patterns */
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_CONCEPT) continue;
        switch (c->it[i].concept) {
        case C_E_EQ: case C_B_EQ: case C_C_EQ: case C_K_EQ: letters(c, i); break;
        case C_TIME_UNIT: duration(c, i); break;
        default: break;
        }
    }
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_CONCEPT) continue;
        switch (c->it[i].concept) {
        case C_ACCURACY: accuracy_target(c, i); break;
        case C_UNTIL: {
            int n = intent_num_after(c, i, 3);
            double v;
            if (n >= 0 && (c->it[n].flags & TK_PERCENT) && accuracy_value(c, n, &v)) {
                int acc = intent_next(c, n);
                if (acc >= 0 && intent_is(c, acc, C_ACCURACY)) intent_use(c, acc);
                intent_use(c, n);
                intent_set_real(c, "stop.target_accuracy", v, RANK_WORDS, i, acc >= 0 && c->it[acc].used ? acc : n, NULL);
            }
            break;
        }
        case C_EVAL: eval_every(c, i); break;
        default: break;
        }
    }
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_CONCEPT) continue;
        int n;
        switch (c->it[i].concept) {
        case C_PER_ROUND: per_round(c, i); break;
        case C_FULL_PART: set_all(c, i, i); break;
        case C_PARTICIPATION:
            if (intent_field_named_at(c, i)) break;
            /* "100% participation with 25 clients": a share right before wins */
            n = intent_num_before(c, i, 1);
            if (n < 0 || !(c->it[n].flags & TK_PERCENT)) n = intent_num_after(c, i, 2);
            if (n < 0) n = intent_num_before(c, i, 1);
            if (n >= 0) {
                if (share_of(&c->it[n]) < 0)
                    return intent_ask(c, "clients_per_round: a participation of %s is not a share; use a "
                                         "percentage or a fraction such as 10%% or 0.1",
                                      c->tok[c->it[n].t0].text);
                c->it[n].flags |= c->it[n].flags & TK_PERCENT ? 0 : TK_FRACTION;
                set_share(c, n, i, n);
                int pr = intent_next(c, i);
                if (pr >= 0 && intent_is(c, pr, C_PER_ROUND)) intent_use(c, pr);
            }
            break;
        case C_OUT_OF:
            if ((n = intent_num_after(c, i, 1)) >= 0) {
                int u = n + 1 < c->nit && intent_is(c, n + 1, C_CLIENT) ? n + 1 : n;
                intent_set_int(c, "clients", n, RANK_WORDS, i, u, NULL);
            }
            break;
        default: break;
        }
    }
    if (c->failed) return -1;
    /* 2. counts with their units on the right */
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_CONCEPT) continue;
        if (intent_is(c, i, C_CLIENT) ||
            ((intent_is(c, i, C_PROF_LOGNORMAL) || intent_is(c, i, C_PROF_NONE)) && c->it[i].arg == 1)) {
            /* "50 heterogeneous devices": the profile phrase holds the noun */
            int was = c->it[i].used;
            clients(c, i);
            if (!intent_is(c, i, C_CLIENT)) c->it[i].used = was;
            continue;
        }
        if (intent_is(c, i, C_UP) && !strcmp(c->it[i].text, "update")) {
            int n = intent_num_before(c, i, 1);
            if (n >= 0) {
                int al = intent_prev(c, n);
                intent_use(c, al >= 0 && intent_is(c, al, C_AT_LEAST) ? al : -1);
                intent_set_int(c, "deploy.min_updates", n, RANK_WORDS, n, i, NULL);
            }
            continue;
        }
        if (intent_is(c, i, C_ATTACKER) || intent_is(c, i, C_UNRELIABLE_CLIENT)) {
            share_of_clients(c, i, intent_is(c, i, C_ATTACKER) ? "attack.fraction" : "attack.unreliable");
            continue;
        }
        for (size_t k = 0; k < sizeof unit_rules / sizeof unit_rules[0]; k++)
            if (c->it[i].concept == unit_rules[k].concept) {
                unit_value(c, i, &unit_rules[k]);
                break;
            }
    }
    if (c->failed) return -1;
    /* 3. keywords with their values on the right */
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_CONCEPT) continue;
        switch (c->it[i].concept) {
        case C_SEED: seed(c, i); continue;
        case C_MOMENTUM: momentum(c, i); continue;
        case C_BETA1: beta(c, i, 1); continue;
        case C_BETA2: beta(c, i, 2); continue;
        case C_CLIP: clip(c, i); continue;
        case C_OPT_SGD:
        case C_OPT_ADAM:
        case C_OPT_ADAMW:
        case C_OPT_LION:
        case C_OPT_ADAN:
        case C_OPT_ADAMP:
        case C_OPT_SGDP:
        case C_OPT_EXADAM:
        case C_OPT_ADAHESSIAN:
        case C_OPT_MFAC: {
            /* "adam at 3e-4": the optimizer's learning rate */
            if (is_word(c, i + 1, "at") && free_num(c, i + 2) && !is_unit(c, i + 3) &&
                !(c->it[i + 2].flags & TK_PERCENT))
                intent_set_real(c, "local.lr", c->it[i + 2].num, RANK_WORDS, i + 1, i + 2, NULL);
            /* "adam 1e-3": a rate right after the optimizer, written as a
             * power or a decimal below 1 (a count would be a whole number) */
            else if (free_num(c, i + 1) && !is_unit(c, i + 2) && !(c->it[i + 1].flags & (TK_PERCENT | TK_FRACTION)) &&
                     c->it[i + 1].num > 0 && c->it[i + 1].num < 1 && !intent_server_optimizer_named(c)) {
                /* the optimizer's name stays for the method rules */
                intent_set_real(c, "local.lr", c->it[i + 1].num, RANK_WORDS, i, i + 1, NULL);
                c->it[i].used = 0;
            }
            continue;
        }
        case C_CLIENT: {
            /* "clients: 100", "clients = 100" */
            if (is_punct(c, i + 1, ':') || is_punct(c, i + 1, '=')) {
                int n = intent_num_after(c, i, 1);
                if (n >= 0) intent_set_int(c, "clients", n, RANK_WORDS, i, n, NULL);
            }
            continue;
        }
        default: break;
        }
        for (size_t k = 0; k < sizeof key_rules / sizeof key_rules[0]; k++)
            if (c->it[i].concept == key_rules[k].concept) {
                key_value(c, i, &key_rules[k]);
                break;
            }
    }
    return c->failed ? -1 : 0;
}
