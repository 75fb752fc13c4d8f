/* DLG / iDLG gradient inversion on dense ReLU networks, with the gradient
 * of the gradient-matching loss derived by hand.
 *
 * Network (per sample, layers l = 1..L, h_0 = x):
 *   a_l = W_l h_{l-1} + b_l,  h_l = m_l * a_l with m_l = [a_l > 0] (l < L),
 *   p = softmax(a_L), y = softmax(label logits).
 * Its mean-loss gradient over a batch of B (what a client's one SGD step
 * reveals):  d_L = (p - y) / B,  d_l = m_l * (W_{l+1}^T d_{l+1}),
 *   G_l = sum_b d_l h_{l-1}^T,  g_l = sum_b d_l.
 * Matching loss D = sum_l |G_l - G*_l|^2 + |g_l - g*_l|^2 = sum |R_l|^2 + |r_l|^2.
 *
 * dD/dx by reverse mode through the backward pass (the masks are piecewise
 * constant, so only their values enter), per sample:
 *   adjoints of the d_l, from the first layer up:
 *     bd_1 = 2 R_1 h_0 + 2 r_1
 *     bd_l = 2 R_l h_{l-1} + 2 r_l + W_l (m_{l-1} * bd_{l-1})
 *   through the softmaxes:  bar p = bd_L / B,  bar a_L = p * (bar p - <bar p, p>)
 *                           bar y = -bd_L / B, bar logits = y * (bar y - <bar y, y>)
 *   then back through the forward pass, where each h_{l-1} also feeds G_l:
 *     bar h_{l-1} = 2 R_l^T d_l + W_l^T bar a_l,  bar a_{l-1} = m_{l-1} * bar h_{l-1}
 *   and dD/dx = bar h_0.
 * tests/unit/fl_audit checks this against finite differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/audit.h"

#define MAXL 16

typedef struct net {
    int L;
    int in[MAXL], out[MAXL];
    size_t woff[MAXL], boff[MAXL];
    int c, h, w; /* input image shape */
} net;

static int net_of(const fedc_arch *a, net *n) {
    memset(n, 0, sizeof *n);
    const char *spec = fedc_arch_spec(a);
    /* Dense layers only (ReLU implied between them; flatten/relu tokens allowed). */
    for (const char *p = spec; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!(len > 6 && !strncmp(p, "dense:", 6)) && !(len == 4 && !strncmp(p, "relu", 4)) &&
            !(len == 7 && !strncmp(p, "flatten", 7)))
            return -1;
        p += len + (e ? 1 : 0);
    }
    int nt = fedc_arch_ntensors(a);
    if (nt < 2 || nt % 2 || nt / 2 > MAXL) return -1;
    fedc_shape s = fedc_arch_input(a);
    n->c = s.c;
    n->h = s.h;
    n->w = s.w;
    int prev = s.c * s.h * s.w;
    for (int l = 0; l < nt / 2; l++) {
        fedc_tensor_info w = fedc_arch_tensor(a, 2 * l), b = fedc_arch_tensor(a, 2 * l + 1);
        if (w.ndim != 2 || b.ndim != 1 || w.dims[1] != prev || b.dims[0] != w.dims[0]) return -1;
        n->in[l] = prev;
        n->out[l] = w.dims[0];
        n->woff[l] = w.offset;
        n->boff[l] = b.offset;
        prev = w.dims[0];
    }
    n->L = nt / 2;
    return 0;
}

int fedc_inversion_supported(const fedc_arch *a) {
    net n;
    return net_of(a, &n) == 0;
}

static void softmax(const double *z, int c, double *p) {
    double mx = z[0], s = 0;
    for (int k = 1; k < c; k++)
        if (z[k] > mx) mx = z[k];
    for (int k = 0; k < c; k++) s += (p[k] = exp(z[k] - mx));
    for (int k = 0; k < c; k++) p[k] /= s;
}

/* Per-sample activations: a[l], h[l] (h[0] = x), deltas d[l]. */
typedef struct acts {
    double *buf;
    double *a[MAXL + 1], *h[MAXL + 1], *d[MAXL + 1], *bd[MAXL + 1], *bh[MAXL + 1];
    double *p, *y;
} acts;

