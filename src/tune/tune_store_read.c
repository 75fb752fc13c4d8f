/* Reading the search store: listings and whole searches as JSON (for the
 * web app and the REST API), and a stored search's definition (to resume). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tune/tune_internal.h"

static json_t *col_json(sqlite3_stmt *q, int c) {
    switch (sqlite3_column_type(q, c)) {
    case SQLITE_NULL: return json_null();
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(q, c));
    case SQLITE_FLOAT: {
        double d = sqlite3_column_double(q, c);
        return isfinite(d) ? json_real(d) : json_null();
    }
    default: return json_string((const char *)sqlite3_column_text(q, c));
    }
}

/* A column holding JSON text, parsed (null when absent or unreadable). */
static json_t *col_parsed(sqlite3_stmt *q, int c) {
    const unsigned char *t = sqlite3_column_text(q, c);
    json_t *v = t ? json_loads((const char *)t, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

/* One object per row, keys from the column names; columns named *_json
 * are parsed and lose the suffix. */
static json_t *row_object(sqlite3_stmt *q) {
    json_t *o = json_object();
    for (int c = 0; c < sqlite3_column_count(q); c++) {
        const char *name = sqlite3_column_name(q, c);
        size_t len = strlen(name);
        if (len > 5 && !strcmp(name + len - 5, "_json")) {
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(len - 5), name);
            json_object_set_new(o, key, col_parsed(q, c));
        } else {
            json_object_set_new(o, name, col_json(q, c));
        }
    }
    return o;
}

static char *dump(json_t *v) {
    char *t = v ? json_dumps(v, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(v);
    return t;
}

char *fedc_tune_store_list_json(fedc_tune_store *st, fedc_error *err) {
    static const char *sql =
        "SELECT s.id, s.created, s.updated, s.method, s.budget, s.seed, s.status, "
        "(SELECT COUNT(*) FROM tune_trial t WHERE t.search_id=s.id) AS trials, s.best_trial, s.best_accuracy, "
        "s.total_rounds, s.total_cpu_s, json_extract(s.task_json, '$.name') AS task_name "
        "FROM tune_search s ORDER BY s.id DESC";
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *q = NULL;
    json_t *arr = json_array();
    int step = SQLITE_ERROR;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK)
        while ((step = sqlite3_step(q)) == SQLITE_ROW) json_array_append_new(arr, row_object(q));
    if (step != SQLITE_DONE) {
        fedc_fail(err, "%s: listing searches: %s", st->path, sqlite3_errmsg(st->db));
        json_decref(arr);
        arr = NULL;
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return arr ? dump(arr) : NULL;
}

/* Rows of sql (bound to id) as an array; NULL on a database error. */
static json_t *rows(fedc_tune_store *st, const char *sql, int64_t id) {
    sqlite3_stmt *q = NULL;
    json_t *arr = json_array();
    int step = SQLITE_ERROR;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_bind_int64(q, 1, id) == SQLITE_OK)
        while ((step = sqlite3_step(q)) == SQLITE_ROW) json_array_append_new(arr, row_object(q));
    sqlite3_finalize(q);
    if (step != SQLITE_DONE) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

char *fedc_tune_store_search_json(fedc_tune_store *st, int64_t id, fedc_error *err) {
    pthread_mutex_lock(&st->lock);
    json_t *search = rows(st,
                          "SELECT id, created, updated, method, budget, seed, status, options_json, space_json, "
                          "task_json, best_trial, best_accuracy, best_task_json, total_rounds, total_cpu_s "
                          "FROM tune_search WHERE id=?",
                          id);
    json_t *trials = rows(st,
                          "SELECT trial, run_key, source, status, rounds, accuracy, loss, bytes, cpu_s, error, "
                          "config_json, task_json, costs_json FROM tune_trial WHERE search_id=? ORDER BY trial",
                          id);
    json_t *rungs = rows(st,
                         "SELECT trial, rung, rounds, ok, accuracy, loss, bytes, cpu_s, error, costs_json FROM tune_rung "
                         "WHERE search_id=? ORDER BY trial, rung",
                         id);
    char *out = NULL;
    if (!search || !trials || !rungs) {
        fedc_fail(err, "%s: reading search %lld: %s", st->path, (long long)id, sqlite3_errmsg(st->db));
    } else if (json_array_size(search) == 0) {
        fedc_fail(err, "%s: there is no search %lld", st->path, (long long)id);
    } else {
        size_t i;
        json_t *t, *r;
        json_array_foreach(trials, i, t) json_object_set_new(t, "rungs", json_array());
        json_array_foreach(rungs, i, r) {
            json_int_t k = json_integer_value(json_object_get(r, "trial"));
            json_t *owner = k >= 0 ? json_array_get(trials, (size_t)k) : NULL;
            if (owner && json_integer_value(json_object_get(owner, "trial")) == k) {
                json_object_del(r, "trial");
                json_array_append(json_object_get(owner, "rungs"), r);
            }
        }
        /* The test figure is reported for the final choice only: a trial
         * selected on validation keeps its test accuracy to itself. */
        json_t *best = json_object_get(json_array_get(search, 0), "best_trial");
        json_int_t best_id = json_is_integer(best) ? json_integer_value(best) : -1;
        json_array_foreach(trials, i, t) {
            if (json_integer_value(json_object_get(t, "trial")) == best_id) continue;
            json_t *c = json_object_get(t, "costs");
            if (json_is_object(c) && json_is_true(json_object_get(c, "validated"))) json_object_del(c, "test_accuracy");
            size_t k;
            json_t *r2;
            json_array_foreach(json_object_get(t, "rungs"), k, r2) {
                json_t *rc2 = json_object_get(r2, "costs");
                if (json_is_object(rc2) && json_is_true(json_object_get(rc2, "validated")))
                    json_object_del(rc2, "test_accuracy");
            }
        }
        json_t *s = json_incref(json_array_get(search, 0));
        json_object_set(s, "trials", trials);
        out = dump(s);
        if (!out) fedc_fail(err, "out of memory");
    }
    json_decref(search);
    json_decref(trials);
    json_decref(rungs);
    pthread_mutex_unlock(&st->lock);
    return out;
}

int fedc_tune_store_get_search(fedc_tune_store *st, int64_t id, fedc_tune_space **space, fedc_task *task,
                               fedc_tune_options *opt, fedc_error *err) {
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *q = NULL;
    int rc = -1, step = SQLITE_ERROR;
    if (sqlite3_prepare_v2(st->db, "SELECT options_json, space_json, task_json, budget FROM tune_search WHERE id=?",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_bind_int64(q, 1, id) == SQLITE_OK)
        step = sqlite3_step(q);
    if (step != SQLITE_ROW) {
        if (step == SQLITE_DONE) fedc_fail(err, "%s: there is no search %lld", st->path, (long long)id);
        else fedc_fail(err, "%s: reading search %lld: %s", st->path, (long long)id, sqlite3_errmsg(st->db));
        goto out;
    }
    const char *oj = (const char *)sqlite3_column_text(q, 0), *sj = (const char *)sqlite3_column_text(q, 1),
               *tj = (const char *)sqlite3_column_text(q, 2);
    char src[80];
    snprintf(src, sizeof src, "search %lld: space", (long long)id);
    fedc_tune_options o;
    memset(&o, 0, sizeof o);
    fedc_task t;
    fedc_tune_space *sp = NULL;
    if (!oj || !sj || !tj || tune_options_from_json(oj, &o, err) != 0) {
        if (!oj || !sj || !tj) fedc_fail(err, "%s: search %lld is incomplete", st->path, (long long)id);
        goto out;
    }
    if (!strcmp(tj, "null")) {
        fedc_fail(err, "%s: search %lld has no base task (it optimised a plain function)", st->path, (long long)id);
        goto out;
    }
    if (fedc_task_from_json(tj, strlen(tj), &t, err) != 0) {
        fedc_fail_prefix(err, "%s: search %lld: stored task: ", st->path, (long long)id);
        goto out;
    }
    if (!(sp = fedc_tune_space_from_json(sj, strlen(sj), src, err))) goto out;
    o.budget = sqlite3_column_int(q, 3);
    *space = sp;
    *task = t;
    *opt = o;
    rc = 0;
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}
