/* Names of the task spec's choice values in words, read from the field
 * table itself, so that a value added to the spec later ("fednova", a new
 * data set, an attack) is understood without a vocabulary entry: a word
 * the vocabulary does not know that equals an allowed value of exactly one
 * field (ignoring case, '-' and '_') sets that field. A value allowed in
 * two groups goes to the group the clause names ("server" or "local"), or
 * is asked about.
 *
 * Learning-rate schedules in words: "cosine (annealing) [down to 0.001]",
 * "step decay every 20 rounds by 0.5", "10 warm-up rounds"; on the server
 * when the clause says so, else on the clients. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fl/task/task_internal.h"
#include "intent/intent_internal.h"

static int same_loose(const char *a, const char *b) {
    for (;;) {
        while (*a == '-' || *a == '_') a++;
        while (*b == '-' || *b == '_') b++;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
        if (!*a) return 1;
        a++;
        b++;
    }
}

/* The whole word at byte pos with its hyphens ("afa-cd"); its end in *end. */
static int chunk_at(const intent_ctx *c, int pos, char *out, size_t cap, int *end) {
    int e = pos;
    while (e < (int)c->len && (isalnum((unsigned char)c->text[e]) || c->text[e] == '-' || c->text[e] == '_')) e++;
    while (e > pos && (c->text[e - 1] == '-' || c->text[e - 1] == '_')) e--;
    if (e <= pos || (size_t)(e - pos) >= cap) return 0;
    memcpy(out, c->text + pos, (size_t)(e - pos));
    out[e - pos] = '\0';
    *end = e;
    return 1;
}

/* "server" or "local"/"client" in the clause of item i: 1 server, -1 local,
 * 2 both ("the local and server learning rates"), 0 neither. */
int intent_lr_side(const intent_ctx *c, int i) {
    int lo = i, hi = i;
    while (lo > 0 && !(c->it[lo - 1].kind == IT_PUNCT && strchr(",;.!?", c->it[lo - 1].text[0]))) lo--;
    while (hi + 1 < c->nit && !(c->it[hi + 1].kind == IT_PUNCT && strchr(",;.!?", c->it[hi + 1].text[0]))) hi++;
    int server = 0, local = 0;
    for (int j = lo; j <= hi; j++) {
        server |= intent_is(c, j, C_SERVER) || intent_is(c, j, C_SERVER_LR);
        /* "the client learning rate" says local; a plain "learning rate" does not */
        local |= intent_is(c, j, C_LOCAL) ||
                 (intent_is(c, j, C_LR) && (!strcmp(c->it[j].text, "client") || !strcmp(c->it[j].text, "local"))) ||
                 (c->it[j].kind == IT_WORD && !strcmp(c->it[j].text, "local"));
    }
    return server && local ? 2 : server ? 1 : local ? -1 : 0;
}

/* "the (server) learning rate" the schedule is about: read, not a value. */
void intent_use_lr_words(intent_ctx *c, int i) {
    int lo = i, hi = i;
    while (lo > 0 && !(c->it[lo - 1].kind == IT_PUNCT && strchr(",;.!?", c->it[lo - 1].text[0]))) lo--;
    while (hi + 1 < c->nit && !(c->it[hi + 1].kind == IT_PUNCT && strchr(",;.!?", c->it[hi + 1].text[0]))) hi++;
    for (int j = lo; j <= hi; j++)
        if ((intent_is(c, j, C_LR) || intent_is(c, j, C_SERVER_LR)) && !c->it[j].used &&
            intent_num_after(c, j, 2) < 0)
            intent_use(c, j);
}

static int set_over(intent_ctx *c, int i, int end, const char *path, const char *value) {
    int last = i;
    while (last + 1 < c->nit && intent_span_end(c, last + 1) <= end) last++;
    for (int k = i; k <= last; k++) intent_use(c, k);
    return intent_set_str(c, path, value, RANK_WORDS, i, last, NULL);
}

