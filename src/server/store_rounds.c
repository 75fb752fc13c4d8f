/* The run store's round commit: a completed round, its participants and
 * the tables beside it (privacy, per-client and federated evaluation,
 * asynchronous and decentralised figures) in one transaction with the
 * run's totals and checkpoint round. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "server/server_internal.h"
#include "server/store_sql.h"

/* Seals the rows one round wrote in a per-round table: their checksums over
 * the table's columns (cols, a STORE_*_CRC_COLS list). */
#define SEAL_ROUND_SQL(table, cols) "UPDATE " table " SET crc=fedc_crc(" cols ") WHERE run_id=? AND round=?"
static int seal_round_rows(store *st, const char *sql, int64_t run_id, int round) {
    sqlite3_stmt *q = store_prep(st, sql);
    if (q) {
        sqlite3_bind_int64(q, 1, run_id);
        sqlite3_bind_int(q, 2, round);
    }
    return store_exec(st, q);
}

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
    sqlite3_stmt *q = store_prep(st, "INSERT OR REPLACE INTO round_async VALUES(?,?,?,?,?,?,?)");
    int ok = q != NULL;
    if (q) {
        sqlite3_bind_int64(q, 1, run_id);
        sqlite3_bind_int(q, 2, m->round);
        sqlite3_bind_int(q, 3, m->in_flight);
        bind_real(q, 4, m->staleness_mean);
        sqlite3_bind_int(q, 5, m->staleness_max);
        sqlite3_bind_text(q, 6, hist, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 7, buffered, -1, SQLITE_TRANSIENT);
        ok = store_exec(st, q) == 0;
    }
    free(buffered);
    /* Plain INSERT: a ticket already recorded would be counted twice. */
    for (int i = 0; ok && a && i < a->n; i++) {
        const store_async_update *u = &a->u[i];
        q = store_prep(st, "INSERT INTO async_updates(run_id,ticket,round,slot,node_id,status,reason,version,staleness,"
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
        ok = store_exec(st, q) == 0;
    }
    return ok ? 0 : -1;
}

/* A decentralised round's row: its consensus distance, bytes per node and,
 * on evaluated rounds, the nodes' accuracies. */
static int decentral_round_row(store *st, int64_t run_id, const fedc_round_metrics *m) {
    char *accs = NULL;
    if (m->evaluated && m->node_accuracy) {
        json_t *a = json_array();
        for (int k = 0; a && k < m->n_nodes; k++) json_array_append_new(a, store_num_json(m->node_accuracy[k]));
        accs = a ? json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(a);
        if (!accs) return -1;
    }
    sqlite3_stmt *q = store_prep(st, "INSERT OR REPLACE INTO round_decentral(run_id,round,nodes,consensus_distance,"
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
        ok = store_exec(st, q) == 0;
    }
    free(accs);
    if (ok) {
        ok = seal_round_rows(st, SEAL_ROUND_SQL("round_decentral", STORE_DECENTRAL_CRC_COLS), run_id, m->round) == 0;
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
    if (store_begin(st) != 0) return fedc_fail(err, "run store: cannot record round %d: %s", m->round, st->fail_msg);
    int ok = store_run_verify(st, run_id) == 0;
    sqlite3_stmt *q =
        ok ? store_prep(st, "INSERT OR REPLACE INTO rounds(run_id,round,evaluated,accuracy,loss,train_loss,bytes_down,"
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
        ok = store_exec(st, q) == 0;
    }
    if (ok) {
        ok = seal_round_rows(st, SEAL_ROUND_SQL("rounds", STORE_ROUND_CRC_COLS), run_id, m->round) == 0;
    }
    if (ok && m->clients_evaluated > 0) {
        q = store_prep(st, "INSERT OR REPLACE INTO round_clients VALUES(?,?,?,?,?,?,?,?,?,?)");
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
            ok = store_exec(st, q) == 0;
        }
    }
    if (ok && m->dp) {
        q = store_prep(st, "INSERT OR REPLACE INTO round_privacy(run_id,round,epsilon,delta,clip) VALUES(?,?,?,?,?)");
        ok = q != NULL;
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
            bind_real(q, 3, m->epsilon); /* no noise: no finite guarantee, NULL */
            sqlite3_bind_double(q, 4, m->delta);
            sqlite3_bind_double(q, 5, m->dp_clip);
            ok = store_exec(st, q) == 0;
        }
        if (ok) {
            ok = seal_round_rows(st, SEAL_ROUND_SQL("round_privacy", STORE_PRIV_CRC_COLS), run_id, m->round) == 0;
        }
    }
    for (int i = 0; ok && i < np; i++) {
        q = store_prep(st, "INSERT OR REPLACE INTO participation(run_id,round,slot,node_id,status,reason,bytes_down,"
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
        ok = store_exec(st, q) == 0;
    }
    if (ok && np > 0) {
        ok = seal_round_rows(st, SEAL_ROUND_SQL("participation", STORE_PART_CRC_COLS), run_id, m->round) == 0;
    }
    if (ok && m->fed_evaluated) {
        q = store_prep(st, "INSERT OR REPLACE INTO fed_eval(run_id,round,accuracy,loss,examples,reports) "
                     "VALUES(?,?,?,?,?,?)");
        ok = q != NULL;
        if (q) {
            sqlite3_bind_int64(q, 1, run_id);
            sqlite3_bind_int(q, 2, m->round);
            sqlite3_bind_double(q, 3, m->fed_accuracy);
            sqlite3_bind_double(q, 4, m->fed_loss);
            sqlite3_bind_double(q, 5, m->fed_examples);
            sqlite3_bind_int(q, 6, m->fed_reports);
            ok = store_exec(st, q) == 0;
        }
        if (ok) {
            ok = seal_round_rows(st, SEAL_ROUND_SQL("fed_eval", STORE_FED_CRC_COLS), run_id, m->round) == 0;
        }
    }
    if (ok && m->decentral) ok = decentral_round_row(st, run_id, m) == 0;
    if (ok && m->async) ok = async_round_rows(st, run_id, m, async) == 0;
    if (ok) {
        q = store_prep(st, "UPDATE runs SET rounds_done=?1, accuracy=CASE WHEN ?2 THEN ?3 ELSE accuracy END, "
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
            ok = store_exec(st, q) == 0;
        }
    }
    ok = ok && store_run_seal(st, run_id) == 0;
    if (store_end_tx(st, ok) != 0)
        return fedc_fail(err, "run store: cannot record round %d: %s", m->round, store_fail_msg(st));
    return 0;
}
