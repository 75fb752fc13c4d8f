/* Who took part in which round, from the run store: per run and round,
 * per node, and the nodes of a run with their totals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "server/server_internal.h"
#include "server/store_sql.h"

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
        json_object_set_new(o, "node_name", store_col_text_json(q, 2));
        json_object_set_new(o, "slot", json_integer(sqlite3_column_int(q, 3)));
        json_object_set_new(o, "status", store_col_text_json(q, 4));
        json_object_set_new(o, "reason", store_col_text_json(q, 5));
        json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 6)));
        json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 7)));
        json_object_set_new(o, "cpu_s", store_col_real_json(q, 8));
        json_object_set_new(o, "loss", store_col_real_json(q, 9));
        json_object_set_new(o, "n_samples", store_col_real_json(q, 10));
        json_array_append_new(a, o);
    }
    return store_rows_json(st, q, rc, a);
}

json_t *store_participation_json(store *st, int64_t run_id, int round) {
    sqlite3_stmt *q = store_prep(st, round > 0 ? PART_SELECT "WHERE p.run_id=? AND p.round=? ORDER BY p.round,p.slot"
                                         : PART_SELECT "WHERE p.run_id=? AND ?=0 ORDER BY p.round,p.slot");
    if (q) {
        sqlite3_bind_int64(q, 1, run_id);
        sqlite3_bind_int(q, 2, round);
    }
    return participation_rows(st, q, 0);
}

json_t *store_node_participation_json(store *st, int64_t node_id, int limit) {
    sqlite3_stmt *q = store_prep(st, PART_SELECT "WHERE p.node_id=? ORDER BY p.run_id DESC, p.round DESC LIMIT ?");
    if (q) {
        sqlite3_bind_int64(q, 1, node_id);
        sqlite3_bind_int(q, 2, limit);
    }
    return participation_rows(st, q, 1);
}

json_t *store_run_nodes_json(store *st, int64_t run_id) {
    sqlite3_stmt *q = store_prep(st, "SELECT p.node_id, n.name, MAX(p.slot), COUNT(*), SUM(p.status='ok'), "
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
        json_object_set_new(o, "node_name", store_col_text_json(q, 1));
        json_object_set_new(o, "slot", json_integer(sqlite3_column_int(q, 2)));
        json_object_set_new(o, "rounds", json_integer(sqlite3_column_int(q, 3)));
        json_object_set_new(o, "ok", json_integer(sqlite3_column_int(q, 4)));
        json_object_set_new(o, "dropped", json_integer(sqlite3_column_int(q, 5)));
        json_object_set_new(o, "rejected", json_integer(sqlite3_column_int(q, 6)));
        json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 7)));
        json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 8)));
        json_object_set_new(o, "cpu_s", store_col_real_json(q, 9));
        json_object_set_new(o, "flagged", json_integer(sqlite3_column_int(q, 11)));
        json_array_append_new(a, o);
    }
    return store_rows_json(st, q, rc, a);
}