static int named_value(intent_ctx *c, int i) {
    const intent_item *it = &c->it[i];
    if (it->used || it->kind != IT_WORD || (it->wclass & W_KNOWN)) return 0;
    if (i > 0 && intent_span_end(c, i - 1) == intent_span_start(c, i) && c->it[i - 1].kind == IT_WORD) return 0;
    char chunk[64];
    int end;
    if (!chunk_at(c, intent_span_start(c, i), chunk, sizeof chunk, &end) || strlen(chunk) < 3) return 0;
    const char *paths[8], *values[8];
    int n = 0;
    /* "none", "off", "auto": plain English that names no method; a key
     * ("attack: none") reads it, prose does not ("none of the uploads") */
    static const char *const plain[] = {"none", "off", "auto", "default", "all", NULL};
    for (int k = 0; plain[k]; k++)
        if (same_loose(chunk, plain[k])) return 0;
    int exact_seen = 0;
    for (int f = 0; f < task_nfields && !exact_seen; f++)
        for (int k = 0; task_fields[f].choices && task_fields[f].choices[k]; k++)
            if (!strcasecmp(chunk, task_fields[f].choices[k])) exact_seen = 1;
    for (int f = 0; f < task_nfields && n < 8; f++) {
        const char *const *ch = task_fields[f].choices;
        for (int k = 0; ch && ch[k]; k++)
            if (exact_seen ? !strcasecmp(chunk, ch[k]) : same_loose(chunk, ch[k])) {
                paths[n] = task_fields[f].path;
                values[n++] = ch[k];
                break;
            }
    }
    if (n == 0) return 0;
    if (strstr(paths[0], "lr_schedule")) intent_use_lr_words(c, i);
    if (n == 1) return set_over(c, i, end, paths[0], values[0]) < 0 ? -1 : 1;
    /* the same value in two groups: the clause's side decides */
    int side = intent_lr_side(c, i);
    int done = 0;
    for (int k = 0; k < n; k++)
        if (((side == 1 || side == 2) && !strncmp(paths[k], "strategy.", 9)) ||
            ((side == -1 || side == 2) && !strncmp(paths[k], "local.", 6))) {
            if (set_over(c, i, end, paths[k], values[k]) < 0) return -1;
            done = 1;
        }
    if (done) return 1;
    char ev[96];
    intent_evidence(c, intent_span_start(c, i), end, ev, sizeof ev);
    int rc = intent_ask_which(c, paths[0], "%s: \"%s\" could be %s or %s. Which one did you mean?", paths[0], ev,
                              paths[0], paths[1]);
    for (int k = 0; k < n && k < FEDC_INTENT_MAX_READINGS; k++) {
        char v[80], why[120];
        intent_fmt(v, sizeof v, "\"%s\"", values[k]);
        intent_fmt(why, sizeof why, "\"%s\" read as %s", ev, paths[k]);
        intent_reading(c, paths[k], v, why);
    }
    return rc;
}

/* A number after item i within a few words, skipping fillers; -1 if none. */
static int number_near(const intent_ctx *c, int i, int maxd) {
    for (int j = i + 1, d = 0; j < c->nit && d < maxd; j++, d++) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_PUNCT && strchr(",;.!?", it->text[0])) return -1;
        if (it->kind == IT_NUM) return it->used ? -1 : j;
    }
    return -1;
}

static int is_word(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && !strcmp(c->it[i].text, w);
}

/* Sets group+leaf (for each of the ng groups) as a string, a real or an
 * integer item, from items a..b. */
static int set_groups(intent_ctx *c, const char *const *groups, int ng, const char *leaf, const char *str, int num,
                      int a, int b) {
    for (int g = 0; g < ng; g++) {
        char path[64];
        intent_fmt(path, sizeof path, "%s%s", groups[g], leaf);
        int rc = str ? intent_set_str(c, path, str, RANK_WORDS, a, b, NULL)
                 : (c->it[num].flags & TK_INTEGER) && strstr(leaf, "rounds")
                     ? intent_set_int(c, path, num, RANK_WORDS, a, b, NULL)
                     : intent_set_real(c, path, c->it[num].num, RANK_WORDS, a, b, NULL);
        if (rc < 0) return -1;
    }
    intent_use(c, num);
    return 0;
}

static int clause_end_at(const intent_ctx *c, int j) {
    return j >= c->nit || (c->it[j].kind == IT_PUNCT && strchr(",;.!?", c->it[j].text[0]));
}

/* A schedule with no side beside a server optimizer ("FedAdam ... the
 * learning rate decayed by 0.1"): the clients' or the server's? */
int intent_lr_ask_side(intent_ctx *c, int i, const char *leaf, const char *value_json) {
    char ev[96], local[64], server[64];
    intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), ev, sizeof ev);
    intent_fmt(local, sizeof local, "local.%s", leaf);
    intent_fmt(server, sizeof server, "strategy.server_%s", leaf);
    int rc = intent_ask_which(c, NULL, "\"%s\": the clients' learning rate or the server optimizer's? Please say "
                                       "\"local\" or \"server\" (e.g. \"server learning rate %s\").",
                              ev, ev);
    intent_reading(c, local, value_json, "the clients' learning rate");
    intent_reading(c, server, value_json, "the server optimizer's learning rate");
    return rc;
}

/* No side said, and the request has a server optimizer or speaks of the
 * server's learning rate: the schedule has two possible owners. */
int intent_lr_two_owners(const intent_ctx *c, int side) {
    return side == 0 && (intent_server_optimizer_named(c) || intent_anywhere(c, C_SERVER_LR));
}

