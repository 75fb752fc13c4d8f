/* Typed setters used by the rules: they turn an item into a JSON value for
 * a field and record the words it came from. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "intent/intent_internal.h"

void intent_items_span(const intent_ctx *c, int a, int b, int *start, int *end) {
    int s = -1, e = -1;
    int idx[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        int i = idx[k];
        if (i < 0 || i >= c->nit) continue;
        int is = intent_span_start(c, i), ie = intent_span_end(c, i);
        if (s < 0 || is < s) s = is;
        if (e < 0 || ie > e) e = ie;
    }
    *start = s < 0 ? 0 : s;
    *end = e < 0 ? 0 : e;
}

int intent_set_str(intent_ctx *c, const char *path, const char *v, slot_rank rank, int a, int b,
                   const char *why) {
    int s, e;
    intent_items_span(c, a, b, &s, &e);
    intent_use(c, a);
    intent_use(c, b);
    return intent_set(c, path, json_string(v), rank, s, e, why);
}

int intent_set_bool(intent_ctx *c, const char *path, int v, slot_rank rank, int a, int b, const char *why) {
    int s, e;
    intent_items_span(c, a, b, &s, &e);
    intent_use(c, a);
    intent_use(c, b);
    return intent_set(c, path, json_boolean(v), rank, s, e, why);
}

int intent_set_real(intent_ctx *c, const char *path, double v, slot_rank rank, int a, int b,
                    const char *why) {
    int s, e;
    intent_items_span(c, a, b, &s, &e);
    intent_use(c, a);
    intent_use(c, b);
    if (!isfinite(v)) return intent_ask(c, "%s: the number is too large to use", path);
    return intent_set(c, path, json_real(v), rank, s, e, why);
}

int intent_set_int(intent_ctx *c, const char *path, int num_item, slot_rank rank, int a, int b,
                   const char *why) {
    const intent_item *n = &c->it[num_item];
    int s, e;
    intent_items_span(c, a, b, &s, &e);
    char ev[96];
    intent_evidence(c, s, e, ev, sizeof ev);
    intent_use(c, a);
    intent_use(c, b);
    intent_use(c, num_item);
    if (n->flags & (TK_PERCENT | TK_FRACTION))
        return intent_ask(c, "%s: \"%s\" is a share, but %s is a count. How many did you mean?", path, ev, path);
    if (n->num != floor(n->num))
        return intent_ask(c, "%s: \"%s\" is not a whole number; %s counts whole units. Which number did you mean?",
                          path, ev, path);
    /* out-of-range values go to the validator, which names the allowed range */
    double v = n->num;
    if (v > 1e15) v = 1e15;
    if (v < -1e15) v = -1e15;
    return intent_set(c, path, json_integer((json_int_t)v), rank, s, e, why);
}

void intent_fmt(char *dst, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

int intent_set_cpr_share(intent_ctx *c, double f, int a, int b) {
    int s, e;
    intent_items_span(c, a, b, &s, &e);
    intent_use(c, a);
    intent_use(c, b);
    if (c->cpr_frac_set && c->cpr_frac != f) {
        char x[96], y[96];
        intent_evidence(c, c->cpr_frac_start, c->cpr_frac_end, x, sizeof x);
        intent_evidence(c, s, e, y, sizeof y);
        return intent_ask(c, "clients_per_round: \"%s\" and \"%s\" ask for different shares. Which one?", x, y);
    }
    c->cpr_frac_set = 1;
    c->cpr_frac = f;
    c->cpr_frac_start = s;
    c->cpr_frac_end = e;
    return 1;
}

int intent_set_cpr_all(intent_ctx *c, int a, int b) {
    int s, e;
    intent_items_span(c, a, b, &s, &e);
    intent_use(c, a);
    intent_use(c, b);
    c->cpr_all = 1;
    c->cpr_all_start = s;
    c->cpr_all_end = e;
    return 1;
}
