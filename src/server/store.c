/* The run store: SQLite in WAL mode, so the HTTP side reads while the
 * runner writes. Tables: runs, rounds, participation (per node and round),
 * nodes (the registry). Every completed round is committed in one
 * transaction with the run's totals and its checkpoint round, so after a
 * crash the store and the checkpoint files agree on what was done.
 *
 * Rows of runs, rounds, round_privacy, fed_eval, participation and nodes carry a checksum of their values
 * (the SQL function fedc_crc, store_check.c) written with every change and
 * checked on every read: a damaged page that SQLite's own structure checks
 * cannot see (a flipped byte inside a value) is reported, never served. A
 * row is checked before it is changed, so an update never seals damage.
 *
 * A failed statement leaves its cause in the store (store_fault): the
 * runner tells a full disk or a lack of descriptors (pause and retry) from
 * damage. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
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
    " elapsed_s REAL NOT NULL DEFAULT 0, error TEXT, notice TEXT, crc INTEGER);"
    "CREATE TABLE IF NOT EXISTS rounds("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " evaluated INTEGER, accuracy REAL, loss REAL, train_loss REAL, bytes_down INTEGER, bytes_up INTEGER,"
    " bytes_down_total INTEGER, bytes_up_total INTEGER, client_cpu_s REAL, server_cpu_s REAL, wall_s REAL,"
    " elapsed_s REAL, sim_time_s REAL, sim_elapsed_s REAL, selected INTEGER, participants INTEGER,"
    " dropped INTEGER, rejected INTEGER, crc INTEGER, PRIMARY KEY(run_id, round));"
    /* The privacy guarantee of each round of a DP run, beside the round. */
    "CREATE TABLE IF NOT EXISTS round_privacy("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " epsilon REAL, delta REAL, clip REAL, crc INTEGER, PRIMARY KEY(run_id, round));"
    /* Per-client evaluation of a round (partition.test_fraction), beside the
     * round: its own table, so stores of earlier versions gain it as is. */
    "CREATE TABLE IF NOT EXISTS round_clients("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " clients INTEGER, own INTEGER, acc_mean REAL, acc_p10 REAL, acc_min REAL, global_mean REAL,"
    " global_p10 REAL, global_min REAL, PRIMARY KEY(run_id, round));"
    "CREATE TABLE IF NOT EXISTS participation("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " slot INTEGER NOT NULL, node_id INTEGER, status TEXT NOT NULL, reason TEXT, bytes_down INTEGER,"
    " bytes_up INTEGER, cpu_s REAL, loss REAL, n_samples REAL, crc INTEGER, PRIMARY KEY(run_id, round, slot));"
    "CREATE INDEX IF NOT EXISTS participation_node ON participation(node_id);"
    /* A person's tags (a JSON array) and notes on a run. */
    "CREATE TABLE IF NOT EXISTS run_notes("
    " run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE, tags TEXT NOT NULL,"
    " notes TEXT NOT NULL, crc INTEGER);"
    /* The run's event log; seq 0 counts the events beyond STORE_EVENTS_MAX. */
    "CREATE TABLE IF NOT EXISTS run_events("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, seq INTEGER NOT NULL, at REAL NOT NULL,"
    " level TEXT NOT NULL, message TEXT NOT NULL, crc INTEGER, PRIMARY KEY(run_id, seq));"
    /* Federated evaluation of a round (its own table: stores of earlier
     * versions gain it without touching rounds). */
    "CREATE TABLE IF NOT EXISTS fed_eval("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " accuracy REAL, loss REAL, examples REAL, reports INTEGER, crc INTEGER, PRIMARY KEY(run_id, round));"
    /* Asynchronous runs: each round's version figures and the tickets its
     * checkpoint keeps in the buffer; every node update a round finished,
     * one row per ticket (a ticket counted twice could not be inserted). */
    "CREATE TABLE IF NOT EXISTS round_async("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL,"
    " in_flight INTEGER, staleness_mean REAL, staleness_max INTEGER, staleness_hist TEXT, buffered TEXT,"
    " PRIMARY KEY(run_id, round));"
    /* Decentralised rounds (every node keeps its own model): the consensus
     * distance, the bytes per node and the nodes' accuracies (node_accuracy,
     * a JSON array, one per node). Its own table, so stores of earlier
     * versions gain it as they open, without touching rounds. */
    "CREATE TABLE IF NOT EXISTS round_decentral("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, round INTEGER NOT NULL, nodes INTEGER,"
    " consensus_distance REAL, bytes_per_node REAL, avg_model_accuracy REAL, avg_model_loss REAL,"
    " node_accuracy_min REAL, node_accuracy_max REAL, node_accuracy TEXT, crc INTEGER, PRIMARY KEY(run_id, round));"
    "CREATE TABLE IF NOT EXISTS async_updates("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, ticket INTEGER NOT NULL, round INTEGER NOT NULL,"
    " slot INTEGER NOT NULL, node_id INTEGER, status TEXT NOT NULL, reason TEXT, version INTEGER, staleness INTEGER,"
    " stale_weight REAL, n_samples REAL, loss REAL, cpu_s REAL, bytes_up INTEGER, PRIMARY KEY(run_id, ticket));"
    "CREATE TABLE IF NOT EXISTS nodes("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL, last_seen REAL, address TEXT,"
    " resources TEXT, flags INTEGER NOT NULL DEFAULT 0, flag_reason TEXT, revoked INTEGER NOT NULL DEFAULT 0,"
    " crc INTEGER);";

double fedc_now_unix(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- errors and damage ---------------------------------------------------- */

/* Keeps the cause of the last failure before anything (a ROLLBACK) can
 * replace SQLite's message with its own. */
static void note_failure(store *st) {
    if (!st->db) return;
    st->fail_code = sqlite3_extended_errcode(st->db);
    st->fail_errno = sqlite3_system_errno(st->db);
    snprintf(st->fail_msg, sizeof st->fail_msg, "%s", sqlite3_errmsg(st->db));
    int primary = st->fail_code & 0xff;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
        store_mark_damaged(st, "SQLite reports \"%s\"", st->fail_msg);
}

void store_mark_damaged(store *st, const char *fmt, ...) {
    if (st->damage[0]) return; /* the first finding names the problem */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->damage, sizeof st->damage, fmt, ap);
    va_end(ap);
    for (char *c = st->damage; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) *c = '?';
    FEDC_ERROR("run store %s is damaged: %s", st->path, st->damage);
}

storage_fault store_fault(const store *st) {
    if (st->damage[0]) return SF_DAMAGED;
    int primary = st->fail_code & 0xff;
    if (primary == SQLITE_FULL) return SF_FULL;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return SF_DAMAGED;
    if (st->fail_errno) return storage_fault_of_errno(st->fail_errno);
    if (primary == SQLITE_CANTOPEN) return SF_FDS; /* SQLite could not open its journal or WAL index */
    return SF_IO;
}

const char *store_fail_msg(const store *st) { return st->damage[0] ? st->damage : st->fail_msg; }

/* ---- opening, the schema and its upgrades ------------------------------- */

static int has_column(store *st, const char *table, const char *column) {
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) return 0;
    int found = 0;
    while (!found && sqlite3_step(q) == SQLITE_ROW)
        found = !strcmp((const char *)sqlite3_column_text(q, 1), column);
    sqlite3_finalize(q);
    return found;
}

/* Stores created before checksums and notices gain the columns; their rows
 * are sealed as they are (nothing older can vouch for them). */
