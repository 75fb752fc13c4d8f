/* The run store under faults: a diverged round's non-finite metrics come
 * back as null everywhere (JSON, CSV, JSONL), a value changed behind the
 * store's back is detected on read (row checksums) and never served, page
 * damage is found by the start-up check, a full store fails with its real
 * cause (not "cannot rollback - no transaction is active") and takes the
 * round once there is room again, and recovery keeps what is sound. */
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
#include <dirent.h>

#include "server/server_internal.h"
#include "support/store_fixture.h"

static fedc_round_metrics metrics(int round) {
    fedc_round_metrics m;
    memset(&m, 0, sizeof m);
    m.round = round;
    m.evaluated = 1;
    m.accuracy = 0.5 + 0.01 * round;
    m.loss = 1.0 / round;
    m.train_loss = 0.9 / round;
    m.bytes_down = 3187760;
    m.bytes_up = 3000000;
    m.bytes_down_total = 3187760u * (unsigned)round;
    m.bytes_up_total = 3000000u * (unsigned)round;
    m.selected = 1;
    m.participants = 1;
    m.wall_s = 0.25;
    return m;
}

/* A run with `rounds` committed rounds (one participant each). */
static int64_t run_with_rounds(fixture *f, int rounds) {
    fedc_error err;
    int64_t id;
    assert_int_equal(store_run_create(&f->st, "r", "{\"rounds\":30}", 30, &id, &err), 0);
    assert_int_equal(store_node_upsert(&f->st, 7, "n7", "127.0.0.1", NULL), 0);
    for (int round = 1; round <= rounds; round++) {
        fedc_round_metrics m = metrics(round);
        store_participant p = {0, 7, "ok", "", 3187760, 3000000, 0.1, 0.9, 6000};
        assert_int_equal(store_round_commit(&f->st, id, &m, &p, 1, m.accuracy, round, &err), 0);
    }
    return id;
}

static void test_nonfinite_metrics_are_null_everywhere(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t id = run_with_rounds(f, 1);
    fedc_round_metrics m = metrics(2);
    m.loss = NAN;
    m.train_loss = INFINITY;
    m.accuracy = 0.1;
    store_participant p = {0, 7, "ok", "", 10, 10, 0.1, -INFINITY, 6000};
    assert_int_equal(store_round_commit(&f->st, id, &m, &p, 1, 0.51, 2, &err), 0);

    json_t *rounds = store_rounds_json(&f->st, id, 1);
    assert_non_null(rounds);
    assert_int_equal(json_array_size(rounds), 1);
    json_t *r2 = json_array_get(rounds, 0);
    assert_non_null(r2);
    assert_true(json_is_null(json_object_get(r2, "loss")));
    assert_true(json_is_null(json_object_get(r2, "train_loss")));
    assert_true(json_number_value(json_object_get(r2, "accuracy")) > 0.09);
    json_decref(rounds);

    json_t *run = store_run_json(&f->st, id, 0);
    assert_true(json_is_null(json_object_get(run, "loss")));
    json_decref(run);

    json_t *parts = store_participation_json(&f->st, id, 2);
    assert_true(json_is_null(json_object_get(json_array_get(parts, 0), "loss")));
    json_decref(parts);

    fedc_buf csv = {0}, jsonl = {0};
    assert_int_equal(store_metrics_export(&f->st, id, 1, &csv), 0);
    assert_int_equal(store_metrics_export(&f->st, id, 0, &jsonl), 0);
    fedc_buf_append(&csv, "", 1);
    fedc_buf_append(&jsonl, "", 1);
    /* Round 2's line: accuracy, then null loss; train loss null. */
    const char *line2 = strstr((const char *)csv.data, "\n2,");
    assert_non_null(line2);
    assert_non_null(strstr(line2, "2,0.100000,null,1,null,"));
    assert_null(strstr((const char *)csv.data, "nan"));
    assert_null(strstr((const char *)csv.data, "0.000000,1,0.000000")); /* not a silent 0.0 */
    const char *j2 = strstr((const char *)jsonl.data, "{\"round\":2,");
    assert_non_null(j2);
    assert_non_null(strstr(j2, "\"loss\":null"));
    assert_non_null(strstr(j2, "\"train_loss\":null"));
    fedc_buf_free(&csv);
    fedc_buf_free(&jsonl);
}

