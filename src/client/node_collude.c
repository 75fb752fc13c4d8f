/* How colluding hostile nodes (--attack alie or ipm with --collude DIR)
 * learn the statistics of honest updates without seeing any: as in the
 * papers' practical setting, each computes its own benign update, writes it
 * to a folder they share, waits for the others (at most --collude-wait
 * seconds, or until --colluders files are there) and takes the mean and
 * standard deviation over every benign update of that run and round. A
 * node without a folder has only its own update (count 1).
 *
 * File: DIR/r<run>-<round>-n<node>.upd = "FEDCCOL1", u64 d, i64 run,
 * u32 round, u32 0, d little-endian floats; written to a temporary name
 * and renamed, so readers never see half a file. Other nodes' files are
 * outside input: every length and value is checked. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/client_internal.h"
#include "fedc/timer.h"

#define MAGIC "FEDCCOL1"
#define HEADER 32
#define MAX_FILES 64

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int node_collude_decode(const uint8_t *buf, size_t len, int64_t run, int round, size_t d, float *out,
                        fedc_error *err) {
    if (len < HEADER || memcmp(buf, MAGIC, 8) != 0)
        return fedc_fail(err, "collusion file: no %s header", MAGIC);
    uint64_t fd = get_u64(buf + 8);
    int64_t frun = (int64_t)get_u64(buf + 16);
    uint64_t fround = get_u64(buf + 24);
    if (fd != d) return fedc_fail(err, "collusion file: %llu values; this model has %zu", (unsigned long long)fd, d);
    if (frun != run || fround != (uint64_t)(uint32_t)round)
        return fedc_fail(err, "collusion file: for run %lld round %u, not run %lld round %d", (long long)frun,
                         (unsigned)(fround & 0xFFFFFFFFu), (long long)run, round);
    if (len != HEADER + d * 4) return fedc_fail(err, "collusion file: %zu bytes; expected %zu", len, HEADER + d * 4);
    for (size_t j = 0; j < d; j++) {
        uint32_t u = (uint32_t)buf[HEADER + 4 * j] | (uint32_t)buf[HEADER + 4 * j + 1] << 8 |
                     (uint32_t)buf[HEADER + 4 * j + 2] << 16 | (uint32_t)buf[HEADER + 4 * j + 3] << 24;
        float v;
        memcpy(&v, &u, sizeof v);
        if (!isfinite(v)) return fedc_fail(err, "collusion file: value %zu is not finite", j);
        out[j] = v;
    }
    return 0;
}

static int post(const node_board *b, int64_t run, int round, int64_t node, const float *benign, size_t d,
                fedc_error *err) {
    char path[700], tmp[720];
    snprintf(path, sizeof path, "%s/r%lld-%d-n%lld.upd", b->dir, (long long)run, round, (long long)node);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return fedc_fail(err, "--collude %s: cannot write %s: %s", b->dir, tmp, strerror(errno));
    uint8_t h[HEADER] = {0};
    memcpy(h, MAGIC, 8);
    put_u64(h + 8, d);
    put_u64(h + 16, (uint64_t)run);
    put_u64(h + 24, (uint32_t)round);
    int ok = fwrite(h, 1, HEADER, f) == HEADER;
    for (size_t j = 0; ok && j < d; j++) {
        uint32_t u;
        memcpy(&u, &benign[j], sizeof u);
        uint8_t q[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
        ok = fwrite(q, 1, 4, f) == 4;
    }
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return fedc_fail(err, "--collude %s: cannot write %s", b->dir, path);
    }
    /* This node's file of two rounds ago is of no use to anyone now. */
    snprintf(path, sizeof path, "%s/r%lld-%d-n%lld.upd", b->dir, (long long)run, round - 2, (long long)node);
    unlink(path);
    return 0;
}

/* Files of this run and round (at most MAX_FILES names). */
static int list_round(const node_board *b, int64_t run, int round, char names[][300]) {
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "r%lld-%d-n", (long long)run, round);
    DIR *dir = opendir(b->dir);
    if (!dir) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < MAX_FILES) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, (size_t)plen) != 0 || l < 4 || strcmp(e->d_name + l - 4, ".upd") != 0 ||
            l >= 300)
            continue;
        snprintf(names[n++], 300, "%s", e->d_name);
    }
    closedir(dir);
    return n;
}

int node_collude(const node_board *b, int64_t run, int round, int64_t node, const float *benign, size_t d,
                 float *mean, float *std, int *count, const volatile sig_atomic_t *stop, fedc_error *err) {
    /* Welford's running mean and sum of squared deviations, in double. */
    double *mu = calloc(d, sizeof *mu), *m2 = calloc(d, sizeof *m2);
    float *v = malloc(d * sizeof *v);
    uint8_t *buf = malloc(HEADER + d * 4);
    char(*names)[300] = malloc(MAX_FILES * sizeof *names);
    int rc = -1, n = 0;
    if (!mu || !m2 || !v || !buf || !names) {
        fedc_fail(err, "out of memory pooling the colluders' updates");
        goto out;
    }
    if (!b || !b->dir[0]) {
        for (size_t j = 0; j < d; j++) mu[j] = benign[j];
        n = 1;
    } else {
        if (post(b, run, round, node, benign, d, err) != 0) goto out;
        double end = fedc_wall_s() + b->wait_s;
        int seen = 0;
        while (!(stop && *stop)) {
            seen = list_round(b, run, round, names);
            if ((b->colluders > 0 && seen >= b->colluders) || fedc_wall_s() >= end) break;
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        seen = list_round(b, run, round, names);
        for (int i = 0; i < seen; i++) {
            char path[700];
            snprintf(path, sizeof path, "%s/%s", b->dir, names[i]);
            FILE *f = fopen(path, "rb");
            if (!f) continue;
            size_t len = fread(buf, 1, HEADER + d * 4, f);
            int extra = fgetc(f) != EOF;
            fclose(f);
            fedc_error e;
            if (extra || node_collude_decode(buf, len, run, round, d, v, &e) != 0) continue; /* not ours to trust */
            n++;
            for (size_t j = 0; j < d; j++) {
                double delta = v[j] - mu[j];
                mu[j] += delta / n;
                m2[j] += delta * (v[j] - mu[j]);
            }
        }
        if (n == 0) { /* our own file vanished: fall back to our update */
            for (size_t j = 0; j < d; j++) mu[j] = benign[j];
            n = 1;
        }
    }
    for (size_t j = 0; j < d; j++) {
        mean[j] = (float)mu[j];
        std[j] = n > 1 ? (float)sqrt(m2[j] / (n - 1)) : 0.0f;
    }
    *count = n;
    rc = 0;
out:
    free(mu), free(m2), free(v), free(buf), free(names);
    return rc;
}
