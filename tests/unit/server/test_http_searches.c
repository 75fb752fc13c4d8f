/* /api/searches on a real server: a search recorded in the server's run
 * store (as `fedc tune --db STATE/runs.db` does) is listed, shown with its
 * trials in the leaderboard order of `fedc tune` and with its best task,
 * which POST /api/runs accepts ("launch the winner"). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fedc/task.h"
#include "fedc/tune.h"
#include "server/server_internal.h"
#include "unit/server/server_http_util.h"
#include "unit/tune/tune_test_util.h"

/* ---- the ranking alone ------------------------------------------------------- */

static void test_rank_order(void **state) {
    (void)state;
    /* trial: status, rounds, accuracy (null = no rung yet), bytes; and the rank expected. */
    json_t *trials = json_loads("["
                                "{\"trial\": 0, \"status\": \"complete\", \"rounds\": 9, \"accuracy\": 0.70, \"bytes\": 500},"
                                "{\"trial\": 1, \"status\": \"failed\", \"rounds\": 9, \"accuracy\": 0.99, \"bytes\": 1},"
                                "{\"trial\": 2, \"status\": \"stopped\", \"rounds\": 3, \"accuracy\": 0.95, \"bytes\": 10},"
                                "{\"trial\": 3, \"status\": \"complete\", \"rounds\": 9, \"accuracy\": 0.80, \"bytes\": 900},"
                                "{\"trial\": 4, \"status\": \"complete\", \"rounds\": 9, \"accuracy\": 0.70, \"bytes\": 400},"
                                "{\"trial\": 5, \"status\": \"pending\", \"rounds\": 0, \"accuracy\": null, \"bytes\": null},"
                                "{\"trial\": 6, \"status\": \"paused\", \"rounds\": 3, \"accuracy\": 0.95, \"bytes\": 10},"
                                "{\"trial\": 7, \"status\": \"failed\", \"rounds\": 0, \"accuracy\": null, \"bytes\": null}"
                                "]",
                                0, NULL);
    assert_non_null(trials);
    assert_int_equal(searches_rank_trials(trials), 0);
    /* furthest first, then accuracy, fewer bytes, lower trial; failed last */
    static const int want[] = {3, 7, 4, 1, 2, 6, 5, 8};
    for (size_t i = 0; i < json_array_size(trials); i++) {
        json_int_t rank = json_integer_value(json_object_get(json_array_get(trials, i), "rank"));
        if (rank != want[i]) fail_msg("trial %zu: rank %lld, expected %d", i, (long long)rank, want[i]);
    }
    json_decref(trials);
    json_t *none = json_array();
    assert_int_equal(searches_rank_trials(none), 0);
    json_decref(none);
}

/* ---- a search in the server's store -------------------------------------------- */

static const char *k_space =
    "{\"params\": ["
    "{\"name\": \"local.lr\", \"type\": \"choice\", \"values\": [0.001, 0.01, 0.1, 1.0]},"
    "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [16, 32, 64]},"
    "{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 3}]}";

static double final_accuracy(const fedc_tune_config *c) {
    return 0.9 - 0.1 * fabs(c->v[0] - 2) - 0.05 * fabs(c->v[1] - 1) - 0.03 * fabs(c->v[2] - 2);
}

/* An ASHA search (stopped trials) with one failed trial, recorded in db;
 * returns its leaderboard JSON (malloc'd) and id. */
static char *record_search(const char *db, int64_t *id) {
    fedc_error err;
    fedc_tune_space *space = fedc_tune_space_from_json(k_space, strlen(k_space), "test space", &err);
    if (!space) fail_msg("%s", err.msg);
    fedc_task base;
    const char *task_json = "{\"name\": \"routes\", \"rounds\": 9, \"clients\": 4, \"clients_per_round\": 2}";
    if (fedc_task_from_json(task_json, strlen(task_json), &base, &err) != 0) fail_msg("%s", err.msg);
    fn_objective fn;
    fn_init(&fn, final_accuracy);
    fn.fail_trial = 3;
    fedc_tune_objective obj = fn_as_objective(&fn);
    fedc_tune_options o;
    memset(&o, 0, sizeof o);
    o.method = FEDC_TUNE_ASHA;
    o.budget = 12;
    o.seed = 5;
    o.max_rounds = 9;
    o.parallel = 1;
    fedc_tune_store *tstore = fedc_tune_store_open(db, &err);
    if (!tstore) fail_msg("%s", err.msg);
    fedc_tune_search *s = fedc_tune_search_create(space, &base, &o, &obj, &err);
    if (!s || fedc_tune_search_attach(s, tstore, 0, &err) != 0 || fedc_tune_search_run(s, &err) != 0)
        fail_msg("%s", err.msg);
    *id = fedc_tune_search_id(s);
    char *board = fedc_tune_leaderboard_json(s);
    assert_non_null(board);
    fedc_tune_search_free(s);
    fedc_tune_store_close(tstore);
    fedc_tune_space_free(space);
    pthread_mutex_destroy(&fn.lock);
    return board;
}

