/* Dataset and partition rules. Datasets are named ("fashion-mnist",
 * "fmnist", "CIFAR-10", "mnist"); partitions in words ("IID", "each client
 * sees 2 classes", "pathological non-IID", "quantity skew") or numbers
 * ("dirichlet 0.1", "alpha=0.3", "sigma 1.5"). Qualitative skew ("strongly
 * non-IID") is kept as a level and made concrete in resolve.c, where it is
 * checked against any explicit alpha. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fedc/catalog.h"
#include "fl/task/task_internal.h"
#include "intent/intent_internal.h"

/* Names of data sets written in words, for the catalog's names (the task
 * field's allowed values decide which of them fedc can load). */
static const struct {
    const char *words, *name;
} dataset_words[] = {
    {"cifar100", "cifar100"}, {"cifar 100", "cifar100"}, {"svhn", "svhn"}, {"femnist", "femnist"},
    {"emnist byclass", "emnist-byclass"}, {"emnist by class", "emnist-byclass"},
    {"emnist balanced", "emnist-balanced"}, {"emnist digit", "emnist-digits"},
    {"emnist digits", "emnist-digits"}, {"street view house number", "svhn"},
};

/* Compare ignoring case, '-', '_' and spaces. */
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

/* The catalog name written at byte pos as one chunk ("EMNIST-ByClass",
 * "cifar_100", "fashion-mnist"); its end in *end, or NULL. */
static const char *catalog_chunk(const intent_ctx *c, int pos, int *end) {
    int e = pos;
    while (e < (int)c->len && (isalnum((unsigned char)c->text[e]) || c->text[e] == '-' || c->text[e] == '_')) e++;
    while (e > pos && (c->text[e - 1] == '-' || c->text[e - 1] == '_')) e--;
    char chunk[64];
    if (e - pos <= 0 || e - pos >= (int)sizeof chunk) return NULL;
    memcpy(chunk, c->text + pos, (size_t)(e - pos));
    chunk[e - pos] = '\0';
    for (int k = 0; task_datasets[k]; k++)
        if (same_loose(chunk, task_datasets[k])) {
            *end = e;
            return task_datasets[k];
        }
    return NULL;
}

static int known_dataset(const char *name) {
    for (int k = 0; task_datasets[k]; k++)
        if (!strcmp(task_datasets[k], name)) return 1;
    return 0;
}

/* Sets dataset.name from items i.. whose text ends at byte end. */
static int set_dataset(intent_ctx *c, int i, int end, const char *name) {
    int last = i;
    while (last + 1 < c->nit && intent_span_end(c, last + 1) <= end) last++;
    for (int k = i; k <= last; k++) intent_use(c, k);
    return intent_set_str(c, "dataset.name", name, RANK_WORDS, i, last, NULL);
}

/* A data set named by words the vocabulary knows but whose name is not in
 * the task spec's list: loadable under a catalog name, or a question. */
static int other_dataset(intent_ctx *c, int i) {
    char words[96] = "";
    size_t o = 0;
    for (int t = c->it[i].t0; t < c->it[i].t1; t++)
        o += (size_t)snprintf(words + o, sizeof words - o, "%s%s", o ? " " : "", c->tok[t].text);
    /* "emnist digits": the next word may name the variant */
    char two[128];
    if (i + 1 < c->nit && c->it[i + 1].kind == IT_WORD) {
        snprintf(two, sizeof two, "%s %s", words, c->it[i + 1].text);
        for (size_t k = 0; k < sizeof dataset_words / sizeof dataset_words[0]; k++)
            if (!strcmp(dataset_words[k].words, two) && known_dataset(dataset_words[k].name)) {
                intent_use(c, i + 1);
                return intent_set_str(c, "dataset.name", dataset_words[k].name, RANK_WORDS, i, i + 1, NULL);
            }
    }
    for (size_t k = 0; k < sizeof dataset_words / sizeof dataset_words[0]; k++)
        if (!strcmp(dataset_words[k].words, words) && known_dataset(dataset_words[k].name))
            return intent_set_str(c, "dataset.name", dataset_words[k].name, RANK_WORDS, i, i, NULL);
    char ev[96];
    intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), ev, sizeof ev);
    /* "emnist" alone: which of the catalog's variants */
    /* "cifar" alone: cifar10 or cifar100 */
    size_t wl = strlen(words);
