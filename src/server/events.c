/* The live feed: a ring of the last EVENT_RING events, published by any
 * thread and streamed to every open /api/events connection as server-sent
 * events. A stream that falls behind the ring gets "resync" and refetches
 * over REST. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/timer.h"
#include "fedc/version.h"
#include "server/server_internal.h"

#define KEEPALIVE_S 15.0

void events_init(events *e) {
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->mu, NULL);
    e->next_seq = 1;
}

void events_free(events *e) {
    for (int i = 0; i < EVENT_RING; i++) free(e->ring[i].data);
    pthread_mutex_destroy(&e->mu);
}

void events_publish(fedc_server *s, const char *type, int64_t run_id, json_t *data) {
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(data);
    if (!text) return;
    pthread_mutex_lock(&s->ev.mu);
    event *ev = &s->ev.ring[s->ev.next_seq % EVENT_RING];
    free(ev->data);
    ev->seq = s->ev.next_seq++;
    ev->run_id = run_id;
    snprintf(ev->type, sizeof ev->type, "%s", type);
    ev->data = text;
    pthread_mutex_unlock(&s->ev.mu);
    if (s->ws) fedc_ws_server_wake(s->ws);
}

json_t *server_info_json(fedc_server *s) {
    json_t *active = json_array();
    pthread_mutex_lock(&s->mu);
    int online = s->online;
    int64_t oldest = s->active ? s->active->id : 0;
    for (active_run *ar = s->active; ar; ar = ar->next) json_array_append_new(active, json_integer(ar->id));
    pthread_mutex_unlock(&s->mu);
    json_t *queued = json_array();
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db_net.db, "SELECT id FROM runs WHERE status='queued' ORDER BY id", -1, &q, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(q) == SQLITE_ROW) json_array_append_new(queued, json_integer(sqlite3_column_int64(q, 0)));
    }
    sqlite3_finalize(q);
    char damage[400];
    server_store_damage(s, damage, sizeof damage);
    return json_pack("{s:s,s:b,s:s,s:s,s:f,s:i,s:o,s:o,s:i,s:o,s:{s:b,s:o},s:o}", "version", FEDC_VERSION, "tls",
                     !s->cfg.insecure, "node_url", s->node_url, "dashboard_url", s->dashboard_url, "started_at",
                     s->started_at, "nodes_online", online, "active_run", oldest ? json_integer(oldest) : json_null(),
                     "active_runs", active, "max_active_runs", s->cfg.max_active_runs, "queued_runs", queued, "store",
                     "ok", !damage[0], "damage", damage[0] ? json_string(damage) : json_null(), "upstream",
                     upstream_info_json(s));
}

event_stream *events_stream_open(fedc_server *s, int64_t run_filter, uint64_t last_event_id) {
    event_stream *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->run_filter = run_filter;
    json_t *hello = json_pack("{s:o}", "server", server_info_json(s));
    st->hello = hello ? json_dumps(hello, JSON_COMPACT) : NULL;
    json_decref(hello);
    pthread_mutex_lock(&s->ev.mu);
    st->next_seq = last_event_id ? last_event_id + 1 : s->ev.next_seq;
    pthread_mutex_unlock(&s->ev.mu);
    st->last_write = fedc_wall_s();
    return st;
}

/* Appends one whole event (head, data, blank line) or nothing: a stream
 * never carries half an event, even when memory runs out. */
static int append_event(fedc_buf *out, const char *head, size_t hn, const char *data, size_t dn) {
    size_t len = out->len;
    if (fedc_buf_append(out, head, hn) != 0 || fedc_buf_append(out, data, dn) != 0 ||
        fedc_buf_append(out, "\n\n", 2) != 0) {
        out->len = len;
        return -1;
    }
    return 0;
}

int events_stream_poll(void *ctx, void *stream, fedc_buf *out) {
    fedc_server *s = ctx;
    event_stream *st = stream;
    char head[96];
    if (!st->hello_sent) {
        /* No id on hello: it must not move Last-Event-ID. */
        int n = snprintf(head, sizeof head, "event: hello\ndata: ");
        const char *h = st->hello ? st->hello : "{}";
        if (append_event(out, head, (size_t)n, h, strlen(h)) == 0) st->hello_sent = 1;
    }
    pthread_mutex_lock(&s->ev.mu);
    uint64_t newest = s->ev.next_seq; /* exclusive */
    uint64_t oldest = newest > EVENT_RING ? newest - EVENT_RING : 1;
    if (st->next_seq > newest) st->next_seq = newest; /* an id from before a restart */
    if (st->next_seq < oldest) {
        int n = snprintf(head, sizeof head, "event: resync\ndata: ");
        if (append_event(out, head, (size_t)n, "{}", 2) == 0) st->next_seq = newest;
    }
    for (; st->next_seq < newest; st->next_seq++) {
        const event *ev = &s->ev.ring[st->next_seq % EVENT_RING];
        if (ev->seq != st->next_seq || !ev->data) continue;
        if (st->run_filter && ev->run_id && ev->run_id != st->run_filter) continue;
        int n = snprintf(head, sizeof head, "id: %" PRIu64 "\nevent: %s\ndata: ", ev->seq, ev->type);
        /* Out of memory: stop here; the next poll resumes at this event. */
        if (append_event(out, head, (size_t)n, ev->data, strlen(ev->data)) != 0) break;
    }
    pthread_mutex_unlock(&s->ev.mu);
    double now = fedc_wall_s();
    if (out->len == 0 && now - st->last_write >= KEEPALIVE_S && fedc_buf_append(out, ": keep-alive\n\n", 14) != 0)
        out->len = 0;
    if (out->len) st->last_write = now;
    return 0;
}

void events_stream_closed(void *ctx, void *stream) {
    (void)ctx;
    event_stream *st = stream;
    if (!st) return;
    free(st->hello);
    free(st);
}
