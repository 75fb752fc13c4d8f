/* The optimizers of the seed papers, step by step against their equations
 * worked out here in double precision on small vectors: several steps with
 * changing gradients, bias correction, weight decay, to 1e-6. Parameters
 * are kept in float between steps on both sides, as the library stores
 * them. Also: sgd/adam/adamw bit for bit against the update loops fedc had
 * before the optimizers moved to src/nn/optim/, the state blob
 * (keep_state) and the tensor layout. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/nn.h"

#define D 6
#define STEPS 5

/* Gradients that change sign and size from step to step. */
static float grad_at(int s, int i) { return (float)(0.3 * sin(1.7 * s + 0.9 * i) + 0.05 * (i - 2)); }

static void init_params(float *p, int n) {
    for (int i = 0; i < n; i++) p[i] = (float)(0.5 - 0.21 * i + 0.07 * i * i);
}

static void expect_close(const char *what, int s, const float *got, const double *want, int n) {
    for (int i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-6 * fmax(1.0, fabs(want[i])))
            fail_msg("%s step %d [%d]: %.9g, expected %.9g", what, s + 1, i, (double)got[i], want[i]);
}

static double sgn(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }

/* ---- Lion: c = b1 m + (1-b1) g; p = p(1 - lr wd) - lr sign(c); m = b2 m + (1-b2) g ---- */
static void test_lion(void **state) {
    (void)state;
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_LION, 0.01f);
    assert_true(c.beta1 == 0.9f && c.beta2 == 0.99f);
    c.weight_decay = 0.1f;
    fedc_optim *o = fedc_optim_create(&c, D);
    float p[D], g[D];
    double m[D] = {0}, want[D];
    init_params(p, D);
    for (int i = 0; i < D; i++) want[i] = p[i];
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < D; i++) {
            g[i] = grad_at(s, i);
            double cc = 0.9 * m[i] + 0.1 * g[i];
            want[i] = (float)(want[i] * (1 - 0.01 * 0.1) - 0.01 * sgn(cc));
            m[i] = 0.99 * m[i] + 0.01 * g[i];
        }
        assert_int_equal(fedc_optim_step(o, p, g), 0);
        expect_close("lion", s, p, want, D);
    }
    fedc_optim_free(o);
    /* Without weight decay every coordinate with a non-zero gradient moves by exactly lr. */
    c.weight_decay = 0.0f;
    o = fedc_optim_create(&c, D);
    init_params(p, D);
    for (int s = 0; s < STEPS; s++) {
        float before[D];
        memcpy(before, p, sizeof p);
        for (int i = 0; i < D; i++) g[i] = grad_at(s, i);
        fedc_optim_step(o, p, g);
        for (int i = 0; i < D; i++) assert_true(fabsf(fabsf(p[i] - before[i]) - 0.01f) < 1e-6f);
    }
    fedc_optim_free(o);
}

/* ---- Adan, Algorithm 1 with the code's betas (1 - the paper's) ---- */
static void test_adan(void **state) {
    (void)state;
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_ADAN, 0.01f);
    assert_true(c.beta1 == 0.98f && c.beta2 == 0.92f && c.beta3 == 0.99f);
    c.weight_decay = 0.05f;
    const double b1 = 0.98f, b2 = 0.92f, b3 = 0.99f, lr = 0.01f, wd = 0.05f, eps = 1e-8f;
    fedc_optim *o = fedc_optim_create(&c, D);
    float p[D], g[D];
    double m[D] = {0}, v[D] = {0}, n[D] = {0}, prev[D] = {0}, want[D];
    init_params(p, D);
    for (int i = 0; i < D; i++) want[i] = p[i];
    for (int s = 0; s < STEPS; s++) {
        double t = s + 1;
        for (int i = 0; i < D; i++) {
            g[i] = grad_at(s, i);
            double diff = s == 0 ? 0 : g[i] - prev[i];
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * diff;
            double u = g[i] + b2 * diff;
            n[i] = b3 * n[i] + (1 - b3) * u * u;
            double eta = lr / (sqrt(n[i] / (1 - pow(b3, t))) + eps);
            double step = eta * (m[i] / (1 - pow(b1, t)) + b2 * v[i] / (1 - pow(b2, t)));
            want[i] = (float)((want[i] - step) / (1 + lr * wd));
            prev[i] = g[i];
        }
        fedc_optim_step(o, p, g);
        expect_close("adan", s, p, want, D);
    }
    fedc_optim_free(o);
}

