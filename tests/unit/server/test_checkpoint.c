/* Checkpoints of a run (what the server writes every N rounds): a run
 * restored from one continues exactly like the run that wrote it (model,
 * server optimizer state, rounds, byte totals); damaged, truncated or
 * foreign files are refused and leave the run untouched. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "fedc/checkpoint.h"
#include "fedc/engine.h"
#include "fedc/rng.h"

static char g_dir[64], g_train[128], g_test[128];

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/fedc-ckpt-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    snprintf(g_train, sizeof g_train, "%s/train.csv", g_dir);
    snprintf(g_test, sizeof g_test, "%s/test.csv", g_dir);
    fedc_rng r;
    fedc_rng_seed(&r, 5);
    const char *paths[2] = {g_train, g_test};
    int rows[2] = {300, 80};
    for (int p = 0; p < 2; p++) {
        FILE *f = fopen(paths[p], "w");
        fprintf(f, "x1,x2,x3,label\n");
        for (int i = 0; i < rows[p]; i++) {
            int y = (int)fedc_rng_below(&r, 3);
            fprintf(f, "%.4f,%.4f,%.4f,%d\n", y + 0.6 * fedc_rng_normal(&r), -y + 0.6 * fedc_rng_normal(&r),
                    0.6 * fedc_rng_normal(&r), y);
        }
        fclose(f);
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static fedc_task make_task_with(const char *model, const char *policy) {
    fedc_task t;
    char json[1024];
    snprintf(json, sizeof json,
             "{\"dataset\":{\"name\":\"csv\",\"path\":\"%s\",\"test_path\":\"%s\",\"label_column\":\"label\"},"
             "\"model\":\"%s\",\"rounds\":6,\"clients\":4,\"clients_per_round\":3,"
             "\"strategy\":{\"name\":\"fedavgm\",\"momentum\":0.9},\"local\":{\"batch\":16},\"seed\":9,"
             "\"scheduling\":{\"policy\":\"%s\"}}",
             g_train, g_test, model, policy);
    fedc_error err;
    if (fedc_task_from_json(json, strlen(json), &t, &err) != 0) fail_msg("task: %s", err.msg);
    return t;
}

static fedc_task make_task(const char *model) { return make_task_with(model, "random"); }

static fedc_run *new_run(const fedc_task *t) {
    fedc_run_options o = {.threads = 1, .quiet = 1};
    fedc_error err;
    fedc_run *r = fedc_run_create(t, &o, &err);
    if (!r) fail_msg("run: %s", err.msg);
    return r;
}

static void rounds(fedc_run *r, int n, fedc_round_metrics *last) {
    fedc_error err;
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    for (int i = 0; i < n; i++)
        if (fedc_run_round(r, tp, last, &err) != 0) fail_msg("round: %s", err.msg);
    tp->ops->destroy(tp);
}

static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len + 1);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_restore_continues_identically(void **state) {
    (void)state;
    fedc_task t = make_task("dense:8,dense:3");
    fedc_run *a = new_run(&t);
    fedc_round_metrics ma, mb;
    rounds(a, 2, &ma);
    char path[160];
    snprintf(path, sizeof path, "%s/ckpt.bin", g_dir);
    fedc_error err;
    assert_int_equal(fedc_run_checkpoint_save(a, path, &err), 0);
    fedc_run *b = new_run(&t);
    assert_int_equal(fedc_run_checkpoint_load(b, path, &err), 0);
    assert_int_equal(fedc_run_rounds_done(b), 2);
    assert_memory_equal(fedc_run_model(a), fedc_run_model(b), fedc_run_nparams(a) * sizeof(float));
    /* Two more rounds each: the server momentum came back too, so the
     * models stay identical. */
    rounds(a, 2, &ma);
    rounds(b, 2, &mb);
    assert_int_equal(mb.round, 4);
    assert_memory_equal(fedc_run_model(a), fedc_run_model(b), fedc_run_nparams(a) * sizeof(float));
    assert_int_equal(ma.bytes_down_total, mb.bytes_down_total);
    assert_int_equal(ma.bytes_up_total, mb.bytes_up_total);
    assert_true(fabs(ma.accuracy - mb.accuracy) < 1e-12);
    fedc_run_free(a);
    fedc_run_free(b);
}

