/* Goal detection: trigger phrases from the goal table (goals.c) switch a
 * goal on and remember the words, for the explanation. The settings a goal
 * implies are applied in resolve.c, after the words have set theirs. */
#include <string.h>

#include "intent/intent_internal.h"

int intent_rules_goals(intent_ctx *c) {
    for (int i = 0; i < c->nit; i++) {
        if (!intent_is(c, i, C_GOAL) || c->it[i].used) continue;
        /* "a science-fair project", "low-bandwidth-lab": a trigger glued by a
         * hyphen to a word before it is part of a compound name, not a goal */
        int s0 = intent_span_start(c, i);
        if (i > 0 && s0 > 0 && c->text[s0 - 1] == '-' && intent_span_end(c, i - 1) == s0 - 1 &&
            c->it[i - 1].kind == IT_WORD)
            continue;
        /* "a fairly skewed split", "fairly small": a degree adverb before a
         * word that means something, not the fairness goal */
        if (c->it[i].t1 - c->it[i].t0 == 1 && !strcmp(c->tok[c->it[i].t0].text, "fairly") && i + 1 < c->nit &&
            ((c->it[i + 1].kind == IT_WORD && !(c->it[i + 1].wclass & W_STOP)) || c->it[i + 1].kind == IT_CONCEPT)) {
            intent_use(c, i);
            continue;
        }
        int g = (int)c->it[i].arg;
        if (g < 0 || g >= intent_ngoals || g >= FEDC_INTENT_MAX_GOALS) continue;
        intent_use(c, i);
        int s = intent_span_start(c, i), e = intent_span_end(c, i);
        if (!c->goal_on[g]) {
            c->goal_on[g] = 1;
            c->goal_start[g] = s;
            c->goal_end[g] = e;
        } else if (e > c->goal_end[g] && s - c->goal_end[g] < 40) {
            c->goal_end[g] = e; /* "keep bandwidth low ... fewer bytes": one stretch of words */
        }
    }
    /* "compress the uploads" with no codec and no goal: lossy pipelines,
     * 8 bits or lossless zstd are all plausible, so it is asked (with a
     * goal, "compress them to save bandwidth", the goal picks) */
    int bw = -1;
    for (int g = 0; g < intent_ngoals; g++)
        if (!strcmp(intent_goals[g].name, "bandwidth")) bw = g;
    if (c->compress_word && bw >= 0 && !c->goal_on[bw]) {
        char ev[96];
        intent_evidence(c, c->compress_start, c->compress_end, ev, sizeof ev);
        int rc = intent_ask_which(c, "compression.up",
                                  "compression.up: \"%s\" names no codec. Which one: the bandwidth goal's pipeline "
                                  "(say \"keep bandwidth low\"), 8-bit quantisation (q8), half precision (fp16) or "
                                  "lossless zstd?",
                                  ev);
        intent_reading(c, "compression.up", "\"topk:0.1|q4|zstd\"", "keep bandwidth low: the measured goal pipeline");
        intent_reading(c, "compression.up", "\"q8\"", "8 bits per value");
        intent_reading(c, "compression.up", "\"zstd\"", "lossless");
        return rc;
    }
    return 0;
}