/* ---- AdamP / SGDP projection, worked out on a [3, 4] weight ---- */
#define R 3
#define L 4

/* The projection of the paper: the channel view (rows), else the whole
 * tensor; returns the weight-decay ratio. */
static double ref_project(const double *p, const double *g, double *u, double delta, double wd_ratio) {
    const int views[2][2] = {{R, L}, {1, R * L}};
    for (int vi = 0; vi < 2; vi++) {
        int rows = views[vi][0], len = views[vi][1];
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            double dot = 0, pp = 0, gg = 0;
            for (int i = 0; i < len; i++) {
                dot += p[r * len + i] * g[r * len + i];
                pp += p[r * len + i] * p[r * len + i];
                gg += g[r * len + i] * g[r * len + i];
            }
            worst = fmax(worst, fabs(dot) / (fmax(sqrt(pp), 1e-8) * fmax(sqrt(gg), 1e-8)));
        }
        if (worst < delta / sqrt(len)) {
            for (int r = 0; r < rows; r++) {
                double pp = 0, dot = 0;
                for (int i = 0; i < len; i++) pp += p[r * len + i] * p[r * len + i];
                double nrm = sqrt(pp) + 1e-8;
                for (int i = 0; i < len; i++) dot += p[r * len + i] / nrm * u[r * len + i];
                for (int i = 0; i < len; i++) u[r * len + i] -= p[r * len + i] / nrm * dot;
            }
            return wd_ratio;
        }
    }
    return 1;
}

/* Step s's gradient for the [3,4] weight: orthogonal to every row of p
 * (scale-invariant weights) on even steps, aligned with p on odd ones. */
static void weight_grad(int s, const float *p, float *g) {
    for (int r = 0; r < R; r++) {
        double raw[L], pp = 0, dot = 0;
        for (int i = 0; i < L; i++) {
            raw[i] = grad_at(s, r * L + i);
            pp += (double)p[r * L + i] * p[r * L + i];
            dot += raw[i] * p[r * L + i];
        }
        for (int i = 0; i < L; i++)
            g[r * L + i] = (float)(s % 2 == 0 ? raw[i] - dot / pp * p[r * L + i] : raw[i] + 0.5 * p[r * L + i]);
    }
}

static fedc_optim *weight_optim(const fedc_optim_config *c) {
    fedc_tensor_info t;
    memset(&t, 0, sizeof t);
    t.count = R * L;
    t.ndim = 2;
    t.dims[0] = R;
    t.dims[1] = L;
    return fedc_optim_create_tensors(c, &t, 1, R * L);
}

