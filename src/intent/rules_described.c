/* A method's parameter described in prose by the words of its own
 * description in the task-spec field table, so a parameter added to the
 * spec later is understood without a vocabulary entry:
 *
 *   "FedLD, keep 70% of the principal directions"   strategy.top_fraction 0.7
 *     ("fedld only: share of the principal directions of the client updates ...")
 *   "FedSAM with a sharpness radius of 0.08"         strategy.rho 0.08
 *     ("fedsam and fedspeed: radius of the sharpness-aware perturbation ...")
 *   "fedamd with anchors 15% of the time"            strategy.anchor_prob 0.15
 *
 * Only a number no other rule read, only fields whose description names
 * their owners ("fedld only:", "adamp and sgdp:") and whose owner the
 * request chose (a value some field was set to), and only when the words
 * fit exactly one such field:
 *   (a) a share, "of the" and words:  "70% of the principal directions"
 *   (b) two or more words right before the number, or one rare word:
 *       "sharpness radius of 0.08"
 *   (c) a share beside a word that only one owned field's description
 *       uses, for a field that is itself a share or probability:
 *       "anchors 15% of the time", "half the sampled clients are anchors". */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fl/task/task_internal.h"
#include "intent/intent_internal.h"

#define DESC_WORD 32

/* Words of descriptions too common to tell fields apart. */
static int common_word(const char *w) {
    static const char *const words[] = {
        "the", "and", "only", "with", "from", "into", "than", "that", "this", "each", "every", "their", "when",
        "which", "what", "more", "less", "share", "fraction", "number", "count", "round", "rounds", "client",
        "clients", "model", "update", "updates", "local", "server", "value", "values", "default", "none", "time",
        "times", "step", "steps", "rate", "learning", "size", "used", "uses", "over", "after", "before", "between",
        "also", "same", "other", "there", "these", "those", "most", "least", "first", "last", "where", "then",
        "weight", "weights", "task", "keep", "kept", "keeps", "sent", "send", "sends", "setting", "makes", "make",
        "given", "plain", "half", "part", "all", "any", "its", "per", "are", "for", "not", "one", "two", "data",
        "sample", "samples", "sampled", "training", "trains", "train", NULL};
    for (int k = 0; words[k]; k++)
        if (!strcmp(w, words[k])) return 1;
    return 0;
}

/* Same word, ignoring a plural 's' ("anchors", "anchor"). */
static int same_word(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == 's') la--;
    if (lb && b[lb - 1] == 's') lb--;
    return la == lb && la >= 4 && !strncmp(a, b, la);
}

/* The description text after its owner prefix ("fedld only: "), and the
 * owners in owners[] (up to 3); 0 when the description names no owner. */
static int owners_of(const task_field *f, char owners[3][DESC_WORD], int *nown, const char **rest) {
    const char *d = f->description;
    const char *colon = d ? strchr(d, ':') : NULL;
    if (!colon || colon - d > 48) return 0;
    *nown = 0;
    const char *p = d;
    while (p < colon && *nown < 3) {
        while (p < colon && !isalnum((unsigned char)*p)) p++;
        const char *s = p;
        while (p < colon && (isalnum((unsigned char)*p) || *p == '-' || *p == '_')) p++;
        size_t n = (size_t)(p - s);
        if (!n || n >= DESC_WORD) continue;
        char w[DESC_WORD];
        memcpy(w, s, n);
        w[n] = '\0';
        if (!strcmp(w, "only") || !strcmp(w, "and") || !strcmp(w, "or")) continue;
        snprintf(owners[(*nown)++], DESC_WORD, "%s", w);
    }
    *rest = colon + 1;
    return *nown > 0;
}

/* Whether the request chose owner: some field was set to it by words. */
static int owner_chosen(const intent_ctx *c, const char *owner) {
    if (intent_names_strategy(c, owner)) return 1;
    for (int s = 0; s < c->nslot; s++)
        if (c->slot[s].rank >= RANK_IMPLIED && json_is_string(c->slot[s].value) &&
            !strcmp(json_string_value(c->slot[s].value), owner))
            return 1;
    return 0;
}

