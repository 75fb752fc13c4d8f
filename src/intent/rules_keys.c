/* Settings written as keys, the way FL code and configs name them:
 *   key=value, key = value, "key: value" lines (YAML-like lists, "rounds: 12
 *   / clients: 24 / per round: 6"), --key value (command-line flags),
 *   "set KEY to N" / "KEY is N", and terse "KEY N" at the start of a clause
 *   ("clients 24, per round 6").
 * A key is matched by its last words against the alias table below (the
 * names common in FL code: n_clients, num_clients, frac, bs, lr, E, ...)
 * and against every task-spec path ("local.lr", "clients_per_round"), so a
 * field added to the task spec can be written as a key at once. The value
 * is read by the field's type; a text value that names nothing the field
 * allows is left to the word rules, and asked about if they do not read it
 * either. Runs first: what a key sets is never re-read by proximity. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/task/task_internal.h"
#include "intent/intent_internal.h"

typedef enum {
    K_AUTO,  /* by the task field's type */
    K_CPR,   /* clients per round: a count, a share (10%, 0.1) or "all" */
    K_SHARE, /* a share of the clients per round (frac, C, participation) */
    K_ACC,   /* an accuracy: 0.85, 85%, 85 */
    K_WORDS, /* the value is words for the word rules (model: small CNN) */
    K_NONE,  /* compression: none / q8 / a pipeline, or words */
} key_kind;

typedef struct {
    const char *key; /* normalised words (see norm_word) */
    const char *path;
    key_kind kind;
} key_alias;

/* Common spellings in FL code, papers and configs. Full task-spec paths are
 * matched from the field table and need no entry here. */