static void test_adamp(void **state) {
    (void)state;
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_ADAMP, 0.01f);
        assert_true(c.delta == 0.1f && c.wd_ratio == 0.1f);
        c.weight_decay = 0.2f;
        c.nesterov = nesterov;
        const double b1 = 0.9f, b2 = 0.999f, lr = 0.01f, wd = 0.2f, eps = 1e-8f;
        fedc_optim *o = weight_optim(&c);
        float p[R * L], g[R * L];
        double m[R * L] = {0}, v[R * L] = {0}, want[R * L];
        init_params(p, R * L);
        for (int i = 0; i < R * L; i++) want[i] = p[i];
        int projected = 0;
        for (int s = 0; s < STEPS; s++) {
            double t = s + 1, pd[R * L], gd[R * L], u[R * L];
            weight_grad(s, p, g);
            for (int i = 0; i < R * L; i++) {
                pd[i] = p[i];
                gd[i] = g[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
                double denom = sqrt(v[i]) / sqrt(1 - pow(b2, t)) + eps;
                u[i] = (nesterov ? b1 * m[i] + (1 - b1) * g[i] : m[i]) / denom;
            }
            double ratio = ref_project(pd, gd, u, 0.1, 0.1);
            projected += ratio != 1;
            for (int i = 0; i < R * L; i++)
                want[i] = (float)(want[i] * (1 - lr * wd * ratio) - lr / (1 - pow(b1, t)) * u[i]);
            fedc_optim_step(o, p, g);
            expect_close(nesterov ? "adamp nesterov" : "adamp", s, p, want, R * L);
        }
        assert_int_equal(projected, 3); /* the even steps */
        fedc_optim_free(o);
    }
    /* A 1-d tensor is never projected: AdamP without decay is Adam. */
    fedc_optim_config a = fedc_optim_defaults(FEDC_OPT_ADAMP, 0.01f), b = fedc_optim_defaults(FEDC_OPT_ADAM, 0.01f);
    fedc_optim *oa = fedc_optim_create(&a, D), *ob = fedc_optim_create(&b, D);
    float pa[D], pb[D], g[D];
    init_params(pa, D);
    init_params(pb, D);
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < D; i++) g[i] = grad_at(s, i);
        fedc_optim_step(oa, pa, g);
        fedc_optim_step(ob, pb, g);
        for (int i = 0; i < D; i++) assert_true(fabsf(pa[i] - pb[i]) < 1e-7f);
    }
    fedc_optim_free(oa);
    fedc_optim_free(ob);
}

static void test_sgdp(void **state) {
    (void)state;
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_SGDP, 0.05f);
    c.momentum = 0.9f;
    c.weight_decay = 0.01f;
    const double lr = 0.05f, mu = 0.9f, wd = 0.01f;
    fedc_optim *o = weight_optim(&c);
    float p[R * L], g[R * L];
    double buf[R * L] = {0}, want[R * L];
    init_params(p, R * L);
    for (int i = 0; i < R * L; i++) want[i] = p[i];
    for (int s = 0; s < STEPS; s++) {
        double pd[R * L], gd[R * L], u[R * L];
        weight_grad(s, p, g);
        for (int i = 0; i < R * L; i++) {
            pd[i] = p[i];
            gd[i] = g[i];
            buf[i] = mu * buf[i] + g[i];
            u[i] = buf[i];
        }
        double ratio = ref_project(pd, gd, u, 0.1, 0.1);
        for (int i = 0; i < R * L; i++) want[i] = (float)(want[i] * (1 - lr * wd * ratio / (1 - mu)) - lr * u[i]);
        fedc_optim_step(o, p, g);
        expect_close("sgdp", s, p, want, R * L);
    }
    fedc_optim_free(o);
}

/* ---- EXAdam: cross-moment debiasing, gradient acceleration, dynamic step ---- */
static void test_exadam(void **state) {
    (void)state;
    for (int dynamic = 0; dynamic <= 1; dynamic++) {
        fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_EXADAM, 0.01f);
        assert_int_equal(c.dynamic_step, 1);
        c.dynamic_step = dynamic;
        c.weight_decay = 0.1f;
        const double b1 = 0.9f, b2 = 0.999f, lr = 0.01f, wd = 0.1f, eps = 1e-8f;
        fedc_optim *o = fedc_optim_create(&c, D);
        float p[D], g[D];
        double m[D] = {0}, v[D] = {0}, want[D];
        init_params(p, D);
        for (int i = 0; i < D; i++) want[i] = p[i];
        for (int s = 0; s < STEPS; s++) {
            double t = s + 1, b1t = pow(b1, t), b2t = pow(b2, t);
            double alpha = dynamic ? lr * log(sqrt(2.0) * sqrt(t + 1)) : lr;
            for (int i = 0; i < D; i++) {
                g[i] = grad_at(s, i);
                double w = want[i] - lr * wd * want[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
                double d1 = 1 + v[i] / (v[i] + eps) * b2t, d2 = 1 + m[i] * m[i] / (m[i] * m[i] + eps) * b1t;
                double mt = m[i] / (1 - b1t) * d1, vt = v[i] / (1 - b2t) * d2, gt = g[i] / (1 - b1t) * d1;
                want[i] = (float)(w - alpha * (mt + gt) / (sqrt(vt) + eps));
            }
            fedc_optim_step(o, p, g);
            expect_close(dynamic ? "exadam" : "exadam (fixed step)", s, p, want, D);
        }
        fedc_optim_free(o);
    }
}

