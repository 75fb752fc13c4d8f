/* /api/searches: the hyperparameter and architecture searches that
 * `fedc tune --db STATE/runs.db` recorded in the run store's tune_ tables
 * (docs/tune.md), for the web app's Searches page: the list, and one search
 * with its trials ranked like `fedc tune`'s leaderboard and the best task,
 * ready for POST /api/runs ("launch the winner"). A search runs in another
 * process; each request reads the store afresh (SQLite WAL: reading never
 * waits for the search's writes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/tune.h"
#include "server/server_internal.h"

typedef struct rank_key {
    size_t index;
    int failed;
    json_int_t rounds, trial;
    double accuracy;
    json_int_t bytes;
} rank_key;

/* The leaderboard order of src/tune/report.c: failed trials last, then the
 * trials that went furthest (an accuracy after 1 round is not comparable
 * with one after 30), then accuracy, fewer bytes, lower trial number. */
static int cmp_rank(const void *x, const void *y) {
    const rank_key *a = x, *b = y;
    if (a->failed != b->failed) return a->failed - b->failed;
    if (a->rounds != b->rounds) return a->rounds > b->rounds ? -1 : 1;
    if (a->accuracy != b->accuracy) return a->accuracy > b->accuracy ? -1 : 1;
    if (a->bytes != b->bytes) return a->bytes < b->bytes ? -1 : 1;
    return a->trial < b->trial ? -1 : a->trial > b->trial;
}

int searches_rank_trials(json_t *trials) {
    size_t n = json_array_size(trials);
    if (n == 0) return 0;
    rank_key *keys = malloc(n * sizeof *keys);
    if (!keys) return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(trials, i);
        const char *status = json_string_value(json_object_get(t, "status"));
        json_t *acc = json_object_get(t, "accuracy");
        keys[i] = (rank_key){
            .index = i,
            .failed = status && !strcmp(status, "failed"),
            .rounds = json_integer_value(json_object_get(t, "rounds")),
            .trial = json_integer_value(json_object_get(t, "trial")),
            /* no finished rung yet: below any accuracy */
            .accuracy = json_is_number(acc) ? json_number_value(acc) : -1,
            .bytes = json_integer_value(json_object_get(t, "bytes")),
        };
    }
    qsort(keys, n, sizeof *keys, cmp_rank);
    for (size_t k = 0; k < n; k++)
        json_object_set_new(json_array_get(trials, keys[k].index), "rank", json_integer((json_int_t)k + 1));
    free(keys);
    return 0;
}

static fedc_tune_store *open_store(fedc_server *s, fedc_http_response *resp) {
    fedc_error err;
    fedc_tune_store *st = fedc_tune_store_open(s->db_net.path, &err);
    if (!st) http_error(resp, 500, "the search store cannot be read: %s", err.msg);
    return st;
}

static void h_list(fedc_server *s, fedc_http_response *resp) {
    fedc_tune_store *st = open_store(s, resp);
    if (!st) return;
    fedc_error err;
    char *text = fedc_tune_store_list_json(st, &err);
    fedc_tune_store_close(st);
    if (!text) {
        http_error(resp, 500, "the searches cannot be listed: %s", err.msg);
        return;
    }
    json_t *list = json_loads(text, 0, NULL);
    free(text);
    if (!list) {
        http_error(resp, 500, "out of memory listing the searches");
        return;
    }
    http_json(resp, 200, json_pack("{s:o,s:I}", "searches", list, "total", (json_int_t)json_array_size(list)));
}

static void h_one(fedc_server *s, int64_t id, fedc_http_response *resp) {
    fedc_tune_store *st = open_store(s, resp);
    if (!st) return;
    fedc_error err;
    char *text = fedc_tune_store_search_json(st, id, &err);
    fedc_tune_store_close(st);
    if (!text) {
        /* The store names a missing search "there is no search N". */
        if (strstr(err.msg, "there is no search")) http_error(resp, 404, "search %lld does not exist", (long long)id);
        else http_error(resp, 500, "search %lld cannot be read: %s", (long long)id, err.msg);
        return;
    }
    json_t *search = json_loads(text, 0, NULL);
    free(text);
    json_t *trials = json_object_get(search, "trials");
    size_t i;
    json_t *t;
    /* Each trial's full task would make a large search's answer many
     * megabytes; the configuration says what differs, best_task is whole,
     * and so is the task of every trial on the Pareto front (the web app
     * launches any point of it). A validation split is the search's own
     * (simulation only): a task launched on the nodes trains on all their data. */
    json_array_foreach(trials, i, t) {
        json_t *rank = json_object_get(json_object_get(t, "costs"), "pareto_rank");
        json_t *task = json_object_get(t, "task");
        if (json_is_integer(rank) && json_integer_value(rank) == 1 && json_is_object(task))
            json_object_set_new(task, "validation", json_real(0));
        else
            json_object_del(t, "task");
    }
    json_t *best = json_object_get(search, "best_task");
    if (json_is_object(best)) json_object_set_new(best, "validation", json_real(0));
    if (!search || searches_rank_trials(trials) != 0) {
        json_decref(search);
        http_error(resp, 500, "out of memory reading search %lld", (long long)id);
        return;
    }
    http_json(resp, 200, search);
}

int http_searches_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest) {
    int get = !strcmp(req->method, "GET");
    if (rest[0] == 0 || !strcmp(rest, "/")) {
        if (get) h_list(s, resp);
        else http_error(resp, 405, "%s /api/searches: use GET (searches are made by `fedc tune --db STATE/runs.db`)",
                        req->method);
        return 1;
    }
    if (rest[0] != '/' || rest[1] < '1' || rest[1] > '9') return 0;
    char *end;
    long long id = strtoll(rest + 1, &end, 10);
    if (*end || id <= 0) return 0;
    if (!get) {
        http_error(resp, 405, "%s /api/searches/%lld: use GET", req->method, id);
        return 1;
    }
    h_one(s, id, resp);
    return 1;
}