static int upgrade_schema(store *st, fedc_error *err) {
    static const char *const adds[][3] = {
        {"runs", "notice", "ALTER TABLE runs ADD COLUMN notice TEXT"},
        {"runs", "crc", "ALTER TABLE runs ADD COLUMN crc INTEGER"},
        {"rounds", "crc", "ALTER TABLE rounds ADD COLUMN crc INTEGER"},
        {"participation", "crc", "ALTER TABLE participation ADD COLUMN crc INTEGER"},
        {"nodes", "crc", "ALTER TABLE nodes ADD COLUMN crc INTEGER"},
        {"round_privacy", "crc", "ALTER TABLE round_privacy ADD COLUMN crc INTEGER"},
        {"fed_eval", "crc", "ALTER TABLE fed_eval ADD COLUMN crc INTEGER"},
    };
    int added = 0;
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) {
        if (has_column(st, adds[i][0], adds[i][1])) continue;
        added++;
        char *msg = NULL;
        if (sqlite3_exec(st->db, adds[i][2], NULL, NULL, &msg) != SQLITE_OK && !has_column(st, adds[i][0], adds[i][1])) {
            fedc_fail(err, "cannot upgrade the run store %s (%s): %s", st->path, adds[i][2], msg ? msg : "?");
            sqlite3_free(msg);
            return -1;
        }
        sqlite3_free(msg);
    }
    if (!added) return 0;
    char *msg = NULL;
    if (sqlite3_exec(st->db,
                     "UPDATE runs SET crc=fedc_crc(" STORE_RUN_CRC_COLS ") WHERE crc IS NULL;"
                     "UPDATE rounds SET crc=fedc_crc(" STORE_ROUND_CRC_COLS ") WHERE crc IS NULL;"
                     "UPDATE participation SET crc=fedc_crc(" STORE_PART_CRC_COLS ") WHERE crc IS NULL;"
                     "UPDATE nodes SET crc=fedc_crc(" STORE_NODE_CRC_COLS ") WHERE crc IS NULL;"
                     "UPDATE round_privacy SET crc=fedc_crc(" STORE_PRIV_CRC_COLS ") WHERE crc IS NULL;"
                     "UPDATE fed_eval SET crc=fedc_crc(" STORE_FED_CRC_COLS ") WHERE crc IS NULL;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        fedc_fail(err, "cannot seal the rows of the run store %s: %s", st->path, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
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
    sqlite3_extended_result_codes(st->db, 1);
    if (store_register_crc(st->db) != 0) {
        fedc_fail(err, "cannot set up the run store %s: %s", path, sqlite3_errmsg(st->db));
        store_close(st);
        return -1;
    }
    char *msg = NULL;
    if (sqlite3_exec(st->db, k_schema, NULL, NULL, &msg) != SQLITE_OK) {
        fedc_fail(err, "cannot set up the run store %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        store_close(st);
        return -1;
    }
    if (upgrade_schema(st, err) != 0) {
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
        note_failure(st);
        FEDC_ERROR("run store %s: %s (in: %.60s...)", st->path, sqlite3_errmsg(st->db), sql);
        return NULL;
    }
    return q;
}

/* Runs a statement with no result rows; 0 on success. */
static int exec_done(store *st, sqlite3_stmt *q) {
    if (!q) return -1;
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE) {
        note_failure(st);
        FEDC_ERROR("run store %s: %s", st->path, sqlite3_errmsg(st->db));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* After a loop of sqlite3_step: 0 if the rows ended normally. */
static int rows_end(store *st, sqlite3_stmt *q, int rc) {
    if (rc == SQLITE_DONE) return 0;
    note_failure(st);
    FEDC_ERROR("run store %s: reading failed: %s", st->path, st->fail_msg);
    sqlite3_finalize(q);
    return -1;
}

static int begin(store *st) {
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) return 0;
    note_failure(st);
    return -1;
}

/* COMMIT, or ROLLBACK of what is still open; the first failure's cause is kept. */
static int end_tx(store *st, int ok) {
    if (ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return 0;
    if (ok) note_failure(st);
    /* A failed COMMIT (disk full) may have rolled back already. */
    if (!sqlite3_get_autocommit(st->db)) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* ---- runs ------------------------------------------------------------------ */

/* -1 if the row of run id exists and fails its checksum (damage recorded). */
static int run_verify(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "SELECT crc IS fedc_crc(" STORE_RUN_CRC_COLS ") FROM runs WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q), ok = 1;
    if (rc == SQLITE_ROW) ok = sqlite3_column_int(q, 0);
    else if (rows_end(st, q, rc) != 0) return -1;
    sqlite3_finalize(q);
    if (!ok) store_mark_damaged(st, "the row of run %lld fails its checksum", (long long)id);
    return ok ? 0 : -1;
}

static int run_seal(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE runs SET crc=fedc_crc(" STORE_RUN_CRC_COLS ") WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    return exec_done(st, q);
}

/* One change of a run's row: checked before, sealed after, in one
 * transaction. q is prepared and bound (finalized here). Returns the rows
 * changed, or -1. */
static int run_change(store *st, int64_t id, sqlite3_stmt *q) {
    if (!q) return -1;
    if (begin(st) != 0) {
        sqlite3_finalize(q);
        return -1;
    }
    int ok = run_verify(st, id) == 0;
    if (ok) ok = exec_done(st, q) == 0;
    else sqlite3_finalize(q);
    int changed = ok ? sqlite3_changes(st->db) : 0;
    if (ok && changed) ok = run_seal(st, id) == 0;
    return end_tx(st, ok) == 0 ? changed : -1;
}

int store_run_create(store *st, const char *name, const char *task_json, int rounds_total, int64_t *id,
                     fedc_error *err) {
    if (begin(st) != 0) return fedc_fail(err, "run store: %s", st->fail_msg);
    sqlite3_stmt *q = prep(st, "INSERT INTO runs(name,status,task_json,created_at,rounds_total) VALUES(?,?,?,?,?)");
    int ok = q != NULL;
    if (q) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 2, "queued", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, task_json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(q, 4, fedc_now_unix());
        sqlite3_bind_int(q, 5, rounds_total);
        ok = exec_done(st, q) == 0;
    }
    if (ok) {
        *id = sqlite3_last_insert_rowid(st->db);
        ok = run_seal(st, *id) == 0;
    }
    if (end_tx(st, ok) != 0) return fedc_fail(err, "run store: cannot record the run: %s", st->fail_msg);
    return 0;
}

static json_t *col_real_or_null(sqlite3_stmt *q, int c) {
    if (sqlite3_column_type(q, c) == SQLITE_NULL) return json_null();
    double v = sqlite3_column_double(q, c);
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *col_text_or_null(sqlite3_stmt *q, int c) {
    return sqlite3_column_type(q, c) == SQLITE_NULL ? json_null()
                                                    : json_string((const char *)sqlite3_column_text(q, c));
}

/* A number, or null when it is not finite (JSON has no NaN or Inf). */
static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

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
    "bytes_down,bytes_up,elapsed_s,error,task_json,checkpoint_round,notice,"                                     \
    "crc IS fedc_crc(" STORE_RUN_CRC_COLS ")"

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
    json_object_set_new(o, "elapsed_s", col_real_or_null(q, 13));
    json_object_set_new(o, "error", col_text_or_null(q, 14));
    json_object_set_new(o, "notice", col_text_or_null(q, 17));
    json_object_set_new(o, "summary", task_summary(task_json ? task_json : "{}"));
    if (with_task) {
        json_t *t = json_loads(task_json ? task_json : "{}", 0, NULL);
        json_object_set_new(o, "task", t ? t : json_object());
        json_object_set_new(o, "checkpoint_round", json_integer(sqlite3_column_int(q, 16)));
    }
    return o;
}

/* The row's checksum column (last of RUN_COLS) holds. */
static int run_row_sound(store *st, sqlite3_stmt *q) {
    if (sqlite3_column_int(q, 18)) return 1;
    store_mark_damaged(st, "the row of run %lld fails its checksum", (long long)sqlite3_column_int64(q, 0));
    return 0;
}

/* Adds "tags" and "notes" (run_notes) to a run object; 0, or -1 when the
 * store fails or the row is damaged. */
static int add_notes(store *st, json_t *run) {
    sqlite3_stmt *q = prep(st, "SELECT tags, notes, crc IS fedc_crc(" STORE_NOTES_CRC_COLS ") FROM run_notes WHERE run_id=?");
    if (!q) return -1;
    int64_t id = json_integer_value(json_object_get(run, "id"));
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    json_t *tags = NULL;
    const char *notes = "";
    if (rc == SQLITE_ROW) {
        if (!sqlite3_column_int(q, 2)) {
            store_mark_damaged(st, "the notes of run %lld fail their checksum", (long long)id);
            sqlite3_finalize(q);
            return -1;
        }
        tags = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL);
        notes = (const char *)sqlite3_column_text(q, 1);
    } else if (rc != SQLITE_DONE) {
        note_failure(st);
        sqlite3_finalize(q);
        return -1;
    }
    json_object_set_new(run, "tags", json_is_array(tags) ? tags : (json_decref(tags), json_array()));
    json_object_set_new(run, "notes", json_string(notes ? notes : ""));
    sqlite3_finalize(q);
    return 0;
}

int store_run_notes_set(store *st, int64_t run_id, const json_t *tags, const char *notes) {
    char *tags_text = tags ? json_dumps(tags, JSON_COMPACT) : NULL;
    if (tags && !tags_text) return -1;
    sqlite3_stmt *q = prep(st, "INSERT INTO run_notes(run_id, tags, notes) VALUES(?1, coalesce(?2, '[]'), coalesce(?3, '')) "
                               "ON CONFLICT(run_id) DO UPDATE SET tags=coalesce(?2, tags), notes=coalesce(?3, notes)");
    if (!q) {
        free(tags_text);
        return -1;
    }
    sqlite3_bind_int64(q, 1, run_id);
    if (tags_text) sqlite3_bind_text(q, 2, tags_text, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(q, 2);
    if (notes) sqlite3_bind_text(q, 3, notes, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(q, 3);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    free(tags_text);
    if (rc != SQLITE_DONE) {
        note_failure(st);
        return -1;
    }
    q = prep(st, "UPDATE run_notes SET crc=fedc_crc(" STORE_NOTES_CRC_COLS ") WHERE run_id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, run_id);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        note_failure(st);
        return -1;
    }
    return 0;
}

json_t *store_run_json(store *st, int64_t id, int with_task) {
    sqlite3_stmt *q = prep(st, "SELECT " RUN_COLS " FROM runs WHERE id=?");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    json_t *o = NULL;
    if (rc == SQLITE_ROW) {
        if (run_row_sound(st, q)) o = run_row(q, with_task);
    } else if (rows_end(st, q, rc) != 0) {
        return NULL;
    }
    sqlite3_finalize(q);
    if (o && add_notes(st, o) != 0) {
        json_decref(o);
        return NULL;
    }
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
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!run_row_sound(st, q)) {
            sqlite3_finalize(q);
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, run_row(q, 0));
    }
    if (rows_end(st, q, rc) != 0) {
        json_decref(a);
        return NULL;
    }
    sqlite3_finalize(q);
    q = prep(st, status ? "SELECT COUNT(*) FROM runs WHERE status=?" : "SELECT COUNT(*) FROM runs");
    *total = 0;
    if (!q) {
        json_decref(a);
        return NULL;
    }
    if (status) sqlite3_bind_text(q, 1, status, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *total = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) {
        note_failure(st);
        json_decref(a);
        return NULL;
    }
    size_t i;
    json_t *run;
    json_array_foreach(a, i, run) {
        if (add_notes(st, run) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int64_t store_run_next(store *st, const int64_t *skip, int nskip) {
    sqlite3_stmt *q = prep(st, "SELECT id FROM runs WHERE status IN ('running','queued') "
                               "ORDER BY status='running' DESC, id ASC");
    if (!q) return 0;
    int64_t id = 0;
    int rc = SQLITE_DONE;
    while (!id && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        id = sqlite3_column_int64(q, 0);
        for (int i = 0; i < nskip; i++)
            if (skip[i] == id) id = 0;
    }
    if (id || rows_end(st, q, rc) == 0) sqlite3_finalize(q);
    return id;
}

int store_run_start(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE runs SET status='running', error=NULL, started_at=COALESCE(started_at, ?) "
                               "WHERE id=? AND status IN ('queued','running')");
    if (q) {
        sqlite3_bind_double(q, 1, fedc_now_unix());
        sqlite3_bind_int64(q, 2, id);
    }
    int changed = run_change(st, id, q);
    return changed == 1 ? 0 : changed < 0 ? -2 : -1;
}

int store_run_load(store *st, int64_t id, char **task_json, int *checkpoint_round, char status[16]) {
    sqlite3_stmt *q = prep(st, "SELECT task_json, checkpoint_round, status, crc IS fedc_crc(" STORE_RUN_CRC_COLS
                               ") FROM runs WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q), ret = -1;
    if (rc == SQLITE_ROW) {
        if (!sqlite3_column_int(q, 3)) {
            store_mark_damaged(st, "the row of run %lld fails its checksum", (long long)id);
        } else {
            *task_json = strdup((const char *)sqlite3_column_text(q, 0));
            *checkpoint_round = sqlite3_column_int(q, 1);
            snprintf(status, 16, "%s", (const char *)sqlite3_column_text(q, 2));
            ret = *task_json ? 0 : -1;
        }
    } else if (rows_end(st, q, rc) != 0) {
        return -1;
    }
    sqlite3_finalize(q);
    return ret;
}

int store_run_set_status(store *st, int64_t id, const char *status, const char *error) {
    int ended = strcmp(status, "running") != 0 && strcmp(status, "queued") != 0;
    sqlite3_stmt *q = prep(st, ended ? "UPDATE runs SET status=?, error=?, finished_at=? WHERE id=?"
                                     : "UPDATE runs SET status=?, error=?, started_at=COALESCE(started_at, ?) "
                                       "WHERE id=?");
    if (q) {
        sqlite3_bind_text(q, 1, status, -1, SQLITE_TRANSIENT);
        if (error) sqlite3_bind_text(q, 2, error, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 2);
        sqlite3_bind_double(q, 3, fedc_now_unix());
        sqlite3_bind_int64(q, 4, id);
    }
    return run_change(st, id, q) < 0 ? -1 : 0;
}

int store_run_set_error(store *st, int64_t id, const char *error) {
    sqlite3_stmt *q = prep(st, "UPDATE runs SET error=? WHERE id=? AND error IS NOT ?1");
    if (q) {
        if (error) sqlite3_bind_text(q, 1, error, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 1);
        sqlite3_bind_int64(q, 2, id);
    }
    return run_change(st, id, q) < 0 ? -1 : 0;
}

int store_run_set_notice(store *st, int64_t id, const char *notice) {
    sqlite3_stmt *q = prep(st, "UPDATE runs SET notice=? WHERE id=?");
    if (q) {
        if (notice) sqlite3_bind_text(q, 1, notice, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 1);
        sqlite3_bind_int64(q, 2, id);
    }
    return run_change(st, id, q) < 0 ? -1 : 0;
}

int store_run_cancel(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE runs SET status='cancelled', finished_at=? WHERE id=? AND "
                               "status IN ('queued','running')");
    if (q) {
        sqlite3_bind_double(q, 1, fedc_now_unix());
        sqlite3_bind_int64(q, 2, id);
    }
    int changed = run_change(st, id, q);
    return changed < 0 ? -1 : changed > 0;
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
    if (q) {
        sqlite3_bind_text(q, 1, task_json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, id);
    }
    return run_change(st, id, q) > 0 ? 0 : -1;
}

int store_run_rollback(store *st, int64_t id, int checkpoint_round) {
    if (begin(st) != 0) return -1;
    int ok = run_verify(st, id) == 0;
    /* Every per-round table forgets the rounds after the checkpoint. */
    static const char *const per_round[] = {
        "DELETE FROM rounds WHERE run_id=? AND round>?",
        "DELETE FROM round_privacy WHERE run_id=? AND round>?",
        "DELETE FROM round_clients WHERE run_id=? AND round>?",
        "DELETE FROM participation WHERE run_id=? AND round>?",
        "DELETE FROM fed_eval WHERE run_id=? AND round>?",
        "DELETE FROM round_decentral WHERE run_id=? AND round>?",
        "DELETE FROM round_async WHERE run_id=? AND round>?",
        "DELETE FROM async_updates WHERE run_id=? AND round>?",
    };
    sqlite3_stmt *q = NULL;
    for (size_t k = 0; ok && k < sizeof per_round / sizeof *per_round; k++) {
        q = prep(st, per_round[k]);
        if (q) {
            sqlite3_bind_int64(q, 1, id);
            sqlite3_bind_int(q, 2, checkpoint_round);
        }
        ok = exec_done(st, q) == 0;
    }
    /* The run's totals go back to those of its last kept round. */
    q = ok ? prep(st, "UPDATE runs SET rounds_done=?1, "
                      "accuracy=(SELECT accuracy FROM rounds WHERE run_id=?2 AND round<=?1 AND evaluated "
                      "ORDER BY round DESC LIMIT 1), "
                      "loss=(SELECT loss FROM rounds WHERE run_id=?2 AND round<=?1 AND evaluated "
                      "ORDER BY round DESC LIMIT 1), "
                      "best_accuracy=(SELECT MAX(accuracy) FROM rounds WHERE run_id=?2 AND round<=?1 AND evaluated), "
                      "bytes_down=COALESCE((SELECT bytes_down_total FROM rounds WHERE run_id=?2 AND round=?1),0), "
                      "bytes_up=COALESCE((SELECT bytes_up_total FROM rounds WHERE run_id=?2 AND round=?1),0), "
                      "checkpoint_round=MIN(checkpoint_round, ?1) "
                      "WHERE id=?2")
           : NULL;
    if (q) {
        sqlite3_bind_int(q, 1, checkpoint_round);
        sqlite3_bind_int64(q, 2, id);
    }
    ok = ok && exec_done(st, q) == 0;
    ok = ok && run_seal(st, id) == 0;
    return end_tx(st, ok);
}

/* ---- rounds ---------------------------------------------------------------- */

/* A double for a REAL column: NULL when not finite, so every reader sees null. */
static void bind_real(sqlite3_stmt *q, int k, double v) {
    if (isfinite(v)) sqlite3_bind_double(q, k, v);
    else sqlite3_bind_null(q, k);
}

/* An asynchronous round's rows (inside the round's transaction). */
static int async_round_rows(store *st, int64_t run_id, const fedc_round_metrics *m, const store_async_round *a) {
    char hist[160], *buffered = NULL;
    size_t hl = 0;
    hl += (size_t)snprintf(hist + hl, sizeof hist - hl, "[");
    for (int b = 0; b < FEDC_STALENESS_BUCKETS; b++)
        hl += (size_t)snprintf(hist + hl, sizeof hist - hl, "%s%d", b ? "," : "", m->staleness_hist[b]);
    snprintf(hist + hl, sizeof hist - hl, "]");
    size_t cap = 16 + 12 * (size_t)(a ? a->nbuffered : 0), bl = 0;
    if (!(buffered = malloc(cap))) return -1;
    bl += (size_t)snprintf(buffered, cap, "[");
    for (int k = 0; a && k < a->nbuffered; k++)
        bl += (size_t)snprintf(buffered + bl, cap - bl, "%s%d", k ? "," : "", a->buffered[k]);
    snprintf(buffered + bl, cap - bl, "]");
    sqlite3_stmt *q = prep(st, "INSERT OR REPLACE INTO round_async VALUES(?,?,?,?,?,?,?)");
    int ok = q != NULL;
    if (q) {
        sqlite3_bind_int64(q, 1, run_id);
        sqlite3_bind_int(q, 2, m->round);
        sqlite3_bind_int(q, 3, m->in_flight);
        bind_real(q, 4, m->staleness_mean);
        sqlite3_bind_int(q, 5, m->staleness_max);
        sqlite3_bind_text(q, 6, hist, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 7, buffered, -1, SQLITE_TRANSIENT);
        ok = exec_done(st, q) == 0;
    }
    free(buffered);
    /* Plain INSERT: a ticket already recorded would be counted twice. */
    for (int i = 0; ok && a && i < a->n; i++) {
        const store_async_update *u = &a->u[i];
        q = prep(st, "INSERT INTO async_updates(run_id,ticket,round,slot,node_id,status,reason,version,staleness,"
                     "stale_weight,n_samples,loss,cpu_s,bytes_up) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        if (!q) return -1;
        sqlite3_bind_int64(q, 1, run_id);
        sqlite3_bind_int(q, 2, u->ticket);
        sqlite3_bind_int(q, 3, m->round);
        sqlite3_bind_int(q, 4, u->slot);
        if (u->node_id > 0) sqlite3_bind_int64(q, 5, u->node_id);
        else sqlite3_bind_null(q, 5);
        sqlite3_bind_text(q, 6, u->status == 1 ? "aggregated" : u->status == -2 ? "rejected" : "dropped", -1,
                          SQLITE_STATIC);
        if (u->reason && u->reason[0]) sqlite3_bind_text(q, 7, u->reason, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 7);
        sqlite3_bind_int(q, 8, u->version);
        sqlite3_bind_int(q, 9, u->staleness);
        bind_real(q, 10, u->stale_weight);
        bind_real(q, 11, u->n_samples);
        bind_real(q, 12, u->loss);
        bind_real(q, 13, u->cpu_s);
        sqlite3_bind_int64(q, 14, (sqlite3_int64)u->bytes_up);
        ok = exec_done(st, q) == 0;
    }
    return ok ? 0 : -1;
}

/* A decentralised round's row: its consensus distance, bytes per node and,
 * on evaluated rounds, the nodes' accuracies. */
static int decentral_round_row(store *st, int64_t run_id, const fedc_round_metrics *m) {
    char *accs = NULL;
    if (m->evaluated && m->node_accuracy) {
        json_t *a = json_array();
        for (int k = 0; a && k < m->n_nodes; k++) json_array_append_new(a, num_or_null(m->node_accuracy[k]));
        accs = a ? json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(a);
        if (!accs) return -1;
    }
    sqlite3_stmt *q = prep(st, "INSERT OR REPLACE INTO round_decentral(run_id,round,nodes,consensus_distance,"
                               "bytes_per_node,avg_model_accuracy,avg_model_loss,node_accuracy_min,node_accuracy_max,"
                               "node_accuracy) VALUES(?,?,?,?,?,?,?,?,?,?)");
    int ok = q != NULL;
    if (q) {
        int scored = accs != NULL;
        sqlite3_bind_int64(q, 1, run_id);
        sqlite3_bind_int(q, 2, m->round);
        sqlite3_bind_int(q, 3, m->n_nodes);
        bind_real(q, 4, m->consensus_distance);
        bind_real(q, 5, m->bytes_per_node);
        bind_real(q, 6, scored ? m->avg_model_accuracy : NAN);
        bind_real(q, 7, scored ? m->avg_model_loss : NAN);
        bind_real(q, 8, scored ? m->node_accuracy_min : NAN);
        bind_real(q, 9, scored ? m->node_accuracy_max : NAN);
        if (accs) sqlite3_bind_text(q, 10, accs, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 10);
        ok = exec_done(st, q) == 0;
    }
    free(accs);
    if (ok) {
        q = prep(st, "UPDATE round_decentral SET crc=fedc_crc(" STORE_DECENTRAL_CRC_COLS ") WHERE run_id=? AND round=?");
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
        }
        ok = exec_done(st, q) == 0;
    }
    return ok ? 0 : -1;
}

int store_round_commit(store *st, int64_t run_id, const fedc_round_metrics *m, const store_participant *p, int np,
                       double best_accuracy, int checkpoint_round, fedc_error *err) {
    return store_round_commit_async(st, run_id, m, p, np, NULL, best_accuracy, checkpoint_round, err);
}

int store_round_commit_async(store *st, int64_t run_id, const fedc_round_metrics *m, const store_participant *p,
                             int np, const store_async_round *async, double best_accuracy, int checkpoint_round,
                             fedc_error *err) {
    if (begin(st) != 0) return fedc_fail(err, "run store: cannot record round %d: %s", m->round, st->fail_msg);
    int ok = run_verify(st, run_id) == 0;
    sqlite3_stmt *q =
        ok ? prep(st, "INSERT OR REPLACE INTO rounds(run_id,round,evaluated,accuracy,loss,train_loss,bytes_down,"
                      "bytes_up,bytes_down_total,bytes_up_total,client_cpu_s,server_cpu_s,wall_s,elapsed_s,sim_time_s,"
                      "sim_elapsed_s,selected,participants,dropped,rejected) "
                      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
           : NULL;
    ok = q != NULL;
    if (q) {
        int k = 1;
        sqlite3_bind_int64(q, k++, run_id);
        sqlite3_bind_int(q, k++, m->round);
        sqlite3_bind_int(q, k++, m->evaluated);
        bind_real(q, k++, m->accuracy);
        bind_real(q, k++, m->loss);
        bind_real(q, k++, m->train_loss);
        sqlite3_bind_int64(q, k++, (sqlite3_int64)m->bytes_down);
        sqlite3_bind_int64(q, k++, (sqlite3_int64)m->bytes_up);
        sqlite3_bind_int64(q, k++, (sqlite3_int64)m->bytes_down_total);
        sqlite3_bind_int64(q, k++, (sqlite3_int64)m->bytes_up_total);
        bind_real(q, k++, m->client_cpu_s);
        bind_real(q, k++, m->server_cpu_s);
        bind_real(q, k++, m->wall_s);
        bind_real(q, k++, m->elapsed_s);
        bind_real(q, k++, m->sim_time_s);
        bind_real(q, k++, m->sim_elapsed_s);
        sqlite3_bind_int(q, k++, m->selected);
        sqlite3_bind_int(q, k++, m->participants);
        sqlite3_bind_int(q, k++, m->dropped);
        sqlite3_bind_int(q, k++, m->rejected);
        ok = exec_done(st, q) == 0;
    }
    if (ok) {
        q = prep(st, "UPDATE rounds SET crc=fedc_crc(" STORE_ROUND_CRC_COLS ") WHERE run_id=? AND round=?");
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
        }
        ok = exec_done(st, q) == 0;
    }
    if (ok && m->clients_evaluated > 0) {
        q = prep(st, "INSERT OR REPLACE INTO round_clients VALUES(?,?,?,?,?,?,?,?,?,?)");
        ok = q != NULL;
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
            sqlite3_bind_int(q, 3, m->clients_evaluated);
            sqlite3_bind_int(q, 4, m->client_evaluated);
            bind_real(q, 5, m->client_acc_mean);
            bind_real(q, 6, m->client_acc_p10);
            bind_real(q, 7, m->client_acc_min);
            bind_real(q, 8, m->global_client_acc_mean);
            bind_real(q, 9, m->global_client_acc_p10);
            bind_real(q, 10, m->global_client_acc_min);
            ok = exec_done(st, q) == 0;
        }
    }
    if (ok && m->dp) {
        q = prep(st, "INSERT OR REPLACE INTO round_privacy(run_id,round,epsilon,delta,clip) VALUES(?,?,?,?,?)");
        ok = q != NULL;
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
            bind_real(q, 3, m->epsilon); /* no noise: no finite guarantee, NULL */
            sqlite3_bind_double(q, 4, m->delta);
            sqlite3_bind_double(q, 5, m->dp_clip);
            ok = exec_done(st, q) == 0;
        }
        if (ok) {
            q = prep(st, "UPDATE round_privacy SET crc=fedc_crc(" STORE_PRIV_CRC_COLS ") WHERE run_id=? AND round=?");
            if (q) {
                sqlite3_bind_int64(q, 1, run_id);
                sqlite3_bind_int(q, 2, m->round);
            }
            ok = exec_done(st, q) == 0;
        }
    }
    for (int i = 0; ok && i < np; i++) {
        q = prep(st, "INSERT OR REPLACE INTO participation(run_id,round,slot,node_id,status,reason,bytes_down,"
                     "bytes_up,cpu_s,loss,n_samples) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
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
        bind_real(q, 9, p[i].cpu_s);
        bind_real(q, 10, p[i].loss);
        bind_real(q, 11, p[i].n_samples);
        ok = exec_done(st, q) == 0;
    }
    if (ok && np > 0) {
        q = prep(st, "UPDATE participation SET crc=fedc_crc(" STORE_PART_CRC_COLS ") WHERE run_id=? AND round=?");
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
        }
        ok = exec_done(st, q) == 0;
    }
    if (ok && m->fed_evaluated) {
        q = prep(st, "INSERT OR REPLACE INTO fed_eval(run_id,round,accuracy,loss,examples,reports) "
                     "VALUES(?,?,?,?,?,?)");
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
        if (ok) {
            q = prep(st, "UPDATE fed_eval SET crc=fedc_crc(" STORE_FED_CRC_COLS ") WHERE run_id=? AND round=?");
            if (q) {
                sqlite3_bind_int64(q, 1, run_id);
                sqlite3_bind_int(q, 2, m->round);
            }
            ok = exec_done(st, q) == 0;
        }
    }
    if (ok && m->decentral) ok = decentral_round_row(st, run_id, m) == 0;
    if (ok && m->async) ok = async_round_rows(st, run_id, m, async) == 0;
    if (ok) {
        q = prep(st, "UPDATE runs SET rounds_done=?1, accuracy=CASE WHEN ?2 THEN ?3 ELSE accuracy END, "
                     "loss=CASE WHEN ?2 THEN ?4 ELSE loss END, best_accuracy=?5, bytes_down=?6, bytes_up=?7, "
                     "elapsed_s=?8, checkpoint_round=CASE WHEN ?9 >= 0 THEN ?9 ELSE checkpoint_round END "
                     "WHERE id=?10");
        ok = q != NULL;
        if (q) {
            sqlite3_bind_int(q, 1, m->round);
            sqlite3_bind_int(q, 2, m->evaluated);
            bind_real(q, 3, m->accuracy);
            bind_real(q, 4, m->loss);
            bind_real(q, 5, best_accuracy);
            sqlite3_bind_int64(q, 6, (sqlite3_int64)m->bytes_down_total);
            sqlite3_bind_int64(q, 7, (sqlite3_int64)m->bytes_up_total);
            bind_real(q, 8, m->elapsed_s);
            sqlite3_bind_int(q, 9, checkpoint_round);
            sqlite3_bind_int64(q, 10, run_id);
            ok = exec_done(st, q) == 0;
        }
    }
    ok = ok && run_seal(st, run_id) == 0;
    if (end_tx(st, ok) != 0)
        return fedc_fail(err, "run store: cannot record round %d: %s", m->round, store_fail_msg(st));
    return 0;
}

/* A REAL column: NaN when NULL (a non-finite value was stored as NULL). */
static double col_real(sqlite3_stmt *q, int c) {
    return sqlite3_column_type(q, c) == SQLITE_NULL ? NAN : sqlite3_column_double(q, c);
}

/* The round's columns, whether its row (and its privacy row, if any) holds
 * its checksum, then the privacy columns. */
#define ROUND_COLS                                                                                                \
    "round,evaluated,accuracy,loss,train_loss,bytes_down,bytes_up,bytes_down_total,bytes_up_total,client_cpu_s," \
    "server_cpu_s,wall_s,elapsed_s,sim_time_s,sim_elapsed_s,selected,participants,dropped,rejected,"             \
    "rounds.crc IS fedc_crc(rounds.run_id,rounds.round,evaluated,accuracy,loss,train_loss,bytes_down,bytes_up,"   \
    "bytes_down_total,bytes_up_total,client_cpu_s,server_cpu_s,wall_s,elapsed_s,sim_time_s,sim_elapsed_s,"       \
    "selected,participants,dropped,rejected) AND (rp.run_id IS NULL OR rp.crc IS fedc_crc(rp.run_id,rp.round,"   \
    "rp.epsilon,rp.delta,rp.clip)),rp.epsilon,rp.delta,rp.clip"
#define ROUND_FROM " FROM rounds LEFT JOIN round_privacy rp USING(run_id,round)"
#define ROUND_SOUND_COL 19
#define ROUND_PRIV_COL 20

static void round_from_row(sqlite3_stmt *q, fedc_round_metrics *m) {
    memset(m, 0, sizeof *m);
    int k = 0;
    m->round = sqlite3_column_int(q, k++);
    m->evaluated = sqlite3_column_int(q, k++);
    m->accuracy = col_real(q, k++);
    m->loss = col_real(q, k++);
    m->train_loss = col_real(q, k++);
    m->bytes_down = (uint64_t)sqlite3_column_int64(q, k++);
    m->bytes_up = (uint64_t)sqlite3_column_int64(q, k++);
    m->bytes_down_total = (uint64_t)sqlite3_column_int64(q, k++);
    m->bytes_up_total = (uint64_t)sqlite3_column_int64(q, k++);
    m->client_cpu_s = col_real(q, k++);
    m->server_cpu_s = col_real(q, k++);
    m->wall_s = col_real(q, k++);
    m->elapsed_s = col_real(q, k++);
    m->sim_time_s = col_real(q, k++);
    m->sim_elapsed_s = col_real(q, k++);
    m->selected = sqlite3_column_int(q, k++);
    m->participants = sqlite3_column_int(q, k++);
    m->dropped = sqlite3_column_int(q, k++);
    m->rejected = sqlite3_column_int(q, k++);
    /* round_privacy, joined (after the soundness column): NULL delta = not a DP run. */
    k = ROUND_PRIV_COL;
    if (sqlite3_column_type(q, k + 1) != SQLITE_NULL) {
        m->dp = 1;
        m->epsilon = sqlite3_column_type(q, k) == SQLITE_NULL ? INFINITY : sqlite3_column_double(q, k);
        m->delta = sqlite3_column_double(q, k + 1);
        m->dp_clip = sqlite3_column_double(q, k + 2);
    }
}

/* An asynchronous round's version figures, if it was one. */
static void async_from_store(store *st, int64_t run_id, fedc_round_metrics *m) {
    sqlite3_stmt *q =
        prep(st, "SELECT in_flight,staleness_mean,staleness_max,staleness_hist FROM round_async WHERE run_id=? AND round=?");
    if (!q) return;
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, m->round);
    if (sqlite3_step(q) == SQLITE_ROW) {
        m->async = 1;
        m->in_flight = sqlite3_column_int(q, 0);
        m->staleness_mean = col_real(q, 1);
        m->staleness_max = sqlite3_column_int(q, 2);
        const char *h = (const char *)sqlite3_column_text(q, 3);
        json_t *a = h ? json_loads(h, 0, NULL) : NULL;
        for (int b = 0; b < FEDC_STALENESS_BUCKETS && json_is_array(a); b++)
            m->staleness_hist[b] = (int)json_integer_value(json_array_get(a, (size_t)b));
        json_decref(a);
    }
    sqlite3_finalize(q);
}

/* The round's per-client evaluation, if it had one. */
static void clients_from_store(store *st, int64_t run_id, fedc_round_metrics *m) {
    sqlite3_stmt *q = prep(st, "SELECT clients,own,acc_mean,acc_p10,acc_min,global_mean,global_p10,global_min FROM "
                               "round_clients WHERE run_id=? AND round=?");
    if (!q) return;
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, m->round);
    if (sqlite3_step(q) == SQLITE_ROW) {
        m->clients_evaluated = sqlite3_column_int(q, 0);
        m->client_evaluated = sqlite3_column_int(q, 1);
        m->client_acc_mean = col_real(q, 2);
        m->client_acc_p10 = col_real(q, 3);
        m->client_acc_min = col_real(q, 4);
        m->global_client_acc_mean = col_real(q, 5);
        m->global_client_acc_p10 = col_real(q, 6);
        m->global_client_acc_min = col_real(q, 7);
    }
    sqlite3_finalize(q);
}