/* The number of rounds a warm-up at item i lasts, or -1: "10 warm-up
 * rounds", "a 5-round warm-up", "3-round server lr warmup" (the number and
 * "round" before it, with only learning-rate words between), "warmup of 3",
 * "warm up ... over the first 4 rounds" (a number of rounds later in the
 * clause). */
static int warmup_number(const intent_ctx *c, int i) {
    if (i > 0 && c->it[i - 1].kind == IT_NUM && !c->it[i - 1].used) return i - 1;
    for (int j = i - 1, d = 0; j > 0 && d < 4; j--, d++) {
        const intent_item *it = &c->it[j];
        if (intent_is(c, j, C_ROUND) && c->it[j - 1].kind == IT_NUM && !c->it[j - 1].used &&
            (c->it[j - 1].flags & TK_INTEGER))
            return j - 1;
        if (!(intent_is(c, j, C_LR) || intent_is(c, j, C_SERVER_LR) || intent_is(c, j, C_SERVER) ||
              intent_is(c, j, C_LOCAL) || (it->kind == IT_WORD && (it->wclass & (W_STOP | W_ADJ)))))
            break;
    }
    int n = number_near(c, i, 3);
    if (n >= 0) return n;
    for (int j = i + 1; !clause_end_at(c, j) && j + 1 < c->nit; j++)
        if (c->it[j].kind == IT_NUM && !c->it[j].used && (c->it[j].flags & TK_INTEGER) && intent_is(c, j + 1, C_ROUND) &&
            !c->it[j + 1].used)
            return j;
    return -1;
}

/* A warm-up at item i ("warm up"), its number looked for around item at
 * ("up" of "warm the learning rate up over 2 rounds"). */
static int warmup(intent_ctx *c, int i, int at, const char *const *groups, int ng, int side) {
    int num = warmup_number(c, at);
    if (num < 0) return 0;
    if (intent_lr_two_owners(c, side)) {
        char v[40];
        intent_fmt(v, sizeof v, "%g", c->it[num].num);
        return intent_lr_ask_side(c, i, "lr_warmup_rounds", v);
    }
    int first = num < i ? num : i, last = num > at ? num : at;
    if (intent_is(c, last + 1, C_ROUND) && !c->it[last + 1].used) last++;
    for (int k = first; k <= last; k++)
        if (c->it[k].kind != IT_PUNCT && (k <= at || k >= num)) intent_use(c, k);
    return set_groups(c, groups, ng, "lr_warmup_rounds", NULL, num, first, last) < 0 ? -1 : 1;
}

/* "warm the client learning rate up over 2 rounds": the phrasal verb split
 * around its object. */
static int split_warmup(intent_ctx *c, int i) {
    if (!is_word(c, i, "warm") || c->it[i].used) return 0;
    for (int u = i + 1, d = 0; !clause_end_at(c, u) && d < 8; u++, d++) {
        if (!is_word(c, u, "up") && !(intent_is(c, u, C_UP) && !strcmp(c->it[u].text, "up"))) continue;
        static const char *const local[] = {"local."}, *const server[] = {"strategy.server_"},
                                 *const both[] = {"local.", "strategy.server_"};
        int side = intent_lr_side(c, i);
        int rc = warmup(c, i, u, side == 2 ? both : side == 1 ? server : local, side == 2 ? 2 : 1, side);
        if (rc > 0) {
            intent_use_lr_words(c, i);
            intent_use(c, u);
        }
        return rc;
    }
    return 0;
}

/* No side in the schedule's clause: the side of the learning rates the
 * rest of its sentence names, when they all name the same one ("FedAdam,
 * server lr 0.1, cosine-annealed down to 10% of that"); else 0. */
static int sentence_side(const intent_ctx *c, int i) {
    int lo = i, hi = i, side = 0;
    while (lo > 0 && !(c->it[lo - 1].kind == IT_PUNCT && strchr(";.!?\n", c->it[lo - 1].text[0]))) lo--;
    while (hi + 1 < c->nit && !(c->it[hi + 1].kind == IT_PUNCT && strchr(";.!?\n", c->it[hi + 1].text[0]))) hi++;
    for (int j = lo; j <= hi; j++) {
        if (!intent_is(c, j, C_LR) && !intent_is(c, j, C_SERVER_LR)) continue;
        int s = intent_lr_side(c, j);
        if (!s || (side && s != side)) return 0;
        side = s;
    }
    return side;
}