/* ---- ADAHESSIAN on a quadratic 0.5 p^T A p: g = A p, H z = A z ---- */
#define NQ 10 /* a conv kernel [2,1,2,2] (8) and a bias (2) */

static double quad_a(int i, int j) { return i == j ? 1.0 + 0.3 * i : 0.2 / (1 + abs(i - j)) * ((i + j) % 3 - 1); }

static void test_adahessian(void **state) {
    (void)state;
    fedc_tensor_info t[2];
    memset(t, 0, sizeof t);
    t[0].count = 8;
    t[0].ndim = 4;
    t[0].dims[0] = 2;
    t[0].dims[1] = 1;
    t[0].dims[2] = 2;
    t[0].dims[3] = 2;
    t[1].offset = 8;
    t[1].count = 2;
    t[1].ndim = 1;
    t[1].dims[0] = 2;
    const double powers[2] = {1.0, 0.5};
    for (int pi = 0; pi < 2; pi++) {
        fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_ADAHESSIAN, 0.1f);
        assert_true(c.eps == 1e-4f && c.hessian_power == 1.0f);
        c.hessian_power = (float)powers[pi];
        c.weight_decay = 0.01f;
        const double b1 = 0.9f, b2 = 0.999f, lr = 0.1f, wd = 0.01f, eps = 1e-4f, k = powers[pi];
        fedc_optim *o = fedc_optim_create_tensors(&c, t, 2, NQ);
        assert_true(fedc_optim_wants_hvp(o));
        float p[NQ], g[NQ];
        double m[NQ] = {0}, v[NQ] = {0}, want[NQ];
        init_params(p, NQ);
        for (int i = 0; i < NQ; i++) want[i] = p[i];
        /* A step without H z is refused. */
        for (int i = 0; i < NQ; i++) g[i] = 0.1f;
        assert_int_equal(fedc_optim_step(o, p, g), -1);
        expect_close("adahessian (refused)", -1, p, want, NQ);
        fedc_rng rng;
        fedc_rng_seed(&rng, 3);
        for (int s = 0; s < STEPS; s++) {
            double t1 = s + 1, hz[NQ], dd[NQ];
            for (int i = 0; i < NQ; i++) {
                double acc = 0;
                for (int j = 0; j < NQ; j++) acc += quad_a(i, j) * p[j];
                g[i] = (float)acc;
            }
            const float *z = fedc_optim_hvp_probe(o, &rng);
            float *hv = fedc_optim_hvp_buffer(o);
            for (int i = 0; i < NQ; i++) assert_true(z[i] == 1.0f || z[i] == -1.0f);
            for (int i = 0; i < NQ; i++) {
                double acc = 0;
                for (int j = 0; j < NQ; j++) acc += quad_a(i, j) * z[j];
                hv[i] = (float)acc;
                hz[i] = hv[i];
            }
            /* Spatial averaging over each 2x2 kernel block. */
            for (int b = 0; b < 8; b += 4) {
                double mean = (fabs(hz[b]) + fabs(hz[b + 1]) + fabs(hz[b + 2]) + fabs(hz[b + 3])) / 4;
                for (int i = 0; i < 4; i++) dd[b + i] = mean;
            }
            dd[8] = fabs(hz[8]);
            dd[9] = fabs(hz[9]);
            for (int i = 0; i < NQ; i++) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * dd[i] * dd[i];
                double denom = pow(sqrt(v[i]), k) / pow(sqrt(1 - pow(b2, t1)), k) + eps;
                want[i] = (float)(want[i] - lr * (m[i] / (1 - pow(b1, t1)) / denom + wd * want[i]));
            }
            assert_int_equal(fedc_optim_step(o, p, g), 0);
            expect_close(k == 1 ? "adahessian" : "adahessian power 0.5", s, p, want, NQ);
        }
        fedc_optim_free(o);
    }
    /* Other optimizers need no probe. */
    fedc_optim_config a = fedc_optim_defaults(FEDC_OPT_ADAM, 0);
    fedc_optim *o = fedc_optim_create(&a, 3);
    fedc_rng rng;
    fedc_rng_seed(&rng, 1);
    assert_false(fedc_optim_wants_hvp(o));
    assert_null(fedc_optim_hvp_probe(o, &rng));
    fedc_optim_free(o);
}