static int acts_alloc(const net *n, acts *s) {
    size_t total = (size_t)n->in[0] * 2 + 32;
    for (int l = 0; l < n->L; l++) total += (size_t)n->out[l] * 5 + (size_t)n->in[l];
    total += (size_t)n->out[n->L - 1] * 2;
    s->buf = calloc(total, sizeof(double));
    if (!s->buf) return -1;
    double *p = s->buf;
    s->h[0] = p;
    p += n->in[0];
    s->bh[0] = p;
    p += n->in[0];
    for (int l = 1; l <= n->L; l++) {
        int o = n->out[l - 1];
        s->a[l] = p, p += o;
        s->h[l] = p, p += o;
        s->d[l] = p, p += o;
        s->bd[l] = p, p += o;
        s->bh[l] = p, p += o;
    }
    s->p = p, p += n->out[n->L - 1];
    s->y = p;
    return 0;
}

static void forward(const net *n, const float *params, acts *s) {
    for (int l = 1; l <= n->L; l++) {
        const float *W = params + n->woff[l - 1], *b = params + n->boff[l - 1];
        int in = n->in[l - 1], out = n->out[l - 1];
        const double *x = s->h[l - 1];
        for (int o = 0; o < out; o++) {
            double v = b[o];
            const float *row = W + (size_t)o * in;
            for (int i = 0; i < in; i++) v += row[i] * x[i];
            s->a[l][o] = v;
            s->h[l][o] = l < n->L && v < 0 ? 0 : v;
        }
    }
}

static void backward_deltas(const net *n, const float *params, acts *s, int batch) {
    int L = n->L, C = n->out[L - 1];
    softmax(s->a[L], C, s->p);
    for (int k = 0; k < C; k++) s->d[L][k] = (s->p[k] - s->y[k]) / batch;
    for (int l = L - 1; l >= 1; l--) {
        const float *W = params + n->woff[l]; /* W_{l+1}: out[l] x in[l] */
        int in = n->in[l], out = n->out[l];
        for (int i = 0; i < in; i++) s->d[l][i] = 0;
        for (int o = 0; o < out; o++) {
            double dv = s->d[l + 1][o];
            const float *row = W + (size_t)o * in;
            for (int i = 0; i < in; i++) s->d[l][i] += row[i] * dv;
        }
        for (int i = 0; i < in; i++)
            if (!(s->a[l][i] > 0)) s->d[l][i] = 0;
    }
}

