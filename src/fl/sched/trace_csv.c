/* Strict parser of client trace CSV files:
 *   client,samples_per_s,up_bps,down_bps[,avail]
 *   0,1800,8e6,4e7,0-9;20-29
 * client: integer 0..9999999, each at most once, and every client of the run
 * (0..n_clients-1) present; rows of larger ids are checked and ignored.
 * samples_per_s in (0, 1e12], up_bps and down_bps in (0, 1e15] (bit/s).
 * avail: ';'-separated round windows "a-b" or "a" (0 <= a <= b <= 1e9),
 * increasing and disjoint; the client is available only in those rounds.
 * Empty (or no avail column): always available. Blank lines are skipped;
 * fields may be padded with spaces; no quoting. Errors name
 * source:line:column, the field, the bad value and what is allowed. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/sched/sched_internal.h"

#define MAX_CLIENT_ID 9999999
#define MAX_CLIENT_DIGITS 7
#define MAX_SAMPLES_PER_S 1e12
#define MAX_BPS 1e15
#define MAX_ROUND 1000000000
#define MAX_WINDOWS_PER_ROW 100000
#define MAX_NUMBER_LEN 64
#define HEADER "client,samples_per_s,up_bps,down_bps[,avail]"

typedef struct field {
    const char *p;
    size_t len;
    int col; /* 1-based column of the first character */
} field;

typedef struct trace_row {
    int id, line;
    double samples_per_s, up_bps, down_bps;
    int has_windows;
    size_t win_off, win_count;
} trace_row;

typedef struct parser {
    const char *source;
    int line;
    fedc_error *err;
    trace_row *rows;
    size_t n_rows, cap_rows;
    int32_t *win_lo, *win_hi;
    size_t n_win, cap_win;
} parser;

/* A field's text for messages: at most 40 bytes, non-printables as '?'. */
static void show(const char *p, size_t len, char *out, size_t cap) {
    size_t n = len < 40 ? len : 40, o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++)
        out[o++] = (p[i] >= 0x20 && p[i] < 0x7F) ? p[i] : '?';
    if (n < len && o + 4 < cap) out[o++] = '.', out[o++] = '.', out[o++] = '.';
    out[o] = '\0';
}

static int fail_at(parser *ps, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(parser *ps, int col, const char *fmt, ...) {
    char msg[FEDC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (col > 0) return fedc_fail(ps->err, "%s:%d:%d: %s", ps->source, ps->line, col, msg);
    return fedc_fail(ps->err, "%s:%d: %s", ps->source, ps->line, msg);
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Splits a line on ',' into at most max fields (one more is counted to
 * detect excess); fields are trimmed of blanks. Returns the field count. */
static int split(const char *s, size_t len, field *f, int max) {
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ',') continue;
        if (n < max) {
            size_t a = start, b = i;
            while (a < b && is_blank(s[a])) a++;
            while (b > a && is_blank(s[b - 1])) b--;
            f[n].p = s + a;
            f[n].len = b - a;
            f[n].col = (int)a + 1;
        }
        n++;
        start = i + 1;
    }
    return n;
}

static int field_is(const field *f, const char *name) {
    return f->len == strlen(name) && memcmp(f->p, name, f->len) == 0;
}

static int parse_header(parser *ps, const char *s, size_t len, int *n_fields) {
    field f[6];
    int n = split(s, len, f, 6);
    static const char *const names[] = {"client", "samples_per_s", "up_bps", "down_bps", "avail"};
    int ok = n == 4 || n == 5;
    for (int i = 0; ok && i < n; i++) ok = field_is(&f[i], names[i]);
    if (!ok) {
        char shown[64];
        show(s, len, shown, sizeof shown);
        return fail_at(ps, 0, "header is '%s'; expected " HEADER, shown);
    }
    *n_fields = n;
    return 0;
}

static int parse_client(parser *ps, const field *f, int *id) {
    int ok = f->len > 0 && f->len <= MAX_CLIENT_DIGITS;
    long v = 0;
    for (size_t i = 0; ok && i < f->len; i++) {
        ok = f->p[i] >= '0' && f->p[i] <= '9';
        v = v * 10 + (f->p[i] - '0');
    }
    if (!ok) {
        char shown[64];
        show(f->p, f->len, shown, sizeof shown);
        return fail_at(ps, f->col, "client '%s' is not an integer from 0 to %d", shown,
                       MAX_CLIENT_ID);
    }
    *id = (int)v;
    return 0;
}

static int parse_positive(parser *ps, const field *f, const char *name, double max, double *out) {
    char buf[MAX_NUMBER_LEN + 1], shown[64];
    int ok = f->len > 0 && f->len <= MAX_NUMBER_LEN;
    for (size_t i = 0; ok && i < f->len; i++) ok = strchr("0123456789.eE+-", f->p[i]) && f->p[i];
    double v = 0;
    if (ok) {
        memcpy(buf, f->p, f->len);
        buf[f->len] = '\0';
        char *end;
        v = strtod(buf, &end);
        ok = end == buf + f->len;
    }
    show(f->p, f->len, shown, sizeof shown);
    if (!ok)
        return fail_at(ps, f->col, "%s '%s' is not a number; allowed: > 0 and <= %g", name, shown,
                       max);
    if (!isfinite(v) || !(v > 0) || v > max)
        return fail_at(ps, f->col, "%s '%s' is out of range; allowed: > 0 and <= %g", name, shown,
                       max);
    *out = v;
    return 0;
}

/* A round number: digits only, at most MAX_ROUND. Returns the length
 * consumed or -1. */
static int parse_round(const char *p, size_t len, int32_t *out) {
    size_t i = 0;
    long long v = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        if (i >= 10) return -1;
        v = v * 10 + (p[i] - '0');
        i++;
    }
    if (i == 0 || v > MAX_ROUND) return -1;
    *out = (int32_t)v;
    return (int)i;
}

