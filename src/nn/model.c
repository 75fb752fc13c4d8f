/* Forward/backward driver: runs the ops of an architecture over a batch in a
 * workspace, and the public training / inference / evaluation entry points. */
#include <math.h>
#include <string.h>

#include "nn/nn_internal.h"

int nn_ws_fits(const fedc_arch *a, const fedc_ws *ws, int n) {
    if (!a || !ws || n < 1 || n > ws->max_batch) return 0;
    /* A workspace made for an identical (re-parsed) architecture also fits. */
    return ws->arch == a ||
           (strcmp(ws->arch->spec, a->spec) == 0 && ws->arch->input.c == a->input.c &&
            ws->arch->input.h == a->input.h && ws->arch->input.w == a->input.w &&
            ws->arch->n_classes == a->n_classes);
}

/* The weights a conv multiplies with: its own, or (wsconv) their
 * standardised form, computed into the workspace. */
static const float *conv_weights(const nn_op *op, nn_op_ws *o, const float *params) {
    if (!op->ws) return params + op->w_off;
    nn_ws_standardize(op, params + op->w_off, params + op->gain_off, o->w_std, o->w_stats);
    return o->w_std;
}

const float *nn_forward(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x, int n, int flags,
                        fedc_rng *rng) {
    const int train = (flags & NN_FWD_TRAIN) != 0;
    const float *cur = x;
    ws->bn_train = train;
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        nn_op_ws *o = &ws->op[i];
        const float *w = params + op->w_off, *b = params + op->b_off;
        float *y = o->out;
        ws->act_in[i] = cur;
        if (op->kind == NN_CONV) w = conv_weights(op, o, params);
#ifdef NN_AVX512_BUILD
        if (!(flags & NN_FWD_UNFUSED) && nn_use_avx512() && nn_conv_pool_fusable(a, i)) {
            /* Conv and pool in one pass; the conv output is not stored (only
             * the fused backward, which does not read it, follows). */
            nn_op_ws *po = &ws->op[i + 1];
            nn_conv_pool_forward_direct(op, &a->ops[i + 1], ws, w, b, cur, po->out, po->argmax, n);
            ws->act_out[i] = y;
            ws->act_in[i + 1] = y;
            ws->act_out[i + 1] = po->out;
            cur = po->out;
            i++;
            continue;
        }
#endif
        switch (op->kind) {
        case NN_CONV: nn_conv_forward(op, o, ws, w, b, cur, y, n); break;
        case NN_DENSE: nn_dense_forward(op, ws, w, b, cur, y, n); break;
        case NN_MAXPOOL: nn_maxpool_forward(op, cur, y, o->argmax, n); break;
        case NN_AVGPOOL: nn_avgpool_forward(op, cur, y, n); break;
        case NN_GROUPNORM: nn_groupnorm_forward(op, w, b, cur, y, o->stats, n); break;
        case NN_BATCHNORM:
            nn_batchnorm_forward(op, w, b, params + op->rmean_off, params + op->rvar_off, cur, y, o->stats, n,
                                 train);
            break;
        case NN_RELU: nn_relu_forward(cur, y, (size_t)n * op->out_size); break;
        case NN_DROPOUT: {
            int apply = 0;
            if (train && op->drop_p > 0.0f) {
                if (flags & NN_FWD_KEEP_MASKS) {
                    apply = o->mask_live;
                } else if (rng) {
                    nn_dropout_mask(op->drop_p, o->mask, (size_t)n * op->out_size, rng);
                    apply = 1;
                }
            }
            o->mask_live = apply;
            if (apply)
                nn_mul(cur, o->mask, y, (size_t)n * op->out_size);
            else
                y = (float *)cur; /* identity: no copy */
            break;
        }
        }
        ws->act_out[i] = y;
        cur = y;
    }
    return cur;
}

/* Back-propagates d(loss)/d(logits) held in grad_buf[0]; writes every
 * parameter gradient (each op overwrites its own slice of grad). */