#define FAMILY_MEMBER(name) \
    (!strncmp((name), words, wl) && ((name)[wl] == '-' || ((name)[wl] >= '0' && (name)[wl] <= '9')))
    int variants = 0;
    for (int k = 0; task_datasets[k]; k++) variants += FAMILY_MEMBER(task_datasets[k]);
    if (variants > 1) {
        /* "the SCAFFOLD paper's EMNIST experiment ... emnist-balanced": a
         * variant named elsewhere in the request says which */
        const intent_slot *ds = intent_slot_find(c, "dataset.name");
        if (ds && json_is_string(ds->value) && FAMILY_MEMBER(json_string_value(ds->value))) {
            intent_use(c, i);
            return 0;
        }
        for (int j = 0; j < c->nit; j++) {
            int e2;
            const char *named = j != i ? catalog_chunk(c, intent_span_start(c, j), &e2) : NULL;
            if (named && FAMILY_MEMBER(named)) {
                intent_use(c, i);
                return 0;
            }
        }
        int rc = intent_ask_which(c, "dataset.name", "dataset.name: \"%s\" comes in several variants. Which one?", ev);
        for (int k = 0; task_datasets[k]; k++)
            if (FAMILY_MEMBER(task_datasets[k])) {
                char v[80];
                intent_fmt(v, sizeof v, "\"%s\"", task_datasets[k]);
                intent_reading(c, "dataset.name", v, "a variant in fedc's data catalog");
            }
        return rc;
    }
#undef FAMILY_MEMBER
    char allowed[400] = "";
    size_t a = 0;
    for (int k = 0; task_datasets[k] && a + 2 < sizeof allowed; k++)
        a += (size_t)snprintf(allowed + a, sizeof allowed - a, "%s%s", k ? ", " : "", task_datasets[k]);
    return intent_ask(c, "dataset.name: fedc cannot load \"%s\"; it trains on %s. Which one should it be?", ev,
                      allowed);
}

/* "the 20 superclasses", "100 fine classes": dataset.labels, and the
 * number before it is read when it is that label set's class count in the
 * catalog (cifar100: 20 coarse, 100 fine); another number stays unread and
 * is asked about. */
static int labels(intent_ctx *c, int i, const char *kind) {
    const fedc_catalog_entry *e = fedc_catalog_builtin("cifar100");
    int n = intent_num_before(c, i, 1);
    if (e && n >= 0 && c->it[n].num == (strcmp(kind, "coarse") ? e->n_classes : e->n_classes_coarse)) {
        intent_use(c, n);
        return intent_set_str(c, "dataset.labels", kind, RANK_WORDS, n, i, NULL);
    }
    return intent_set_str(c, "dataset.labels", kind, RANK_WORDS, i, i, NULL);
}

static const char *dataset_of(concept_id k) {
    switch (k) {
    case C_DS_FMNIST: return "fashion-mnist";
    case C_DS_MNIST: return "mnist";
    case C_DS_CIFAR10: return "cifar10";
    case C_DS_CSV: return "csv";
    default: return NULL;
    }
}

/* Level of a non-IID phrase from the modifier before it: 3 strong, 1 mild,
 * 2 plain or moderate. */
static int skew_level(intent_ctx *c, int i, int *mod) {
    *mod = -1;
    int p = intent_prev(c, i);
    if (p >= 0 && p >= i - 2) {
        if (intent_is(c, p, C_STRONG)) {
            *mod = p;
            return 3;
        }
        if (intent_is(c, p, C_MILD)) {
            *mod = p;
            return 1;
        }
        if (intent_is(c, p, C_MODERATE)) {
            *mod = p;
            return 2;
        }
    }
    return 2;
}

