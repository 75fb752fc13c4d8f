/* Request text -> tokens. Words are lowercased and split at hyphens and
 * underscores ("non-IID" -> non iid, "max_steps" -> max steps) so that
 * phrase matching sees one spelling; numbers keep their exponent and
 * thousands separators ("1e-3", "10,000"), units glued to numbers split off
 * ("90s" -> 90 s); paths and compact model/codec specs stay whole because
 * their text is the value. Every index is checked against the length: the
 * request is outside input. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "intent/intent_internal.h"

static int is_space(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static int at(const char *s, size_t len, size_t i) {
    return i < len ? (unsigned char)s[i] : 0;
}

/* End of the whitespace-delimited chunk starting at i. */
static size_t chunk_end(const char *s, size_t len, size_t i) {
    while (i < len && !is_space((unsigned char)s[i])) i++;
    return i;
}

/* Drops trailing punctuation that belongs to the sentence, not the value. */
static size_t trim_chunk(const char *s, size_t b, size_t e) {
    while (e > b && strchr(",;:)]}\"'`!?.", s[e - 1])) e--;
    return e;
}

static void set_text(intent_tok *t, const char *s, size_t b, size_t e, int lower) {
    size_t n = e - b;
    if (n > TOK_TEXT - 1) n = TOK_TEXT - 1;
    for (size_t k = 0; k < n; k++) t->text[k] = lower ? (char)tolower((unsigned char)s[b + k]) : s[b + k];
    t->text[n] = '\0';
}

static int ends_with_ci(const char *s, size_t b, size_t e, const char *suffix) {
    size_t n = strlen(suffix);
    if (e - b < n) return 0;
    for (size_t k = 0; k < n; k++)
        if (tolower((unsigned char)s[e - n + k]) != suffix[k]) return 0;
    return 1;
}

static int starts_path(const char *s, size_t len, size_t i) {
    int c0 = at(s, len, i), c1 = at(s, len, i + 1), c2 = at(s, len, i + 2);
    if (c0 == '/') return c1 != 0 && !is_space((unsigned char)c1);
    if (c0 == '.' && c1 == '/') return 1;
    if (c0 == '.' && c1 == '.' && c2 == '/') return 1;
    if (c0 == '~' && c1 == '/') return 1;
    return 0;
}

static const char *const arch_layers[] = {"conv", "wsconv", "pool", "avgpool", "dense", "gn", "bn", "drop", "relu",
                                          "flatten", NULL};
static const char *const codec_stages[] = {"none", "fp16", "bf16", "q8", "q4", "q2", "topk", "randk", "sign", "zstd", NULL};

static int starts_with_name(const char *s, size_t b, size_t e, const char *const *names) {
    for (int k = 0; names[k]; k++) {
        size_t n = strlen(names[k]);
        if (e - b >= n && strncasecmp(s + b, names[k], n) == 0 &&
            (e - b == n || s[b + n] == ':' || s[b + n] == ',' || s[b + n] == '|'))
            return 1;
    }
    return 0;
}

/* A compact spec written in the request: "conv:16:5,pool:2,dense:10" (a
 * model) or "topk:0.01|q8|zstd" (a codec pipeline). Returns TK_ARCH,
 * TK_CODEC or 0. */
static unsigned spec_kind(const char *s, size_t b, size_t e) {
    int colon = 0, bar = 0, comma = 0;
    for (size_t k = b; k < e; k++) {
        unsigned char ch = (unsigned char)s[k];
        if (!(isalnum(ch) || ch == ':' || ch == ',' || ch == '.' || ch == '|')) return 0;
        colon += ch == ':';
        bar += ch == '|';
        comma += ch == ',';
    }
    if (starts_with_name(s, b, e, arch_layers) && (colon || comma) && !bar) {
        /* every comma-separated part must start with a layer name */
        size_t p = b;
        while (p < e) {
            size_t q = p;
            while (q < e && s[q] != ',') q++;
            if (!starts_with_name(s, p, q, arch_layers)) return 0;
            p = q + 1;
        }
        return TK_ARCH;
    }
    if (bar || ((colon) && (strncasecmp(s + b, "topk:", 5) == 0 || strncasecmp(s + b, "randk:", 6) == 0))) {
        size_t p = b;
        while (p < e) {
            size_t q = p;
            while (q < e && s[q] != '|') q++;
            if (!starts_with_name(s, p, q, codec_stages)) return 0;
            p = q + 1;
        }
        return TK_CODEC;
    }
    return 0;
}

