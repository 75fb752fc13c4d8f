/* The run store: SQLite in WAL mode, so the HTTP side reads while the
 * runner writes. Tables: runs, rounds, participation (per node and round),
 * nodes (the registry). Every completed round is committed in one
 * transaction with the run's totals and its checkpoint round, so after a
 * crash the store and the checkpoint files agree on what was done. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fedc/log.h"
#include "server/server_internal.h"

static const char *const k_schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS runs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, status TEXT NOT NULL,"
    " task_json TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL, finished_at REAL,"
    " rounds_total INTEGER NOT NULL, rounds_done INTEGER NOT NULL DEFAULT 0,"
    " checkpoint_round INTEGER NOT NULL DEFAULT 0, accuracy REAL, loss REAL, best_accuracy REAL,"
    " bytes_down INTEGER NOT NULL DEFAULT 0, bytes_up INTEGER NOT NULL DEFAULT 0,"
    " elapsed_s REAL NOT NULL DEFAULT 0, error TEXT);"
    "CREATE TABLE IF NOT EXISTS rounds("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " evaluated INTEGER, accuracy REAL, loss REAL, train_loss REAL, bytes_down INTEGER, bytes_up INTEGER,"
    " bytes_down_total INTEGER, bytes_up_total INTEGER, client_cpu_s REAL, server_cpu_s REAL, wall_s REAL,"
    " elapsed_s REAL, sim_time_s REAL, sim_elapsed_s REAL, selected INTEGER, participants INTEGER,"
    " dropped INTEGER, rejected INTEGER, PRIMARY KEY(run_id, round));"
    /* The privacy guarantee of each round of a DP run, beside the round. */
    "CREATE TABLE IF NOT EXISTS round_privacy("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " epsilon REAL, delta REAL, clip REAL, PRIMARY KEY(run_id, round));"
    "CREATE TABLE IF NOT EXISTS participation("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " slot INTEGER NOT NULL, node_id INTEGER, status TEXT NOT NULL, reason TEXT, bytes_down INTEGER,"
    " bytes_up INTEGER, cpu_s REAL, loss REAL, n_samples REAL, PRIMARY KEY(run_id, round, slot));"
    "CREATE INDEX IF NOT EXISTS participation_node ON participation(node_id);"
    /* Federated evaluation of a round (its own table: stores of earlier
     * versions gain it without touching rounds). */
    "CREATE TABLE IF NOT EXISTS fed_eval("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " accuracy REAL, loss REAL, examples REAL, reports INTEGER, PRIMARY KEY(run_id, round));"
    "CREATE TABLE IF NOT EXISTS nodes("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL, last_seen REAL, address TEXT,"
    " resources TEXT, flags INTEGER NOT NULL DEFAULT 0, flag_reason TEXT, revoked INTEGER NOT NULL DEFAULT 0);";

double fedc_now_unix(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int store_open(store *st, const char *path, fedc_error *err) {
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", path);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fedc_fail(err, "cannot open the run store %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        store_close(st);
        return -1;
    }
    sqlite3_busy_timeout(st->db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(st->db, k_schema, NULL, NULL, &msg) != SQLITE_OK) {
        fedc_fail(err, "cannot set up the run store %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        store_close(st);
        return -1;
    }
    return 0;
}

void store_close(store *st) {
    if (st->db) sqlite3_close(st->db);
    st->db = NULL;
}

static sqlite3_stmt *prep(store *st, const char *sql) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        FEDC_ERROR("run store %s: %s (in: %.60s...)", st->path, sqlite3_errmsg(st->db), sql);
        return NULL;
    }
    return q;
}

/* Runs a statement with no result rows; 0 on success. */
static int exec_done(store *st, sqlite3_stmt *q) {
    if (!q) return -1;
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE) FEDC_ERROR("run store %s: %s", st->path, sqlite3_errmsg(st->db));
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_run_create(store *st, const char *name, const char *task_json, int rounds_total, int64_t *id,
                     fedc_error *err) {
    sqlite3_stmt *q = prep(st, "INSERT INTO runs(name,status,task_json,created_at,rounds_total) VALUES(?,?,?,?,?)");
    if (!q) return fedc_fail(err, "run store: %s", sqlite3_errmsg(st->db));
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, "queued", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, task_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 4, fedc_now_unix());
    sqlite3_bind_int(q, 5, rounds_total);
    if (exec_done(st, q) != 0) return fedc_fail(err, "run store: cannot record the run: %s", sqlite3_errmsg(st->db));
    *id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

