/* Encode and decode speed and size of compression pipelines on one core:
 * a 1,663,370-float vector (the McMahan CNN's parameter count) of Gaussian
 * values, as an update would be. For each pipeline: encoded bytes as a share
 * of float32, and the best of R runs of encode and decode in ms of the
 * thread's CPU time (other load on a shared machine disturbs it less than
 * wall time). Error-feedback pipelines get a residual, as on a node.
 * usage: codec_speed [reps=5] PIPELINE...   prints one JSON object;
 * bench/bench_codec.py drives it and writes bench/results/codec_speed.json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/codec.h"
#include "fedc/rng.h"
#include "fedc/timer.h"

#define N 1663370

int main(int argc, char **argv) {
    int reps = 5, first = 1;
    if (argc > 1 && atoi(argv[1]) > 0) {
        reps = atoi(argv[1]);
        first = 2;
    }
    if (first >= argc || reps > 1000) {
        fprintf(stderr, "usage: codec_speed [reps 1..1000] PIPELINE...\n");
        return 2;
    }
    float *v = malloc(N * sizeof *v), *out = malloc(N * sizeof *out), *res = calloc(N, sizeof *res);
    if (!v || !out || !res) {
        fprintf(stderr, "codec_speed: out of memory\n");
        return 1;
    }
    fedc_rng rng;
    fedc_rng_seed(&rng, 1);
    for (size_t i = 0; i < N; i++) v[i] = (float)(0.01 * fedc_rng_normal(&rng));
    printf("{\"n\":%d,\"reps\":%d,\"values\":\"gaussian, sd 0.01\",\"pipelines\":{", N, reps);
    for (int k = first; k < argc; k++) {
        fedc_error err;
        fedc_codec *c = fedc_codec_parse(argv[k], &err);
        if (!c) {
            fprintf(stderr, "codec_speed: %s\n", err.msg);
            return 2;
        }
        int ef = fedc_codec_uses_error_feedback(c);
        double enc = INFINITY, dec = INFINITY;
        size_t bytes = 0;
        fedc_buf b = {0};
        for (int r = 0; r < reps; r++) {
            memset(res, 0, N * sizeof *res);
            fedc_buf_clear(&b);
            double t0 = fedc_cpu_thread_s();
            if (fedc_codec_encode(c, v, N, ef ? res : NULL, &rng, &b, &err) != 0) {
                fprintf(stderr, "codec_speed: %s: %s\n", argv[k], err.msg);
                return 1;
            }
            double t1 = fedc_cpu_thread_s();
            if (fedc_codec_decode(c, b.data, b.len, out, N, &err) != 0) {
                fprintf(stderr, "codec_speed: %s: %s\n", argv[k], err.msg);
                return 1;
            }
            double t2 = fedc_cpu_thread_s();
            if (t1 - t0 < enc) enc = t1 - t0;
            if (t2 - t1 < dec) dec = t2 - t1;
            bytes = b.len;
        }
        printf("%s\"%s\":{\"bytes\":%zu,\"share_of_float32\":%.5f,\"error_feedback\":%s,\"encode_ms\":%.3f,"
               "\"decode_ms\":%.3f}",
               k > first ? "," : "", fedc_codec_name(c), bytes, (double)bytes / (4.0 * N), ef ? "true" : "false",
               enc * 1e3, dec * 1e3);
        fedc_buf_free(&b);
        fedc_codec_free(c);
    }
    printf("}}\n");
    free(v);
    free(out);
    free(res);
    return 0;
}
