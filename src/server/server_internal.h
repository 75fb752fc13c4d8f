/* Private state of the server shared by its files. Locking: s->mu guards
 * the node sessions, the active runs and their exchanges, and what each
 * runner shares (claimed run, cancel flag); the event ring has its own lock
 * (taken inside s->mu, never the other way round); s->take_mu (outside
 * s->mu) makes taking a run from the queue atomic across runners. The
 * network side (node callbacks and HTTP handlers, one at a time under the
 * transport's dispatch lock) owns the connections and s->db_net; each
 * runner thread owns its store connection and its fedc_run. */
#ifndef FEDC_SERVER_INTERNAL_H
#define FEDC_SERVER_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "fedc/certs.h"
#include "fedc/deploy.h"
#include "fedc/engine.h"
#include "fedc/server.h"
#include "fedc/ws.h"

/* ---- storage faults: what stops a run from keeping its progress ---------- */
typedef enum storage_fault {
    SF_NONE = 0,
    SF_FULL,    /* no space (ENOSPC, EDQUOT, SQLITE_FULL) */
    SF_FDS,     /* out of file descriptors (EMFILE, ENFILE) */
    SF_DAMAGED, /* the run store is damaged (checksum, SQLITE_CORRUPT) */
    SF_IO,      /* any other failure to write */
} storage_fault;
storage_fault storage_fault_of_errno(int e);
/* "storage full", "out of file descriptors", "run store damaged", "storage error" */
const char *storage_fault_name(storage_fault f);

/* ---- run store (store*.c, see store.c; checks and recovery: store_check.c) */
typedef struct store {
    sqlite3 *db;
    char path[1024];
    /* the last failure, kept before a ROLLBACK can replace SQLite's message */
    int fail_code, fail_errno;
    char fail_msg[256];
    /* the first damage found (a row failing its checksum, SQLITE_CORRUPT) */
    char damage[400];
} store;

/* The columns each row's checksum covers (fedc_crc over them, in this order). */
#define STORE_RUN_CRC_COLS                                                                                        \
    "id,name,status,task_json,created_at,started_at,finished_at,rounds_total,rounds_done,checkpoint_round,"      \
    "accuracy,loss,best_accuracy,bytes_down,bytes_up,elapsed_s,error,notice"
#define STORE_ROUND_CRC_COLS                                                                                      \
    "run_id,round,evaluated,accuracy,loss,train_loss,bytes_down,bytes_up,bytes_down_total,bytes_up_total,"       \
    "client_cpu_s,server_cpu_s,wall_s,elapsed_s,sim_time_s,sim_elapsed_s,selected,participants,dropped,rejected"
#define STORE_PART_CRC_COLS "run_id,round,slot,node_id,status,reason,bytes_down,bytes_up,cpu_s,loss,n_samples"
#define STORE_NODE_CRC_COLS "id,name,created_at,last_seen,address,resources,flags,flag_reason,revoked"
#define STORE_PRIV_CRC_COLS "run_id,round,epsilon,delta,clip"
#define STORE_EVENT_CRC_COLS "run_id,seq,at,level,message"
#define STORE_FED_CRC_COLS "run_id,round,accuracy,loss,examples,reports"
#define STORE_DECENTRAL_CRC_COLS                                                                                  \
    "run_id,round,nodes,consensus_distance,bytes_per_node,avg_model_accuracy,avg_model_loss,node_accuracy_min,"  \
    "node_accuracy_max,node_accuracy"

