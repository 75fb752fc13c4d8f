/* Questions the words raise that no single rule can see: run once every
 * rule has read what it could.
 *   "a few clients", "several rounds", "as many rounds as needed": a count
 *     the person has in mind but did not give;
 *   "until convergence": fedc stops on a target accuracy or a time budget;
 *   "SGD with momentum", "weight decay", "Nesterov": a parameter named
 *     without its value (the task default would silently be 0);
 *   "DP with epsilon 1": a privacy budget, which fedc does not take
 *     directly (it adds noise of noise_multiplier x clip), not adam's eps;
 *   "early stopping", "secure aggregation", "data augmentation": settings
 *     fedc does not have.
 * Each is asked only when the words gave the field nothing else. */
#include <string.h>

#include "intent/intent_internal.h"

static const struct {
    const char *what, *instead;
} unsupported[] = {
    {"early stopping on a plateau", "a run stops on a plateau after stop.plateau_rounds rounds without a rise of "
                                    "the accuracy; after how many rounds?"},
    {"privacy budget (epsilon, delta) setting", "dp-gaussian takes a clip norm and a noise multiplier "
                                         "(privacy.noise_multiplier); which noise multiplier?"},
    {"secure aggregation", "updates are protected by TLS on the wire and optionally by dp-gaussian noise "
                           "(privacy.mode); which do you want?"},
    {"data augmentation", "clients train on their data as it is; shall the run go without it?"},
    {"validation split", "the global model is evaluated on the data set's test split (eval_every); shall it?"},
};

static int set_by_words(intent_ctx *c, const char *path) {
    intent_slot *s = intent_slot_find(c, path);
    return s && s->rank >= RANK_HINT;
}

/* The count noun a vague quantifier at item i is about: "a few (local)
 * clients"; its field, or NULL. */
static const char *vague_field(const intent_ctx *c, int i) {
    for (int j = i + 1; j < c->nit && j <= i + 3; j++) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_NUM) return NULL; /* "a few 100 clients"? the number speaks */
        if (intent_is(c, j, C_CLIENT)) return "clients";
        if (intent_is(c, j, C_ROUND)) return "rounds";
        if (intent_is(c, j, C_EPOCH)) return "local.epochs";
        if (intent_is(c, j, C_STEP)) return "local.max_steps";
        if (intent_is(c, j, C_CLASS) || intent_is(c, j, C_SHARD)) return "partition.classes_per_client";
        if (it->kind == IT_WORD && (it->wclass & (W_ADJ | W_FILL))) continue;
        if (it->kind == IT_CONCEPT && (it->concept == C_LOCAL || it->concept == C_IID || it->concept == C_NONIID))
            continue;
        return NULL;
    }
    return NULL;
}

static int anywhere(const intent_ctx *c, concept_id k) {
    for (int j = 0; j < c->nit; j++)
        if (intent_is(c, j, k)) return 1;
    return 0;
}

/* The field of a method parameter named in words, for "a small mu". */
static const char *parameter_field(concept_id k) {
    switch (k) {
    case C_MU: return "strategy.mu";
    case C_LR: return "local.lr";
    case C_SERVER_LR: return "strategy.server_lr";
    case C_ALPHA: return "partition.alpha";
    case C_SIGMA: return "partition.sigma";
    case C_TAU: return "strategy.tau";
    case C_RHO: return "strategy.rho";
    case C_CLIP: return "privacy.clip";
    case C_NOISE: return "privacy.noise_multiplier";
    default: return NULL;
    }
}

/* "a smal mu", "a high learning rate", "low noise": a size word instead of
 * the value. The default would run silently, which may be anything but
 * what "small" meant. */
static int sized_without_value(intent_ctx *c, int i) {
    const char *f = parameter_field(c->it[i].concept);
    if (!f || set_by_words(c, f)) return 0;
    for (int j = i - 1; j >= 0 && j >= i - 2; j--) {
        const intent_item *p = &c->it[j];
        int size = intent_is(c, j, C_SMALL) || intent_is(c, j, C_LARGE) || intent_is(c, j, C_STRONG);
        if (p->kind == IT_WORD) {
            const char *w = c->tok[p->t0].text;
            size = !strcmp(w, "low") || !strcmp(w, "lower") || !strcmp(w, "higher") || !strcmp(w, "modest") ||
                   !strcmp(w, "weak") || !strcmp(w, "moderate") || !strcmp(w, "reasonable") || !strcmp(w, "some");
        }
        if (!size) continue;
        char ev[96];
        intent_evidence(c, intent_span_start(c, j), intent_span_end(c, i), ev, sizeof ev);
        intent_use(c, j);
        return intent_ask_which(c, f, "%s: \"%s\" does not say how much. Which value did you mean?", f, ev);
    }
    return 0;
}

/* "use most of them each round", "some of the clients every round": a share
 * of the federation per round that is not a number. */
static int vague_share(intent_ctx *c, int i) {
    const intent_item *it = &c->it[i];
    if (it->kind != IT_WORD || it->used) return 0;
    const char *w = c->tok[it->t0].text;
    if (strcmp(w, "most") && strcmp(w, "some") && strcmp(w, "many")) return 0;
    if (!(i + 1 < c->nit && c->it[i + 1].kind == IT_WORD && !strcmp(c->it[i + 1].text, "of"))) return 0;
    int per_round = 0;
    for (int j = i + 2; j < c->nit && j <= i + 6 && intent_same_sentence(c, i, j); j++)
        per_round |= intent_is(c, j, C_PER_ROUND);
    if (!per_round || set_by_words(c, "clients_per_round")) return 0;
    char ev[96];
    intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i + 2 < c->nit ? i + 2 : i), ev, sizeof ev);
    return intent_ask_which(c, "clients_per_round",
                            "clients_per_round: \"%s\" does not say how many take part each round. How many (or "
                            "which share) did you mean?",
                            ev);
}

