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
#include <strings.h>

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
    {"train", "dataset.path", K_AUTO}, {"train path", "dataset.path", K_AUTO}, {"train file", "dataset.path", K_AUTO},
    {"train csv", "dataset.path", K_AUTO}, {"training data", "dataset.path", K_AUTO},
    {"test", "dataset.test_path", K_AUTO}, {"test csv", "dataset.test_path", K_AUTO},
    {"test data", "dataset.test_path", K_AUTO}, {"label", "dataset.label_column", K_AUTO},
    {"label col", "dataset.label_column", K_AUTO}, {"target column", "dataset.label_column", K_AUTO},
    {"server opt", "strategy.name", K_AUTO},
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
    /* step schedules as FL code names them (lr_decay=0.9, lr_decay_every=5) */
    {"lr decay", "local.lr_gamma", K_AUTO}, {"lr decay rate", "local.lr_gamma", K_AUTO},
    {"lr decay factor", "local.lr_gamma", K_AUTO}, {"decay factor", "local.lr_gamma", K_AUTO},
    {"lr decay every", "local.lr_step_rounds", K_AUTO}, {"lr decay step", "local.lr_step_rounds", K_AUTO},
    {"lr decay round", "local.lr_step_rounds", K_AUTO}, {"decay every", "local.lr_step_rounds", K_AUTO},
    {"lr step size", "local.lr_step_rounds", K_AUTO}, {"lr step", "local.lr_step_rounds", K_AUTO},
    {"min lr", "local.lr_min", K_AUTO}, {"lr floor", "local.lr_min", K_AUTO}, {"final lr", "local.lr_min", K_AUTO},
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

static key_kind kind_of_path(const char *path) {
    return !strcmp(path, "clients_per_round")          ? K_CPR
           : !strcmp(path, "model")                    ? K_WORDS
           : !strncmp(path, "compression.", 12)        ? K_NONE
           : !strcmp(path, "stop.target_accuracy")     ? K_ACC
                                                       : K_AUTO;
}

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

/* The field a key names exactly (alias, task path or unique field name),
 * or NULL; *kind set. */
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
            *kind = kind_of_path(task_fields[f].path);
            return task_fields[f].path;
        }
    }
    const char *leaf = strchr(key, ' ') ? leaf_lookup(key) : NULL;
    if (leaf) *kind = kind_of_path(leaf);
    return leaf;
}

/* Whether every word of key appears, in order, among the words of path. */
static int subsequence(const char *key, const char *path) {
    char n[96];
    norm_path(path, n, sizeof n);
    const char *p = n;
    const char *k = key;
    while (*k) {
        size_t w = strcspn(k, " ");
        int found = 0;
        while (*p && !found) {
            size_t pw = strcspn(p, " ");
            if (pw == w && !strncmp(p, k, w)) found = 1;
            p += pw;
            while (*p == ' ') p++;
        }
        if (!found) return 0;
        k += w;
        while (*k == ' ') k++;
    }
    return 1;
}

/* A key written short ("round_timeout", "warmup_rounds" under "server:",
 * "spill"): the one field, within the group if one is given, whose name
 * holds all its words in order. */
static const char *lookup_loose(const char *key, const char *group, key_kind *kind) {
    const char *found = NULL;
    size_t gl = group ? strlen(group) : 0;
    for (int f = 0; f < task_nfields; f++) {
        const char *path = task_fields[f].path;
        if (group && (strncmp(path, group, gl) != 0 || path[gl] != '.')) continue;
        if (!subsequence(key, group ? path + gl + 1 : path)) continue;
        if (found) return NULL;
        found = path;
    }
    if (found) *kind = kind_of_path(found);
    return found;
}

/* A field whose name starts with a strategy's name ("fedau_cutoff",
 * "scaffold_option", "hyper_level" of fedhyper), named by the rest when
 * the request names that strategy: "fedau with cutoff 50", "option 2". */