/* ---- M-FAC: F = damp I + (1/m) sum g g^T over the window, u = F^{-1} (g + wd p) ---- */

/* Solves the d x d system a u = b in place by Gaussian elimination with pivoting. */
static void dense_solve(double a[D][D], double *b, double *u) {
    for (int col = 0; col < D; col++) {
        int piv = col;
        for (int r = col + 1; r < D; r++)
            if (fabs(a[r][col]) > fabs(a[piv][col])) piv = r;
        for (int j = 0; j < D; j++) {
            double tmp = a[col][j];
            a[col][j] = a[piv][j];
            a[piv][j] = tmp;
        }
        double tb = b[col];
        b[col] = b[piv];
        b[piv] = tb;
        for (int r = col + 1; r < D; r++) {
            double f = a[r][col] / a[col][col];
            for (int j = col; j < D; j++) a[r][j] -= f * a[col][j];
            b[r] -= f * b[col];
        }
    }
    for (int r = D - 1; r >= 0; r--) {
        double acc = b[r];
        for (int j = r + 1; j < D; j++) acc -= a[r][j] * u[j];
        u[r] = acc / a[r][r];
    }
}

static void test_mfac(void **state) {
    (void)state;
    const int M = 3; /* 7 steps: the window wraps twice */
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_MFAC, 1e-3f);
    assert_true(c.window == 16 && c.damp == 1e-5f);
    c.window = M;
    c.momentum = 0.5f;
    c.weight_decay = 0.01f;
    const double lr = 1e-3f, mu = 0.5f, lambda = 1e-5f;
    fedc_optim *o = fedc_optim_create(&c, D);
    float p[D], g[D], window[3][D];
    double want[D], buf[D] = {0};
    memset(window, 0, sizeof window);
    init_params(p, D);
    for (int i = 0; i < D; i++) want[i] = p[i];
    for (int s = 0; s < 7; s++) {
        float x[D];
        for (int i = 0; i < D; i++) {
            g[i] = grad_at(s, i);
            x[i] = g[i] + 0.01f * p[i]; /* the decayed gradient, as stored */
        }
        memcpy(window[s % M], x, sizeof x);
        double f[D][D], b[D], u[D];
        for (int i = 0; i < D; i++) {
            b[i] = x[i];
            for (int j = 0; j < D; j++) {
                f[i][j] = i == j ? lambda : 0;
                for (int r = 0; r < M; r++) f[i][j] += (double)window[r][i] * window[r][j] / M;
            }
        }
        dense_solve(f, b, u);
        for (int i = 0; i < D; i++) {
            buf[i] = (float)(mu * buf[i] + (1 - mu) * (float)u[i]);
            want[i] = (float)(want[i] - lr * buf[i]);
        }
        fedc_optim_step(o, p, g);
        expect_close("mfac", s, p, want, D);
    }
    fedc_optim_free(o);
    /* Invalid windows and dampening are refused. */
    c.window = 0;
    assert_null(fedc_optim_create(&c, D));
    c.window = 4;
    c.damp = 0;
    assert_null(fedc_optim_create(&c, D));
}

