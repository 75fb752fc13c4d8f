/* Forward/backward driver: runs the ops of an architecture over a batch in a
 * workspace, and the public training / inference / evaluation entry points. */
#include <math.h>
#include <string.h>

#include "nn/nn_internal.h"

static int ws_fits(const fedc_arch *a, const fedc_ws *ws, int n) {
    if (!a || !ws || n < 1 || n > ws->max_batch) return 0;
    /* A workspace made for an identical (re-parsed) architecture also fits. */
    return ws->arch == a ||
           (strcmp(ws->arch->spec, a->spec) == 0 && ws->arch->input.c == a->input.c &&
            ws->arch->input.h == a->input.h && ws->arch->input.w == a->input.w &&
            ws->arch->n_classes == a->n_classes);
}

/* Returns the logits (inside ws). Dropout is active only if train && rng. */
static const float *forward(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x,
                            int n, int train, fedc_rng *rng) {
    const float *cur = x;
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        nn_op_ws *o = &ws->op[i];
        const float *w = params + op->w_off, *b = params + op->b_off;
        float *y = o->out;
        ws->act_in[i] = cur;
#ifdef NN_AVX512_BUILD
        if (nn_use_avx512() && nn_conv_pool_fusable(a, i)) {
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
        case NN_RELU: nn_relu_forward(cur, y, (size_t)n * op->out_size); break;
        case NN_DROPOUT:
            if (train && rng && op->drop_p > 0.0f) {
                nn_dropout_mask(op->drop_p, o->mask, (size_t)n * op->out_size, rng);
                nn_mul(cur, o->mask, y, (size_t)n * op->out_size);
            } else {
                y = (float *)cur; /* identity: no copy */
            }
            break;
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
            float *cdx = conv->need_dx ? dx : NULL;
            nn_conv_pool_backward(conv, op, ws, o->argmax, params + conv->w_off, ws->act_in[i - 1], y, g,
                                  cdx, grad + conv->w_off, grad + conv->b_off, n);
            g = cdx;
            i--;
            continue;
        }
        switch (op->kind) {
        case NN_CONV: nn_conv_backward(op, o, ws, w, x, y, g, dx, dw, db, n); break;
        case NN_DENSE: nn_dense_backward(op, ws, w, x, y, g, dx, dw, db, n); break;
        case NN_MAXPOOL: nn_maxpool_backward(op, o->argmax, g, dx, n); break;
        case NN_AVGPOOL: nn_avgpool_backward(op, g, dx, n); break;
        case NN_GROUPNORM: nn_groupnorm_backward(op, w, x, y, o->stats, g, dx, dw, db, n); break;
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
    if (!ws_fits(a, ws, n)) return NAN;
    const float *logits = forward(a, ws, params, x, n, 1, rng);
    double loss = nn_softmax_xent(logits, y, n, a->n_classes, ws->grad_buf[0], NULL);
    backward(a, ws, params, grad, n);
    return (float)loss;
}

float fedc_nn_grad_margin(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad, const float *x,
                          const int32_t *y, int n, fedc_rng *rng, double lambda) {
    if (!ws_fits(a, ws, n)) return NAN;
    const float *logits = forward(a, ws, params, x, n, 1, rng);
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
    if (!ws_fits(a, ws, n)) return;
    const float *out = forward(a, ws, params, x, n, 0, NULL);
    memcpy(logits, out, (size_t)n * a->n_classes * sizeof *logits);
}

void fedc_nn_evaluate(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x,
                      const int32_t *y, size_t n, double *accuracy, double *loss) {
    double total = 0.0;
    size_t hits = 0;
    if (n > 0 && !ws_fits(a, ws, 1)) total = NAN;
    for (size_t i = 0; i < n && ws_fits(a, ws, 1); i += (size_t)ws->max_batch) {
        int cnt = n - i < (size_t)ws->max_batch ? (int)(n - i) : ws->max_batch;
        const float *logits = forward(a, ws, params, x + i * fedc_arch_input_size(a), cnt, 0, NULL);
        int correct = 0;
        total += nn_softmax_xent(logits, y + i, cnt, a->n_classes, NULL, &correct) * cnt;
        hits += (size_t)correct;
    }
    if (accuracy) *accuracy = n ? (double)hits / (double)n : 0.0;
    if (loss) *loss = n ? total / (double)n : 0.0;
}
