/* Exact Hessian-vector products (Pearlmutter 1994, "Fast exact
 * multiplication by the Hessian"). Hv is the directional derivative of the
 * gradient along v: R{grad} with R{f} = d/dr f(params + r v) at r = 0. The R
 * operator is applied to every quantity of the forward and backward passes:
 * the forward pass carries each activation's tangent R{a} beside a, the
 * backward pass each activation gradient's tangent R{da} beside da, and the
 * parameter gradients' tangents are Hv. Every layer's rule is the
 * derivative of its forward or backward formula (product rule on the
 * bilinear conv/dense terms, the derivative of the normalisations, masks of
 * ReLU, dropout and max pool held fixed since their derivative is zero
 * almost everywhere). The cost is about three gradient computations.
 *
 * The primal forward runs without the fused conv + pool pass (so every conv
 * output is stored) and reuses the dropout masks of the fedc_nn_grad call
 * that preceded it on the same workspace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

struct fedc_hvp_ws {
    const fedc_arch *arch;
    int max_batch;
    float *rout[NN_MAX_LAYERS]; /* tangent of each op's output */
    float *rgrad[2];            /* tangents of activation gradients (ping-pong) */
    float *dxh, *rdxh;          /* normalisations: dxhat and its tangent, input layout */
    float *tdx;                 /* conv: second part of the input-gradient tangent */
    float *tw, *tb;             /* conv: second part of the weight-gradient tangent; scratch bias grad */
    float *rw_std, *dw_std, *rdw_std; /* wsconv: tangent of w_std, gradient of w_std and its tangent */
    float *zeros;               /* a zero bias for the linear conv terms */
    float *pgrad;               /* parameter gradient when the caller passes none */
    void *block;
};

static size_t act_floats(const fedc_arch *a, size_t nb, size_t *in_max, size_t *w_max, size_t *c_max) {
    size_t grad_max = 0;
    *in_max = *w_max = *c_max = 0;
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        if (op->out_size > grad_max) grad_max = op->out_size;
        if (op->in_size > grad_max) grad_max = op->in_size;
        if (op->in_size > *in_max) *in_max = op->in_size;
        if (op->w_count > *w_max) *w_max = op->w_count;
        if ((size_t)op->out.c > *c_max) *c_max = (size_t)op->out.c;
    }
    return grad_max * nb;
}

fedc_hvp_ws *fedc_hvp_ws_create(const fedc_arch *a, int max_batch) {
    if (!a || max_batch < 1 || max_batch > NN_MAX_BATCH) return NULL;
    fedc_hvp_ws *hw = calloc(1, sizeof *hw);
    if (!hw) return NULL;
    hw->arch = a;
    hw->max_batch = max_batch;
    const size_t nb = (size_t)max_batch;
    size_t in_max, w_max, c_max, total = 0;
    size_t grad = act_floats(a, nb, &in_max, &w_max, &c_max);
    size_t sizes[NN_MAX_LAYERS];
    for (int i = 0; i < a->n_ops; i++) total += sizes[i] = (nb * a->ops[i].out_size + 15) / 16 * 16;
    /* dxh and rdxh also serve the weight standardisation (w_max floats). */
    size_t norm = nb * in_max > w_max ? nb * in_max : w_max;
    size_t rest[] = {grad, grad, norm, norm, nb * in_max, w_max, c_max, w_max, w_max, w_max, c_max, a->n_params};
    const int nrest = (int)(sizeof rest / sizeof rest[0]);
    for (int k = 0; k < nrest; k++) total += rest[k] = (rest[k] + 16) / 16 * 16;
    hw->block = fedc_nn_alloc(total);
    if (!hw->block) {
        free(hw);
        return NULL;
    }
    memset(hw->block, 0, total * sizeof(float));
    float *p = hw->block;
    for (int i = 0; i < a->n_ops; i++) {
        hw->rout[i] = p;
        p += sizes[i];
    }
    float **slots[] = {&hw->rgrad[0], &hw->rgrad[1], &hw->dxh, &hw->rdxh, &hw->tdx, &hw->tw, &hw->tb,
                       &hw->rw_std, &hw->dw_std, &hw->rdw_std, &hw->zeros, &hw->pgrad};
    for (int k = 0; k < nrest; k++) {
        *slots[k] = p;
        p += rest[k];
    }
    return hw;
}

