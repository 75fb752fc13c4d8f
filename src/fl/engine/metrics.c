/* Per-round metrics as JSONL and CSV (stable field order). A value that is
 * not finite (a diverged model's loss) is written as null in both, as the
 * REST API shows it: JSON has no NaN, and in CSV "nan"/"-nan" depend on the
 * C library while null is one token every reader (pandas among them) takes
 * for a missing value. */
#include <inttypes.h>
#include <math.h>

#include "fedc/engine.h"

/* JSON has no NaN or Inf: a diverged run reports null. */
static void json_num(FILE *f, const char *key, double v, int digits) {
    if (isfinite(v)) fprintf(f, "\"%s\":%.*f,", key, digits, v);
    else fprintf(f, "\"%s\":null,", key);
}

static void json_ids(FILE *f, const char *key, const int *ids, int n) {
    fprintf(f, "\"%s\":[", key);
    for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? "," : "", ids[i]);
    fputs("]", f);
}

/* Keys of robust aggregation and simulated attacks, only on runs that use
 * them, so other runs' lines stay as they were. */
static void robust_keys(FILE *f, const fedc_round_metrics *m) {
    if (m->robust_report) {
        fputs(",\"flagged\":{", f);
        json_ids(f, "malicious", m->malicious, m->n_malicious);
        fputc(',', f);
        json_ids(f, "unreliable", m->unreliable, m->n_unreliable);
        fputc(',', f);
        json_ids(f, "left_out", m->left_out, m->n_left_out);
        fprintf(f, "},\"clipped\":%d", m->clipped);
    }
    if ((m->robust_report || m->attack_report) && m->aggregated) {
        fputc(',', f);
        json_ids(f, "participant_clients", m->aggregated, m->participants);
    }
    if (m->attack_report) {
        fputc(',', f);
        json_ids(f, "attackers", m->attackers, m->n_attackers);
        fputc(',', f);
        json_ids(f, "unreliable_clients", m->unreliable_clients, m->n_unreliable_clients);
    }
    if (m->asr_measured && isfinite(m->attack_success_rate))
        fprintf(f, ",\"attack_success_rate\":%.6f", m->attack_success_rate);
}

