/* Rules whose value is text copied from the request: the run name ("call
 * it cnn-sweep-3"), the CSV label column ("label column 'activity'"),
 * file paths (training data, test data, device trace) and compact model
 * specs written out ("conv:16:5,pool:2,dense:10"). The value keeps its
 * original spelling; the validator checks it. */
#include <ctype.h>
#include <string.h>

#include "intent/intent_internal.h"

/* Words that may stand between "call"/"name" and the name itself. */
static int name_filler(const intent_item *it) {
    static const char *const words[] = {"it", "this", "the", "run", "task", "experiment", "job", "as",
                                        "is", "be", "should", "will", "a", "an", "named", "called", NULL};
    if (it->kind == IT_PUNCT) return it->text[0] == ':' || it->text[0] == '=';
    if (it->kind != IT_WORD) return 0;
    for (int k = 0; words[k]; k++)
        if (strcmp(it->text, words[k]) == 0) return 1;
    return 0;
}

static int is_quote(unsigned char ch) {
    return ch == '"' || ch == '\'' || ch == '`';
}

/* Copies the value that starts at byte pos: a quoted string, or the next
 * whitespace-delimited chunk without sentence punctuation. Returns its end
 * in the request (0 if there is none). */
static int raw_value(const intent_ctx *c, int pos, char *out, size_t cap) {
    int len = (int)c->len, b = pos, e;
    const char *s = c->text;
    /* curly quotes are three bytes */
    int q3 = b + 2 < len && (unsigned char)s[b] == 0xE2 && (unsigned char)s[b + 1] == 0x80 &&
             ((unsigned char)s[b + 2] == 0x98 || (unsigned char)s[b + 2] == 0x9C);
    if (b < len && (is_quote((unsigned char)s[b]) || q3)) {
        int open = q3 ? 3 : 1;
        b += open;
        e = b;
        while (e < len && !is_quote((unsigned char)s[e]) && (unsigned char)s[e] != 0xE2) e++;
        if (e >= len || e - b > 256) return 0;
        int end = e + ((unsigned char)s[e] == 0xE2 ? 3 : 1);
        snprintf(out, cap, "%.*s", e - b, s + b);
        return end > len ? len : end;
    }
    e = b;
    while (e < len && !isspace((unsigned char)s[e])) e++;
    int end = e;
    while (e > b && strchr(",;:)]}\"'`!?.", s[e - 1])) e--;
    if (e <= b) return 0;
    snprintf(out, cap, "%.*s", e - b, s + b);
    return end;
}

/* Marks every item lying inside [start, end) of the request used. */
static int use_span(intent_ctx *c, int start, int end) {
    int last = -1;
    for (int i = 0; i < c->nit; i++)
        if (intent_span_start(c, i) >= start && intent_span_end(c, i) <= end) {
            c->it[i].used = 1;
            c->it[i].raw = 1;
            last = i;
        }
    return last;
}

/* Whether the whitespace-delimited chunk at item j is exactly that item
 * (so "run" is a filler but "run-228" is a name). */
static int whole_chunk(const intent_ctx *c, int j) {
    int e = intent_span_end(c, j);
    return e >= (int)c->len || isspace((unsigned char)c->text[e]) || strchr(",;:", c->text[e]);
}

/* "<keyword> [fillers] VALUE" -> path = VALUE (original spelling). */
static int text_after(intent_ctx *c, int i, const char *path, int need_alnum) {
    int j = i + 1;
    while (j < c->nit && name_filler(&c->it[j]) && whole_chunk(c, j)) j++;
    if (j >= c->nit) return 0;
    /* a quote mark may open the value */
    int pos = intent_span_start(c, j);
    if (c->it[j].kind == IT_PUNCT && c->it[j].text[0] == '"') pos = intent_span_start(c, j);
    /* "name teh run 'mnist-iid'": a quoted value a word or two further on is
     * the value; the words before it are fillers this list lacks (a typo) */
    if (!is_quote((unsigned char)c->text[pos])) {
        int q = pos, words = 0;
        while (q < (int)c->len && q < pos + 24 && words <= 2 && !is_quote((unsigned char)c->text[q]) &&
               (isalpha((unsigned char)c->text[q]) || c->text[q] == ' ')) {
            if (c->text[q] == ' ' && q > pos && c->text[q - 1] != ' ') words++;
            q++;
        }
        if (q < (int)c->len && is_quote((unsigned char)c->text[q]) && q > pos && c->text[q - 1] == ' ' && words <= 2)
            pos = q;
    }
    char v[300];
    int end = raw_value(c, pos, v, sizeof v);
    if (!end) return 0;
    if (need_alnum) {
        int ok = 0;
        for (const char *p = v; *p; p++) ok |= isalnum((unsigned char)*p);
        if (!ok) return 0;
    }
    int last = use_span(c, pos, end);
    for (int k = i; k < j; k++) intent_use(c, k);
    int s = intent_span_start(c, i);
    return intent_set(c, path, json_string(v), RANK_WORDS, s, end, NULL) < 0 ? -1 : (last >= 0);
}

static int contains_nocase(const char *s, const char *w) {
    size_t n = strlen(w);
    for (; *s; s++) {
        size_t k = 0;
        while (k < n && s[k] && tolower((unsigned char)s[k]) == w[k]) k++;
        if (k == n) return 1;
    }
    return 0;
}