void fedc_hvp_ws_free(fedc_hvp_ws *hw) {
    if (!hw) return;
    fedc_nn_free(hw->block);
    free(hw);
}

/* A view of one normalisation group: nseg runs of len floats, stride apart. */
typedef struct group_view {
    size_t base, nseg, len, stride;
} group_view;

#define FOR_GROUP(gv, j) \
    for (size_t seg_ = 0; seg_ < (gv).nseg; seg_++) \
        for (size_t j = (gv).base + seg_ * (gv).stride, end_ = j + (gv).len; j < end_; j++)

static double group_count(group_view gv) { return (double)(gv.nseg * gv.len); }

/* Tangent of xhat = (x - mean) r over a group: r (Rx - mean(Rx) - xhat mean(xhat Rx)). */
static void norm_tangent(group_view gv, const float *x, float mean, float r, const float *rx, float *rxh) {
    double s1 = 0, s2 = 0, cnt = group_count(gv);
    FOR_GROUP(gv, j) {
        float xh = (x[j] - mean) * r;
        s1 += rx[j];
        s2 += (double)xh * rx[j];
    }
    float m1 = (float)(s1 / cnt), m2 = (float)(s2 / cnt);
    FOR_GROUP(gv, j) {
        float xh = (x[j] - mean) * r;
        rxh[j] = r * (rx[j] - m1 - xh * m2);
    }
}

/* Backward of xhat = (x - mean) r and its tangent, from dxh = dL/dxhat and
 * rdxh = R{dxh}:
 *   dx    = r (dxh - mean(dxh) - xhat mean(dxh xhat))
 *   R{dx} = (Rr / r) dx + r (rdxh - mean(rdxh) - Rxhat mean(dxh xhat)
 *                            - xhat mean(rdxh xhat + dxh Rxhat))
 * with Rr / r = -r mean(xhat Rx). rx may be NULL (a zero tangent); dx and
 * rdx may be NULL when not needed. */
static void norm_backward_tangent(group_view gv, const float *x, float mean, float r, const float *rx,
                                  const float *dxh, const float *rdxh, float *dx, float *rdx) {
    const double cnt = group_count(gv);
    double sd = 0, sdx = 0, srd = 0, srdx = 0, sxr = 0, srx = 0, sdrxh = 0;
    FOR_GROUP(gv, j) {
        float xh = (x[j] - mean) * r;
        sd += dxh[j];
        sdx += (double)dxh[j] * xh;
        srd += rdxh[j];
        srdx += (double)rdxh[j] * xh;
        if (rx) {
            srx += rx[j];
            sxr += (double)xh * rx[j];
        }
    }
    const float m_d = (float)(sd / cnt), m_dx = (float)(sdx / cnt), m_rd = (float)(srd / cnt);
    const float m_rdx = (float)(srdx / cnt), m_rx = (float)(srx / cnt), m_xr = (float)(sxr / cnt);
    /* mean(dxh Rxhat) needs Rxhat, itself a function of the group means. */
    if (rx) {
        FOR_GROUP(gv, j) {
            float xh = (x[j] - mean) * r;
            float rxh = r * (rx[j] - m_rx - xh * m_xr);
            sdrxh += (double)dxh[j] * rxh;
        }
    }
    const float m_drxh = (float)(sdrxh / cnt), rr_over_r = -r * m_xr;
    FOR_GROUP(gv, j) {
        float xh = (x[j] - mean) * r;
        float d = r * (dxh[j] - m_d - xh * m_dx);
        if (dx) dx[j] = d;
        if (rdx) {
            float rxh = rx ? r * (rx[j] - m_rx - xh * m_xr) : 0.0f;
            rdx[j] = rr_over_r * d + r * (rdxh[j] - m_rd - rxh * m_dx - xh * (m_rdx + m_drxh));
        }
    }
}

static void relu_mask(const float *y, float *g, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!(y[i] > 0.0f)) g[i] = 0.0f;
}

/* ---- wsconv: tangent and backward of the weight standardisation -------- */