static int noniid(intent_ctx *c, int i) {
    int mod;
    int level = skew_level(c, i, &mod);
    /* "heterogeneous devices" is about hardware, not data */
    if (c->it[i].arg == 1) {
        int nx = intent_next(c, i);
        if (nx >= 0 && intent_is(c, nx, C_CLIENT)) {
            return intent_set_str(c, "scheduling.profile", "lognormal", RANK_WORDS, i, nx,
                                  "heterogeneous devices: compute and link speeds drawn per client");
        }
    }
    int start = intent_span_start(c, mod >= 0 ? mod : i), end = intent_span_end(c, i);
    intent_use(c, i);
    intent_use(c, mod);
    if (c->noniid_level && level != 2 && c->noniid_level != 2 && level != c->noniid_level) {
        char a[96], b[96];
        intent_evidence(c, c->noniid_start, c->noniid_end, a, sizeof a);
        intent_evidence(c, start, end, b, sizeof b);
        return intent_ask(c, "partition: \"%s\" and \"%s\" describe different amounts of skew. Which one did you mean?",
                          a, b);
    }
    if (!c->noniid_level || c->noniid_level == 2) {
        c->noniid_level = level;
        c->noniid_start = start;
        c->noniid_end = end;
    }
    return 0;
}

/* Whether "N classes" at item i is what each client holds ("3 classes per
 * client", "2 classes each", "non-IID with 2 labels"), not the data set's
 * class count ("images with 100 classes (cifar100)"), which no field takes. */
static int classes_per_client(const intent_ctx *c, int i) {
    for (int j = 0; j < c->nit; j++)
        if (intent_is(c, j, C_PATHOLOGICAL) || intent_is(c, j, C_SHARD) || intent_is(c, j, C_NONIID)) return 1;
    for (int j = i - 6; j <= i + 6; j++) {
        if (j < 0 || j >= c->nit || j == i) continue;
        if (!intent_same_sentence(c, i, j)) continue;
        if (intent_is(c, j, C_CLIENT) || intent_is(c, j, C_CLIENT_KEY)) return 1;
        if (c->it[j].kind == IT_WORD) {
            const char *w = c->tok[c->it[j].t0].text;
            if (!strcmp(w, "each") || !strcmp(w, "per") || !strcmp(w, "apiece") || !strcmp(w, "only") ||
                !strcmp(w, "just") || !strcmp(w, "every"))
                return 1;
        }
    }
    return 0;
}

