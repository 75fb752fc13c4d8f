/* OpenBLAS sgemm throughput on this machine (GFLOP/s) for a square size,
 * printed beside fedc's own FMA peak (bench/fma_peak.c) by bench/yardstick.py.
 * OpenBLAS picks its kernel at run time from the CPU, unless the environment
 * pins it (OPENBLAS_CORETYPE): the kernel it used is printed ("core"), and
 * bench/yardstick.py runs it with those variables removed.
 * usage: sgemm_peak [threads] [n] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "fedc/timer.h"

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1, n = argc > 2 ? atoi(argv[2]) : 1024;
    if (threads < 1 || threads > 1024 || n < 16 || n > 16384) {
        fprintf(stderr, "usage: sgemm_peak [threads 1..1024] [n 16..16384]\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float)),
          *c = malloc((size_t)n * n * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "sgemm_peak: out of memory for n = %d\n", n);
        return 1;
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    /* Best of several 0.3 s spans: other load on a shared machine only ever
     * slows a span down. */
    double best = 0;
    for (int span = 0; span < 4; span++) {
        int reps = 0;
        double t0 = fedc_wall_s(), t;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
            reps++;
            t = fedc_wall_s() - t0;
        } while (t < 0.3);
        double g = 2.0 * n * n * (double)n * reps / t / 1e9;
        if (g > best) best = g;
    }
    printf("{\"threads\":%d,\"n\":%d,\"gflops\":%.1f,\"core\":\"%s\"}\n", threads, n, best,
           openblas_get_corename());
    free(a);
    free(b);
    free(c);
    return 0;
}