int store_open(store *st, const char *path, fedc_error *err);
void store_close(store *st);
/* Registers fedc_crc(...) (the row checksum) on a connection. */
int store_register_crc(sqlite3 *db);
/* What the last failure was (SF_NONE if it was none of the storage faults). */
storage_fault store_fault(const store *st);
const char *store_fail_msg(const store *st);
/* Records damage found by a reader (logged once). */
void store_mark_damaged(store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* PRAGMA quick_check (full: integrity_check) and every row's checksum;
 * 0 if sound, else -1 with the findings in report (one per line). */
int store_check(store *st, int full, fedc_buf *report);
/* The same on the file at path without changing it: 0 sound (or no file),
 * 1 damaged (findings in report), -1 cannot be opened (err). */
int store_check_path(const char *path, int full, fedc_buf *report, fedc_error *err);
/* Salvages what can be read of the store at path into a new file, drops
 * rows that fail their checksum, keeps the damaged file beside it as
 * PATH.damaged-YYYYmmdd-HHMMSS and puts the new one in its place. The
 * report says what was kept and what was lost. */
int store_recover(const char *path, fedc_buf *report, fedc_error *err);
int store_run_create(store *st, const char *name, const char *task_json, int rounds_total, int64_t *id,
                     fedc_error *err);
/* The run object of docs/api.md (with_task: plus "task" and "checkpoint_round"). NULL if absent or damaged. */
json_t *store_run_json(store *st, int64_t id, int with_task);
json_t *store_runs_json(store *st, const char *status, int limit, int offset, int *total);
/* Next run to train, other than the nskip runs in skip (taken by other
 * runners): a "running" one (interrupted) first, else the oldest queued. 0 if none. */
int64_t store_run_next(store *st, const int64_t *skip, int nskip);
/* queued/running -> running (atomic); 0 on success, -1 if the run has ended
 * (e.g. cancelled), -2 if the store could not be written (store_fault). */
int store_run_start(store *st, int64_t id);
/* The task JSON and checkpoint round of a run (task malloc'd). */
int store_run_load(store *st, int64_t id, char **task_json, int *checkpoint_round, char status[16]);
int store_run_set_status(store *st, int64_t id, const char *status, const char *error);
/* The error text alone (a paused run says why), status unchanged. */
int store_run_set_error(store *st, int64_t id, const char *error);
/* What a reader should know about how the run got here (e.g. resumed from
 * an older checkpoint because the newest was damaged); NULL clears it. */
int store_run_set_notice(store *st, int64_t id, const char *notice);
/* A queued run, or a "running" one no runner holds (interrupted, not yet
 * resumed), becomes cancelled (atomic); 1 if it was cancelled. */
int store_run_cancel(store *st, int64_t id);
int store_run_delete(store *st, int64_t id);
/* Replaces a run's task (an external model's manifest, supplied by a node). */
int store_run_set_task(store *st, int64_t id, const char *task_json);
/* Forgets rounds after the checkpoint (they will be run again); the run's
 * checkpoint round goes back to it if it was later. */
int store_run_rollback(store *st, int64_t id, int checkpoint_round);

typedef struct store_participant {
    int slot;
    int64_t node_id; /* 0: no node held the slot */
    const char *status;
    const char *reason;
    uint64_t bytes_down, bytes_up;
    double cpu_s, loss, n_samples;
} store_participant;
/* Asynchronous strategies: one node update a round finished (aggregated,
 * dropped or refused), named by its ticket (unique in a run). */
typedef struct store_async_update {
    int slot, ticket, status, version, staleness; /* status 1 aggregated, -1 dropped, -2 refused */
    int64_t node_id;
    const char *reason;
    double stale_weight, n_samples, loss, cpu_s;
    uint64_t bytes_up;
} store_async_update;
/* A round of an asynchronous run: its updates, and the tickets left in the
 * buffer after it (what its checkpoint holds). */
typedef struct store_async_round {
    const store_async_update *u;
    int n;
    const int *buffered;
    int nbuffered;
} store_async_round;
/* One completed round, its participants and the run's totals, in one
 * transaction (checkpoint_round < 0: unchanged); store_round_commit_async
 * also records an asynchronous round's updates (async may be NULL). */
int store_round_commit_async(store *st, int64_t run_id, const fedc_round_metrics *m, const store_participant *p,
                             int np, const store_async_round *async, double best_accuracy, int checkpoint_round,
                             fedc_error *err);
int store_round_commit(store *st, int64_t run_id, const fedc_round_metrics *m, const store_participant *p, int np,
                       double best_accuracy, int checkpoint_round, fedc_error *err);
json_t *store_rounds_json(store *st, int64_t run_id, int since);
json_t *store_round_json_one(const fedc_round_metrics *m);
json_t *store_participation_json(store *st, int64_t run_id, int round);
json_t *store_run_nodes_json(store *st, int64_t run_id);
/* Metrics exactly as `fedc sim` writes them (csv: with a header row). */
int store_metrics_export(store *st, int64_t run_id, int csv, fedc_buf *out);

int store_node_upsert(store *st, int64_t id, const char *name, const char *address, const char *resources_json);
int store_node_seen(store *st, int64_t id);
int store_node_flag(store *st, int64_t id, const char *reason);
/* The run's event log (refused updates, dropped nodes, failed rounds, pauses,
 * data downloads), kept for the whole run: at most STORE_EVENTS_MAX a run,
 * then the later ones are counted but not kept. */
#define STORE_EVENTS_MAX 10000
int store_event_add(store *st, int64_t run_id, const char *level, const char *message);
/* Oldest first: [{seq, at, level, message}]; *dropped = events not kept. */
json_t *store_events_json(store *st, int64_t run_id, int *dropped);
/* A person's tags and notes on a run (run_notes). */
#define RUN_TAGS_MAX 16
#define RUN_TAG_MAX 32
#define RUN_NOTES_MAX 4000
#define STORE_NOTES_CRC_COLS "run_id,tags,notes"
/* Sets what is given (tags: a JSON array, notes: text; NULL = keep). */
int store_run_notes_set(store *st, int64_t run_id, const json_t *tags, const char *notes);
/* run_notes.c: the body of POST /api/runs/{id}/notes, bounded; *tags
 * (new reference) and *notes (malloc'd) are NULL when not given. */
int run_notes_parse(const void *body, size_t len, json_t **tags, char **notes, fedc_error *err);
/* A node's newest participation rows over all runs (with "run"), newest first. */
json_t *store_node_participation_json(store *st, int64_t node_id, int limit);
int store_node_revoked(store *st, int64_t id);
/* Registry rows with totals over all runs; live fields are merged by the caller. */
json_t *store_nodes_json(store *st, int64_t only_id);

double fedc_now_unix(void);

/* ---- live events (events.c) --------------------------------------------- */
#define EVENT_RING 1024
typedef struct event {
    uint64_t seq;
    int64_t run_id; /* 0: not tied to a run */
    char type[12];
    char *data;     /* JSON text */
} event;

typedef struct events {
    pthread_mutex_t mu;
    event ring[EVENT_RING];
    uint64_t next_seq; /* seq of the next event (first is 1) */
} events;

typedef struct event_stream {
    uint64_t next_seq;
    int64_t run_filter;
    double last_write;
    int hello_sent;
    char *hello; /* the hello event's data, built when the stream opened */
} event_stream;

/* ---- node sessions (registry.c) ----------------------------------------- */
#define ACTIVE_RUNS_MAX 64 /* --max-active-runs upper bound */
#define NODE_FAILED_MAX 16
typedef struct node_session {
    struct node_session *next;
    fedc_ws_conn *conn;
    uint64_t conn_id;
    char peer[64];
    double opened_at;
    char nonce[65];
    int authed, closing;
    int64_t node_id;
    char name[FEDC_NODE_NAME_MAX + 1];
    /* what the node reported */
    int cores;
    double memory_bytes, samples_per_s, up_bps, down_bps, n_samples;
    double declared_samples; /* n_samples as reported when it joined its run: what bounds its updates' counts */
    char data[256];
    int part_k, part_n;
    /* what it can do (HELLO "caps") and the tensors of its own model */
    int cap_evaluate, cap_external;
    char *manifest;   /* canonical text, malloc'd; NULL if it sent none */
    int64_t ready_run; /* run whose task the node has set up (its PING after WELCOME) */
    /* runs the node reported it cannot serve (a ring: old entries are ended runs) */
    int64_t failed[NODE_FAILED_MAX];
    int failed_next;
    /* assignment: one active run at a time */
    int64_t run_id;
    int slot;
    uint64_t welcomed_gen; /* s->assign_gen when last considered for a WELCOME */
    int64_t welcomed_run;  /* what the last WELCOME said */
    int welcomed_slot;
    /* exchange */
    int out_active, out_send;
    uint64_t out_gen;
    int out_i;
    /* The rounds of the TRAIN messages sent to this connection and not yet
     * answered, oldest first: a node answers in order, so each UPDATE (or
     * ERROR for a round) answers the oldest; one claiming another round is
     * a replay or a made-up round. A round retried after a failure sends
     * the same round again. */
#define NODE_OWED_MAX 16
    int owed[NODE_OWED_MAX];
    int owed_first, owed_n;
    double dup_logged; /* when a refused second connection of this node was last logged */
} node_session;

/* ---- exchange (exchange.c) ---------------------------------------------- */
typedef struct xevent {
    struct xevent *next;
    int kind; /* XEV_SENT, XEV_REPLY, XEV_DROP */
    int i;
    uint64_t wire;
    fedc_buf msg;
    char reason[256];
} xevent;
enum { XEV_SENT = 1, XEV_REPLY, XEV_DROP };

typedef struct xchg {
    int active;
    uint64_t gen; /* from s->xgen: unique across runs, so a tag names its exchange */
    int round, n;
    fedc_ws_payload **payload;
    /* An exchange kept open across rounds (asynchronous strategies): the
     * round each participant's frame carries; NULL: every one is round. */
    int *rounds;
    xevent *head, *tail;
} xchg;

/* The round participant i's frame carries. */
static inline int xchg_round(const xchg *x, int i) { return x->rounds && i >= 0 && i < x->n ? x->rounds[i] : x->round; }

/* ---- the active runs ----------------------------------------------------- */
typedef struct active_run {
    struct active_run *next; /* s->active is ordered by run id: oldest first */
    int64_t id;
    fedc_task task;
    char *task_json;
    fedc_shape shape;
    int classes;
    size_t params, max_message;
    int64_t *slot_node; /* per client slot: the node holding it (0 = free) */
    int *flags;         /* per slot: refused updates in this run */
    fedc_pool *pool;    /* the engine's, for decoding updates in parallel */
    xchg x;             /* the round being exchanged */
    /* The model's tensors as sent in WELCOME (built-in: the arch's). An
     * external run without one adopts the first node's (manifest_new: the
     * runner has still to persist it); need_init: it waits for a node's
     * initial parameters (init_params, init_n floats). */
    int external, manifest_new, need_init, client_state;
    char *manifest_json;
    float *init_params;
    size_t init_n;
} active_run;

/* runner.c: sizes that follow from the task and the parameter count. */
void active_run_limits(active_run *ar);

/* ---- runner threads (runner.c): one per active-run slot ----------------- */
typedef struct runner {
    fedc_server *s;
    pthread_t thread;
    int started;
    store db;        /* this thread's own connection (SQLite connections are single-threaded) */
    int64_t claimed; /* the run taken from the queue, 0 if none (under s->mu) */
    int cancel;      /* the claimed run was cancelled (under s->mu) */
    active_run *ar;  /* the claimed run once training (under s->mu) */
    /* The claimed run is paused: its progress cannot be written (storage
     * full, no descriptors, damaged store). Under s->mu; "" when not. */
    char paused[600];
} runner;

/* ---- auth (http_auth.c) -------------------------------------------------- */
#define AUTH_SESSIONS 64
typedef struct auth_session {
    char id[65], csrf[33];
    double expires;
} auth_session;

/* Wrong admin tokens from one address (the service thread only). */
#define AUTH_FAIL_ADDRS 256
typedef struct auth_failures {
    char addr[64];
    int count;          /* wrong in a row */
    double last, locked_until;
} auth_failures;

/* ---- plain-language requests (http_intent.c) ---------------------------- */
typedef struct intent_service intent_service;

/* ---- hierarchical aggregation (upstream.c, upstream_check.c) ------------ */
typedef struct upstream upstream;
/* A server below gives up on a silent node after this share of the
 * upstream's deploy.round_timeout_s, so it still answers in time. */
#define UPSTREAM_LEAF_TIMEOUT_SHARE 0.9
/* Refuses, naming the field, a task whose aggregation cannot be split
 * across levels (see upstream_check.c for which and why). */
int upstream_check_task(const fedc_task *t, fedc_error *err);
/* The task a mid-level server gives its own nodes for the upstream's task
 * top: leaf_clients slots (0 = top's clients), every ready node trains
 * each round, wait for leaf_min_nodes (0 = 1), the default scheduling, a
 * node deadline inside the upstream's. */
int upstream_leaf_task(const fedc_task *top, int leaf_clients, int leaf_min_nodes, fedc_task *out, fedc_error *err);
/* cfg.upstream_url set: the thread that serves the upstream as one node. */
int upstream_start(fedc_server *s, fedc_error *err);
/* Leaves the upstream (BYE) and frees the relay; before the runners stop. */
void upstream_stop(fedc_server *s);
/* The "upstream" object of GET /api/server (null without --upstream). */
json_t *upstream_info_json(fedc_server *s);

/* ---- the server ---------------------------------------------------------- */
struct fedc_server {
    fedc_server_config cfg;
    char state_dir[900], certs_dir[900];
    char admin_token[96];
    int token_generated;
    char dashboard_url[300], node_url[300];
    double started_at;
    fedc_ws_server *ws;
    fedc_node_verifier *verifier;
    store db_net;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* sessions changed, run submitted, exchange events, stop */
    node_session *sessions;
    int online;
    active_run *active;   /* the runs training now, oldest first */
    uint64_t assign_gen;  /* bumped when a run starts or ends: nodes may need a new WELCOME */
    uint64_t xgen;        /* source of xchg.gen */
    pthread_mutex_t take_mu;
    runner *runners;      /* max_active_runs of them */
    int nrunners, stopping;
    int low_memory;       /* another run is held back for memory (logged once; under take_mu) */
    double last_revocation_check;
    events ev;
    auth_session auth[AUTH_SESSIONS]; /* service thread only */
    auth_failures auth_fail[AUTH_FAIL_ADDRS]; /* service thread only */
    fedc_server_listener listener;
    void *listener_ctx;
    intent_service *intent; /* LLM settings and jobs of /api/intent */
    pthread_mutex_t damage_mu; /* a leaf lock */
    char store_damage[400];    /* the run store's damage, once found ("" = none) */
    upstream *up;              /* --upstream: this server is one node of another (NULL = not) */
};

/* registry.c: the node WebSocket callbacks (service thread) */
void registry_node_open(void *ctx, fedc_ws_conn *c);
void registry_node_message(void *ctx, fedc_ws_conn *c, fedc_buf *msg, uint64_t wire);
void registry_node_sent(void *ctx, fedc_ws_conn *c, uint64_t tag, uint64_t wire);
void registry_node_closed(void *ctx, fedc_ws_conn *c, const char *reason);
void registry_service(void *ctx);
/* Assigns every authenticated node without a run to the oldest active run
 * with a free slot for it (under s->mu). */
void registry_assign_all(fedc_server *s);
/* The active run with this id, or NULL (under s->mu). */
active_run *registry_run(fedc_server *s, int64_t id);
/* Authenticated nodes serving no run, or only one they reported they
 * cannot serve (so they would move to a new run; under s->mu). */
int registry_free_count(fedc_server *s);
/* The live part of a node object (under s->mu): status, resources, run. */
void registry_node_live(fedc_server *s, int64_t id, json_t *node);
/* Closes a node's connection (service thread), e.g. when revoked. */
void registry_kick(fedc_server *s, int64_t id, const char *reason);
/* The engine hook: which client slots are online (a runner thread; ctx: the runner). */
void registry_client_hook(void *ctx, int round, fedc_client_info *info, int n);
/* Nodes ready to train for an active run (under s->mu). */
int registry_ready_count(fedc_server *s, const active_run *ar);
/* Nodes that hold a slot of an active run, ready or still setting up the
 * task (under s->mu): the most a round can gather. */
int registry_joined_count(fedc_server *s, const active_run *ar);

/* exchange.c */
fedc_transport *exchange_transport_create(runner *r);
/* Under s->mu: queue an event on an exchange and wake the runners. */
void exchange_push(fedc_server *s, xchg *x, int kind, int i, uint64_t wire, fedc_buf *msg, const char *reason);
/* The open exchange with this generation, or NULL (under s->mu). */
xchg *exchange_find(fedc_server *s, uint64_t gen);

/* runner.c: s->nrunners threads */
int runner_start(fedc_server *s, fedc_error *err);
void runner_stop(fedc_server *s);
/* Makes run id active with engine run (NULL: an external model waiting
 * for its manifest): its nodes become assignable; -1 when out of memory. */
int runner_activate(runner *r, int64_t id, const fedc_task *t, fedc_run *run);
/* The run's nodes become free and are offered to the other active runs. */
void runner_deactivate(runner *r);
/* Waits until `need` nodes are ready for r->ar (or timeout_s passes, a stop
 * or cancel); returns the number ready. */
int runner_wait_nodes(runner *r, int need, double timeout_s);
/* Then waits a little more for nodes still setting up, up to `want` ready. */
int runner_gather_nodes(runner *r, int want);
/* Marks a run taken by a runner as cancelled; 0 if no runner holds it (under s->mu). */
int runner_cancel(fedc_server *s, int64_t id);
/* A run object as the API shows it: a running run that is paused says
 * "paused" and why (in "error"). Takes s->mu. */
void runner_overlay(fedc_server *s, json_t *run);
/* Damage found in the run store by any connection: from now on the API
 * refuses to serve it and runners stop writing to it (logged once). */
void server_store_damaged(fedc_server *s, const store *st);
/* The recorded damage ("" if none), copied into out. */
void server_store_damage(fedc_server *s, char *out, size_t cap);

/* capacity.c: how many runs this host can train at once */
int capacity_auto_runs(void);
/* MemAvailable of /proc/meminfo in bytes; -1 if unknown. */
double capacity_mem_available(void);

/* events.c */
void events_init(events *e);
void events_free(events *e);
/* Publishes an event (data is stolen) and wakes the service thread. */
void events_publish(fedc_server *s, const char *type, int64_t run_id, json_t *data);
event_stream *events_stream_open(fedc_server *s, int64_t run_filter, uint64_t last_event_id);
int events_stream_poll(void *ctx, void *stream, fedc_buf *out);
void events_stream_closed(void *ctx, void *stream);
/* The "server" object of GET /api/server (takes s->mu). */
json_t *server_info_json(fedc_server *s);

/* http_router.c and the route files */
void http_handle(void *ctx, const fedc_http_request *req, fedc_http_response *resp);
void http_json(fedc_http_response *r, int status, json_t *body); /* body stolen */
void http_error(fedc_http_response *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A store read gave nothing: 503 with the recovery path when the store is
 * damaged (from then on the API refuses to serve it), else 500 with why. */
void http_store_failed(fedc_server *s, store *st, fedc_http_response *resp);
/* Authentication; 0 = allowed, else the response is filled (401/403). */
int http_auth_check(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp);
void http_login(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp);
void http_logout(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp);
void http_session(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp);
int http_runs_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest);
int http_nodes_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest);
/* Whether an Accept-Encoding value (outside input, NUL-terminated) accepts
 * coding: the token is listed and not refused with q=0. */