static const key_alias aliases[] = {
    {"client", "clients", K_AUTO}, {"n client", "clients", K_AUTO}, {"num client", "clients", K_AUTO},
    {"number of client", "clients", K_AUTO}, {"nclient", "clients", K_AUTO}, {"numclient", "clients", K_AUTO},
    {"total client", "clients", K_AUTO}, {"client count", "clients", K_AUTO}, {"client num", "clients", K_AUTO},
    {"client number", "clients", K_AUTO}, {"k", "clients", K_AUTO}, {"n", "clients", K_AUTO},
    {"num user", "clients", K_AUTO}, {"federation size", "clients", K_AUTO}, {"population", "clients", K_AUTO},
    {"client per round", "clients_per_round", K_CPR}, {"per round", "clients_per_round", K_CPR},
    {"cpr", "clients_per_round", K_CPR}, {"client round", "clients_per_round", K_CPR},
    {"selected client", "clients_per_round", K_CPR}, {"sampled client", "clients_per_round", K_CPR},
    {"client sampled", "clients_per_round", K_CPR}, {"client selected", "clients_per_round", K_CPR},
    {"participant per round", "clients_per_round", K_CPR}, {"client each round", "clients_per_round", K_CPR},
    {"client every round", "clients_per_round", K_CPR}, {"num client per round", "clients_per_round", K_CPR},
    {"n client per round", "clients_per_round", K_CPR}, {"m", "clients_per_round", K_CPR},
    {"cohort", "clients_per_round", K_CPR}, {"cohort size", "clients_per_round", K_CPR},
    {"sample size", "clients_per_round", K_CPR}, {"client sample size", "clients_per_round", K_CPR},
    {"epoch per round", "local.epochs", K_AUTO}, {"local epoch per round", "local.epochs", K_AUTO},
    {"step per round", "local.max_steps", K_AUTO}, {"local step per round", "local.max_steps", K_AUTO},
    {"frac", "clients_per_round", K_SHARE}, {"fraction", "clients_per_round", K_SHARE},
    {"c", "clients_per_round", K_SHARE}, {"client fraction", "clients_per_round", K_SHARE},
    {"frac client", "clients_per_round", K_SHARE}, {"fraction fit", "clients_per_round", K_SHARE},
    {"participation", "clients_per_round", K_SHARE}, {"participation rate", "clients_per_round", K_SHARE},
    {"sample rate", "clients_per_round", K_SHARE}, {"sampling rate", "clients_per_round", K_SHARE},
    {"round", "rounds", K_AUTO}, {"num round", "rounds", K_AUTO}, {"n round", "rounds", K_AUTO},
    {"number of round", "rounds", K_AUTO}, {"total round", "rounds", K_AUTO}, {"global round", "rounds", K_AUTO},
    {"comm round", "rounds", K_AUTO}, {"communication round", "rounds", K_AUTO}, {"r", "rounds", K_AUTO},
    {"t", "rounds", K_AUTO}, {"epoch global", "rounds", K_AUTO}, {"global epoch", "rounds", K_AUTO},
    {"epoch", "local.epochs", K_AUTO}, {"local epoch", "local.epochs", K_AUTO}, {"e", "local.epochs", K_AUTO},
    {"ep", "local.epochs", K_AUTO}, {"local ep", "local.epochs", K_AUTO}, {"num epoch", "local.epochs", K_AUTO},
    {"n epoch", "local.epochs", K_AUTO}, {"local iter", "local.epochs", K_AUTO},
    {"batch", "local.batch", K_AUTO}, {"batch size", "local.batch", K_AUTO}, {"bs", "local.batch", K_AUTO},
    {"b", "local.batch", K_AUTO}, {"local batch", "local.batch", K_AUTO}, {"local bs", "local.batch", K_AUTO},
    {"batchsize", "local.batch", K_AUTO}, {"local batch size", "local.batch", K_AUTO},
    {"lr", "local.lr", K_AUTO}, {"learning rate", "local.lr", K_AUTO}, {"eta", "local.lr", K_AUTO},
    {"local lr", "local.lr", K_AUTO}, {"client lr", "local.lr", K_AUTO}, {"step size", "local.lr", K_AUTO},
    {"local learning rate", "local.lr", K_AUTO}, {"client learning rate", "local.lr", K_AUTO},
    {"server lr", "strategy.server_lr", K_AUTO}, {"global lr", "strategy.server_lr", K_AUTO},
    {"slr", "strategy.server_lr", K_AUTO}, {"server learning rate", "strategy.server_lr", K_AUTO},
    {"eta g", "strategy.server_lr", K_AUTO},
    {"momentum", "local.momentum", K_AUTO}, {"local momentum", "local.momentum", K_AUTO},
    {"server momentum", "strategy.momentum", K_AUTO},
    {"weight decay", "local.weight_decay", K_AUTO}, {"wd", "local.weight_decay", K_AUTO},
    {"step", "local.max_steps", K_AUTO}, {"max step", "local.max_steps", K_AUTO},
    {"local step", "local.max_steps", K_AUTO}, {"max local step", "local.max_steps", K_AUTO},
    {"optimizer", "local.optimizer", K_AUTO}, {"optimiser", "local.optimizer", K_AUTO},
    {"opt", "local.optimizer", K_AUTO}, {"optim", "local.optimizer", K_AUTO},
    {"client optimizer", "local.optimizer", K_AUTO}, {"local optimizer", "local.optimizer", K_AUTO},
    {"seed", "seed", K_AUTO}, {"random seed", "seed", K_AUTO}, {"rng seed", "seed", K_AUTO},
    {"mu", "strategy.mu", K_AUTO}, {"prox mu", "strategy.mu", K_AUTO}, {"proximal mu", "strategy.mu", K_AUTO},
{"tau", "strategy.tau", K_AUTO},
    {"strategy", "strategy.name", K_AUTO}, {"algorithm", "strategy.name", K_AUTO}, {"algo", "strategy.name", K_AUTO},
    {"aggregator", "strategy.name", K_AUTO}, {"aggregation", "strategy.name", K_AUTO},
    {"fl algorithm", "strategy.name", K_AUTO}, {"method", "strategy.name", K_AUTO},
    {"server strategy", "strategy.name", K_AUTO},
    {"alpha", "partition.alpha", K_AUTO}, {"dirichlet alpha", "partition.alpha", K_AUTO},
    {"dir alpha", "partition.alpha", K_AUTO}, {"sigma", "partition.sigma", K_AUTO},
    {"partition", "partition.kind", K_AUTO}, {"split", "partition.kind", K_AUTO},
    {"data split", "partition.kind", K_AUTO}, {"partitioning", "partition.kind", K_AUTO},
    {"distribution", "partition.kind", K_AUTO}, {"data distribution", "partition.kind", K_AUTO},
    {"class per client", "partition.classes_per_client", K_AUTO},
    {"shard per client", "partition.classes_per_client", K_AUTO},
    {"label per client", "partition.classes_per_client", K_AUTO},
    {"dataset", "dataset.name", K_AUTO}, {"data", "dataset.name", K_AUTO}, {"ds", "dataset.name", K_AUTO},
    {"data path", "dataset.path", K_AUTO}, {"data dir", "dataset.path", K_AUTO},
    {"path", "dataset.path", K_AUTO}, {"test path", "dataset.test_path", K_AUTO},
    {"test file", "dataset.test_path", K_AUTO}, {"label column", "dataset.label_column", K_AUTO},
    {"model", "model", K_WORDS}, {"arch", "model", K_WORDS}, {"architecture", "model", K_WORDS},
    {"network", "model", K_WORDS}, {"net", "model", K_WORDS},
    {"policy", "scheduling.policy", K_AUTO}, {"scheduler", "scheduling.policy", K_AUTO},
    {"selection", "scheduling.policy", K_AUTO}, {"client selection", "scheduling.policy", K_AUTO},
    {"scheduling", "scheduling.policy", K_AUTO}, {"sampler", "scheduling.policy", K_AUTO},
    {"deadline", "scheduling.deadline_s", K_AUTO}, {"d", "scheduling.choice_d", K_AUTO},
    {"compression", "compression.up", K_NONE}, {"codec", "compression.up", K_NONE},
    {"uplink", "compression.up", K_NONE}, {"upload", "compression.up", K_NONE},
    {"up", "compression.up", K_NONE}, {"uplink compression", "compression.up", K_NONE},
    {"downlink", "compression.down", K_NONE}, {"download", "compression.down", K_NONE},
    {"down", "compression.down", K_NONE}, {"downlink compression", "compression.down", K_NONE},
    {"privacy", "privacy.mode", K_AUTO}, {"dp", "privacy.mode", K_AUTO},
    {"clip", "privacy.clip", K_AUTO}, {"clip norm", "privacy.clip", K_AUTO}, {"max grad norm", "privacy.clip", K_AUTO},
    {"clipping norm", "privacy.clip", K_AUTO}, {"noise multiplier", "privacy.noise_multiplier", K_AUTO},
    {"noise", "privacy.noise_multiplier", K_AUTO}, {"sigma dp", "privacy.noise_multiplier", K_AUTO},
    {"target accuracy", "stop.target_accuracy", K_ACC}, {"target acc", "stop.target_accuracy", K_ACC},
    {"target", "stop.target_accuracy", K_ACC}, {"accuracy target", "stop.target_accuracy", K_ACC},
    {"eval every", "eval_every", K_AUTO}, {"eval interval", "eval_every", K_AUTO},
    {"evaluate every", "eval_every", K_AUTO}, {"eval freq", "eval_every", K_AUTO},
    {"name", "name", K_AUTO}, {"run name", "name", K_AUTO}, {"experiment name", "name", K_AUTO},
    {"exp name", "name", K_AUTO}, {"init", "init", K_AUTO},
};