/* Round-robin walks a cursor over the clients; restored with the rest, the
 * resumed run picks the clients the uninterrupted one picks (3 of 4 per
 * round: round 3 takes 2,3,0, not 0,1,2 again), so the models agree. */
static void test_restore_keeps_the_scheduler_cursor(void **state) {
    (void)state;
    fedc_task t = make_task_with("dense:8,dense:3", "round-robin");
    fedc_run *a = new_run(&t);
    fedc_round_metrics ma, mb;
    rounds(a, 2, &ma);
    char path[160];
    snprintf(path, sizeof path, "%s/ckpt-rr.bin", g_dir);
    fedc_error err;
    assert_int_equal(fedc_run_checkpoint_save(a, path, &err), 0);
    fedc_run *b = new_run(&t);
    assert_int_equal(fedc_run_checkpoint_load(b, path, &err), 0);
    rounds(a, 1, &ma);
    rounds(b, 1, &mb);
    assert_memory_equal(fedc_run_model(a), fedc_run_model(b), fedc_run_nparams(a) * sizeof(float));
    fedc_run_free(a);
    fedc_run_free(b);
}

/* Files of versions 1 to 3 (before the scheduler state, the strategy's
 * tables, the asynchronous buffer were saved) still load. */
static void test_loads_version_1(void **state) {
    (void)state;
    fedc_task t = make_task("dense:8,dense:3");
    fedc_run *a = new_run(&t);
    fedc_round_metrics m;
    rounds(a, 1, &m);
    char path[160], old[170];
    snprintf(path, sizeof path, "%s/v2.bin", g_dir);
    snprintf(old, sizeof old, "%s/v1.bin", g_dir);
    fedc_error err;
    assert_int_equal(fedc_run_checkpoint_save(a, path, &err), 0);
    size_t n;
    unsigned char *buf = read_file(path, &n);
    /* Version 3: without the asynchronous buffer (8-byte length, then the
     * empty buffer's next ticket and count, 8 bytes); version 2: without
     * the 8-byte tables length too (this method keeps no tables); version
     * 1: without the 4-byte scheduler state too. */
    for (uint32_t v = 3; v >= 1; v--) {
        uint32_t ver = v;
        memcpy(buf + 8, &ver, 4);
        /* without the checksum, the buffer, tables length, scheduler */
        size_t len = n - 4 - 16 - (v <= 2 ? 8 : 0) - (v == 1 ? 4 : 0);
        uint32_t crc = (uint32_t)crc32(0L, buf, (uInt)len);
        memcpy(buf + len, &crc, 4);
        write_file(old, buf, len + 4);
        fedc_run *b = new_run(&t);
        assert_int_equal(fedc_run_checkpoint_load(b, old, &err), 0);
        assert_int_equal(fedc_run_rounds_done(b), 1);
        assert_memory_equal(fedc_run_model(a), fedc_run_model(b), fedc_run_nparams(a) * sizeof(float));
        fedc_run_free(b);
    }
    free(buf);
    fedc_run_free(a);
}

/* AFA-CS (every worker's latest G_i) and FedAMD (every anchor's gradient)
 * keep per-client tables on the server: restored with the checkpoint, a
 * resumed run equals the uninterrupted one. Without them the resumed run
 * would add a returning worker's new G_i (a re-sent anchor gradient) on top
 * of its old one instead of replacing it. A damaged table is refused. */
