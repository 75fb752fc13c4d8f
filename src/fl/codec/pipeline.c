/* Codec pipeline strings: parsing, validation, the canonical name and the
 * size arithmetic of the wire format that follows from the stages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "fl/codec/codec_internal.h"

#define ALLOWED_STAGES                                                                             \
    "none, fp16, bf16, q8, q4, q2 (optionally :CHUNK, a power of two 16..65536), sign, "           \
    "topk:F, randk:F (0 < F <= 1), zstd"

/* Stage classes give the only order that makes sense: a sparsifier picks
 * values, one value coder writes them, zstd compresses the bytes. */
enum stage_class { CLASS_SPARSE = 0, CLASS_VALUE = 1, CLASS_BYTES = 2 };

static const char *class_name(int cls) {
    return cls == CLASS_SPARSE  ? "sparsifier (topk, randk)"
           : cls == CLASS_VALUE ? "value coder (fp16, bf16, q8, q4, q2, sign)"
                                : "zstd";
}

/* Shortest %g form that reads back as the same double, so the canonical
 * name means exactly the parsed pipeline. */
static void format_fraction(double f, char *out, size_t cap) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, f);
        if (strtod(out, NULL) == f) return;
    }
}

static int parse_fraction(const char *pipeline, int pos, const char *stage, const char *arg,
                          double *out, fedc_error *err) {
    if (*arg == '\0')
        return fedc_fail(err,
                         "codec pipeline '%s': stage %d '%s' needs a fraction, e.g. %s:0.01 "
                         "(0 < F <= 1)",
                         pipeline, pos, stage, stage);
    for (const char *q = arg; *q; q++) {
        if (!strchr("0123456789.eE+-", *q))
            return fedc_fail(err,
                             "codec pipeline '%s': stage %d fraction '%s' is not a decimal "
                             "number; allowed: 0 < F <= 1",
                             pipeline, pos, arg);
    }
    char *end = NULL;
    double f = strtod(arg, &end);
    if (end == arg || *end != '\0' || !isfinite(f) || !(f > 0.0) || f > 1.0)
        return fedc_fail(err,
                         "codec pipeline '%s': stage %d fraction '%s' is out of range; "
                         "allowed: 0 < F <= 1",
                         pipeline, pos, arg);
    *out = f;
    return 0;
}

static int parse_chunk(const char *pipeline, int pos, const char *arg, unsigned *log2_out,
                       fedc_error *err) {
    if (*arg == '\0') {
        *log2_out = CODEC_DEFAULT_CHUNK_LOG2;
        return 0;
    }
    unsigned long v = 0;
    size_t digits = 0;
    for (const char *q = arg; *q; q++, digits++) {
        if (*q < '0' || *q > '9' || digits >= 6) {
            v = 0;
            break;
        }
        v = v * 10 + (unsigned long)(*q - '0');
    }
    for (unsigned l = CODEC_MIN_CHUNK_LOG2; l <= CODEC_MAX_CHUNK_LOG2; l++) {
        if (v == (1ul << l)) {
            *log2_out = l;
            return 0;
        }
    }
    return fedc_fail(err,
                     "codec pipeline '%s': stage %d chunk '%s' is not allowed; use a power of "
                     "two from 16 to 65536 (default 256)",
                     pipeline, pos, arg);
}

