/* Architecture spec parser: compact layer string -> checked list of ops with
 * shapes, parameter views and canonical spec. See include/fedc/nn.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

#define MAX_FIELDS 5
#define MAX_CHANNELS 65536
#define MAX_KERNEL 64
#define MAX_DENSE (1 << 20)
#define MAX_INPUT_DIM 65536
#define MAX_CLASSES 65536
#define MAX_PARAMS 2147483647ull /* < 2^31 so int offsets stay valid everywhere */

typedef struct token {
    char *fields[MAX_FIELDS];
    int nfields;
    int index;  /* 1-based layer number, for messages */
    int offset; /* character offset in the (preset-expanded) spec */
    const char *text;
} token;

typedef struct parser {
    fedc_error *err;
    char text[NN_SPEC_MAX + 1]; /* original tokens, for messages */
    char work[NN_SPEC_MAX + 1]; /* split in place */
    token toks[NN_MAX_LAYERS];
    int ntoks;
} parser;

static int tok_fail(parser *p, const token *t, const char *what) {
    return fedc_fail(p->err, "arch spec: layer %d \"%s\" (char %d): %s", t->index, t->text,
                     t->offset, what);
}

static int parse_int(parser *p, const token *t, int field, const char *name, long lo, long hi,
                     int *out) {
    const char *s = t->fields[field];
    char msg[256];
    if (*s == '\0') {
        snprintf(msg, sizeof msg, "%s is empty; allowed: integer in [%ld, %ld]", name, lo, hi);
        return tok_fail(p, t, msg);
    }
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9') {
            snprintf(msg, sizeof msg, "%s \"%.40s\" is not a non-negative integer; allowed: [%ld, %ld]",
                     name, s, lo, hi);
            return tok_fail(p, t, msg);
        }
    }
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi) {
        snprintf(msg, sizeof msg, "%s %.40s is out of range; allowed: [%ld, %ld]", name, s, lo, hi);
        return tok_fail(p, t, msg);
    }
    *out = (int)v;
    return 0;
}

static int expect_fields(parser *p, const token *t, int lo, int hi, const char *form) {
    if (t->nfields < lo || t->nfields > hi) {
        char msg[160];
        snprintf(msg, sizeof msg, "wrong number of fields (%d); expected %s", t->nfields, form);
        return tok_fail(p, t, msg);
    }
    return 0;
}

/* Expands presets and splits the spec at ','; text keeps each whole token
 * (for messages) and work is split further into ':' fields. */
static int tokenize(parser *p, const char *spec, int n_classes) {
    size_t len = strlen(spec);
    if (len > NN_SPEC_MAX)
        return fedc_fail(p->err, "arch spec: %zu characters; at most %d allowed", len, NN_SPEC_MAX);
    if (strcmp(spec, "mlp") == 0)
        snprintf(p->text, sizeof p->text, "dense:200,dense:200,dense:%d", n_classes);
    else if (strcmp(spec, "cnn") == 0)
        snprintf(p->text, sizeof p->text, "conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:%d",
                 n_classes);
    else
        memcpy(p->text, spec, len + 1);
    size_t total = strlen(p->text);
    if (total == 0)
        return fedc_fail(p->err, "arch spec: empty; expected comma-separated layers or a preset (mlp, cnn)");
    memcpy(p->work, p->text, total + 1);

    p->ntoks = 0;
    size_t start = 0;
    for (;;) {
        size_t end = start;
        while (end < total && p->text[end] != ',') end++;
        if (p->ntoks == NN_MAX_LAYERS)
            return fedc_fail(p->err, "arch spec: more than %d layers (char %zu)", NN_MAX_LAYERS, start);
        token *t = &p->toks[p->ntoks];
        t->index = p->ntoks + 1;
        t->offset = (int)start;
        p->text[end] = '\0';
        p->work[end] = '\0';
        t->text = p->text + start;
        if (end == start)
            return fedc_fail(p->err, "arch spec: layer %d (char %zu) is empty; expected e.g. conv:32:5, pool:2, dense:10",
                             t->index, start);
        t->nfields = 0;
        char *f = p->work + start;
        for (;;) {
            if (t->nfields == MAX_FIELDS) {
                char msg[64];
                snprintf(msg, sizeof msg, "more than %d ':'-separated fields", MAX_FIELDS);
                return tok_fail(p, t, msg);
            }
            t->fields[t->nfields++] = f;
            char *colon = strchr(f, ':');
            if (!colon) break;
            *colon = '\0';
            f = colon + 1;
        }
        p->ntoks++;
        if (end == total) break;
        start = end + 1;
    }
    return 0;
}