/* R{w_std} from R{w} (rw) and R{gain} (rgain). */
static void ws_tangent(const nn_op *op, const float *w, const float *gain, const float *stats, const float *rw,
                       const float *rgain, float *rw_std) {
    const size_t N = op->w_count / (size_t)op->out.c;
    const float inv_sqrt_n = (float)(1.0 / sqrt((double)N));
    for (int oc = 0; oc < op->out.c; oc++) {
        group_view gv = {(size_t)oc * N, 1, N, 0};
        const float mean = stats[2 * oc], r = stats[2 * oc + 1];
        norm_tangent(gv, w, mean, r, rw, rw_std);
        const float s = gain[oc] * inv_sqrt_n, rs = rgain[oc] * inv_sqrt_n;
        for (size_t j = gv.base; j < gv.base + N; j++) rw_std[j] = rs * (w[j] - mean) * r + s * rw_std[j];
    }
}

/* From dws = dL/dw_std and rdws = R{dws}: dw, dgain and their tangents
 * hv_w, hv_gain. */
static void ws_backward_tangent(const nn_op *op, const float *w, const float *gain, const float *stats,
                                const float *rw, const float *rgain, const float *dws, const float *rdws,
                                float *dxh, float *rdxh, float *dw, float *dgain, float *hv_w, float *hv_gain) {
    const size_t N = op->w_count / (size_t)op->out.c;
    const float inv_sqrt_n = (float)(1.0 / sqrt((double)N));
    for (int oc = 0; oc < op->out.c; oc++) {
        group_view gv = {(size_t)oc * N, 1, N, 0};
        const float mean = stats[2 * oc], r = stats[2 * oc + 1];
        const float s = gain[oc] * inv_sqrt_n, rs = rgain[oc] * inv_sqrt_n;
        /* w_std = s what: dwhat = s dws, R{dwhat} = rs dws + s R{dws}. */
        double sg = 0, rsg = 0;
        for (size_t j = gv.base; j < gv.base + N; j++) {
            float what = (w[j] - mean) * r;
            dxh[j] = s * dws[j];
            rdxh[j] = rs * dws[j] + s * rdws[j];
            sg += (double)dws[j] * what;
            rsg += (double)rdws[j] * what;
        }
        norm_backward_tangent(gv, w, mean, r, rw, dxh, rdxh, dw, hv_w);
        /* dgain = sum(dws what) / sqrt(N); R{} adds dws R{what}. */
        dgain[oc] = (float)(sg * inv_sqrt_n);
        double m_rw = 0, m_wr = 0;
        for (size_t j = gv.base; j < gv.base + N; j++) {
            float what = (w[j] - mean) * r;
            m_rw += rw[j];
            m_wr += (double)what * rw[j];
        }
        m_rw /= (double)N;
        m_wr /= (double)N;
        double sdr = 0;
        for (size_t j = gv.base; j < gv.base + N; j++) {
            float what = (w[j] - mean) * r;
            float rwhat = r * (rw[j] - (float)m_rw - what * (float)m_wr);
            sdr += (double)dws[j] * rwhat;
        }
        hv_gain[oc] = (float)((rsg + sdr) * inv_sqrt_n);
    }
}

/* ---- forward tangents --------------------------------------------------- */

static void dense_tangent(const nn_op *op, fedc_ws *ws, const float *w, const float *v, const float *x,
                          const float *rx, const float *y, float *ry, int n) {
    const int in = (int)op->in_size, out = op->out.c;
    const float *rw = v + op->w_off, *rb = v + op->b_off;
    nn_gemm(ws, 0, 1, n, out, in, x, in, rw, in, 0, ry, out);
    if (rx) nn_gemm(ws, 0, 1, n, out, in, rx, in, w, in, 1, ry, out);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < out; j++) ry[(size_t)i * out + j] += rb[j];
    if (op->relu) relu_mask(y, ry, (size_t)n * out);
}

static void conv_tangent(const nn_op *op, nn_op_ws *o, fedc_ws *ws, fedc_hvp_ws *hw, const float *params,
                         const float *v, const float *x, const float *rx, const float *y, float *ry, int n) {
    nn_op lin = *op;
    lin.relu = 0;
    const float *w = params + op->w_off, *rw = v + op->w_off;
    if (op->ws) {
        ws_tangent(op, w, params + op->gain_off, o->w_stats, rw, v + op->gain_off, hw->rw_std);
        w = o->w_std;
        rw = hw->rw_std;
    }
    nn_conv_forward(&lin, o, ws, rw, v + op->b_off, x, ry, n);
    if (rx) {
        nn_conv_forward(&lin, o, ws, w, hw->zeros, rx, hw->tdx, n);
        size_t count = (size_t)n * op->out_size;
        for (size_t i = 0; i < count; i++) ry[i] += hw->tdx[i];
    }
    if (op->relu) relu_mask(y, ry, (size_t)n * op->out_size);
}