static json_t *col_real_or_null(sqlite3_stmt *q, int c) {
    return sqlite3_column_type(q, c) == SQLITE_NULL ? json_null() : json_real(sqlite3_column_double(q, c));
}

static json_t *col_text_or_null(sqlite3_stmt *q, int c) {
    return sqlite3_column_type(q, c) == SQLITE_NULL ? json_null()
                                                    : json_string((const char *)sqlite3_column_text(q, c));
}

/* The task's headline settings for lists. */
static json_t *task_summary(const char *task_json) {
    json_t *t = json_loads(task_json, 0, NULL);
    json_t *o = json_object();
    if (t) {
        json_t *ds = json_object_get(t, "dataset"), *local = json_object_get(t, "local"),
               *strat = json_object_get(t, "strategy"), *comp = json_object_get(t, "compression");
        json_object_set(o, "dataset", ds ? json_object_get(ds, "name") : NULL);
        json_object_set(o, "model", json_object_get(t, "model"));
        json_object_set(o, "strategy", strat ? json_object_get(strat, "name") : NULL);
        json_object_set(o, "clients", json_object_get(t, "clients"));
        json_object_set(o, "clients_per_round", json_object_get(t, "clients_per_round"));
        json_object_set(o, "local_epochs", local ? json_object_get(local, "epochs") : NULL);
        json_object_set(o, "compression_up", comp ? json_object_get(comp, "up") : NULL);
        json_object_set(o, "compression_down", comp ? json_object_get(comp, "down") : NULL);
        json_object_set(o, "seed", json_object_get(t, "seed"));
    }
    json_decref(t);
    return o;
}

#define RUN_COLS                                                                                                  \
    "id,name,status,created_at,started_at,finished_at,rounds_total,rounds_done,accuracy,loss,best_accuracy,"     \
    "bytes_down,bytes_up,elapsed_s,error,task_json,checkpoint_round"

static json_t *run_row(sqlite3_stmt *q, int with_task) {
    const char *task_json = (const char *)sqlite3_column_text(q, 15);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(q, 0)));
    json_object_set_new(o, "name", col_text_or_null(q, 1));
    json_object_set_new(o, "status", col_text_or_null(q, 2));
    json_object_set_new(o, "created_at", col_real_or_null(q, 3));
    json_object_set_new(o, "started_at", col_real_or_null(q, 4));
    json_object_set_new(o, "finished_at", col_real_or_null(q, 5));
    json_object_set_new(o, "rounds_total", json_integer(sqlite3_column_int(q, 6)));
    json_object_set_new(o, "rounds_done", json_integer(sqlite3_column_int(q, 7)));
    json_object_set_new(o, "accuracy", col_real_or_null(q, 8));
    json_object_set_new(o, "loss", col_real_or_null(q, 9));
    json_object_set_new(o, "best_accuracy", col_real_or_null(q, 10));
    json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 11)));
    json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 12)));
    json_object_set_new(o, "elapsed_s", json_real(sqlite3_column_double(q, 13)));
    json_object_set_new(o, "error", col_text_or_null(q, 14));
    json_object_set_new(o, "summary", task_summary(task_json ? task_json : "{}"));
    if (with_task) {
        json_t *t = json_loads(task_json ? task_json : "{}", 0, NULL);
        json_object_set_new(o, "task", t ? t : json_object());
        json_object_set_new(o, "checkpoint_round", json_integer(sqlite3_column_int(q, 16)));
    }
    return o;
}

json_t *store_run_json(store *st, int64_t id, int with_task) {
    sqlite3_stmt *q = prep(st, "SELECT " RUN_COLS " FROM runs WHERE id=?");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, id);
    json_t *o = sqlite3_step(q) == SQLITE_ROW ? run_row(q, with_task) : NULL;
    sqlite3_finalize(q);
    return o;
}