/* ---- sgd / adam / adamw: bit for bit as before the move to src/nn/optim ---- */
static void test_classic_rules_unchanged(void **state) {
    (void)state;
    const fedc_opt_kind kinds[3] = {FEDC_OPT_SGD, FEDC_OPT_ADAM, FEDC_OPT_ADAMW};
    for (int ki = 0; ki < 3; ki++) {
        fedc_optim_config c = fedc_optim_defaults(kinds[ki], 0.02f);
        c.weight_decay = 0.05f;
        c.momentum = 0.8f;
        c.nesterov = 1;
        fedc_optim *o = fedc_optim_create(&c, D);
        float p[D], q[D], g[D], m[D] = {0}, v[D] = {0};
        init_params(p, D);
        init_params(q, D);
        for (int s = 0; s < STEPS; s++) {
            for (int i = 0; i < D; i++) g[i] = grad_at(s, i);
            fedc_optim_step(o, p, g);
            if (kinds[ki] == FEDC_OPT_SGD) { /* the former sgd_step */
                for (int i = 0; i < D; i++) {
                    float gg = g[i] + c.weight_decay * q[i];
                    float b = s == 0 ? gg : c.momentum * m[i] + gg;
                    m[i] = b;
                    q[i] -= c.lr * (gg + c.momentum * b);
                }
            } else { /* the former adam_step */
                const double t = (double)s + 1.0;
                const float bc1 = (float)(1.0 - pow(c.beta1, t)), bc2 = (float)(1.0 - pow(c.beta2, t));
                const float step_size = c.lr / bc1, bc2_sqrt = sqrtf(bc2), keep = 1.0f - c.lr * c.weight_decay;
                for (int i = 0; i < D; i++) {
                    float gg = g[i];
                    if (kinds[ki] == FEDC_OPT_ADAMW)
                        q[i] *= keep;
                    else
                        gg += c.weight_decay * q[i];
                    m[i] = c.beta1 * m[i] + (1.0f - c.beta1) * gg;
                    v[i] = c.beta2 * v[i] + (1.0f - c.beta2) * gg * gg;
                    q[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + c.eps);
                }
            }
            assert_memory_equal(p, q, sizeof p);
        }
        fedc_optim_free(o);
    }
}

/* ---- keep_state: save after k steps, load into a fresh optimizer, go on ---- */
static void test_state_blob_resumes_exactly(void **state) {
    (void)state;
    for (int k = 0; k < FEDC_OPT_COUNT; k++) {
        fedc_optim_config c = fedc_optim_defaults((fedc_opt_kind)k, 0);
        c.momentum = 0.5f;
        c.weight_decay = 0.01f;
        c.window = 3;
        fedc_optim *a = fedc_optim_create(&c, D), *b = fedc_optim_create(&c, D);
        assert_non_null(a);
        float pa[D], pb[D], g[D];
        init_params(pa, D);
        fedc_rng ra, rb;
        fedc_rng_seed(&ra, 9);
        for (int s = 0; s < 7; s++) {
            if (s == 4) { /* hand the state over */
                float *blob = malloc(fedc_optim_state_size(a) * sizeof *blob);
                fedc_optim_state_save(a, blob);
                assert_int_equal(fedc_optim_state_size(b), fedc_optim_state_size(a));
                assert_int_equal(fedc_optim_state_load(b, blob), 0);
                assert_int_equal(fedc_optim_steps(b), 4);
                free(blob);
                memcpy(pb, pa, sizeof pa);
                rb = ra;
            }
            for (int i = 0; i < D; i++) g[i] = grad_at(s, i);
            if (fedc_optim_wants_hvp(a)) {
                const float *z = fedc_optim_hvp_probe(a, &ra);
                for (int i = 0; i < D; i++) fedc_optim_hvp_buffer(a)[i] = 0.5f * z[i] * (1 + i);
            }
            fedc_optim_step(a, pa, g);
            if (s >= 4) {
                if (fedc_optim_wants_hvp(b)) {
                    const float *z = fedc_optim_hvp_probe(b, &rb);
                    for (int i = 0; i < D; i++) fedc_optim_hvp_buffer(b)[i] = 0.5f * z[i] * (1 + i);
                }
                fedc_optim_step(b, pb, g);
                if (memcmp(pa, pb, sizeof pa) != 0) fail_msg("%s: resumed state diverged", fedc_opt_kind_name(k));
            }
        }
        /* reset: a first step again */
        fedc_optim_reset(a);
        assert_int_equal(fedc_optim_steps(a), 0);
        fedc_optim_free(a);
        fedc_optim_free(b);
    }
}