int intent_rules_data(intent_ctx *c) {
    for (int i = 0; i < c->nit && !c->failed; i++) {
        int end;
        const char *cat;
        if (c->it[i].kind == IT_WORD && !c->it[i].used && !(c->it[i].wclass & W_KNOWN) &&
            (i == 0 || intent_span_end(c, i - 1) < intent_span_start(c, i)) &&
            (cat = catalog_chunk(c, intent_span_start(c, i), &end)) && set_dataset(c, i, end, cat) < 0)
            return -1;
    }
    for (int i = 0; i < c->nit && !c->failed; i++) {
        intent_item *it = &c->it[i];
        if (it->used || it->kind != IT_CONCEPT) {
            /* "N classes", "N shards" are counted below from the unit */
            continue;
        }
        const char *ds = dataset_of(it->concept);
        int end;
        const char *cat = (ds || it->concept == C_DS_UNSUPPORTED) ? catalog_chunk(c, intent_span_start(c, i), &end) : NULL;
        if (cat) {
            /* the catalog's own spelling, "EMNIST-ByClass" as one name */
            if (set_dataset(c, i, end, cat) < 0) return -1;
            continue;
        }
        if (ds) {
            intent_set_str(c, "dataset.name", ds, RANK_WORDS, i, i, NULL);
            continue;
        }
        int n;
        switch (it->concept) {
        case C_DS_UNSUPPORTED:
            if (other_dataset(c, i) < 0) return -1;
            break;
        case C_COARSE_LABELS:
            if (labels(c, i, "coarse") < 0) return -1;
            break;
        case C_FINE_LABELS:
            if (labels(c, i, "fine") < 0) return -1;
            break;
        case C_EXTRA_SPLIT: intent_set_bool(c, "dataset.extra", 1, RANK_WORDS, i, i, NULL); break;
        case C_NO_FETCH:
            intent_set_str(c, "dataset.fetch", "never", RANK_WORDS, i, i,
                           "nothing is downloaded: a missing data set stops the run, saying what to fetch");
            break;
        case C_NATURAL: intent_set_str(c, "partition.kind", "natural", RANK_WORDS, i, i, NULL); break;
        case C_IID: intent_set_str(c, "partition.kind", "iid", RANK_WORDS, i, i, NULL); break;
        case C_NONIID: noniid(c, i); break;
        case C_PATHOLOGICAL: {
            int nx = intent_next(c, i);
            if (nx >= 0 && intent_is(c, nx, C_NONIID)) intent_use(c, nx);
            intent_set_str(c, "partition.kind", "shards", RANK_WORDS, i, nx >= 0 && c->it[nx].used ? nx : i,
                           "the pathological non-IID split of McMahan et al.: each client holds "
                           "classes_per_client classes");
            break;
        }
        case C_QUANTITY: intent_set_str(c, "partition.kind", "quantity", RANK_WORDS, i, i, NULL); break;
        case C_DIRICHLET:
            intent_set_str(c, "partition.kind", "dirichlet", RANK_WORDS, i, i, NULL);
            if ((n = intent_num_after(c, i, 2)) >= 0) intent_set_real(c, "partition.alpha", c->it[n].num, RANK_WORDS, i, n, NULL);
            break;
        case C_ALPHA:
            if ((n = intent_num_after(c, i, 2)) < 0) break;
            intent_set_real(c, "partition.alpha", c->it[n].num, RANK_WORDS, i, n, NULL);
            intent_set_str(c, "partition.kind", "dirichlet", RANK_IMPLIED, i, n,
                           "alpha is the Dirichlet concentration");
            break;
        case C_SIGMA:
            if ((n = intent_num_after(c, i, 2)) < 0) break;
            intent_set_real(c, "partition.sigma", c->it[n].num, RANK_WORDS, i, n, NULL);
            intent_set_str(c, "partition.kind", "quantity", RANK_IMPLIED, i, n,
                           "sigma is the spread of client sizes in the quantity-skew split");
            break;
        case C_CLASS:
        case C_SHARD:
            if ((n = intent_num_before(c, i, 2)) >= 0 && (it->concept == C_SHARD || classes_per_client(c, i))) {
                intent_set_int(c, "partition.classes_per_client", n, RANK_WORDS, n, i, NULL);
                intent_set_str(c, "partition.kind", "shards", RANK_IMPLIED, n, i,
                               "a fixed number of classes per client is the shards split");
            } else if (it->concept == C_SHARD) {
                intent_set_str(c, "partition.kind", "shards", RANK_WORDS, i, i, NULL);
            }
            break;
        default: break;
        }
    }
    /* "images with 100 classes (cifar100)": the named data set's own class
     * count describes the data and sets nothing */
    const intent_slot *ds = intent_slot_find(c, "dataset.name");
    const fedc_catalog_entry *e = ds && json_is_string(ds->value) ? fedc_catalog_builtin(json_string_value(ds->value)) : NULL;
    for (int i = 0; e && i < c->nit && !c->failed; i++) {
        if (!intent_is(c, i, C_CLASS) || c->it[i].used) continue;
        int n = intent_num_before(c, i, 2);
        if (n < 0 || c->it[n].used || (c->it[n].num != e->n_classes && c->it[n].num != e->n_classes_coarse)) continue;
        intent_use(c, n);
        intent_use(c, i);
        char ev[96];
        intent_evidence(c, intent_span_start(c, n), intent_span_end(c, i), ev, sizeof ev);
        intent_note(c, "\"%s\" is the class count of %s, read as a description of the data", ev,
                    json_string_value(ds->value));
    }
    return c->failed ? -1 : 0;
}