/* Scans a number at i: [sign] digits [,ddd]* [.digits] [e[sign]digits].
 * Returns the end, or i when there is none. */
static size_t scan_number(const char *s, size_t len, size_t i, char *buf, size_t cap, int *integer) {
    size_t j = i, o = 0;
    *integer = 1;
    if (at(s, len, j) == '-' || at(s, len, j) == '+') {
        if (o < cap - 1) buf[o++] = s[j];
        j++;
    }
    size_t digits = 0;
    while (isdigit(at(s, len, j))) {
        if (o < cap - 1) buf[o++] = s[j];
        j++;
        digits++;
        /* thousands separator: exactly three digits after the comma */
        if (at(s, len, j) == ',' && isdigit(at(s, len, j + 1)) && isdigit(at(s, len, j + 2)) &&
            isdigit(at(s, len, j + 3)) && !isdigit(at(s, len, j + 4)))
            j++;
    }
    if (at(s, len, j) == '.' && isdigit(at(s, len, j + 1))) {
        *integer = 0;
        if (o < cap - 1) buf[o++] = '.';
        j++;
        while (isdigit(at(s, len, j))) {
            if (o < cap - 1) buf[o++] = s[j];
            j++;
            digits++;
        }
    }
    if (digits == 0) return i;
    int e0 = at(s, len, j);
    if (e0 == 'e' || e0 == 'E') {
        size_t k = j + 1;
        if (at(s, len, k) == '-' || at(s, len, k) == '+') k++;
        if (isdigit(at(s, len, k))) {
            *integer = 0;
            for (size_t m = j; m < k; m++)
                if (o < cap - 1) buf[o++] = s[m];
            j = k;
            while (isdigit(at(s, len, j))) {
                if (o < cap - 1) buf[o++] = s[j];
                j++;
            }
        }
    }
    buf[o] = '\0';
    return j;
}

static int is_word_byte_(int ch) {
    return isalnum(ch) || ch >= 0x80;
}
#define is_word_byte is_word_byte_

/* Superscript digits and signs ("10⁻⁴"): returns the byte length of the
 * one at i and its value (0-9, or -1 for minus, -2 for plus), 0 if none. */
static size_t superscript(const char *s, size_t len, size_t i, int *v) {
    int c0 = at(s, len, i), c1 = at(s, len, i + 1), c2 = at(s, len, i + 2);
    if (c0 == 0xC2 && (c1 == 0xB2 || c1 == 0xB3 || c1 == 0xB9)) {
        *v = c1 == 0xB2 ? 2 : c1 == 0xB3 ? 3 : 1;
        return 2;
    }
    if (c0 == 0xE2 && c1 == 0x81 && (c2 == 0xB0 || (c2 >= 0xB4 && c2 <= 0xB9) || c2 == 0xBA || c2 == 0xBB)) {
        *v = c2 == 0xBB ? -1 : c2 == 0xBA ? -2 : c2 == 0xB0 ? 0 : c2 - 0xB0;
        return 3;
    }
    return 0;
}

/* An exponent written after a number at e: "^-4", "**3", or superscripts
 * ("⁻⁴"). Returns its end (e when there is none) and the exponent. */
static size_t scan_power(const char *s, size_t len, size_t e, int *expo) {
    size_t j = e;
    int sign = 1, digits = 0, v = 0, sv;
    if (at(s, len, j) == '^' || (at(s, len, j) == '*' && at(s, len, j + 1) == '*')) {
        j += at(s, len, j) == '^' ? 1 : 2;
        if (at(s, len, j) == '-' || at(s, len, j) == '+') sign = at(s, len, j++) == '-' ? -1 : 1;
        while (isdigit(at(s, len, j)) && digits < 4) {
            v = v * 10 + (at(s, len, j++) - '0');
            digits++;
        }
    } else {
        size_t l = superscript(s, len, j, &sv);
        if (l && sv < 0) {
            sign = sv == -1 ? -1 : 1;
            j += l;
        }
        while ((l = superscript(s, len, j, &sv)) && sv >= 0 && digits < 4) {
            v = v * 10 + sv;
            digits++;
            j += l;
        }
    }
    if (!digits || isdigit(at(s, len, j))) return e;
    *expo = sign * v;
    return j;
}