static int path_item(intent_ctx *c, int i) {
    char v[520];
    int s = intent_span_start(c, i), e = intent_span_end(c, i);
    snprintf(v, sizeof v, "%.*s", e - s, c->text + s);
    size_t n = strlen(v);
    int csv = n > 4 && strcasecmp(v + n - 4, ".csv") == 0;
    int json = n > 5 && strcasecmp(v + n - 5, ".json") == 0;
    if (json) return 0; /* a task file is not a request: left as not understood */
    /* what the words just before the path say it is */
    int trace = -1, test = -1;
    for (int j = i - 1, d = 0; j >= 0 && d < 6; j--) {
        if (c->it[j].kind == IT_PUNCT && strchr(".;!?", c->it[j].text[0])) break;
        if (c->it[j].kind == IT_PATH) break;
        if (c->it[j].kind == IT_WORD && (c->it[j].wclass & W_STOP)) continue;
        d++;
        if (trace < 0 && (intent_is(c, j, C_TRACE) || intent_is(c, j, C_PROF_LOGNORMAL))) trace = j;
        if (test < 0 && intent_is(c, j, C_TEST_FILE)) test = j;
    }
    /* "spill the rest to /data/spill": where per-client state goes */
    for (int j = i - 1, d = 0; j >= 0 && d < 6; j--, d++) {
        if (c->it[j].kind == IT_PUNCT && strchr(".;!?", c->it[j].text[0])) break;
        if (c->it[j].kind == IT_WORD && !strncmp(c->tok[c->it[j].t0].text, "spill", 5)) {
            intent_use(c, j);
            return intent_set_str(c, "state.spill_dir", v, RANK_WORDS, j, i, NULL);
        }
    }
    /* the file's own name: ".../test.csv" is the test split, ".../train.csv"
     * the training split, whatever words stand before them */
    const char *base = strrchr(v, '/');
    base = base ? base + 1 : v;
    if (csv && trace < 0 && contains_nocase(base, "train")) test = -1;
    else if (csv && trace < 0 && contains_nocase(base, "test") && test < 0) test = i;
    if (trace >= 0 && (test < 0 || trace > test)) {
        intent_use(c, trace);
        return intent_set_str(c, "scheduling.profile", v, RANK_WORDS, trace, i, NULL);
    }
    if (test >= 0) {
        intent_use(c, test);
        if (intent_set_str(c, "dataset.test_path", v, RANK_WORDS, test, i, NULL) < 0) return -1;
        return intent_set_str(c, "dataset.name", "csv", RANK_IMPLIED, test, i,
                              "a test file is a CSV dataset setting");
    }
    if (intent_set_str(c, "dataset.path", v, RANK_WORDS, i, i, NULL) < 0) return -1;
    if (csv)
        return intent_set_str(c, "dataset.name", "csv", RANK_IMPLIED, i, i,
                              "a .csv training file means the csv dataset");
    return 0;
}

int intent_rules_text(intent_ctx *c) {
    for (int i = 0; i < c->nit; i++) {
        intent_item *it = &c->it[i];
        if (it->used) continue;
        if (intent_is(c, i, C_NAME_KW)) {
            if (text_after(c, i, "name", 1) < 0) return -1;
        } else if (intent_is(c, i, C_LABEL_COLUMN)) {
            if (text_after(c, i, "dataset.label_column", 1) < 0) return -1;
            if (c->it[i].used &&
                intent_set_str(c, "dataset.name", "csv", RANK_IMPLIED, i, i, "a label column is a CSV setting") < 0)
                return -1;
        } else if (it->kind == IT_PATH) {
            if (path_item(c, i) < 0) return -1;
        } else if (it->kind == IT_SPEC && (it->flags & TK_ARCH)) {
            /* "conv:16:3, pool:2, dense:10", "dense:64 then dense:2": layers
             * written apart are one spec, in the order given */
            char v[1100];
            size_t o = 0;
            int last = i;
            for (int j = i; j < c->nit && o + 2 < sizeof v;) {
                int s = intent_span_start(c, j), e = intent_span_end(c, j);
                o += (size_t)snprintf(v + o, sizeof v - o, "%s%.*s", o ? "," : "", e - s, c->text + s);
                last = j;
                int k = j + 1;
                while (k < c->nit && k <= j + 3 &&
                       ((c->it[k].kind == IT_PUNCT && strchr(",>-", c->it[k].text[0])) ||
                        (c->it[k].kind == IT_WORD && (!strcmp(c->it[k].text, "then") || !strcmp(c->it[k].text, "and") ||
                                                      !strcmp(c->it[k].text, "followed") || !strcmp(c->it[k].text, "by")))))
                    k++;
                if (k >= c->nit || k == j + 1 || c->it[k].kind != IT_SPEC || !(c->it[k].flags & TK_ARCH)) break;
                j = k;
            }
            if (o >= sizeof v) o = sizeof v - 1;
            for (char *p = v; *p; p++) *p = (char)tolower((unsigned char)*p);
            for (int k = i; k <= last; k++) intent_use(c, k);
            if (intent_set_str(c, "model", v, RANK_WORDS, i, last, NULL) < 0) return -1;
            i = last;
        }
    }
    return c->failed ? -1 : 0;
}
