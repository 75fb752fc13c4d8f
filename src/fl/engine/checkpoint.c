/* Checkpoint files of a run's server-side state (see checkpoint.h).
 *
 * Layout (little-endian): "FDCCKPT" 0 | version u32 | rounds_done u32 |
 * best_accuracy f64 | last_accuracy f64 | elapsed_s f64 | sim_elapsed f64 |
 * bytes_down u64 | bytes_up u64 | d u64 | d x f32 | strategy floats u64 |
 * that many f32 | clients u32 | per client: last_loss f64, last_round i32,
 * times_selected u32 | scheduler state u32 (version 2; version 1 files,
 * without it, still load) | tables bytes u64 | the strategy's server-side
 * per-client tables, as fedc_strategy_tables_save writes them (version 3:
 * AFA-CS's G_i, FedAMD's anchor gradients; 0 bytes for other methods) |
 * buffer bytes u64 | an asynchronous deployment's buffer of arrived,
 * not yet aggregated updates and its next ticket (version 4; run.c) |
 * crc32 of everything before, u32. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fedc/checkpoint.h"
#include "fedc/timer.h"
#include "run_state.h"

#define CKPT_MAGIC "FDCCKPT"
#define CKPT_VERSION 4u

static size_t expected_size(uint32_t version, size_t d, size_t sfloats, int clients) {
    return 8 + 4 + 4 + 4 * 8 + 2 * 8 + 8 + d * 4 + 8 + sfloats * 4 + 4 + (size_t)clients * 16 + (version >= 2 ? 4 : 0) +
           (version >= 3 ? 8 : 0) + (version >= 4 ? 8 : 0) + 4;
}

/* Where the u64 count of the tables' bytes sits. */
static size_t tables_count_at(uint32_t version, size_t d, size_t sfloats, int clients) {
    return expected_size(version, d, sfloats, clients) - 4 - 8 - (version >= 4 ? 8 : 0);
}

/* The strategy's tables as bytes (open_memstream); *n = 0 when it keeps none. */
static int tables_bytes(fedc_strategy *st, char **out, size_t *n, fedc_error *err) {
    *out = NULL;
    *n = 0;
    if (!fedc_strategy_has_tables(st)) return 0;
    FILE *f = open_memstream(out, n);
    if (!f) return fedc_fail(err, "out of memory writing the strategy's tables");
    int rc = fedc_strategy_tables_save(st, f, err);
    if (fclose(f) != 0 && rc == 0) rc = fedc_fail(err, "out of memory writing the strategy's tables");
    return rc;
}