/* Whether the description text uses word w (a whole word, plural aside). */
static int desc_has(const char *text, const char *w) {
    const char *p = text;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p)) p++;
        const char *s = p;
        while (*p && isalnum((unsigned char)*p)) p++;
        size_t n = (size_t)(p - s);
        if (!n || n >= DESC_WORD) continue;
        char d[DESC_WORD];
        for (size_t k = 0; k < n; k++) d[k] = (char)tolower((unsigned char)s[k]);
        d[n] = '\0';
        if (same_word(d, w)) return 1;
    }
    return 0;
}

/* How many numeric fields' descriptions (owned or not; past the owner
 * prefix) use word w. */
static int fields_using(const char *w) {
    int n = 0;
    for (int f = 0; f < task_nfields; f++) {
        const task_field *tf = &task_fields[f];
        if ((tf->type != TASK_NUMBER && tf->type != TASK_INT) || !tf->description) continue;
        char owners[3][DESC_WORD];
        int nown;
        const char *rest = tf->description;
        if (!owners_of(tf, owners, &nown, &rest)) rest = tf->description;
        n += desc_has(rest, w);
    }
    return n;
}

/* Whether w is an allowed value of some field (a method's own name). */
static int choice_value(const char *w) {
    for (int f = 0; f < task_nfields; f++)
        for (int k = 0; task_fields[f].choices && task_fields[f].choices[k]; k++)
            if (!strcasecmp(task_fields[f].choices[k], w)) return 1;
    return 0;
}

/* The one numeric owned field, with a chosen owner, whose description uses
 * every word of ws; NULL if none or several. share: a field between 0 and 1. */
static const task_field *field_described(const intent_ctx *c, char ws[][DESC_WORD], int nw, int share,
                                         int need_owner) {
    const task_field *found = NULL;
    for (int f = 0; f < task_nfields; f++) {
        const task_field *tf = &task_fields[f];
        if (tf->type != TASK_NUMBER && tf->type != TASK_INT) continue;
        if (share && !(tf->min >= 0 && tf->max <= 1)) continue;
        char owners[3][DESC_WORD];
        int nown;
        const char *rest;
        if (!owners_of(tf, owners, &nown, &rest)) continue;
        int chosen = 0;
        for (int k = 0; k < nown; k++) chosen |= owner_chosen(c, owners[k]);
        if (!chosen && need_owner) continue;
        int all = 1;
        for (int k = 0; k < nw && all; k++) all = desc_has(rest, ws[k]);
        if (!all) continue;
        if (found) return NULL;
        found = tf;
    }
    return found;
}

/* A content word of item i (its first token, lowercased), or 0. */
static int content_word(const intent_ctx *c, int i, char out[DESC_WORD]) {
    if (i < 0 || i >= c->nit || c->it[i].used || c->it[i].t1 - c->it[i].t0 != 1) return 0;
    if (c->it[i].kind != IT_WORD && c->it[i].kind != IT_CONCEPT) return 0;
    const intent_tok *t = &c->tok[c->it[i].t0];
    const char *w = t->flags & TK_CORRECTED ? t->orig : t->text;
    size_t n = strlen(w);
    if (n < 4 || n >= DESC_WORD || common_word(w)) return 0;
    for (size_t k = 0; k < n; k++)
        if (!isalpha((unsigned char)w[k])) return 0;
    snprintf(out, DESC_WORD, "%s", w);
    return 1;
}

static int is_word(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && !strcmp(c->it[i].text, w);
}

static double share_value(const intent_item *it) {
    return it->flags & TK_PERCENT ? it->num / 100.0 : it->num;
}

static int set_field(intent_ctx *c, const task_field *f, int n, double v, int a, int b) {
    char why[120];
    intent_fmt(why, sizeof why, "described by the words of %s", f->path);
    if (f->type == TASK_INT) return intent_set_int(c, f->path, n, RANK_WORDS, a, b, why);
    return intent_set_real(c, f->path, v, RANK_WORDS, a, b, why);
}

/* The words describe a field of a method the request did not choose
 * ("keep 30% of the principal directions" without FedLD): asked, naming
 * the field and its owners. */
