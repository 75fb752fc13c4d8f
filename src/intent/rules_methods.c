/* Methods named by a word: initial weights, local optimizer, aggregation
 * strategy, client scheduling policy, simulated device heterogeneity,
 * differential privacy, robust aggregator, simulated attack.
 * Each maps one concept to one field value; two names for one field are a
 * question (frame.c). */
#include <stddef.h>
#include <string.h>

#include "intent/intent_internal.h"

typedef struct {
    concept_id concept;
    const char *path, *value;
} name_rule;

static const name_rule name_rules[] = {
    {C_INIT_HE, "init", "he"},
    {C_INIT_TORCH, "init", "torch"},
    {C_OPT_SGD, "local.optimizer", "sgd"},
    {C_OPT_ADAM, "local.optimizer", "adam"},
    {C_OPT_ADAMW, "local.optimizer", "adamw"},
    {C_OPT_LION, "local.optimizer", "lion"},
    {C_OPT_ADAN, "local.optimizer", "adan"},
    {C_OPT_ADAMP, "local.optimizer", "adamp"},
    {C_OPT_SGDP, "local.optimizer", "sgdp"},
    {C_OPT_EXADAM, "local.optimizer", "exadam"},
    {C_OPT_ADAHESSIAN, "local.optimizer", "adahessian"},
    {C_OPT_MFAC, "local.optimizer", "mfac"},
    {C_S_FEDOPT, "strategy.name", "fedopt"},
    {C_FEDBN, "strategy.local_params", "bn"},
    {C_FEATURE_SKEW, "partition.feature_skew", "mixed"},
    {C_S_FEDAVG, "strategy.name", "fedavg"},
    {C_S_FEDPROX, "strategy.name", "fedprox"},
    {C_S_FEDAVGM, "strategy.name", "fedavgm"},
    {C_S_FEDADAM, "strategy.name", "fedadam"},
    {C_S_FEDYOGI, "strategy.name", "fedyogi"},
    {C_S_FEDADAGRAD, "strategy.name", "fedadagrad"},
    {C_S_SCAFFOLD, "strategy.name", "scaffold"},
    {C_S_FEDAVG_M, "strategy.name", "fedavg-m"},
    {C_S_SCAFFOLD_M, "strategy.name", "scaffold-m"},
    {C_S_FEDNOVA, "strategy.name", "fednova"},
    {C_S_FEDAU, "strategy.name", "fedau"},
    {C_S_AFA_CD, "strategy.name", "afa-cd"},
    {C_S_AFA_CS, "strategy.name", "afa-cs"},
    {C_S_FEDHYPER, "strategy.name", "fedhyper"},
    {C_S_FEDSPEED, "strategy.name", "fedspeed"},
    {C_S_FEDSAM, "strategy.name", "fedsam"},
    {C_S_FEDAMD, "strategy.name", "fedamd"},
    {C_S_FEDLD, "strategy.name", "fedld"},
    {C_S_FEDBUFF, "strategy.name", "fedbuff"},
    {C_S_FEDFIX, "strategy.name", "fedfix"},
    {C_S_ASYNC_FEDAVG, "strategy.name", "async-fedavg"},
    {C_S_FINETUNE, "strategy.name", "finetune"},
    {C_S_FEDPER, "strategy.name", "fedper"},
    {C_S_DITTO, "strategy.name", "ditto"},
    {C_S_CLUSTERED, "strategy.name", "clustered"},
    {C_S_PFEDGATE, "strategy.name", "pfedgate"},
    {C_S_DPSGD, "strategy.name", "dpsgd"},
    {C_S_GOSSIP, "strategy.name", "gossip"},
    {C_S_GOSSIP_VC, "strategy.name", "gossip-vc"},
    {C_S_DFEDSAM, "strategy.name", "dfedsam"},
    {C_S_DFEDSAM_MGS, "strategy.name", "dfedsam-mgs"},
    {C_S_DADAO, "strategy.name", "dadao"},
    {C_TOPO_RING, "topology.kind", "ring"},
    {C_TOPO_TORUS, "topology.kind", "torus"},
    {C_TOPO_COMPLETE, "topology.kind", "complete"},
    {C_TOPO_ER, "topology.kind", "erdos-renyi"},
    {C_TOPO_SMALL_WORLD, "topology.kind", "small-world"},
    {C_TOPO_EXPONENTIAL, "topology.kind", "exponential"},
    {C_TOPO_MATCHING, "topology.kind", "matching"},
    {C_POL_RANDOM, "scheduling.policy", "random"},
    {C_POL_RR, "scheduling.policy", "round-robin"},
    {C_POL_SAMPLES, "scheduling.policy", "samples"},
    {C_POL_AGE, "scheduling.policy", "age"},
    {C_POL_POC, "scheduling.policy", "power-of-choice"},
    {C_POL_DEADLINE, "scheduling.policy", "deadline"},
    {C_PROF_LOGNORMAL, "scheduling.profile", "lognormal"},
    {C_PROF_NONE, "scheduling.profile", "none"},
    {C_DP, "privacy.mode", "dp-gaussian"},
    {C_NO_DP, "privacy.mode", "none"},
    {C_A_MEAN, "strategy.aggregator", "mean"},
    {C_A_MEDIAN, "strategy.aggregator", "median"},
    {C_A_TRIMMED, "strategy.aggregator", "trimmed-mean"},
    {C_A_KRUM, "strategy.aggregator", "krum"},
    {C_A_MULTI_KRUM, "strategy.aggregator", "multi-krum"},
    {C_A_BULYAN, "strategy.aggregator", "bulyan"},
    {C_A_GEOMED, "strategy.aggregator", "geomed"},
    {C_A_FLAG, "strategy.aggregator", "flag"},
    {C_A_MUDHOG, "strategy.aggregator", "mudhog"},
    {C_A_FRL, "strategy.aggregator", "frl"},
    {C_ATK_SIGN_FLIP, "attack.kind", "sign-flip"},
    {C_ATK_SCALING, "attack.kind", "scaling"},
    {C_ATK_NOISE, "attack.kind", "noise"},
    {C_ATK_LABEL_FLIP, "attack.kind", "label-flip"},
    {C_ATK_BACKDOOR, "attack.kind", "backdoor"},
    {C_ATK_ALIE, "attack.kind", "alie"},
    {C_ATK_IPM, "attack.kind", "ipm"},
    {C_NO_ATTACK, "attack.kind", "none"},
    {C_DP_CENTRAL, "privacy.mode", "dp-fedavg"},
    {C_SECAGG, "secagg.mode", "secagg+"},
    {C_NO_SECAGG, "secagg.mode", "none"},
    {C_EXCEED_REFUSE, "privacy.on_exceed", "refuse"},
    {C_EXCEED_STOP, "privacy.on_exceed", "stop"},
    {C_ADAPTIVE_CLIP, "privacy.mode", "dp-fedavg"},
};