static void backward(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad, int n) {
    float *g = ws->grad_buf[0];
    for (int i = a->n_ops - 1; i >= 0; i--) {
        const nn_op *op = &a->ops[i];
        if (!op->need_dx && op->w_count == 0) break; /* nothing before needs a gradient */
        nn_op_ws *o = &ws->op[i];
        const float *w = params + op->w_off, *x = ws->act_in[i], *y = ws->act_out[i];
        float *dw = grad + op->w_off, *db = grad + op->b_off;
        float *dx = op->need_dx ? (g == ws->grad_buf[0] ? ws->grad_buf[1] : ws->grad_buf[0]) : NULL;
        size_t count = (size_t)n * op->out_size;
        if (op->kind == NN_MAXPOOL && nn_conv_pool_fusable(a, i - 1)) {
            /* The pool's gradient goes straight into its conv's backward. */
            const nn_op *conv = &a->ops[i - 1];
            nn_op_ws *co = &ws->op[i - 1];
            float *cdx = conv->need_dx ? dx : NULL;
            const float *cw = conv->ws ? co->w_std : params + conv->w_off;
            float *cdw = conv->ws ? ws->dw_std : grad + conv->w_off;
            nn_conv_pool_backward(conv, op, ws, o->argmax, cw, ws->act_in[i - 1], y, g, cdx, cdw,
                                  grad + conv->b_off, n);
            if (conv->ws)
                nn_ws_backward(conv, params + conv->w_off, params + conv->gain_off, co->w_stats, ws->dw_std,
                               grad + conv->w_off, grad + conv->gain_off);
            g = cdx;
            i--;
            continue;
        }
        switch (op->kind) {
        case NN_CONV:
            if (op->ws) {
                nn_conv_backward(op, o, ws, o->w_std, x, y, g, dx, ws->dw_std, db, n);
                nn_ws_backward(op, w, params + op->gain_off, o->w_stats, ws->dw_std, dw, grad + op->gain_off);
            } else {
                nn_conv_backward(op, o, ws, w, x, y, g, dx, dw, db, n);
            }
            break;
        case NN_DENSE: nn_dense_backward(op, ws, w, x, y, g, dx, dw, db, n); break;
        case NN_MAXPOOL: nn_maxpool_backward(op, o->argmax, g, dx, n); break;
        case NN_AVGPOOL: nn_avgpool_backward(op, g, dx, n); break;
        case NN_GROUPNORM: nn_groupnorm_backward(op, w, x, y, o->stats, g, dx, dw, db, n); break;
        case NN_BATCHNORM:
            nn_batchnorm_backward(op, w, x, y, o->stats, g, dx, dw, db, n);
            /* The running statistics are not trained. */
            memset(grad + op->rmean_off, 0, 2 * (size_t)op->in.c * sizeof *grad);
            break;
        case NN_RELU: /* in place */
            nn_relu_backward(y, g, g, count);
            dx = g;
            break;
        case NN_DROPOUT: /* in place; identity when the forward pass skipped it */
            if (y != x) nn_mul(g, o->mask, g, count);
            dx = g;
            break;
        }
        g = dx;
    }
}

float fedc_nn_grad(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad,
                   const float *x, const int32_t *y, int n, fedc_rng *rng) {
    if (!nn_ws_fits(a, ws, n)) return NAN;
    const float *logits = nn_forward(a, ws, params, x, n, NN_FWD_TRAIN, rng);
    double loss = nn_softmax_xent(logits, y, n, a->n_classes, ws->grad_buf[0], NULL);
    backward(a, ws, params, grad, n);
    return (float)loss;
}