static int ask_owner(intent_ctx *c, const task_field *f, int a, int b) {
    char owners[3][DESC_WORD], ev[96], list[3 * DESC_WORD + 8] = "";
    int nown = 0;
    const char *rest;
    owners_of(f, owners, &nown, &rest);
    size_t o = 0;
    for (int k = 0; k < nown; k++)
        o += (size_t)snprintf(list + o, sizeof list > o ? sizeof list - o : 0, "%s%s", k ? " or " : "", owners[k]);
    intent_evidence(c, intent_span_start(c, a), intent_span_end(c, b), ev, sizeof ev);
    int rc = intent_ask_which(c, f->path, "%s: \"%s\" reads as %s, a setting of %s, which the request does not choose. "
                                          "Did you mean to use %s?",
                              f->path, ev, f->path, list, list);
    if (nown > 0) {
        char v[48], why[96];
        intent_fmt(v, sizeof v, "\"%s\"", owners[0]);
        intent_fmt(why, sizeof why, "%s is a setting of %s", f->path, owners[0]);
        const char *owner_path = "strategy.name";
        for (int f2 = 0; f2 < task_nfields; f2++)
            for (int k = 0; task_fields[f2].choices && task_fields[f2].choices[k]; k++)
                if (!strcmp(task_fields[f2].choices[k], owners[0])) owner_path = task_fields[f2].path;
        intent_reading(c, owner_path, v, why);
    }
    return rc;
}

static int ends_clause(const intent_ctx *c, int i) {
    return c->it[i].kind == IT_PUNCT && strchr(",;.!?\n", c->it[i].text[0]);
}

static int described(intent_ctx *c, int n) {
    const intent_item *it = &c->it[n];
    if (it->kind != IT_NUM || it->used || (it->flags & (TK_ORDINAL | TK_FACTOR))) return 0;
    int share = (it->flags & (TK_PERCENT | TK_FRACTION)) != 0;
    char ws[3][DESC_WORD];
    int nw = 0;
    /* (a) "70% of the principal directions" */
    if (share && is_word(c, n + 1, "of")) {
        int j = n + 2;
        while (is_word(c, j, "the") || is_word(c, j, "its") || is_word(c, j, "their") || is_word(c, j, "each")) j++;
        int last = -1;
        while (nw < 3 && content_word(c, j, ws[nw])) {
            last = j++;
            nw++;
        }
        const task_field *f = nw ? field_described(c, ws, nw, 1, 1) : NULL;
        if (f) {
            for (int k = n + 1; k <= last; k++) intent_use(c, k);
            return set_field(c, f, n, share_value(it), n, last) < 0 ? -1 : 1;
        }
        if (nw && (f = field_described(c, ws, nw, 1, 0))) return ask_owner(c, f, n, last);
    }
    /* (b) "a sharpness radius of 0.08" */
    nw = 0;
    int k = n - 1;
    while (k >= 0 && (is_word(c, k, "of") || is_word(c, k, "at") || is_word(c, k, "is") || is_word(c, k, "to") ||
                      is_word(c, k, "equal") ||
                      (c->it[k].kind == IT_PUNCT && strchr("=:", c->it[k].text[0]))))
        k--;
    int first = k + 1;
    char rev[3][DESC_WORD];
    while (nw < 3 && content_word(c, k, rev[nw])) {
        first = k--;
        nw++;
    }
    for (int m = 0; m < nw; m++) snprintf(ws[m], DESC_WORD, "%s", rev[nw - 1 - m]);
    if (nw >= 2 || (nw == 1 && strlen(ws[0]) >= 6 && fields_using(ws[0]) == 1 &&
                    !(intent_word_class(ws[0]) & W_KNOWN))) {
        const task_field *f = field_described(c, ws, nw, 0, 1);
        if (f && (!share || (f->min >= 0 && f->max <= 1))) {
            for (int m = first; m < n; m++) intent_use(c, m);
            return set_field(c, f, n, share ? share_value(it) : it->num, first, n) < 0 ? -1 : 1;
        }
        if (!f && nw >= 2 && (f = field_described(c, ws, nw, 0, 0))) return ask_owner(c, f, first, n);
    }
    /* (c) "anchors 15% of the time": a share beside a word only one field's
     * description uses */
    if (!share) return 0;
    int lo = n, hi = n;
    while (lo > 0 && !ends_clause(c, lo - 1)) lo--;
    while (hi + 1 < c->nit && !ends_clause(c, hi + 1)) hi++;
    const task_field *found = NULL;
    int at = -1;
    for (int j = lo; j <= hi; j++) {
        char w[1][DESC_WORD];
        if (j == n || !content_word(c, j, w[0]) || fields_using(w[0]) != 1) continue;
        const task_field *f = field_described(c, w, 1, 1, 1);
        if (!f) continue;
        if (found && found != f) return 0;
        found = f;
        at = j;
    }
    if (!found) return 0;
    /* another number in the clause could be the one meant */
    for (int j = lo; j <= hi; j++)
        if (j != n && c->it[j].kind == IT_NUM && !c->it[j].used) return 0;
    intent_use(c, at);
    if (is_word(c, n + 1, "of") && is_word(c, n + 2, "the") && is_word(c, n + 3, "time")) {
        for (int j = n + 1; j <= n + 3; j++) intent_use(c, j);
    }
    return set_field(c, found, n, share_value(it), at < n ? at : n, at < n ? n : at) < 0 ? -1 : 1;
}

