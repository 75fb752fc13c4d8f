/* From the frame to a validated task. Order matters and is the policy:
 *   1. qualitative skew becomes a Dirichlet alpha (checked against any alpha given);
 *   2. shares of clients per round become counts;
 *   3. goals fill the fields the words left open;
 *   4. consequences: the default clients per round shrinks to a small
 *      federation; a stopping rule or DP without a noise level are noted;
 *   5. contradictions between counts are questions;
 *   6. the task validator has the last word; its message is passed on.
 * Then every field is explained. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/catalog.h"
#include "intent/intent_internal.h"

/* Dirichlet alpha for skew described in words. Literature convention for
 * label skew (Hsu et al. 2019; Li et al. 2022, NIID-Bench): 0.1 strongly
 * skewed, 0.5 the usual non-IID setting, 1.0 mild. The bounds say which
 * explicit alphas still fit the words. */
static const struct {
    int level;
    double alpha, lo, hi;
    const char *words;
} skew_levels[] = {
    {1, 1.0, 0.5, 1000, "Dirichlet alpha 1.0 for mild skew (convention; alphas >= 0.5 fit these words)"},
    {2, 0.5, 0, 1000, "Dirichlet alpha 0.5, the usual non-IID setting (Li et al., NIID-Bench)"},
    {3, 0.1, 0, 0.3, "Dirichlet alpha 0.1 for strong skew (convention; alphas <= 0.3 fit these words)"},
};

static json_t *value_of(intent_ctx *c, const char *path, json_t *defaults) {
    intent_slot *s = intent_slot_find(c, path);
    if (s) return s->value;
    const char *dot = strchr(path, '.');
    if (!dot) return json_object_get(defaults, path);
    char group[32];
    snprintf(group, sizeof group, "%.*s", (int)(dot - path), path);
    return json_object_get(json_object_get(defaults, group), dot + 1);
}