static int push_window(parser *ps, int32_t lo, int32_t hi) {
    if (ps->n_win == ps->cap_win) {
        size_t cap = ps->cap_win ? ps->cap_win * 2 : 64;
        int32_t *a = realloc(ps->win_lo, cap * sizeof *a);
        if (a) ps->win_lo = a;
        int32_t *b = a ? realloc(ps->win_hi, cap * sizeof *b) : NULL;
        if (b) ps->win_hi = b;
        if (!a || !b) return fail_at(ps, 0, "out of memory for availability windows");
        ps->cap_win = cap;
    }
    ps->win_lo[ps->n_win] = lo;
    ps->win_hi[ps->n_win] = hi;
    ps->n_win++;
    return 0;
}

static int parse_avail(parser *ps, const field *f, trace_row *row) {
    row->has_windows = f->len > 0;
    row->win_off = ps->n_win;
    row->win_count = 0;
    if (!f->len) return 0;
    long long prev_hi = -1;
    size_t start = 0;
    for (size_t i = 0; i <= f->len; i++) {
        if (i < f->len && f->p[i] != ';') continue;
        size_t a = start, b = i;
        while (a < b && is_blank(f->p[a])) a++;
        while (b > a && is_blank(f->p[b - 1])) b--;
        const char *w = f->p + a;
        size_t wl = b - a;
        int col = f->col + (int)a;
        char shown[64];
        show(w, wl, shown, sizeof shown);
        int32_t lo = 0, hi = 0;
        int used = wl ? parse_round(w, wl, &lo) : -1;
        if (used > 0 && (size_t)used == wl) {
            hi = lo;
        } else if (used > 0 && w[used] == '-' &&
                   parse_round(w + used + 1, wl - (size_t)used - 1, &hi) ==
                       (int)(wl - (size_t)used - 1)) {
            /* "a-b" */
        } else {
            return fail_at(ps, col,
                           "avail window '%s' is not 'a-b' or 'a' with rounds from 0 to %d "
                           "(windows are separated by ';')",
                           shown, MAX_ROUND);
        }
        if (lo > hi) return fail_at(ps, col, "avail window '%s' ends before it starts", shown);
        if (lo <= prev_hi)
            return fail_at(ps, col,
                           "avail window '%s' overlaps or precedes the previous one; windows must "
                           "be increasing and disjoint",
                           shown);
        if (row->win_count >= MAX_WINDOWS_PER_ROW)
            return fail_at(ps, col, "avail has more than %d windows", MAX_WINDOWS_PER_ROW);
        if (push_window(ps, lo, hi)) return -1;
        row->win_count++;
        prev_hi = hi;
        start = i + 1;
    }
    return 0;
}

static int parse_row(parser *ps, const char *s, size_t len, int n_fields) {
    field f[6];
    int n = split(s, len, f, 6);
    if (n != n_fields)
        return fail_at(ps, 0, "%d fields; the header has %d (" HEADER ")", n, n_fields);
    if (ps->n_rows == ps->cap_rows) {
        size_t cap = ps->cap_rows ? ps->cap_rows * 2 : 64;
        trace_row *r = realloc(ps->rows, cap * sizeof *r);
        if (!r) return fail_at(ps, 0, "out of memory for rows");
        ps->rows = r;
        ps->cap_rows = cap;
    }
    trace_row *row = &ps->rows[ps->n_rows];
    memset(row, 0, sizeof *row);
    row->line = ps->line;
    if (parse_client(ps, &f[0], &row->id) ||
        parse_positive(ps, &f[1], "samples_per_s", MAX_SAMPLES_PER_S, &row->samples_per_s) ||
        parse_positive(ps, &f[2], "up_bps", MAX_BPS, &row->up_bps) ||
        parse_positive(ps, &f[3], "down_bps", MAX_BPS, &row->down_bps))
        return -1;
    if (n_fields == 5 && parse_avail(ps, &f[4], row)) return -1;
    ps->n_rows++;
    return 0;
}

