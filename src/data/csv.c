/* CSV datasets: header row, a named label column (integers or class names),
 * numeric features standardised with the training file's mean/std. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv_tokenize.h"
#include "data/data_internal.h"
#include "data/strmap.h"

/* Longest numeric cell accepted (digits, sign, exponent, spaces). */
#define CSV_MAX_NUMBER 128
/* How much of a bad cell an error message quotes. */
#define CSV_QUOTE_MAX 48

typedef struct csv_job {
    const char *name;
    const char *label;
    const fedc_csv_schema *train; /* NULL: compute statistics */
    csv_cursor cur;
    csv_cell *cells;
    size_t ncols;
    int label_col;
    int nfeat;
    int *col_feat;        /* column -> feature index, -1 for the label column */
    char **col_name;      /* header names (unescaped) */
    strmap train_classes; /* test mode with named classes: name -> id */
    strmap classes;       /* train mode: label text -> id, first appearance order */
    int all_integer;      /* train mode: every label cell so far is a class number */
    size_t rows, cap_rows;
    double *vals;        /* rows x nfeat */
    int32_t *int_label;  /* train mode: number label or -1 */
    int32_t *name_label; /* train mode: id by first appearance; test mode: final label */
    char *scratch;       /* unescaped cell text */
    size_t scratch_cap;
} csv_job;

static void job_free(csv_job *j) {
    free(j->cells);
    free(j->col_feat);
    if (j->col_name)
        for (size_t i = 0; i < j->ncols; i++)
            free(j->col_name[i]);
    free(j->col_name);
    strmap_free(&j->train_classes);
    strmap_free(&j->classes);
    free(j->vals);
    free(j->int_label);
    free(j->name_label);
    free(j->scratch);
}

/* Cell text with quotes undone; points into the buffer when possible. */
static int cell_text(csv_job *j, const csv_cell *c, const char **s, size_t *len, fedc_error *err) {
    if (!c->escapes) {
        *s = c->p;
        *len = c->len;
        return 0;
    }
    if (c->len + 1 > j->scratch_cap) {
        char *ns = realloc(j->scratch, c->len + 1);
        if (!ns)
            return fedc_fail(err, "%s: out of memory", j->name);
        j->scratch = ns;
        j->scratch_cap = c->len + 1;
    }
    *len = csv_cell_copy(c, j->scratch, j->scratch_cap);
    *s = j->scratch;
    return 0;
}

enum { NUM_OK = 0, NUM_EMPTY, NUM_BAD, NUM_INFINITE };

static int cell_number(const csv_cell *c, double *v) {
    char buf[CSV_MAX_NUMBER];
    size_t n = csv_cell_copy(c, buf, sizeof buf);
    if (n == (size_t)-1)
        return NUM_BAD;
    char *a = buf, *b = buf + n;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    *b = '\0';
    if (a == b)
        return NUM_EMPTY;
    char *e = NULL;
    double d = strtod(a, &e);
    if (e != b)
        return NUM_BAD;
    if (!isfinite(d))
        return NUM_INFINITE;
    *v = d;
    return NUM_OK;
}

/* A label cell that is a whole number in [0, FEDC_DATA_MAX_CLASSES). */
static int cell_class_number(const csv_cell *c, int32_t *out) {
    double v;
    if (cell_number(c, &v) != NUM_OK)
        return 0;
    if (v < 0 || v >= FEDC_DATA_MAX_CLASSES || v != floor(v))
        return 0;
    *out = (int32_t)v;
    return 1;
}

static int cell_error(csv_job *j, size_t line, size_t col, const char *what, fedc_error *err) {
    const csv_cell *c = &j->cells[col];
    int shown = c->len > CSV_QUOTE_MAX ? CSV_QUOTE_MAX : (int)c->len;
    return fedc_fail(err, "%s: line %zu, column %zu ('%s'): '%.*s%s' %s", j->name, line, col + 1,
                     j->col_name[col], shown, c->p, c->len > CSV_QUOTE_MAX ? "..." : "", what);
}