/* Plural-free form of a key word, the same for "rounds" and "round". */
static void norm_word(const char *w, char *out, size_t cap) {
    size_t n = strlen(w);
    snprintf(out, cap, "%s", w);
    if (n >= cap) return;
    if (n >= 5 && (!strcmp(w + n - 4, "ches") || !strcmp(w + n - 4, "shes") || !strcmp(w + n - 4, "sses") ||
                   !strcmp(w + n - 3, "xes")))
        out[n - 2] = '\0';
    else if (n >= 4 && w[n - 1] == 's' && w[n - 2] != 's')
        out[n - 1] = '\0';
}

/* The key as normalised words: task paths split at '.', '_' and '-'. */
static void norm_path(const char *path, char *out, size_t cap) {
    char buf[64];
    size_t o = 0;
    out[0] = '\0';
    const char *p = path;
    while (*p) {
        size_t n = 0;
        while (p[n] && p[n] != '.' && p[n] != '_' && p[n] != '-') n++;
        if (n > 0 && n < sizeof buf) {
            memcpy(buf, p, n);
            buf[n] = '\0';
            char w[64];
            norm_word(buf, w, sizeof w);
            o += (size_t)snprintf(out + o, cap > o ? cap - o : 0, "%s%s", o ? " " : "", w);
        }
        p += n;
        if (*p) p++;
    }
}

/* The field a key names, or NULL; *kind set. */
static const char *lookup(const char *key, key_kind *kind) {
    for (size_t k = 0; k < sizeof aliases / sizeof aliases[0]; k++)
        if (!strcmp(aliases[k].key, key)) {
            *kind = aliases[k].kind;
            return aliases[k].path;
        }
    for (int f = 0; f < task_nfields; f++) {
        char n[96];
        norm_path(task_fields[f].path, n, sizeof n);
        if (!strcmp(n, key)) {
            *kind = !strcmp(task_fields[f].path, "clients_per_round") ? K_CPR
                    : !strcmp(task_fields[f].path, "model")           ? K_WORDS
                    : !strncmp(task_fields[f].path, "compression.", 12) ? K_NONE
                    : !strcmp(task_fields[f].path, "stop.target_accuracy") ? K_ACC
                                                                       : K_AUTO;
            return task_fields[f].path;
        }
    }
    return NULL;
}

/* ---- the words of a key ---- */

#define KEY_MAX_WORDS 6

typedef struct {
    int tok[KEY_MAX_WORDS]; /* token index of each word, in order */
    char word[KEY_MAX_WORDS][TOK_TEXT];
    int n;
} key_words;

/* A client noun ("nodes", "silos") is the key word "client". */
static void key_word_of(const intent_ctx *c, int t, char *out, size_t cap) {
    const intent_phrase *ph = NULL;
    if (intent_phrase_match(&c->tok[t], 1, 0, &ph) == 1 && ph && ph->concept == C_CLIENT)
        snprintf(out, cap, "client");
    else
        norm_word(c->tok[t].text, out, cap);
}

static int gap_has(const intent_ctx *c, int a_end, int b_start, const char *chars) {
    for (int p = a_end; p < b_start && p < (int)c->len; p++)
        if (strchr(chars, c->text[p])) return 1;
    return 0;
}

/* Key words ending at token t (going left): words joined by spaces, '.',
 * '_' or '-', never across a line break or other punctuation. */
static void words_before(const intent_ctx *c, int t, key_words *kw) {
    int tmp[KEY_MAX_WORDS], n = 0;
    for (int k = t; k >= 0 && n < KEY_MAX_WORDS; k--) {
        const intent_tok *tk = &c->tok[k];
        if (tk->kind == TK_PUNCT && tk->text[0] == '.' && k > 0 && k < t && c->tok[k - 1].end == tk->start &&
            c->tok[k + 1].start == tk->end)
            continue; /* "local.lr" */
        if (tk->kind != TK_WORD) break;
        if (n > 0 && gap_has(c, tk->end, c->tok[tmp[n - 1]].start, "\n\r")) break;
        tmp[n++] = k;
    }
    kw->n = n;
    for (int k = 0; k < n; k++) {
        kw->tok[k] = tmp[n - 1 - k];
        key_word_of(c, kw->tok[k], kw->word[k], sizeof kw->word[k]);
    }
}