json_t *store_runs_json(store *st, const char *status, int limit, int offset, int *total) {
    sqlite3_stmt *q = prep(st, status ? "SELECT " RUN_COLS " FROM runs WHERE status=? ORDER BY id DESC LIMIT ? OFFSET ?"
                                      : "SELECT " RUN_COLS " FROM runs ORDER BY id DESC LIMIT ? OFFSET ?");
    if (!q) return NULL;
    int k = 1;
    if (status) sqlite3_bind_text(q, k++, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, k++, limit);
    sqlite3_bind_int(q, k, offset);
    json_t *a = json_array();
    while (sqlite3_step(q) == SQLITE_ROW) json_array_append_new(a, run_row(q, 0));
    sqlite3_finalize(q);
    q = prep(st, status ? "SELECT COUNT(*) FROM runs WHERE status=?" : "SELECT COUNT(*) FROM runs");
    *total = 0;
    if (q) {
        if (status) sqlite3_bind_text(q, 1, status, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) == SQLITE_ROW) *total = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    return a;
}

int64_t store_run_next(store *st, const int64_t *skip, int nskip) {
    sqlite3_stmt *q = prep(st, "SELECT id FROM runs WHERE status IN ('running','queued') "
                               "ORDER BY status='running' DESC, id ASC");
    if (!q) return 0;
    int64_t id = 0;
    while (!id && sqlite3_step(q) == SQLITE_ROW) {
        id = sqlite3_column_int64(q, 0);
        for (int i = 0; i < nskip; i++)
            if (skip[i] == id) id = 0;
    }
    sqlite3_finalize(q);
    return id;
}

int store_run_start(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE runs SET status='running', error=NULL, started_at=COALESCE(started_at, ?) "
                               "WHERE id=? AND status IN ('queued','running')");
    if (!q) return -1;
    sqlite3_bind_double(q, 1, fedc_now_unix());
    sqlite3_bind_int64(q, 2, id);
    if (exec_done(st, q) != 0) return -1;
    return sqlite3_changes(st->db) == 1 ? 0 : -1;
}

int store_run_load(store *st, int64_t id, char **task_json, int *checkpoint_round, char status[16]) {
    sqlite3_stmt *q = prep(st, "SELECT task_json, checkpoint_round, status FROM runs WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    int rc = -1;
    if (sqlite3_step(q) == SQLITE_ROW) {
        *task_json = strdup((const char *)sqlite3_column_text(q, 0));
        *checkpoint_round = sqlite3_column_int(q, 1);
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(q, 2));
        rc = *task_json ? 0 : -1;
    }
    sqlite3_finalize(q);
    return rc;
}

int store_run_set_status(store *st, int64_t id, const char *status, const char *error) {
    int ended = strcmp(status, "running") != 0 && strcmp(status, "queued") != 0;
    sqlite3_stmt *q = prep(st, ended ? "UPDATE runs SET status=?, error=?, finished_at=? WHERE id=?"
                                     : "UPDATE runs SET status=?, error=?, started_at=COALESCE(started_at, ?) "
                                       "WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_text(q, 1, status, -1, SQLITE_TRANSIENT);
    if (error) sqlite3_bind_text(q, 2, error, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(q, 2);
    sqlite3_bind_double(q, 3, fedc_now_unix());
    sqlite3_bind_int64(q, 4, id);
    return exec_done(st, q);
}

int store_run_cancel(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE runs SET status='cancelled', finished_at=? WHERE id=? AND "
                               "status IN ('queued','running')");
    if (!q) return -1;
    sqlite3_bind_double(q, 1, fedc_now_unix());
    sqlite3_bind_int64(q, 2, id);
    if (exec_done(st, q) != 0) return -1;
    return sqlite3_changes(st->db) > 0;
}

int store_run_delete(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "DELETE FROM runs WHERE id=? AND status NOT IN ('queued','running')");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    if (exec_done(st, q) != 0) return -1;
    return sqlite3_changes(st->db) > 0 ? 0 : -1;
}