int fedc_run_checkpoint_save(fedc_run *r, const char *path, fedc_error *err) {
    fedc_run_state s;
    fedc_run_state_access(r, &s);
    size_t sf = fedc_strategy_state_size(s.strategy);
    float *sstate = malloc((sf + 1) * sizeof(float));
    fedc_buf b = {0};
    if (!sstate || fedc_buf_reserve(&b, expected_size(CKPT_VERSION, s.d, sf, s.n_clients)) != 0) {
        free(sstate);
        fedc_buf_free(&b);
        return fedc_fail(err, "out of memory writing checkpoint %s", path);
    }
    if (sf) fedc_strategy_state_save(s.strategy, sstate);
    char *tables = NULL;
    size_t tables_n = 0;
    if (tables_bytes(s.strategy, &tables, &tables_n, err) != 0) {
        free(tables);
        free(sstate);
        fedc_buf_free(&b);
        fedc_fail_prefix(err, "checkpoint %s: ", path);
        return -1;
    }
    fedc_buf_append(&b, CKPT_MAGIC, 8);
    fedc_buf_put_u32(&b, CKPT_VERSION);
    fedc_buf_put_u32(&b, (uint32_t)*s.rounds_done);
    fedc_buf_put_f64(&b, *s.best_accuracy);
    fedc_buf_put_f64(&b, *s.last_accuracy);
    fedc_buf_put_f64(&b, fedc_wall_s() - *s.start_wall);
    fedc_buf_put_f64(&b, *s.sim_elapsed);
    fedc_buf_put_u64(&b, *s.bytes_down_total);
    fedc_buf_put_u64(&b, *s.bytes_up_total);
    fedc_buf_put_u64(&b, (uint64_t)s.d);
    for (size_t j = 0; j < s.d; j++) fedc_buf_put_f32(&b, s.x[j]);
    fedc_buf_put_u64(&b, (uint64_t)sf);
    for (size_t j = 0; j < sf; j++) fedc_buf_put_f32(&b, sstate[j]);
    free(sstate);
    fedc_buf_put_u32(&b, (uint32_t)s.n_clients);
    for (int k = 0; k < s.n_clients; k++) {
        fedc_buf_put_f64(&b, s.info[k].last_loss);
        fedc_buf_put_u32(&b, (uint32_t)s.info[k].last_round);
        fedc_buf_put_u32(&b, (uint32_t)s.info[k].times_selected);
    }
    fedc_buf_put_u32(&b, fedc_sched_state(s.sched));
    fedc_buf_put_u64(&b, (uint64_t)tables_n);
    if (tables_n) fedc_buf_append(&b, tables, tables_n);
    free(tables);
    fedc_buf section = {0};
    if (fedc_run_async_save(r, &section) != 0) {
        fedc_buf_free(&section);
        fedc_buf_free(&b);
        return fedc_fail(err, "out of memory writing checkpoint %s", path);
    }
    fedc_buf_put_u64(&b, (uint64_t)section.len);
    if (section.len) fedc_buf_append(&b, section.data, section.len);
    fedc_buf_free(&section);
    fedc_buf_put_u32(&b, (uint32_t)crc32(0L, b.data, (uInt)b.len));

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = -1, why = 0;
    if (fd < 0) {
        why = errno;
        fedc_fail(err, "cannot write checkpoint %s: %s", tmp, strerror(why));
        goto out;
    }
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w <= 0) {
            why = w < 0 ? errno : ENOSPC;
            fedc_fail(err, "cannot write checkpoint %s: %s", tmp, strerror(why));
            close(fd);
            unlink(tmp);
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        why = errno;
        fedc_fail(err, "cannot write checkpoint %s: %s", path, strerror(why));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    fedc_buf_free(&b);
    errno = why; /* the cause, for callers that tell a full disk from other failures */
    return rc;
}