/* Longest suffix of the words that names a field; *first = its first word. */
static const char *match_suffix(const key_words *kw, key_kind *kind, int *first) {
    for (int s = 0; s < kw->n; s++) {
        char key[KEY_MAX_WORDS * TOK_TEXT];
        size_t o = 0;
        key[0] = '\0';
        for (int k = s; k < kw->n; k++) o += (size_t)snprintf(key + o, sizeof key - o, "%s%s", o ? " " : "", kw->word[k]);
        const char *path = lookup(key, kind);
        if (path) {
            *first = s;
            return path;
        }
    }
    return NULL;
}

/* ---- items and values ---- */

static int item_of_tok(const intent_ctx *c, int t) {
    for (int i = 0; i < c->nit; i++)
        if (t >= c->it[i].t0 && t < c->it[i].t1) return i;
    return -1;
}

/* The first item starting at or after byte pos. */
static int item_from(const intent_ctx *c, int pos) {
    for (int i = 0; i < c->nit; i++)
        if (intent_span_start(c, i) >= pos) return i;
    return -1;
}

static double share_value(const intent_item *n) {
    if (n->flags & TK_PERCENT) return n->num / 100.0;
    if (n->flags & TK_FRACTION) return n->num;
    return n->num;
}

/* A raw text value at byte pos: quoted, or up to white space or , ; */
static int raw_chunk(const intent_ctx *c, int pos, char *out, size_t cap, int *end) {
    const char *s = c->text;
    int len = (int)c->len, b = pos, e;
    if (b < len && (s[b] == '"' || s[b] == '\'' || s[b] == '`')) {
        char q = s[b++];
        e = b;
        while (e < len && s[e] != q && s[e] != '\n') e++;
        if (e >= len || s[e] != q || e == b) return 0;
        *end = e + 1;
    } else {
        e = b;
        while (e < len && !isspace((unsigned char)s[e]) && s[e] != ',' && s[e] != ';') e++;
        *end = e;
        while (e > b && strchr(".)]}!?\"'`", s[e - 1])) e--;
        if (e <= b) return 0;
    }
    if ((size_t)(e - b) >= cap) return 0;
    memcpy(out, s + b, (size_t)(e - b));
    out[e - b] = '\0';
    return 1;
}

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

/* Compare ignoring '-', '_' and spaces ("fashion_mnist", "FashionMNIST"). */
static int same_loose(const char *a, const char *b) {
    for (;;) {
        while (*a == '-' || *a == '_' || *a == ' ') a++;
        while (*b == '-' || *b == '_' || *b == ' ') b++;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
        if (!*a) return 1;
        a++;
        b++;
    }
}

static void use_span_items(intent_ctx *c, int start, int end, int raw) {
    for (int i = 0; i < c->nit; i++)
        if (intent_span_start(c, i) >= start && intent_span_end(c, i) <= end) {
            c->it[i].used = 1;
            if (raw) c->it[i].raw = 1;
        }
}

static void pend(intent_ctx *c, const char *path, const char *value, int start, int end) {
    if (c->npending >= (int)(sizeof c->pending / sizeof c->pending[0])) return;
    intent_pending_key *p = &c->pending[c->npending++];
    snprintf(p->path, sizeof p->path, "%s", path);
    intent_fmt(p->value, sizeof p->value, "%s", value);
    p->start = start;
    p->end = end;
}

static int is_codec_stage(const char *v) {
    static const char *const stages[] = {"none", "fp16", "bf16", "q8", "q4", "q2", "sign", "zstd", NULL};
    for (int k = 0; stages[k]; k++)
        if (!strcmp(v, stages[k])) return 1;
    return !strncmp(v, "topk:", 5) || !strncmp(v, "randk:", 6);
}

/* Sets path from the value at item v (or raw text at byte vpos). key_a is
 * the first key item, sep the separator item (-1 for none). Returns 1 when
 * the pair was read, 0 when it is not one (left to the word rules), -1 on
 * a question. */