double fedc_inversion_match(const fedc_arch *a, const float *params, const float *g_obs, int batch,
                            const double *x, const double *label_logits, double *dx, double *dlogits) {
    net n;
    if (net_of(a, &n) != 0 || batch < 1) return -1;
    size_t P = fedc_arch_nparams(a);
    int L = n.L, C = n.out[L - 1], D0 = n.in[0];
    double *R = calloc(P, sizeof(double));
    acts *s = calloc((size_t)batch, sizeof *s);
    if (!R || !s) {
        free(R);
        free(s);
        return -1;
    }
    int ok = 1;
    for (int b = 0; b < batch && ok; b++) ok = acts_alloc(&n, &s[b]) == 0;
    double loss = -1;
    if (!ok) goto out;
    /* Forward, deltas, and the gradient G into R. */
    for (int b = 0; b < batch; b++) {
        memcpy(s[b].h[0], x + (size_t)b * D0, (size_t)D0 * sizeof(double));
        softmax(label_logits + (size_t)b * C, C, s[b].y);
        forward(&n, params, &s[b]);
        backward_deltas(&n, params, &s[b], batch);
        for (int l = 1; l <= L; l++) {
            int in = n.in[l - 1], out = n.out[l - 1];
            double *G = R + n.woff[l - 1], *g = R + n.boff[l - 1];
            for (int o = 0; o < out; o++) {
                double dv = s[b].d[l][o];
                g[o] += dv;
                if (dv == 0) continue;
                double *row = G + (size_t)o * in;
                const double *h = s[b].h[l - 1];
                for (int i = 0; i < in; i++) row[i] += dv * h[i];
            }
        }
    }
    loss = 0;
    for (size_t j = 0; j < P; j++) {
        R[j] -= g_obs[j];
        loss += R[j] * R[j];
    }
    if (!dx && !dlogits) goto out;
    for (int b = 0; b < batch; b++) {
        acts *q = &s[b];
        /* Adjoints of the deltas, first layer up. */
        for (int l = 1; l <= L; l++) {
            int in = n.in[l - 1], out = n.out[l - 1];
            const double *Rw = R + n.woff[l - 1], *rb = R + n.boff[l - 1];
            const float *W = params + n.woff[l - 1];
            for (int o = 0; o < out; o++) {
                const double *row = Rw + (size_t)o * in;
                double v = 0;
                for (int i = 0; i < in; i++) v += row[i] * q->h[l - 1][i];
                v = 2 * v + 2 * rb[o];
                if (l > 1) {
                    const float *wr = W + (size_t)o * in;
                    for (int i = 0; i < in; i++)
                        if (q->a[l - 1][i] > 0) v += wr[i] * q->bd[l - 1][i];
                }
                q->bd[l][o] = v;
            }
        }
        /* Through the softmaxes. */
        double *bd = q->bd[L], dot_p = 0, dot_y = 0;
        for (int k = 0; k < C; k++) {
            dot_p += bd[k] / batch * q->p[k];
            dot_y += -bd[k] / batch * q->y[k];
        }
        double *bar_a = q->bh[L]; /* scratch: bar a_l of the current layer */
        for (int k = 0; k < C; k++) bar_a[k] = q->p[k] * (bd[k] / batch - dot_p);
        if (dlogits)
            for (int k = 0; k < C; k++) dlogits[(size_t)b * C + k] = q->y[k] * (-bd[k] / batch - dot_y);
        /* Back through the forward pass. */
        for (int l = L; l >= 1; l--) {
            int in = n.in[l - 1], out = n.out[l - 1];
            const double *Rw = R + n.woff[l - 1];
            const float *W = params + n.woff[l - 1];
            double *bh = q->bh[l - 1];
            for (int i = 0; i < in; i++) bh[i] = 0;
            for (int o = 0; o < out; o++) {
                double dv = 2 * q->d[l][o], av = bar_a[o];
                const double *rr = Rw + (size_t)o * in;
                const float *wr = W + (size_t)o * in;
                for (int i = 0; i < in; i++) bh[i] += rr[i] * dv + wr[i] * av;
            }
            if (l - 1 >= 1) {
                for (int i = 0; i < in; i++) bh[i] = q->a[l - 1][i] > 0 ? bh[i] : 0; /* bar a_{l-1} */
                bar_a = bh;
            }
        }
        if (dx) memcpy(dx + (size_t)b * D0, q->bh[0], (size_t)D0 * sizeof(double));
    }
out:
    for (int b = 0; b < batch; b++) free(s[b].buf);
    free(s);
    free(R);
    return loss;
}

/* Smoothed total variation of one image and its gradient (added into g). */
static double tv_grad(const double *x, int w, int h, double weight, double *g) {
    const double eps = 1e-6;
    double tv = 0;
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            int i = r * w + c;
            if (c + 1 < w) {
                double d = x[i + 1] - x[i], s = sqrt(d * d + eps);
                tv += s;
                if (g) {
                    g[i + 1] += weight * d / s;
                    g[i] -= weight * d / s;
                }
            }
            if (r + 1 < h) {
                double d = x[i + w] - x[i], s = sqrt(d * d + eps);
                tv += s;
                if (g) {
                    g[i + w] += weight * d / s;
                    g[i] -= weight * d / s;
                }
            }
        }
    return weight * tv;
}