static const char *strategy_leaf(const intent_ctx *c, const char *key, key_kind *kind) {
    const task_field *sf = task_field_find("strategy.name");
    for (int f = 0; sf && sf->choices && f < task_nfields; f++) {
        const char *path = task_fields[f].path;
        if (strncmp(path, "strategy.", 9) != 0) continue;
        const char *leaf = path + 9, *us = strchr(leaf, '_');
        if (!us || strcmp(us + 1, key) != 0 || strchr(key, ' ')) continue;
        for (int k = 0; sf->choices[k]; k++) {
            const char *name = sf->choices[k];
            size_t pl = (size_t)(us - leaf);
            int same = strlen(name) == pl && !strncmp(name, leaf, pl);
            int stem = !strncmp(name, "fed", 3) && strlen(name) - 3 == pl && !strncmp(name + 3, leaf, pl);
            if ((same || stem) && intent_names_strategy(c, name)) {
                *kind = K_AUTO;
                return path;
            }
        }
    }
    return NULL;
}

static int adaptive_server(const intent_ctx *c) {
    return intent_anywhere(c, C_S_FEDADAM) || intent_anywhere(c, C_S_FEDYOGI) || intent_anywhere(c, C_S_FEDADAGRAD);
}

/* Keys whose field depends on the method the request names: "K" is FedAU's
 * cutoff beside fedau (the paper's K) and the federation size otherwise;
 * "beta" is FedAvgM's momentum or fedavg-m's client_beta; "beta1"/"beta2"
 * belong to the server optimizer or to adam on the clients; "lambda" to
 * fedspeed or fedld. Returns the path, NULL when the key is not one of
 * these, or "" when the request does not say which (a question). */
static const char *context_key(const intent_ctx *c, const char *key, key_kind *kind) {
    *kind = K_AUTO;
    if (!strcmp(key, "k")) return intent_names_strategy(c, "fedau") ? "strategy.fedau_cutoff" : "clients";
    if (!strcmp(key, "beta")) {
        int m = intent_names_strategy(c, "fedavgm"), cb = intent_names_strategy(c, "fedavg-m") ||
                                                          intent_names_strategy(c, "scaffold-m");
        return m && !cb ? "strategy.momentum" : cb && !m ? "strategy.client_beta" : "";
    }
    if (!strcmp(key, "beta1") || !strcmp(key, "beta2") || !strcmp(key, "b1") || !strcmp(key, "b2")) {
        int server = adaptive_server(c);
        int local = intent_anywhere(c, C_OPT_ADAM) || intent_anywhere(c, C_OPT_ADAMW);
        if (server == local) return "";
        return key[strlen(key) - 1] == '1' ? (server ? "strategy.beta1" : "local.beta1")
                                            : (server ? "strategy.beta2" : "local.beta2");
    }
    if (!strcmp(key, "lambda")) {
        int sp = intent_names_strategy(c, "fedspeed"), ld = intent_names_strategy(c, "fedld");
        return sp && !ld ? "strategy.lambda" : ld && !sp ? "strategy.margin_lambda" : "";
    }
    return NULL;
}

/* ---- groups: a header line with keys indented below it, or a JSON object ---- */

/* The task group a header names ("client:" -> local), or NULL. */
static const char *group_of_header(const char *w) {
    static const struct {
        const char *word, *group;
    } map[] = {
        {"strategy", "strategy"}, {"aggregation", "strategy"}, {"aggregator", "strategy"},
        {"algorithm", "strategy"}, {"server", "server"},      {"local", "local"},
        {"client", "local"},      {"clients", "local"},       {"training", "local"},
        {"local_training", "local"}, {"optimizer", "local"},  {"optimiser", "local"},
        {"dataset", "dataset"},   {"data", "dataset"},        {"partition", "partition"},
        {"partitioning", "partition"}, {"split", "partition"}, {"compression", "compression"},
        {"codec", "compression"}, {"scheduling", "scheduling"}, {"scheduler", "scheduling"},
        {"selection", "scheduling"}, {"privacy", "privacy"},  {"dp", "privacy"},
        {"state", "state"},       {"memory", "state"},        {"stop", "stop"},
        {"stopping", "stop"},     {"deploy", "deploy"},       {"deployment", "deploy"},
    };
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
        if (!strcasecmp(map[k].word, w)) return map[k].group;
    return NULL;
}