int fedc_run_checkpoint_load(fedc_run *r, const char *path, fedc_error *err) {
    fedc_run_state s;
    fedc_run_state_access(r, &s);
    size_t sf = fedc_strategy_state_size(s.strategy);
    size_t want = expected_size(CKPT_VERSION, s.d, sf, s.n_clients);
    /* Room for the tables: each client's record and index, at most. */
    size_t cap = want + (fedc_strategy_has_tables(s.strategy)
                             ? (size_t)s.n_clients * (s.d * sizeof(float) + 4 + 8 + 1) + 64
                             : 0);
    /* Room for the asynchronous buffer: its most updates, each a model-sized
     * delta and at most as many strategy floats, and a little. */
    cap += 16 + (size_t)4096 * (s.d * 8 + 64);
    FILE *f = fopen(path, "rb");
    if (!f) return fedc_fail(err, "cannot read checkpoint %s: %s", path, strerror(errno));
    long fsize = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    rewind(f);
    if (fsize < 0 || (size_t)fsize > cap) {
        fclose(f);
        return fedc_fail(err, "%s: %ld bytes, more than a checkpoint of this run can hold", path, fsize);
    }
    cap = (size_t)fsize;
    uint8_t *buf = malloc(cap + 1);
    size_t got = buf ? fread(buf, 1, cap + 1, f) : 0;
    fclose(f);
    if (!buf) return fedc_fail(err, "out of memory reading checkpoint %s", path);
    int rc = -1;
    fedc_reader rd = fedc_reader_make(buf, got);
    const uint8_t *magic;
    uint32_t version, rounds, nclients, crc;
    double best, last, elapsed, sim;
    uint64_t bd, bu, d, nsf;
    fedc_async_snapshot *snap = NULL;
    if (got < 12 || fedc_read_view(&rd, &magic, 8) || memcmp(magic, CKPT_MAGIC, 8) != 0) {
        fedc_fail(err, "%s is not a fedc checkpoint (bad magic)", path);
        goto out;
    }
    fedc_read_u32(&rd, &version);
    if (version < 1 || version > CKPT_VERSION) {
        fedc_fail(err, "%s: checkpoint version %u is not supported (expected 1 to %u)", path, version, CKPT_VERSION);
        goto out;
    }
    want = expected_size(version, s.d, sf, s.n_clients);
    uint64_t tables_n = 0;
    size_t tables_at = tables_count_at(version, s.d, sf, s.n_clients) + 8;
    if (version >= 3 && got >= want) {
        fedc_reader tr = fedc_reader_make(buf + tables_at - 8, 8); /* the u64 just before the tables */
        fedc_read_u64(&tr, &tables_n);
        if (tables_n > got - want) {
            fedc_fail(err, "%s: the strategy's tables are %llu bytes, more than the file holds", path,
                      (unsigned long long)tables_n);
            goto out;
        }
        want += (size_t)tables_n;
    }
    uint64_t async_n = 0;
    if (version >= 4 && got >= want) {
        fedc_reader ar = fedc_reader_make(buf + tables_at + tables_n, 8);
        fedc_read_u64(&ar, &async_n);
        if (async_n > got - want) {
            fedc_fail(err, "%s: the asynchronous buffer is %llu bytes, more than the file holds", path,
                      (unsigned long long)async_n);
            goto out;
        }
        want += (size_t)async_n;
    }
    if (got != want) {
        fedc_fail(err, "%s: %zu bytes, but a checkpoint of this run (%zu parameters, %zu strategy floats, %d "
                       "clients) has %zu; truncated or from another task",
                  path, got, s.d, sf, s.n_clients, want);
        goto out;
    }
    memcpy(&crc, buf + got - 4, 4);
    if (crc != (uint32_t)crc32(0L, buf, (uInt)(got - 4))) {
        fedc_fail(err, "%s: checksum mismatch (the file is damaged)", path);
        goto out;
    }
    fedc_read_u32(&rd, &rounds);
    fedc_read_f64(&rd, &best);
    fedc_read_f64(&rd, &last);
    fedc_read_f64(&rd, &elapsed);
    fedc_read_f64(&rd, &sim);
    fedc_read_u64(&rd, &bd);
    fedc_read_u64(&rd, &bu);
    fedc_read_u64(&rd, &d);
    if (d != s.d) {
        fedc_fail(err, "%s: model of %llu parameters; this run's has %zu", path, (unsigned long long)d, s.d);
        goto out;
    }
    const uint8_t *xs;
    fedc_read_view(&rd, &xs, s.d * 4);
    fedc_read_u64(&rd, &nsf);
    if (nsf != sf) {
        fedc_fail(err, "%s: %llu strategy floats; this run's strategy has %zu", path, (unsigned long long)nsf, sf);
        goto out;
    }
    const uint8_t *ss;
    fedc_read_view(&rd, &ss, sf * 4);
    fedc_read_u32(&rd, &nclients);
    if ((int)nclients != s.n_clients || rounds > 100000000u) {
        fedc_fail(err, "%s: %u clients, %u rounds; this run has %d clients", path, nclients, rounds, s.n_clients);
        goto out;
    }
    /* The strategy's tables (version 3) sit after the per-client facts and
     * the scheduler state; they are read first so that a refused section
     * leaves the model and counters as they were. */
    if (version >= 4 && async_n > 0 &&
        fedc_run_async_parse(r, buf + tables_at + tables_n + 8, (size_t)async_n, (int)rounds, &snap, err) != 0) {
        fedc_fail_prefix(err, "%s: ", path);
        goto out;
    }
    if (version >= 3 && fedc_strategy_has_tables(s.strategy)) {
        const uint8_t *tb = buf + tables_at;
        FILE *tf = tables_n ? fmemopen((void *)tb, (size_t)tables_n, "rb") : NULL;
        int trc = tf ? fedc_strategy_tables_load(s.strategy, tf, err)
                     : fedc_fail(err, "the strategy's tables are missing");
        if (tf) fclose(tf);
        if (trc != 0) {
            fedc_fail_prefix(err, "%s: ", path);
            goto out;
        }
    }
    /* Everything checked: apply. */
    memcpy(s.x, xs, s.d * 4);
    if (sf) {
        float *tmp = malloc(sf * sizeof(float));
        if (!tmp) {
            fedc_fail(err, "out of memory restoring the strategy state");
            goto out;
        }
        memcpy(tmp, ss, sf * 4);
        fedc_strategy_state_load(s.strategy, tmp);
        free(tmp);
    }
    for (uint32_t k = 0; k < nclients; k++) {
        uint32_t lr, ts;
        double ll;
        fedc_read_f64(&rd, &ll);
        fedc_read_u32(&rd, &lr);
        fedc_read_u32(&rd, &ts);
        s.info[k].last_loss = ll;
        s.info[k].last_round = (int)(int32_t)lr;
        s.info[k].times_selected = (int)ts;
    }
    uint32_t sched_state = 0;
    if (version >= 2) fedc_read_u32(&rd, &sched_state);
    fedc_sched_restore(s.sched, sched_state);
    *s.rounds_done = (int)rounds;
    *s.best_accuracy = best;
    *s.last_accuracy = last;
    *s.start_wall = fedc_wall_s() - elapsed;
    *s.sim_elapsed = sim;
    *s.bytes_down_total = bd;
    *s.bytes_up_total = bu;
    if (snap) fedc_run_async_adopt(r, snap);
    snap = NULL;
    rc = 0;
out:
    fedc_async_snapshot_free(snap);
    free(buf);
    return rc;
}

