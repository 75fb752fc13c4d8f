/* Model rules: a family (MLP, CNN, linear) with an optional size ("small",
 * "bigger"), or an MLP with its hidden layers spelled out ("two hidden
 * layers of 300 units"). Sizes map to fixed specs (table below, printed in
 * docs/intent.md); every spec ends in dense:10, the class count of
 * fashion-mnist, mnist and cifar10. */
#include <stdio.h>
#include <string.h>

#include "intent/intent_internal.h"

enum { FAM_NONE = 0, FAM_MLP, FAM_CNN, FAM_LINEAR };
enum { SIZE_ANY = 0, SIZE_SMALL, SIZE_STANDARD, SIZE_LARGE };

/* family x size -> spec. The standard sizes are the presets of nn.h. */
static const char *spec_for(int fam, int size) {
    static const char *const mlp[] = {"mlp", "dense:100,dense:10", "mlp", "dense:512,dense:512,dense:10"};
    static const char *const cnn[] = {"cnn", "conv:16:5,pool:2,conv:32:5,pool:2,dense:128,dense:10", "cnn",
                                      "conv:32:3,conv:32:3,pool:2,conv:64:3,conv:64:3,pool:2,dense:512,dense:10"};
    if (fam == FAM_LINEAR) return "dense:10";
    return fam == FAM_CNN ? cnn[size] : mlp[size];
}

static int family_of(concept_id k) {
    return k == C_MLP ? FAM_MLP : k == C_CNN ? FAM_CNN : k == C_LINEAR ? FAM_LINEAR : FAM_NONE;
}

/* Size word just before item i ("small CNN", "a bigger network"). */
static int size_before(intent_ctx *c, int i, int *mod) {
    *mod = -1;
    for (int j = i - 1; j >= 0 && j >= i - 3; j--) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_WORD && (it->wclass & W_FILL)) continue;
        if (intent_is(c, j, C_SMALL)) { *mod = j; return SIZE_SMALL; }
        if (intent_is(c, j, C_LARGE)) { *mod = j; return SIZE_LARGE; }
        if (intent_is(c, j, C_STANDARD)) { *mod = j; return SIZE_STANDARD; }
        /* "large fully connected": another family or size in between ends the search */
        break;
    }
    return SIZE_ANY;
}

/* Hidden layers: "[N] hidden layers of W [and W2 ...] [units]" or "W hidden
 * units". Fills widths; returns how many, 0 if the item gives none. */
static int hidden_layers(intent_ctx *c, int i, int *widths, int max, int *first, int *last) {
    int count = 0, nw = 0;
    *first = *last = i;
    int nb = intent_num_before(c, i, 1);
    if (c->it[i].arg == 1) { /* "300 hidden units": the number is the width */
        if (nb < 0 || !(c->it[nb].num >= 1 && c->it[nb].num <= 100000)) return 0;
        widths[nw++] = (int)c->it[nb].num;
        *first = nb;
        intent_use(c, nb);
        return nw;
    }
    if (nb >= 0 && !(c->it[nb].flags & (TK_PERCENT | TK_FRACTION)) && c->it[nb].num >= 1 && c->it[nb].num <= 16) {
        count = (int)c->it[nb].num;
        *first = nb;
    }
    int j = i + 1;
    while (j < c->nit && nw < max) {
        const intent_item *it = &c->it[j];
        int nx = j + 1;
        int owned = nx < c->nit && c->it[nx].kind == IT_CONCEPT && !intent_is(c, nx, C_UNIT);
        if (it->kind == IT_NUM && !it->used && !(it->flags & (TK_PERCENT | TK_FRACTION)) && it->num >= 1 &&
            it->num <= 100000 && !owned) {
            widths[nw++] = (int)it->num;
            *last = j;
            j++;
            continue;
        }
        if (intent_is(c, j, C_UNIT) || (it->kind == IT_WORD && (it->wclass & W_FILL)) ||
            (it->kind == IT_WORD && (!strcmp(it->text, "and") || !strcmp(it->text, "each"))) ||
            (it->kind == IT_PUNCT && it->text[0] == ',' && j + 2 < c->nit && c->it[j + 1].kind == IT_NUM &&
             (nw > 0 || intent_is(c, j + 2, C_UNIT)))) {
            if (intent_is(c, j, C_UNIT)) *last = j;
            j++;
            continue;
        }
        break;
    }
    if (nw == 0) return 0;
    if (count > 0 && nw == 1)
        for (; nw < count && nw < max; nw++) widths[nw] = widths[0];
    else if (count > 0 && count != nw)
        return -1;
    if (count > 0) intent_use(c, nb);
    for (int k = i + 1; k <= *last; k++) intent_use(c, k);
    return nw;
}