/* Group g of a group norm (one sample s): its channels' pixels, contiguous. */
static group_view gn_group(const nn_op *op, int s, int g) {
    const size_t hw = (size_t)op->in.h * op->in.w, cpg = (size_t)(op->in.c / op->groups);
    return (group_view){(size_t)s * op->in_size + (size_t)g * cpg * hw, 1, cpg * hw, 0};
}

/* Channel c of a batch norm: one run of pixels per sample. */
static group_view bn_group(const nn_op *op, int c, int n) {
    const size_t hw = (size_t)op->in.h * op->in.w;
    return (group_view){(size_t)c * hw, (size_t)n, hw, op->in_size};
}

/* R{y} = Rgamma xhat + gamma R{xhat} + Rbeta for a norm op (gn or bn). */
static void norm_op_tangent(const nn_op *op, const nn_op_ws *o, const float *params, const float *v,
                            const float *x, const float *rx, const float *y, float *ry, int n) {
    const float *gamma = params + op->w_off, *rgamma = v + op->w_off, *rbeta = v + op->b_off;
    const size_t hw = (size_t)op->in.h * op->in.w;
    const int C = op->in.c;
    const int ngroups = op->kind == NN_GROUPNORM ? n * op->groups : C;
    for (int k = 0; k < ngroups; k++) {
        group_view gv;
        float mean, r;
        if (op->kind == NN_GROUPNORM) {
            int s = k / op->groups, g = k % op->groups;
            gv = gn_group(op, s, g);
            mean = o->stats[2 * k];
            r = o->stats[2 * k + 1];
        } else {
            gv = bn_group(op, k, n);
            mean = o->stats[3 * k];
            r = o->stats[3 * k + 1];
        }
        if (rx)
            norm_tangent(gv, x, mean, r, rx, ry);
        else
            FOR_GROUP(gv, j) ry[j] = 0.0f;
        FOR_GROUP(gv, j) {
            int c = (int)((j % op->in_size) / hw);
            float xh = (x[j] - mean) * r;
            ry[j] = rgamma[c] * xh + gamma[c] * ry[j] + rbeta[c];
        }
    }
    if (op->relu) relu_mask(y, ry, (size_t)n * op->in_size);
}

/* ---- backward with tangents --------------------------------------------- */

/* Norm op (gn/bn) backward: parameter gradients (if dw), their tangents (hv),
 * and dx / R{dx} (if the op needs them). g and rg are already ReLU-masked. */
static void norm_op_backward(const nn_op *op, const nn_op_ws *o, fedc_hvp_ws *hw, const float *params,
                             const float *v, const float *x, const float *rx, const float *g, const float *rg,
                             float *dx, float *rdx, float *dw, float *db, float *hv, int n) {
    const float *gamma = params + op->w_off, *rgamma = v + op->w_off;
    const size_t hwsz = (size_t)op->in.h * op->in.w;
    const int C = op->in.c;
    float *hv_g = hv + op->w_off, *hv_b = hv + op->b_off;
    for (int c = 0; c < C; c++) hv_g[c] = hv_b[c] = dw[c] = db[c] = 0.0f;
    const int ngroups = op->kind == NN_GROUPNORM ? n * op->groups : C;
    for (int k = 0; k < ngroups; k++) {
        group_view gv;
        float mean, r;
        if (op->kind == NN_GROUPNORM) {
            gv = gn_group(op, k / op->groups, k % op->groups);
            mean = o->stats[2 * k];
            r = o->stats[2 * k + 1];
        } else {
            gv = bn_group(op, k, n);
            mean = o->stats[3 * k];
            r = o->stats[3 * k + 1];
        }
        /* R{xhat} of the group, into tdx (only read here). */
        if (rx) norm_tangent(gv, x, mean, r, rx, hw->tdx);
        FOR_GROUP(gv, j) {
            int c = (int)((j % op->in_size) / hwsz);
            float xh = (x[j] - mean) * r, rxh = rx ? hw->tdx[j] : 0.0f;
            dw[c] += g[j] * xh;
            db[c] += g[j];
            hv_g[c] += rg[j] * xh + g[j] * rxh;
            hv_b[c] += rg[j];
            hw->dxh[j] = g[j] * gamma[c];
            hw->rdxh[j] = rg[j] * gamma[c] + g[j] * rgamma[c];
        }
        if (op->need_dx) norm_backward_tangent(gv, x, mean, r, rx, hw->dxh, hw->rdxh, dx, rdx);
    }
}