/* Parses one trimmed stage token into c; returns its class or -1. */
static int parse_stage(const char *pipeline, int pos, const char *tok, fedc_codec *c,
                       fedc_error *err) {
    char name[FEDC_CODEC_MAX_LEN];
    const char *colon = strchr(tok, ':');
    size_t nlen = colon ? (size_t)(colon - tok) : strlen(tok);
    memcpy(name, tok, nlen);
    name[nlen] = '\0';
    const char *arg = colon ? colon + 1 : "";
    int has_arg = colon != NULL;

    static const struct {
        const char *name;
        int id, cls;
        unsigned bits;
    } table[] = {
        {"fp16", STAGE_FP16, CLASS_VALUE, 0},  {"bf16", STAGE_BF16, CLASS_VALUE, 0},
        {"q8", STAGE_Q8, CLASS_VALUE, 8},      {"q4", STAGE_Q4, CLASS_VALUE, 4},
        {"q2", STAGE_Q2, CLASS_VALUE, 2},      {"sign", STAGE_SIGN, CLASS_VALUE, 0},
        {"topk", STAGE_TOPK, CLASS_SPARSE, 0}, {"randk", STAGE_RANDK, CLASS_SPARSE, 0},
        {"zstd", STAGE_ZSTD, CLASS_BYTES, 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(name, table[i].name) != 0) continue;
        int id = table[i].id;
        if (table[i].cls == CLASS_SPARSE) {
            if (parse_fraction(pipeline, pos, name, arg, &c->fraction, err)) return -1;
            c->sparse = id;
        } else if (table[i].bits) {
            if (has_arg && *arg == '\0')
                return fedc_fail(err,
                                 "codec pipeline '%s': stage %d '%s' has ':' but no chunk size; "
                                 "use a power of two from 16 to 65536 (default 256)",
                                 pipeline, pos, tok);
            if (parse_chunk(pipeline, pos, arg, &c->chunk_log2, err)) return -1;
            c->value = id;
            c->bits = table[i].bits;
        } else {
            if (has_arg)
                return fedc_fail(err, "codec pipeline '%s': stage %d '%s' takes no parameter",
                                 pipeline, pos, tok);
            if (id == STAGE_ZSTD)
                c->zstd = 1;
            else
                c->value = id;
        }
        return table[i].cls;
    }
    if (strcmp(tok, "none") == 0)
        return fedc_fail(err, "codec pipeline '%s': 'none' cannot be combined with other stages",
                         pipeline);
    return fedc_fail(err, "codec pipeline '%s': stage %d '%s' is unknown; allowed: " ALLOWED_STAGES,
                     pipeline, pos, tok);
}

static void build_name(fedc_codec *c) {
    char *p = c->name;
    size_t cap = sizeof c->name;
    int first = 1;
    if (!c->sparse && !c->value && !c->zstd) {
        snprintf(p, cap, "none");
        return;
    }
    c->name[0] = '\0';
    if (c->sparse) {
        char frac[32];
        format_fraction(c->fraction, frac, sizeof frac);
        snprintf(p, cap, "%s:%s", c->sparse == STAGE_TOPK ? "topk" : "randk", frac);
        first = 0;
    }
    if (c->value) {
        size_t used = strlen(c->name);
        const char *sep = first ? "" : "|";
        switch (c->value) {
        case STAGE_FP16: snprintf(p + used, cap - used, "%sfp16", sep); break;
        case STAGE_BF16: snprintf(p + used, cap - used, "%sbf16", sep); break;
        case STAGE_SIGN: snprintf(p + used, cap - used, "%ssign", sep); break;
        default:
            if (c->chunk_log2 == CODEC_DEFAULT_CHUNK_LOG2)
                snprintf(p + used, cap - used, "%sq%u", sep, c->bits);
            else
                snprintf(p + used, cap - used, "%sq%u:%lu", sep, c->bits, 1ul << c->chunk_log2);
            break;
        }
        first = 0;
    }
    if (c->zstd) {
        size_t used = strlen(c->name);
        snprintf(p + used, cap - used, "%szstd", first ? "" : "|");
    }
}

static int parse_into(const char *pipeline, fedc_codec *c, fedc_error *err) {
    memset(c, 0, sizeof *c);
    c->chunk_log2 = CODEC_DEFAULT_CHUNK_LOG2;
    if (!pipeline)
        return fedc_fail(err, "codec pipeline is missing; use 'none' for no compression");
    size_t len = strlen(pipeline);
    if (len >= FEDC_CODEC_MAX_LEN)
        return fedc_fail(err, "codec pipeline is %zu characters long; at most %d allowed", len,
                         FEDC_CODEC_MAX_LEN - 1);
    char work[FEDC_CODEC_MAX_LEN];
    memcpy(work, pipeline, len + 1);

    /* Split on '|', trim blanks around each stage. */
    char *toks[FEDC_CODEC_MAX_LEN];
    int ntok = 0;
    char *s = work;
    for (;;) {
        char *bar = strchr(s, '|');
        if (bar) *bar = '\0';
        while (*s == ' ' || *s == '\t') s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
        toks[ntok++] = s;
        if (!bar) break;
        s = bar + 1;
    }
    if (ntok == 1 && toks[0][0] == '\0')
        return fedc_fail(err, "codec pipeline '%s' is empty; use 'none' for no compression",
                         pipeline);
    if (ntok == 1 && strcmp(toks[0], "none") == 0) {
        build_name(c);
        return 0;
    }
    int last_class = -1;
    const char *last_tok = "";
    for (int i = 0; i < ntok; i++) {
        if (toks[i][0] == '\0')
            return fedc_fail(err, "codec pipeline '%s': stage %d is empty", pipeline, i + 1);
        int cls = parse_stage(pipeline, i + 1, toks[i], c, err);
        if (cls < 0) return -1;
        if (cls == last_class)
            return fedc_fail(err,
                             "codec pipeline '%s': stage %d '%s' is a second %s after '%s'; at "
                             "most one of each kind",
                             pipeline, i + 1, toks[i], class_name(cls), last_tok);
        if (cls < last_class)
            return fedc_fail(err,
                             "codec pipeline '%s': stage %d '%s' must come before '%s'; the "
                             "order is sparsifier, then value coder, then zstd",
                             pipeline, i + 1, toks[i], last_tok);
        last_class = cls;
        last_tok = toks[i];
    }
    /* Random-k scales kept values by n/k to stay unbiased; error feedback
     * around such a non-contractive compressor diverges, so sign (biased,
     * needs error feedback) is refused after it. */
    if (c->sparse == STAGE_RANDK && c->value == STAGE_SIGN)
        return fedc_fail(err,
                         "codec pipeline '%s': 'sign' after 'randk' is not supported (error "
                         "feedback diverges with randk's n/k scaling); use topk:F|sign",
                         pipeline);
    c->error_feedback = c->sparse == STAGE_TOPK || c->value == STAGE_SIGN;
    build_name(c);
    return 0;
}

