/* SecAgg+ cost per node: one round driven in-process (the server half and
 * n node halves exchanging real frames), timing each side's protocol work
 * with thread CPU time and counting the bytes of every frame (plus the
 * WebSocket headers a deployment adds), against the plain upload of the
 * same update (float32, codec none).
 * usage: secagg_cost N D [DROP_FRACTION] [REPEATS]   -> one JSON line */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/codec.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "fl/secagg/secagg_internal.h"

enum { AT_NONE = 0, AT_TRAIN = 4 };

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: secagg_cost N D [DROP_FRACTION] [REPEATS]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    size_t d = (size_t)atol(argv[2]);
    double drop = argc > 3 ? atof(argv[3]) : 0;
    int reps = argc > 4 ? atoi(argv[4]) : 1;
    if (n < 2 || n > 10000 || d < 1 || reps < 1) return 2;
    fedc_task t;
    memset(&t, 0, sizeof t);
    snprintf(t.secagg.mode, sizeof t.secagg.mode, "secagg+");
    t.secagg.clip = 10;
    t.secagg.threshold = 0.5;
    t.seed = 1;
    const fedc_protocol_ops *po = &sa_protocol_ops;
    float *delta = malloc(d * sizeof *delta), *out = malloc(d * sizeof *out);
    fedc_rng rng = fedc_rng_derive(3, 3, 3);
    for (size_t j = 0; j < d; j++) delta[j] = (float)(0.001 * fedc_rng_normal(&rng));
    int *clients = malloc((size_t)n * sizeof(int)), *exit_at = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++) clients[i] = i;
    int ndrop = (int)(drop * n + 0.5);
    for (int q = 0; q < ndrop; q++) exit_at[(q * 7 + 1) % n] = AT_TRAIN; /* lost after sharing keys */
    fedc_protocol_client **st = calloc((size_t)n, sizeof *st);
    fedc_buf *frames = calloc((size_t)n, sizeof *frames), reply = {0}, masked = {0};
    char *alive = malloc((size_t)n);
    double cpu_client = 0, cpu_server = 0;
    double bytes_down = 0, bytes_up = 0;
    fedc_error e;
    for (int rep = 0; rep < reps; rep++) {
        double c0 = fedc_cpu_thread_s();
        void *srv = po->server_create(&t, d, &e);
        po->begin(srv, 1, n, clients, &e);
        cpu_server += fedc_cpu_thread_s() - c0;
        for (int i = 0; i < n; i++) alive[i] = 1;
        int step = 1;
        for (int phase = 0; phase < 2; phase++) {
            for (;;) {
                c0 = fedc_cpu_thread_s();
                int more = po->step(srv, phase, alive, frames, &e);
                cpu_server += fedc_cpu_thread_s() - c0;
                if (more <= 0) break;
                for (int i = 0; i < n; i++) {
                    if (!alive[i]) continue;
                    bytes_down += frames[i].len + fedc_ws_overhead(frames[i].len, 0, FEDC_WS_FRAGMENT_SIZE);
                    fedc_msg m;
                    c0 = fedc_cpu_thread_s();
                    fedc_msg_decode(frames[i].data, frames[i].len, &m, &e);
                    int rc = po->client_step(&t, d, 100, &st[i], &m, &reply, &e);
                    fedc_msg_free(&m);
                    cpu_client += fedc_cpu_thread_s() - c0;
                    if (rc != 0) {
                        fprintf(stderr, "node %d: %s\n", i, e.msg);
                        return 1;
                    }
                    bytes_up += reply.len + fedc_ws_overhead(reply.len, 1, FEDC_WS_FRAGMENT_SIZE);
                    c0 = fedc_cpu_thread_s();
                    fedc_msg_decode(reply.data, reply.len, &m, &e);
                    rc = po->reply(srv, i, &m, &e);
                    fedc_msg_free(&m);
                    cpu_server += fedc_cpu_thread_s() - c0;
                    if (rc != 0) {
                        fprintf(stderr, "server, node %d: %s\n", i, e.msg);
                        return 1;
                    }
                }
                step++;
            }
            if (phase == 0) {
                for (int i = 0; i < n; i++) {
                    if (exit_at[i] == AT_TRAIN) {
                        alive[i] = 0;
                        po->drop(srv, i);
                        continue;
                    }
                    float *copy = malloc(d * sizeof *copy);
                    memcpy(copy, delta, d * sizeof *copy);
                    fedc_buf_clear(&masked);
                    c0 = fedc_cpu_thread_s();
                    po->client_seal(&t, st[i], 1, copy, d, &masked, &e);
                    cpu_client += fedc_cpu_thread_s() - c0;
                    free(copy);
                    bytes_up += masked.len;
                    c0 = fedc_cpu_thread_s();
                    po->update(srv, i, masked.data, masked.len, &e);
                    cpu_server += fedc_cpu_thread_s() - c0;
                }
            }
        }
        double w;
        c0 = fedc_cpu_thread_s();
        if (po->finish(srv, out, &w, &e) != 0) {
            fprintf(stderr, "finish: %s\n", e.msg);
            return 1;
        }
        po->server_free(srv);
        cpu_server += fedc_cpu_thread_s() - c0;
        for (int i = 0; i < n; i++)
            if (st[i]) {
                st[i]->free_state(st[i]);
                st[i] = NULL;
            }
    }
    /* The plain update: the same vector through codec "none", and the
     * server's decode of it. */
    fedc_error e2;
    fedc_codec *none = fedc_codec_parse("none", &e2);
    fedc_buf enc = {0};
    double c0 = fedc_cpu_thread_s();
    for (int rep = 0; rep < reps; rep++) {
        fedc_buf_clear(&enc);
        fedc_codec_encode(none, delta, d, NULL, NULL, &enc, &e2);
    }
    double plain_client = (fedc_cpu_thread_s() - c0) / reps;
    c0 = fedc_cpu_thread_s();
    for (int rep = 0; rep < reps; rep++) fedc_codec_decode(none, enc.data, enc.len, out, d, &e2);
    double plain_server = (fedc_cpu_thread_s() - c0) / reps;
    int k = sa_graph_degree(n, 0);
    int survivors = n - ndrop;
    printf("{\"n\":%d,\"d\":%zu,\"degree\":%d,\"threshold\":%d,\"dropped\":%d,"
           "\"secagg_bytes_per_node\":%.0f,\"plain_bytes_per_node\":%zu,"
           "\"secagg_protocol_bytes_per_node\":%.0f,"
           "\"secagg_client_cpu_s_per_node\":%.6f,\"secagg_server_cpu_s_per_node\":%.6f,"
           "\"plain_client_cpu_s_per_node\":%.6f,\"plain_server_cpu_s_per_node\":%.6f}\n",
           n, d, k, sa_threshold(k, 0.5), ndrop, (bytes_down + bytes_up) / reps / n,
           enc.len + fedc_ws_overhead(enc.len, 1, FEDC_WS_FRAGMENT_SIZE),
           (bytes_down + bytes_up) / reps / n - (double)(d + 1) * 4 * survivors / n,
           cpu_client / reps / survivors, cpu_server / reps / n, plain_client, plain_server);
    fedc_buf_free(&enc);
    fedc_codec_free(none);
    return 0;
}