static int round_row_sound(store *st, sqlite3_stmt *q, int64_t run_id) {
    if (sqlite3_column_int(q, ROUND_SOUND_COL)) return 1;
    store_mark_damaged(st, "the row of round %d of run %lld fails its checksum", sqlite3_column_int(q, 0),
                       (long long)run_id);
    return 0;
}

/* Binds (run_id, round) to q's two parameters and steps to the round's row:
 * 1 with a row whose checksum (column crc_col) holds, the statement still
 * open; otherwise q is finalized and the result is 0 (no row) or -1 (a read
 * error, or a failing checksum: damage recorded, naming `what`). */
static int round_row(store *st, sqlite3_stmt *q, int64_t run_id, int round, int crc_col, const char *what) {
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, round);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        if (rows_end(st, q, rc) != 0) return -1;
        sqlite3_finalize(q);
        return 0;
    }
    if (!sqlite3_column_int(q, crc_col)) {
        sqlite3_finalize(q);
        store_mark_damaged(st, "the %s row of round %d of run %lld fails its checksum", what, round,
                           (long long)run_id);
        return -1;
    }
    return 1;
}

/* The round's federated evaluation, if it had one. -1 if it cannot be
 * read or its row fails its checksum (damage recorded). */
static int fed_from_store(store *st, int64_t run_id, fedc_round_metrics *m) {
    sqlite3_stmt *q = prep(st, "SELECT accuracy,loss,examples,reports,crc IS fedc_crc(" STORE_FED_CRC_COLS
                               ") FROM fed_eval WHERE run_id=? AND round=?");
    if (!q) return -1;
    int rc = round_row(st, q, run_id, m->round, 4, "federated evaluation");
    if (rc <= 0) return rc;
    m->fed_evaluated = 1;
    m->fed_accuracy = sqlite3_column_double(q, 0);
    m->fed_loss = sqlite3_column_double(q, 1);
    m->fed_examples = sqlite3_column_double(q, 2);
    m->fed_reports = sqlite3_column_int(q, 3);
    sqlite3_finalize(q);
    return 0;
}