static void test_restore_keeps_server_tables(void **state) {
    (void)state;
    static const char *const methods[] = {"afa-cs", "fedamd"};
    for (int i = 0; i < 2; i++) {
        fedc_task t = make_task("dense:8,dense:3");
        snprintf(t.strategy.name, sizeof t.strategy.name, "%s", methods[i]);
        t.strategy.anchor_prob = 0.5;
        t.strategy.server_lr = 1;
        fedc_run *a = new_run(&t);
        fedc_round_metrics ma, mb;
        rounds(a, 2, &ma);
        char path[160], bad[170];
        snprintf(path, sizeof path, "%s/ckpt-%s.bin", g_dir, methods[i]);
        snprintf(bad, sizeof bad, "%s/bad-%s.bin", g_dir, methods[i]);
        fedc_error err;
        assert_int_equal(fedc_run_checkpoint_save(a, path, &err), 0);
        fedc_run *b = new_run(&t);
        assert_int_equal(fedc_run_checkpoint_load(b, path, &err), 0);
        rounds(a, 4, &ma);
        rounds(b, 4, &mb);
        assert_int_equal(mb.round, 6);
        assert_memory_equal(fedc_run_model(a), fedc_run_model(b), fedc_run_nparams(a) * sizeof(float));
        /* The table section's last byte (a weight's sign and exponent, an anchor flag) set to
         * 0xff, checksum recomputed: refused, naming the table. */
        size_t n;
        unsigned char *buf = read_file(path, &n);
        buf[n - 5] = 0xff;
        uint32_t crc = (uint32_t)crc32(0L, buf, (uInt)(n - 4));
        memcpy(buf + n - 4, &crc, 4);
        write_file(bad, buf, n);
        fedc_run *c = new_run(&t);
        assert_int_equal(fedc_run_checkpoint_load(c, bad, &err), -1);
        assert_non_null(strstr(err.msg, methods[i]));
        assert_int_equal(fedc_run_rounds_done(c), 0);
        free(buf);
        fedc_run_free(a);
        fedc_run_free(b);
        fedc_run_free(c);
    }
}

static void test_refuses_bad_files(void **state) {
    (void)state;
    fedc_task t = make_task("dense:8,dense:3");
    fedc_run *a = new_run(&t);
    fedc_round_metrics m;
    rounds(a, 1, &m);
    char path[160], bad[170];
    snprintf(path, sizeof path, "%s/ck.bin", g_dir);
    snprintf(bad, sizeof bad, "%s/bad.bin", g_dir);
    fedc_error err;
    assert_int_equal(fedc_run_checkpoint_save(a, path, &err), 0);
    size_t n;
    unsigned char *buf = read_file(path, &n);
    fedc_run *b = new_run(&t);
    float *before = malloc(fedc_run_nparams(b) * sizeof(float));
    memcpy(before, fedc_run_model(b), fedc_run_nparams(b) * sizeof(float));
    /* One flipped bit in the model: the checksum catches it. */
    buf[100] ^= 1;
    write_file(bad, buf, n);
    assert_int_equal(fedc_run_checkpoint_load(b, bad, &err), -1);
    assert_non_null(strstr(err.msg, "checksum"));
    buf[100] ^= 1;
    /* Truncated. */
    write_file(bad, buf, n - 9);
    assert_int_equal(fedc_run_checkpoint_load(b, bad, &err), -1);
    assert_non_null(strstr(err.msg, "truncated"));
    /* Not a checkpoint at all. */
    write_file(bad, "hello", 5);
    assert_int_equal(fedc_run_checkpoint_load(b, bad, &err), -1);
    assert_non_null(strstr(err.msg, "magic"));
    assert_int_equal(fedc_run_checkpoint_load(b, "/nonexistent/ck.bin", &err), -1);
    /* Another model: sizes differ. */
    fedc_task t2 = make_task("dense:12,dense:3");
    fedc_run *c = new_run(&t2);
    assert_int_equal(fedc_run_checkpoint_load(c, path, &err), -1);
    assert_int_equal(fedc_run_rounds_done(b), 0);
    assert_memory_equal(before, fedc_run_model(b), fedc_run_nparams(b) * sizeof(float));
    free(before);
    free(buf);
    fedc_run_free(a);
    fedc_run_free(b);
    fedc_run_free(c);
}