int intent_rules_model(intent_ctx *c) {
    int fam = FAM_NONE, fam_item = -1, size = SIZE_ANY, size_item = -1;
    int generic_size = SIZE_ANY, generic_item = -1;
    int widths[16], nw = 0, h_first = -1, h_last = -1;
    for (int i = 0; i < c->nit && !c->failed; i++) {
        if (c->it[i].used || c->it[i].kind != IT_CONCEPT) continue;
        int f = family_of(c->it[i].concept);
        int mod;
        if (f && intent_in_rejected_span(c, intent_span_start(c, i))) {
            intent_use(c, i); /* "the CNN rather than the MLP": turned down */
            continue;
        }
        if (f) {
            int s = size_before(c, i, &mod);
            if (fam && fam != f) {
                char a[96], b[96];
                intent_evidence(c, intent_span_start(c, fam_item), intent_span_end(c, fam_item), a, sizeof a);
                intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), b, sizeof b);
                return intent_ask(c, "model: \"%s\" and \"%s\" name two different models. Which one should it be?", a, b);
            }
            if (s != SIZE_ANY && size != SIZE_ANY && s != size)
                return intent_ask(c, "model: two different sizes are asked for. Which size should the model be?");
            fam = f;
            fam_item = i;
            intent_use(c, i);
            if (s != SIZE_ANY) {
                size = s;
                size_item = mod;
                intent_use(c, mod);
            }
        } else if (intent_is(c, i, C_MODEL)) {
            int s = size_before(c, i, &mod);
            if (s != SIZE_ANY) {
                if (generic_size != SIZE_ANY && generic_size != s)
                    return intent_ask(c, "model: two different sizes are asked for. Which size should the model be?");
                generic_size = s;
                generic_item = mod;
                intent_use(c, mod);
                intent_use(c, i);
            }
        } else if (intent_is(c, i, C_HIDDEN) && nw == 0) {
            int first, last;
            int k = hidden_layers(c, i, widths, 15, &first, &last);
            if (k < 0)
                return intent_ask(c, "model: the number of hidden layers and the widths given do not match. "
                                     "How many layers, and how wide?");
            if (k > 0) {
                nw = k;
                h_first = first;
                h_last = last;
                intent_use(c, i);
            }
        }
    }
    if (c->failed) return -1;
    if (generic_size != SIZE_ANY) {
        if (size != SIZE_ANY && size != generic_size)
            return intent_ask(c, "model: two different sizes are asked for. Which size should the model be?");
        if (size == SIZE_ANY) {
            size = generic_size;
            size_item = generic_item;
        }
    }
    if (nw > 0) {
        if (fam == FAM_CNN || fam == FAM_LINEAR)
            return intent_ask(c, "model: hidden layer widths describe an MLP, but a %s is asked for. Which one?",
                              fam == FAM_CNN ? "CNN" : "linear model");
        char spec[1024];
        size_t o = 0;
        for (int k = 0; k < nw && o < sizeof spec - 32; k++) o += (size_t)snprintf(spec + o, sizeof spec - o, "dense:%d,", widths[k]);
        snprintf(spec + o, sizeof spec - o, "dense:10");
        if (size != SIZE_ANY) intent_note(c, "the hidden layers given define the MLP; the size word was not needed");
        return intent_set_str(c, "model", spec, RANK_WORDS, fam_item >= 0 && fam_item < h_first ? fam_item : h_first,
                              h_last, NULL);
    }
    if (fam == FAM_NONE && size == SIZE_ANY) return 0;
    int start_item = size_item >= 0 && (fam_item < 0 || size_item < fam_item) ? size_item : fam_item;
    int end_item = fam_item >= 0 ? fam_item : size_item;
    if (fam == FAM_NONE) {
        /* "a small model": the default family (the MLP) at that size */
        return intent_set_str(c, "model", spec_for(FAM_MLP, size), RANK_IMPLIED, start_item, end_item,
                              "no model family named: the default MLP at the size asked for");
    }
    char why[160] = "";
    if (fam != FAM_LINEAR && size == SIZE_SMALL) snprintf(why, sizeof why, "the small %s of docs/intent.md", fam == FAM_CNN ? "CNN" : "MLP");
    if (fam != FAM_LINEAR && size == SIZE_LARGE) snprintf(why, sizeof why, "the large %s of docs/intent.md", fam == FAM_CNN ? "CNN" : "MLP");
    return intent_set_str(c, "model", spec_for(fam, size), RANK_WORDS, start_item, end_item, why[0] ? why : NULL);
}