float fedc_nn_grad_margin(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad, const float *x,
                          const int32_t *y, int n, fedc_rng *rng, double lambda) {
    if (!nn_ws_fits(a, ws, n)) return NAN;
    const float *logits = nn_forward(a, ws, params, x, n, NN_FWD_TRAIN, rng);
    int classes = a->n_classes;
    float *dz = ws->grad_buf[0];
    double loss = nn_softmax_xent(logits, y, n, classes, dz, NULL);
    if (lambda != 0) {
        /* Recover the softmax from the cross-entropy gradient (dz = (p - onehot)/n). */
        double sq = 0;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < classes; c++) {
                double p = (double)dz[(size_t)i * classes + c] * n + (c == y[i] ? 1.0 : 0.0);
                sq += p * p;
            }
        double k = 2.0 * lambda / (1.0 + sq);
        for (int i = 0; i < n; i++) {
            float *d = dz + (size_t)i * classes;
            double p[FEDC_MARGIN_MAX_CLASSES], q = 0;
            int m = classes < FEDC_MARGIN_MAX_CLASSES ? classes : FEDC_MARGIN_MAX_CLASSES;
            for (int c = 0; c < m; c++) {
                p[c] = (double)d[c] * n + (c == y[i] ? 1.0 : 0.0);
                q += p[c] * p[c];
            }
            /* d/dz_j of log(1 + sum p^2) over the batch: 2 p_j (p_j - sum_c p_c^2) / (1 + S). */
            for (int c = 0; c < m; c++) d[c] += (float)(k * p[c] * (p[c] - q));
        }
        loss += lambda * log(1.0 + sq);
    }
    backward(a, ws, params, grad, n);
    return (float)loss;
}

void fedc_nn_logits(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x, int n,
                    float *logits) {
    if (!nn_ws_fits(a, ws, n)) return;
    const float *out = nn_forward(a, ws, params, x, n, 0, NULL);
    memcpy(logits, out, (size_t)n * a->n_classes * sizeof *logits);
}

/* fedc_nn_evaluate and fedc_nn_evaluate_rows: the features are x, or are
 * fetched batch by batch with rows into xbuf. */
static void evaluate(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x, fedc_nn_rows_fn rows,
                     void *ctx, float *xbuf, const int32_t *y, size_t n, double *accuracy, double *loss) {
    /* Batches of the workspace's size; every sample's loss is added to one
     * running sum in order, so the result does not depend on that size (a
     * small evaluation workspace gives the figures of one big batch). With
     * the AVX-512 kernels the logits do not depend on it either, as long as
     * every batch has more than NN_TILE_NR samples (a dense layer's GEMM
     * with that few rows runs the broadcast kernel, which sums in another
     * order): so a short last batch is avoided by making the one before it
     * shorter, where both can then stay above NN_TILE_NR. */
    const size_t big = (size_t)ws->max_batch, small = NN_TILE_NR;
    double total = 0.0;
    size_t hits = 0;
    int bad = n > 0 && !nn_ws_fits(a, ws, 1);
    for (size_t i = 0, cnt; i < n && !bad; i += cnt) {
        const size_t left = n - i;
        cnt = left < big ? left : big;
        if (left > big && left - big <= small && left >= 2 * (small + 1)) cnt = left - (small + 1);
        const float *in = x ? x + i * fedc_arch_input_size(a) : xbuf;
        if (!x) rows(ctx, i, cnt, xbuf);
        const float *logits = nn_forward(a, ws, params, in, (int)cnt, 0, NULL);
        if (nn_xent_accumulate(logits, y + i, (int)cnt, a->n_classes, &total, &hits) != 0) bad = 1;
    }
    if (bad) total = NAN;
    if (accuracy) *accuracy = n ? (double)hits / (double)n : 0.0;
    if (loss) *loss = n ? total / (double)n : 0.0;
}

void fedc_nn_evaluate(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x,
                      const int32_t *y, size_t n, double *accuracy, double *loss) {
    evaluate(a, ws, params, x, NULL, NULL, NULL, y, n, accuracy, loss);
}

void fedc_nn_evaluate_rows(const fedc_arch *a, fedc_ws *ws, const float *params, fedc_nn_rows_fn rows, void *ctx,
                           float *xbuf, const int32_t *y, size_t n, double *accuracy, double *loss) {
    evaluate(a, ws, params, NULL, rows, ctx, xbuf, y, n, accuracy, loss);
}

void fedc_nn_commit_stats(const fedc_arch *a, const fedc_ws *ws, float *params) {
    if (!a->has_bn || !ws || !ws->bn_train || !nn_ws_fits(a, ws, 1)) return;
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        if (op->kind == NN_BATCHNORM)
            nn_batchnorm_commit(op, ws->op[i].stats, params + op->rmean_off, params + op->rvar_off);
    }
}

int fedc_arch_has_buffers(const fedc_arch *a) { return a->has_bn; }