/* Buffers and uncovered entries are never stepped; weight decay too. */
static void test_layout_skips_buffers(void **state) {
    (void)state;
    fedc_tensor_info t[2];
    memset(t, 0, sizeof t);
    t[0].count = 3;
    t[0].ndim = 1;
    t[0].dims[0] = 3;
    t[1].offset = 3;
    t[1].count = 2;
    t[1].ndim = 1;
    t[1].dims[0] = 2;
    t[1].buffer = 1;
    for (int k = 0; k < FEDC_OPT_COUNT; k++) {
        fedc_optim_config c = fedc_optim_defaults((fedc_opt_kind)k, 0);
        c.weight_decay = 0.1f;
        fedc_optim *o = fedc_optim_create_tensors(&c, t, 2, D);
        float p[D], g[D];
        init_params(p, D);
        for (int i = 0; i < D; i++) g[i] = 0.3f;
        fedc_rng r;
        fedc_rng_seed(&r, 2);
        if (fedc_optim_wants_hvp(o)) {
            float *z = fedc_optim_hvp_probe(o, &r);
            for (int i = 0; i < D; i++) {
                if (i >= 3) assert_true(z[i] == 0.0f);
                fedc_optim_hvp_buffer(o)[i] = z[i];
            }
        }
        float before[D];
        memcpy(before, p, sizeof p);
        fedc_optim_step(o, p, g);
        for (int i = 0; i < 3; i++) assert_true(p[i] != before[i]);
        for (int i = 3; i < D; i++)
            if (p[i] != before[i]) fail_msg("%s changed entry %d", fedc_opt_kind_name(k), i);
        fedc_optim_free(o);
    }
}

static void test_names_and_default_lrs(void **state) {
    (void)state;
    static const char *const names[] = {"sgd",  "adam", "adamw",  "lion",       "adan",
                                        "adamp", "sgdp", "exadam", "adahessian", "mfac"};
    for (int k = 0; k < FEDC_OPT_COUNT; k++) {
        fedc_opt_kind got;
        assert_int_equal(fedc_opt_kind_parse(names[k], &got), 0);
        assert_int_equal(got, k);
        assert_string_equal(fedc_opt_kind_name(got), names[k]);
        assert_true(fedc_optim_default_lr(got) > 0);
        assert_true(fedc_optim_defaults(got, 0).lr == (float)fedc_optim_default_lr(got));
        assert_true(fedc_optim_defaults(got, 0.5f).lr == 0.5f);
    }
    assert_true(fedc_optim_default_lr(FEDC_OPT_SGD) == 0.05);
    assert_true(fedc_optim_default_lr(FEDC_OPT_ADAHESSIAN) == 0.005);
    assert_int_equal(fedc_opt_kind_parse("LION", NULL), 0);
    assert_int_equal(fedc_opt_kind_parse("lamb", NULL), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lion),
        cmocka_unit_test(test_adan),
        cmocka_unit_test(test_adamp),
        cmocka_unit_test(test_sgdp),
        cmocka_unit_test(test_exadam),
        cmocka_unit_test(test_adahessian),
        cmocka_unit_test(test_mfac),
        cmocka_unit_test(test_classic_rules_unchanged),
        cmocka_unit_test(test_state_blob_resumes_exactly),
        cmocka_unit_test(test_layout_skips_buffers),
        cmocka_unit_test(test_names_and_default_lrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
