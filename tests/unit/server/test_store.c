/* The run store: the queue order, round commits with participation and
 * totals, rollback to a checkpoint (what a restart does), metric exports in
 * the exact format of `fedc sim`, the node registry with its totals. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/server_internal.h"
#include "support/store_fixture.h"

static fedc_round_metrics metrics(int round) {
    fedc_round_metrics m;
    memset(&m, 0, sizeof m);
    m.round = round;
    m.evaluated = 1;
    m.accuracy = 0.5 + 0.1 * round;
    m.loss = 1.0 / round;
    m.bytes_down = 1000;
    m.bytes_up = 900;
    m.bytes_down_total = 1000u * (unsigned)round;
    m.bytes_up_total = 900u * (unsigned)round;
    m.selected = 2;
    m.participants = 1;
    m.dropped = 1;
    m.wall_s = 0.25;
    return m;
}

static void test_queue_order_and_status(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t a, b;
    assert_int_equal(store_run_create(&f->st, "a", "{\"rounds\":3}", 3, &a, &err), 0);
    assert_int_equal(store_run_create(&f->st, "b", "{\"rounds\":3}", 3, &b, &err), 0);
    assert_int_equal(store_run_next(&f->st, NULL, 0), a);
    assert_int_equal(store_run_next(&f->st, &a, 1), b); /* a is taken by another runner */
    /* An interrupted (running) run comes before anything queued. */
    assert_int_equal(store_run_set_status(&f->st, b, "running", NULL), 0);
    assert_int_equal(store_run_next(&f->st, NULL, 0), b);
    assert_int_equal(store_run_next(&f->st, &b, 1), a);
    assert_int_equal(store_run_cancel(&f->st, a), 1);
    assert_int_equal(store_run_start(&f->st, a), -1); /* cancelled while being taken: stays cancelled */
    assert_int_equal(store_run_start(&f->st, b), 0);  /* resumed */
    assert_int_equal(store_run_next(&f->st, &b, 1), 0);
    assert_int_equal(store_run_delete(&f->st, b), -1); /* still running */
    assert_int_equal(store_run_set_status(&f->st, b, "failed", "round 2: only 0 of 2 nodes"), 0);
    json_t *r = store_run_json(&f->st, b, 1);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "only 0 of 2"));
    assert_true(json_is_object(json_object_get(r, "task")));
    assert_true(json_number_value(json_object_get(r, "finished_at")) > 0);
    json_decref(r);
    int total = 0;
    json_t *list = store_runs_json(&f->st, NULL, 10, 0, &total);
    assert_int_equal(total, 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), b); /* newest first */
    json_decref(list);
    list = store_runs_json(&f->st, "cancelled", 10, 0, &total);
    assert_int_equal(total, 1);
    json_decref(list);
    assert_int_equal(store_run_next(&f->st, NULL, 0), 0);
    assert_int_equal(store_run_delete(&f->st, b), 0);
    assert_null(store_run_json(&f->st, b, 0));
}