/* "a hypergradient step size of 0.5" beside FedHyper: a keyword that
 * takes a number ("step size", the clients' learning rate) qualified by a
 * word the vocabulary does not know and that only one numeric field's
 * description uses, of a method the request chose, names that field. Runs
 * before the number rules, which would give the number to the keyword. */
static int qualified_keyword(intent_ctx *c, int k) {
    const intent_item *it = &c->it[k];
    if (it->kind != IT_CONCEPT || it->used || k == 0) return 0;
    int q = k - 1;
    char w[1][DESC_WORD];
    if (!content_word(c, q, w[0]) || strlen(w[0]) < 6 || choice_value(w[0]) || fields_using(w[0]) != 1) return 0;
    int n = intent_num_after(c, k, 2);
    if (n < 0 || (c->it[n].flags & (TK_ORDINAL | TK_FACTOR))) return 0;
    const task_field *f = field_described(c, w, 1, 0, 1);
    if (!f) return 0;
    intent_use(c, k);
    for (int j = k + 1; j < n; j++) intent_use(c, j);
    const intent_item *num = &c->it[n];
    /* the qualifier may also name the method ("hypergradient" is FedHyper):
     * it stays for the method rules */
    int was = c->it[q].used;
    int rc = set_field(c, f, n, num->flags & TK_PERCENT ? num->num / 100.0 : num->num, q, n);
    if (c->it[q].kind == IT_CONCEPT) c->it[q].used = was;
    return rc < 0 ? -1 : 1;
}

int intent_rules_described_early(intent_ctx *c) {
    for (int k = 1; k < c->nit && !c->failed; k++)
        if (qualified_keyword(c, k) < 0) return -1;
    return c->failed ? -1 : 0;
}

/* The last word of a field's path ("level" of strategy.hyper_level). */
static const char *path_last_word(const char *path) {
    const char *p = strrchr(path, '.');
    p = p ? p + 1 : path;
    const char *u = strrchr(p, '_');
    return u ? u + 1 : p;
}

/* "FedHyper at the local level", "the global level": an allowed value of a
 * choice field followed by the last word of that field's name sets it,
 * when exactly one field of a chosen owner (or of no owner) fits. */
static int value_then_field_word(intent_ctx *c, int i) {
    if (i + 1 >= c->nit || c->it[i + 1].used || c->it[i + 1].t1 - c->it[i + 1].t0 != 1 || c->it[i + 1].kind != IT_WORD)
        return 0;
    if (c->it[i].kind != IT_WORD && c->it[i].kind != IT_CONCEPT) return 0;
    /* the value is the last word of its item ("at the server" level) */
    const char *v = c->tok[c->it[i].t1 - 1].text, *w = c->tok[c->it[i + 1].t0].text;
    const task_field *found = NULL;
    const char *value = NULL;
    for (int f = 0; f < task_nfields; f++) {
        const task_field *tf = &task_fields[f];
        if (!tf->choices || !same_word(path_last_word(tf->path), w)) continue;
        char owners[3][DESC_WORD];
        int nown;
        const char *rest;
        if (owners_of(tf, owners, &nown, &rest)) {
            int chosen = 0;
            for (int k = 0; k < nown; k++) chosen |= owner_chosen(c, owners[k]);
            if (!chosen) continue;
        }
        for (int k = 0; tf->choices[k]; k++)
            if (!strcasecmp(tf->choices[k], v)) {
                if (found && found != tf) return 0;
                found = tf;
                value = tf->choices[k];
            }
    }
    if (!found || intent_slot_find(c, found->path)) return 0;
    char why[120];
    intent_fmt(why, sizeof why, "\"%s\" names a value of %s", w, found->path);
    return intent_set_str(c, found->path, value, RANK_WORDS, i, i + 1, why) < 0 ? -1 : 1;
}

