/* The run's event log in the run store: bounded per run (STORE_EVENTS_MAX,
 * the rest counted), each row checksummed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "server/server_internal.h"
#include "server/store_sql.h"


int store_event_add(store *st, int64_t run_id, const char *level, const char *message) {
    sqlite3_stmt *q = store_prep(st,
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
        store_note_failure(st);
        return -1;
    }
    /* The overflow row (seq 0) holds the count of events not kept. */
    sqlite3_stmt *fix = store_prep(st, "UPDATE run_events SET message='1' WHERE run_id=? AND seq=0 AND crc IS NULL");
    sqlite3_stmt *seal = store_prep(st, "UPDATE run_events SET crc=fedc_crc(" STORE_EVENT_CRC_COLS
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
        store_note_failure(st);
        return -1;
    }
    return 0;
}

json_t *store_events_json(store *st, int64_t run_id, int *dropped) {
    sqlite3_stmt *q = store_prep(st, "SELECT seq, at, level, message, crc IS fedc_crc(" STORE_EVENT_CRC_COLS
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
                                           store_col_text_json(q, 2), "message", store_col_text_json(q, 3)));
    }
    return store_rows_json(st, q, rc, a);
}