static void test_commit_rollback_export(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t id;
    assert_int_equal(store_run_create(&f->st, "r", "{}", 5, &id, &err), 0);
    assert_int_equal(store_node_upsert(&f->st, 7, "n7", "127.0.0.1", "{\"cores\":2}"), 0);
    for (int round = 1; round <= 3; round++) {
        fedc_round_metrics m = metrics(round);
        store_participant p[2] = {{0, 7, "ok", "", 500, 450, 0.1, 0.9, 100},
                                  {1, 0, "dropped", "no connected node holds this client slot", 0, 0, 0, 0, 0}};
        assert_int_equal(store_round_commit(&f->st, id, &m, p, 2, m.accuracy, round <= 2 ? round : -1, &err), 0);
    }
    json_t *run = store_run_json(&f->st, id, 1);
    assert_int_equal(json_integer_value(json_object_get(run, "rounds_done")), 3);
    assert_int_equal(json_integer_value(json_object_get(run, "checkpoint_round")), 2);
    assert_int_equal(json_integer_value(json_object_get(run, "bytes_down")), 3000);
    json_decref(run);
    json_t *p = store_participation_json(&f->st, id, 2);
    assert_int_equal(json_array_size(p), 2);
    json_t *first = json_array_get(p, 0);
    assert_string_equal(json_string_value(json_object_get(first, "node_name")), "n7");
    assert_true(json_is_null(json_object_get(json_array_get(p, 1), "node")));
    json_decref(p);

    /* Export: byte for byte what fedc_metrics_write_csv writes. */
    fedc_buf csv = {0};
    assert_int_equal(store_metrics_export(&f->st, id, 1, &csv), 0);
    char *want = NULL;
    size_t wl = 0;
    FILE *mf = open_memstream(&want, &wl);
    fedc_metrics_write_csv_header(mf);
    for (int round = 1; round <= 3; round++) {
        fedc_round_metrics m = metrics(round);
        fedc_metrics_write_csv(mf, &m);
    }
    fclose(mf);
    assert_int_equal(csv.len, wl);
    assert_memory_equal(csv.data, want, wl);
    free(want);
    fedc_buf_free(&csv);

    /* A restart from the checkpoint of round 2 forgets round 3. */
    assert_int_equal(store_run_rollback(&f->st, id, 2), 0);
    json_t *rounds = store_rounds_json(&f->st, id, 0);
    assert_int_equal(json_array_size(rounds), 2);
    json_decref(rounds);
    run = store_run_json(&f->st, id, 0);
    assert_int_equal(json_integer_value(json_object_get(run, "rounds_done")), 2);
    assert_int_equal(json_integer_value(json_object_get(run, "bytes_down")), 2000);
    assert_true(json_number_value(json_object_get(run, "accuracy")) > 0.69);
    json_decref(run);
    p = store_participation_json(&f->st, id, 0);
    assert_int_equal(json_array_size(p), 4);
    json_decref(p);
    rounds = store_rounds_json(&f->st, id, 1);
    assert_int_equal(json_array_size(rounds), 1);
    json_decref(rounds);

    /* The node registry totals over participation. */
    assert_int_equal(store_node_flag(&f->st, 7, "round 2: update: value 3 is not finite (nan)"), 0);
    json_t *nodes = store_nodes_json(&f->st, 7);
    json_t *n = json_array_get(nodes, 0);
    assert_int_equal(json_integer_value(json_object_get(n, "rounds")), 2);
    assert_int_equal(json_integer_value(json_object_get(n, "bytes_down")), 1000);
    assert_true(json_is_true(json_object_get(n, "flagged")));
    assert_string_equal(json_string_value(json_object_get(n, "status")), "offline");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(n, "resources"), "cores")), 2);
    json_decref(nodes);
    assert_int_equal(store_node_revoked(&f->st, 7), 0);
    nodes = store_nodes_json(&f->st, 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(nodes, 0), "status")), "revoked");
    json_decref(nodes);
    json_t *rn = store_run_nodes_json(&f->st, id);
    assert_int_equal(json_array_size(rn), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rn, 0), "ok")), 2);
    json_decref(rn);
}

/* A decentralised round as the engine reports it: every node's accuracy on
 * evaluated rounds, the consensus distance and the bytes per node. */
static const double k_node_acc[3] = {0.625, 0.75, 0.8125};

static fedc_round_metrics decentral_metrics(int round) {
    fedc_round_metrics m = metrics(round);
    m.decentral = 1;
    m.n_nodes = 3;
    m.consensus_distance = 0.0123456789012345 / round; /* all 17 digits must come back */
    m.bytes_per_node = 2.5e6 + round;
    m.evaluated = round != 2;
    if (m.evaluated) {
        m.avg_model_accuracy = 0.8;
        m.avg_model_loss = 0.55;
        m.node_accuracy_min = 0.625;
        m.node_accuracy_max = 0.8125;
        m.node_accuracy = k_node_acc;
    }
    return m;
}