static double number_of(json_t *v) {
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A count from the frame as an int; out-of-range counts are left for the
 * validator to name, so they are only clamped here. */
static int count_of(json_t *v) {
    double x = number_of(v);
    if (!(x > -1e9)) return -1000000000;
    if (x > 1e9) return 1000000000;
    return (int)x;
}

static const char *string_of(json_t *v) {
    return json_is_string(v) ? json_string_value(v) : "";
}

static int skew(intent_ctx *c, json_t *defaults) {
    if (!c->noniid_level) return 0;
    const char *kind = string_of(value_of(c, "partition.kind", defaults));
    intent_slot *ks = intent_slot_find(c, "partition.kind");
    char ev[96];
    intent_evidence(c, c->noniid_start, c->noniid_end, ev, sizeof ev);
    if (ks && !strcmp(kind, "iid")) {
        char iid[96];
        intent_evidence(c, ks->start, ks->end, iid, sizeof iid);
        return intent_ask(c, "partition.kind: \"%s\" asks for IID data but \"%s\" asks for non-IID data. Which one "
                             "did you mean?",
                          iid, ev);
    }
    int lv = 0;
    for (size_t k = 0; k < sizeof skew_levels / sizeof skew_levels[0]; k++)
        if (skew_levels[k].level == c->noniid_level) lv = (int)k;
    if (ks && strcmp(kind, "dirichlet") != 0) return 0; /* shards or quantity: non-IID already */
    if (!ks && intent_set(c, "partition.kind", json_string("dirichlet"), RANK_HINT, c->noniid_start, c->noniid_end,
                          "label skew drawn from a Dirichlet distribution") < 0)
        return -1;
    intent_slot *as = intent_slot_find(c, "partition.alpha");
    if (as) {
        double a = number_of(as->value);
        if (a < skew_levels[lv].lo || a > skew_levels[lv].hi) {
            char aev[96];
            intent_evidence(c, as->start, as->end, aev, sizeof aev);
            return intent_ask(c, "partition.alpha: \"%s\" suggests %s, but \"%s\" gives alpha %g. Which did you mean?",
                              ev, c->noniid_level == 3 ? "alpha <= 0.3 (strong skew)" : "alpha >= 0.5 (mild skew)", aev, a);
        }
        return 0;
    }
    return intent_set(c, "partition.alpha", json_real(skew_levels[lv].alpha), RANK_HINT, c->noniid_start,
                      c->noniid_end, skew_levels[lv].words);
}

static int shares(intent_ctx *c, json_t *defaults) {
    json_t *cl = value_of(c, "clients", defaults);
    int n = count_of(cl);
    intent_slot *cs = intent_slot_find(c, "clients");
    char why[200];
    int k_default = count_of(value_of(c, "clients_per_round", defaults));
    if (c->all_maybe && !c->cpr_all && !c->cpr_frac_set && !intent_slot_find(c, "clients_per_round") &&
        n > k_default) {
        /* "all 40 clients" with nothing about rounds: two readings */
        char ev[96], v[32], r[160];
        intent_evidence(c, c->all_maybe_start, c->all_maybe_end, ev, sizeof ev);
        intent_ask_which(c, "clients_per_round",
                         "clients_per_round: \"%s\": should all %d clients train in every round, or %d of them "
                         "per round (the default)? Say \"all of them every round\" or \"%d per round\".",
                         ev, n, k_default, k_default);
        snprintf(v, sizeof v, "%d", n);
        intent_fmt(r, sizeof r, "\"%s\" read as every client in every round", ev);
        intent_reading(c, "clients_per_round", v, r);
        snprintf(v, sizeof v, "%d", k_default);
        intent_fmt(r, sizeof r, "\"%s\" read as the size of the federation; the default clients per round", ev);
        intent_reading(c, "clients_per_round", v, r);
        return -1;
    }
    if (c->cpr_all) {
        snprintf(why, sizeof why, "all %d clients take part in every round", n);
        if (intent_set(c, "clients_per_round", json_integer(n), RANK_DERIVED, c->cpr_all_start, c->cpr_all_end, why) < 0)
            return -1;
    }
    if (c->cpr_frac_set) {
        char ev[96];
        intent_evidence(c, c->cpr_frac_start, c->cpr_frac_end, ev, sizeof ev);
        if (c->cpr_frac > 1)
            return intent_ask(c, "clients_per_round: \"%s\" is more than all the clients; a round can use at most "
                                 "100%% of them. What share did you mean?",
                              ev);
        if (c->cpr_frac <= 0)
            return intent_ask(c, "clients_per_round: \"%s\" selects no client. What share did you mean?", ev);
        double exact = c->cpr_frac * n;
        long k = lround(exact);
        if (fabs(exact - (double)k) > 1e-9) {
            /* "15% of 30" is 4.5 clients: rounding down (FedAvg's max(C*K, 1)) and
             * rounding to the nearest are both usual, so the person chooses */
            long lo = (long)floor(exact), hi = lo + 1;
            if (lo < 1) lo = 1;
            intent_ask_which(c, "clients_per_round",
                             "clients_per_round: \"%s\" is %g%% of %d clients = %.2f clients. %ld or %ld per round?", ev,
                             c->cpr_frac * 100, n, exact, lo, hi);
            char v[32], r[160];
            snprintf(v, sizeof v, "%ld", lo);
            intent_fmt(r, sizeof r, "\"%s\" rounded down (at least one)", ev);
            intent_reading(c, "clients_per_round", v, r);
            if (hi != lo) {
                snprintf(v, sizeof v, "%ld", hi);
                intent_fmt(r, sizeof r, "\"%s\" rounded up", ev);
                intent_reading(c, "clients_per_round", v, r);
            }
            return -1;
        }
        if (k < 1) k = 1;
        snprintf(why, sizeof why, "%g%% of %d clients%s = %ld%s", c->cpr_frac * 100, n,
                 cs ? "" : " (the default federation size)", k,
                 fabs(exact - (double)lround(exact)) > 1e-9 ? " (rounded)" : "");
        if (intent_set(c, "clients_per_round", json_integer(k), RANK_DERIVED, c->cpr_frac_start, c->cpr_frac_end, why) < 0)
            return -1;
    }
    return 0;
}

/* "Minimise the traffic: top-k at 0.5%, then q4": the words after the goal
 * and a colon say how the goal is met. Whether a field of the same group as
 * field (compression.*) was set by words that follow goal g that way. */
static int goal_met_by_words(intent_ctx *c, int g, const char *field) {
    const char *dot = strchr(field, '.');
    if (!dot) return 0;
    size_t glen = (size_t)(dot - field) + 1;
    for (int k = 0; k < c->nslot; k++) {
        const intent_slot *s = &c->slot[k];
        if (s->rank <= RANK_GOAL || strncmp(s->path, field, glen) != 0 || s->start < c->goal_end[g]) continue;
        int colon = 0, broken = 0;
        for (int p = c->goal_end[g]; p < s->start && p < (int)c->len; p++) {
            if (c->text[p] == ':') colon = 1;
            if (strchr(".;!?\n", c->text[p]) && !(c->text[p] == '.' && p + 1 < (int)c->len && c->text[p + 1] >= '0' &&
                                                 c->text[p + 1] <= '9'))
                broken = 1;
        }
        if (colon && !broken) return 1;
    }
    return 0;
}

/* Goals fill what the words left open; two goals disagreeing is a question. */
static int goals(intent_ctx *c) {
    fedc_intent_result *r = c->out;
    for (int g = 0; g < intent_ngoals && g < FEDC_INTENT_MAX_GOALS; g++) {
        if (!c->goal_on[g]) continue;
        const intent_goal *goal = &intent_goals[g];
        if (r->n_goals < FEDC_INTENT_MAX_GOALS) snprintf(r->goals[r->n_goals++], sizeof r->goals[0], "%s", goal->name);
        for (int k = 0; k < goal->nsettings; k++) {
            const intent_goal_setting *st = &goal->settings[k];
            json_t *v = json_loads(st->value, JSON_DECODE_ANY, NULL);
            if (!v) return intent_ask(c, "goal table: bad value for %s", st->field);
            intent_slot *s = intent_slot_find(c, st->field);
            char ev[96];
            if (s && s->rank == RANK_GOAL && !json_equal(s->value, v)) {
                char ev2[96];
                intent_evidence(c, s->start, s->end, ev, sizeof ev);
                intent_evidence(c, c->goal_start[g], c->goal_end[g], ev2, sizeof ev2);
                json_decref(v);
                return intent_ask(c,
                                  "%s: the goals \"%s\" (\"%s\") and \"%s\" (\"%s\") pull it different ways. Which "
                                  "matters more? Or say the %s you want.",
                                  st->field, intent_goals[s->goal].label, ev, goal->label, ev2, st->field);
            }
            if (!s && goal_met_by_words(c, g, st->field)) {
                char ev2[96];
                intent_evidence(c, c->goal_start[g], c->goal_end[g], ev2, sizeof ev2);
                intent_note(c, "goal \"%s\" (\"%s\") is met by the codec given after it; %s keeps its default",
                            goal->label, ev2, st->field);
                json_decref(v);
                continue;
            }
            if (s && s->rank > RANK_GOAL) {
                if (!json_equal(s->value, v)) {
                    char *have = json_dumps(s->value, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
                    intent_evidence(c, s->start, s->end, ev, sizeof ev);
                    intent_note(c, "goal \"%s\" would set %s to %s; kept %s from \"%s\"", goal->label, st->field,
                                st->value, have ? have : "?", ev);
                    free(have);
                }
                json_decref(v);
                continue;
            }
            char why[240];
            snprintf(why, sizeof why, "%s [%s]", st->why, st->evidence);
            if (intent_set(c, st->field, v, RANK_GOAL, c->goal_start[g], c->goal_end[g], why) < 0) return -1;
            intent_slot *ns = intent_slot_find(c, st->field);
            if (ns) ns->goal = g;
        }
    }
    return 0;
}

static int consequences(intent_ctx *c, json_t *defaults) {
    /* A stopping rule ends the run early; it adds no rounds nobody asked for:
     * rounds keeps what the words or the default say, and a note says so. */
    intent_slot *rs = intent_slot_find(c, "rounds");
    intent_slot *ta = intent_slot_find(c, "stop.target_accuracy");
    intent_slot *wt = intent_slot_find(c, "stop.max_wall_s");
    if ((ta || wt) && !rs)
        intent_note(c, "the run stops at the target or the time budget, or after rounds = %d (the default) if that "
                       "comes first; say \"up to N rounds\" for more",
                    count_of(value_of(c, "rounds", defaults)));
    intent_slot *cs = intent_slot_find(c, "clients");
    int n = count_of(value_of(c, "clients", defaults));
    int k = count_of(value_of(c, "clients_per_round", defaults));
    if (cs && !intent_slot_find(c, "clients_per_round") && k > n && n >= 1) {
        char why[160];
        snprintf(why, sizeof why, "the default of %d per round is more than the %d clients: all of them take part", k, n);
        if (intent_set(c, "clients_per_round", json_integer(n), RANK_DERIVED, cs->start, cs->end, why) < 0) return -1;
    }
    intent_slot *dp = intent_slot_find(c, "privacy.mode");
    if (dp && (!strcmp(string_of(dp->value), "dp-gaussian") || !strcmp(string_of(dp->value), "dp-fedavg")) &&
        !intent_slot_find(c, "privacy.noise_multiplier"))
        intent_note(c, "differential privacy without a noise level: noise_multiplier stays 0 (the default), which "
                       "clips updates but guarantees no privacy; say \"noise multiplier 1.0\" for noise");
    /* where the data is (or whether it is fetched) is the data catalog's
     * question at run time, never the parser's: a named data set is a task.
     * A sized model ends in dense:10; a catalog data set with another class
     * count (cifar100, 20 with coarse labels; the EMNIST splits) gets its own. */
    intent_slot *ds = intent_slot_find(c, "dataset.name"), *ms = intent_slot_find(c, "model");
    const fedc_catalog_entry *entry = ds ? fedc_catalog_builtin(string_of(ds->value)) : NULL;
    /* FEMNIST named alone keeps the default split; its writers are one
     * word away, so say which words choose them */
    if (entry && entry->natural && !intent_slot_find(c, "partition.kind"))
        intent_note(c, "%s: partition.kind stays iid (the default); say \"split by writer\" for its natural "
                       "partition, one writer per client as in LEAF", entry->name);
    if (entry && ms) {
        intent_slot *ls = intent_slot_find(c, "dataset.labels");
        int classes = entry->n_classes;
        if (entry->n_classes_coarse && ls && !strcmp(string_of(ls->value), "coarse")) classes = entry->n_classes_coarse;
        const char *spec = string_of(ms->value);
        size_t slen = strlen(spec);
        if (classes != 10 && slen >= 8 && !strcmp(spec + slen - 8, "dense:10") && (slen == 8 || spec[slen - 9] == ',')) {
            char fixed[1100];
            snprintf(fixed, sizeof fixed, "%.*sdense:%d", (int)(slen - 8), spec, classes);
            intent_note(c, "model: the last layer has one output per class, so dense:10 became dense:%d for %s",
                        classes, entry->name);
            json_decref(ms->value);
            ms->value = json_string(fixed);
        }
    }
    intent_slot *pol = intent_slot_find(c, "scheduling.policy");
    if (pol && !strcmp(string_of(pol->value), "deadline") && !intent_slot_find(c, "scheduling.deadline_s")) {
        char ev[96];
        intent_evidence(c, pol->start, pol->end, ev, sizeof ev);
        return intent_ask(c, "scheduling.deadline_s: \"%s\" needs a round deadline. How many seconds may a round take?",
                          ev);
    }
    return 0;
}

static int counts(intent_ctx *c, json_t *defaults) {
    int n = count_of(value_of(c, "clients", defaults));
    int k = count_of(value_of(c, "clients_per_round", defaults));
    intent_slot *ks = intent_slot_find(c, "clients_per_round");
    if (ks && k > n && ks->rank == RANK_GOAL) {
        /* a goal's count never overrides the federation the words describe */
        intent_note(c, "goal \"%s\" would train %d clients per round; the federation has only %d, so all of them",
                    intent_goals[ks->goal].label, k, n);
        json_decref(ks->value);
        ks->value = json_integer(n);
        return 0;
    }
    if (ks && k > n) {
        char a[96], b[96];
        intent_slot *cs = intent_slot_find(c, "clients");
        intent_evidence(c, ks->start, ks->end, a, sizeof a);
        if (cs)
            intent_evidence(c, cs->start, cs->end, b, sizeof b);
        else
            snprintf(b, sizeof b, "the default federation size");
        return intent_ask(c,
                          "clients_per_round: \"%s\" asks for %d clients per round, more than the %d clients "
                          "(\"%s\"). Should there be more clients, or fewer per round?",
                          a, k, n, b);
    }
    return 0;
}

/* Nested JSON of the frame's slots. */
static json_t *frame_json(intent_ctx *c) {
    json_t *root = json_object();
    for (int k = 0; root && k < c->nslot; k++) {
        const char *p = c->slot[k].path, *dot = strchr(p, '.');
        if (!dot) {
            json_object_set(root, p, c->slot[k].value);
            continue;
        }
        char group[32];
        snprintf(group, sizeof group, "%.*s", (int)(dot - p), p);
        json_t *g = json_object_get(root, group);
        if (!g) {
            g = json_object();
            json_object_set_new(root, group, g);
        }
        json_object_set(g, dot + 1, c->slot[k].value);
    }
    return root;
}

static const char *const core_fields[] = {
    "dataset.name", "partition.kind", "model", "rounds", "clients", "clients_per_round", "local.epochs",
    "local.batch", "local.lr", "local.optimizer", "strategy.name", "compression.up", "compression.down",
    "scheduling.policy", "privacy.mode", "seed", NULL,
};

static int is_core(const char *path) {
    for (int k = 0; core_fields[k]; k++)
        if (!strcmp(core_fields[k], path)) return 1;
    return 0;
}

static void explain_one(intent_ctx *c, const char *path, json_t *v) {
    fedc_intent_result *r = c->out;
    intent_slot *s = intent_slot_find(c, path);
    if (!s && !is_core(path)) return;
    if (r->n_choices >= FEDC_INTENT_MAX_CHOICES) return;
    fedc_intent_choice *ch = &r->choices[r->n_choices++];
    memset(ch, 0, sizeof *ch);
    snprintf(ch->field, sizeof ch->field, "%s", path);
    char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    snprintf(ch->value, sizeof ch->value, "%s", txt ? txt : "?");
    free(txt);
    if (!s) {
        ch->source = FEDC_INTENT_FROM_DEFAULT;
        intent_fmt(ch->reason, sizeof ch->reason, "default (the Fashion-MNIST MLP benchmark setting)");
        return;
    }
    char ev[96];
    intent_evidence(c, s->start, s->end, ev, sizeof ev);
    snprintf(ch->evidence, sizeof ch->evidence, "%s", ev);
    intent_utf8_sanitise(ch->evidence);
    switch (s->rank) {
    case RANK_GOAL:
        ch->source = FEDC_INTENT_FROM_GOAL;
        intent_fmt(ch->reason, sizeof ch->reason, "goal \"%s\" (\"%s\"): %s", intent_goals[s->goal].label, ev, s->why);
        break;
    case RANK_IMPLIED:
        ch->source = FEDC_INTENT_FROM_WORDS;
        intent_fmt(ch->reason, sizeof ch->reason, "implied by \"%s\": %s", ev, s->why);
        break;
    case RANK_DERIVED:
        ch->source = FEDC_INTENT_FROM_WORDS;
        intent_fmt(ch->reason, sizeof ch->reason, "%s (\"%s\")", s->why, ev);
        break;
    default:
        ch->source = FEDC_INTENT_FROM_WORDS;
        if (s->why[0])
            intent_fmt(ch->reason, sizeof ch->reason, "from \"%s\": %s", ev, s->why);
        else
            intent_fmt(ch->reason, sizeof ch->reason, "from \"%s\"", ev);
        break;
    }
    intent_utf8_sanitise(ch->reason);
    intent_utf8_sanitise(ch->value);
}

static void explain(intent_ctx *c, const fedc_task *t) {
    char *txt = fedc_task_to_json(t, 0);
    json_t *root = txt ? json_loads(txt, 0, NULL) : NULL;
    free(txt);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                char path[64];
                snprintf(path, sizeof path, "%s.%s", key, k2);
                explain_one(c, path, v2);
            }
        } else {
            explain_one(c, key, v);
        }
    }
    json_decref(root);
}

int intent_resolve(intent_ctx *c) {
    fedc_task d;
    fedc_task_defaults(&d);
    char *dtxt = fedc_task_to_json(&d, 0);
    json_t *defaults = dtxt ? json_loads(dtxt, 0, NULL) : NULL;
    free(dtxt);
    if (!defaults) return intent_ask(c, "out of memory");
    int rc = 0;
    if (intent_settle(c) < 0 || skew(c, defaults) < 0 || shares(c, defaults) < 0 || goals(c) < 0 || consequences(c, defaults) < 0 ||
        counts(c, defaults) < 0)
        rc = -1;
    json_decref(defaults);
    if (rc < 0) return -1;
    json_t *doc = frame_json(c);
    char *txt = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    if (!txt) return intent_ask(c, "out of memory");
    fedc_error verr;
    fedc_task t;
    if (fedc_task_from_json(txt, strlen(txt), &t, &verr) < 0) {
        free(txt);
        c->failed = 1;
        c->out->status = FEDC_INTENT_INVALID;
        return fedc_fail(c->err, "the request gives an invalid task: %s", verr.msg);
    }
    free(txt);
    c->out->task = t;
    explain(c, &t);
    return 0;
}