static int read_value(intent_ctx *c, const char *path, key_kind kind, int key_a, int key_b, int sep, int vpos) {
    const task_field *f = task_field_find(path);
    if (!f) return 0;
    int v = item_from(c, vpos);
    int kstart = intent_span_start(c, key_a);
    if (kind == K_WORDS) {
        /* "model: small CNN": the words are read by the model rules */
        for (int i = key_a; i <= key_b; i++) intent_use(c, i);
        intent_use(c, sep);
        char chunk[64];
        int end;
        if (v >= 0 && raw_chunk(c, intent_span_start(c, v), chunk, sizeof chunk, &end)) {
            lower(chunk);
            pend(c, path, chunk, kstart, end);
        }
        return 1;
    }
    int numeric = f->type == TASK_INT || f->type == TASK_U64 || f->type == TASK_NUMBER;
    if (numeric || kind == K_CPR || kind == K_SHARE || kind == K_ACC) {
        if (v < 0) return 0;
        /* "all" / "everyone" as a count of clients per round */
        if (kind == K_CPR && (intent_is(c, v, C_ALL) || intent_is(c, v, C_FULL_PART))) {
            for (int i = key_a; i <= key_b; i++) intent_use(c, i);
            intent_use(c, sep);
            return intent_set_cpr_all(c, key_a, v) < 0 ? -1 : 1;
        }
        const intent_item *n = &c->it[v];
        if (n->kind != IT_NUM || n->used) return 0;
        for (int i = key_a; i <= key_b; i++) intent_use(c, i);
        intent_use(c, sep);
        intent_use(c, v);
        int shareish = (n->flags & (TK_PERCENT | TK_FRACTION)) || (n->num > 0 && n->num < 1);
        if (kind == K_SHARE || (kind == K_CPR && shareish)) {
            double sh = share_value(n);
            if (kind == K_SHARE && !shareish && n->num > 1)
                return intent_ask(c, "clients_per_round: \"%s\" is a share of the clients per round (0 to 1), not "
                                     "%g. Which share did you mean?",
                                  c->tok[c->it[key_a].t0].text, n->num);
            return intent_set_cpr_share(c, sh, key_a, v) < 0 ? -1 : 1;
        }
        if (kind == K_ACC) {
            double a = (n->flags & TK_PERCENT) ? n->num / 100 : n->num > 1 ? n->num / 100 : n->num;
            return intent_set_real(c, path, a, RANK_WORDS, key_a, v, NULL) < 0 ? -1 : 1;
        }
        if (f->type == TASK_U64) {
            const char *txt = c->tok[n->t0].text;
            char *end;
            unsigned long long u = strtoull(txt, &end, 10);
            if (!(n->flags & TK_INTEGER) || txt[0] == '-' || *end != '\0' || u > (unsigned long long)INT64_MAX ||
                n->num >= 9.2e18)
                return intent_ask(c, "%s: \"%s\" is not a whole number from 0 to 9223372036854775807. Which did you "
                                     "mean?", path, txt);
            int s, e;
            intent_items_span(c, key_a, v, &s, &e);
            return intent_set(c, path, json_integer((json_int_t)u), RANK_WORDS, s, e, NULL) < 0 ? -1 : 1;
        }
        if (f->type == TASK_INT) return intent_set_int(c, path, v, RANK_WORDS, key_a, v, NULL) < 0 ? -1 : 1;
        double x = n->num;
        if (n->flags & TK_PERCENT) x /= 100.0;
        return intent_set_real(c, path, x, RANK_WORDS, key_a, v, NULL) < 0 ? -1 : 1;
    }
    if (f->type == TASK_BOOL) {
        char chunk[16];
        int end;
        if (v < 0 || !raw_chunk(c, intent_span_start(c, v), chunk, sizeof chunk, &end)) return 0;
        lower(chunk);
        int b = !strcmp(chunk, "true") || !strcmp(chunk, "yes") || !strcmp(chunk, "on") || !strcmp(chunk, "1");
        int nb = !strcmp(chunk, "false") || !strcmp(chunk, "no") || !strcmp(chunk, "off") || !strcmp(chunk, "0");
        if (!b && !nb) return 0;
        use_span_items(c, intent_span_start(c, v), end, 0);
        for (int i = key_a; i <= key_b; i++) intent_use(c, i);
        intent_use(c, sep);
        return intent_set(c, path, json_boolean(b), RANK_WORDS, kstart, end, NULL) < 0 ? -1 : 1;
    }
    /* text */
    if (v < 0) return 0;
    char chunk[300];
    int end;
    int vstart = intent_span_start(c, v);
    if (c->it[v].kind == IT_PUNCT && c->it[v].text[0] == '"') vstart = intent_span_start(c, v);
    if (!raw_chunk(c, vstart, chunk, sizeof chunk, &end)) return 0;
    for (int i = key_a; i <= key_b; i++) intent_use(c, i);
    intent_use(c, sep);
    if (f->choices) {
        char low[300];
        snprintf(low, sizeof low, "%s", chunk);
        lower(low);
        for (int k = 0; f->choices[k]; k++)
            if (same_loose(low, f->choices[k])) {
                use_span_items(c, vstart, end, 1);
                return intent_set(c, path, json_string(f->choices[k]), RANK_WORDS, kstart, end, NULL) < 0 ? -1 : 1;
            }
        pend(c, path, low, kstart, end); /* "strategy: prox" is words for the word rules */
        return 1;
    }
    if (kind == K_NONE) {
        char low[300];
        snprintf(low, sizeof low, "%s", chunk);
        lower(low);
        if (c->it[v].kind == IT_SPEC || is_codec_stage(low)) {
            use_span_items(c, vstart, end, 1);
            return intent_set(c, path, json_string(low), RANK_WORDS, kstart, end, NULL) < 0 ? -1 : 1;
        }
        return 1; /* "compression: 8-bit": the codec rules read it */
    }
    /* names, paths, columns: the text as written */
    use_span_items(c, vstart, end, 1);
    int rc = intent_set(c, path, json_string(chunk), RANK_WORDS, kstart, end, NULL);
    if (rc < 0) return -1;
    if (!strcmp(path, "dataset.test_path") || !strcmp(path, "dataset.label_column"))
        return intent_set_str(c, "dataset.name", "csv", RANK_IMPLIED, key_a, key_a,
                              "a test file or label column is a CSV dataset setting") < 0 ? -1 : 1;
    return 1;
}