static void dense_backward_tangent(const nn_op *op, fedc_ws *ws, const float *w, const float *v, const float *x,
                                   const float *rx, const float *g, const float *rg, float *dx, float *rdx,
                                   float *dw, float *db, float *hv, int n) {
    const int in = (int)op->in_size, out = op->out.c;
    const float *rw = v + op->w_off;
    float *hv_w = hv + op->w_off, *hv_b = hv + op->b_off;
    nn_gemm(ws, 1, 0, out, in, n, g, out, x, in, 0, dw, in);
    memset(db, 0, (size_t)out * sizeof *db);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < out; j++) db[j] += g[(size_t)i * out + j];
    nn_gemm(ws, 1, 0, out, in, n, rg, out, x, in, 0, hv_w, in);
    if (rx) nn_gemm(ws, 1, 0, out, in, n, g, out, rx, in, 1, hv_w, in);
    memset(hv_b, 0, (size_t)out * sizeof *hv_b);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < out; j++) hv_b[j] += rg[(size_t)i * out + j];
    if (!op->need_dx) return;
    nn_gemm(ws, 0, 0, n, in, out, g, out, w, in, 0, dx, in);
    nn_gemm(ws, 0, 0, n, in, out, rg, out, w, in, 0, rdx, in);
    nn_gemm(ws, 0, 0, n, in, out, g, out, rw, in, 1, rdx, in);
}

static void conv_backward_tangent(const nn_op *op, nn_op_ws *o, fedc_ws *ws, fedc_hvp_ws *hw, const float *params,
                                  const float *v, const float *x, const float *rx, const float *y, float *g,
                                  float *rg, float *dx, float *rdx, float *grad, float *hv, int n) {
    nn_op lin = *op;
    lin.relu = 0; /* g and rg come masked */
    const float *w = op->ws ? o->w_std : params + op->w_off;
    const float *rw = op->ws ? hw->rw_std : v + op->w_off;
    if (op->ws) ws_tangent(op, params + op->w_off, params + op->gain_off, o->w_stats, v + op->w_off,
                           v + op->gain_off, hw->rw_std);
    /* Gradient of the (standardised) weights: into grad, or scratch for ws. */
    float *dws = op->ws ? hw->dw_std : grad + op->w_off;
    nn_conv_backward(&lin, o, ws, w, x, y, g, dx, dws, grad + op->b_off, n);
    /* R{dW} = corr(R{g}, x) + corr(g, R{x}); R{dx} = convT(R{g}, W) + convT(g, R{W}). */
    float *hv_w = op->ws ? hw->rdw_std : hv + op->w_off;
    nn_conv_backward(&lin, o, ws, w, x, y, rg, op->need_dx ? rdx : NULL, hv_w, hv + op->b_off, n);
    if (rx) { /* an earlier op has parameters, so op->need_dx */
        nn_conv_backward(&lin, o, ws, rw, rx, y, g, hw->tdx, hw->tw, hw->tb, n);
        for (size_t j = 0; j < op->w_count; j++) hv_w[j] += hw->tw[j];
        size_t count = (size_t)n * op->in_size;
        for (size_t j = 0; j < count; j++) rdx[j] += hw->tdx[j];
    }
    if (op->ws)
        ws_backward_tangent(op, params + op->w_off, params + op->gain_off, o->w_stats, v + op->w_off,
                            v + op->gain_off, hw->dw_std, hw->rdw_std, hw->dxh, hw->rdxh, grad + op->w_off,
                            grad + op->gain_off, hv + op->w_off, hv + op->gain_off);
}

/* Conv ops[i-1] followed by max pool ops[i]: dW, db, dx and their tangents
 * from the pool's output gradient g and its tangent rg, by three fused
 * conv + pool backward passes: (W, x; g), (W, x; rg), (R{W}, R{x}; g). The
 * ReLU of the conv is masked by the pool's outputs inside. Sets *g_out and
 * *rg_out to the conv input's gradient and tangent (NULL if not needed). */