static void test_searches_routes(void **state) {
    (void)state;
    test_server ts;
    assert_int_equal(test_server_start(&ts), 0);
    http_answer a = http_call(&ts, "GET", "/api/searches", NULL, 1);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.json, "searches")), 0);
    assert_int_equal(json_integer_value(json_object_get(a.json, "total")), 0);
    http_answer_free(&a);

    char db[128];
    snprintf(db, sizeof db, "%s/runs.db", ts.state);
    int64_t id;
    char *board_text = record_search(db, &id);
    json_t *board = json_loads(board_text, 0, NULL);
    free(board_text);

    a = http_call(&ts, "GET", "/api/searches", NULL, 1);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_integer_value(json_object_get(a.json, "total")), 1);
    json_t *item = json_array_get(json_object_get(a.json, "searches"), 0);
    assert_int_equal(json_integer_value(json_object_get(item, "id")), id);
    assert_string_equal(json_string_value(json_object_get(item, "method")), "asha");
    assert_string_equal(json_string_value(json_object_get(item, "status")), "done");
    assert_string_equal(json_string_value(json_object_get(item, "task_name")), "routes");
    assert_int_equal(json_integer_value(json_object_get(item, "trials")), 12);
    http_answer_free(&a);

    char path[64];
    snprintf(path, sizeof path, "/api/searches/%lld", (long long)id);
    a = http_call(&ts, "GET", path, NULL, 1);
    assert_int_equal(a.status, 200);
    json_t *trials = json_object_get(a.json, "trials");
    assert_int_equal(json_array_size(trials), 12);
    /* Every trial carries the rank fedc tune's own leaderboard gives it. */
    size_t i;
    json_t *row;
    int stopped = 0, failed = 0, front = 0;
    json_array_foreach(json_object_get(board, "trials"), i, row) {
        json_int_t trial = json_integer_value(json_object_get(row, "trial"));
        json_t *t = json_array_get(trials, (size_t)trial);
        assert_int_equal(json_integer_value(json_object_get(t, "trial")), trial);
        assert_int_equal(json_integer_value(json_object_get(t, "rank")), json_integer_value(json_object_get(row, "rank")));
        /* The answer stays small: only the trials on the Pareto front carry
         * their task (any point of it can be launched), with the search's
         * validation split off. */
        json_t *costs = json_object_get(t, "costs");
        json_t *prank = json_object_get(costs, "pareto_rank");
        if (json_is_integer(prank) && json_integer_value(prank) == 1) {
            json_t *task = json_object_get(t, "task");
            assert_true(json_is_object(task));
            assert_true(json_number_value(json_object_get(task, "validation")) == 0);
            front++;
        } else {
            assert_null(json_object_get(t, "task"));
        }
        if (!strcmp(json_string_value(json_object_get(t, "status")), "complete"))
            assert_true(json_is_number(json_object_get(costs, "client_gflop")));
        assert_non_null(json_object_get(t, "config"));
        const char *st = json_string_value(json_object_get(t, "status"));
        stopped += !strcmp(st, "stopped");
        failed += !strcmp(st, "failed");
    }
    assert_true(stopped > 0);
    assert_int_equal(failed, 1);
    assert_int_equal(front, (int)json_array_size(json_object_get(board, "front")));
    assert_true(front >= 1);
    json_int_t winner = json_integer_value(json_object_get(json_array_get(json_object_get(board, "trials"), 0), "trial"));
    assert_int_equal(json_integer_value(json_object_get(a.json, "best_trial")), winner);
    json_t *best = json_object_get(a.json, "best_task");
    assert_true(json_is_object(best));
    assert_string_equal(json_string_value(json_object_get(best, "name")), "routes-tuned");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a.json, "task"), "name")), "routes");
    assert_non_null(json_object_get(json_object_get(a.json, "space"), "params"));

    /* The winner is a task the server runs as it is. */
    char *best_text = json_dumps(best, JSON_COMPACT);
    http_answer run = http_call(&ts, "POST", "/api/runs", best_text, 1);
    free(best_text);
    if (run.status != 201) fail_msg("POST /api/runs with the best task: HTTP %ld %s", run.status, run.body);
    assert_string_equal(json_string_value(json_object_get(run.json, "name")), "routes-tuned");
    http_answer_free(&run);
    /* A validation split is simulation only: a deployment refuses it, naming the field. */
    run = http_call(&ts, "POST", "/api/runs", "{\"name\": \"v\", \"clients\": 4, \"clients_per_round\": 2, \"validation\": 0.1}", 1);
    if (run.status != 400 || !strstr(run.body, "\"validation\""))
        fail_msg("POST /api/runs with validation 0.1: HTTP %ld %s", run.status, run.body ? run.body : "");
    http_answer_free(&run);
    http_answer_free(&a);
    json_decref(board);

    static const struct {
        const char *method, *path;
        long status;
        const char *error;
    } routes[] = {
        {"GET", "/api/searches/999", 404, "search 999 does not exist"},
        {"GET", "/api/searches/0", 404, "no such route"},
        {"GET", "/api/searches/abc", 404, "no such route"},
        {"GET", "/api/searches/1/trials", 404, "no such route"},
        {"POST", "/api/searches", 405, "use GET"},
        {"DELETE", "/api/searches/1", 405, "use GET"},
    };
    for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++) {
        a = http_call(&ts, routes[k].method, routes[k].path, NULL, 1);
        if (a.status != routes[k].status || !strstr(http_error_text(&a), routes[k].error))
            fail_msg("%s %s: HTTP %ld %s", routes[k].method, routes[k].path, a.status, a.body ? a.body : "");
        http_answer_free(&a);
    }
    a = http_call(&ts, "GET", "/api/searches", NULL, 0);
    assert_int_equal(a.status, 401);
    http_answer_free(&a);
    test_server_stop(&ts);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_order),
        cmocka_unit_test(test_searches_routes),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