/* Set-like verbs before "KEY to N": "set the rounds to 33". */
static int set_verb_before(const intent_ctx *c, int i) {
    static const char *const verbs[] = {"set", "change", "increase", "decrease", "raise", "lower", "reduce", "bump",
                                        "fix", "put", "adjust", "make", "drop", "cut", "up", "double", "halve", NULL};
    for (int j = i - 1; j >= 0; j--) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_PUNCT && strchr(".!?;", it->text[0])) return 0;
        for (int k = 0; verbs[k]; k++)
            if (!strcmp(c->tok[it->t0].text, verbs[k])) return 1;
    }
    return 0;
}

static int is_word_item(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && !strcmp(c->it[i].text, w);
}

/* A key ending at token t, followed by a value at byte vpos. */
static int try_key(intent_ctx *c, int t, int sep, int vpos, int word_sep) {
    key_words kw;
    words_before(c, t, &kw);
    if (kw.n == 0) return 0;
    key_kind kind = K_AUTO;
    const char *path = NULL;
    int a = -1, b = item_of_tok(c, kw.tok[kw.n - 1]);
    /* the longest suffix of unused words that names a field ("fedprox mu"
     * after "strategy=fedprox" is "mu") */
    for (int s0 = 0; s0 < kw.n && !path; s0++) {
        key_words suffix = kw;
        suffix.n = 0;
        for (int k = s0; k < kw.n; k++) {
            suffix.tok[suffix.n] = kw.tok[k];
            memcpy(suffix.word[suffix.n], kw.word[k], sizeof suffix.word[0]);
            suffix.n++;
        }
        int first;
        const char *p = match_suffix(&suffix, &kind, &first);
        if (!p || first != 0) continue;
        int ia = item_of_tok(c, kw.tok[s0]), busy = ia < 0 || b < 0;
        for (int i = ia; !busy && i <= b; i++) busy = c->it[i].used;
        if (busy) continue;
        path = p;
        a = ia;
    }
    if (!path) return 0;
    if (word_sep) {
        /* "the rounds to 33", "the number of clients is 50": a number only,
         * not the count of another unit ("to 50 per round") */
        int v = item_from(c, vpos);
        if (v < 0 || c->it[v].kind != IT_NUM || c->it[v].used) return 0;
        if (v + 1 < c->nit && c->it[v + 1].kind == IT_CONCEPT &&
            (intent_is(c, v + 1, C_PER_ROUND) || intent_is(c, v + 1, C_CLIENT) || intent_is(c, v + 1, C_ROUND) ||
             intent_is(c, v + 1, C_EPOCH) || intent_is(c, v + 1, C_TIME_UNIT)) &&
            !(intent_is(c, v + 1, C_ROUND) && !strcmp(path, "rounds")) &&
            !(intent_is(c, v + 1, C_CLIENT) && !strcmp(path, "clients")))
            return 0;
        if (a > 0 && c->it[a - 1].kind == IT_NUM) return 0; /* "10 clients is plenty" */
        if (kind == K_WORDS || kind == K_NONE) return 0;
        const task_field *f = task_field_find(path);
        if (!f || f->type == TASK_STRING) return 0;
    }
    int rc = read_value(c, path, kind, a, b, sep, vpos);
    if (rc > 0 && word_sep) {
        /* "the rounds to 33 rounds": the unit repeats the key */
        int v = item_from(c, vpos);
        if (v >= 0 && v + 1 < c->nit && c->it[v + 1].kind == IT_CONCEPT && !c->it[v + 1].used &&
            (intent_is(c, v + 1, C_ROUND) || intent_is(c, v + 1, C_CLIENT)))
            intent_use(c, v + 1);
    }
    return rc;
}

/* "--rounds 12", "--clients-per-round=6": words glued to "--". */
static int flags(intent_ctx *c) {
    for (int t = 0; t < c->ntok; t++) {
        int st = c->tok[t].start;
        if (c->tok[t].kind != TK_WORD || st < 2 || c->text[st - 1] != '-' || c->text[st - 2] != '-') continue;
        int e = t;
        while (e + 1 < c->ntok && c->tok[e + 1].kind == TK_WORD && c->tok[e + 1].start - c->tok[e].end == 1 &&
               (c->text[c->tok[e].end] == '-' || c->text[c->tok[e].end] == '_'))
            e++;
        int vpos = c->tok[e].end;
        int sep = -1;
        if (e + 1 < c->ntok && c->tok[e + 1].kind == TK_PUNCT && c->tok[e + 1].text[0] == '=') {
            sep = item_of_tok(c, e + 1);
            vpos = c->tok[e + 1].end;
        }
        while (vpos < (int)c->len && (c->text[vpos] == ' ' || c->text[vpos] == '\t')) vpos++;
        if (try_key(c, e, sep, vpos, 0) < 0) return -1;
        t = e;
    }
    return 0;
}

/* Terse lists: "clients 24, per round 6, rounds 12". The key starts a
 * clause and a bare number follows it. */