static size_t shape_size(fedc_shape s) {
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

static int check_act(parser *p, const token *t, fedc_shape out) {
    if (shape_size(out) > (size_t)NN_MAX_ACT_PER_SAMPLE) {
        char msg[160];
        snprintf(msg, sizeof msg, "output %dx%dx%d = %zu values per sample; at most %ld allowed",
                 out.c, out.h, out.w, shape_size(out), NN_MAX_ACT_PER_SAMPLE);
        return tok_fail(p, t, msg);
    }
    return 0;
}

static int add_params(parser *p, const token *t, fedc_arch *a, nn_op *op, size_t wc, size_t bc) {
    if ((unsigned long long)a->n_params + wc + bc > MAX_PARAMS) {
        char msg[128];
        snprintf(msg, sizeof msg, "model would have more than %llu parameters", MAX_PARAMS);
        return tok_fail(p, t, msg);
    }
    op->w_off = a->n_params;
    op->w_count = wc;
    op->b_off = a->n_params + wc;
    op->b_count = bc;
    a->n_params += wc + bc;
    return 0;
}

static int parse_conv(parser *p, const token *t, fedc_arch *a, nn_op *op, fedc_shape cur, int ws) {
    int c, k, s = 1, pad;
    if (expect_fields(p, t, 3, 5, ws ? "wsconv:C:K[:S[:P]]" : "conv:C:K[:S[:P]]") < 0) return -1;
    if (parse_int(p, t, 1, "channels C", 1, MAX_CHANNELS, &c) < 0) return -1;
    if (parse_int(p, t, 2, "kernel K", 1, MAX_KERNEL, &k) < 0) return -1;
    if (t->nfields > 3 && parse_int(p, t, 3, "stride S", 1, k, &s) < 0) return -1;
    pad = (k - 1) / 2;
    if (t->nfields > 4 && parse_int(p, t, 4, "padding P", 0, k - 1, &pad) < 0) return -1;
    if (cur.h + 2 * pad < k || cur.w + 2 * pad < k) {
        char msg[160];
        snprintf(msg, sizeof msg, "kernel %d does not fit the %dx%d input with padding %d", k, cur.h,
                 cur.w, pad);
        return tok_fail(p, t, msg);
    }
    op->kind = NN_CONV;
    op->k = k;
    op->stride = s;
    op->pad = pad;
    op->out = (fedc_shape){c, (cur.h + 2 * pad - k) / s + 1, (cur.w + 2 * pad - k) / s + 1};
    if (check_act(p, t, op->out) < 0) return -1;
    size_t col = (size_t)cur.c * k * k * op->out.h * op->out.w;
    if (col > (size_t)NN_MAX_COL_PER_SAMPLE) {
        char msg[128];
        snprintf(msg, sizeof msg, "im2col matrix of %zu values per sample; at most %ld allowed", col,
                 NN_MAX_COL_PER_SAMPLE);
        return tok_fail(p, t, msg);
    }
    a->flops += 2.0 * (double)col * c;
    if (add_params(p, t, a, op, (size_t)c * cur.c * k * k, (size_t)c) < 0) return -1;
    if (!ws) return 0;
    /* Scaled weight standardisation: a per-output-channel gain follows the bias. */
    if ((unsigned long long)a->n_params + (size_t)c > MAX_PARAMS) {
        char msg[128];
        snprintf(msg, sizeof msg, "model would have more than %llu parameters", MAX_PARAMS);
        return tok_fail(p, t, msg);
    }
    op->ws = 1;
    op->gain_off = a->n_params;
    a->n_params += (size_t)c;
    return 0;
}

static int parse_pool(parser *p, const token *t, nn_op *op, fedc_shape cur, nn_kind kind) {
    int k;
    const char *form = kind == NN_MAXPOOL ? "pool:K" : "avgpool:K";
    if (expect_fields(p, t, 2, 2, form) < 0) return -1;
    if (parse_int(p, t, 1, "window K", 1, MAX_KERNEL, &k) < 0) return -1;
    if (cur.h < k || cur.w < k) {
        char msg[128];
        snprintf(msg, sizeof msg, "window %d is larger than the %dx%d input", k, cur.h, cur.w);
        return tok_fail(p, t, msg);
    }
    op->kind = kind;
    op->k = k;
    op->stride = k;
    op->out = (fedc_shape){cur.c, cur.h / k, cur.w / k};
    return 0;
}

static int parse_dense(parser *p, const token *t, fedc_arch *a, nn_op *op, fedc_shape cur) {
    int nout;
    if (expect_fields(p, t, 2, 2, "dense:N") < 0) return -1;
    if (parse_int(p, t, 1, "units N", 1, MAX_DENSE, &nout) < 0) return -1;
    size_t nin = shape_size(cur);
    op->kind = NN_DENSE;
    op->out = (fedc_shape){nout, 1, 1};
    a->flops += 2.0 * (double)nin * nout;
    if ((double)nin * nout > (double)MAX_PARAMS) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu x %d weights; the model may have at most %llu parameters",
                 nin, nout, MAX_PARAMS);
        return tok_fail(p, t, msg);
    }
    return add_params(p, t, a, op, nin * (size_t)nout, (size_t)nout);
}

