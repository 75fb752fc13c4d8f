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
    double header_timeout_s;   /* TLS handshake and each request head within this (default 10) */
    double body_timeout_s;     /* each request body within this after its head (default 30) */
    int max_unauth_per_address; /* connections from one address that have not yet completed a request
                                   or authenticated as a node (default 32) */
    /* Hierarchical aggregation: this server is also one node of an upstream
     * server (wss://HOST:PORT), authenticated with upstream_credential (a
     * node credential of the upstream's CA); each upstream round runs over
     * this server's own nodes and goes up as one update. */
    const char *upstream_url;
    const char *upstream_credential;
    int leaf_clients;          /* client slots below (the nodes' partitions K/N); 0 = the upstream task's */
    int leaf_min_nodes;        /* nodes to wait for before joining an upstream run (default 1) */
} fedc_server_config;

FEDC_API fedc_server *fedc_server_start(const fedc_server_config *cfg, fedc_error *err);
/* Stops the runners (unfinished runs stay "running" and resume at the
 * next start), closes every connection, frees. */
FEDC_API void fedc_server_stop(fedc_server *s);
FEDC_API int fedc_server_port(const fedc_server *s);
FEDC_API const char *fedc_server_admin_token(const fedc_server *s);
/* 1 if this start generated the admin token (print it once). */
FEDC_API int fedc_server_token_generated(const fedc_server *s);
/* "https://HOST:PORT/" (or http:// with insecure) and "wss://HOST:PORT/node". */
FEDC_API const char *fedc_server_dashboard_url(const fedc_server *s);
FEDC_API const char *fedc_server_node_url(const fedc_server *s);

/* Queues a run from a task spec (validated like POST /api/runs). */
FEDC_API int fedc_server_submit(fedc_server *s, const char *task_json, size_t len, int64_t *run_id, fedc_error *err);

typedef struct fedc_server_run_info {
    int64_t id;
    char status[16];     /* queued | running | paused | done | failed | cancelled */
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

/* The run store STATE/runs.db, offline (no server running on it):
 * SQLite's quick_check (full: integrity_check) and every row's checksum.
 * 0 sound, 1 damaged, -1 cannot be opened; *report (malloc'd) lists what
 * was found, one line each. */
FEDC_API int fedc_server_check_store(const char *state_dir, int full, char **report, fedc_error *err);
/* Recovers a damaged STATE/runs.db: what can be read and passes its
 * checksum goes into a new store that takes its place; the damaged file is
 * kept as runs.db.damaged-YYYYmmdd-HHMMSS. *report (malloc'd) says what was
 * kept and lost. */
FEDC_API int fedc_server_recover_store(const char *state_dir, char **report, fedc_error *err);

#endif