int http_accepts_encoding(const char *ae, const char *coding);
int http_static_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp);
/* /api/intent (http_intent.c): the embedded parser answers at once; LLM
 * requests become jobs on their own threads (the service thread never
 * waits for an endpoint), fetched with GET /api/intent/{job}. */
int http_intent_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest);
/* LLM settings from FEDC_LLM_URL/_MODEL/_KEY, read once at server start. NULL: out of memory. */
intent_service *intent_service_create(void);
/* The server lets go; a job still waiting for its endpoint keeps the rest alive. */
void intent_service_release(intent_service *svc);
/* The body of POST /api/intent: {"request": 1..FEDC_INTENT_REQUEST_MAX bytes,
 * "backend": "builtin" (default) | "llm"}; request must hold cap bytes. */
int intent_request_parse(const uint8_t *body, size_t len, char *request, size_t cap, int *llm, fedc_error *err);
/* /api/searches (http_searches.c): searches from the tune_ tables of the run store. */
int http_searches_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest);
/* GET /api/datasets (http_datasets.c). */
int http_datasets_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest);
/* Adds "rank" to each trial object in fedc tune's leaderboard order. -1: out of memory. */
int searches_rank_trials(json_t *trials);
/* Validates and queues a task (REST and fedc_server_submit). 400-style
 * problems fill issues (JSON array) when non-NULL. */
int server_submit_json(fedc_server *s, const char *json, size_t len, int64_t *id, json_t **issues, fedc_error *err);

#endif
