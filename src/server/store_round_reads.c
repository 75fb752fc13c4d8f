/* Reading a run's rounds back from the run store: each row checked against
 * its checksum, the tables beside it joined in, as JSON for the API and as
 * JSONL/CSV for the metrics export. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "server/server_internal.h"
#include "server/store_sql.h"

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
        store_prep(st, "SELECT in_flight,staleness_mean,staleness_max,staleness_hist FROM round_async WHERE run_id=? AND round=?");
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
    sqlite3_stmt *q = store_prep(st, "SELECT clients,own,acc_mean,acc_p10,acc_min,global_mean,global_p10,global_min FROM "
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
        if (store_rows_end(st, q, rc) != 0) return -1;
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
    sqlite3_stmt *q = store_prep(st, "SELECT accuracy,loss,examples,reports,crc IS fedc_crc(" STORE_FED_CRC_COLS
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
    sqlite3_stmt *q = store_prep(st, "SELECT nodes,consensus_distance,bytes_per_node,avg_model_accuracy,avg_model_loss,"
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
    json_object_set_new(o, "accuracy", store_num_json(m->accuracy));
    json_object_set_new(o, "loss", store_num_json(m->loss));
    json_object_set_new(o, "train_loss", store_num_json(m->train_loss));
    json_object_set_new(o, "client_cpu_s", store_num_json(m->client_cpu_s));
    json_object_set_new(o, "server_cpu_s", store_num_json(m->server_cpu_s));
    json_object_set_new(o, "wall_s", store_num_json(m->wall_s));
    json_object_set_new(o, "elapsed_s", store_num_json(m->elapsed_s));
    json_object_set_new(o, "sim_time_s", store_num_json(m->sim_time_s));
    json_object_set_new(o, "sim_elapsed_s", store_num_json(m->sim_elapsed_s));
    if (m->dp) {
        /* epsilon is null when the run adds no noise (no finite guarantee). */
        json_object_set_new(o, "epsilon", store_num_json(m->epsilon));
        json_object_set_new(o, "delta", store_num_json(m->delta));
        json_object_set_new(o, "dp_clip", store_num_json(m->dp_clip));
    }
    if (m->clients_evaluated > 0) {
        /* Per-client evaluation: client_acc_* the clients' own models, global_client_acc_* the global one. */
        json_object_set_new(o, "clients_evaluated", json_integer(m->clients_evaluated));
        if (m->client_evaluated) {
            json_object_set_new(o, "client_acc_mean", store_num_json(m->client_acc_mean));
            json_object_set_new(o, "client_acc_p10", store_num_json(m->client_acc_p10));
            json_object_set_new(o, "client_acc_min", store_num_json(m->client_acc_min));
        }
        json_object_set_new(o, "global_client_acc_mean", store_num_json(m->global_client_acc_mean));
        json_object_set_new(o, "global_client_acc_p10", store_num_json(m->global_client_acc_p10));
        json_object_set_new(o, "global_client_acc_min", store_num_json(m->global_client_acc_min));
    }
    if (o && m->async) {
        /* The simulation's metric keys: the round is the version it made. */
        json_t *h = json_array();
        for (int b = 0; b < FEDC_STALENESS_BUCKETS; b++) json_array_append_new(h, json_integer(m->staleness_hist[b]));
        json_object_set_new(o, "version", json_integer(m->round));
        json_object_set_new(o, "in_flight", json_integer(m->in_flight));
        json_object_set_new(o, "staleness_mean", store_num_json(m->staleness_mean));
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
        json_object_set_new(o, "consensus_distance", store_num_json(m->consensus_distance));
        json_object_set_new(o, "bytes_per_node", store_num_json(m->bytes_per_node));
        if (m->evaluated && m->node_accuracy) {
            json_t *a = json_array();
            for (int k = 0; k < m->n_nodes; k++) json_array_append_new(a, store_num_json(m->node_accuracy[k]));
            json_object_set_new(o, "avg_model_accuracy", store_num_json(m->avg_model_accuracy));
            json_object_set_new(o, "avg_model_loss", store_num_json(m->avg_model_loss));
            json_object_set_new(o, "node_accuracy_min", store_num_json(m->node_accuracy_min));
            json_object_set_new(o, "node_accuracy_max", store_num_json(m->node_accuracy_max));
            json_object_set_new(o, "node_accuracy", a);
        }
    }
    return o;
}

json_t *store_rounds_json(store *st, int64_t run_id, int since) {
    sqlite3_stmt *q = store_prep(st, "SELECT " ROUND_COLS ROUND_FROM " WHERE run_id=? AND round>? ORDER BY round");
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
    return store_rows_json(st, q, rc, a);
}

int store_metrics_export(store *st, int64_t run_id, int csv, fedc_buf *out) {
    sqlite3_stmt *q = store_prep(st, "SELECT " ROUND_COLS ROUND_FROM " WHERE run_id=? ORDER BY round");
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
    if (!sound || store_rows_end(st, q, rc) != 0) {
        if (!sound) sqlite3_finalize(q);
        free(text);
        return -1;
    }
    sqlite3_finalize(q);
    int ret = fedc_buf_append(out, text, len);
    free(text);
    return ret;
}
