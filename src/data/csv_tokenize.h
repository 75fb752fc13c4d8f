/* RFC 4180-style CSV record reader over a memory buffer (private to
 * src/data). Cells point into the buffer; nothing is copied. */
#ifndef FEDC_DATA_CSV_TOKENIZE_H
#define FEDC_DATA_CSV_TOKENIZE_H

#include <stddef.h>

#include "fedc/error.h"

typedef struct csv_cell {
    const char *p; /* unquoted: trimmed of spaces/tabs; quoted: inside the quotes */
    size_t len;
    int quoted;
    int escapes; /* contains doubled quotes ("") to undo */
} csv_cell;

typedef struct csv_cursor {
    const char *p, *end;
    size_t line; /* 1-based physical line of p */
    const char *name;
} csv_cursor;

/* Reads the next record: the first max cells go to cells[], *ncells counts
 * them all and *line is the record's first line. Returns 1, 0 at the end of
 * the text, or -1 (err filled: unclosed quote, junk after a closing quote,
 * record longer than FEDC_CSV_MAX_LINE, more than FEDC_CSV_MAX_COLUMNS). */
int csv_next_record(csv_cursor *c, csv_cell *cells, size_t max, size_t *ncells, size_t *line,
                    fedc_error *err);

/* A record that is one empty unquoted cell (blank or whitespace-only line). */
int csv_record_blank(const csv_cell *cells, size_t ncells);

/* Copies the cell's text into dst (cap bytes, NUL-terminated), undoing
 * doubled quotes. Returns the text length, or (size_t)-1 if it does not fit. */
size_t csv_cell_copy(const csv_cell *c, char *dst, size_t cap);

#endif