static int selection_word(const intent_ctx *c, int j) {
    static const char *const w[] = {"picked", "selected", "chosen", "sampled", "used", "included", NULL};
    for (int k = 0; w[k]; k++)
        if (j >= 0 && j < c->nit && c->it[j].t1 - c->it[j].t0 == 1 && !strcmp(c->tok[c->it[j].t0].text, w[k]))
            return 1;
    return 0;
}

static int tok_at(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].t1 - c->it[i].t0 == 1 && !strcmp(c->tok[c->it[i].t0].text, w);
}

/* "Favour the clients holding more samples", "prioritise the clients that
 * haven't been picked for ages": a preference among the clients names the
 * selection policy that implements it (samples: in proportion to their
 * data; age: the least recently selected first). Only in a sentence with a
 * preference verb and a client noun, and only when no policy is named. */
static int preference_policy(intent_ctx *c) {
    static const char *const prefer[] = {"favour", "favor", "prefer", "prioritise", "prioritize", "favouring",
                                         "favoring", "preferring", "prioritising", "prioritizing", NULL};
    for (int i = 0; i < c->nit; i++) {
        int verb = 0;
        for (int k = 0; prefer[k]; k++) verb |= tok_at(c, i, prefer[k]);
        if (!verb || c->it[i].used) continue;
        int hi = i, client = 0, more = -1, data = -1, never = -1, recent = -1;
        while (hi + 1 < c->nit && !(c->it[hi + 1].kind == IT_PUNCT && strchr(".;!?\n", c->it[hi + 1].text[0]))) hi++;
        for (int j = i + 1; j <= hi; j++) {
            client |= intent_is(c, j, C_CLIENT);
            if (tok_at(c, j, "more") || tok_at(c, j, "most") || tok_at(c, j, "larger") || tok_at(c, j, "bigger")) more = j;
            if (more >= 0 && j > more && j <= more + 2 &&
                (tok_at(c, j, "sample") || tok_at(c, j, "data") || tok_at(c, j, "example") || tok_at(c, j, "dataset")))
                data = j;
            if (tok_at(c, j, "haven't") || tok_at(c, j, "hasn't") || tok_at(c, j, "not") || tok_at(c, j, "never")) never = j;
            if (never >= 0 && j > never && j <= never + 3 && (selection_word(c, j)))
                recent = j;
        }
        if (!client) continue;
        const char *policy = data >= 0 ? "samples" : recent >= 0 ? "age" : NULL;
        if (!policy || intent_slot_find(c, "scheduling.policy")) continue;
        int last = data >= 0 ? data : recent;
        char why[120];
        intent_fmt(why, sizeof why, "a preference among the clients: the %s policy",
                   data >= 0 ? "samples (in proportion to their data)" : "age (least recently selected first)");
        return intent_set_str(c, "scheduling.policy", policy, RANK_WORDS, i, last, why) < 0 ? -1 : 1;
    }
    return 0;
}

