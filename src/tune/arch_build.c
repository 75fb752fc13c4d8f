/* Architecture knobs (arch.*) -> a compact model spec (nn.h). The model is
 * rebuilt in one of two standard forms:
 *   MLP: dense:W1,...,dense:Wd,dense:NCLASSES
 *   CNN: conv:C1:K,pool:2,...,conv:Cn:K,pool:2[,dense:D],dense:NCLASSES
 * Knobs not in the configuration keep the base model's values (its family,
 * widths, channels, kernel), so a space may search only some of them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

#define MAX_HIDDEN 8
#define MAX_CONVS 4

typedef struct knob {
    const char *name;
    int lo, hi;
} knob;

/* Numeric knobs and their ranges; "arch.family" is the one string knob. */
static const knob k_knobs[] = {
    {"arch.depth", 0, MAX_HIDDEN},    {"arch.width", 1, 8192},  {"arch.width1", 1, 8192},
    {"arch.width2", 1, 8192},         {"arch.width3", 1, 8192}, {"arch.width4", 1, 8192},
    {"arch.convs", 1, MAX_CONVS},     {"arch.channels", 1, 1024}, {"arch.conv1", 1, 1024},
    {"arch.conv2", 1, 1024},          {"arch.conv3", 1, 1024},  {"arch.conv4", 1, 1024},
    {"arch.kernel", 1, 15},           {"arch.dense", 0, 8192},
};
#define N_KNOBS (int)(sizeof k_knobs / sizeof k_knobs[0])

int tune_arch_known(const char *name) {
    if (!strcmp(name, "arch.family")) return 1;
    for (int i = 0; i < N_KNOBS; i++)
        if (!strcmp(name, k_knobs[i].name)) return 1;
    return 0;
}

const char *tune_arch_knob_list(void) {
    return "arch.family (\"mlp\"|\"cnn\"), arch.depth, arch.width, arch.width1..4, arch.convs, "
           "arch.channels, arch.conv1..4, arch.kernel, arch.dense";
}

/* What the base model says. */
typedef struct base_model {
    int cnn;
    int nhidden, hidden[MAX_HIDDEN]; /* MLP hidden widths, or CNN dense widths */
    int nconv, conv[MAX_CONVS], kernel[MAX_CONVS];
    int out;                         /* last dense width; 0 = unknown (preset) */
} base_info;

static void read_base(const char *spec, base_info *b) {
    memset(b, 0, sizeof *b);
    if (!strcmp(spec, "mlp")) {
        b->nhidden = 2;
        b->hidden[0] = b->hidden[1] = 200;
        return;
    }
    if (!strcmp(spec, "cnn")) {
        b->cnn = 1;
        b->nconv = 2;
        b->conv[0] = 32;
        b->conv[1] = 64;
        b->kernel[0] = b->kernel[1] = 5;
        b->nhidden = 1;
        b->hidden[0] = 512;
        return;
    }
    int dense[MAX_HIDDEN + 1], ndense = 0;
    const char *p = spec;
    while (*p) {
        int c, k, n;
        if (sscanf(p, "conv:%d:%d", &c, &k) == 2) {
            b->cnn = 1;
            if (b->nconv < MAX_CONVS) {
                b->conv[b->nconv] = c;
                b->kernel[b->nconv++] = k;
            }
        } else if (sscanf(p, "dense:%d", &n) == 1) {
            if (ndense == MAX_HIDDEN + 1) { /* keep the last ones: the output layer is last */
                memmove(dense, dense + 1, MAX_HIDDEN * sizeof *dense);
                ndense--;
            }
            dense[ndense++] = n;
        }
        const char *comma = strchr(p, ',');
        if (!comma) break;
        p = comma + 1;
    }
    if (ndense > 0) {
        b->out = dense[ndense - 1];
        b->nhidden = ndense - 1;
        memcpy(b->hidden, dense, (size_t)b->nhidden * sizeof *dense);
    }
}