int store_run_set_task(store *st, int64_t id, const char *task_json) {
    sqlite3_stmt *q = prep(st, "UPDATE runs SET task_json=? WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_text(q, 1, task_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, id);
    return exec_done(st, q);
}

int store_run_rollback(store *st, int64_t id, int checkpoint_round) {
    int ok = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_stmt *q = prep(st, "DELETE FROM rounds WHERE run_id=? AND round>?");
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int(q, 2, checkpoint_round);
    }
    ok = ok && exec_done(st, q) == 0;
    q = prep(st, "DELETE FROM round_privacy WHERE run_id=? AND round>?");
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int(q, 2, checkpoint_round);
    }
    ok = ok && exec_done(st, q) == 0;
    q = prep(st, "DELETE FROM participation WHERE run_id=? AND round>?");
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int(q, 2, checkpoint_round);
    }
    ok = ok && exec_done(st, q) == 0;
    q = prep(st, "DELETE FROM fed_eval WHERE run_id=? AND round>?");
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int(q, 2, checkpoint_round);
    }
    ok = ok && exec_done(st, q) == 0;
    /* The run's totals go back to those of its last kept round. */
    q = prep(st, "UPDATE runs SET rounds_done=?1, "
                 "accuracy=(SELECT accuracy FROM rounds WHERE run_id=?2 AND round<=?1 AND evaluated "
                 "ORDER BY round DESC LIMIT 1), "
                 "loss=(SELECT loss FROM rounds WHERE run_id=?2 AND round<=?1 AND evaluated "
                 "ORDER BY round DESC LIMIT 1), "
                 "best_accuracy=(SELECT MAX(accuracy) FROM rounds WHERE run_id=?2 AND round<=?1 AND evaluated), "
                 "bytes_down=COALESCE((SELECT bytes_down_total FROM rounds WHERE run_id=?2 AND round=?1),0), "
                 "bytes_up=COALESCE((SELECT bytes_up_total FROM rounds WHERE run_id=?2 AND round=?1),0) "
                 "WHERE id=?2");
    if (q) {
        sqlite3_bind_int(q, 1, checkpoint_round);
        sqlite3_bind_int64(q, 2, id);
    }
    ok = ok && exec_done(st, q) == 0;
    sqlite3_exec(st->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return ok ? 0 : -1;
}