static void test_decentral_rounds(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t id;
    assert_int_equal(store_run_create(&f->st, "d", "{}", 5, &id, &err), 0);
    for (int round = 1; round <= 3; round++) {
        fedc_round_metrics m = decentral_metrics(round);
        assert_int_equal(store_round_commit(&f->st, id, &m, NULL, 0, 0.8, round <= 2 ? round : -1, &err), 0);
    }
    /* REST /rounds: the simulation's keys, the consensus distance exactly. */
    json_t *rounds = store_rounds_json(&f->st, id, 0);
    assert_int_equal(json_array_size(rounds), 3);
    for (int round = 1; round <= 3; round++) {
        json_t *o = json_array_get(rounds, (size_t)round - 1);
        fedc_round_metrics m = decentral_metrics(round);
        assert_true(json_real_value(json_object_get(o, "consensus_distance")) == m.consensus_distance);
        assert_true(json_real_value(json_object_get(o, "bytes_per_node")) == m.bytes_per_node);
        assert_int_equal(json_integer_value(json_object_get(o, "nodes")), 3);
        json_t *acc = json_object_get(o, "node_accuracy");
        if (round == 2) {
            assert_null(acc);
            continue;
        }
        assert_int_equal(json_array_size(acc), 3);
        for (int k = 0; k < 3; k++) assert_true(json_real_value(json_array_get(acc, (size_t)k)) == k_node_acc[k]);
        assert_true(json_real_value(json_object_get(o, "avg_model_accuracy")) == 0.8);
    }
    json_decref(rounds);
    /* The metrics export: byte for byte what fedc sim writes. */
    fedc_buf jl = {0};
    assert_int_equal(store_metrics_export(&f->st, id, 0, &jl), 0);
    char *want = NULL;
    size_t wl = 0;
    FILE *mf = open_memstream(&want, &wl);
    for (int round = 1; round <= 3; round++) {
        fedc_round_metrics m = decentral_metrics(round);
        fedc_metrics_write_jsonl(mf, &m);
    }
    fclose(mf);
    assert_int_equal(jl.len, wl);
    assert_memory_equal(jl.data, want, wl);
    assert_non_null(strstr(want, "\"consensus_distance\":"));
    free(want);
    fedc_buf_free(&jl);

    /* A restart from the checkpoint of round 2 forgets round 3's row too. */
    assert_int_equal(store_run_rollback(&f->st, id, 2), 0);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->st.db, "SELECT count(*) FROM round_decentral", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 2);
    sqlite3_finalize(q);

    /* A changed value fails the row's checksum: reading stops, the check names it. */
    assert_int_equal(
        sqlite3_exec(f->st.db, "UPDATE round_decentral SET consensus_distance=0 WHERE round=1", NULL, NULL, NULL),
        SQLITE_OK);
    fedc_buf report = {0};
    assert_int_not_equal(store_check(&f->st, 0, &report), 0);
    assert_non_null(report.data);
    assert_non_null(memmem(report.data, report.len, "decentralised row of round 1", 28));
    fedc_buf_free(&report);
    assert_null(store_rounds_json(&f->st, id, 0));
}

/* A store from before the decentralised table gains it when it opens, its
 * rounds untouched, and then records decentralised rounds. */
static void test_decentral_table_added_on_open(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t id;
    assert_int_equal(store_run_create(&f->st, "old", "{}", 5, &id, &err), 0);
    fedc_round_metrics m = metrics(1);
    assert_int_equal(store_round_commit(&f->st, id, &m, NULL, 0, m.accuracy, 1, &err), 0);
    assert_int_equal(sqlite3_exec(f->st.db, "DROP TABLE round_decentral", NULL, NULL, NULL), SQLITE_OK);
    store_close(&f->st);
    assert_int_equal(store_open(&f->st, f->db, &err), 0);
    fedc_buf report = {0};
    assert_int_equal(store_check(&f->st, 1, &report), 0);
    fedc_buf_free(&report);
    m = decentral_metrics(2);
    assert_int_equal(store_round_commit(&f->st, id, &m, NULL, 0, 0.8, -1, &err), 0);
    json_t *rounds = store_rounds_json(&f->st, id, 0);
    assert_int_equal(json_array_size(rounds), 2);
    assert_null(json_object_get(json_array_get(rounds, 0), "consensus_distance"));
    assert_true(json_real_value(json_object_get(json_array_get(rounds, 1), "consensus_distance")) ==
                m.consensus_distance);
    json_decref(rounds);
}

static void test_open_refuses_garbage(void **state) {
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/not-a-db", f->dir);
    FILE *fp = fopen(path, "w");
    fputs("this is not an SQLite database, just some text long enough to be read as a header......", fp);
    fclose(fp);
    store st;
    fedc_error err;
    assert_int_equal(store_open(&st, path, &err), -1);
    assert_non_null(strstr(err.msg, path));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queue_order_and_status, fedc_test_store_setup, fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_commit_rollback_export, fedc_test_store_setup, fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_decentral_rounds, fedc_test_store_setup, fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_decentral_table_added_on_open, fedc_test_store_setup,
                                        fedc_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_garbage, fedc_test_store_setup, fedc_test_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