/* The round's decentralised figures, if it was one; *accs holds the nodes'
 * accuracies m->node_accuracy points to (grown as needed; the caller frees
 * it). -1 if the row cannot be read or fails its checksum (damage
 * recorded). */
static int decentral_from_store(store *st, int64_t run_id, fedc_round_metrics *m, double **accs) {
    sqlite3_stmt *q = prep(st, "SELECT nodes,consensus_distance,bytes_per_node,avg_model_accuracy,avg_model_loss,"
                               "node_accuracy_min,node_accuracy_max,node_accuracy,crc IS fedc_crc(" STORE_DECENTRAL_CRC_COLS
                               ") FROM round_decentral WHERE run_id=? AND round=?");
    if (!q) return -1;
    int rc = round_row(st, q, run_id, m->round, 8, "decentralised");
    if (rc <= 0) return rc;
    m->decentral = 1;
    m->n_nodes = sqlite3_column_int(q, 0);
    m->consensus_distance = col_real(q, 1);
    m->bytes_per_node = col_real(q, 2);
    m->avg_model_accuracy = col_real(q, 3);
    m->avg_model_loss = col_real(q, 4);
    m->node_accuracy_min = col_real(q, 5);
    m->node_accuracy_max = col_real(q, 6);
    const char *text = (const char *)sqlite3_column_text(q, 7);
    json_t *a = text ? json_loads(text, 0, NULL) : NULL;
    if (json_is_array(a) && m->n_nodes > 0 && json_array_size(a) == (size_t)m->n_nodes) {
        double *grown = realloc(*accs, (size_t)m->n_nodes * sizeof *grown);
        if (grown) {
            *accs = grown;
            for (int k = 0; k < m->n_nodes; k++) {
                json_t *v = json_array_get(a, (size_t)k);
                grown[k] = json_is_number(v) ? json_number_value(v) : NAN;
            }
            m->node_accuracy = grown;
        }
    }
    json_decref(a);
    sqlite3_finalize(q);
    return 0;
}