/* Lists the header names for "not found" errors, cut to fit a message. */
static void list_names(char *const *names, size_t n, char *dst, size_t cap) {
    size_t o = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        int w = snprintf(dst + o, cap - o, "%s%s", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= cap - o) {
            snprintf(dst + (o > cap - 5 ? cap - 5 : o), 5, "...");
            return;
        }
        o += (size_t)w;
    }
}

static int read_header(csv_job *j, fedc_error *err) {
    size_t ncells = 0, line = 0;
    csv_cursor rewind_to;
    csv_cell first;
    /* First pass counts the header's cells (skipping blank lines), the
     * second stores them. */
    for (;;) {
        rewind_to = j->cur;
        int r = csv_next_record(&j->cur, &first, 1, &ncells, &line, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return fedc_fail(err, "%s: empty file: no header row", j->name);
        if (!csv_record_blank(&first, ncells))
            break;
    }
    j->ncols = ncells;
    j->cells = calloc(ncells + 1, sizeof *j->cells);
    j->col_feat = calloc(ncells, sizeof *j->col_feat);
    j->col_name = calloc(ncells, sizeof *j->col_name);
    if (!j->cells || !j->col_feat || !j->col_name)
        return fedc_fail(err, "%s: out of memory", j->name);
    j->cur = rewind_to;
    if (csv_next_record(&j->cur, j->cells, ncells, &ncells, &line, err) != 1)
        return -1;

    strmap names = {0};
    int rc = -1;
    j->label_col = -1;
    for (size_t i = 0; i < j->ncols; i++) {
        const char *s = NULL;
        size_t len = 0;
        if (cell_text(j, &j->cells[i], &s, &len, err) != 0)
            goto done;
        if (len == 0) {
            fedc_fail(err, "%s: line %zu: header column %zu has an empty name", j->name, line,
                      i + 1);
            goto done;
        }
        j->col_name[i] = strndup(s, len);
        if (!j->col_name[i]) {
            fedc_fail(err, "%s: out of memory", j->name);
            goto done;
        }
        int prev = strmap_get(&names, s, len);
        if (prev >= 0) {
            fedc_fail(err, "%s: line %zu: duplicate column name '%s' (columns %d and %zu)", j->name,
                      line, j->col_name[i], prev + 1, i + 1);
            goto done;
        }
        if (strmap_put(&names, s, len, (int)i) != 0) {
            fedc_fail(err, "%s: out of memory", j->name);
            goto done;
        }
        if (!strcmp(j->col_name[i], j->label))
            j->label_col = (int)i;
    }
    if (j->label_col < 0) {
        char list[600];
        list_names(j->col_name, j->ncols, list, sizeof list);
        fedc_fail(err, "%s: no label column named '%s' in the header (columns: %s)", j->name,
                  j->label, list);
        goto done;
    }
    j->nfeat = (int)j->ncols - 1;
    if (j->nfeat == 0) {
        fedc_fail(err, "%s: no feature columns besides the label column '%s'", j->name, j->label);
        goto done;
    }
    if (!j->train) {
        int f = 0;
        for (size_t i = 0; i < j->ncols; i++)
            j->col_feat[i] = (int)i == j->label_col ? -1 : f++;
        rc = 0;
        goto done;
    }
    /* Test file: match columns to the training features by name. */
    strmap feats = {0};
    for (int f = 0; f < j->train->n_features; f++) {
        const char *fname = j->train->feature_names[f];
        if (strmap_put(&feats, fname, strlen(fname), f) != 0) {
            strmap_free(&feats);
            fedc_fail(err, "%s: out of memory", j->name);
            goto done;
        }
    }
    for (size_t i = 0; i < j->ncols; i++) {
        if ((int)i == j->label_col) {
            j->col_feat[i] = -1;
            continue;
        }
        int f = strmap_get(&feats, j->col_name[i], strlen(j->col_name[i]));
        if (f < 0) {
            strmap_free(&feats);
            fedc_fail(err, "%s: column %zu '%s' is not a feature of the training data", j->name,
                      i + 1, j->col_name[i]);
            goto done;
        }
        j->col_feat[i] = f;
    }
    strmap_free(&feats);
    if (j->nfeat != j->train->n_features) {
        for (int f = 0; f < j->train->n_features; f++) {
            const char *fname = j->train->feature_names[f];
            if (strmap_get(&names, fname, strlen(fname)) < 0) {
                fedc_fail(err, "%s: missing feature column '%s' of the training data", j->name,
                          fname);
                goto done;
            }
        }
    }
    rc = 0;
done:
    strmap_free(&names);
    return rc;
}

static int prepare_labels_from_schema(csv_job *j, fedc_error *err) {
    const fedc_csv_schema *s = j->train;
    if (!s->class_names)
        return 0;
    for (int c = 0; c < s->n_classes; c++) {
        if (strmap_put(&j->train_classes, s->class_names[c], strlen(s->class_names[c]), c) != 0)
            return fedc_fail(err, "%s: out of memory", j->name);
    }
    return 0;
}

static int take_label(csv_job *j, size_t line, fedc_error *err) {
    const int col = j->label_col;
    const csv_cell *c = &j->cells[col];
    const char *s = NULL;
    size_t len = 0;
    if (cell_text(j, c, &s, &len, err) != 0)
        return -1;
    if (len == 0)
        return cell_error(j, line, (size_t)col, "is an empty label", err);
    int32_t num;
    if (j->train) {
        if (!j->train->class_names) {
            if (!cell_class_number(c, &num) || num >= j->train->n_classes) {
                char what[96];
                snprintf(what, sizeof what, "is not a class of the training data (0..%d)",
                         j->train->n_classes - 1);
                return cell_error(j, line, (size_t)col, what, err);
            }
        } else {
            num = strmap_get(&j->train_classes, s, len);
            if (num < 0)
                return cell_error(j, line, (size_t)col,
                                  "is a label the training data does not have", err);
        }
        j->name_label[j->rows] = num;
        return 0;
    }
    if (cell_class_number(c, &num)) {
        j->int_label[j->rows] = num;
    } else {
        j->int_label[j->rows] = -1;
        j->all_integer = 0;
    }
    int id = strmap_get(&j->classes, s, len);
    if (id < 0) {
        if (j->classes.count >= FEDC_DATA_MAX_CLASSES) {
            char what[96];
            snprintf(what, sizeof what, "makes more than %d distinct labels",
                     FEDC_DATA_MAX_CLASSES);
            return cell_error(j, line, (size_t)col, what, err);
        }
        id = (int)j->classes.count;
        if (strmap_put(&j->classes, s, len, id) != 0)
            return fedc_fail(err, "%s: out of memory", j->name);
    }
    j->name_label[j->rows] = id;
    return 0;
}

static const char *only_key(const strmap *m) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            return m->slots[i].key;
    return "";
}