int store_round_commit(store *st, int64_t run_id, const fedc_round_metrics *m, const store_participant *p, int np,
                       double best_accuracy, int checkpoint_round, fedc_error *err) {
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fedc_fail(err, "run store: %s", sqlite3_errmsg(st->db));
    sqlite3_stmt *q = prep(st, "INSERT OR REPLACE INTO rounds VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    int ok = q != NULL;
    if (q) {
        int k = 1;
        sqlite3_bind_int64(q, k++, run_id);
        sqlite3_bind_int(q, k++, m->round);
        sqlite3_bind_int(q, k++, m->evaluated);
        sqlite3_bind_double(q, k++, m->accuracy);
        sqlite3_bind_double(q, k++, m->loss);
        sqlite3_bind_double(q, k++, m->train_loss);
        sqlite3_bind_int64(q, k++, (sqlite3_int64)m->bytes_down);
        sqlite3_bind_int64(q, k++, (sqlite3_int64)m->bytes_up);
        sqlite3_bind_int64(q, k++, (sqlite3_int64)m->bytes_down_total);
        sqlite3_bind_int64(q, k++, (sqlite3_int64)m->bytes_up_total);
        sqlite3_bind_double(q, k++, m->client_cpu_s);
        sqlite3_bind_double(q, k++, m->server_cpu_s);
        sqlite3_bind_double(q, k++, m->wall_s);
        sqlite3_bind_double(q, k++, m->elapsed_s);
        sqlite3_bind_double(q, k++, m->sim_time_s);
        sqlite3_bind_double(q, k++, m->sim_elapsed_s);
        sqlite3_bind_int(q, k++, m->selected);
        sqlite3_bind_int(q, k++, m->participants);
        sqlite3_bind_int(q, k++, m->dropped);
        sqlite3_bind_int(q, k++, m->rejected);
        ok = exec_done(st, q) == 0;
    }
    if (ok && m->dp) {
        q = prep(st, "INSERT OR REPLACE INTO round_privacy VALUES(?,?,?,?,?)");
        ok = q != NULL;
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
            if (isfinite(m->epsilon)) sqlite3_bind_double(q, 3, m->epsilon);
            else sqlite3_bind_null(q, 3); /* no noise: no finite guarantee */
            sqlite3_bind_double(q, 4, m->delta);
            sqlite3_bind_double(q, 5, m->dp_clip);
            ok = exec_done(st, q) == 0;
        }
    }
    for (int i = 0; ok && i < np; i++) {
        q = prep(st, "INSERT OR REPLACE INTO participation VALUES(?,?,?,?,?,?,?,?,?,?,?)");
        if (!q) {
            ok = 0;
            break;
        }
        sqlite3_bind_int64(q, 1, run_id);
        sqlite3_bind_int(q, 2, m->round);
        sqlite3_bind_int(q, 3, p[i].slot);
        if (p[i].node_id > 0) sqlite3_bind_int64(q, 4, p[i].node_id);
        else sqlite3_bind_null(q, 4);
        sqlite3_bind_text(q, 5, p[i].status, -1, SQLITE_TRANSIENT);
        if (p[i].reason && p[i].reason[0]) sqlite3_bind_text(q, 6, p[i].reason, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 6);
        sqlite3_bind_int64(q, 7, (sqlite3_int64)p[i].bytes_down);
        sqlite3_bind_int64(q, 8, (sqlite3_int64)p[i].bytes_up);
        sqlite3_bind_double(q, 9, p[i].cpu_s);
        sqlite3_bind_double(q, 10, p[i].loss);
        sqlite3_bind_double(q, 11, p[i].n_samples);
        ok = exec_done(st, q) == 0;
    }
    if (ok && m->fed_evaluated) {
        q = prep(st, "INSERT OR REPLACE INTO fed_eval VALUES(?,?,?,?,?,?)");
        ok = q != NULL;
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
            sqlite3_bind_double(q, 3, m->fed_accuracy);
            sqlite3_bind_double(q, 4, m->fed_loss);
            sqlite3_bind_double(q, 5, m->fed_examples);
            sqlite3_bind_int(q, 6, m->fed_reports);
            ok = exec_done(st, q) == 0;
        }
    }
    if (ok) {
        q = prep(st, "UPDATE runs SET rounds_done=?1, accuracy=CASE WHEN ?2 THEN ?3 ELSE accuracy END, "
                     "loss=CASE WHEN ?2 THEN ?4 ELSE loss END, best_accuracy=?5, bytes_down=?6, bytes_up=?7, "
                     "elapsed_s=?8, checkpoint_round=CASE WHEN ?9 >= 0 THEN ?9 ELSE checkpoint_round END "
                     "WHERE id=?10");
        ok = q != NULL;
        if (q) {
            sqlite3_bind_int(q, 1, m->round);
            sqlite3_bind_int(q, 2, m->evaluated);
            sqlite3_bind_double(q, 3, m->accuracy);
            sqlite3_bind_double(q, 4, m->loss);
            sqlite3_bind_double(q, 5, best_accuracy);
            sqlite3_bind_int64(q, 6, (sqlite3_int64)m->bytes_down_total);
            sqlite3_bind_int64(q, 7, (sqlite3_int64)m->bytes_up_total);
            sqlite3_bind_double(q, 8, m->elapsed_s);
            sqlite3_bind_int(q, 9, checkpoint_round);
            sqlite3_bind_int64(q, 10, run_id);
            ok = exec_done(st, q) == 0;
        }
    }
    if (!ok) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return fedc_fail(err, "run store: cannot record round %d: %s", m->round, sqlite3_errmsg(st->db));
    }
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return fedc_fail(err, "run store: cannot commit round %d: %s", m->round, sqlite3_errmsg(st->db));
    }
    return 0;
}

/* ---- rounds ---- */