static int parse_groupnorm(parser *p, const token *t, fedc_arch *a, nn_op *op, fedc_shape cur) {
    int g;
    if (expect_fields(p, t, 2, 2, "gn:G") < 0) return -1;
    if (parse_int(p, t, 1, "groups G", 1, cur.c, &g) < 0) return -1;
    if (cur.c % g != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "%d groups do not divide the %d input channels", g, cur.c);
        return tok_fail(p, t, msg);
    }
    op->kind = NN_GROUPNORM;
    op->groups = g;
    op->out = cur;
    return add_params(p, t, a, op, (size_t)cur.c, (size_t)cur.c);
}

/* Batch norm over the channels of the input (BatchNorm2d after a conv,
 * BatchNorm1d after a dense layer): scale and shift, then the running mean
 * and variance, which live in the parameter vector too (so models save,
 * load and average them) but are never trained. */
static int parse_batchnorm(parser *p, const token *t, fedc_arch *a, nn_op *op, fedc_shape cur) {
    if (expect_fields(p, t, 1, 1, "bn") < 0) return -1;
    op->kind = NN_BATCHNORM;
    op->out = cur;
    if (add_params(p, t, a, op, (size_t)cur.c, (size_t)cur.c) < 0) return -1;
    if ((unsigned long long)a->n_params + 2ull * (size_t)cur.c > MAX_PARAMS) {
        char msg[128];
        snprintf(msg, sizeof msg, "model would have more than %llu parameters", MAX_PARAMS);
        return tok_fail(p, t, msg);
    }
    op->rmean_off = a->n_params;
    op->rvar_off = a->n_params + (size_t)cur.c;
    a->n_params += 2 * (size_t)cur.c;
    a->has_bn = 1;
    a->flops += 4.0 * (double)shape_size(cur);
    return 0;
}

static int parse_dropout(parser *p, const token *t, nn_op *op, fedc_shape cur) {
    if (expect_fields(p, t, 2, 2, "drop:P") < 0) return -1;
    const char *s = t->fields[1];
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || !(v >= 0.0 && v < 1.0))
        return tok_fail(p, t, "rate P must be a number in [0, 1)");
    op->kind = NN_DROPOUT;
    op->drop_p = (float)v;
    op->out = cur;
    return 0;
}

static int is_name(const token *t, const char *name) {
    return t && strcmp(t->fields[0], name) == 0;
}

/* The canonical form of a token: numbers normalised, defaults dropped. */
static void canonical_token(const token *t, const nn_op *op, char *out, size_t cap) {
    if (is_name(t, "relu") || is_name(t, "flatten")) {
        snprintf(out, cap, "%s", t->fields[0]);
        return;
    }
    switch (op->kind) {
    case NN_CONV: {
        const char *name = op->ws ? "wsconv" : "conv";
        if (op->pad != (op->k - 1) / 2)
            snprintf(out, cap, "%s:%d:%d:%d:%d", name, op->out.c, op->k, op->stride, op->pad);
        else if (op->stride != 1)
            snprintf(out, cap, "%s:%d:%d:%d", name, op->out.c, op->k, op->stride);
        else
            snprintf(out, cap, "%s:%d:%d", name, op->out.c, op->k);
        break;
    }
    case NN_DENSE: snprintf(out, cap, "dense:%d", op->out.c); break;
    case NN_MAXPOOL: snprintf(out, cap, "pool:%d", op->k); break;
    case NN_AVGPOOL: snprintf(out, cap, "avgpool:%d", op->k); break;
    case NN_GROUPNORM: snprintf(out, cap, "gn:%d", op->groups); break;
    case NN_BATCHNORM: snprintf(out, cap, "bn"); break;
    case NN_DROPOUT: snprintf(out, cap, "drop:%g", (double)op->drop_p); break;
    case NN_RELU: snprintf(out, cap, "relu"); break;
    }
}