static int read_rows(csv_job *j, fedc_error *err) {
    /* Every record but the last ends in a newline: an upper bound on rows. */
    size_t newlines = 0;
    for (const char *p = j->cur.p; p < j->cur.end; p++) {
        p = memchr(p, '\n', (size_t)(j->cur.end - p));
        if (!p)
            break;
        newlines++;
    }
    size_t max_rows = FEDC_CSV_MAX_VALUES / (size_t)j->nfeat;
    if (max_rows > UINT32_MAX)
        max_rows = UINT32_MAX;
    j->cap_rows = newlines + 1 < max_rows ? newlines + 1 : max_rows;
    j->vals = malloc(j->cap_rows * (size_t)j->nfeat * sizeof *j->vals);
    j->name_label = malloc(j->cap_rows * sizeof *j->name_label);
    if (!j->train)
        j->int_label = malloc(j->cap_rows * sizeof *j->int_label);
    if (!j->vals || !j->name_label || (!j->train && !j->int_label))
        return fedc_fail(err, "%s: out of memory for %zu rows of %d features", j->name, j->cap_rows,
                         j->nfeat);
    for (;;) {
        size_t ncells = 0, line = 0;
        int r = csv_next_record(&j->cur, j->cells, j->ncols + 1, &ncells, &line, err);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        if (csv_record_blank(j->cells, ncells))
            continue;
        if (ncells != j->ncols)
            return fedc_fail(err, "%s: line %zu has %zu fields, the header has %zu columns",
                             j->name, line, ncells, j->ncols);
        if (j->rows == j->cap_rows)
            return fedc_fail(err,
                             "%s: line %zu: more than %zu rows of %d features (limit of %zu "
                             "values)",
                             j->name, line, j->cap_rows, j->nfeat, FEDC_CSV_MAX_VALUES);
        double *row = j->vals + j->rows * (size_t)j->nfeat;
        for (size_t i = 0; i < j->ncols; i++) {
            if ((int)i == j->label_col) {
                if (take_label(j, line, err) != 0)
                    return -1;
                continue;
            }
            double v = 0;
            switch (cell_number(&j->cells[i], &v)) {
            case NUM_OK: break;
            case NUM_EMPTY:
                return cell_error(j, line, i, "is empty (missing values are not supported)", err);
            case NUM_INFINITE: return cell_error(j, line, i, "is not a finite number", err);
            default: return cell_error(j, line, i, "is not a number", err);
            }
            row[j->col_feat[i]] = v;
        }
        j->rows++;
    }
    if (j->rows == 0)
        return fedc_fail(err, "%s: no data rows after the header", j->name);
    return 0;
}