/* Value of knob `name` in the configuration: 1 and *out if active. */
static int knob_value(const fedc_tune_space *s, const fedc_tune_config *c, const char *name, int *out,
                      fedc_error *err) {
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->p[i].name, name) || isnan(c->v[i])) continue;
        const fedc_tune_param *p = &s->p[i];
        double d = c->v[i];
        if (p->type == FEDC_PARAM_CHOICE) {
            char *end;
            d = strtod(p->choices[(int)d], &end);
            if (*end) return fedc_fail(err, "%s: %s is not a number", name, p->choices[(int)c->v[i]]);
        }
        const knob *kb = NULL;
        for (int k = 0; k < N_KNOBS; k++)
            if (!strcmp(k_knobs[k].name, name)) kb = &k_knobs[k];
        if (d != floor(d) || d < kb->lo || d > kb->hi)
            return fedc_fail(err, "%s: %g is out of range; allowed: integers %d..%d", name, d, kb->lo, kb->hi);
        *out = (int)d;
        return 1;
    }
    return 0;
}

/* 1 = mlp, 2 = cnn, 0 = not in the configuration, -1 = error. */
static int family_value(const fedc_tune_space *s, const fedc_tune_config *c, fedc_error *err) {
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->p[i].name, "arch.family") || isnan(c->v[i])) continue;
        const fedc_tune_param *p = &s->p[i];
        const char *v = p->type == FEDC_PARAM_CHOICE ? p->choices[(int)c->v[i]] : "";
        if (!strcmp(v, "\"mlp\"")) return 1;
        if (!strcmp(v, "\"cnn\"")) return 2;
        return fedc_fail(err, "arch.family: %s is not a family; allowed: \"mlp\", \"cnn\"", *v ? v : "a number");
    }
    return 0;
}

static int appendf(char *out, size_t cap, size_t *len, const char *fmt, int a, int b) {
    int w = snprintf(out + *len, cap - *len, fmt, a, b);
    if (w < 0 || (size_t)w >= cap - *len) return -1;
    *len += (size_t)w;
    return 0;
}

int tune_arch_build(const fedc_tune_space *s, const fedc_tune_config *c, const char *base_model,
                    int n_classes, char *out, size_t cap, fedc_error *err) {
    base_info b;
    read_base(base_model, &b);
    int nc = n_classes > 0 ? n_classes : b.out;
    if (nc <= 0)
        return fedc_fail(err, "arch: the number of classes is unknown (the base model is the preset \"%s\"); the "
                         "search needs it from the dataset",
                         base_model);
    int fam = family_value(s, c, err);
    if (fam < 0) return -1;
    int cnn = fam ? fam == 2 : b.cnn;
    if (cnn != b.cnn) read_base(cnn ? "cnn" : "mlp", &b); /* switching family: that family's preset */

    int all = 0, has_all, v, rc;
    size_t len = 0;
    out[0] = 0;
    if (!cnn) {
        int depth = b.nhidden;
        if ((rc = knob_value(s, c, "arch.depth", &depth, err)) < 0) return -1;
        if ((has_all = knob_value(s, c, "arch.width", &all, err)) < 0) return -1;
        for (int i = 0; i < depth; i++) {
            char name[32];
            snprintf(name, sizeof name, "arch.width%d", i + 1);
            int w = i < b.nhidden ? b.hidden[i] : (b.nhidden ? b.hidden[b.nhidden - 1] : 200);
            if (has_all) w = all;
            if (i < 4 && (rc = knob_value(s, c, name, &v, err)) != 0) {
                if (rc < 0) return -1;
                w = v;
            }
            if (appendf(out, cap, &len, "dense:%d,", w, 0) != 0) goto too_long;
        }
    } else {
        int convs = b.nconv ? b.nconv : 2, kernel = 0, has_kernel, dense = b.nhidden ? b.hidden[0] : 0;
        if (knob_value(s, c, "arch.convs", &convs, err) < 0) return -1;
        if ((has_all = knob_value(s, c, "arch.channels", &all, err)) < 0) return -1;
        if ((has_kernel = knob_value(s, c, "arch.kernel", &kernel, err)) < 0) return -1;
        if (knob_value(s, c, "arch.dense", &dense, err) < 0) return -1;
        int prev = 16;
        for (int i = 0; i < convs; i++) {
            char name[32];
            snprintf(name, sizeof name, "arch.conv%d", i + 1);
            int ch = i < b.nconv ? b.conv[i] : prev * 2;
            int k = i < b.nconv ? b.kernel[i] : (b.nconv ? b.kernel[b.nconv - 1] : 5);
            if (has_all) ch = all;
            if ((rc = knob_value(s, c, name, &v, err)) != 0) {
                if (rc < 0) return -1;
                ch = v;
            }
            if (has_kernel) k = kernel;
            prev = ch;
            if (appendf(out, cap, &len, "conv:%d:%d,pool:2,", ch, k) != 0) goto too_long;
        }
        if (dense > 0 && appendf(out, cap, &len, "dense:%d,", dense, 0) != 0) goto too_long;
    }
    if (appendf(out, cap, &len, "dense:%d", nc, 0) != 0) goto too_long;
    return 0;
too_long:
    return fedc_fail(err, "arch: the model spec would exceed %zu characters", cap - 1);
}