/* A value changed behind the store's back (as a damaged page would) is
 * refused on read, with the row named. */
static void test_changed_round_value_is_detected(void **state) {
    fixture *f = *state;
    int64_t id = run_with_rounds(f, 3);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE rounds SET bytes_down=-1162803 WHERE run_id=%lld AND round=2", (long long)id);
    assert_int_equal(sqlite3_exec(f->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_null(store_rounds_json(&f->st, id, 0));
    assert_non_null(strstr(f->st.damage, "round 2"));
    fedc_buf out = {0};
    assert_int_equal(store_metrics_export(&f->st, id, 1, &out), -1);
    fedc_buf_free(&out);
    /* A read that does not touch the damaged row is served (the server
     * itself stops serving the store once damage is found). */
    json_t *later = store_rounds_json(&f->st, id, 2);
    assert_non_null(later);
    assert_int_equal(json_array_size(later), 1);
    json_decref(later);
    fedc_buf report = {0};
    assert_int_equal(store_check(&f->st, 1, &report), -1);
    fedc_buf_append(&report, "", 1);
    assert_non_null(strstr((const char *)report.data, "round 2 of run"));
    fedc_buf_free(&report);
}

static void test_changed_run_row_is_detected_and_not_sealed(void **state) {
    fixture *f = *state;
    int64_t id = run_with_rounds(f, 2);
    assert_int_equal(sqlite3_exec(f->st.db, "UPDATE runs SET bytes_down=5", NULL, NULL, NULL), SQLITE_OK);
    assert_null(store_run_json(&f->st, id, 0));
    int total = 0;
    assert_null(store_runs_json(&f->st, NULL, 10, 0, &total));
    /* A change to the damaged row is refused rather than sealing the damage. */
    memset(f->st.damage, 0, sizeof f->st.damage);
    assert_int_equal(store_run_set_status(&f->st, id, "failed", "x"), -1);
    assert_int_equal(store_fault(&f->st), SF_DAMAGED);
    fedc_buf report = {0};
    assert_int_equal(store_check(&f->st, 0, &report), -1);
    fedc_buf_free(&report);
}

/* Bytes flipped inside the rounds table's page: the check finds it. */
static void test_page_damage_is_found_at_start(void **state) {
    fixture *f = *state;
    run_with_rounds(f, 20);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(f->st.db, "SELECT rootpage FROM sqlite_schema WHERE name='rounds'", -1, &q,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int page = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_exec(f->st.db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), SQLITE_OK);
    store_close(&f->st);
    fedc_buf report = {0};
    fedc_error err;
    assert_int_equal(store_check_path(f->db, 1, &report, &err), 0);
    /* Flip bytes near the end of the page, where the rows' values are. */
    FILE *fp = fopen(f->db, "r+b");
    assert_non_null(fp);
    for (int k = 0; k < 8; k++) {
        long off = (long)page * 4096 - 200 + k * 13;
        fseek(fp, off, SEEK_SET);
        int c = fgetc(fp);
        fseek(fp, off, SEEK_SET);
        fputc(c ^ 0x5a, fp);
    }
    fclose(fp);
    assert_int_equal(store_check_path(f->db, 0, &report, &err), 1);
    assert_true(report.len > 0);
    fedc_buf_free(&report);
    assert_int_equal(store_open(&f->st, f->db, &err), 0);
}

/* A full store (max_page_count stands in for a full disk): the commit fails
 * with SQLite's own reason, classified as "storage full", nothing is half
 * written, and the same round commits once there is room. */
static void test_full_store_reports_its_cause(void **state) {
    fixture *f = *state;
    int64_t id = run_with_rounds(f, 1);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(f->st.db, "PRAGMA page_count", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int pages = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%d", pages);
    assert_int_equal(sqlite3_exec(f->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
    fedc_error err;
    char *big = malloc(200000);
    memset(big, 'x', 199999);
    big[199999] = 0;
    int failed = 0;
    for (int round = 2; round <= 40 && !failed; round++) {
        fedc_round_metrics m = metrics(round);
        store_participant p = {0, 7, "ok", big, 1, 1, 0.1, 0.9, 6000};
        failed = store_round_commit(&f->st, id, &m, &p, 1, 0.5, round, &err) != 0;
        if (failed) {
            assert_null(strstr(err.msg, "no transaction is active"));
            assert_non_null(strstr(err.msg, "full"));
            assert_int_equal(store_fault(&f->st), SF_FULL);
            /* Nothing of the failed round was kept. */
            json_t *rounds = store_rounds_json(&f->st, id, 0);
            assert_int_equal((int)json_array_size(rounds), round - 1);
            json_decref(rounds);
            /* Room again: the same round commits. */
            assert_int_equal(sqlite3_exec(f->st.db, "PRAGMA max_page_count=1000000", NULL, NULL, NULL), SQLITE_OK);
            assert_int_equal(store_round_commit(&f->st, id, &m, &p, 1, 0.5, round, &err), 0);
            rounds = store_rounds_json(&f->st, id, 0);
            assert_int_equal((int)json_array_size(rounds), round);
            json_decref(rounds);
        }
    }
    free(big);
    assert_true(failed);
}

static int count_files_with(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, part)) n++;
    if (d) closedir(d);
    return n;
}

static void test_recovery_keeps_what_is_sound(void **state) {
    fixture *f = *state;
    int64_t id = run_with_rounds(f, 6);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE rounds SET train_loss=-1.8e-26 WHERE run_id=%lld AND round=4", (long long)id);
    assert_int_equal(sqlite3_exec(f->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
    store_close(&f->st);
    fedc_buf report = {0};
    fedc_error err;
    assert_int_equal(store_recover(f->db, &report, &err), 0);
    fedc_buf_append(&report, "", 1);
    assert_non_null(strstr((const char *)report.data, "rounds: 5 rows kept, 1 dropped (checksum)"));
    assert_int_equal(count_files_with(f->dir, "runs.db.damaged-"), 1);
    fedc_buf_free(&report);
    assert_int_equal(store_check_path(f->db, 1, &report, &err), 0);
    fedc_buf_free(&report);
    assert_int_equal(store_open(&f->st, f->db, &err), 0);
    json_t *rounds = store_rounds_json(&f->st, id, 0);
    assert_non_null(rounds);
    assert_int_equal(json_array_size(rounds), 5);
    json_decref(rounds);
    json_t *run = store_run_json(&f->st, id, 0);
    assert_non_null(run);
    assert_int_equal(json_integer_value(json_object_get(run, "rounds_done")), 6);
    json_decref(run);
    /* The recovered store takes new rounds. */
    fedc_round_metrics m = metrics(7);
    store_participant p = {0, 7, "ok", "", 1, 1, 0.1, 0.9, 6000};
    assert_int_equal(store_round_commit(&f->st, id, &m, &p, 1, 0.6, 7, &err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nonfinite_metrics_are_null_everywhere, fedc_test_store_setup, fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_changed_round_value_is_detected, fedc_test_store_setup, fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_changed_run_row_is_detected_and_not_sealed, fedc_test_store_setup, fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_page_damage_is_found_at_start, fedc_test_store_setup, fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_full_store_reports_its_cause, fedc_test_store_setup, fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_keeps_what_is_sound, fedc_test_store_setup, fedc_test_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