static void conv_pool_backward_tangent(const fedc_arch *a, int i, fedc_ws *ws, fedc_hvp_ws *hw, const float *params,
                                       const float *v, const float *rx, float *g, float *rg, float *grad, float *hv,
                                       int n, float **g_out, float **rg_out) {
    const nn_op *pool = &a->ops[i], *conv = &a->ops[i - 1];
    nn_op_ws *po = &ws->op[i], *co = &ws->op[i - 1];
    const float *x = ws->act_in[i - 1], *pooled = ws->act_out[i];
    float *dx = NULL, *rdx = NULL;
    if (conv->need_dx) {
        dx = g == ws->grad_buf[0] ? ws->grad_buf[1] : ws->grad_buf[0];
        rdx = rg == hw->rgrad[0] ? hw->rgrad[1] : hw->rgrad[0];
    }
    const float *w = conv->ws ? co->w_std : params + conv->w_off;
    const float *rw = conv->ws ? hw->rw_std : v + conv->w_off;
    if (conv->ws) ws_tangent(conv, params + conv->w_off, params + conv->gain_off, co->w_stats, v + conv->w_off,
                             v + conv->gain_off, hw->rw_std);
    float *dws = conv->ws ? hw->dw_std : grad + conv->w_off;
    float *hv_w = conv->ws ? hw->rdw_std : hv + conv->w_off;
    nn_conv_pool_backward(conv, pool, ws, po->argmax, w, x, pooled, g, dx, dws, grad + conv->b_off, n);
    nn_conv_pool_backward(conv, pool, ws, po->argmax, w, x, pooled, rg, rdx, hv_w, hv + conv->b_off, n);
    if (rx) { /* an earlier op has parameters, so conv->need_dx */
        nn_conv_pool_backward(conv, pool, ws, po->argmax, rw, rx, pooled, g, hw->tdx, hw->tw, hw->tb, n);
        for (size_t j = 0; j < conv->w_count; j++) hv_w[j] += hw->tw[j];
        size_t cnt = (size_t)n * conv->in_size;
        for (size_t j = 0; j < cnt; j++) rdx[j] += hw->tdx[j];
    }
    if (conv->ws)
        ws_backward_tangent(conv, params + conv->w_off, params + conv->gain_off, co->w_stats, v + conv->w_off,
                            v + conv->gain_off, hw->dw_std, hw->rdw_std, hw->dxh, hw->rdxh, grad + conv->w_off,
                            grad + conv->gain_off, hv + conv->w_off, hv + conv->gain_off);
    *g_out = dx;
    *rg_out = rdx;
}