static void round_from_row(sqlite3_stmt *q, fedc_round_metrics *m) {
    memset(m, 0, sizeof *m);
    int k = 0;
    m->round = sqlite3_column_int(q, k++);
    m->evaluated = sqlite3_column_int(q, k++);
    m->accuracy = sqlite3_column_double(q, k++);
    m->loss = sqlite3_column_double(q, k++);
    m->train_loss = sqlite3_column_double(q, k++);
    m->bytes_down = (uint64_t)sqlite3_column_int64(q, k++);
    m->bytes_up = (uint64_t)sqlite3_column_int64(q, k++);
    m->bytes_down_total = (uint64_t)sqlite3_column_int64(q, k++);
    m->bytes_up_total = (uint64_t)sqlite3_column_int64(q, k++);
    m->client_cpu_s = sqlite3_column_double(q, k++);
    m->server_cpu_s = sqlite3_column_double(q, k++);
    m->wall_s = sqlite3_column_double(q, k++);
    m->elapsed_s = sqlite3_column_double(q, k++);
    m->sim_time_s = sqlite3_column_double(q, k++);
    m->sim_elapsed_s = sqlite3_column_double(q, k++);
    m->selected = sqlite3_column_int(q, k++);
    m->participants = sqlite3_column_int(q, k++);
    m->dropped = sqlite3_column_int(q, k++);
    m->rejected = sqlite3_column_int(q, k++);
    /* round_privacy, joined: NULL delta = not a DP run. */
    if (sqlite3_column_type(q, k + 1) != SQLITE_NULL) {
        m->dp = 1;
        m->epsilon = sqlite3_column_type(q, k) == SQLITE_NULL ? INFINITY : sqlite3_column_double(q, k);
        m->delta = sqlite3_column_double(q, k + 1);
        m->dp_clip = sqlite3_column_double(q, k + 2);
    }
}

#define ROUND_COLS                                                                                                \
    "round,evaluated,accuracy,loss,train_loss,bytes_down,bytes_up,bytes_down_total,bytes_up_total,client_cpu_s," \
    "server_cpu_s,wall_s,elapsed_s,sim_time_s,sim_elapsed_s,selected,participants,dropped,rejected," \
    "rp.epsilon,rp.delta,rp.clip"
#define ROUND_FROM " FROM rounds LEFT JOIN round_privacy rp USING(run_id,round)"

/* The round's federated evaluation, if it had one. */
static void fed_from_store(store *st, int64_t run_id, fedc_round_metrics *m) {
    sqlite3_stmt *q = prep(st, "SELECT accuracy,loss,examples,reports FROM fed_eval WHERE run_id=? AND round=?");
    if (!q) return;
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, m->round);
    if (sqlite3_step(q) == SQLITE_ROW) {
        m->fed_evaluated = 1;
        m->fed_accuracy = sqlite3_column_double(q, 0);
        m->fed_loss = sqlite3_column_double(q, 1);
        m->fed_examples = sqlite3_column_double(q, 2);
        m->fed_reports = sqlite3_column_int(q, 3);
    }
    sqlite3_finalize(q);
}

json_t *store_round_json_one(const fedc_round_metrics *m) {
    json_t *o = json_pack("{s:i,s:b,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:i,s:i}", "round",
                     m->round, "evaluated", m->evaluated, "accuracy", m->accuracy, "loss", m->loss, "train_loss",
                     m->train_loss, "bytes_down", (json_int_t)m->bytes_down, "bytes_up", (json_int_t)m->bytes_up,
                     "bytes_down_total", (json_int_t)m->bytes_down_total, "bytes_up_total",
                     (json_int_t)m->bytes_up_total, "client_cpu_s", m->client_cpu_s, "server_cpu_s", m->server_cpu_s,
                     "wall_s", m->wall_s, "elapsed_s", m->elapsed_s, "sim_time_s", m->sim_time_s, "sim_elapsed_s",
                     m->sim_elapsed_s, "selected", m->selected, "participants", m->participants, "dropped",
                     m->dropped, "rejected", m->rejected);
    if (o && m->dp) {
        /* epsilon is null when the run adds no noise (no finite guarantee). */
        json_object_set_new(o, "epsilon", isfinite(m->epsilon) ? json_real(m->epsilon) : json_null());
        json_object_set_new(o, "delta", json_real(m->delta));
        json_object_set_new(o, "dp_clip", json_real(m->dp_clip));
    }
    if (o && m->fed_evaluated) {
        json_object_set_new(o, "fed_accuracy", json_real(m->fed_accuracy));
        json_object_set_new(o, "fed_loss", json_real(m->fed_loss));
        json_object_set_new(o, "fed_examples", json_real(m->fed_examples));
        json_object_set_new(o, "fed_reports", json_integer(m->fed_reports));
    }
    return o;
}

