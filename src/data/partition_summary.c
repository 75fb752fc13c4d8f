/* Partition statistics and the human-readable table (fedc partition
 * --print, task logs): sizes, label histograms and how far each client's
 * label mix is from the global one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/data.h"

/* Above this many classes the table shows the top labels, not all. */
#define PRINT_MAX_CLASS_COLUMNS 16
#define PRINT_TOP_LABELS 5

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Label counts of client k into hist (n_classes entries). */
static int client_hist(const fedc_dataset *d, const fedc_partition *p, int k, size_t *hist,
                       fedc_error *err) {
    memset(hist, 0, (size_t)d->n_classes * sizeof *hist);
    const uint32_t *ids = fedc_partition_client(p, k);
    for (size_t t = 0, n = fedc_partition_size(p, k); t < n; t++) {
        if (ids[t] >= d->n)
            return fedc_fail(err, "partition: client %d has sample id %u, the dataset has %zu", k,
                             ids[t], d->n);
        int32_t y = d->y[ids[t]];
        if (y < 0 || y >= d->n_classes)
            return fedc_fail(err, "partition: sample %u has label %d, outside 0..%d", ids[t], y,
                             d->n_classes - 1);
        hist[y]++;
    }
    return 0;
}

int fedc_partition_summarize(const fedc_dataset *d, const fedc_partition *p,
                             fedc_partition_summary *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!d || !p || p->n_clients < 1 || !p->offsets || d->n_classes < 1)
        return fedc_fail(err, "partition: nothing to summarize");
    const int K = p->n_clients;
    const size_t C = (size_t)d->n_classes;
    size_t *sizes = malloc((size_t)K * sizeof *sizes);
    size_t *hist = malloc(C * sizeof *hist);
    size_t *global = calloc(C, sizeof *global);
    int rc = -1;
    if (!sizes || !hist || !global) {
        fedc_fail(err, "partition: out of memory");
        goto done;
    }
    out->n_clients = K;
    for (int k = 0; k < K; k++) {
        if (p->offsets[k + 1] < p->offsets[k]) {
            fedc_fail(err, "partition: offsets decrease at client %d", k);
            goto done;
        }
        sizes[k] = fedc_partition_size(p, k);
        out->n_samples += sizes[k];
        if (client_hist(d, p, k, hist, err) != 0)
            goto done;
        for (size_t c = 0; c < C; c++)
            global[c] += hist[c];
    }
    size_t classes_sum = 0;
    double tv_sum = 0;
    for (int k = 0; k < K; k++) {
        client_hist(d, p, k, hist, NULL);
        if (sizes[k] == 0) {
            out->empty_clients++;
            continue;
        }
        double tv = 0;
        for (size_t c = 0; c < C; c++) {
            classes_sum += hist[c] > 0;
            tv += fabs((double)hist[c] / (double)sizes[k] -
                       (double)global[c] / (double)out->n_samples);
        }
        tv_sum += 0.5 * tv;
    }
    out->mean_classes = (double)classes_sum / K;
    int filled = K - out->empty_clients;
    out->mean_tv = filled > 0 ? tv_sum / filled : 0;
    qsort(sizes, (size_t)K, sizeof *sizes, cmp_size);
    out->min_size = sizes[0];
    out->median_size = sizes[K / 2];
    out->max_size = sizes[K - 1];
    rc = 0;
done:
    free(sizes);
    free(hist);
    free(global);
    return rc;
}

static void print_top_labels(FILE *f, const size_t *hist, size_t C) {
    size_t distinct = 0;
    for (size_t c = 0; c < C; c++)
        distinct += hist[c] > 0;
    fprintf(f, "  %zu classes; top:", distinct);
    /* Repeated selection of the largest count: C is small next to n. */
    size_t shown_max = (size_t)-1, shown_id = 0;
    for (int r = 0; r < PRINT_TOP_LABELS; r++) {
        size_t best = 0, best_id = 0;
        int found = 0;
        for (size_t c = 0; c < C; c++) {
            int after = hist[c] < shown_max || (hist[c] == shown_max && c > shown_id);
            if (hist[c] > 0 && after && (!found || hist[c] > best)) {
                best = hist[c];
                best_id = c;
                found = 1;
            }
        }
        if (!found)
            break;
        fprintf(f, " %zu:%zu", best_id, best);
        shown_max = best;
        shown_id = best_id;
    }
    fputc('\n', f);
}

void fedc_partition_print(FILE *f, const fedc_dataset *d, const fedc_partition *p, int max_rows) {
    fedc_error err;
    fedc_partition_summary s;
    if (fedc_partition_summarize(d, p, &s, &err) != 0) {
        fprintf(f, "partition: %s\n", err.msg);
        return;
    }
    const size_t C = (size_t)d->n_classes;
    size_t *hist = malloc(C * sizeof *hist);
    if (!hist) {
        fprintf(f, "partition: out of memory\n");
        return;
    }
    int rows = max_rows < 0 ? 0 : max_rows > s.n_clients ? s.n_clients : max_rows;
    fprintf(f, "partition: %d clients, %zu samples, %d classes\n", s.n_clients, s.n_samples,
            d->n_classes);
    if (rows > 0) {
        if (C <= PRINT_MAX_CLASS_COLUMNS) {
            fprintf(f, "%8s %8s  samples per class", "client", "samples");
            for (size_t c = 0; c < C; c++)
                fprintf(f, c ? " %6zu" : "  %6zu", c);
            fputc('\n', f);
        } else {
            fprintf(f, "%8s %8s  label histogram (class:count)\n", "client", "samples");
        }
    }
    for (int k = 0; k < rows; k++) {
        client_hist(d, p, k, hist, NULL);
        fprintf(f, "%8d %8zu", k, fedc_partition_size(p, k));
        if (C <= PRINT_MAX_CLASS_COLUMNS) {
            fprintf(f, "%*s", (int)strlen("  samples per class"), "");
            for (size_t c = 0; c < C; c++)
                fprintf(f, c ? " %6zu" : "  %6zu", hist[c]);
            fputc('\n', f);
        } else {
            print_top_labels(f, hist, C);
        }
    }
    if (rows < s.n_clients && rows > 0)
        fprintf(f, "  ... %d more clients\n", s.n_clients - rows);
    fprintf(f, "sizes: min %zu, median %zu, max %zu; empty clients %d\n", s.min_size, s.median_size,
            s.max_size, s.empty_clients);
    fprintf(f,
            "labels: %.2f classes per client on average; mean total-variation distance from "
            "the global label mix %.3f (0 = same mix as the whole dataset, 1 = disjoint)\n",
            s.mean_classes, s.mean_tv);
    free(hist);
}