/* The layer kind name a tensor reports (fedc_tensor_info.layer). */
static const char *layer_name(const nn_op *op) {
    switch (op->kind) {
    case NN_CONV: return op->ws ? "wsconv" : "conv";
    case NN_DENSE: return "dense";
    case NN_GROUPNORM: return "gn";
    case NN_BATCHNORM: return "bn";
    default: return "";
    }
}

static fedc_tensor_info *add_tensor(fedc_arch *a, const nn_op *op, const char *suffix, size_t off, size_t count) {
    fedc_tensor_info *t = &a->tensors[a->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "layers.%d.%s", op->spec_index, suffix);
    snprintf(t->layer, sizeof t->layer, "%s", layer_name(op));
    t->layer_index = op->spec_index;
    t->offset = off;
    t->count = count;
    t->ndim = 1;
    t->dims[0] = (int)count;
    return t;
}

static void build_tensors(fedc_arch *a) {
    a->n_tensors = 0;
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        if (op->w_count == 0) continue;
        fedc_tensor_info *w = add_tensor(a, op, "weight", op->w_off, op->w_count);
        add_tensor(a, op, "bias", op->b_off, op->b_count);
        switch (op->kind) {
        case NN_CONV:
            w->ndim = 4;
            w->dims[0] = op->out.c;
            w->dims[1] = op->in.c;
            w->dims[2] = op->k;
            w->dims[3] = op->k;
            if (op->ws) add_tensor(a, op, "gain", op->gain_off, (size_t)op->out.c);
            break;
        case NN_DENSE:
            w->ndim = 2;
            w->dims[0] = op->out.c;
            w->dims[1] = (int)op->in_size;
            break;
        case NN_BATCHNORM:
            /* PyTorch's buffer names, so state dicts map one to one. */
            add_tensor(a, op, "running_mean", op->rmean_off, (size_t)op->in.c)->buffer = 1;
            add_tensor(a, op, "running_var", op->rvar_off, (size_t)op->in.c)->buffer = 1;
            break;
        default: /* group norm: per-channel scale */
            break;
        }
    }
}

