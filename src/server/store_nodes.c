/* The run store's node registry: a node's row (checked and sealed like a
 * run's), when it was last seen, its flags and revocation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "server/server_internal.h"
#include "server/store_sql.h"


/* One change of a node's row, checked before and sealed after (as runs). */
static int node_change(store *st, int64_t id, sqlite3_stmt *q) {
    if (!q) return -1;
    if (store_begin(st) != 0) {
        sqlite3_finalize(q);
        return -1;
    }
    int ok = 1;
    sqlite3_stmt *v = store_prep(st, "SELECT crc IS fedc_crc(" STORE_NODE_CRC_COLS ") FROM nodes WHERE id=?");
    if (!v) ok = 0;
    if (v) {
        sqlite3_bind_int64(v, 1, id);
        int rc = sqlite3_step(v);
        if (rc == SQLITE_ROW && !sqlite3_column_int(v, 0)) {
            store_mark_damaged(st, "the row of node %lld fails its checksum", (long long)id);
            ok = 0;
        } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            store_note_failure(st);
            ok = 0;
        }
        sqlite3_finalize(v);
    }
    if (ok) ok = store_exec(st, q) == 0;
    else sqlite3_finalize(q);
    if (ok) {
        sqlite3_stmt *seal = store_prep(st, "UPDATE nodes SET crc=fedc_crc(" STORE_NODE_CRC_COLS ") WHERE id=?");
        if (seal) sqlite3_bind_int64(seal, 1, id);
        ok = store_exec(st, seal) == 0;
    }
    return store_end_tx(st, ok);
}

int store_node_upsert(store *st, int64_t id, const char *name, const char *address, const char *resources_json) {
    sqlite3_stmt *q = store_prep(st, "INSERT INTO nodes(id,name,created_at,last_seen,address,resources) VALUES(?1,?2,?3,"
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
    sqlite3_stmt *q = store_prep(st, "UPDATE nodes SET last_seen=? WHERE id=?");
    if (q) {
        sqlite3_bind_double(q, 1, fedc_now_unix());
        sqlite3_bind_int64(q, 2, id);
    }
    return node_change(st, id, q);
}

int store_node_flag(store *st, int64_t id, const char *reason) {
    sqlite3_stmt *q = store_prep(st, "UPDATE nodes SET flags=flags+1, flag_reason=? WHERE id=?");
    if (q) {
        sqlite3_bind_text(q, 1, reason, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, id);
    }
    return node_change(st, id, q);
}

int store_node_revoked(store *st, int64_t id) {
    sqlite3_stmt *q = store_prep(st, "UPDATE nodes SET revoked=1 WHERE id=?");
    if (q) sqlite3_bind_int64(q, 1, id);
    return node_change(st, id, q);
}

json_t *store_nodes_json(store *st, int64_t only_id) {
    sqlite3_stmt *q = store_prep(st, "SELECT n.id,n.name,n.created_at,n.last_seen,n.address,n.resources,n.flags,"
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
        json_object_set_new(o, "name", store_col_text_json(q, 1));
        json_object_set_new(o, "status", json_string(sqlite3_column_int(q, 8) ? "revoked" : "offline"));
        json_object_set_new(o, "created_at", store_col_real_json(q, 2));
        json_object_set_new(o, "last_seen", store_col_real_json(q, 3));
        json_object_set_new(o, "address", store_col_text_json(q, 4));
        const char *res = (const char *)sqlite3_column_text(q, 5);
        json_t *r = res ? json_loads(res, 0, NULL) : NULL;
        json_object_set_new(o, "resources", r ? r : json_null());
        json_object_set_new(o, "run", json_null());
        json_object_set_new(o, "rounds", json_integer(sqlite3_column_int(q, 9)));
        json_object_set_new(o, "updates", json_integer(sqlite3_column_int(q, 10)));
        json_object_set_new(o, "dropped", json_integer(sqlite3_column_int(q, 11)));
        json_object_set_new(o, "rejected", json_integer(sqlite3_column_int(q, 12)));
        json_object_set_new(o, "flagged", json_boolean(sqlite3_column_int(q, 6) > 0));
        json_object_set_new(o, "flag_reason", store_col_text_json(q, 7));
        json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(q, 13)));
        json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(q, 14)));
        json_object_set_new(o, "cpu_s", store_col_real_json(q, 15));
        json_object_set_new(o, "flagged_updates", json_integer(sqlite3_column_int(q, 17)));
        json_array_append_new(a, o);
    }
    return store_rows_json(st, q, rc, a);
}
