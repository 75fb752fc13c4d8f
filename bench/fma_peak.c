/* The machine's single-precision FMA peak, measured by fedc's own kernel:
 * the yardstick that fedc's training throughput (bench/bench_fedavg.py) and
 * any GEMM work are reported against, instead of another library's GEMM
 * whose kernel choice depends on the environment.
 *
 * Each thread runs independent chains of fused multiply-adds on full
 * vector registers (16 with AVX-512, 12 with AVX2: more than the latency x
 * throughput of the FMA units of current x86 cores, 4-cycle latency and 2
 * units, and all in registers), for every vector
 * width the CPU supports: AVX-512 (16 floats), AVX2+FMA (8 floats). A
 * multiply-add counts as 2 FLOPs. Reported per core (1 thread) and for all
 * cores (one thread per core at once), as GFLOP/s over wall time and over
 * each thread's own CPU time: the second is what a core delivers while it
 * runs this thread, which load from other processes on a shared machine
 * does not lower (only time-sharing it, which wall time shows).
 *
 * usage: fma_peak [--threads N] [--seconds S] [--reps R]
 * Prints one JSON object: CPU model, cores, and per ISA the best of R
 * repetitions of S seconds (default: all online cores, 0.5 s, 3). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FMA_X86 1
#endif

/* Independent FMA chains per thread: enough to cover 4-cycle latency x 2 FMA
 * units, and few enough to stay in registers (32 zmm; 16 ymm/xmm with the
 * two constants). */
#define CHAINS_512 16
#define CHAINS_256 12
#define INNER 4096 /* iterations between looks at the stop flag */

typedef double (*kernel_fn)(long iters_of_inner, atomic_int *stop, long *done);

static double now_s(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Each kernel runs blocks of INNER iterations (one FMA per chain each) until *stop
 * is set, counts the blocks in *done and returns a value derived from the
 * accumulators so the compiler cannot drop the work. */
#ifdef FMA_X86
__attribute__((target("avx512f"))) static double kernel_avx512(long max_blocks, atomic_int *stop, long *done) {
    __m512 acc[CHAINS_512];
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-6f);
    for (int c = 0; c < CHAINS_512; c++) acc[c] = _mm512_set1_ps((float)c);
    long b = 0;
    for (; b < max_blocks && !atomic_load_explicit(stop, memory_order_relaxed); b++)
        for (int i = 0; i < INNER; i++)
            for (int c = 0; c < CHAINS_512; c++) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
    *done = b;
    __m512 s = acc[0];
    for (int c = 1; c < CHAINS_512; c++) s = _mm512_add_ps(s, acc[c]);
    return (double)_mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static double kernel_avx2(long max_blocks, atomic_int *stop, long *done) {
    __m256 acc[CHAINS_256];
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-6f);
    for (int c = 0; c < CHAINS_256; c++) acc[c] = _mm256_set1_ps((float)c);
    long b = 0;
    for (; b < max_blocks && !atomic_load_explicit(stop, memory_order_relaxed); b++)
        for (int i = 0; i < INNER; i++)
            for (int c = 0; c < CHAINS_256; c++) acc[c] = _mm256_fmadd_ps(acc[c], m, a);
    *done = b;
    __m256 s = acc[0];
    for (int c = 1; c < CHAINS_256; c++) s = _mm256_add_ps(s, acc[c]);
    float v[8];
    _mm256_storeu_ps(v, s);
    double r = 0;
    for (int k = 0; k < 8; k++) r += v[k];
    return r;
}
#endif

/* Portable fallback (no x86 vector FMA): scalar fused multiply-adds, one lane. */
static double kernel_scalar(long max_blocks, atomic_int *stop, long *done) {
    float acc[CHAINS_256];
    for (int c = 0; c < CHAINS_256; c++) acc[c] = (float)c;
    long b = 0;
    for (; b < max_blocks && !atomic_load_explicit(stop, memory_order_relaxed); b++)
        for (int i = 0; i < INNER; i++)
            for (int c = 0; c < CHAINS_256; c++) acc[c] = __builtin_fmaf(acc[c], 0.999999f, 1e-6f);
    *done = b;
    double r = 0;
    for (int c = 0; c < CHAINS_256; c++) r += acc[c];
    return r;
}

typedef struct isa {
    const char *name;
    int lanes, chains;
    kernel_fn fn;
} isa;

typedef struct worker {
    pthread_t th;
    kernel_fn fn;
    atomic_int *stop;
    pthread_barrier_t *start;
    long blocks;
    double cpu_s, sink;
} worker;

static void *work(void *p) {
    worker *w = p;
    pthread_barrier_wait(w->start);
    double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    w->sink = w->fn(1L << 40, w->stop, &w->blocks);
    w->cpu_s = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    return NULL;
}

typedef struct measure {
    double gflops_wall, gflops_cpu; /* all threads together */
} measure;

