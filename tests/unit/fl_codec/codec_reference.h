/* Test helpers for the codec tests: a reference model of each stage written
 * independently of the implementation (sort-based top-k, the byte formula
 * of format version 1, per-coder error bounds), and test vector families. */
#ifndef FEDC_TEST_CODEC_REFERENCE_H
#define FEDC_TEST_CODEC_REFERENCE_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/codec.h"
#include "fedc/rng.h"

/* What a pipeline string means, parsed by the test itself. */
typedef struct ref_pipeline {
    int topk, randk;
    double fraction;
    int raw, fp16, bf16, sign;
    unsigned bits, chunk;
    int zstd;
} ref_pipeline;

static inline ref_pipeline ref_parse(const char *s) {
    ref_pipeline p;
    memset(&p, 0, sizeof p);
    p.raw = 1;
    p.chunk = 256;
    if (strncmp(s, "topk:", 5) == 0) p.topk = 1, p.fraction = strtod(s + 5, NULL);
    if (strncmp(s, "randk:", 6) == 0) p.randk = 1, p.fraction = strtod(s + 6, NULL);
    const char *q = strstr(s, "q8")   ? strstr(s, "q8")
                    : strstr(s, "q4") ? strstr(s, "q4")
                                      : strstr(s, "q2");
    if (q) {
        p.raw = 0;
        p.bits = (unsigned)(q[1] - '0');
        if (q[2] == ':') p.chunk = (unsigned)strtoul(q + 3, NULL, 10);
    }
    if (strstr(s, "fp16")) p.raw = 0, p.fp16 = 1;
    if (strstr(s, "bf16")) p.raw = 0, p.bf16 = 1;
    if (strstr(s, "sign")) p.raw = 0, p.sign = 1;
    if (strstr(s, "zstd")) p.zstd = 1;
    return p;
}

static inline size_t ref_kept(const ref_pipeline *p, size_t n) {
    if (!(p->topk || p->randk) || n == 0) return n;
    double x = p->fraction * (double)n;
    size_t k = (size_t)ceil(x - 1e-9 * x);
    return k < 1 ? 1 : k > n ? n : k;
}

static inline size_t ref_header_size(const ref_pipeline *p) {
    return 7 + (p->topk ? 6 : 0) + (p->randk ? 13 : 0) + (p->raw ? 0 : 1 + (p->bits ? 1 : 0)) +
           (p->zstd ? 1 : 0);
}

static inline size_t ref_values_size(const ref_pipeline *p, size_t m) {
    if (p->fp16 || p->bf16) return 2 * m;
    if (p->sign) return 4 + (m + 7) / 8;
    if (p->bits) return 8 * ((m + p->chunk - 1) / p->chunk) + (m * p->bits + 7) / 8;
    return 4 * m;
}

static inline int ref_cmp_desc_abs(const void *a, const void *b) {
    float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return (x < y) - (x > y);
}

/* Top-k by full sort: the threshold is the k-th largest |x|; everything
 * above it is kept, then ties in index order. Returns the kept count. */
static inline size_t ref_topk(const float *x, size_t n, size_t k, uint32_t *idx) {
    if (k == 0) return 0;
    float *s = malloc(n * sizeof *s);
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, ref_cmp_desc_abs);
    float t = fabsf(s[k - 1]);
    free(s);
    size_t above = 0, m = 0;
    for (size_t i = 0; i < n; i++) above += fabsf(x[i]) > t;
    size_t ties = k - above;
    for (size_t i = 0; i < n; i++) {
        if (fabsf(x[i]) > t)
            idx[m++] = (uint32_t)i;
        else if (fabsf(x[i]) == t && ties)
            idx[m++] = (uint32_t)i, ties--;
    }
    return m;
}

static inline size_t ref_varint_size(const uint32_t *idx, size_t k) {
    size_t s = 0;
    for (size_t i = 0; i < k; i++) {
        uint32_t v = i ? idx[i] - idx[i - 1] - 1 : idx[0];
        s += v < (1u << 7) ? 1 : v < (1u << 14) ? 2 : v < (1u << 21) ? 3 : v < (1u << 28) ? 4 : 5;
    }
    return s;
}

/* Checks decoded kept values d against inputs x under the value coder's
 * stated bound, widened by slack * (|x| + |d|) for callers that rescale d;
 * returns the index of the first violation or -1. */
static inline long ref_check_values(const ref_pipeline *p, const float *x, const float *d, size_t m,
                                    double slack) {
    if (p->sign) {
        double sum = 0;
        for (size_t i = 0; i < m; i++) sum += fabs((double)x[i]);
        double s = m ? sum / (double)m : 0;
        for (size_t i = 0; i < m; i++) {
            double want = x[i] < 0 ? -s : s;
            if (fabs(d[i] - want) > 1e-6 * fabs(want) + slack * fabs(want) + 0x1p-149)
                return (long)i;
        }
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        double xi = x[i], di = d[i], e = fabs(di - xi) - slack * (fabs(xi) + fabs(di));
        if (p->raw) {
            if (e > 0) return (long)i;
        } else if (p->fp16) {
            if (fabs(xi) > 65504.0) {
                if (di != (xi < 0 ? -65504.0 : 65504.0)) return (long)i;
            } else if (e > fmax(fabs(xi) * 0x1p-11, 0x1p-25)) {
                return (long)i;
            }
        } else if (p->bf16) {
            if (e > fabs(xi) * 0x1p-8 * 1.01 + 0x1p-134) return (long)i;
        } else {
            size_t c0 = i / p->chunk * p->chunk, c1 = c0 + p->chunk < m ? c0 + p->chunk : m;
            double lo = x[c0], hi = x[c0];
            for (size_t j = c0; j < c1; j++) lo = fmin(lo, x[j]), hi = fmax(hi, x[j]);
            double step = (hi - lo) / (double)((1u << p->bits) - 1);
            /* float rounding of the output: relative, or absolute near 0 */
            double ulp = fabs(xi) * 0x1p-23 + 0x1p-149;
            if (e > step * (1 + 1e-6) + ulp) return (long)i;
            double tol = slack * fabs(di) + 0x1p-149;
            if (di < lo - fabs(lo) * 0x1p-23 - tol || di > hi + fabs(hi) * 0x1p-23 + tol)
                return (long)i;
        }
    }
    return -1;
}

/* Test vector families. */
enum { VEC_NORMAL, VEC_ZEROS, VEC_CONST, VEC_HUGE, VEC_TINY, VEC_MIXED, VEC_TIES, VEC_KINDS };

static inline void ref_fill(int kind, float *x, size_t n, fedc_rng *r) {
    for (size_t i = 0; i < n; i++) {
        double z = fedc_rng_normal(r);
        switch (kind) {
        case VEC_NORMAL: x[i] = (float)z; break;
        case VEC_ZEROS: x[i] = 0.0f; break;
        case VEC_CONST: x[i] = -3.25f; break;
        case VEC_HUGE: x[i] = (float)(z * 1e37); break;  /* near float's top */
        case VEC_TINY: x[i] = (float)(z * 1e-40); break; /* float subnormals */
        case VEC_MIXED: x[i] = (float)(z * pow(10.0, (double)fedc_rng_below(r, 40) - 20.0)); break;
        default: x[i] = (float)((int)fedc_rng_below(r, 5) - 2); break; /* many ties */
        }
    }
}

#endif