int intent_rules_methods(intent_ctx *c) {
    if (preference_policy(c) < 0) return -1;
    for (int i = 0; i < c->nit && !c->failed; i++) {
        intent_item *it = &c->it[i];
        if (it->kind != IT_CONCEPT) continue;
        if (it->concept == C_ADAPTIVE_CLIP && !it->used) /* and its mode, from the table below */
            intent_set_bool(c, "privacy.adaptive_clip", 1, RANK_WORDS, i, i, NULL);
        if (it->concept == C_NESTEROV && !it->used) {
            intent_set_bool(c, "local.nesterov", 1, RANK_WORDS, i, i, NULL);
            continue;
        }
        if (it->concept == C_KEEP_STATE && !it->used) {
            intent_set_bool(c, "local.keep_state", 1, RANK_WORDS, i, i, NULL);
            continue;
        }
        if (it->concept == C_FIXED_STEP && !it->used) {
            intent_set_bool(c, "local.exadam_dynamic_step", 0, RANK_WORDS, i, i, NULL);
            continue;
        }
        /* "fedopt with lion": the optimizer the server runs */
        if (it->concept >= C_OPT_SGD && it->concept <= C_OPT_MFAC && it->concept != C_OPT_ADAHESSIAN &&
            !it->used && intent_near(c, i, C_S_FEDOPT, 3) >= 0) {
            static const char *const names[] = {"sgd", "adam", "adamw", "lion", "adan", "adamp", "sgdp", "exadam",
                                                "adahessian", "mfac"};
            intent_set_str(c, "strategy.server_optimizer", names[it->concept - C_OPT_SGD], RANK_WORDS, i, i, NULL);
            continue;
        }
        for (size_t k = 0; k < sizeof name_rules / sizeof name_rules[0]; k++) {
            if (name_rules[k].concept != it->concept) continue;
            /* a policy phrase used for its seconds still names the policy */
            if (it->used && it->concept != C_POL_DEADLINE) break;
            intent_set_str(c, name_rules[k].path, name_rules[k].value, RANK_WORDS, i, i, NULL);
            break;
        }
    }
    return c->failed ? -1 : 0;
}

int intent_anywhere(const intent_ctx *c, concept_id k) {
    for (int j = 0; j < c->nit; j++)
        if (intent_is(c, j, k)) return 1;
    return 0;
}

int intent_names_strategy(const intent_ctx *c, const char *name) {
    for (size_t k = 0; k < sizeof name_rules / sizeof name_rules[0]; k++)
        if (!strcmp(name_rules[k].path, "strategy.name") && !strcmp(name_rules[k].value, name) &&
            intent_anywhere(c, name_rules[k].concept))
            return 1;
    const intent_slot *s = NULL;
    for (int k = 0; k < c->nslot; k++)
        if (!strcmp(c->slot[k].path, "strategy.name")) s = &c->slot[k];
    return s && json_is_string(s->value) && !strcmp(json_string_value(s->value), name);
}

int intent_server_optimizer_named(const intent_ctx *c) {
    return intent_names_strategy(c, "fedadam") || intent_names_strategy(c, "fedyogi") ||
           intent_names_strategy(c, "fedadagrad");
}