/* nthreads threads run fn for `seconds` of wall time, started together. */
static int run_once(kernel_fn fn, int lanes, int chains, int nthreads, double seconds, measure *out, double *sink) {
    atomic_int stop = 0;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
    worker *w = calloc((size_t)nthreads, sizeof *w);
    if (!w) return -1;
    int started = 0;
    for (; started < nthreads; started++) {
        w[started] = (worker){.fn = fn, .stop = &stop, .start = &start};
        if (pthread_create(&w[started].th, NULL, work, &w[started]) != 0) break;
    }
    if (started < nthreads) {
        fprintf(stderr, "fma_peak: cannot start thread %d of %d\n", started + 1, nthreads);
        exit(1); /* the barrier can never be passed */
    }
    pthread_barrier_wait(&start);
    double t0 = now_s(CLOCK_MONOTONIC);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    atomic_store(&stop, 1);
    double flops = 0, cpu_rate = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(w[t].th, NULL);
        double f = (double)w[t].blocks * INNER * chains * lanes * 2.0;
        flops += f;
        if (w[t].cpu_s > 0) cpu_rate += f / w[t].cpu_s;
        *sink += w[t].sink;
    }
    double wall = now_s(CLOCK_MONOTONIC) - t0;
    out->gflops_wall = flops / wall / 1e9;
    out->gflops_cpu = cpu_rate / 1e9;
    pthread_barrier_destroy(&start);
    free(w);
    return 0;
}

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *v = strchr(line, ':');
        if (!v) break;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, cap, "%s", v);
        break;
    }
    fclose(f);
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s >= 0x20) putchar(*s);
    }
    putchar('"');
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "fma_peak: %s '%s': expected a number from %g to %g\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    double threads = online > 0 ? (double)online : 1, seconds = 0.5, reps = 3;
    for (int i = 1; i < argc; i++) {
        int has = i + 1 < argc;
        if (!strcmp(argv[i], "--threads") && has) {
            if (parse_num("--threads", argv[++i], 1, 1024, &threads) != 0) return 2;
        } else if (!strcmp(argv[i], "--seconds") && has) {
            if (parse_num("--seconds", argv[++i], 0.01, 60, &seconds) != 0) return 2;
        } else if (!strcmp(argv[i], "--reps") && has) {
            if (parse_num("--reps", argv[++i], 1, 100, &reps) != 0) return 2;
        } else {
            fprintf(stderr, "usage: fma_peak [--threads N] [--seconds S] [--reps R]\n");
            return 2;
        }
    }
    isa isas[3];
    int n = 0;
#ifdef FMA_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) isas[n++] = (isa){"avx512f", 16, CHAINS_512, kernel_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isas[n++] = (isa){"avx2-fma", 8, CHAINS_256, kernel_avx2};
#endif
    /* The scalar kernel only where no vector FMA exists: the compiler may
     * vectorise its chains, so it is no measure of anything on x86. */
    if (n == 0) isas[n++] = (isa){"scalar-fma", 1, CHAINS_256, kernel_scalar};
    char model[256];
    cpu_model(model, sizeof model);
    double sink = 0;
    printf("{\"cpu_model\":");
    json_string(model);
    printf(",\"cores_online\":%ld,\"threads\":%d,\"seconds\":%g,\"reps\":%d,\"flops_per_fma_lane\":2,\"isa\":{",
           online, (int)threads, seconds, (int)reps);
    for (int k = 0; k < n; k++) {
        measure best1 = {0, 0}, bestn = {0, 0};
        for (int r = 0; r < (int)reps; r++) {
            measure m1, mn;
            if (run_once(isas[k].fn, isas[k].lanes, isas[k].chains, 1, seconds, &m1, &sink) != 0 ||
                run_once(isas[k].fn, isas[k].lanes, isas[k].chains, (int)threads, seconds, &mn, &sink) != 0) {
                fprintf(stderr, "fma_peak: out of memory\n");
                return 1;
            }
            if (m1.gflops_wall > best1.gflops_wall) best1.gflops_wall = m1.gflops_wall;
            if (m1.gflops_cpu > best1.gflops_cpu) best1.gflops_cpu = m1.gflops_cpu;
            if (mn.gflops_wall > bestn.gflops_wall) bestn.gflops_wall = mn.gflops_wall;
            if (mn.gflops_cpu > bestn.gflops_cpu) bestn.gflops_cpu = mn.gflops_cpu;
        }
        printf("%s\"%s\":{\"lanes\":%d,\"one_core_gflops_wall\":%.1f,\"one_core_gflops_cpu\":%.1f,"
               "\"all_cores_gflops_wall\":%.1f,\"all_cores_gflops_cpu\":%.1f}",
               k ? "," : "", isas[k].name, isas[k].lanes, best1.gflops_wall, best1.gflops_cpu, bestn.gflops_wall,
               bestn.gflops_cpu);
    }
    printf("},\"best_isa\":\"%s\",\"checksum\":%.3g}\n", isas[0].name, sink);
    return 0;
}