static int terse(intent_ctx *c) {
    for (int i = 0; i + 1 < c->nit; i++) {
        if (c->it[i].used || c->it[i].kind != IT_CONCEPT) continue;
        if (!(intent_is(c, i, C_CLIENT) || intent_is(c, i, C_PER_ROUND) || intent_is(c, i, C_CLIENT_KEY))) continue;
        int starts = i == 0 || (c->it[i - 1].kind == IT_PUNCT && strchr(",;./|(-", c->it[i - 1].text[0])) ||
                     gap_has(c, intent_span_end(c, i - 1), intent_span_start(c, i), "\n");
        int key_a = i;
        /* "clients per round 6" */
        if (intent_is(c, i, C_CLIENT) && intent_is(c, i + 1, C_PER_ROUND)) i++;
        int v = i + 1;
        if (!starts || v >= c->nit || c->it[v].kind != IT_NUM || c->it[v].used) continue;
        /* "clients 24 rounds": the number counts the unit after it */
        if (v + 1 < c->nit && (c->it[v + 1].kind == IT_NUM || intent_is(c, v + 1, C_ROUND) ||
                               intent_is(c, v + 1, C_CLIENT) || intent_is(c, v + 1, C_EPOCH) ||
                               intent_is(c, v + 1, C_PER_ROUND) || intent_is(c, v + 1, C_TIME_UNIT) ||
                               intent_is(c, v + 1, C_CLASS)))
            continue;
        const char *path = intent_is(c, i, C_PER_ROUND) ? "clients_per_round" : "clients";
        int rc = read_value(c, path, !strcmp(path, "clients") ? K_AUTO : K_CPR, key_a, i, -1, intent_span_start(c, v));
        if (rc < 0) return -1;
    }
    return 0;
}

/* Keys written as code in prose: "max_steps 10", "server_lr of 0.1", "set
 * clients_per_round to 5", "local.lr at 0.02": words joined by '_' or '.'
 * are a key whatever separates the value. */
static int code_keys(intent_ctx *c) {
    for (int t = 0; t < c->ntok && !c->failed; t++) {
        if (c->tok[t].kind != TK_WORD) continue;
        int e = t, joined = 0;
        while (e + 1 < c->ntok && c->tok[e + 1].start - c->tok[e].end == 1 &&
               (c->text[c->tok[e].end] == '_' || c->text[c->tok[e].end] == '.') &&
               (c->tok[e + 1].kind == TK_WORD || (c->tok[e + 1].kind == TK_PUNCT && c->tok[e + 1].text[0] == '.'))) {
            e++;
            joined = 1;
        }
        /* "local.lr": the lexer keeps the dot as a token of its own */
        while (e + 2 < c->ntok && c->tok[e + 1].kind == TK_PUNCT && c->tok[e + 1].text[0] == '.' &&
               c->tok[e + 1].start == c->tok[e].end && c->tok[e + 2].start == c->tok[e + 1].end &&
               c->tok[e + 2].kind == TK_WORD) {
            e += 2;
            joined = 1;
        }
        if (!joined) continue;
        int last = e;
        t = e;
        int it_last = item_of_tok(c, last);
        if (it_last < 0 || c->it[it_last].used) continue;
        int v = it_last + 1;
        if (v < c->nit && c->it[v].kind == IT_PUNCT && strchr("=:", c->it[v].text[0])) continue; /* read above */
        if (v < c->nit && c->it[v].kind == IT_WORD &&
            (!strcmp(c->it[v].text, "of") || !strcmp(c->it[v].text, "at") || !strcmp(c->it[v].text, "to") ||
             !strcmp(c->it[v].text, "is") || !strcmp(c->it[v].text, "equals") || !strcmp(c->it[v].text, "as") ||
             !strcmp(c->it[v].text, "be")))
            v++;
        if (v >= c->nit || c->it[v].used) continue;
        int rc = try_key(c, last, -1, intent_span_start(c, v), 0);
        if (rc < 0) return -1;
        if (rc > 0)
            for (int k = it_last + 1; k < v; k++) intent_use(c, k);
    }
    return c->failed ? -1 : 0;
}