json_t *store_round_json_one(const fedc_round_metrics *m) {
    json_t *o = json_pack("{s:i,s:b,s:I,s:I,s:I,s:I,s:i,s:i,s:i,s:i}", "round", m->round, "evaluated", m->evaluated,
                          "bytes_down", (json_int_t)m->bytes_down, "bytes_up", (json_int_t)m->bytes_up,
                          "bytes_down_total", (json_int_t)m->bytes_down_total, "bytes_up_total",
                          (json_int_t)m->bytes_up_total, "selected", m->selected, "participants", m->participants,
                          "dropped", m->dropped, "rejected", m->rejected);
    if (!o) return NULL;
    json_object_set_new(o, "accuracy", num_or_null(m->accuracy));
    json_object_set_new(o, "loss", num_or_null(m->loss));
    json_object_set_new(o, "train_loss", num_or_null(m->train_loss));
    json_object_set_new(o, "client_cpu_s", num_or_null(m->client_cpu_s));
    json_object_set_new(o, "server_cpu_s", num_or_null(m->server_cpu_s));
    json_object_set_new(o, "wall_s", num_or_null(m->wall_s));
    json_object_set_new(o, "elapsed_s", num_or_null(m->elapsed_s));
    json_object_set_new(o, "sim_time_s", num_or_null(m->sim_time_s));
    json_object_set_new(o, "sim_elapsed_s", num_or_null(m->sim_elapsed_s));
    if (m->dp) {
        /* epsilon is null when the run adds no noise (no finite guarantee). */
        json_object_set_new(o, "epsilon", num_or_null(m->epsilon));
        json_object_set_new(o, "delta", num_or_null(m->delta));
        json_object_set_new(o, "dp_clip", num_or_null(m->dp_clip));
    }
    if (m->clients_evaluated > 0) {
        /* Per-client evaluation: client_acc_* the clients' own models, global_client_acc_* the global one. */
        json_object_set_new(o, "clients_evaluated", json_integer(m->clients_evaluated));
        if (m->client_evaluated) {
            json_object_set_new(o, "client_acc_mean", num_or_null(m->client_acc_mean));
            json_object_set_new(o, "client_acc_p10", num_or_null(m->client_acc_p10));
            json_object_set_new(o, "client_acc_min", num_or_null(m->client_acc_min));
        }
        json_object_set_new(o, "global_client_acc_mean", num_or_null(m->global_client_acc_mean));
        json_object_set_new(o, "global_client_acc_p10", num_or_null(m->global_client_acc_p10));
        json_object_set_new(o, "global_client_acc_min", num_or_null(m->global_client_acc_min));
    }
    if (o && m->async) {
        /* The simulation's metric keys: the round is the version it made. */
        json_t *h = json_array();
        for (int b = 0; b < FEDC_STALENESS_BUCKETS; b++) json_array_append_new(h, json_integer(m->staleness_hist[b]));
        json_object_set_new(o, "version", json_integer(m->round));
        json_object_set_new(o, "in_flight", json_integer(m->in_flight));
        json_object_set_new(o, "staleness_mean", num_or_null(m->staleness_mean));
        json_object_set_new(o, "staleness_max", json_integer(m->staleness_max));
        json_object_set_new(o, "staleness_hist", h);
    }
    if (o && m->fed_evaluated) {
        json_object_set_new(o, "fed_accuracy", json_real(m->fed_accuracy));
        json_object_set_new(o, "fed_loss", json_real(m->fed_loss));
        json_object_set_new(o, "fed_examples", json_real(m->fed_examples));
        json_object_set_new(o, "fed_reports", json_integer(m->fed_reports));
    }
    if (o && m->decentral) {
        /* The simulation's metric keys (every node keeps its own model). */
        json_object_set_new(o, "nodes", json_integer(m->n_nodes));
        json_object_set_new(o, "consensus_distance", num_or_null(m->consensus_distance));
        json_object_set_new(o, "bytes_per_node", num_or_null(m->bytes_per_node));
        if (m->evaluated && m->node_accuracy) {
            json_t *a = json_array();
            for (int k = 0; k < m->n_nodes; k++) json_array_append_new(a, num_or_null(m->node_accuracy[k]));
            json_object_set_new(o, "avg_model_accuracy", num_or_null(m->avg_model_accuracy));
            json_object_set_new(o, "avg_model_loss", num_or_null(m->avg_model_loss));
            json_object_set_new(o, "node_accuracy_min", num_or_null(m->node_accuracy_min));
            json_object_set_new(o, "node_accuracy_max", num_or_null(m->node_accuracy_max));
            json_object_set_new(o, "node_accuracy", a);
        }
    }
    return o;
}