/* "0xBEEF": a hexadecimal integer at i; its end, or i. */
static size_t scan_hex(const char *s, size_t len, size_t i, double *v) {
    if (at(s, len, i) != '0' || tolower(at(s, len, i + 1)) != 'x' || !isxdigit(at(s, len, i + 2))) return i;
    size_t j = i + 2;
    double x = 0;
    while (isxdigit(at(s, len, j)) && j - i < 18) {
        int d = at(s, len, j);
        x = x * 16 + (isdigit(d) ? d - '0' : tolower(d) - 'a' + 10);
        j++;
    }
    if (is_word_byte_(at(s, len, j))) return i;
    *v = x;
    return j;
}

/* "1m30s", "1h30m", "2h15m10s": a duration written as one chunk of at
 * least two number+unit parts; its end and its seconds, or i. */
static size_t scan_clock(const char *s, size_t len, size_t i, double *secs) {
    size_t j = i;
    int parts = 0;
    double total = 0;
    while (isdigit(at(s, len, j))) {
        double v = 0;
        while (isdigit(at(s, len, j))) v = v * 10 + (at(s, len, j++) - '0');
        double unit;
        int u = tolower(at(s, len, j));
        if (u == 'h') {
            unit = 3600;
            j++;
            if (tolower(at(s, len, j)) == 'r') j++;
        } else if (u == 'm' && tolower(at(s, len, j + 1)) == 'i' && tolower(at(s, len, j + 2)) == 'n') {
            unit = 60;
            j += 3;
        } else if (u == 'm' && tolower(at(s, len, j + 1)) != 's') {
            unit = 60;
            j++;
        } else if (u == 's') {
            unit = 1;
            j++;
        } else {
            return i;
        }
        total += v * unit;
        parts++;
    }
    if (parts < 2 || is_word_byte_(at(s, len, j))) return i;
    *secs = total;
    return j;
}

/* UTF-8 sequences with a meaning here: Greek letters used for parameters,
 * dashes (separators), curly quotes, the no-break space. Returns the
 * sequence length and what it stands for. */
static size_t utf8_special(const char *s, size_t len, size_t i, const char **word, int *kind) {
    int c0 = at(s, len, i), c1 = at(s, len, i + 1), c2 = at(s, len, i + 2);
    *word = NULL;
    *kind = 0; /* 0 word, 1 space, 2 quote */
    if (c0 == 0xCE && c1 == 0xBC) { *word = "mu"; return 2; }
    if (c0 == 0xCE && c1 == 0xB1) { *word = "alpha"; return 2; }
    if (c0 == 0xCE && c1 == 0xB7) { *word = "eta"; return 2; }
    if (c0 == 0xCF && c1 == 0x84) { *word = "tau"; return 2; }
    if (c0 == 0xCE && c1 == 0xB2) { *word = "beta"; return 2; }
    if (c0 == 0xCE && c1 == 0xB5) { *word = "epsilon"; return 2; }
    if (c0 == 0xCF && c1 == 0xB5) { *word = "epsilon"; return 2; }
    if (c0 == 0xCE && c1 == 0xB4) { *word = "delta"; return 2; }
    if (c0 == 0xC2 && c1 == 0xA0) { *kind = 1; return 2; }
    if (c0 == 0xE2 && c1 == 0x80 && (c2 == 0x93 || c2 == 0x94)) { *kind = 1; return 3; }
    if (c0 == 0xE2 && c1 == 0x80 && (c2 == 0x98 || c2 == 0x99 || c2 == 0x9C || c2 == 0x9D)) {
        *kind = 2;
        return 3;
    }
    return 0;
}