static void add_group(intent_ctx *c, int start, int end, const char *name) {
    const char *g = group_of_header(name);
    if (!g || c->nkey_group >= (int)(sizeof c->key_group / sizeof c->key_group[0]) || end <= start) return;
    c->key_group[c->nkey_group].start = start;
    c->key_group[c->nkey_group].end = end;
    snprintf(c->key_group[c->nkey_group].prefix, sizeof c->key_group[0].prefix, "%s", g);
    c->nkey_group++;
}

static int line_indent(const char *s, int b, int e, int *content) {
    int ind = 0, p = b;
    while (p < e && (s[p] == ' ' || s[p] == '\t' || ((s[p] == '-' || s[p] == '*') && p + 1 < e && s[p + 1] == ' '))) {
        ind += s[p] == '\t' ? 4 : 1;
        p++;
    }
    *content = p;
    return ind;
}

/* YAML-like blocks: "strategy:" alone on its line, keys indented below. */
static void yaml_groups(intent_ctx *c) {
    const char *s = c->text;
    int len = (int)c->len;
    for (int b = 0; b < len;) {
        int e = b;
        while (e < len && s[e] != '\n') e++;
        int content, ind = line_indent(s, b, e, &content);
        int q = e;
        while (q > content && (s[q - 1] == ' ' || s[q - 1] == '\t' || s[q - 1] == '\r')) q--;
        if (q > content + 1 && s[q - 1] == ':') {
            char name[24];
            int nl = q - 1 - content;
            int ok = nl > 0 && nl < (int)sizeof name;
            for (int k = content; ok && k < q - 1; k++) ok = isalnum((unsigned char)s[k]) || s[k] == '_';
            if (ok) {
                memcpy(name, s + content, (size_t)nl);
                name[nl] = '\0';
                /* the block: the lines below indented deeper */
                int end = e, p = e < len ? e + 1 : len;
                while (p < len) {
                    int pe = p;
                    while (pe < len && s[pe] != '\n') pe++;
                    int pc, pi = line_indent(s, p, pe, &pc);
                    if (pc < pe && s[pc] != '\r') {
                        if (pi <= ind) break;
                        end = pe;
                    }
                    p = pe + 1;
                }
                add_group(c, e, end, name);
            }
        }
        b = e + 1;
    }
}

/* JSON objects: "strategy": { ... }. */
static void json_groups(intent_ctx *c) {
    const char *s = c->text;
    int len = (int)c->len;
    int open[8], depth = 0;
    char names[8][24];
    int in_str = 0, str_start = -1;
    char last_str[24] = "";
    int last_str_end = -1;
    for (int p = 0; p < len; p++) {
        char ch = s[p];
        if (in_str) {
            if (ch == '\\') p++;
            else if (ch == '"') {
                in_str = 0;
                int n = p - str_start - 1;
                if (n > 0 && n < (int)sizeof last_str) {
                    memcpy(last_str, s + str_start + 1, (size_t)n);
                    last_str[n] = '\0';
                } else {
                    last_str[0] = '\0';
                }
                last_str_end = p;
            }
            continue;
        }
        if (ch == '"') {
            in_str = 1;
            str_start = p;
        } else if (ch == '{') {
            /* named when "name" : { */
            int k = p - 1;
            while (k >= 0 && isspace((unsigned char)s[k])) k--;
            int named = k >= 0 && s[k] == ':';
            if (named) {
                k--;
                while (k >= 0 && isspace((unsigned char)s[k])) k--;
                named = k == last_str_end;
            }
            if (depth < 8) {
                open[depth] = p;
                snprintf(names[depth], sizeof names[0], "%s", named ? last_str : "");
            }
            depth++;
        } else if (ch == '}' && depth > 0) {
            depth--;
            if (depth < 8 && names[depth][0]) add_group(c, open[depth], p, names[depth]);
        }
    }
}

