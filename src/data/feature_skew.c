/* Feature skew: per-client domains for multi-domain federated learning on
 * the image data at hand (FedBN's and FedWon's setting, where clients hold
 * the same labels drawn from different feature distributions). A domain is
 * a transform applied to a client's samples as they are gathered for
 * training; the dataset itself is never copied or changed. Every transform
 * is deterministic: noise depends only on (seed, sample id), so a sample
 * looks the same in every epoch and round. Pixels are assumed in [0, 1] (as
 * the image loaders produce) and results are clamped there. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/data.h"
#include "fedc/rng.h"

#define DOMAIN_STREAM 0x646f6d61696e0000ull /* "domain" */
#define PI 3.14159265358979323846

static const char *const kind_names[] = {"id", "rotate", "noise", "blur", "contrast", "invert", "grey"};

static const char *const preset_mixed = "id,rotate:45,noise:0.3,blur:1,contrast:0.3,invert";

static int parse_arg(const char *s, double lo, double hi, double *out) {
    if (!s || *s == '\0') return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno == ERANGE || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

static int parse_domain(const char *item, fedc_shape shape, fedc_domain *d, fedc_error *err) {
    static const struct {
        fedc_domain_kind kind;
        const char *name;
        int has_arg;
        double lo, hi;
        const char *form;
    } table[] = {
        {FEDC_DOMAIN_ID, "id", 0, 0, 0, "id"},
        {FEDC_DOMAIN_ROTATE, "rotate", 1, -180, 180, "rotate:DEG with DEG in [-180, 180]"},
        {FEDC_DOMAIN_NOISE, "noise", 1, 0, 1, "noise:SIGMA with SIGMA in [0, 1]"},
        {FEDC_DOMAIN_BLUR, "blur", 1, 1, 5, "blur:R with R an integer in [1, 5]"},
        {FEDC_DOMAIN_CONTRAST, "contrast", 1, 0, 4, "contrast:F with F in [0, 4]"},
        {FEDC_DOMAIN_INVERT, "invert", 0, 0, 0, "invert"},
        {FEDC_DOMAIN_GREY, "grey", 0, 0, 0, "grey"},
    };
    const char *colon = strchr(item, ':');
    size_t nlen = colon ? (size_t)(colon - item) : strlen(item);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strlen(table[i].name) != nlen || strncmp(item, table[i].name, nlen) != 0) continue;
        double v = 0;
        if (table[i].has_arg != (colon != NULL) ||
            (colon && parse_arg(colon + 1, table[i].lo, table[i].hi, &v) != 0) ||
            (table[i].kind == FEDC_DOMAIN_BLUR && v != floor(v)))
            return fedc_fail(err, "domain \"%s\": expected %s", item, table[i].form);
        if (table[i].kind == FEDC_DOMAIN_GREY && shape.c != 3)
            return fedc_fail(err, "domain \"%s\": needs colour (3-channel) images; this data has %d channel%s", item,
                             shape.c, shape.c == 1 ? "" : "s");
        d->kind = table[i].kind;
        d->arg = v;
        return 0;
    }
    return fedc_fail(err, "domain \"%s\" is not known; allowed: id, rotate:DEG, noise:SIGMA, blur:R, contrast:F, "
                     "invert, grey",
                     item);
}

int fedc_feature_skew_parse(const char *spec, fedc_shape shape, fedc_feature_skew *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!spec) return fedc_fail(err, "feature skew: missing");
    if (strcmp(spec, "none") == 0) return 0;
    if (strcmp(spec, "mixed") == 0) spec = preset_mixed;
    size_t len = strlen(spec);
    if (len == 0) return fedc_fail(err, "feature skew is empty; expected none, mixed or a list of domains");
    if (len >= 256) return fedc_fail(err, "feature skew: %zu characters; at most 255", len);
    if (shape.h < 2 || shape.w < 2)
        return fedc_fail(err, "feature skew needs image data (this data is %dx%dx%d)", shape.c, shape.h, shape.w);
    char buf[256];
    memcpy(buf, spec, len + 1);
    const char *start = buf;
    for (char *p = buf;; p++) {
        if (*p != ',' && *p != '\0') continue;
        int last = *p == '\0';
        *p = '\0';
        if (*start == '\0') return fedc_fail(err, "feature skew \"%s\": a domain is empty", spec);
        if (out->n == FEDC_MAX_DOMAINS)
            return fedc_fail(err, "feature skew \"%s\": more than %d domains", spec, FEDC_MAX_DOMAINS);
        if (parse_domain(start, shape, &out->d[out->n], err) != 0) {
            fedc_fail_prefix(err, "feature skew: ");
            return -1;
        }
        out->n++;
        if (last) break;
        start = p + 1;
    }
    return 0;
}