int intent_lex(const char *s, size_t len, intent_tok *out, int max, fedc_error *err) {
    int n = 0;
    size_t i = 0;
#define EMIT(kind_, b_, e_)                                                                     \
    do {                                                                                        \
        if (n >= max)                                                                           \
            return fedc_fail(err, "request: more than %d words and symbols; shorten it", max); \
        memset(&out[n], 0, sizeof out[n]);                                                      \
        out[n].kind = (kind_);                                                                  \
        out[n].start = (int)(b_);                                                               \
        out[n].end = (int)(e_);                                                                 \
        n++;                                                                                    \
    } while (0)
    while (i < len) {
        unsigned char ch = (unsigned char)s[i];
        if (is_space(ch) || ch < 0x20 || ch == 0x7F) {
            i++;
            continue;
        }
        const char *uword;
        int ukind;
        size_t ulen = utf8_special(s, len, i, &uword, &ukind);
        if (ulen) {
            if (ukind == 1) {
                i += ulen;
                continue;
            }
            EMIT(ukind == 2 ? TK_PUNCT : TK_WORD, i, i + ulen);
            snprintf(out[n - 1].text, TOK_TEXT, "%s", ukind == 2 ? "\"" : uword);
            i += ulen;
            continue;
        }
        /* "10/round", "clients/round": a slash glued to a word is not a path */
        if (starts_path(s, len, i) && !(ch == '/' && i > 0 && isalnum((unsigned char)s[i - 1]))) {
            size_t e = trim_chunk(s, i, chunk_end(s, len, i));
            if (e <= i + 1) e = i + 1;
            EMIT(e > i + 1 ? TK_PATH : TK_PUNCT, i, e);
            set_text(&out[n - 1], s, i, e, 0);
            i = e;
            continue;
        }
        if (isalnum(ch)) {
            /* whole-chunk values: file names and compact specs */
            size_t ce = trim_chunk(s, i, chunk_end(s, len, i));
            /* "train=data/x.csv": the key is a word of its own, the file follows the '=' */
            size_t eq = i;
            while (eq < ce && s[eq] != '=') eq++;
            if (eq < ce) ce = eq;
            if (ce > i && (ends_with_ci(s, i, ce, ".csv") || ends_with_ci(s, i, ce, ".json")) &&
                ce - i > 4) {
                EMIT(TK_PATH, i, ce);
                set_text(&out[n - 1], s, i, ce, 0);
                i = ce;
                continue;
            }
            unsigned sk = ce > i ? spec_kind(s, i, ce) : 0;
            if (sk) {
                EMIT(TK_SPEC, i, ce);
                out[n - 1].flags = sk;
                set_text(&out[n - 1], s, i, ce, 1);
                i = ce;
                continue;
            }
        }
        if (isdigit(ch)) {
            double v;
            size_t e = scan_hex(s, len, i, &v);
            if (e > i) {
                EMIT(TK_NUM, i, e);
                out[n - 1].num = v;
                out[n - 1].flags = TK_INTEGER;
                set_text(&out[n - 1], s, i, e, 1);
                i = e;
                continue;
            }
            e = scan_clock(s, len, i, &v);
            if (e > i) {
                /* the seconds, then a unit word of no width: "1m30s" = 90 s */
                EMIT(TK_NUM, i, e);
                out[n - 1].num = v;
                out[n - 1].flags = TK_INTEGER;
                snprintf(out[n - 1].text, TOK_TEXT, "%g", v);
                EMIT(TK_WORD, e, e);
                strcpy(out[n - 1].text, "s");
                i = e;
                continue;
            }
        }
        /* "x0.8", "×0.5": a factor */
        if ((ch == 'x' || ch == 'X' || (ch == 0xC3 && at(s, len, i + 1) == 0x97)) &&
            (i == 0 || !is_word_byte(at(s, len, i - 1)))) {
            size_t k = i + (ch == 0xC3 ? 2 : 1);
            if (isdigit(at(s, len, k)) || (at(s, len, k) == '.' && isdigit(at(s, len, k + 1)))) {
                char buf[72];
                int integer;
                size_t e = scan_number(s, len, k, buf, sizeof buf, &integer);
                if (e > k && !is_word_byte(at(s, len, e))) {
                    EMIT(TK_NUM, i, e);
                    out[n - 1].num = strtod(buf, NULL);
                    out[n - 1].flags = TK_FACTOR | (integer ? TK_INTEGER : 0);
                    set_text(&out[n - 1], s, k, e, 1);
                    i = e;
                    continue;
                }
            }
        }
        if (isdigit(ch) || (ch == '.' && isdigit(at(s, len, i + 1))) ||
            ((ch == '-' || ch == '+') &&
             (isdigit(at(s, len, i + 1)) || (at(s, len, i + 1) == '.' && isdigit(at(s, len, i + 2)))) &&
             (i == 0 || strchr(" \t\n=:(", s[i - 1])))) {
            char buf[72];
            int integer;
            size_t e = scan_number(s, len, i, buf, sizeof buf, &integer);
            if (e > i) {
                double v = strtod(buf, NULL);
                unsigned flags = integer ? TK_INTEGER : 0;
                /* "10^-4", "2^8", "10⁻⁴": the power's value */
                int expo = 0;
                size_t pe = integer ? scan_power(s, len, e, &expo) : e;
                if (pe > e) {
                    double pv = pow(v, expo);
                    if (isfinite(pv) && v != 0) {
                        v = pv;
                        flags = TK_POWER | (expo >= 0 && pv == floor(pv) && pv < 9e15 ? TK_INTEGER : 0);
                        e = pe;
                    }
                }
                size_t ve = e;
                /* "10th round", "1st", "2nd", "3rd": the ordinal's number */
                unsigned ordinal = 0;
                if (integer && !is_word_byte(at(s, len, e + 2)) &&
                    ((tolower(at(s, len, e)) == 't' && tolower(at(s, len, e + 1)) == 'h') ||
                     (tolower(at(s, len, e)) == 's' && tolower(at(s, len, e + 1)) == 't') ||
                     (tolower(at(s, len, e)) == 'n' && tolower(at(s, len, e + 1)) == 'd') ||
                     (tolower(at(s, len, e)) == 'r' && tolower(at(s, len, e + 1)) == 'd'))) {
                    e += 2;
                    ordinal = TK_ORDINAL;
                }
                else if (at(s, len, e) == '%') {
                    flags |= TK_PERCENT;
                    e++;
                } else if ((at(s, len, e) == 'k' || at(s, len, e) == 'K') && !is_word_byte(at(s, len, e + 1))) {
                    v *= 1000.0;
                    e++;
                }
                if (!isfinite(v)) {
                    EMIT(TK_WORD, i, e); /* too large to mean anything: reported as not understood */
                    set_text(&out[n - 1], s, i, e, 1);
                } else {
                    EMIT(TK_NUM, i, e);
                    out[n - 1].num = v;
                    out[n - 1].flags = flags | ordinal;
                    set_text(&out[n - 1], s, i, ve, 1);
                }
                i = e;
                continue;
            }
        }
        if (isalpha(ch) || ch >= 0x80) {
            /* "i.i.d." and "e.g." / "i.e." are words written with dots */
            if (len - i >= 5 && strncasecmp(s + i, "i.i.d", 5) == 0) {
                size_t e = i + 5 + (at(s, len, i + 5) == '.');
                EMIT(TK_WORD, i, e);
                strcpy(out[n - 1].text, "iid");
                i = e;
                continue;
            }
            if (len - i >= 3 && (strncasecmp(s + i, "e.g", 3) == 0 || strncasecmp(s + i, "i.e", 3) == 0) &&
                !isalnum(at(s, len, i + 3))) {
                size_t e = i + 3 + (at(s, len, i + 3) == '.');
                EMIT(TK_WORD, i, e);
                strcpy(out[n - 1].text, tolower(ch) == 'e' ? "eg" : "ie");
                i = e;
                continue;
            }
            size_t j = i, o = 0;
            char w[TOK_TEXT];
            while (j < len) {
                int cj = at(s, len, j);
                if (cj >= 0x80) {
                    const char *uw;
                    int uk;
                    size_t ul = utf8_special(s, len, j, &uw, &uk);
                    if (ul) {
                        /* a curly apostrophe inside a word ("don’t") is an apostrophe */
                        if (uk == 2 && j > i && isalpha(at(s, len, j + ul)) && at(s, len, j + 2) == 0x99) {
                            if (o < sizeof w - 1) w[o++] = '\'';
                            j += ul;
                            continue;
                        }
                        break;
                    }
                } else if (cj == '\'') {
                    if (!(j > i && isalpha(at(s, len, j + 1)))) break;
                } else if (!isalnum(cj)) {
                    break;
                }
                if (o < sizeof w - 1) w[o++] = (char)tolower(cj);
                j++;
                /* digits then letters stay one word ("fp16", "cifar10", "beta1") */
            }
            w[o] = '\0';
            EMIT(TK_WORD, i, j);
            snprintf(out[n - 1].text, TOK_TEXT, "%s", w);
            i = j;
            continue;
        }
        if (ch == '-' || ch == '_' || ch == '\'' || ch == '`') {
            if (ch == '\'' || ch == '`') {
                EMIT(TK_PUNCT, i, i + 1);
                out[n - 1].text[0] = '"';
            }
            i++;
            continue;
        }
        EMIT(TK_PUNCT, i, i + 1);
        out[n - 1].text[0] = (char)ch;
        i++;
    }
#undef EMIT
    return n;
}