/* 1 when all n values are equal (n >= 1). */
static int all_equal(const int *v, int n) {
    for (int i = 1; i < n; i++)
        if (v[i] != v[0]) return 0;
    return n >= 1;
}

int tune_arch_knob_from_model(const char *model, const char *name, json_t **out, fedc_error *err) {
    base_info b;
    read_base(model, &b);
    *out = NULL;
    int k = 0, v = 0;
    if (!strcmp(name, "arch.family")) {
        *out = json_string(b.cnn ? "cnn" : "mlp");
        return 0;
    }
    if (!strcmp(name, "arch.depth") && !b.cnn) v = b.nhidden;
    else if (sscanf(name, "arch.width%d", &k) == 1 && !b.cnn) {
        if (k < 1 || k > b.nhidden)
            return fedc_fail(err, "%s: the model \"%.80s\" has %d hidden layers", name, model, b.nhidden);
        v = b.hidden[k - 1];
    } else if (!strcmp(name, "arch.width") && !b.cnn) {
        if (!all_equal(b.hidden, b.nhidden))
            return fedc_fail(err, "arch.width: the hidden layers of \"%.80s\" differ in width", model);
        v = b.hidden[0];
    } else if (!strcmp(name, "arch.convs") && b.cnn) v = b.nconv;
    else if (sscanf(name, "arch.conv%d", &k) == 1 && b.cnn) {
        if (k < 1 || k > b.nconv)
            return fedc_fail(err, "%s: the model \"%.80s\" has %d conv layers", name, model, b.nconv);
        v = b.conv[k - 1];
    } else if (!strcmp(name, "arch.channels") && b.cnn) {
        if (!all_equal(b.conv, b.nconv))
            return fedc_fail(err, "arch.channels: the conv layers of \"%.80s\" differ in channels", model);
        v = b.conv[0];
    } else if (!strcmp(name, "arch.kernel") && b.cnn) {
        if (!all_equal(b.kernel, b.nconv))
            return fedc_fail(err, "arch.kernel: the conv layers of \"%.80s\" differ in kernel size", model);
        v = b.kernel[0];
    } else if (!strcmp(name, "arch.dense") && b.cnn) {
        if (b.nhidden > 1)
            return fedc_fail(err, "arch.dense: the model \"%.80s\" has %d dense layers before the output; the "
                             "knob describes at most one",
                             model, b.nhidden);
        v = b.nhidden ? b.hidden[0] : 0;
    } else {
        return fedc_fail(err, "%s does not apply to the %s model \"%.80s\"", name, b.cnn ? "CNN" : "MLP", model);
    }
    *out = json_integer(v);
    return 0;
}
