/* Per-client evaluation (partition.test_fraction): a model's accuracy on
 * one client's local test split, and the summary over clients the metrics
 * report (mean, 10th percentile, worst). The trainer scores the client's
 * own model with it, the server the global model when no simulator does. */
#include <math.h>
#include <stdlib.h>

#include "engine_internal.h"

double fedc_engine_split_accuracy(const fedc_arch *a, fedc_ws *ws, const float *params, const fedc_client_data *cd,
                                  size_t batch, float *xb, int32_t *yb) {
    size_t n = cd->split_n;
    if (n == 0) return NAN;
    /* Correct predictions counted as integers: the score does not depend
     * on how the split is batched. */
    double correct = 0;
    for (size_t b = 0; b < n; b += batch) {
        size_t nb = n - b < batch ? n - b : batch;
        fedc_dataset_gather(cd->data, cd->split_index + b, nb, xb, yb);
        if (cd->domain) fedc_domain_apply(cd->domain, fedc_arch_input(a), cd->domain_seed, cd->split_index + b, xb, nb);
        double acc, loss;
        fedc_nn_evaluate(a, ws, params, xb, yb, nb, &acc, &loss);
        correct += floor(acc * (double)nb + 0.5);
    }
    return correct / (double)n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int fedc_engine_client_summary(const double *acc, int n, double *mean, double *p10, double *min) {
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) return -1;
    int m = 0;
    double sum = 0;
    for (int k = 0; k < n; k++)
        if (isfinite(acc[k])) {
            v[m++] = acc[k];
            sum += acc[k];
        }
    if (m == 0) {
        free(v);
        return 0;
    }
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    /* Percentile by linear interpolation between order statistics (as
     * numpy.percentile does by default). */
    double pos = 0.1 * (m - 1);
    int lo = (int)floor(pos), hi = lo + 1 < m ? lo + 1 : lo;
    *p10 = v[lo] + (v[hi] - v[lo]) * (pos - lo);
    *mean = sum / m;
    *min = v[0];
    free(v);
    return m;
}