json_t *store_rounds_json(store *st, int64_t run_id, int since) {
    sqlite3_stmt *q = prep(st, "SELECT " ROUND_COLS ROUND_FROM " WHERE run_id=? AND round>? ORDER BY round");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, since);
    json_t *a = json_array();
    double *accs = NULL; /* the nodes' accuracies of the round being read */
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!round_row_sound(st, q, run_id)) {
            free(accs);
            sqlite3_finalize(q);
            json_decref(a);
            return NULL;
        }
        fedc_round_metrics m;
        round_from_row(q, &m);
        clients_from_store(st, run_id, &m);
        async_from_store(st, run_id, &m);
        if (fed_from_store(st, run_id, &m) != 0 || decentral_from_store(st, run_id, &m, &accs) != 0) {
            sqlite3_finalize(q);
            json_decref(a);
            free(accs);
            return NULL;
        }
        json_array_append_new(a, store_round_json_one(&m));
    }
    free(accs);
    if (rows_end(st, q, rc) != 0) {
        json_decref(a);
        return NULL;
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
    double *accs = NULL; /* the nodes' accuracies of the round being read */
    int rc = SQLITE_DONE, sound = 1;
    while (sound && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!(sound = round_row_sound(st, q, run_id))) break;
        fedc_round_metrics m;
        round_from_row(q, &m);
        clients_from_store(st, run_id, &m);
        async_from_store(st, run_id, &m);
        if (!(sound = fed_from_store(st, run_id, &m) == 0)) break;
        if (!(sound = decentral_from_store(st, run_id, &m, &accs) == 0)) break;
        if (csv) fedc_metrics_write_csv(f, &m);
        else fedc_metrics_write_jsonl(f, &m);
    }
    free(accs);
    fclose(f);
    if (!sound || rows_end(st, q, rc) != 0) {
        if (!sound) sqlite3_finalize(q);
        free(text);
        return -1;
    }
    sqlite3_finalize(q);
    int ret = fedc_buf_append(out, text, len);
    free(text);
    return ret;
}