static int schedule(intent_ctx *c, int i) {
    static const char *const local[] = {"local."}, *const server[] = {"strategy.server_"},
                             *const both[] = {"local.", "strategy.server_"};
    int side = intent_lr_side(c, i);
    if (!side) side = sentence_side(c, i);
    if (intent_lr_two_owners(c, side) && c->it[i].concept != C_WARMUP)
        return intent_lr_ask_side(c, i, "lr_schedule", c->it[i].concept == C_LR_COSINE ? "\"cosine\"" : "\"step\"");
    const char *const *groups = side == 2 ? both : side == 1 ? server : local;
    int ng = side == 2 ? 2 : 1, n;
    intent_use_lr_words(c, i);
    switch (c->it[i].concept) {
    case C_LR_COSINE:
        if (set_groups(c, groups, ng, "lr_schedule", "cosine", -1, i, i) < 0) return -1;
        /* "down to 0.001", "to a minimum of 1e-4" */
        for (int j = i + 1, d = 0; j < c->nit && d < 10; j++, d++) {
            if (c->it[j].kind == IT_PUNCT && strchr(",;.!?", c->it[j].text[0])) break;
            /* a share ("down to 10% of that") is relative: rules_schedule.c */
            if ((is_word(c, j, "to") || is_word(c, j, "minimum") || is_word(c, j, "min")) && (n = number_near(c, j, 3)) >= 0 &&
                !(c->it[n].flags & (TK_PERCENT | TK_FRACTION)))
                return set_groups(c, groups, ng, "lr_min", NULL, n, j, n) < 0 ? -1 : 1;
        }
        return 1;
    case C_LR_STEP:
        if (set_groups(c, groups, ng, "lr_schedule", "step", -1, i, i) < 0) return -1;
        /* "every 20 rounds", "by 0.5" / "by a factor of 0.5" */
        for (int j = i + 1, d = 0; j < c->nit && d < 14; j++, d++) {
            if (c->it[j].kind == IT_PUNCT && strchr(";.!?", c->it[j].text[0])) break;
            if (is_word(c, j, "every") && j + 1 < c->nit && c->it[j + 1].kind == IT_NUM && !c->it[j + 1].used) {
                int last = intent_is(c, j + 2, C_ROUND) ? j + 2 : j + 1;
                intent_use(c, last);
                if (set_groups(c, groups, ng, "lr_step_rounds", NULL, j + 1, j, last) < 0) return -1;
            }
            if ((is_word(c, j, "by") || is_word(c, j, "factor") || is_word(c, j, "gamma")) &&
                (n = number_near(c, j, 3)) >= 0 && c->it[n].num > 0 && c->it[n].num <= 1 &&
                set_groups(c, groups, ng, "lr_gamma", NULL, n, j, n) < 0)
                return -1;
        }
        return 1;
    case C_WARMUP: return warmup(c, i, i, groups, ng, side);
    default: return 0;
    }
}

/* "1 to 3 local epochs", "between 2 and 5 epochs": heterogeneous local work,
 * where the task spec has local.min_epochs. */
static int epoch_range(intent_ctx *c, int i) {
    if (!task_field_find("local.min_epochs")) return 0;
    int a = i, lo = -1, hi = -1;
    if (is_word(c, i, "between") && i + 3 < c->nit && c->it[i + 1].kind == IT_NUM && is_word(c, i + 2, "and") &&
        c->it[i + 3].kind == IT_NUM) {
        lo = i + 1;
        hi = i + 3;
    } else if (c->it[i].kind == IT_NUM && i + 2 < c->nit && (is_word(c, i + 1, "to") || is_word(c, i + 1, "or")) &&
               c->it[i + 2].kind == IT_NUM) {
        lo = i;
        hi = i + 2;
    }
    if (lo < 0 || c->it[lo].used || c->it[hi].used) return 0;
    int u = hi + 1;
    while (u < c->nit && c->it[u].kind == IT_WORD && (c->it[u].wclass & W_ADJ)) u++;
    if (!intent_is(c, u, C_EPOCH) || c->it[u].used) return 0;
    for (int k = a; k <= u; k++) intent_use(c, k);
    if (intent_set_int(c, "local.min_epochs", lo, RANK_WORDS, a, u, "the fewest epochs a client draws") < 0) return -1;
    return intent_set_int(c, "local.epochs", hi, RANK_WORDS, a, u, "the most epochs a client draws") < 0 ? -1 : 1;
}

int intent_rules_choices(intent_ctx *c) {
    for (int i = 0; i < c->nit && !c->failed; i++)
        if (epoch_range(c, i) < 0) return -1;
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].kind == IT_CONCEPT && !c->it[i].used &&
            (intent_is(c, i, C_LR_COSINE) || intent_is(c, i, C_LR_STEP) || intent_is(c, i, C_WARMUP))) {
            if (schedule(c, i) < 0) return -1;
            continue;
        }
        if (split_warmup(c, i) < 0) return -1;
        if (named_value(c, i) < 0) return -1;
    }
    return c->failed ? -1 : 0;
}