fedc_arch *fedc_arch_parse(const char *spec, fedc_shape input, int n_classes, fedc_error *err) {
    if (!spec) {
        fedc_fail(err, "arch spec: missing (NULL)");
        return NULL;
    }
    if (input.c < 1 || input.h < 1 || input.w < 1 || input.c > MAX_INPUT_DIM ||
        input.h > MAX_INPUT_DIM || input.w > MAX_INPUT_DIM ||
        shape_size(input) > (size_t)NN_MAX_ACT_PER_SAMPLE) {
        fedc_fail(err, "arch: input shape %dx%dx%d invalid; each dim in [1, %d], at most %ld values",
                  input.c, input.h, input.w, MAX_INPUT_DIM, NN_MAX_ACT_PER_SAMPLE);
        return NULL;
    }
    if (n_classes < 2 || n_classes > MAX_CLASSES) {
        fedc_fail(err, "arch: n_classes %d invalid; allowed [2, %d]", n_classes, MAX_CLASSES);
        return NULL;
    }
    parser *p = calloc(1, sizeof *p);
    fedc_arch *a = calloc(1, sizeof *a);
    if (!p || !a) {
        fedc_fail(err, "arch spec: out of memory");
        goto fail;
    }
    p->err = err;
    if (tokenize(p, spec, n_classes) < 0) goto fail;

    a->input = input;
    a->n_classes = n_classes;
    fedc_shape cur = input;
    size_t spec_len = 0;
    int seen_params = 0;
    for (int i = 0; i < p->ntoks; i++) {
        const token *t = &p->toks[i];
        const token *next = i + 1 < p->ntoks ? &p->toks[i + 1] : NULL;
        const char *name = t->fields[0];
        nn_op *op = &a->ops[a->n_ops];
        nn_op *prev = a->n_ops > 0 ? &a->ops[a->n_ops - 1] : NULL;
        memset(op, 0, sizeof *op);
        op->spec_index = i;
        int emit = 1;

        if (strcmp(name, "dense") == 0 && cur.h * cur.w != 1) /* implied flatten */
            cur = (fedc_shape){(int)shape_size(cur), 1, 1};
        op->in = cur;
        if (strcmp(name, "conv") == 0 || strcmp(name, "wsconv") == 0) {
            if (parse_conv(p, t, a, op, cur, name[0] == 'w') < 0) goto fail;
        } else if (strcmp(name, "pool") == 0) {
            if (parse_pool(p, t, op, cur, NN_MAXPOOL) < 0) goto fail;
        } else if (strcmp(name, "avgpool") == 0) {
            if (parse_pool(p, t, op, cur, NN_AVGPOOL) < 0) goto fail;
        } else if (strcmp(name, "dense") == 0) {
            if (parse_dense(p, t, a, op, cur) < 0) goto fail;
        } else if (strcmp(name, "gn") == 0 || strcmp(name, "bn") == 0) {
            if (name[0] == 'g' ? parse_groupnorm(p, t, a, op, cur) < 0 : parse_batchnorm(p, t, a, op, cur) < 0)
                goto fail;
            /* conv/dense followed by a norm: the implied ReLU comes after the norm */
            if (prev && (prev->kind == NN_CONV || prev->kind == NN_DENSE) &&
                prev->spec_index == i - 1 && !is_name(&p->toks[i - 1], "relu"))
                op->relu = 1;
        } else if (strcmp(name, "drop") == 0) {
            if (parse_dropout(p, t, op, cur) < 0) goto fail;
        } else if (strcmp(name, "relu") == 0) {
            if (expect_fields(p, t, 1, 1, "relu") < 0) goto fail;
            op->kind = NN_RELU;
            op->out = cur;
            /* Fold into the previous op when it can apply ReLU itself. */
            if (prev && (prev->kind == NN_CONV || prev->kind == NN_DENSE || prev->kind == NN_GROUPNORM ||
                         prev->kind == NN_BATCHNORM)) {
                prev->relu = 1;
                emit = 0;
            }
        } else if (strcmp(name, "flatten") == 0) {
            if (expect_fields(p, t, 1, 1, "flatten") < 0) goto fail;
            op->out = (fedc_shape){(int)shape_size(cur), 1, 1};
            emit = 0; /* NCHW memory is already flat */
        } else {
            tok_fail(p, t, "unknown layer; allowed: conv:C:K[:S[:P]], wsconv:C:K[:S[:P]], pool:K, avgpool:K, dense:N, gn:G, bn, drop:P, relu, flatten");
            goto fail;
        }
        if ((op->kind == NN_CONV || op->kind == NN_DENSE) && next && !is_name(next, "gn") && !is_name(next, "bn"))
            op->relu = 1; /* implied ReLU except after the last layer */
        op->in_size = shape_size(op->in);
        op->out_size = shape_size(op->out);
        cur = op->out;

        char canon[64];
        canonical_token(t, op, canon, sizeof canon);
        size_t cl = strlen(canon);
        if (spec_len + cl + 1 > NN_SPEC_MAX) {
            tok_fail(p, t, "canonical spec would exceed 1024 characters");
            goto fail;
        }
        if (spec_len) a->spec[spec_len++] = ',';
        memcpy(a->spec + spec_len, canon, cl + 1);
        spec_len += cl;

        if (emit) {
            op->need_dx = seen_params;
            if (op->w_count) seen_params = 1;
            a->n_ops++;
        }
        if (!next) {
            if (!emit || op->kind != NN_DENSE) {
                tok_fail(p, t, "the last layer must be dense:N with N = n_classes");
                goto fail;
            }
            if (op->out.c != n_classes) {
                char msg[128];
                snprintf(msg, sizeof msg, "the last layer has %d outputs but the task has %d classes",
                         op->out.c, n_classes);
                tok_fail(p, t, msg);
                goto fail;
            }
        }
    }
    build_tensors(a);
    free(p);
    return a;
fail:
    free(p);
    free(a);
    return NULL;
}