/* Population mean/std per feature; std 0 (constant column) becomes 1. */
static int compute_stats(const csv_job *j, double **mean_out, double **std_out, fedc_error *err) {
    const size_t f = (size_t)j->nfeat;
    double *mean = calloc(f, sizeof *mean), *sd = calloc(f, sizeof *sd);
    if (!mean || !sd) {
        free(mean);
        free(sd);
        return fedc_fail(err, "%s: out of memory", j->name);
    }
    for (size_t r = 0; r < j->rows; r++)
        for (size_t k = 0; k < f; k++)
            mean[k] += j->vals[r * f + k];
    for (size_t k = 0; k < f; k++)
        mean[k] /= (double)j->rows;
    for (size_t r = 0; r < j->rows; r++)
        for (size_t k = 0; k < f; k++) {
            double d = j->vals[r * f + k] - mean[k];
            sd[k] += d * d;
        }
    for (size_t k = 0; k < f; k++) {
        sd[k] = sqrt(sd[k] / (double)j->rows);
        if (!(sd[k] > 0) || !isfinite(sd[k]))
            sd[k] = 1.0;
    }
    *mean_out = mean;
    *std_out = sd;
    return 0;
}

static int fill_schema(csv_job *j, double *mean, double *sd, int n_classes, fedc_csv_schema *s,
                       fedc_error *err) {
    memset(s, 0, sizeof *s);
    s->n_features = j->nfeat;
    s->mean = mean;
    s->std = sd;
    s->n_classes = n_classes;
    s->feature_names = calloc((size_t)j->nfeat, sizeof *s->feature_names);
    if (!s->feature_names)
        goto oom;
    for (size_t i = 0; i < j->ncols; i++) {
        if (j->col_feat[i] < 0)
            continue;
        s->feature_names[j->col_feat[i]] = strdup(j->col_name[i]);
        if (!s->feature_names[j->col_feat[i]])
            goto oom;
    }
    if (!j->all_integer) {
        s->class_names = calloc((size_t)n_classes, sizeof *s->class_names);
        if (!s->class_names)
            goto oom;
        for (size_t i = 0; i < j->classes.cap; i++) {
            const strmap_slot *slot = &j->classes.slots[i];
            if (!slot->key)
                continue;
            s->class_names[slot->value] = strdup(slot->key);
            if (!s->class_names[slot->value])
                goto oom;
        }
    }
    return 0;
oom:
    fedc_csv_schema_free(s);
    return fedc_fail(err, "%s: out of memory", j->name);
}

