/* The search store: SQLite in WAL mode (a web page can read while a search
 * writes). One row per search, one per trial (each trial is a run: its task
 * JSON is stored and run_key names it), one per finished job (trial, rung).
 * Rows are written as jobs finish, so an interrupted search loses at most
 * the jobs that were running. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tune/tune_internal.h"

static const char *k_schema =
    "CREATE TABLE IF NOT EXISTS tune_search("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " updated TEXT,"
    " method TEXT NOT NULL, budget INTEGER NOT NULL, seed INTEGER NOT NULL,"
    " options_json TEXT NOT NULL, space_json TEXT NOT NULL, task_json TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " best_trial INTEGER, best_accuracy REAL, best_task_json TEXT,"
    " total_rounds INTEGER NOT NULL DEFAULT 0, total_cpu_s REAL NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS tune_trial("
    " search_id INTEGER NOT NULL REFERENCES tune_search(id) ON DELETE CASCADE,"
    " trial INTEGER NOT NULL,"
    " run_key TEXT NOT NULL UNIQUE,"
    " source TEXT NOT NULL, config_json TEXT NOT NULL, task_json TEXT,"
    " status TEXT NOT NULL, rounds INTEGER NOT NULL DEFAULT 0,"
    " accuracy REAL, loss REAL, bytes INTEGER, cpu_s REAL, error TEXT, costs_json TEXT,"
    " updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " PRIMARY KEY(search_id, trial));"
    "CREATE TABLE IF NOT EXISTS tune_rung("
    " search_id INTEGER NOT NULL, trial INTEGER NOT NULL, rung INTEGER NOT NULL,"
    " rounds INTEGER NOT NULL, ok INTEGER NOT NULL,"
    " accuracy REAL, loss REAL, bytes INTEGER, cpu_s REAL, error TEXT, costs_json TEXT,"
    " PRIMARY KEY(search_id, trial, rung),"
    " FOREIGN KEY(search_id, trial) REFERENCES tune_trial(search_id, trial) ON DELETE CASCADE);";

/* Stores written before trials recorded their costs get the column. */
static int add_costs_column(sqlite3 *db, const char *table) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name='costs_json'", table);
    sqlite3_stmt *q = NULL;
    int have = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) have = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (have) return SQLITE_OK;
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN costs_json TEXT", table);
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* A measure's costs as JSON text (malloc'd): what a budget or a front is
 * decided on, kept so a resumed search decides the same. */
char *tune_costs_json(const fedc_tune_measure *m, const fedc_tune_trial *t) {
    json_t *o = json_pack("{s:f,s:f,s:I,s:I,s:f,s:f}", "client_gflop", tune_round_sig(m->client_gflop, 12),
                          "client_cpu_s", tune_round_sig(m->client_cpu_s, 9), "bytes_up", (json_int_t)m->bytes_up,
                          "bytes_down", (json_int_t)m->bytes_down, "server_cpu_s", tune_round_sig(m->server_cpu_s, 9),
                          "wall_s", tune_round_sig(m->wall_s, 9));
    if (!o) return NULL;
    json_object_set_new(o, "validated", json_boolean(m->validated));
    json_object_set_new(o, "test_accuracy", isfinite(m->test_accuracy) ? json_real(m->test_accuracy) : json_null());
    if (t) {
        json_object_set_new(o, "pareto_rank", t->pareto_rank > 0 ? json_integer(t->pareto_rank) : json_null());
        json_object_set_new(o, "crowding", t->pareto_rank > 0 && isfinite(t->crowding) ? json_real(t->crowding)
                                                                                        : json_null());
        json_object_set_new(o, "feasible", t->feasible < 0 ? json_null() : json_boolean(t->feasible));
    }
    char *text = json_dumps(o, TUNE_JSON_FLAGS);
    json_decref(o);
    return text;
}

/* Reads costs back into m (fields left as they are when absent). */
void tune_costs_read(const char *text, fedc_tune_measure *m) {
    json_t *o = text && *text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    json_t *v;
    if ((v = json_object_get(o, "client_gflop")) && json_is_number(v)) m->client_gflop = json_number_value(v);
    if ((v = json_object_get(o, "client_cpu_s")) && json_is_number(v)) m->client_cpu_s = json_number_value(v);
    if ((v = json_object_get(o, "server_cpu_s")) && json_is_number(v)) m->server_cpu_s = json_number_value(v);
    if ((v = json_object_get(o, "wall_s")) && json_is_number(v)) m->wall_s = json_number_value(v);
    if ((v = json_object_get(o, "bytes_up")) && json_is_integer(v)) m->bytes_up = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(o, "bytes_down")) && json_is_integer(v)) m->bytes_down = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(o, "test_accuracy")) && json_is_number(v)) m->test_accuracy = json_number_value(v);
    if ((v = json_object_get(o, "validated"))) m->validated = json_is_true(v);
    json_decref(o);
}

