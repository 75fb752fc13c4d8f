/* Memory sizes in words: "keep at most 512 MB of per-client state in RAM",
 * "cap the per-client state cache at 1 GiB", "two gigabytes of per-client
 * state" -> state.memory_mb (megabytes; a gigabyte is 1024 of them, as the
 * field's description counts). A size is read only in a sentence about the
 * clients' state; of several sizes there, the one nearest the word "state"
 * is the budget and the others stay unread (so the person is asked, e.g.
 * about "the server has 16 GB"). */
#include <string.h>

#include "intent/intent_internal.h"

/* Megabytes per unit word, or 0. */
static double unit_mb(const char *w) {
    static const struct {
        const char *word;
        double mb;
    } units[] = {{"mb", 1},         {"mib", 1},          {"megabyte", 1},     {"mbyte", 1},
                 {"gb", 1024},      {"gib", 1024},       {"gigabyte", 1024},  {"gbyte", 1024},
                 {"tb", 1048576},   {"tib", 1048576},    {"terabyte", 1048576}, {"kb", 1.0 / 1024},
                 {"kib", 1.0 / 1024}, {"kilobyte", 1.0 / 1024}};
    size_t n = strlen(w);
    if (n > 2 && w[n - 1] == 's') n--; /* "gigabytes" */
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strlen(units[k].word) == n && !strncmp(w, units[k].word, n)) return units[k].mb;
    return 0;
}

static int state_word(const intent_ctx *c, int j) {
    return c->it[j].kind == IT_WORD && !strcmp(c->tok[c->it[j].t0].text, "state");
}

int intent_rules_memory(intent_ctx *c) {
    for (int s = 0; s < c->nit && !c->failed; s++) {
        if (!state_word(c, s)) continue;
        int best = -1, dist = 0;
        for (int n = 0; n + 1 < c->nit; n++) {
            if (c->it[n].kind != IT_NUM || c->it[n].used || (c->it[n].flags & (TK_PERCENT | TK_FRACTION))) continue;
            if (c->it[n + 1].kind != IT_WORD || unit_mb(c->it[n + 1].text) == 0) continue;
            if (!intent_same_sentence(c, n, s)) continue;
            int d = n > s ? n - s : s - n;
            if (best < 0 || d < dist) {
                best = n;
                dist = d;
            }
        }
        if (best < 0) continue;
        double mb = c->it[best].num * unit_mb(c->it[best + 1].text);
        intent_use(c, best);
        intent_use(c, best + 1);
        intent_use(c, s);
        int a = best < s ? best : s, b = best < s ? s : best + 1;
        if (intent_set_real(c, "state.memory_mb", mb, RANK_WORDS, a, b,
                            "a memory size in a sentence about the clients' state (a gigabyte is 1024 MB)") < 0)
            return -1;
        /* "state cache", "state budget", "in memory / RAM": the words of the setting */
        for (int j = a - 3; j <= b + 4; j++) {
            if (j < 0 || j >= c->nit || c->it[j].used || c->it[j].kind != IT_WORD || !intent_same_sentence(c, j, s))
                continue;
            const char *w = c->tok[c->it[j].t0].text;
            if (!strcmp(w, "cache") || !strcmp(w, "memory") || !strcmp(w, "ram") || !strcmp(w, "budget") ||
                !strcmp(w, "max") || !strcmp(w, "cap"))
                intent_use(c, j);
        }
    }
    return c->failed ? -1 : 0;
}
