/* OpenBLAS sgemm throughput on this machine (GFLOP/s) for square sizes,
 * the ceiling against which the training engine's GFLOP/s is reported.
 * usage: sgemm_peak [threads] [n] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "fedc/timer.h"

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1, n = argc > 2 ? atoi(argv[2]) : 1024;
    openblas_set_num_threads(threads);
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float)),
          *c = malloc((size_t)n * n * sizeof(float));
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    int reps = 0;
    double t0 = fedc_wall_s(), t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        reps++;
        t = fedc_wall_s() - t0;
    } while (t < 1.0);
    printf("{\"threads\":%d,\"n\":%d,\"gflops\":%.1f}\n", threads, n, 2.0 * n * n * (double)n * reps / t / 1e9);
    free(a);
    free(b);
    free(c);
    return 0;
}