static int db_fail(fedc_tune_store *st, fedc_error *err, const char *what) {
    return fedc_fail(err, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

fedc_tune_store *fedc_tune_store_open(const char *path, fedc_error *err) {
    if (!path || !*path || strlen(path) >= 512) {
        fedc_fail(err, "tune store: a database path of 1 to 511 bytes is required");
        return NULL;
    }
    fedc_tune_store *st = calloc(1, sizeof *st);
    if (!st) {
        fedc_fail(err, "tune store: out of memory");
        return NULL;
    }
    snprintf(st->path, sizeof st->path, "%s", path);
    pthread_mutex_init(&st->lock, NULL);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        fedc_fail(err, "%s: cannot open the database: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        fedc_tune_store_close(st);
        return NULL;
    }
    sqlite3_busy_timeout(st->db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", NULL,
                     NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(st->db, k_schema, NULL, NULL, &msg) != SQLITE_OK ||
        add_costs_column(st->db, "tune_trial") != SQLITE_OK || add_costs_column(st->db, "tune_rung") != SQLITE_OK) {
        fedc_fail(err, "%s: cannot set up the tune tables: %s", path, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        fedc_tune_store_close(st);
        return NULL;
    }
    return st;
}

void fedc_tune_store_close(fedc_tune_store *st) {
    if (!st) return;
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* Binds "?" parameters from a format: i int, n int (NULL when negative),
 * I int64, d double (NULL when not finite), s text (NULL when NULL). */
static int bind_all(sqlite3_stmt *q, const char *fmt, va_list ap) {
    int rc = SQLITE_OK;
    for (int i = 1; *fmt && rc == SQLITE_OK; fmt++, i++) {
        switch (*fmt) {
        case 'i': rc = sqlite3_bind_int(q, i, va_arg(ap, int)); break;
        case 'n': {
            int v = va_arg(ap, int);
            rc = v >= 0 ? sqlite3_bind_int(q, i, v) : sqlite3_bind_null(q, i);
            break;
        }
        case 'I': rc = sqlite3_bind_int64(q, i, va_arg(ap, sqlite3_int64)); break;
        case 'd': {
            double d = va_arg(ap, double);
            rc = isfinite(d) ? sqlite3_bind_double(q, i, d) : sqlite3_bind_null(q, i);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(q, i);
            break;
        }
        default: rc = SQLITE_MISUSE;
        }
    }
    return rc;
}

/* Runs one statement that returns no rows. */
static int exec_sql(fedc_tune_store *st, fedc_error *err, const char *what, const char *sql, const char *fmt, ...) {
    sqlite3_stmt *q = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) rc = bind_all(q, fmt, ap);
    va_end(ap);
    if (rc == SQLITE_OK) rc = sqlite3_step(q);
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    if (!ok) db_fail(st, err, what);
    sqlite3_finalize(q);
    return ok ? 0 : -1;
}

int tune_store_create_search(fedc_tune_store *st, const fedc_tune_search *s, const char *options_json,
                             const char *space_json, const char *task_json, int64_t *id, fedc_error *err) {
    pthread_mutex_lock(&st->lock);
    int rc = exec_sql(st, err, "recording the search",
                      "INSERT INTO tune_search(method, budget, seed, options_json, space_json, task_json, status, "
                      "updated) VALUES(?,?,?,?,?,?,'running',strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                      "siIsss", fedc_tune_method_name(s->opt.method), s->opt.budget, (sqlite3_int64)s->opt.seed,
                      options_json, space_json, task_json);
    if (rc == 0) *id = sqlite3_last_insert_rowid(st->db);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void tune_stored_free(stored_trial *v, int n) {
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i].config_json);
    free(v);
}

static const char *col_text(sqlite3_stmt *q, int c) {
    const unsigned char *t = sqlite3_column_text(q, c);
    return t ? (const char *)t : "";
}

static double col_double(sqlite3_stmt *q, int c) {
    return sqlite3_column_type(q, c) == SQLITE_NULL ? NAN : sqlite3_column_double(q, c);
}

char *tune_store_options(fedc_tune_store *st, int64_t id, fedc_error *err) {
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *q = NULL;
    char *out = NULL;
    int step = SQLITE_ERROR;
    if (sqlite3_prepare_v2(st->db, "SELECT options_json FROM tune_search WHERE id=?", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_bind_int64(q, 1, id) == SQLITE_OK)
        step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        out = strdup(col_text(q, 0));
        if (!out) fedc_fail(err, "out of memory");
    } else if (step == SQLITE_DONE) {
        fedc_fail(err, "%s: there is no search %lld to resume", st->path, (long long)id);
    } else {
        db_fail(st, err, "reading the search");
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return out;
}

/* Explains which part of the stored definition differs from ours. */
static int explain_difference(fedc_tune_store *st, int64_t id, sqlite3_stmt *q, const char *options_json,
                              const char *space_json, const char *task_json, fedc_error *err) {
    if (strcmp(col_text(q, 0), options_json))
        return fedc_fail(err, "%s: search %lld was started with other options: %.400s; now: %.400s", st->path,
                         (long long)id, col_text(q, 0), options_json);
    if (strcmp(col_text(q, 1), space_json))
        return fedc_fail(err, "%s: search %lld was started with another search space; resume it with its own",
                         st->path, (long long)id);
    if (strcmp(col_text(q, 2), task_json))
        return fedc_fail(err, "%s: search %lld was started with another base task; resume it with its own",
                         st->path, (long long)id);
    return 0;
}

int tune_store_load(fedc_tune_store *st, int64_t id, const char *options_json, const char *space_json,
                    const char *task_json, int budget, stored_trial **out, int *nout, fedc_error *err) {
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *q = NULL;
    stored_trial *v = NULL;
    int n = 0, rc = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT options_json, space_json, task_json FROM tune_search WHERE id=?", -1, &q,
                           NULL) != SQLITE_OK) {
        db_fail(st, err, "reading the search");
        goto out;
    }
    sqlite3_bind_int64(q, 1, id);
    int step = sqlite3_step(q);
    if (step != SQLITE_ROW) {
        if (step == SQLITE_DONE) fedc_fail(err, "%s: there is no search %lld to resume", st->path, (long long)id);
        else db_fail(st, err, "reading the search");
        goto out;
    }
    if (explain_difference(st, id, q, options_json, space_json, task_json, err) != 0) goto out;
    sqlite3_finalize(q);
    q = NULL;

    if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(MAX(trial)+1,0) FROM tune_trial WHERE search_id=?", -1, &q, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_int64(q, 1, id) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
        db_fail(st, err, "counting trials");
        goto out;
    }
    n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (n < 0 || n > FEDC_TUNE_MAX_BUDGET) {
        fedc_fail(err, "%s: search %lld has %d trials; at most %d are possible", st->path, (long long)id, n,
                  FEDC_TUNE_MAX_BUDGET);
        goto out;
    }
    if (n > budget) {
        fedc_fail(err, "%s: search %lld already has %d trials; the budget (%d) cannot be below that", st->path,
                  (long long)id, n, budget);
        goto out;
    }
    v = calloc((size_t)n + 1, sizeof *v);
    if (!v) {
        fedc_fail(err, "out of memory");
        goto out;
    }
    if (sqlite3_prepare_v2(st->db, "SELECT trial, source, config_json FROM tune_trial WHERE search_id=?", -1, &q,
                           NULL) != SQLITE_OK) {
        db_fail(st, err, "reading trials");
        goto out;
    }
    sqlite3_bind_int64(q, 1, id);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int t = sqlite3_column_int(q, 0);
        if (t < 0 || t >= n) continue;
        v[t].have = 1;
        snprintf(v[t].source, sizeof v[t].source, "%s", col_text(q, 1));
        v[t].config_json = strdup(col_text(q, 2));
        if (!v[t].config_json) {
            fedc_fail(err, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        db_fail(st, err, "reading trials");
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT trial, rung, rounds, ok, accuracy, loss, bytes, cpu_s, error, costs_json FROM tune_rung "
                           "WHERE search_id=?",
                           -1, &q, NULL) != SQLITE_OK) {
        db_fail(st, err, "reading rungs");
        goto out;
    }
    sqlite3_bind_int64(q, 1, id);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int t = sqlite3_column_int(q, 0), r = sqlite3_column_int(q, 1);
        if (t < 0 || t >= n || !v[t].have || r < 0 || r >= FEDC_TUNE_MAX_RUNGS) continue;
        stored_rung *sr = &v[t].rung[r];
        sr->have = 1;
        sr->ok = sqlite3_column_int(q, 3);
        sr->m.rounds = sqlite3_column_int(q, 2);
        sr->m.accuracy = col_double(q, 4);
        sr->m.loss = col_double(q, 5);
        sr->m.bytes = (uint64_t)sqlite3_column_int64(q, 6);
        sr->m.cpu_s = col_double(q, 7);
        if (!isfinite(sr->m.cpu_s)) sr->m.cpu_s = 0;
        if (sr->ok && !(isfinite(sr->m.accuracy) && isfinite(sr->m.loss))) sr->have = 0; /* run it again */
        snprintf(sr->error, sizeof sr->error, "%s", col_text(q, 8));
        sr->m.test_accuracy = sr->m.accuracy;
        tune_costs_read(col_text(q, 9), &sr->m);
    }
    if (step != SQLITE_DONE) {
        db_fail(st, err, "reading rungs");
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (exec_sql(st, err, "updating the search",
                 "UPDATE tune_search SET budget=?, status='running', updated=strftime('%Y-%m-%dT%H:%M:%SZ','now') "
                 "WHERE id=?",
                 "iI", budget, (sqlite3_int64)id) != 0)
        goto out;
    *out = v;
    *nout = n;
    v = NULL;
    rc = 0;
out:
    sqlite3_finalize(q);
    tune_stored_free(v, n);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int tune_store_put_trial(fedc_tune_store *st, int64_t id, const fedc_tune_search *s, int trial, fedc_error *err) {
    const fedc_tune_trial *t = &s->trials[trial];
    char *config = fedc_tune_config_to_json(s->space, &t->config);
    char *task = s->has_base && s->task_ok[trial] ? fedc_task_to_json(&s->tasks[trial], 0) : NULL;
    char key[64];
    snprintf(key, sizeof key, "tune/%lld/%d", (long long)id, trial);
    int started = t->rung >= 0;
    char *costs = started ? tune_costs_json(&t->last, t) : NULL;
    pthread_mutex_lock(&st->lock);
    int rc = config ? exec_sql(st, err, "recording a trial",
                               "INSERT INTO tune_trial(search_id, trial, run_key, source, config_json, task_json, "
                               "status, rounds, accuracy, loss, bytes, cpu_s, error, costs_json) "
                               "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                               "ON CONFLICT(search_id, trial) DO UPDATE SET status=excluded.status, "
                               "rounds=excluded.rounds, accuracy=excluded.accuracy, loss=excluded.loss, "
                               "bytes=excluded.bytes, cpu_s=excluded.cpu_s, error=excluded.error, "
                               "costs_json=excluded.costs_json, updated=strftime('%Y-%m-%dT%H:%M:%SZ','now')",
                               "Iisssssiddidss", (sqlite3_int64)id, trial, key, t->source, config, task,
                               fedc_trial_status_name(t->status), t->rounds, started ? t->accuracy : NAN,
                               started ? t->loss : NAN, (sqlite3_int64)t->bytes, t->cpu_s,
                               t->error[0] ? t->error : NULL, costs)
                    : fedc_fail(err, "out of memory");
    pthread_mutex_unlock(&st->lock);
    free(costs);
    free(config);
    free(task);
    return rc;
}

int tune_store_put_rung(fedc_tune_store *st, int64_t id, int trial, int rung, int ok, const fedc_tune_measure *m,
                        const char *error, fedc_error *err) {
    char *costs = ok && m ? tune_costs_json(m, NULL) : NULL;
    pthread_mutex_lock(&st->lock);
    int rc = exec_sql(st, err, "recording a result",
                      "INSERT OR REPLACE INTO tune_rung(search_id, trial, rung, rounds, ok, accuracy, loss, bytes, "
                      "cpu_s, error, costs_json) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                      "IiiiiddIdss", (sqlite3_int64)id, trial, rung, m ? m->rounds : 0, ok, ok ? m->accuracy : NAN,
                      ok ? m->loss : NAN, (sqlite3_int64)(m ? m->bytes : 0), m ? m->cpu_s : 0.0, error, costs);
    pthread_mutex_unlock(&st->lock);
    free(costs);
    return rc;
}

int tune_store_finish(fedc_tune_store *st, int64_t id, const fedc_tune_search *s, const char *status,
                      fedc_error *err) {
    int best = fedc_tune_search_best(s);
    char *best_task = NULL;
    fedc_task bt;
    fedc_error e;
    if (best >= 0 && s->has_base && fedc_tune_search_best_task(s, &bt, &e) == 0) best_task = fedc_task_to_json(&bt, 1);
    double cpu = 0;
    for (int i = 0; i < s->ntrials; i++) cpu += s->trials[i].cpu_s;
    pthread_mutex_lock(&st->lock);
    int rc = exec_sql(st, err, "finishing the search",
                      "UPDATE tune_search SET status=?, best_trial=?, best_accuracy=?, best_task_json=?, "
                      "total_rounds=?, total_cpu_s=?, updated=strftime('%Y-%m-%dT%H:%M:%SZ','now') "
                      "WHERE id=?",
                      "sndsIdI", status, best, best >= 0 ? s->trials[best].accuracy : NAN, best_task,
                      (sqlite3_int64)(s->total_rounds), cpu, (sqlite3_int64)id);
    pthread_mutex_unlock(&st->lock);
    free(best_task);
    return rc;
}
