/* The run store's runs table: creating, listing, loading and changing a
 * run's row (each change checked before and sealed after, store.c), and
 * rolling a run back to its checkpoint round. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "server/server_internal.h"
#include "server/store_sql.h"


/* One change of a run's row: checked before, sealed after, in one
 * transaction. q is prepared and bound (finalized here). Returns the rows
 * changed, or -1. */
static int run_change(store *st, int64_t id, sqlite3_stmt *q) {
    if (!q) return -1;
    if (store_begin(st) != 0) {
        sqlite3_finalize(q);
        return -1;
    }
    int ok = store_run_verify(st, id) == 0;
    if (ok) ok = store_exec(st, q) == 0;
    else sqlite3_finalize(q);
    int changed = ok ? sqlite3_changes(st->db) : 0;
    if (ok && changed) ok = store_run_seal(st, id) == 0;
    return store_end_tx(st, ok) == 0 ? changed : -1;
}

int store_run_create(store *st, const char *name, const char *task_json, int rounds_total, int64_t *id,
                     fedc_error *err) {
    if (store_begin(st) != 0) return fedc_fail(err, "run store: %s", st->fail_msg);
    sqlite3_stmt *q = store_prep(st, "INSERT INTO runs(name,status,task_json,created_at,rounds_total) VALUES(?,?,?,?,?)");
    int ok = q != NULL;
    if (q) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 2, "queued", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, task_json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(q, 4, fedc_now_unix());
        sqlite3_bind_int(q, 5, rounds_total);
        ok = store_exec(st, q) == 0;
    }
    if (ok) {
        *id = sqlite3_last_insert_rowid(st->db);
        ok = store_run_seal(st, *id) == 0;
    }
    if (store_end_tx(st, ok) != 0) return fedc_fail(err, "run store: cannot record the run: %s", st->fail_msg);
    return 0;
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
    "bytes_down,bytes_up,elapsed_s,error,task_json,checkpoint_round,notice,"                                     \
    "crc IS fedc_crc(" STORE_RUN_CRC_COLS ")"

static json_t *run_row(sqlite3_stmt *q, int with_task) {
    const char *task_json = (const char *)sqlite3_column_text(q, 15);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(q, 0)));
    json_object_set_new(o, "name", store_col_text_json(q, 1));
    json_object_set_new(o, "status", store_col_text_json(q, 2));
    json_object_set_new(o, "created_at", store_col_real_json(q, 3));
    json_object_set_new(o, "started_at", store_col_real_json(q, 4));
    json_object_set_new(o, "finished_at", store_col_real_json(q, 5));
    json_object_set_new(o, "rounds_total", json_integer(sqlite3_column_int(q, 6)));
    json_object_set_new(o, "rounds_done", json_integer(sqlite3_column_int(q, 7)));
    json_object_set_new(o, "accuracy", store_col_real_json(q, 8));
    json_object_set_new(o, "loss", store_col_real_json(q, 9));
    json_object_set_new(o, "best_accuracy", store_col_real_json(q, 10));
    json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 11)));
    json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 12)));
    json_object_set_new(o, "elapsed_s", store_col_real_json(q, 13));
    json_object_set_new(o, "error", store_col_text_json(q, 14));
    json_object_set_new(o, "notice", store_col_text_json(q, 17));
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
    sqlite3_stmt *q = store_prep(st, "SELECT tags, notes, crc IS fedc_crc(" STORE_NOTES_CRC_COLS ") FROM run_notes WHERE run_id=?");
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
        store_note_failure(st);
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
    sqlite3_stmt *q = store_prep(st, "INSERT INTO run_notes(run_id, tags, notes) VALUES(?1, coalesce(?2, '[]'), coalesce(?3, '')) "
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
        store_note_failure(st);
        return -1;
    }
    q = store_prep(st, "UPDATE run_notes SET crc=fedc_crc(" STORE_NOTES_CRC_COLS ") WHERE run_id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, run_id);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        store_note_failure(st);
        return -1;
    }
    return 0;
}