static int cmp_row_id(const void *a, const void *b) {
    const trace_row *x = a, *y = b;
    if (x->id != y->id) return (x->id > y->id) - (x->id < y->id);
    return (x->line > y->line) - (x->line < y->line);
}

/* Checks ids (unique, all of 0..n_clients-1 present) and builds the
 * profile from the rows of the run's clients. */
static fedc_profile *build(parser *ps, int n_clients) {
    qsort(ps->rows, ps->n_rows, sizeof *ps->rows, cmp_row_id);
    for (size_t i = 1; i < ps->n_rows; i++) {
        if (ps->rows[i].id == ps->rows[i - 1].id) {
            ps->line = ps->rows[i].line;
            fail_at(ps, 1, "client %d is already defined at line %d", ps->rows[i].id,
                    ps->rows[i - 1].line);
            return NULL;
        }
    }
    /* Sorted unique ids: client k of the run is row k iff ids 0..k appear. */
    for (int k = 0; k < n_clients; k++) {
        if ((size_t)k >= ps->n_rows || ps->rows[k].id != k) {
            fedc_fail(ps->err,
                      "%s: no row for client %d; the run has %d clients, so clients 0 to %d must "
                      "all be present",
                      ps->source, k, n_clients, n_clients - 1);
            return NULL;
        }
    }
    fedc_profile *p = profile_alloc(PROFILE_TRACE, n_clients);
    size_t n = (size_t)n_clients, total = 0;
    for (int k = 0; k < n_clients; k++) total += ps->rows[k].win_count;
    if (p) {
        p->has_windows = calloc(n, 1);
        p->win_off = calloc(n, sizeof *p->win_off);
        p->win_count = calloc(n, sizeof *p->win_count);
        p->win_lo = malloc((total ? total : 1) * sizeof *p->win_lo);
        p->win_hi = malloc((total ? total : 1) * sizeof *p->win_hi);
    }
    if (!p || !p->has_windows || !p->win_off || !p->win_count || !p->win_lo || !p->win_hi) {
        fedc_profile_free(p);
        fedc_fail(ps->err, "%s: out of memory for %d clients", ps->source, n_clients);
        return NULL;
    }
    size_t off = 0;
    for (int k = 0; k < n_clients; k++) {
        const trace_row *r = &ps->rows[k];
        p->samples_per_s[k] = r->samples_per_s;
        p->up_bps[k] = r->up_bps;
        p->down_bps[k] = r->down_bps;
        p->has_windows[k] = (uint8_t)r->has_windows;
        p->win_off[k] = off;
        p->win_count[k] = r->win_count;
        if (r->win_count) {
            memcpy(p->win_lo + off, ps->win_lo + r->win_off, r->win_count * sizeof *p->win_lo);
            memcpy(p->win_hi + off, ps->win_hi + r->win_off, r->win_count * sizeof *p->win_hi);
        }
        off += r->win_count;
    }
    return p;
}

fedc_profile *fedc_profile_from_csv(const char *text, size_t len, const char *source, int n_clients,
                                    fedc_error *err) {
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.source = source ? source : "trace";
    ps.err = err;
    if (!text && len) {
        fedc_fail(err, "%s: no text", ps.source);
        return NULL;
    }
    if (n_clients <= 0 || n_clients > PROFILE_MAX_CLIENTS) {
        fedc_fail(err, "%s: %d clients; allowed 1 to %d", ps.source, n_clients,
                  PROFILE_MAX_CLIENTS);
        return NULL;
    }
    int n_fields = 0, rc = 0;
    size_t pos = 0;
    while (pos < len && rc == 0) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - s) : len - pos;
        pos += l + (nl ? 1 : 0);
        ps.line++;
        if (l > 0 && s[l - 1] == '\r') l--;
        if (ps.line == 1) {
            if (l >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, l -= 3; /* UTF-8 BOM */
            rc = parse_header(&ps, s, l, &n_fields);
            continue;
        }
        size_t b = 0;
        while (b < l && is_blank(s[b])) b++;
        if (b == l) continue; /* blank line */
        rc = parse_row(&ps, s, l, n_fields);
    }
    fedc_profile *p = NULL;
    if (rc == 0 && ps.line == 0)
        fedc_fail(err, "%s: file is empty; expected the header " HEADER, ps.source);
    else if (rc == 0 && ps.n_rows == 0)
        fedc_fail(err, "%s: no client rows after the header", ps.source);
    else if (rc == 0)
        p = build(&ps, n_clients);
    free(ps.rows);
    free(ps.win_lo);
    free(ps.win_hi);
    return p;
}