const char *fedc_domain_kind_name(fedc_domain_kind k) {
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "unknown";
}

static float clamp01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

/* Rotation by deg about the image centre: bilinear sampling of the source
 * at the inverse-rotated position, 0 outside. */
static void rotate(float *x, float *tmp, fedc_shape s, double deg) {
    const double a = deg * PI / 180.0, ca = cos(a), sa = sin(a);
    const double cy = (s.h - 1) / 2.0, cx = (s.w - 1) / 2.0;
    const size_t plane = (size_t)s.h * s.w;
    for (int c = 0; c < s.c; c++) {
        float *xc = x + (size_t)c * plane;
        memcpy(tmp, xc, plane * sizeof *tmp);
        for (int y = 0; y < s.h; y++)
            for (int xx = 0; xx < s.w; xx++) {
                double dy = y - cy, dx = xx - cx;
                double sy = cy + ca * dy + sa * dx, sx = cx - sa * dy + ca * dx;
                int y0 = (int)floor(sy), x0 = (int)floor(sx);
                double fy = sy - y0, fx = sx - x0, v = 0;
                for (int k = 0; k < 4; k++) {
                    int yy = y0 + (k >> 1), xk = x0 + (k & 1);
                    if (yy < 0 || yy >= s.h || xk < 0 || xk >= s.w) continue;
                    double w = ((k >> 1) ? fy : 1 - fy) * ((k & 1) ? fx : 1 - fx);
                    v += w * tmp[(size_t)yy * s.w + xk];
                }
                xc[(size_t)y * s.w + xx] = (float)v;
            }
    }
}

/* Box blur of radius r, separable, with the window clipped at the borders. */
static void blur(float *x, float *tmp, fedc_shape s, int r) {
    const size_t plane = (size_t)s.h * s.w;
    for (int c = 0; c < s.c; c++) {
        float *xc = x + (size_t)c * plane;
        for (int y = 0; y < s.h; y++)
            for (int xx = 0; xx < s.w; xx++) {
                double sum = 0;
                int cnt = 0;
                for (int k = xx - r; k <= xx + r; k++)
                    if (k >= 0 && k < s.w) sum += xc[(size_t)y * s.w + k], cnt++;
                tmp[(size_t)y * s.w + xx] = (float)(sum / cnt);
            }
        for (int y = 0; y < s.h; y++)
            for (int xx = 0; xx < s.w; xx++) {
                double sum = 0;
                int cnt = 0;
                for (int k = y - r; k <= y + r; k++)
                    if (k >= 0 && k < s.h) sum += tmp[(size_t)k * s.w + xx], cnt++;
                xc[(size_t)y * s.w + xx] = (float)(sum / cnt);
            }
    }
}

void fedc_domain_apply(const fedc_domain *d, fedc_shape shape, uint64_t seed, const uint32_t *ids, float *x,
                       size_t n) {
    const size_t dim = (size_t)shape.c * shape.h * shape.w, plane = (size_t)shape.h * shape.w;
    if (d->kind == FEDC_DOMAIN_ID) return;
    float *tmp = NULL;
    if (d->kind == FEDC_DOMAIN_ROTATE || d->kind == FEDC_DOMAIN_BLUR) {
        tmp = malloc(plane * sizeof *tmp);
        if (!tmp) abort(); /* a few KiB; nothing sensible to do without it */
    }
    for (size_t s = 0; s < n; s++) {
        float *xs = x + s * dim;
        switch (d->kind) {
        case FEDC_DOMAIN_ID: break;
        case FEDC_DOMAIN_ROTATE: rotate(xs, tmp, shape, d->arg); break;
        case FEDC_DOMAIN_BLUR: blur(xs, tmp, shape, (int)d->arg); break;
        case FEDC_DOMAIN_NOISE: {
            fedc_rng r = fedc_rng_derive(seed ^ DOMAIN_STREAM, ids ? ids[s] : s, 1);
            for (size_t i = 0; i < dim; i++) xs[i] = clamp01(xs[i] + (float)(d->arg * fedc_rng_normal(&r)));
            break;
        }
        case FEDC_DOMAIN_CONTRAST:
            for (size_t i = 0; i < dim; i++) xs[i] = clamp01(0.5f + (float)d->arg * (xs[i] - 0.5f));
            break;
        case FEDC_DOMAIN_INVERT:
            for (size_t i = 0; i < dim; i++) xs[i] = 1.0f - xs[i];
            break;
        case FEDC_DOMAIN_GREY:
            for (size_t i = 0; i < plane; i++) {
                float g = 0.299f * xs[i] + 0.587f * xs[plane + i] + 0.114f * xs[2 * plane + i];
                xs[i] = xs[plane + i] = xs[2 * plane + i] = g;
            }
            break;
        }
    }
    free(tmp);
}
