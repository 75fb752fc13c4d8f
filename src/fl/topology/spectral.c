/* Degree statistics and the spectral gap of the mixing matrix, from LAPACK's
 * symmetric eigen-solver (OpenBLAS ships it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "topology_internal.h"

/* LAPACK (Fortran calling convention). */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                   double *work, const int *lwork, int *info);

int fedc_sym_eigenvalues(double *a, int n, double *ev, fedc_error *err) {
    if (n < 1) return fedc_fail(err, "eigenvalues: empty matrix");
    int lwork = -1, info = 0;
    double query = 0;
    dsyev_("N", "U", &n, a, &n, ev, &query, &lwork, &info);
    if (info != 0) return fedc_fail(err, "eigenvalues: LAPACK dsyev refused the workspace query (%d)", info);
    lwork = (int)query;
    if (lwork < 3 * n) lwork = 3 * n;
    double *work = malloc((size_t)lwork * sizeof *work);
    if (!work) return fedc_fail(err, "eigenvalues: out of memory");
    dsyev_("N", "U", &n, a, &n, ev, work, &lwork, &info);
    free(work);
    if (info != 0) return fedc_fail(err, "eigenvalues: LAPACK dsyev did not converge (%d)", info);
    return 0;
}

double fedc_ring_spectral_gap(int n) { return 1.0 - (1.0 + 2.0 * cos(2.0 * M_PI / n)) / 3.0; }

int fedc_topology_stats_get(fedc_topology *t, fedc_topology_stats *out, fedc_error *err) {
    int n = t->n;
    memset(out, 0, sizeof *out);
    out->n = n;
    out->edges = t->adj_start[n] / 2;
    out->degree_min = n > 0 ? t->adj_start[1] - t->adj_start[0] : 0;
    long sum = 0;
    for (int i = 0; i < n; i++) {
        int d = t->adj_start[i + 1] - t->adj_start[i];
        if (d < out->degree_min) out->degree_min = d;
        if (d > out->degree_max) out->degree_max = d;
        sum += d;
    }
    out->degree_mean = n > 0 ? (double)sum / n : 0;
    if (n > FEDC_TOPOLOGY_SPECTRAL_MAX)
        return fedc_fail(err, "topology: the spectral gap of %d nodes needs a dense eigen-decomposition; at most %d",
                         n, FEDC_TOPOLOGY_SPECTRAL_MAX);
    if (n == 1) {
        out->lambda2 = 0;
        out->spectral_gap = 1;
        return 0;
    }
    double *a = calloc((size_t)n * n, sizeof *a), *ev = malloc((size_t)n * sizeof *ev);
    if (!a || !ev) {
        free(a), free(ev);
        return fedc_fail(err, "topology: out of memory for a %d x %d matrix", n, n);
    }
    if (fedc_topology_time_varying(t)) {
        /* E[W]: a given pair is matched with probability floor(n/2) / C(n, 2)
         * and then weighs 1/2 each way. */
        double pair = (double)(n / 2) / ((double)n * (n - 1) / 2.0), off = pair / 2.0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) a[(size_t)i * n + j] = i == j ? 1.0 - (n - 1) * off : off;
    } else {
        for (int i = 0; i < n; i++)
            for (int q = t->mstart[i]; q < t->mstart[i + 1]; q++) a[(size_t)i * n + t->mcol[q]] = t->mw[q];
    }
    int rc = fedc_sym_eigenvalues(a, n, ev, err);
    if (rc == 0) {
        /* Ascending: ev[n - 1] is the eigenvalue 1 of the all-ones vector. */
        double l2 = fabs(ev[0]) > fabs(ev[n - 2]) ? fabs(ev[0]) : fabs(ev[n - 2]);
        out->lambda2 = l2;
        out->spectral_gap = 1.0 - l2;
    }
    free(a);
    free(ev);
    return rc;
}

void fedc_topology_print(FILE *f, const fedc_topology_stats *s, const fedc_topology_config *cfg) {
    int tv = !strcmp(cfg->kind, "matching");
    fprintf(f, "topology      %s%s\n", cfg->kind, tv ? " (time-varying: a fresh random matching each round)" : "");
    fprintf(f, "mixing        %s\n", cfg->mixing);
    fprintf(f, "nodes         %d\n", s->n);
    fprintf(f, "edges         %d%s\n", s->edges, tv ? " per round" : "");
    fprintf(f, "degree        min %d, mean %.3f, max %d\n", s->degree_min, s->degree_mean, s->degree_max);
    fprintf(f, "lambda2       %.6f%s\n", s->lambda2, tv ? " (of the expected mixing matrix)" : "");
    fprintf(f, "spectral gap  %.6f\n", s->spectral_gap);
}