/* The group of the key starting at byte pos: the innermost block holding it. */
static const char *group_at(const intent_ctx *c, int pos) {
    const char *g = NULL;
    int best = 1 << 30;
    for (int k = 0; k < c->nkey_group; k++)
        if (pos >= c->key_group[k].start && pos < c->key_group[k].end &&
            c->key_group[k].end - c->key_group[k].start < best) {
            best = c->key_group[k].end - c->key_group[k].start;
            g = c->key_group[k].prefix;
        }
    return g;
}

/* ---- the words of a key ---- */

#define KEY_MAX_WORDS 6

typedef struct {
    int tok[KEY_MAX_WORDS]; /* token index of each word, in order */
    char word[KEY_MAX_WORDS][TOK_TEXT]; /* client nouns read as "client" */
    char raw[KEY_MAX_WORDS][TOK_TEXT];  /* as written (lemma) */
    int glued[KEY_MAX_WORDS];            /* joined to the next word by '_', '.' or '-' */
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
        norm_word(c->tok[kw->tok[k]].text, kw->raw[k], sizeof kw->raw[k]);
    }
    for (int k = 0; k < n; k++)
        kw->glued[k] = k + 1 < n && !gap_has(c, c->tok[kw->tok[k]].end, c->tok[kw->tok[k + 1]].start, " \t\n\r");
}

static void join(const key_words *kw, int s, int raw, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    for (int k = s; k < kw->n; k++)
        o += (size_t)snprintf(out + o, cap > o ? cap - o : 0, "%s%s", o ? " " : "", raw ? kw->raw[k] : kw->word[k]);
}

/* Words that may be dropped from the front of an identifier: a group or a
 * strategy ("fedprox_mu", "client_lr" is an alias of its own). */
static int droppable(const char *w) {
    if (group_of_header(w)) return 1;
    const task_field *sf = task_field_find("strategy.name");
    for (int k = 0; sf && sf->choices && sf->choices[k]; k++)
        if (!strcmp(sf->choices[k], w)) return 1;
    return 0;
}

/* The field named by the key words from s on, within group (may be NULL);
 * "" when the key needs a question (context_key). */