json_t *store_run_json(store *st, int64_t id, int with_task) {
    sqlite3_stmt *q = store_prep(st, "SELECT " RUN_COLS " FROM runs WHERE id=?");
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    json_t *o = NULL;
    if (rc == SQLITE_ROW) {
        if (run_row_sound(st, q)) o = run_row(q, with_task);
    } else if (store_rows_end(st, q, rc) != 0) {
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
    sqlite3_stmt *q = store_prep(st, status ? "SELECT " RUN_COLS " FROM runs WHERE status=? ORDER BY id DESC LIMIT ? OFFSET ?"
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
    if (store_rows_end(st, q, rc) != 0) {
        json_decref(a);
        return NULL;
    }
    sqlite3_finalize(q);
    q = store_prep(st, status ? "SELECT COUNT(*) FROM runs WHERE status=?" : "SELECT COUNT(*) FROM runs");
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
        store_note_failure(st);
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
    sqlite3_stmt *q = store_prep(st, "SELECT id FROM runs WHERE status IN ('running','queued') "
                               "ORDER BY status='running' DESC, id ASC");
    if (!q) return 0;
    int64_t id = 0;
    int rc = SQLITE_DONE;
    while (!id && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        id = sqlite3_column_int64(q, 0);
        for (int i = 0; i < nskip; i++)
            if (skip[i] == id) id = 0;
    }
    if (id || store_rows_end(st, q, rc) == 0) sqlite3_finalize(q);
    return id;
}

int store_run_start(store *st, int64_t id) {
    sqlite3_stmt *q = store_prep(st, "UPDATE runs SET status='running', error=NULL, started_at=COALESCE(started_at, ?) "
                               "WHERE id=? AND status IN ('queued','running')");
    if (q) {
        sqlite3_bind_double(q, 1, fedc_now_unix());
        sqlite3_bind_int64(q, 2, id);
    }
    int changed = run_change(st, id, q);
    return changed == 1 ? 0 : changed < 0 ? -2 : -1;
}

int store_run_load(store *st, int64_t id, char **task_json, int *checkpoint_round, char status[16]) {
    sqlite3_stmt *q = store_prep(st, "SELECT task_json, checkpoint_round, status, crc IS fedc_crc(" STORE_RUN_CRC_COLS
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
    } else if (store_rows_end(st, q, rc) != 0) {
        return -1;
    }
    sqlite3_finalize(q);
    return ret;
}

int store_run_set_status(store *st, int64_t id, const char *status, const char *error) {
    int ended = strcmp(status, "running") != 0 && strcmp(status, "queued") != 0;
    sqlite3_stmt *q = store_prep(st, ended ? "UPDATE runs SET status=?, error=?, finished_at=? WHERE id=?"
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

/* One text column of a run's row (NULL text: SQL NULL); sql binds the text
 * as ?1 and the run's id as ?2. */
static int run_set_text(store *st, int64_t id, const char *sql, const char *text) {
    sqlite3_stmt *q = store_prep(st, sql);
    if (q) {
        if (text) sqlite3_bind_text(q, 1, text, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(q, 1);
        sqlite3_bind_int64(q, 2, id);
    }
    return run_change(st, id, q) < 0 ? -1 : 0;
}

int store_run_set_error(store *st, int64_t id, const char *error) {
    return run_set_text(st, id, "UPDATE runs SET error=?1 WHERE id=?2 AND error IS NOT ?1", error);
}

int store_run_set_notice(store *st, int64_t id, const char *notice) {
    return run_set_text(st, id, "UPDATE runs SET notice=?1 WHERE id=?2", notice);
}

int store_run_cancel(store *st, int64_t id) {
    sqlite3_stmt *q = store_prep(st, "UPDATE runs SET status='cancelled', finished_at=? WHERE id=? AND "
                               "status IN ('queued','running')");
    if (q) {
        sqlite3_bind_double(q, 1, fedc_now_unix());
        sqlite3_bind_int64(q, 2, id);
    }
    int changed = run_change(st, id, q);
    return changed < 0 ? -1 : changed > 0;
}

int store_run_delete(store *st, int64_t id) {
    sqlite3_stmt *q = store_prep(st, "DELETE FROM runs WHERE id=? AND status NOT IN ('queued','running')");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    if (store_exec(st, q) != 0) return -1;
    return sqlite3_changes(st->db) > 0 ? 0 : -1;
}

int store_run_set_task(store *st, int64_t id, const char *task_json) {
    sqlite3_stmt *q = store_prep(st, "UPDATE runs SET task_json=? WHERE id=?");
    if (q) {
        sqlite3_bind_text(q, 1, task_json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, id);
    }
    return run_change(st, id, q) > 0 ? 0 : -1;
}

int store_run_rollback(store *st, int64_t id, int checkpoint_round) {
    if (store_begin(st) != 0) return -1;
    int ok = store_run_verify(st, id) == 0;
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
        q = store_prep(st, per_round[k]);
        if (q) {
            sqlite3_bind_int64(q, 1, id);
            sqlite3_bind_int(q, 2, checkpoint_round);
        }
        ok = store_exec(st, q) == 0;
    }
    /* The run's totals go back to those of its last kept round. */
    q = ok ? store_prep(st, "UPDATE runs SET rounds_done=?1, "
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
    ok = ok && store_exec(st, q) == 0;
    ok = ok && store_run_seal(st, id) == 0;
    return store_end_tx(st, ok);
}