#define PART_SELECT                                                                                               \
    "SELECT p.round,p.node_id,n.name,p.slot,p.status,p.reason,p.bytes_down,p.bytes_up,p.cpu_s,p.loss,p.n_samples," \
    "p.crc IS fedc_crc(p.run_id,p.round,p.slot,p.node_id,p.status,p.reason,p.bytes_down,p.bytes_up,p.cpu_s,"      \
    "p.loss,p.n_samples),p.run_id FROM participation p LEFT JOIN nodes n ON n.id=p.node_id "

/* Rows of PART_SELECT as participation objects (with "run" when with_run). */
static json_t *participation_rows(store *st, sqlite3_stmt *q, int with_run) {
    if (!q) return NULL;
    json_t *a = json_array();
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!sqlite3_column_int(q, 11)) {
            store_mark_damaged(st, "the participation row of slot %d in round %d of run %lld fails its checksum",
                               sqlite3_column_int(q, 3), sqlite3_column_int(q, 0), (long long)sqlite3_column_int64(q, 12));
            sqlite3_finalize(q);
            json_decref(a);
            return NULL;
        }
        json_t *o = json_object();
        if (with_run) json_object_set_new(o, "run", json_integer(sqlite3_column_int64(q, 12)));
        json_object_set_new(o, "round", json_integer(sqlite3_column_int(q, 0)));
        json_object_set_new(o, "node", sqlite3_column_type(q, 1) == SQLITE_NULL ? json_null()
                                                                               : json_integer(sqlite3_column_int64(q, 1)));
        json_object_set_new(o, "node_name", col_text_or_null(q, 2));
        json_object_set_new(o, "slot", json_integer(sqlite3_column_int(q, 3)));
        json_object_set_new(o, "status", col_text_or_null(q, 4));
        json_object_set_new(o, "reason", col_text_or_null(q, 5));
        json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 6)));
        json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 7)));
        json_object_set_new(o, "cpu_s", col_real_or_null(q, 8));
        json_object_set_new(o, "loss", col_real_or_null(q, 9));
        json_object_set_new(o, "n_samples", col_real_or_null(q, 10));
        json_array_append_new(a, o);
    }
    if (rows_end(st, q, rc) != 0) {
        json_decref(a);
        return NULL;
    }
    sqlite3_finalize(q);
    return a;
}

json_t *store_participation_json(store *st, int64_t run_id, int round) {
    sqlite3_stmt *q = prep(st, round > 0 ? PART_SELECT "WHERE p.run_id=? AND p.round=? ORDER BY p.round,p.slot"
                                         : PART_SELECT "WHERE p.run_id=? AND ?=0 ORDER BY p.round,p.slot");
    if (q) {
        sqlite3_bind_int64(q, 1, run_id);
        sqlite3_bind_int(q, 2, round);
    }
    return participation_rows(st, q, 0);
}

json_t *store_node_participation_json(store *st, int64_t node_id, int limit) {
    sqlite3_stmt *q = prep(st, PART_SELECT "WHERE p.node_id=? ORDER BY p.run_id DESC, p.round DESC LIMIT ?");
    if (q) {
        sqlite3_bind_int64(q, 1, node_id);
        sqlite3_bind_int(q, 2, limit);
    }
    return participation_rows(st, q, 1);
}

json_t *store_run_nodes_json(store *st, int64_t run_id) {
    sqlite3_stmt *q = prep(st, "SELECT p.node_id, n.name, MAX(p.slot), COUNT(*), SUM(p.status='ok'), "
                               "SUM(p.status='dropped'), SUM(p.status='rejected'), SUM(p.bytes_down), SUM(p.bytes_up), "
                               "SUM(p.cpu_s), MIN(p.crc IS fedc_crc(p.run_id,p.round,p.slot,p.node_id,p.status,p.reason,"
                               "p.bytes_down,p.bytes_up,p.cpu_s,p.loss,p.n_samples)), SUM(p.status='flagged') FROM "
                               "participation p LEFT JOIN nodes n ON n.id=p.node_id WHERE p.run_id=? AND p.node_id IS "
                               "NOT NULL GROUP BY p.node_id ORDER BY p.node_id");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, run_id);
    json_t *a = json_array();
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!sqlite3_column_int(q, 10)) {
            store_mark_damaged(st, "a participation row of node %lld in run %lld fails its checksum",
                               (long long)sqlite3_column_int64(q, 0), (long long)run_id);
            sqlite3_finalize(q);
            json_decref(a);
            return NULL;
        }
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
        json_object_set_new(o, "cpu_s", col_real_or_null(q, 9));
        json_object_set_new(o, "flagged", json_integer(sqlite3_column_int(q, 11)));
        json_array_append_new(a, o);
    }
    if (rows_end(st, q, rc) != 0) {
        json_decref(a);
        return NULL;
    }
    sqlite3_finalize(q);
    return a;
}

