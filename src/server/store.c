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
 * damage.
 *
 * This file opens the store (schema and upgrades), keeps failures and
 * damage, and holds the SQL steps the other parts share (store_sql.h): runs
 * (store_runs.c), the round commit (store_rounds.c) and its readers
 * (store_round_reads.c), participation (store_participation.c), nodes
 * (store_nodes.c), the event log (store_events.c); checks and recovery are
 * store_check.c. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fedc/log.h"
#include "server/server_internal.h"
#include "server/store_sql.h"

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
void store_note_failure(store *st) {
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

/* ---- SQL steps the store's files share (store_sql.h) ----------------------- */

sqlite3_stmt *store_prep(store *st, const char *sql) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        store_note_failure(st);
        FEDC_ERROR("run store %s: %s (in: %.60s...)", st->path, sqlite3_errmsg(st->db), sql);
        return NULL;
    }
    return q;
}

/* Runs a statement with no result rows; 0 on success. */
int store_exec(store *st, sqlite3_stmt *q) {
    if (!q) return -1;
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE) {
        store_note_failure(st);
        FEDC_ERROR("run store %s: %s", st->path, sqlite3_errmsg(st->db));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* After a loop of sqlite3_step: 0 if the rows ended normally. */
int store_rows_end(store *st, sqlite3_stmt *q, int rc) {
    if (rc == SQLITE_DONE) return 0;
    store_note_failure(st);
    FEDC_ERROR("run store %s: reading failed: %s", st->path, st->fail_msg);
    sqlite3_finalize(q);
    return -1;
}

json_t *store_rows_json(store *st, sqlite3_stmt *q, int rc, json_t *rows) {
    if (store_rows_end(st, q, rc) != 0) {
        json_decref(rows);
        return NULL;
    }
    sqlite3_finalize(q);
    return rows;
}

int store_begin(store *st) {
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) return 0;
    store_note_failure(st);
    return -1;
}

/* COMMIT, or ROLLBACK of what is still open; the first failure's cause is kept. */
int store_end_tx(store *st, int ok) {
    if (ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return 0;
    if (ok) store_note_failure(st);
    /* A failed COMMIT (disk full) may have rolled back already. */
    if (!sqlite3_get_autocommit(st->db)) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* -1 if the row of run id exists and fails its checksum (damage recorded). */
int store_run_verify(store *st, int64_t id) {
    sqlite3_stmt *q = store_prep(st, "SELECT crc IS fedc_crc(" STORE_RUN_CRC_COLS ") FROM runs WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q), ok = 1;
    if (rc == SQLITE_ROW) ok = sqlite3_column_int(q, 0);
    else if (store_rows_end(st, q, rc) != 0) return -1;
    sqlite3_finalize(q);
    if (!ok) store_mark_damaged(st, "the row of run %lld fails its checksum", (long long)id);
    return ok ? 0 : -1;
}

int store_run_seal(store *st, int64_t id) {
    sqlite3_stmt *q = store_prep(st, "UPDATE runs SET crc=fedc_crc(" STORE_RUN_CRC_COLS ") WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    return store_exec(st, q);
}

json_t *store_col_real_json(sqlite3_stmt *q, int c) {
    if (sqlite3_column_type(q, c) == SQLITE_NULL) return json_null();
    double v = sqlite3_column_double(q, c);
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *store_col_text_json(sqlite3_stmt *q, int c) {
    return sqlite3_column_type(q, c) == SQLITE_NULL ? json_null()
                                                    : json_string((const char *)sqlite3_column_text(q, c));
}

/* A number, or null when it is not finite (JSON has no NaN or Inf). */
json_t *store_num_json(double v) { return isfinite(v) ? json_real(v) : json_null(); }