void fedc_metrics_write_jsonl(FILE *f, const fedc_round_metrics *m) {
    fprintf(f, "{\"round\":%d,", m->round);
    json_num(f, "accuracy", m->accuracy, 6);
    json_num(f, "loss", m->loss, 6);
    fprintf(f, "\"evaluated\":%s,", m->evaluated ? "true" : "false");
    json_num(f, "train_loss", m->train_loss, 6);
    if (m->val_evaluated) {
        json_num(f, "val_accuracy", m->val_accuracy, 6);
        json_num(f, "val_loss", m->val_loss, 6);
    }
    if (m->personal_evaluated) json_num(f, "personal_accuracy", m->personal_accuracy, 6);
    /* Per-client evaluation (partition.test_fraction), evaluated rounds only. */
    if (m->clients_evaluated > 0) {
        fprintf(f, "\"clients_evaluated\":%d,", m->clients_evaluated);
        if (m->client_evaluated) {
            json_num(f, "client_acc_mean", m->client_acc_mean, 6);
            json_num(f, "client_acc_p10", m->client_acc_p10, 6);
            json_num(f, "client_acc_min", m->client_acc_min, 6);
        }
        json_num(f, "global_client_acc_mean", m->global_client_acc_mean, 6);
        json_num(f, "global_client_acc_p10", m->global_client_acc_p10, 6);
        json_num(f, "global_client_acc_min", m->global_client_acc_min, 6);
    }
    fprintf(f,
            "\"bytes_down\":%" PRIu64 ",\"bytes_up\":%" PRIu64 ",\"bytes_down_total\":%" PRIu64
            ",\"bytes_up_total\":%" PRIu64 ",",
            m->bytes_down, m->bytes_up, m->bytes_down_total, m->bytes_up_total);
    json_num(f, "client_cpu_s", m->client_cpu_s, 4);
    json_num(f, "server_cpu_s", m->server_cpu_s, 4);
    fprintf(f, "\"client_steps\":%" PRIu64 ",", m->client_steps);
    json_num(f, "wall_s", m->wall_s, 4);
    json_num(f, "elapsed_s", m->elapsed_s, 3);
    json_num(f, "sim_time_s", m->sim_time_s, 3);
    json_num(f, "sim_elapsed_s", m->sim_elapsed_s, 3);
    fprintf(f, "\"selected\":%d,\"participants\":%d,\"dropped\":%d,\"rejected\":%d", m->selected,
            m->participants, m->dropped, m->rejected);
    robust_keys(f, m);
    /* Federated evaluation: only on rounds the nodes scored. */
    if (m->fed_evaluated) {
        fprintf(f, ",\"fed_evaluated\":true,");
        json_num(f, "fed_accuracy", m->fed_accuracy, 6);
        json_num(f, "fed_loss", m->fed_loss, 6);
        fprintf(f, "\"fed_examples\":%.0f,\"fed_reports\":%d", m->fed_examples, m->fed_reports);
    }
    /* A DP run carries its guarantee on every round; an infinite epsilon
     * (no noise) is null. */
    if (m->dp) {
        fprintf(f, ",");
        json_num(f, "epsilon", m->epsilon, 6);
        fprintf(f, "\"delta\":%.6g,\"dp_clip\":%.6g", m->delta, m->dp_clip);
    }
    if (m->async) {
        fprintf(f, ",\"version\":%d,\"in_flight\":%d,\"staleness_mean\":%.4f,\"staleness_max\":%d,"
                   "\"staleness_hist\":[",
                m->round, m->in_flight, m->staleness_mean, m->staleness_max);
        for (int b = 0; b < FEDC_STALENESS_BUCKETS; b++) fprintf(f, "%s%d", b ? "," : "", m->staleness_hist[b]);
        fprintf(f, "]");
    }
    if (m->decentral) {
        fprintf(f, ",\"nodes\":%d,", m->n_nodes);
        json_num(f, "consensus_distance", m->consensus_distance, 9);
        fprintf(f, "\"bytes_per_node\":%.1f", m->bytes_per_node);
        if (m->evaluated && m->node_accuracy) {
            fprintf(f, ",");
            json_num(f, "avg_model_accuracy", m->avg_model_accuracy, 6);
            json_num(f, "avg_model_loss", m->avg_model_loss, 6);
            json_num(f, "node_accuracy_min", m->node_accuracy_min, 6);
            json_num(f, "node_accuracy_max", m->node_accuracy_max, 6);
            fprintf(f, "\"node_accuracy\":[");
            for (int k = 0; k < m->n_nodes; k++) fprintf(f, "%s%.4f", k ? "," : "", m->node_accuracy[k]);
            fprintf(f, "]");
        }
    }
    fprintf(f, "}\n");
    fflush(f);
}

void fedc_metrics_write_csv_header(FILE *f) {
    fprintf(f, "round,accuracy,loss,evaluated,train_loss,bytes_down,bytes_up,bytes_down_total,"
               "bytes_up_total,client_cpu_s,server_cpu_s,wall_s,elapsed_s,sim_time_s,sim_elapsed_s,"
               "selected,participants,dropped,rejected\n");
}

/* One CSV number, or null; sep is written after it. */
static void csv_num(FILE *f, double v, int digits, char sep) {
    if (isfinite(v)) fprintf(f, "%.*f%c", digits, v, sep);
    else fprintf(f, "null%c", sep);
}

void fedc_metrics_write_csv(FILE *f, const fedc_round_metrics *m) {
    fprintf(f, "%d,", m->round);
    csv_num(f, m->accuracy, 6, ',');
    csv_num(f, m->loss, 6, ',');
    fprintf(f, "%d,", m->evaluated);
    csv_num(f, m->train_loss, 6, ',');
    fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", m->bytes_down, m->bytes_up, m->bytes_down_total,
            m->bytes_up_total);
    csv_num(f, m->client_cpu_s, 4, ',');
    csv_num(f, m->server_cpu_s, 4, ',');
    csv_num(f, m->wall_s, 4, ',');
    csv_num(f, m->elapsed_s, 3, ',');
    csv_num(f, m->sim_time_s, 3, ',');
    csv_num(f, m->sim_elapsed_s, 3, ',');
    fprintf(f, "%d,%d,%d,%d\n", m->selected, m->participants, m->dropped, m->rejected);
    fflush(f);
}
