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
    /* "compress it" without a codec: whatever the bandwidth goal picks */
    int bw = -1;
    for (int g = 0; g < intent_ngoals; g++)
        if (!strcmp(intent_goals[g].name, "bandwidth")) bw = g;
    if (c->compress_word && bw >= 0 && !c->goal_on[bw]) {
        c->goal_on[bw] = 1;
        c->goal_start[bw] = c->compress_start;
        c->goal_end[bw] = c->compress_end;
    }
    return 0;
}
