/* Per-round metrics as JSONL and CSV (stable field order). */
#include <inttypes.h>
#include <math.h>

#include "fedc/engine.h"

/* JSON has no NaN or Inf: a diverged run reports null. */
static void json_num(FILE *f, const char *key, double v, int digits) {
    if (isfinite(v)) fprintf(f, "\"%s\":%.*f,", key, digits, v);
    else fprintf(f, "\"%s\":null,", key);
}

void fedc_metrics_write_jsonl(FILE *f, const fedc_round_metrics *m) {
    fprintf(f, "{\"round\":%d,", m->round);
    json_num(f, "accuracy", m->accuracy, 6);
    json_num(f, "loss", m->loss, 6);
    fprintf(f, "\"evaluated\":%s,", m->evaluated ? "true" : "false");
    json_num(f, "train_loss", m->train_loss, 6);
    fprintf(f,
            "\"bytes_down\":%" PRIu64 ",\"bytes_up\":%" PRIu64 ",\"bytes_down_total\":%" PRIu64
            ",\"bytes_up_total\":%" PRIu64 ",\"client_cpu_s\":%.4f,\"server_cpu_s\":%.4f,"
            "\"wall_s\":%.4f,\"elapsed_s\":%.3f,\"sim_time_s\":%.3f,\"sim_elapsed_s\":%.3f,"
            "\"selected\":%d,\"participants\":%d,\"dropped\":%d,\"rejected\":%d",
            m->bytes_down, m->bytes_up, m->bytes_down_total, m->bytes_up_total, m->client_cpu_s,
            m->server_cpu_s, m->wall_s, m->elapsed_s, m->sim_time_s, m->sim_elapsed_s, m->selected,
            m->participants, m->dropped, m->rejected);
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
    fprintf(f, "}\n");
    fflush(f);
}

void fedc_metrics_write_csv_header(FILE *f) {
    fprintf(f, "round,accuracy,loss,evaluated,train_loss,bytes_down,bytes_up,bytes_down_total,"
               "bytes_up_total,client_cpu_s,server_cpu_s,wall_s,elapsed_s,sim_time_s,sim_elapsed_s,"
               "selected,participants,dropped,rejected\n");
}

void fedc_metrics_write_csv(FILE *f, const fedc_round_metrics *m) {
    fprintf(f,
            "%d,%.6f,%.6f,%d,%.6f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
            ",%.4f,%.4f,%.4f,%.3f,%.3f,%.3f,%d,%d,%d,%d\n",
            m->round, m->accuracy, m->loss, m->evaluated, m->train_loss, m->bytes_down, m->bytes_up,
            m->bytes_down_total, m->bytes_up_total, m->client_cpu_s, m->server_cpu_s, m->wall_s,
            m->elapsed_s, m->sim_time_s, m->sim_elapsed_s, m->selected, m->participants, m->dropped,
            m->rejected);
    fflush(f);
}