int intent_rules_keys(intent_ctx *c) {
    if (flags(c) < 0) return -1;
    for (int i = 0; i < c->nit && !c->failed; i++) {
        const intent_item *it = &c->it[i];
        if (it->used) continue;
        int t = it->t0;
        /* "clients -> 48", "rounds => 12": an arrow is a separator too */
        int arrow = it->kind == IT_PUNCT && it->text[0] == '>' && c->tok[t].start > 0 &&
                    strchr("-=", c->text[c->tok[t].start - 1]);
        if (arrow && t > 0 && c->tok[t - 1].kind == TK_PUNCT && c->tok[t - 1].text[0] == '=') t--;
        if (it->kind == IT_PUNCT && (it->text[0] == '=' || it->text[0] == ':' || arrow)) {
            if (t == 0) continue;
            /* "10:30" is a time, "conv:16:5" a spec (one token): a key is words */
            if (c->tok[t - 1].kind != TK_WORD) continue;
            int vpos = c->tok[it->t0].end;
            if (it->text[0] == '=' && vpos < (int)c->len && strchr("=>", c->text[vpos])) vpos++; /* "==", "=>" */
            while (vpos < (int)c->len && (c->text[vpos] == ' ' || c->text[vpos] == '\t')) vpos++;
            if (try_key(c, t - 1, i, vpos, 0) < 0) return -1;
        } else if (it->kind == IT_CONCEPT && (it->concept == C_E_EQ || it->concept == C_B_EQ ||
                                               it->concept == C_C_EQ || it->concept == C_K_EQ)) {
            continue; /* E=5, B=10, C=0.1, K=100: the number rules know these letters */
        } else if (is_word_item(c, i, "to") || is_word_item(c, i, "is") || is_word_item(c, i, "are") ||
                   is_word_item(c, i, "equals") || is_word_item(c, i, "be")) {
            if (t == 0 || c->tok[t - 1].kind != TK_WORD) continue;
            if (!strcmp(it->text, "to") && !set_verb_before(c, i)) continue;
            int vpos = c->tok[t].end;
            while (vpos < (int)c->len && (c->text[vpos] == ' ' || c->text[vpos] == '\t')) vpos++;
            int before = c->it[i].used;
            int rc = try_key(c, t - 1, -1, vpos, 1);
            if (rc < 0) return -1;
            if (rc > 0 && !before) c->it[i].used = 1;
        }
    }
    if (c->failed) return -1;
    if (code_keys(c) < 0) return -1;
    return terse(c);
}

int intent_check_pending_keys(intent_ctx *c) {
    for (int k = 0; k < c->npending; k++) {
        const intent_pending_key *p = &c->pending[k];
        intent_slot *s = intent_slot_find(c, p->path);
        if (s && s->rank >= RANK_IMPLIED) continue;
        const task_field *f = task_field_find(p->path);
        char allowed[400] = "";
        size_t o = 0;
        for (int j = 0; f && f->choices && f->choices[j] && o + 2 < sizeof allowed; j++)
            o += (size_t)snprintf(allowed + o, sizeof allowed - o, "%s%s", j ? ", " : "", f->choices[j]);
        char ev[96];
        intent_evidence(c, p->start, p->end, ev, sizeof ev);
        int rc = intent_ask_which(c, p->path, "%s: \"%s\" names no %s fedc knows%s%s. Which one did you mean?", p->path,
                                  ev, p->path, allowed[0] ? "; allowed: " : "", allowed);
        const char *best = f && f->choices ? task_closest(p->value, f->choices, 64) : NULL;
        if (best) {
            char v[80];
            intent_fmt(v, sizeof v, "\"%s\"", best);
            intent_reading(c, p->path, v, "the closest allowed value to what was written");
        }
        return rc;
    }
    return 0;
}

/* ---- fields named by their own name in prose, read last ---- */

/* The field whose last part is key ("client beta" -> strategy.client_beta),
 * when exactly one field has that last part. */
static const char *leaf_lookup(const char *key) {
    const char *found = NULL;
    for (int f = 0; f < task_nfields; f++) {
        const char *leaf = strrchr(task_fields[f].path, '.');
        leaf = leaf ? leaf + 1 : task_fields[f].path;
        char n[96];
        norm_path(leaf, n, sizeof n);
        if (strcmp(n, key) != 0) continue;
        if (found) return NULL; /* "momentum", "beta1": which group's? */
        found = task_fields[f].path;
    }
    return found;
}

int intent_rules_leaf_keys(intent_ctx *c) {
    for (int n = 1; n < c->nit && !c->failed; n++) {
        if (c->it[n].kind != IT_NUM || c->it[n].used) continue;
        int k = n - 1;
        if (c->it[k].kind == IT_WORD && (!strcmp(c->it[k].text, "of") || !strcmp(c->it[k].text, "is") ||
                                         !strcmp(c->it[k].text, "at") || !strcmp(c->it[k].text, "equals")))
            k--;
        else if (c->it[k].kind == IT_PUNCT && strchr("=:", c->it[k].text[0]))
            k--;
        if (k < 0 || c->it[k].used || c->it[k].kind == IT_NUM || c->it[k].kind == IT_PUNCT) continue;
        key_words kw;
        words_before(c, c->it[k].t1 - 1, &kw);
        for (int s0 = 0; s0 < kw.n; s0++) {
            char key[KEY_MAX_WORDS * TOK_TEXT];
            size_t o = 0;
            key[0] = '\0';
            for (int j = s0; j < kw.n; j++) o += (size_t)snprintf(key + o, sizeof key - o, "%s%s", o ? " " : "", kw.word[j]);
            /* one word alone only when the vocabulary does not know it ("lambda") */
            if (s0 == kw.n - 1 && (intent_word_class(c->tok[kw.tok[s0]].text) & W_KNOWN)) continue;
            const char *path = leaf_lookup(key);
            if (!path) continue;
            /* the field's name may start with words read already ("SCAFFOLD option 1":
             * "scaffold" named the strategy); its last word must be free */
            int a = item_of_tok(c, kw.tok[s0]);
            if (a < 0 || c->it[k].used) continue;
            if (read_value(c, path, !strcmp(path, "clients_per_round") ? K_CPR : K_AUTO, a, k, k + 1 < n ? k + 1 : -1,
                           intent_span_start(c, n)) < 0)
                return -1;
            break;
        }
    }
    return c->failed ? -1 : 0;
}