json_t *store_rounds_json(store *st, int64_t run_id, int since) {
    sqlite3_stmt *q = prep(st, "SELECT " ROUND_COLS ROUND_FROM " WHERE run_id=? AND round>? ORDER BY round");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, since);
    json_t *a = json_array();
    while (sqlite3_step(q) == SQLITE_ROW) {
        fedc_round_metrics m;
        round_from_row(q, &m);
        fed_from_store(st, run_id, &m);
        json_array_append_new(a, store_round_json_one(&m));
    }
    sqlite3_finalize(q);
    return a;
}

int store_metrics_export(store *st, int64_t run_id, int csv, fedc_buf *out) {
    sqlite3_stmt *q = prep(st, "SELECT " ROUND_COLS ROUND_FROM " WHERE run_id=? ORDER BY round");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, run_id);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        sqlite3_finalize(q);
        return -1;
    }
    if (csv) fedc_metrics_write_csv_header(f);
    while (sqlite3_step(q) == SQLITE_ROW) {
        fedc_round_metrics m;
        round_from_row(q, &m);
        fed_from_store(st, run_id, &m);
        if (csv) fedc_metrics_write_csv(f, &m);
        else fedc_metrics_write_jsonl(f, &m);
    }
    sqlite3_finalize(q);
    fclose(f);
    int rc = fedc_buf_append(out, text, len);
    free(text);
    return rc;
}

json_t *store_participation_json(store *st, int64_t run_id, int round) {
    sqlite3_stmt *q = prep(st, round > 0
                                   ? "SELECT p.round,p.node_id,n.name,p.slot,p.status,p.reason,p.bytes_down,p.bytes_up,"
                                     "p.cpu_s,p.loss,p.n_samples FROM participation p LEFT JOIN nodes n ON "
                                     "n.id=p.node_id WHERE p.run_id=? AND p.round=? ORDER BY p.round,p.slot"
                                   : "SELECT p.round,p.node_id,n.name,p.slot,p.status,p.reason,p.bytes_down,p.bytes_up,"
                                     "p.cpu_s,p.loss,p.n_samples FROM participation p LEFT JOIN nodes n ON "
                                     "n.id=p.node_id WHERE p.run_id=? AND ?=0 ORDER BY p.round,p.slot");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, round);
    json_t *a = json_array();
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "round", json_integer(sqlite3_column_int(q, 0)));
        json_object_set_new(o, "node", sqlite3_column_type(q, 1) == SQLITE_NULL ? json_null()
                                                                               : json_integer(sqlite3_column_int64(q, 1)));
        json_object_set_new(o, "node_name", col_text_or_null(q, 2));
        json_object_set_new(o, "slot", json_integer(sqlite3_column_int(q, 3)));
        json_object_set_new(o, "status", col_text_or_null(q, 4));
        json_object_set_new(o, "reason", col_text_or_null(q, 5));
        json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 6)));
        json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 7)));
        json_object_set_new(o, "cpu_s", json_real(sqlite3_column_double(q, 8)));
        json_object_set_new(o, "loss", json_real(sqlite3_column_double(q, 9)));
        json_object_set_new(o, "n_samples", json_real(sqlite3_column_double(q, 10)));
        json_array_append_new(a, o);
    }
    sqlite3_finalize(q);
    return a;
}

json_t *store_run_nodes_json(store *st, int64_t run_id) {
    sqlite3_stmt *q = prep(st, "SELECT p.node_id, n.name, MAX(p.slot), COUNT(*), SUM(p.status='ok'), "
                               "SUM(p.status='dropped'), SUM(p.status='rejected'), SUM(p.bytes_down), SUM(p.bytes_up), "
                               "SUM(p.cpu_s) FROM participation p LEFT JOIN nodes n ON n.id=p.node_id "
                               "WHERE p.run_id=? AND p.node_id IS NOT NULL GROUP BY p.node_id ORDER BY p.node_id");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, run_id);
    json_t *a = json_array();
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "node", json_integer(sqlite3_column_int64(q, 0)));
        json_object_set_new(o, "node_name", col_text_or_null(q, 1));
        json_object_set_new(o, "slot", json_integer(sqlite3_column_int(q, 2)));
        json_object_set_new(o, "rounds", json_integer(sqlite3_column_int(q, 3)));
        json_object_set_new(o, "ok", json_integer(sqlite3_column_int(q, 4)));
        json_object_set_new(o, "dropped", json_integer(sqlite3_column_int(q, 5)));
        json_object_set_new(o, "rejected", json_integer(sqlite3_column_int(q, 6)));
        json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 7)));
        json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 8)));
        json_object_set_new(o, "cpu_s", json_real(sqlite3_column_double(q, 9)));
        json_array_append_new(a, o);
    }
    sqlite3_finalize(q);
    return a;
}

