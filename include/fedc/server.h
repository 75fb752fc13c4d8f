/* The parameter server (`fedc server`): one port for the node WebSocket
 * endpoint, the REST API with live updates (docs/api.md) and the web app;
 * a run queue driven by the round engine over the WebSocket transport; a
 * SQLite (WAL) run store and on-disk checkpoints so a killed server resumes
 * its runs where they left off. Threads: the network threads, one runner
 * thread per run that may train at once (rounds, aggregation, evaluation),
 * each run's engine pool. */
#ifndef FEDC_SERVER_H
#define FEDC_SERVER_H

#include <stdint.h>

#include "fedc/engine.h"
#include "fedc/error.h"
#include "fedc/export.h"

typedef struct fedc_server fedc_server;

typedef struct fedc_server_config {
    const char *state_dir;     /* required: runs.db, runs/ID/, admin-token, certs/ */
    const char *bind;          /* default 127.0.0.1 */
    int port;                  /* default 8443; 0 = any free port */
    int insecure;              /* plain HTTP/WebSocket: loopback development only */
    const char *certs_dir;     /* default STATE/certs, created on first start */
    const char *admin_token;   /* default $FEDC_ADMIN_TOKEN, else STATE/admin-token (generated) */
    const char *public_host;   /* host shown in URLs and enrol commands (default: bind address) */
    int checkpoint_every;      /* rounds between checkpoints (default 1); always at the end */
    int threads;               /* engine threads for evaluation (0 = all cores) */
    int max_flags;             /* refused updates before a node is left out of a run (default 3) */
    double hello_timeout_s;    /* a new connection must authenticate within this (default 10) */
    int max_active_runs;       /* runs that may train at once, 1..64 (0 = auto: 1 below 4 cores, else
                                  cores/4 up to 4); another run never starts below 1 GiB MemAvailable */
} fedc_server_config;

FEDC_API fedc_server *fedc_server_start(const fedc_server_config *cfg, fedc_error *err);
/* Stops the runners (unfinished runs stay "running" and resume at the
 * next start), closes every connection, frees. */
FEDC_API void fedc_server_stop(fedc_server *s);
FEDC_API int fedc_server_port(const fedc_server *s);
FEDC_API const char *fedc_server_admin_token(const fedc_server *s);
/* 1 if this start generated the admin token (print it once). */
FEDC_API int fedc_server_token_generated(const fedc_server *s);
/* "https://HOST:PORT/" (or http:// with insecure) and "wss://HOST:PORT". */
FEDC_API const char *fedc_server_dashboard_url(const fedc_server *s);
FEDC_API const char *fedc_server_node_url(const fedc_server *s);

/* Queues a run from a task spec (validated like POST /api/runs). */
FEDC_API int fedc_server_submit(fedc_server *s, const char *task_json, size_t len, int64_t *run_id, fedc_error *err);

typedef struct fedc_server_run_info {
    int64_t id;
    char status[16];     /* queued | running | done | failed | cancelled */
    int rounds_done, rounds_total;
    double accuracy, loss, best_accuracy, elapsed_s;
    uint64_t bytes_down, bytes_up;
    char error[512];
    int nodes_online;
} fedc_server_run_info;
FEDC_API int fedc_server_run_info_get(fedc_server *s, int64_t id, fedc_server_run_info *out, fedc_error *err);

/* Progress callback on the run's runner thread: after each round (m set)
 * and on each status change of a run (m NULL). Runs training at the same
 * time call it from their own threads, possibly at once. Must not block. */
typedef void (*fedc_server_listener)(void *ctx, int64_t run_id, const fedc_round_metrics *m, const char *status);
FEDC_API void fedc_server_set_listener(fedc_server *s, fedc_server_listener fn, void *ctx);

#endif