fedc_codec *fedc_codec_parse(const char *pipeline, fedc_error *err) {
    fedc_codec tmp;
    if (parse_into(pipeline, &tmp, err)) return NULL;
    fedc_codec *c = malloc(sizeof *c);
    if (!c) {
        fedc_fail(err, "codec pipeline '%s': out of memory", pipeline);
        return NULL;
    }
    *c = tmp;
    return c;
}

int fedc_codec_check(const char *pipeline, fedc_error *err) {
    fedc_codec tmp;
    return parse_into(pipeline, &tmp, err);
}

void fedc_codec_free(fedc_codec *c) { free(c); }

const char *fedc_codec_name(const fedc_codec *c) { return c ? c->name : ""; }

int fedc_codec_uses_error_feedback(const fedc_codec *c) { return c ? c->error_feedback : 0; }

size_t codec_kept_count(const fedc_codec *c, size_t n) {
    if (!c->sparse || n == 0) return n;
    /* ceil(F*n), with a tolerance so that e.g. 0.01 * 100 keeps exactly 1. */
    double x = c->fraction * (double)n;
    double k = ceil(x - 1e-9 * x);
    if (k < 1.0) return 1;
    if (k >= (double)n) return n;
    return (size_t)k;
}

size_t codec_header_size(const fedc_codec *c) {
    /* magic, version, n (u32), stage count, then per stage: id + params. */
    size_t s = 1 + 1 + 4 + 1;
    if (c->sparse == STAGE_TOPK) s += 1 + 4 + 1;  /* k, index mode */
    if (c->sparse == STAGE_RANDK) s += 1 + 4 + 8; /* k, seed */
    if (c->value) s += 1 + (c->bits ? 1 : 0);     /* chunk log2 */
    if (c->zstd) s += 1;
    return s;
}

size_t codec_values_size(const fedc_codec *c, size_t m) {
    switch (c->value) {
    case 0: return 4 * m;
    case STAGE_FP16:
    case STAGE_BF16: return 2 * m;
    case STAGE_SIGN: return codec_sign_size(m);
    default: return codec_quant_size(c->bits, c->chunk_log2, m);
    }
}

size_t codec_body_max_size(const fedc_codec *c, size_t n) {
    size_t m = codec_kept_count(c, n);
    size_t index = 0;
    if (c->sparse == STAGE_TOPK) {
        /* The encoder writes whichever index form is smaller, so neither
         * exceeds the bitmap, and varints take at most 5 bytes each. */
        index = codec_index_bitmap_size(n);
        if (5 * m < index) index = 5 * m;
    }
    return index + codec_values_size(c, m);
}

unsigned codec_shuffle_width(const fedc_codec *c) {
    if (c->value == 0) return 4;
    if (c->value == STAGE_FP16 || c->value == STAGE_BF16) return 2;
    return 1;
}

size_t fedc_codec_max_encoded_size(const fedc_codec *c, size_t n) {
    if (!c || n > CODEC_MAX_N) return 0;
    size_t body = codec_body_max_size(c, n);
    if (c->zstd) body = ZSTD_compressBound(body);
    return codec_header_size(c) + body;
}