int fedc_parse_csv(const char *text, size_t len, const char *name, const char *label_column,
                   const fedc_csv_schema *train, fedc_dataset *out, fedc_csv_schema *schema_out,
                   fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (schema_out && !train)
        memset(schema_out, 0, sizeof *schema_out);
    csv_job j = {0};
    j.name = name ? name : "csv";
    j.label = label_column && *label_column ? label_column : "label";
    j.train = train;
    j.all_integer = 1;
    if (!text && len)
        return fedc_fail(err, "%s: no data", j.name);
    if (len > FEDC_DATA_MAX_BYTES)
        return fedc_fail(err, "%s: %zu bytes, more than the limit of %zu", j.name, len,
                         FEDC_DATA_MAX_BYTES);
    if (train && (train->n_features < 1 || !train->feature_names || !train->mean || !train->std ||
                  train->n_classes < 2))
        return fedc_fail(err, "%s: the training schema is empty or incomplete", j.name);
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF) {
        text += 3;
        len -= 3;
    }
    j.cur.p = text;
    j.cur.end = text + len;
    j.cur.line = 1;
    j.cur.name = j.name;

    double *mean = NULL, *sd = NULL;
    int rc = -1;
    if (read_header(&j, err) != 0)
        goto done;
    if (train && prepare_labels_from_schema(&j, err) != 0)
        goto done;
    if (read_rows(&j, err) != 0)
        goto done;

    int n_classes;
    const int32_t *labels;
    if (train) {
        n_classes = train->n_classes;
        labels = j.name_label;
        mean = train->mean;
        sd = train->std;
    } else {
        if (j.all_integer) {
            int32_t max = 0;
            for (size_t r = 0; r < j.rows; r++)
                if (j.int_label[r] > max)
                    max = j.int_label[r];
            n_classes = max + 1 < 2 ? 2 : max + 1;
            labels = j.int_label;
        } else {
            n_classes = (int)j.classes.count;
            labels = j.name_label;
            if (n_classes < 2) {
                fedc_fail(err,
                          "%s: label column '%s' has a single class ('%s'): classification "
                          "needs at least 2",
                          j.name, j.label, only_key(&j.classes));
                goto done;
            }
        }
        if (compute_stats(&j, &mean, &sd, err) != 0)
            goto done;
    }
    fedc_shape shape = {1, 1, j.nfeat};
    if (data_alloc(out, j.rows, shape, n_classes, j.name, err) != 0)
        goto done;
    const size_t f = (size_t)j.nfeat;
    for (size_t r = 0; r < j.rows; r++) {
        out->y[r] = labels[r];
        for (size_t k = 0; k < f; k++)
            out->x[r * f + k] = (float)((j.vals[r * f + k] - mean[k]) / sd[k]);
    }
    if (!train && schema_out) {
        if (fill_schema(&j, mean, sd, n_classes, schema_out, err) != 0) {
            mean = sd = NULL; /* freed with the schema */
            fedc_dataset_free(out);
            goto done;
        }
        mean = sd = NULL; /* owned by the schema now */
    }
    rc = 0;
done:
    if (!train) {
        free(mean);
        free(sd);
    }
    job_free(&j);
    return rc;
}

void fedc_csv_schema_free(fedc_csv_schema *s) {
    if (!s)
        return;
    if (s->feature_names)
        for (int i = 0; i < s->n_features; i++)
            free(s->feature_names[i]);
    if (s->class_names)
        for (int i = 0; i < s->n_classes; i++)
            free(s->class_names[i]);
    free(s->feature_names);
    free(s->class_names);
    free(s->mean);
    free(s->std);
    memset(s, 0, sizeof *s);
}

static int load_csv_file(const char *path, const char *label_column, const fedc_csv_schema *train,
                         fedc_dataset *out, fedc_csv_schema *schema_out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (data_read_file(path, FEDC_DATA_MAX_BYTES, &buf, &len, err) != 0)
        return -1;
    int rc =
        fedc_parse_csv((const char *)buf, len, path, label_column, train, out, schema_out, err);
    free(buf);
    return rc;
}

int fedc_load_csv(const char *path, const char *label_column, fedc_dataset *out, fedc_error *err) {
    return load_csv_file(path, label_column, NULL, out, NULL, err);
}

int fedc_load_csv_train(const char *path, const char *label_column, fedc_dataset *out,
                        fedc_csv_schema *schema, fedc_error *err) {
    return load_csv_file(path, label_column, NULL, out, schema, err);
}

int fedc_load_csv_test(const char *path, const char *label_column, const fedc_csv_schema *schema,
                       fedc_dataset *out, fedc_error *err) {
    if (!schema)
        return fedc_fail(err, "%s: no training schema given", path ? path : "csv");
    return load_csv_file(path, label_column, schema, out, NULL, err);
}
