/* Splits CSV text into records and cells, enforcing the line and column
 * bounds as it goes so a hostile file cannot make it scan or store without
 * limit beyond the buffer itself. */
#include "data/csv_tokenize.h"

#include "fedc/data.h"

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

int csv_record_blank(const csv_cell *cells, size_t ncells) {
    return ncells == 1 && !cells[0].quoted && cells[0].len == 0;
}

size_t csv_cell_copy(const csv_cell *c, char *dst, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < c->len; i++) {
        if (c->escapes && c->p[i] == '"')
            i++; /* "" -> " */
        if (o + 1 >= cap)
            return (size_t)-1;
        dst[o++] = c->p[i];
    }
    if (cap == 0)
        return (size_t)-1;
    dst[o] = '\0';
    return o;
}

int csv_next_record(csv_cursor *c, csv_cell *cells, size_t max, size_t *ncells, size_t *line,
                    fedc_error *err) {
    if (c->p >= c->end)
        return 0;
    const char *start = c->p, *end = c->end, *p = c->p;
    size_t rec_line = c->line, n = 0;
    *line = rec_line;
    for (;;) {
        csv_cell cell = {0};
        const char *q = p;
        while (q < end && is_blank(*q))
            q++;
        if (q < end && *q == '"') {
            cell.quoted = 1;
            cell.p = ++q;
            for (;;) {
                if (q >= end)
                    return fedc_fail(err, "%s: line %zu, column %zu: quoted field is never closed",
                                     c->name, rec_line, n + 1);
                if ((size_t)(q - start) > FEDC_CSV_MAX_LINE)
                    return fedc_fail(err, "%s: line %zu: record longer than %zu bytes", c->name,
                                     rec_line, FEDC_CSV_MAX_LINE);
                if (*q == '"') {
                    if (q + 1 < end && q[1] == '"') {
                        cell.escapes = 1;
                        q += 2;
                        continue;
                    }
                    break;
                }
                if (*q == '\n')
                    c->line++;
                q++;
            }
            cell.len = (size_t)(q - cell.p);
            q++; /* closing quote */
            while (q < end && is_blank(*q))
                q++;
            if (q + 1 < end && q[0] == '\r' && q[1] == '\n')
                q++;
            if (q < end && *q != ',' && *q != '\n')
                return fedc_fail(err,
                                 "%s: line %zu, column %zu: unexpected '%c' after the closing "
                                 "quote (a quote inside a quoted field must be doubled)",
                                 c->name, rec_line, n + 1, *q >= 32 && *q < 127 ? *q : '?');
        } else {
            while (q < end && *q != ',' && *q != '\n')
                q++;
            const char *a = p, *b = q;
            if (b > a && b[-1] == '\r' && (q == end || *q == '\n'))
                b--;
            while (a < b && is_blank(*a))
                a++;
            while (b > a && is_blank(b[-1]))
                b--;
            cell.p = a;
            cell.len = (size_t)(b - a);
        }
        if ((size_t)(q - start) > FEDC_CSV_MAX_LINE)
            return fedc_fail(err, "%s: line %zu: record longer than %zu bytes", c->name, rec_line,
                             FEDC_CSV_MAX_LINE);
        if (n < max)
            cells[n] = cell;
        if (++n > FEDC_CSV_MAX_COLUMNS)
            return fedc_fail(err, "%s: line %zu: more than %d columns", c->name, rec_line,
                             FEDC_CSV_MAX_COLUMNS);
        if (q >= end) {
            p = end;
            break;
        }
        if (*q == '\n') {
            p = q + 1;
            c->line++;
            break;
        }
        p = q + 1; /* past the comma */
    }
    c->p = p;
    *ncells = n;
    return 1;
}