void fedc_arch_free(fedc_arch *a) {
    free(a);
}

size_t fedc_arch_nparams(const fedc_arch *a) {
    return a->n_params;
}

const char *fedc_arch_spec(const fedc_arch *a) {
    return a->spec;
}

fedc_shape fedc_arch_input(const fedc_arch *a) {
    return a->input;
}

int fedc_arch_nclasses(const fedc_arch *a) {
    return a->n_classes;
}

double fedc_arch_flops_per_sample(const fedc_arch *a) {
    return a->flops;
}

double fedc_arch_train_flops_per_sample(const fedc_arch *a) {
    double total = 0.0;
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        double fwd, per_pos; /* per_pos: FLOPs of one output position's dot products */
        if (op->kind == NN_CONV) {
            per_pos = 2.0 * (double)op->k * op->k * op->in.c * op->out.c;
            fwd = per_pos * op->out.h * op->out.w;
        } else if (op->kind == NN_DENSE) {
            per_pos = fwd = 2.0 * (double)op->in_size * op->out.c;
        } else {
            continue;
        }
        /* Backward positions: all of them, or the pool's winners. */
        double back = nn_conv_pool_fusable(a, i) ? per_pos * a->ops[i + 1].out.h * a->ops[i + 1].out.w : fwd;
        total += fwd + back * (op->need_dx ? 2.0 : 1.0);
    }
    return total;
}

int fedc_arch_ntensors(const fedc_arch *a) {
    return a->n_tensors;
}

fedc_tensor_info fedc_arch_tensor(const fedc_arch *a, int i) {
    if (i < 0 || i >= a->n_tensors) {
        fedc_tensor_info none;
        memset(&none, 0, sizeof none);
        return none;
    }
    return a->tensors[i];
}

/* U(-lim, lim) for every element. */
static void fill_uniform(float *v, size_t n, double lim, fedc_rng *rng) {
    for (size_t j = 0; j < n; j++) v[j] = (float)((2.0 * fedc_rng_uniform(rng) - 1.0) * lim);
}

void fedc_arch_init_kind(const fedc_arch *a, float *params, fedc_rng *rng, fedc_init_kind kind) {
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        if (op->w_count == 0) continue;
        float *w = params + op->w_off, *b = params + op->b_off;
        if (op->kind == NN_GROUPNORM || op->kind == NN_BATCHNORM) {
            for (size_t j = 0; j < op->w_count; j++) w[j] = 1.0f;
            memset(b, 0, op->b_count * sizeof *b);
            if (op->kind == NN_BATCHNORM) { /* running mean 0, running variance 1 */
                memset(params + op->rmean_off, 0, (size_t)op->in.c * sizeof *params);
                for (int c = 0; c < op->in.c; c++) params[op->rvar_off + (size_t)c] = 1.0f;
            }
            continue;
        }
        if (op->ws) /* unit gain: the standardised weights start at unit scale */
            for (int c = 0; c < op->out.c; c++) params[op->gain_off + (size_t)c] = 1.0f;
        double fan_in = (double)(op->w_count / (size_t)op->out.c);
        if (kind == FEDC_INIT_TORCH) {
            /* kaiming_uniform(a=sqrt(5)) bound is sqrt(6/((1+5)*fan_in)) = 1/sqrt(fan_in);
             * PyTorch draws the weight first, then the bias with the same bound. */
            double lim = 1.0 / sqrt(fan_in);
            fill_uniform(w, op->w_count, lim, rng);
            fill_uniform(b, op->b_count, lim, rng);
            continue;
        }
        if (i == a->n_ops - 1) { /* Xavier uniform for the (linear) last layer */
            fill_uniform(w, op->w_count, sqrt(6.0 / (fan_in + op->out.c)), rng);
        } else { /* He normal (fan_in) for layers followed by ReLU */
            double sd = sqrt(2.0 / fan_in);
            for (size_t j = 0; j < op->w_count; j++) w[j] = (float)(fedc_rng_normal(rng) * sd);
        }
        memset(b, 0, op->b_count * sizeof *b);
    }
}

void fedc_arch_init(const fedc_arch *a, float *params, fedc_rng *rng) {
    fedc_arch_init_kind(a, params, rng, FEDC_INIT_HE);
}

size_t fedc_arch_input_size(const fedc_arch *a) {
    return shape_size(a->input);
}