double fedc_inversion_run(const fedc_arch *a, const float *params, const float *g_obs,
                          const fedc_inversion_config *cfg, float *x_out, int32_t *y_out, fedc_error *err) {
    net n;
    if (net_of(a, &n) != 0) {
        fedc_fail(err, "model: the inversion audit supports dense ReLU networks (MLPs) only, not %s; the gradient "
                       "of its matching loss is derived by hand for dense layers",
                  fedc_arch_spec(a));
        return -1;
    }
    int B = cfg->batch, C = n.out[n.L - 1], D0 = n.in[0];
    if (B < 1 || B > 64) {
        fedc_fail(err, "audit: batch %d out of range; allowed: 1..64", B);
        return -1;
    }
    size_t nx = (size_t)B * D0, nl = (size_t)B * C;
    double *x = malloc(nx * sizeof *x), *gx = malloc(nx * sizeof *gx), *mx = calloc(nx, sizeof *mx),
           *vx = calloc(nx, sizeof *vx), *best = malloc(nx * sizeof *best);
    double *lg = malloc(nl * sizeof *lg), *gl = malloc(nl * sizeof *gl), *ml = calloc(nl, sizeof *ml),
           *vl = calloc(nl, sizeof *vl), *best_l = malloc(nl * sizeof *best_l);
    double result = -1;
    if (!x || !gx || !mx || !vx || !best || !lg || !gl || !ml || !vl || !best_l) {
        fedc_fail(err, "out of memory for the inversion");
        goto out;
    }
    fedc_rng rng = fedc_rng_derive(cfg->seed, 0xA0D17ull, (uint64_t)B);
    for (size_t i = 0; i < nx; i++) x[i] = fedc_rng_uniform(&rng);
    if (cfg->idlg) {
        /* iDLG: with one sample, p - y is negative only at the true label,
         * so the last bias gradient's smallest entry names it. */
        const float *gb = g_obs + n.boff[n.L - 1];
        for (int b = 0; b < B; b++) {
            int lab = 0;
            for (int k = 1; k < C; k++)
                if (gb[k] < gb[lab]) lab = k;
            for (int k = 0; k < C; k++) lg[(size_t)b * C + k] = k == lab ? 30.0 : 0.0;
        }
    } else {
        for (size_t i = 0; i < nl; i++) lg[i] = fedc_rng_normal(&rng);
    }
    memcpy(best, x, nx * sizeof *x);
    memcpy(best_l, lg, nl * sizeof *lg);
    double best_loss = INFINITY;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int it = 1; it <= cfg->iters; it++) {
        double d = fedc_inversion_match(a, params, g_obs, B, x, lg, gx, cfg->idlg ? NULL : gl);
        if (d < 0) {
            fedc_fail(err, "out of memory in the inversion");
            goto out;
        }
        if (d < best_loss) {
            best_loss = d;
            memcpy(best, x, nx * sizeof *x);
            memcpy(best_l, lg, nl * sizeof *lg);
        }
        /* Scale-free steps: the matching loss can be tiny (an untrained
         * model's gradients are small), Adam normalises it away. */
        if (cfg->tv > 0)
            for (int b = 0; b < B; b++)
                tv_grad(x + (size_t)b * D0, n.w, n.h * n.c, cfg->tv * (d > 0 ? d : 1), gx + (size_t)b * D0);
        double c1 = 1 - pow(b1, it), c2 = 1 - pow(b2, it);
        for (size_t i = 0; i < nx; i++) {
            mx[i] = b1 * mx[i] + (1 - b1) * gx[i];
            vx[i] = b2 * vx[i] + (1 - b2) * gx[i] * gx[i];
            x[i] -= cfg->lr * (mx[i] / c1) / (sqrt(vx[i] / c2) + eps);
            if (x[i] < 0) x[i] = 0; /* pixels live in [0, 1] */
            if (x[i] > 1) x[i] = 1;
        }
        if (!cfg->idlg)
            for (size_t i = 0; i < nl; i++) {
                ml[i] = b1 * ml[i] + (1 - b1) * gl[i];
                vl[i] = b2 * vl[i] + (1 - b2) * gl[i] * gl[i];
                lg[i] -= cfg->lr * (ml[i] / c1) / (sqrt(vl[i] / c2) + eps);
            }
    }
    double d = fedc_inversion_match(a, params, g_obs, B, x, lg, NULL, NULL);
    if (d >= 0 && d < best_loss) {
        best_loss = d;
        memcpy(best, x, nx * sizeof *x);
        memcpy(best_l, lg, nl * sizeof *lg);
    }
    for (size_t i = 0; i < nx; i++) x_out[i] = (float)best[i];
    for (int b = 0; b < B; b++) {
        int lab = 0;
        for (int k = 1; k < C; k++)
            if (best_l[(size_t)b * C + k] > best_l[(size_t)b * C + lab]) lab = k;
        y_out[b] = lab;
    }
    result = best_loss;
out:
    free(x);
    free(gx);
    free(mx);
    free(vx);
    free(best);
    free(lg);
    free(gl);
    free(ml);
    free(vl);
    free(best_l);
    return result;
}
