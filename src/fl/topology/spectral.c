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

/* DADAO's graph quantities, of the Laplacian of the edge-activation
 * probabilities (L / |E|: every edge equally likely): chi1 = 1 / its smallest
 * positive eigenvalue, chi2 = its largest edge resistance
 * max_ij 1/2 (e_i - e_j)^T L^+ (e_i - e_j). */
int fedc_topology_laplacian_chi(fedc_topology *t, double *chi1, double *chi2, fedc_error *err) {
    int n = t->n, edges = t->adj_start[n] / 2;
    if (n < 2 || edges < 1) return fedc_fail(err, "topology: a graph of %d nodes and %d edges has no Laplacian gap", n, edges);
    if (n > FEDC_TOPOLOGY_SPECTRAL_MAX)
        return fedc_fail(err, "topology: the Laplacian of %d nodes needs a dense eigen-decomposition; at most %d", n,
                         FEDC_TOPOLOGY_SPECTRAL_MAX);
    double *a = calloc((size_t)n * n, sizeof *a), *ev = malloc((size_t)n * sizeof *ev);
    int lwork = -1, info = 0, rc = -1;
    double query = 0, *work = NULL;
    if (!a || !ev) {
        fedc_fail(err, "topology: out of memory for a %d x %d matrix", n, n);
        goto out;
    }
    for (int i = 0; i < n; i++)
        for (int q = t->adj_start[i]; q < t->adj_start[i + 1]; q++) {
            a[(size_t)i * n + t->adj[q]] -= 1.0 / edges;
            a[(size_t)i * n + i] += 1.0 / edges;
        }
    dsyev_("V", "U", &n, a, &n, ev, &query, &lwork, &info);
    lwork = info == 0 && (int)query > 3 * n ? (int)query : 3 * n;
    if (info != 0 || !(work = malloc((size_t)lwork * sizeof *work))) {
        fedc_fail(err, "topology: the Laplacian's eigen-decomposition could not start (%d)", info);
        goto out;
    }
    dsyev_("V", "U", &n, a, &n, ev, work, &lwork, &info);
    if (info != 0) {
        fedc_fail(err, "topology: the Laplacian's eigen-decomposition did not converge (%d)", info);
        goto out;
    }
    /* Ascending; ev[0] = 0 (connected graph), columns of a the eigenvectors. */
    double tol = 1e-9 * (ev[n - 1] > 0 ? ev[n - 1] : 1);
    if (!(ev[1] > tol)) {
        fedc_fail(err, "topology: the graph is not connected (second Laplacian eigenvalue %g)", ev[1]);
        goto out;
    }
    *chi1 = 1.0 / ev[1];
    double rmax = 0;
    for (int i = 0; i < n; i++)
        for (int q = t->adj_start[i]; q < t->adj_start[i + 1]; q++) {
            int j = t->adj[q];
            if (j <= i) continue;
            double r = 0;
            for (int k = 1; k < n; k++) {
                double u = a[(size_t)k * n + i] - a[(size_t)k * n + j]; /* column-major: vector k */
                r += u * u / ev[k];
            }
            if (r / 2 > rmax) rmax = r / 2;
        }
    *chi2 = rmax;
    rc = 0;
out:
    free(a);
    free(ev);
    free(work);
    return rc;
}