/* ---- nodes ----------------------------------------------------------------- */

/* One change of a node's row, checked before and sealed after (as runs). */
static int node_change(store *st, int64_t id, sqlite3_stmt *q) {
    if (!q) return -1;
    if (begin(st) != 0) {
        sqlite3_finalize(q);
        return -1;
    }
    int ok = 1;
    sqlite3_stmt *v = prep(st, "SELECT crc IS fedc_crc(" STORE_NODE_CRC_COLS ") FROM nodes WHERE id=?");
    if (!v) ok = 0;
    if (v) {
        sqlite3_bind_int64(v, 1, id);
        int rc = sqlite3_step(v);
        if (rc == SQLITE_ROW && !sqlite3_column_int(v, 0)) {
            store_mark_damaged(st, "the row of node %lld fails its checksum", (long long)id);
            ok = 0;
        } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            note_failure(st);
            ok = 0;
        }
        sqlite3_finalize(v);
    }
    if (ok) ok = exec_done(st, q) == 0;
    else sqlite3_finalize(q);
    if (ok) {
        sqlite3_stmt *seal = prep(st, "UPDATE nodes SET crc=fedc_crc(" STORE_NODE_CRC_COLS ") WHERE id=?");
        if (seal) sqlite3_bind_int64(seal, 1, id);
        ok = exec_done(st, seal) == 0;
    }
    return end_tx(st, ok);
}

int store_node_upsert(store *st, int64_t id, const char *name, const char *address, const char *resources_json) {
    sqlite3_stmt *q = prep(st, "INSERT INTO nodes(id,name,created_at,last_seen,address,resources) VALUES(?1,?2,?3,"
                               "CASE WHEN ?4 IS NULL THEN NULL ELSE ?3 END,?4,?5) ON CONFLICT(id) DO UPDATE SET "
                               "name=?2, last_seen=CASE WHEN ?4 IS NULL THEN last_seen ELSE ?3 END, "
                               "address=COALESCE(?4,address), resources=COALESCE(?5,resources)");
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(q, 3, fedc_now_unix());
        if (address) sqlite3_bind_text(q, 4, address, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 4);
        if (resources_json) sqlite3_bind_text(q, 5, resources_json, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 5);
    }
    return node_change(st, id, q);
}

int store_node_seen(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE nodes SET last_seen=? WHERE id=?");
    if (q) {
        sqlite3_bind_double(q, 1, fedc_now_unix());
        sqlite3_bind_int64(q, 2, id);
    }
    return node_change(st, id, q);
}

int store_node_flag(store *st, int64_t id, const char *reason) {
    sqlite3_stmt *q = prep(st, "UPDATE nodes SET flags=flags+1, flag_reason=? WHERE id=?");
    if (q) {
        sqlite3_bind_text(q, 1, reason, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, id);
    }
    return node_change(st, id, q);
}

int store_node_revoked(store *st, int64_t id) {
    sqlite3_stmt *q = prep(st, "UPDATE nodes SET revoked=1 WHERE id=?");
    if (q) sqlite3_bind_int64(q, 1, id);
    return node_change(st, id, q);
}

json_t *store_nodes_json(store *st, int64_t only_id) {
    sqlite3_stmt *q = prep(st, "SELECT n.id,n.name,n.created_at,n.last_seen,n.address,n.resources,n.flags,"
                               "n.flag_reason,n.revoked,(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id),"
                               "(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id AND p.status='ok'),"
                               "(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id AND p.status='dropped'),"
                               "(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id AND p.status='rejected'),"
                               "(SELECT COALESCE(SUM(bytes_down),0) FROM participation p WHERE p.node_id=n.id),"
                               "(SELECT COALESCE(SUM(bytes_up),0) FROM participation p WHERE p.node_id=n.id),"
                               "(SELECT COALESCE(SUM(cpu_s),0) FROM participation p WHERE p.node_id=n.id),"
                               "n.crc IS fedc_crc(n.id,n.name,n.created_at,n.last_seen,n.address,n.resources,n.flags,"
                               "n.flag_reason,n.revoked),"
                               "(SELECT COUNT(*) FROM participation p WHERE p.node_id=n.id AND p.status='flagged') "
                               "FROM nodes n WHERE ?=0 OR n.id=?1 ORDER BY n.id");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, only_id);
    json_t *a = json_array();
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!sqlite3_column_int(q, 16)) {
            store_mark_damaged(st, "the row of node %lld fails its checksum", (long long)sqlite3_column_int64(q, 0));
            sqlite3_finalize(q);
            json_decref(a);
            return NULL;
        }
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
        json_object_set_new(o, "cpu_s", col_real_or_null(q, 15));
        json_object_set_new(o, "flagged_updates", json_integer(sqlite3_column_int(q, 17)));
        json_array_append_new(a, o);
    }
    if (rows_end(st, q, rc) != 0) {
        json_decref(a);
        return NULL;
    }
    sqlite3_finalize(q);
    return a;
}

/* ---- the run's event log --------------------------------------------------- */

int store_event_add(store *st, int64_t run_id, const char *level, const char *message) {
    sqlite3_stmt *q = prep(st,
                           "INSERT INTO run_events(run_id, seq, at, level, message) "
                           "SELECT ?1, CASE WHEN n >= ?4 THEN 0 ELSE n + 1 END, ?5, ?2, ?3 FROM "
                           "(SELECT count(*) AS n FROM run_events WHERE run_id=?1 AND seq>0) WHERE 1 "
                           "ON CONFLICT(run_id, seq) DO UPDATE SET message=CAST(CAST(message AS INTEGER) + 1 AS TEXT), "
                           "at=excluded.at");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_text(q, 2, level, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, message, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 4, STORE_EVENTS_MAX);
    sqlite3_bind_double(q, 5, fedc_now_unix());
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        note_failure(st);
        return -1;
    }
    /* The overflow row (seq 0) holds the count of events not kept. */
    sqlite3_stmt *fix = prep(st, "UPDATE run_events SET message='1' WHERE run_id=? AND seq=0 AND crc IS NULL");
    sqlite3_stmt *seal = prep(st, "UPDATE run_events SET crc=fedc_crc(" STORE_EVENT_CRC_COLS
                                  ") WHERE run_id=? AND (crc IS NULL OR seq=0)");
    int ok = fix && seal;
    if (fix) {
        sqlite3_bind_int64(fix, 1, run_id);
        ok = ok && sqlite3_step(fix) == SQLITE_DONE;
        sqlite3_finalize(fix);
    }
    if (seal) {
        sqlite3_bind_int64(seal, 1, run_id);
        ok = ok && sqlite3_step(seal) == SQLITE_DONE;
        sqlite3_finalize(seal);
    }
    if (!ok) {
        note_failure(st);
        return -1;
    }
    return 0;
}

json_t *store_events_json(store *st, int64_t run_id, int *dropped) {
    sqlite3_stmt *q = prep(st, "SELECT seq, at, level, message, crc IS fedc_crc(" STORE_EVENT_CRC_COLS
                               ") FROM run_events WHERE run_id=? ORDER BY seq");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, run_id);
    json_t *a = json_array();
    *dropped = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int seq = sqlite3_column_int(q, 0);
        if (!sqlite3_column_int(q, 4)) {
            store_mark_damaged(st, "event %d of run %lld fails its checksum", seq, (long long)run_id);
            sqlite3_finalize(q);
            json_decref(a);
            return NULL;
        }
        if (seq == 0) {
            *dropped = atoi((const char *)sqlite3_column_text(q, 3));
            continue;
        }
        json_array_append_new(a, json_pack("{s:i,s:f,s:o,s:o}", "seq", seq, "at", sqlite3_column_double(q, 1), "level",
                                           col_text_or_null(q, 2), "message", col_text_or_null(q, 3)));
    }
    if (rows_end(st, q, rc) != 0) {
        json_decref(a);
        return NULL;
    }
    sqlite3_finalize(q);
    return a;
}