/* The newest checkpoint is damaged (8 bytes flipped after a kill -9): the
 * run restores the one before, says which file was skipped and why, and
 * continues exactly like a run restored from that one. Files after the
 * store's checkpoint round are never used. */
static void test_falls_back_to_the_newest_valid_checkpoint(void **state) {
    (void)state;
    fedc_task t = make_task("dense:8,dense:3");
    fedc_run *a = new_run(&t);
    fedc_round_metrics m;
    char dir[128], p[256];
    snprintf(dir, sizeof dir, "%s/fallback", g_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    fedc_error err;
    for (int round = 1; round <= 3; round++) {
        rounds(a, 1, &m);
        fedc_checkpoint_path(dir, round, p, sizeof p);
        assert_int_equal(fedc_run_checkpoint_save(a, p, &err), 0);
    }
    fedc_checkpoint_path(dir, 2, p, sizeof p);
    assert_non_null(strstr(p, "ckpt-000002.bin"));
    /* Round 3's file is newer than the store's checkpoint (2): not used. */
    fedc_run *b = new_run(&t);
    int used = -1;
    char why[600];
    assert_int_equal(fedc_run_checkpoint_load_newest(b, dir, 2, &used, why, sizeof why, &err), 0);
    assert_int_equal(used, 2);
    assert_string_equal(why, "");
    /* Round 2's file damaged: round 1's is loaded. */
    size_t n;
    unsigned char *buf = read_file(p, &n);
    for (int k = 0; k < 8; k++) buf[60 + k] ^= 0xff;
    write_file(p, buf, n);
    free(buf);
    fedc_run *c = new_run(&t);
    assert_int_equal(fedc_run_checkpoint_load_newest(c, dir, 2, &used, why, sizeof why, &err), 0);
    assert_int_equal(used, 1);
    assert_non_null(strstr(why, "ckpt-000002.bin"));
    assert_non_null(strstr(why, "checksum"));
    assert_int_equal(fedc_run_rounds_done(c), 1);
    fedc_run *d = new_run(&t);
    fedc_checkpoint_path(dir, 1, p, sizeof p);
    assert_int_equal(fedc_run_checkpoint_load(d, p, &err), 0);
    assert_memory_equal(fedc_run_model(c), fedc_run_model(d), fedc_run_nparams(c) * sizeof(float));
    /* Nothing valid at all (round 1's missing too): the run is untouched. */
    assert_int_equal(unlink(p), 0);
    fedc_run *e = new_run(&t);
    float *before = malloc(fedc_run_nparams(e) * sizeof(float));
    memcpy(before, fedc_run_model(e), fedc_run_nparams(e) * sizeof(float));
    assert_int_equal(fedc_run_checkpoint_load_newest(e, dir, 2, &used, why, sizeof why, &err), 0);
    assert_int_equal(used, 0);
    assert_int_equal(fedc_run_rounds_done(e), 0);
    assert_memory_equal(before, fedc_run_model(e), fedc_run_nparams(e) * sizeof(float));
    /* The store's checkpoint file missing altogether is said too. */
    assert_int_equal(fedc_run_checkpoint_load_newest(e, dir, 5, &used, why, sizeof why, &err), 0);
    assert_non_null(strstr(why, "round 5 is missing"));
    free(before);
    fedc_run_free(a);
    fedc_run_free(b);
    fedc_run_free(c);
    fedc_run_free(d);
    fedc_run_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_falls_back_to_the_newest_valid_checkpoint),
        cmocka_unit_test(test_restore_continues_identically),
        cmocka_unit_test(test_restore_keeps_the_scheduler_cursor),
        cmocka_unit_test(test_loads_version_1),
        cmocka_unit_test(test_restore_keeps_server_tables),
        cmocka_unit_test(test_refuses_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