float fedc_nn_hvp(const fedc_arch *a, fedc_ws *ws, fedc_hvp_ws *hw, const float *params, const float *v,
                  float *hv, float *grad, const float *x, const int32_t *y, int n) {
    if (!nn_ws_fits(a, ws, n) || !hw || n > hw->max_batch || !nn_ws_fits(hw->arch, ws, n)) return NAN;
    if (!grad) grad = hw->pgrad; /* earlier layers need the gradient flowing back anyway */
    const float *logits = nn_forward(a, ws, params, x, n, NN_FWD_TRAIN | NN_FWD_KEEP_MASKS | NN_FWD_UNFUSED, NULL);
    /* Forward tangents; NULL stands for a zero tangent (before the first
     * parameterised op nothing depends on v). */
    const float *rin[NN_MAX_LAYERS], *rcur = NULL;
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        nn_op_ws *o = &ws->op[i];
        const float *xi = ws->act_in[i], *yi = ws->act_out[i];
        float *ry = hw->rout[i];
        rin[i] = rcur;
        switch (op->kind) {
        case NN_DENSE: dense_tangent(op, ws, params + op->w_off, v, xi, rcur, yi, ry, n); break;
        case NN_CONV: conv_tangent(op, o, ws, hw, params, v, xi, rcur, yi, ry, n); break;
        case NN_GROUPNORM:
        case NN_BATCHNORM: norm_op_tangent(op, o, params, v, xi, rcur, yi, ry, n); break;
        case NN_MAXPOOL:
            if (rcur) {
                const size_t in_plane = (size_t)op->in.h * op->in.w, out_plane = (size_t)op->out.h * op->out.w;
                const size_t planes = (size_t)n * op->in.c;
                for (size_t pl = 0; pl < planes; pl++)
                    for (size_t j = 0; j < out_plane; j++)
                        ry[pl * out_plane + j] = rcur[pl * in_plane + (size_t)o->argmax[pl * out_plane + j]];
            }
            break;
        case NN_AVGPOOL:
            if (rcur) nn_avgpool_forward(op, rcur, ry, n);
            break;
        case NN_RELU:
            if (rcur) {
                size_t count = (size_t)n * op->out_size;
                for (size_t j = 0; j < count; j++) ry[j] = yi[j] > 0.0f ? rcur[j] : 0.0f;
            }
            break;
        case NN_DROPOUT:
            if (rcur && o->mask_live)
                nn_mul(rcur, o->mask, ry, (size_t)n * op->out_size);
            else
                ry = (float *)rcur;
            break;
        }
        if (op->w_count || rcur) rcur = ry;
    }

    /* Loss: dlogits = (softmax - onehot) / n; R{dlogits} = p (Rz - sum p Rz) / n. */
    const int K = a->n_classes;
    float *g = ws->grad_buf[0], *rg = hw->rgrad[0];
    double loss = nn_softmax_xent(logits, y, n, K, g, NULL);
    for (int s = 0; s < n; s++) {
        const float *rz = rcur + (size_t)s * K, *gs = g + (size_t)s * K;
        int label = y[s] >= 0 && y[s] < K ? y[s] : 0;
        /* p = g*n + onehot */
        double dot = 0;
        for (int c = 0; c < K; c++) dot += ((double)gs[c] * n + (c == label)) * rz[c];
        for (int c = 0; c < K; c++) {
            double p = (double)gs[c] * n + (c == label);
            rg[(size_t)s * K + c] = (float)(p * (rz[c] - dot) / n);
        }
    }

    memset(hv, 0, a->n_params * sizeof *hv);
    for (int i = a->n_ops - 1; i >= 0; i--) {
        const nn_op *op = &a->ops[i];
        if (!op->need_dx && op->w_count == 0) break;
        nn_op_ws *o = &ws->op[i];
        const float *xi = ws->act_in[i], *yi = ws->act_out[i];
        float *dx = NULL, *rdx = NULL;
        if (op->need_dx) {
            dx = g == ws->grad_buf[0] ? ws->grad_buf[1] : ws->grad_buf[0];
            rdx = rg == hw->rgrad[0] ? hw->rgrad[1] : hw->rgrad[0];
        }
        const size_t count = (size_t)n * op->out_size;
        if (op->kind == NN_MAXPOOL && nn_conv_pool_fusable(a, i - 1)) {
            /* The pool passes both gradients to its winners only: the conv's
             * three backward products run over the winners (conv_pool.c). */
            conv_pool_backward_tangent(a, i, ws, hw, params, v, rin[i - 1], g, rg, grad, hv, n, &g, &rg);
            i--;
            continue;
        }
        if (op->relu) {
            relu_mask(yi, g, count);
            relu_mask(yi, rg, count);
        }
        switch (op->kind) {
        case NN_DENSE:
            dense_backward_tangent(op, ws, params + op->w_off, v, xi, rin[i], g, rg, dx, rdx, grad + op->w_off,
                                   grad + op->b_off, hv, n);
            break;
        case NN_CONV: conv_backward_tangent(op, o, ws, hw, params, v, xi, rin[i], yi, g, rg, dx, rdx, grad, hv, n); break;
        case NN_GROUPNORM:
        case NN_BATCHNORM:
            norm_op_backward(op, o, hw, params, v, xi, rin[i], g, rg, dx, rdx, grad + op->w_off, grad + op->b_off,
                             hv, n);
            if (op->kind == NN_BATCHNORM) memset(grad + op->rmean_off, 0, 2 * (size_t)op->in.c * sizeof *grad);
            break;
        case NN_MAXPOOL:
            nn_maxpool_backward(op, o->argmax, g, dx, n);
            nn_maxpool_backward(op, o->argmax, rg, rdx, n);
            break;
        case NN_AVGPOOL:
            nn_avgpool_backward(op, g, dx, n);
            nn_avgpool_backward(op, rg, rdx, n);
            break;
        case NN_RELU:
            relu_mask(yi, g, count);
            relu_mask(yi, rg, count);
            dx = g;
            rdx = rg;
            break;
        case NN_DROPOUT:
            if (o->mask_live) {
                nn_mul(g, o->mask, g, count);
                nn_mul(rg, o->mask, rg, count);
            }
            dx = g;
            rdx = rg;
            break;
        }
        g = dx;
        rg = rdx;
    }
    return (float)loss;
}
