/* Coordinate-wise rules (Yin et al. 2018): each coordinate of the result
 * is the median, or the mean after dropping the f largest and f smallest
 * values, of that coordinate across the updates. They take no decision
 * about whole updates, so every update is reported as kept. */
#include <stdlib.h>

#include "aggregate_internal.h"

static int cmp_float(const void *pa, const void *pb) {
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

static void sort_values(float *a, int n) {
    if (n <= 32) agg_sort_small(a, n);
    else qsort(a, (size_t)n, sizeof *a, cmp_float);
}

/* out[j] = mean of the sorted column j without `trim` values at each end;
 * trim = -1 asks for the median (the middle value, or the mean of the two). */
static int by_column(const agg_input *in, int trim, float *out, fedc_error *err) {
    int n = in->n;
    float *col = malloc((size_t)n * sizeof *col);
    if (!col) return fedc_fail(err, "aggregation: out of memory");
    for (size_t j = 0; j < in->d; j++) {
        for (int i = 0; i < n; i++) col[i] = in->v[i][j];
        sort_values(col, n);
        if (trim < 0) {
            out[j] = n % 2 ? col[n / 2] : 0.5f * (col[n / 2 - 1] + col[n / 2]);
        } else {
            double s = 0;
            for (int i = trim; i < n - trim; i++) s += col[i];
            out[j] = (float)(s / (n - 2 * trim));
        }
    }
    free(col);
    return 0;
}

int agg_median(const agg_input *in, float *out, agg_output *o, fedc_error *err) {
    (void)o;
    return by_column(in, -1, out, err);
}

int agg_trimmed_mean(const agg_input *in, int f, float *out, agg_output *o, fedc_error *err) {
    (void)o;
    /* At least one value must remain in every column. */
    if (2 * f >= in->n) f = (in->n - 1) / 2;
    if (f < 0) f = 0;
    return by_column(in, f, out, err);
}