/* "Initialise the weights the way PyTorch does by default", "draw the
 * initial model the PyTorch way": a sentence about initialisation that
 * names a framework containing an allowed value of init ("pytorch" holds
 * "torch") chooses it. */
static int init_named(intent_ctx *c) {
    const task_field *f = task_field_find("init");
    if (!f || !f->choices || intent_slot_find(c, "init")) return 0;
    for (int i = 0; i < c->nit; i++) {
        if (c->it[i].kind != IT_WORD || c->it[i].used) continue;
        const char *w = c->tok[c->it[i].t0].text;
        const char *value = NULL;
        int nv = 0;
        for (int k = 0; f->choices[k]; k++)
            if (strlen(f->choices[k]) >= 4 && strstr(w, f->choices[k])) {
                value = f->choices[k];
                nv++;
            }
        if (nv != 1) continue;
        int lo = i, hi = i, about = 0;
        while (lo > 0 && !(c->it[lo - 1].kind == IT_PUNCT && strchr(".;!?\n", c->it[lo - 1].text[0]))) lo--;
        while (hi + 1 < c->nit && !(c->it[hi + 1].kind == IT_PUNCT && strchr(".;!?\n", c->it[hi + 1].text[0]))) hi++;
        for (int j = lo; j <= hi && !about; j++)
            about = c->it[j].kind == IT_WORD && !strncmp(c->tok[c->it[j].t0].text, "init", 4);
        if (!about) continue;
        char why[120];
        intent_fmt(why, sizeof why, "\"%s\" in a sentence about initialisation: init %s", w, value);
        return intent_set_str(c, "init", value, RANK_WORDS, i, i, why) < 0 ? -1 : 1;
    }
    return 0;
}

/* Damerau-Levenshtein distance of a and b is exactly 1 (any edit). */
static int one_edit(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la == lb) {
        size_t i = 0;
        while (i < la && a[i] == b[i]) i++;
        if (i == la) return 0;
        if (!strcmp(a + i + 1, b + i + 1)) return 1;
        return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && !strcmp(a + i + 2, b + i + 2);
    }
    if (la + 1 == lb) return one_edit(b, a);
    if (la != lb + 1) return 0;
    size_t i = 0;
    while (i < lb && a[i] == b[i]) i++;
    return !strcmp(a + i + 1, b + i);
}

/* "svhm, 25 clients": a word the vocabulary does not know, one edit from a
 * data set the catalog names, in a request that names no data set, is
 * asked about (the typo repair leaves short words alone, and training on
 * the default data instead would be a silent misreading). */
static int dataset_near_miss(intent_ctx *c) {
    const task_field *f = task_field_find("dataset.name");
    if (!f || !f->choices || intent_slot_find(c, "dataset.name")) return 0;
    for (int i = 0; i < c->nit; i++) {
        const intent_item *it = &c->it[i];
        if (it->used || it->kind != IT_WORD || (it->wclass & W_KNOWN) || it->t1 - it->t0 != 1) continue;
        const char *w = c->tok[it->t0].text;
        if (strlen(w) < 4) continue;
        for (int k = 0; f->choices[k]; k++) {
            if (strlen(f->choices[k]) < 4 || !one_edit(w, f->choices[k])) continue;
            char ev[96], v[64];
            intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), ev, sizeof ev);
            int rc = intent_ask_which(c, "dataset.name", "dataset.name: is \"%s\" the data set %s? Please say which.",
                                      ev, f->choices[k]);
            intent_fmt(v, sizeof v, "\"%s\"", f->choices[k]);
            intent_reading(c, "dataset.name", v, "the catalog data set one letter away");
            return rc;
        }
    }
    return 0;
}

int intent_rules_described(intent_ctx *c) {
    if (init_named(c) < 0 || dataset_near_miss(c) < 0) return -1;
    for (int n = 0; n < c->nit && !c->failed; n++)
        if (described(c, n) < 0) return -1;
    for (int i = 0; i < c->nit && !c->failed; i++)
        if (value_then_field_word(c, i) < 0) return -1;
    return c->failed ? -1 : 0;
}