int intent_rules_vague(intent_ctx *c) {
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (vague_share(c, i) < 0) return -1;
        if (c->it[i].kind == IT_CONCEPT && sized_without_value(c, i) < 0) return -1;
    }
    for (int i = 0; i < c->nit && !c->failed; i++) {
        const intent_item *it = &c->it[i];
        if (it->kind != IT_CONCEPT) continue;
        char ev[96];
        intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), ev, sizeof ev);
        switch (it->concept) {
        case C_VAGUE: {
            const char *f = vague_field(c, i);
            intent_use(c, i);
            if (!f || set_by_words(c, f)) break;
            /* clients per round fixed by words ("10 per round") still leaves the federation open */
            return intent_ask_which(c, f, "%s: \"%s\" does not say how many. How many did you mean?", f, ev);
        }
        case C_CONVERGE:
            intent_use(c, i);
            if (set_by_words(c, "stop.target_accuracy") || set_by_words(c, "stop.max_wall_s") ||
                set_by_words(c, "rounds"))
                break;
            return intent_ask_which(c, "stop.target_accuracy",
                                    "stop.target_accuracy: \"%s\": fedc stops a run at a round count, a target "
                                    "accuracy or a time budget. Which target accuracy (e.g. \"until 85%% "
                                    "accuracy\"), or how many rounds?",
                                    ev);
        case C_UNSUPPORTED: {
            int k = (int)it->arg;
            if (k < 0 || k >= (int)(sizeof unsupported / sizeof unsupported[0])) k = 0;
            intent_use(c, i);
            return intent_ask_which(c, NULL, "\"%s\": fedc has no %s; %s", ev, unsupported[k].what,
                                    unsupported[k].instead);
        }
        case C_MOMENTUM:
            /* FedAvgM's momentum is the server's (default 0.9); fedavg-m and
             * scaffold-m weigh the clients' momentum with client_beta */
            if (it->used || set_by_words(c, "local.momentum") || set_by_words(c, "strategy.momentum") ||
                anywhere(c, C_S_FEDAVGM) || anywhere(c, C_S_FEDAVG_M) || anywhere(c, C_S_SCAFFOLD_M))
                break;
            return intent_ask_which(c, "local.momentum",
                                    "local.momentum: \"%s\" names momentum without a value, and the task default "
                                    "is 0 (none). How much momentum (e.g. 0.9)?",
                                    ev);
        case C_NESTEROV:
            if (set_by_words(c, "local.momentum")) break;
            return intent_ask_which(c, "local.momentum",
                                    "local.momentum: \"%s\" needs a momentum above 0 to have an effect, and the task "
                                    "default is 0. How much momentum (e.g. 0.9)?",
                                    ev);
        case C_EVAL: {
            /* "evaluate less often", "test more frequently": a change of the
             * evaluation interval without the interval */
            if (set_by_words(c, "eval_every")) break;
            int vague_rate = 0;
            for (int j = i + 1; j < c->nit && j <= i + 3; j++) {
                const char *w = c->tok[c->it[j].t0].text;
                if (c->it[j].kind == IT_PUNCT) break;
                if ((!strcmp(w, "less") || !strcmp(w, "more")) && j + 1 < c->nit &&
                    (!strcmp(c->tok[c->it[j + 1].t0].text, "often") ||
                     !strcmp(c->tok[c->it[j + 1].t0].text, "frequently")))
                    vague_rate = 1;
                if (!strcmp(w, "rarely") || !strcmp(w, "occasionally") || !strcmp(w, "sparingly")) vague_rate = 1;
            }
            if (!vague_rate) break;
            return intent_ask_which(c, "eval_every",
                                    "eval_every: \"%s\" changes how often the model is evaluated without saying "
                                    "how often. Every how many rounds (e.g. \"evaluate every 5 rounds\")?",
                                    ev);
        }
        case C_SEED:
            /* "seed it with today's date": a seed without a value */
            if (it->used || set_by_words(c, "seed")) break;
            return intent_ask_which(c, "seed",
                                    "seed: \"%s\" names a seed without a value (the task default is 0). Which "
                                    "seed (a whole number, e.g. \"seed 20261208\")?",
                                    ev);
        case C_WD:
            if (it->used || set_by_words(c, "local.weight_decay")) break;
            return intent_ask_which(c, "local.weight_decay",
                                    "local.weight_decay: \"%s\" names weight decay without a value, and the task "
                                    "default is 0 (none). How much (e.g. 5e-4)?",
                                    ev);
        case C_EPS: {
            /* epsilon beside differential privacy is a privacy budget */
            int privacy = anywhere(c, C_DP) || anywhere(c, C_NOISE) || anywhere(c, C_CLIP);
            if (!privacy || anywhere(c, C_OPT_ADAM) || anywhere(c, C_OPT_ADAMW)) break;
            return intent_ask_which(c, "privacy.noise_multiplier",
                                    "privacy.noise_multiplier: \"%s\" reads as a privacy budget, which fedc does not "
                                    "take directly: dp-gaussian adds noise of noise_multiplier x clip. Which noise "
                                    "multiplier (e.g. 1.1)? For adam's epsilon, name adam.",
                                    ev);
        }
        default: break;
        }
    }
    return c->failed ? -1 : 0;
}