/* ---- nodes ---- */

int store_node_upsert(store *st, int64_t id, const char *name, const char *address, const char *resources_json) {
    sqlite3_stmt *q = prep(st, "INSERT INTO nodes(id,name,created_at,last_seen,address,resources) VALUES(?1,?2,?3,"
                               "CASE WHEN ?4 IS NULL THEN NULL ELSE ?3 END,?4,?5) ON CONFLICT(id) DO UPDATE SET "
                               "name=?2, last_seen=CASE WHEN ?4 IS NULL THEN last_seen ELSE ?3 END, "
                               "address=COALESCE(?4,address), resources=COALESCE(?5,resources)");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 3, fedc_now_unix());
    if (address) sqlite3_bind_text(q, 4, address, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(q, 4);
    if (resources_json) sqlite3_bind_text(q, 5, resources_json, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(q, 5);
    return exec_done(st, q);
}

int store_node_seen(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE nodes SET last_seen=? WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_double(q, 1, fedc_now_unix());
    sqlite3_bind_int64(q, 2, id);
    return exec_done(st, q);
}

int store_node_flag(store *st, int64_t id, const char *reason) {
    sqlite3_stmt *q = prep(st, "UPDATE nodes SET flags=flags+1, flag_reason=? WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_text(q, 1, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, id);
    return exec_done(st, q);
}

int store_node_revoked(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE nodes SET revoked=1 WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    return exec_done(st, q);
}

json_t *store_nodes_json(store *st, int64_t only_id) {
    sqlite3_stmt *q = prep(st, "SELECT n.id,n.name,n.created_at,n.last_seen,n.address,n.resources,n.flags,"
                               "n.flag_reason,n.revoked,(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id),"
                               "(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id AND p.status='ok'),"
                               "(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id AND p.status='dropped'),"
                               "(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id AND p.status='rejected'),"
                               "(SELECT COALESCE(SUM(bytes_down),0) FROM participation p WHERE p.node_id=n.id),"
                               "(SELECT COALESCE(SUM(bytes_up),0) FROM participation p WHERE p.node_id=n.id),"
                               "(SELECT COALESCE(SUM(cpu_s),0) FROM participation p WHERE p.node_id=n.id) "
                               "FROM nodes n WHERE ?=0 OR n.id=?1 ORDER BY n.id");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, only_id);
    json_t *a = json_array();
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqlite3_column_int64(q, 0)));
        json_object_set_new(o, "name", col_text_or_null(q, 1));
        json_object_set_new(o, "status", json_string(sqlite3_column_int(q, 8) ? "revoked" : "offline"));
        json_object_set_new(o, "created_at", col_real_or_null(q, 2));
        json_object_set_new(o, "last_seen", col_real_or_null(q, 3));
        json_object_set_new(o, "address", col_text_or_null(q, 4));
        const char *res = (const char *)sqlite3_column_text(q, 5);
        json_t *r = res ? json_loads(res, 0, NULL) : NULL;
        json_object_set_new(o, "resources", r ? r : json_null());
        json_object_set_new(o, "run", json_null());
        json_object_set_new(o, "rounds", json_integer(sqlite3_column_int(q, 9)));
        json_object_set_new(o, "updates", json_integer(sqlite3_column_int(q, 10)));
        json_object_set_new(o, "dropped", json_integer(sqlite3_column_int(q, 11)));
        json_object_set_new(o, "rejected", json_integer(sqlite3_column_int(q, 12)));
        json_object_set_new(o, "flagged", json_boolean(sqlite3_column_int(q, 6) > 0));
        json_object_set_new(o, "flag_reason", col_text_or_null(q, 7));
        json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 13)));
        json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 14)));
        json_object_set_new(o, "cpu_s", json_real(sqlite3_column_double(q, 15)));
        json_array_append_new(a, o);
    }
    sqlite3_finalize(q);
    return a;
}