static const char *resolve_key(const intent_ctx *c, const key_words *kw, int s, const char *group, key_kind *kind) {
    /* inside an identifier ("lr_decay") only a group or strategy may be dropped */
    for (int k = s - 1; k >= 0 && kw->glued[k]; k--)
        if (!droppable(kw->raw[k])) return NULL;
    char raw[KEY_MAX_WORDS * TOK_TEXT], mapped[KEY_MAX_WORDS * TOK_TEXT], g[KEY_MAX_WORDS * TOK_TEXT + 32];
    join(kw, s, 1, raw, sizeof raw);
    join(kw, s, 0, mapped, sizeof mapped);
    const char *path;
    if (group) {
        /* "server:" holds the strategy's server_* fields and the strategy */
        static const char *const server_pref[] = {"strategy server", "strategy", "server", NULL};
        const char *one[] = {group, NULL};
        const char *const *prefs = !strcmp(group, "server") ? server_pref : one;
        for (int k = 0; prefs[k]; k++) {
            snprintf(g, sizeof g, "%s %s", prefs[k], raw);
            if ((path = lookup(g, kind))) return path;
            snprintf(g, sizeof g, "%s %s", prefs[k], mapped);
            if ((path = lookup(g, kind))) return path;
        }
        if ((path = lookup_loose(raw, !strcmp(group, "server") ? "strategy" : group, kind))) return path;
    }
    if ((path = context_key(c, raw, kind))) return path;
    if ((path = lookup(raw, kind)) || (path = lookup(mapped, kind))) return path;
    if ((path = strategy_leaf(c, raw, kind))) return path;
    /* "server_beta1", "client_lr": a side word in front of the key */
    if (s + 1 < kw->n && (!strcmp(kw->raw[s], "server") || !strcmp(kw->raw[s], "client") || !strcmp(kw->raw[s], "local"))) {
        key_words rest = *kw;
        const char *side = !strcmp(kw->raw[s], "server") ? "server" : "local";
        if ((path = resolve_key(c, &rest, s + 1, side, kind)) && *path) return path;
    }
    /* a whole identifier written short: "round_timeout", "memory_mb" */
    int whole = s == 0 || !kw->glued[s - 1];
    if (whole && (strchr(raw, ' ') || strlen(raw) >= 5) && (path = lookup_loose(raw, NULL, kind))) return path;
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
        /* "server lr: x0.8" is a factor, not a value */
        if (n->kind != IT_NUM || n->used || (n->flags & TK_FACTOR)) return 0;
        /* "cut the learning rate to a quarter every 30 rounds": a step
         * schedule (rules_schedule.c), not the learning rate's value */
        size_t pl = strlen(path);
        if (pl >= 2 && !strcmp(path + pl - 2, "lr") && v + 3 < c->nit && c->it[v + 1].kind == IT_WORD &&
            !strcmp(c->it[v + 1].text, "every") && c->it[v + 2].kind == IT_NUM && intent_is(c, v + 3, C_ROUND))
            return 0;
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
        /* "wall: 1h", "deadline: 2 min": a field in seconds given in another unit */
        size_t pn = strlen(path);
        if (pn > 2 && !strcmp(path + pn - 2, "_s") && intent_is(c, v + 1, C_TIME_UNIT) && !c->it[v + 1].used &&
            c->it[v + 1].arg > 0) {
            x *= c->it[v + 1].arg;
            intent_use(c, v + 1);
            return intent_set_real(c, path, x, RANK_WORDS, key_a, v + 1, NULL) < 0 ? -1 : 1;
        }
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
        /* the exact spelling first: "fedavg-m" and "fedavgm" are two strategies */
        int exact = -1;
        for (int k = 0; f->choices[k] && exact < 0; k++)
            if (!strcmp(low, f->choices[k])) exact = k;
        for (int k = exact >= 0 ? exact : 0; f->choices[k]; k++)
            if (same_loose(low, f->choices[k])) {
                use_span_items(c, vstart, end, 1);
                return intent_set(c, path, json_string(f->choices[k]), RANK_WORDS, kstart, end, NULL) < 0 ? -1 : 1;
            }
        /* "dp=gaussian": the one allowed value that ends in "-gaussian" */
        int tail = -1, ntail = 0;
        size_t ll = strlen(low);
        for (int k = 0; f->choices[k]; k++) {
            size_t cl = strlen(f->choices[k]);
            if (ll >= 3 && cl > ll + 1 && f->choices[k][cl - ll - 1] == '-' && !strcmp(f->choices[k] + cl - ll, low)) {
                tail = k;
                ntail++;
            }
        }
        if (ntail == 1) {
            use_span_items(c, vstart, end, 1);
            return intent_set(c, path, json_string(f->choices[tail]), RANK_WORDS, kstart, end, NULL) < 0 ? -1 : 1;
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
    /* names, paths, columns: the text as written; "<our trace file>" is a
     * placeholder left in a template, not a file */
    if (chunk[0] == '<' || strchr(chunk, '<') || (vstart < (int)c->len && c->text[vstart] == '<'))
        return intent_ask_which(c, path, "%s: \"%s\" looks like a placeholder. Which %s did you mean?", path, chunk,
                                path);
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

/* "dirichlet_alpha=1.0": a parameter of one split names that split, as
 * in prose ("alpha 0.3" is the Dirichlet split's). */
static int implied_split(intent_ctx *c, const char *path, int a, int b) {
    static const struct {
        const char *path, *kind, *why;
    } imp[] = {
        {"partition.alpha", "dirichlet", "alpha is the Dirichlet concentration"},
        {"partition.sigma", "quantity", "sigma is the spread of client sizes in the quantity-skew split"},
        {"partition.classes_per_client", "shards", "a fixed number of classes per client is the shards split"},
    };
    for (size_t k = 0; k < sizeof imp / sizeof imp[0]; k++)
        if (!strcmp(path, imp[k].path))
            return intent_set_str(c, "partition.kind", imp[k].kind, RANK_IMPLIED, a, b, imp[k].why) < 0 ? -1 : 0;
    return 0;
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
        int ia = item_of_tok(c, kw.tok[s0]), busy = ia < 0 || b < 0;
        for (int i = ia; !busy && i <= b; i++) busy = c->it[i].used;
        /* in prose a key does not start inside a phrase ("cosine decay to 0") */
        if (!busy && word_sep && c->it[ia].t0 != kw.tok[s0]) busy = 1;
        if (busy) continue;
        const char *p = resolve_key(c, &kw, s0, group_at(c, c->tok[kw.tok[s0]].start), &kind);
        if (!p) continue;
        if (!*p) {
            char ev[96];
            intent_evidence(c, c->tok[kw.tok[s0]].start, c->tok[kw.tok[kw.n - 1]].end, ev, sizeof ev);
            return intent_ask_which(c, NULL, "\"%s\" names different settings depending on the method (the server "
                                             "optimizer's or the clients', the strategy's own parameter). Please "
                                             "write the field, e.g. \"strategy.beta1=0.9\" or \"local.beta1=0.9\".",
                                    ev);
        }
        path = p;
        a = ia;
    }
    /* "every round: 15 of them" is not a key */
    if (path && intent_is(c, b, C_PER_ROUND) && c->it[b].t1 - c->it[b].t0 > 1 &&
        (!strcmp(c->tok[c->it[b].t0].text, "every") || !strcmp(c->tok[c->it[b].t0].text, "each")))
        return 0;
    /* a header: "strategy:" with its keys on the lines below, or an object */
    if (path && !word_sep && (vpos >= (int)c->len || c->text[vpos] == '\n' || c->text[vpos] == '\r' ||
                              c->text[vpos] == '{')) {
        for (int i = a; i <= b; i++) intent_use(c, i);
        intent_use(c, sep);
        return 1;
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
    if (rc > 0 && implied_split(c, path, a, b) < 0) return -1;
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

/* Marks the words of group headers read ("strategy:" above its keys). */
static void use_headers(intent_ctx *c) {
    for (int i = 0; i < c->nit; i++) {
        int st = intent_span_start(c, i);
        for (int k = 0; k < c->nkey_group; k++) {
            /* the header ends where its block starts: on the same line, before it */
            int hs = c->key_group[k].start;
            int ls = hs;
            while (ls > 0 && c->text[ls - 1] != '\n') ls--;
            if (st >= ls && st < hs && c->text[hs] != '{') intent_use(c, i);
        }
    }
}

int intent_rules_keys(intent_ctx *c) {
    yaml_groups(c);
    json_groups(c);
    use_headers(c);
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
            /* "10:30" is a time, "conv:16:5" a spec (one token): a key is words,
             * quoted in JSON ("rounds": 200) */
            int kt = t - 1;
            if (c->tok[kt].kind == TK_PUNCT && c->tok[kt].text[0] == '"' && kt > 0 && c->tok[kt - 1].kind == TK_WORD &&
                c->tok[kt - 1].end == c->tok[kt].start) {
                int q = item_of_tok(c, kt);
                intent_use(c, q);
                kt--;
            }
            if (c->tok[kt].kind != TK_WORD) continue;
            int vpos = c->tok[it->t0].end;
            if (it->text[0] == '=' && vpos < (int)c->len && strchr("=>", c->text[vpos])) vpos++; /* "==", "=>" */
            while (vpos < (int)c->len && (c->text[vpos] == ' ' || c->text[vpos] == '\t')) vpos++;
            if (try_key(c, kt, i, vpos, 0) < 0) return -1;
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

/* Words between a field's name and its value in prose: "cutoff of 40",
 * "a gap longer than 100", "top fraction at .85". */
static int leaf_filler(const intent_ctx *c, int k) {
    static const char *const w[] = {"of", "is", "at", "equals", "than", "longer", "more", "over", "about", "around",
                                    "to", "be", "as", NULL};
    if (k < 0 || c->it[k].kind != IT_WORD) return 0;
    for (int j = 0; w[j]; j++)
        if (!strcmp(c->it[k].text, w[j])) return 1;
    return 0;
}

/* The field the free words ending at item k name in prose ("client beta",
 * "cutoff" beside FedAU, "top fraction"), or NULL; *a = its first item. */
static const char *leaf_named(const intent_ctx *c, int k, int *a) {
    if (k < 0 || c->it[k].used || c->it[k].kind == IT_NUM || c->it[k].kind == IT_PUNCT) return NULL;
    key_words kw;
    words_before(c, c->it[k].t1 - 1, &kw);
    for (int s0 = 0; s0 < kw.n; s0++) {
        char key[KEY_MAX_WORDS * TOK_TEXT], raw[KEY_MAX_WORDS * TOK_TEXT];
        join(&kw, s0, 0, key, sizeof key);
        join(&kw, s0, 1, raw, sizeof raw);
        /* one word alone only when the vocabulary does not know it ("lambda") */
        int lone_known = s0 == kw.n - 1 && (intent_word_class(c->tok[kw.tok[s0]].text) & W_KNOWN);
        key_kind kind;
        const char *path = lone_known ? NULL : leaf_lookup(key);
        if (!path) path = strategy_leaf(c, raw, &kind);
        if (!path) {
            /* "cut-off", "warm-up": one word written with a hyphen */
            char solid[KEY_MAX_WORDS * TOK_TEXT];
            size_t o = 0;
            solid[0] = '\0';
            for (int j = s0; j < kw.n; j++)
                o += (size_t)snprintf(solid + o, sizeof solid > o ? sizeof solid - o : 0, "%s%s", kw.raw[j],
                                      j + 1 < kw.n && !kw.glued[j] ? " " : "");
            if (strcmp(solid, raw) != 0 && !(path = leaf_lookup(solid))) path = strategy_leaf(c, solid, &kind);
        }
        if (!path) continue;
        *a = item_of_tok(c, kw.tok[s0]);
        if (*a < 0) continue;
        return path;
    }
    return NULL;
}

int intent_field_named_at(const intent_ctx *c, int k) {
    int a;
    const char *path = leaf_named(c, k, &a);
    return path && a < k;
}

int intent_field_named_before(const intent_ctx *c, int n) {
    int k = n - 1, a;
    while (k > 0 && (leaf_filler(c, k) || (c->it[k].kind == IT_WORD && (c->it[k].wclass & W_STOP) &&
                                            (!strcmp(c->it[k].text, "a") || !strcmp(c->it[k].text, "an") ||
                                             !strcmp(c->it[k].text, "the")))))
        k--;
    return leaf_named(c, k, &a) != NULL;
}

int intent_rules_leaf_keys(intent_ctx *c) {
    for (int n = 1; n < c->nit && !c->failed; n++) {
        if (c->it[n].kind != IT_NUM || c->it[n].used) continue;
        int k = n - 1;
        if (c->it[k].kind == IT_PUNCT && strchr("=:", c->it[k].text[0]))
            k--;
        else
            for (int d = 0; d < 3 && k > 0 && leaf_filler(c, k); d++) k--;
        int a;
        const char *path = leaf_named(c, k, &a);
        if (!path) continue;
        if (read_value(c, path, !strcmp(path, "clients_per_round") ? K_CPR : K_AUTO, a, k, k + 1 < n ? k + 1 : -1,
                       intent_span_start(c, n)) < 0)
            return -1;
        for (int j = k + 1; j < n && c->it[n].used; j++) intent_use(c, j);
        /* "a cutoff of 40 rounds": the unit of a field counted in rounds */
        if (c->it[n].used && intent_is(c, n + 1, C_ROUND) && !c->it[n + 1].used) intent_use(c, n + 1);
    }
    return c->failed ? -1 : 0;
}