void fedc_checkpoint_path(const char *dir, int round, char *out, size_t cap) {
    snprintf(out, cap, "%s/ckpt-%06d.bin", dir, round);
}

static int cmp_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

int fedc_run_checkpoint_load_newest(fedc_run *r, const char *dir, int max_round, int *round, char *why, size_t cap,
                                    fedc_error *err) {
    *round = 0;
    if (why && cap) why[0] = 0;
    /* The rounds of the checkpoint files there, newest first. */
    int *rounds = NULL, n = 0, room = 0;
    DIR *d = opendir(dir);
    if (!d && errno != ENOENT) return fedc_fail(err, "cannot list the checkpoints in %s: %s", dir, strerror(errno));
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int k, end = 0;
        if (sscanf(e->d_name, "ckpt-%d.bin%n", &k, &end) != 1 || e->d_name[end] != 0 || k <= 0 || k > max_round)
            continue;
        if (n == room) {
            room = room ? 2 * room : 8;
            int *g = realloc(rounds, (size_t)room * sizeof *g);
            if (!g) {
                closedir(d);
                free(rounds);
                return fedc_fail(err, "out of memory listing the checkpoints in %s", dir);
            }
            rounds = g;
        }
        rounds[n++] = k;
    }
    if (d) closedir(d);
    qsort(rounds, (size_t)n, sizeof *rounds, cmp_desc);
    size_t used = 0;
    /* The store's checkpoint round first: its file may be missing altogether. */
    if ((n == 0 || rounds[0] != max_round) && max_round > 0 && why && cap) {
        int w = snprintf(why, cap, "the checkpoint of round %d is missing", max_round);
        used = w > 0 && (size_t)w < cap ? (size_t)w : cap - 1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        fedc_checkpoint_path(dir, rounds[i], path, sizeof path);
        fedc_error e2;
        if (fedc_run_checkpoint_load(r, path, &e2) == 0) {
            *round = rounds[i];
            break;
        }
        /* Each refused file is named with its reason. */
        if (why && cap && used + 1 < cap) {
            int w = snprintf(why + used, cap - used, "%s%s", used ? "; " : "", e2.msg);
            used = w > 0 && (size_t)w < cap - used ? used + (size_t)w : cap - 1;
        }
    }
    free(rounds);
    return 0;
}
