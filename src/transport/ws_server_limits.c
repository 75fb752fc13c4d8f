/* What keeps clients from taking the descriptors the server needs:
 *  - per address, at most max_pending connections that have not yet
 *    completed a request (HTTP) or authenticated (nodes): slow or idle
 *    connections from one place cannot pile up (each costs up to three
 *    descriptors, with its relay);
 *  - a reserve of descriptors below the limit that connections never use,
 *    so the run store, checkpoints and model files can always be opened
 *    (without it, a server with its descriptors taken by idle connections
 *    trained on without checkpoints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "transport/ws_server_internal.h"

#define ADDR_BUCKETS 1024

typedef struct addr_count {
    struct addr_count *next;
    char addr[64];
    int pending;
} addr_count;

static unsigned addr_hash(const char *a) {
    unsigned h = 2166136261u;
    for (; *a; a++) h = (h ^ (unsigned char)*a) * 16777619u;
    return h % ADDR_BUCKETS;
}

int limits_init(fedc_ws_server *s, const fedc_ws_server_config *cfg) {
    s->head_timeout_s = cfg->head_timeout_s > 0 ? cfg->head_timeout_s : HEAD_TIMEOUT_S;
    s->body_timeout_s = cfg->body_timeout_s > 0 ? cfg->body_timeout_s : BODY_TIMEOUT_S;
    s->max_pending = cfg->max_pending_per_address > 0 ? cfg->max_pending_per_address : PENDING_PER_ADDRESS;
    struct rlimit rl;
    s->nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 1L << 20;
    /* A quarter of the descriptors, 16 to 256: the store (3 per SQLite
     * connection), a checkpoint and a model file being written, the data
     * set read when a run starts. */
    long reserve = cfg->reserve_fds > 0 ? cfg->reserve_fds : s->nofile / 4;
    if (cfg->reserve_fds <= 0) reserve = reserve < 16 ? 16 : reserve > 256 ? 256 : reserve;
    s->reserve_fds = (int)reserve;
    pthread_mutex_init(&s->addr_mu, NULL);
    s->addrs = calloc(ADDR_BUCKETS, sizeof *s->addrs);
    return s->addrs ? 0 : -1;
}

void limits_free(fedc_ws_server *s) {
    if (s->addrs)
        for (int i = 0; i < ADDR_BUCKETS; i++)
            for (addr_count *a = s->addrs[i], *n; a; a = n) {
                n = a->next;
                free(a);
            }
    free(s->addrs);
    s->addrs = NULL;
    pthread_mutex_destroy(&s->addr_mu);
}

int limits_pending_take(fedc_ws_server *s, const char *peer) {
    unsigned h = addr_hash(peer);
    int rc = -1;
    pthread_mutex_lock(&s->addr_mu);
    addr_count *a = s->addrs[h];
    while (a && strcmp(a->addr, peer) != 0) a = a->next;
    if (!a && (a = calloc(1, sizeof *a)) != NULL) {
        snprintf(a->addr, sizeof a->addr, "%s", peer);
        a->next = s->addrs[h];
        s->addrs[h] = a;
    }
    if (a && a->pending < s->max_pending) {
        a->pending++;
        rc = 0;
    }
    pthread_mutex_unlock(&s->addr_mu);
    return rc;
}

void limits_pending_give(fedc_ws_server *s, const char *peer) {
    unsigned h = addr_hash(peer);
    pthread_mutex_lock(&s->addr_mu);
    for (addr_count **pp = &s->addrs[h]; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->addr, peer)) {
            addr_count *a = *pp;
            if (--a->pending <= 0) {
                *pp = a->next;
                free(a);
            }
            break;
        }
    pthread_mutex_unlock(&s->addr_mu);
}

void limits_pending_release(fedc_ws_conn *c) {
    if (atomic_exchange(&c->pending, 0)) limits_pending_give(c->srv, c->peer);
}

/* Descriptors are handed out lowest first, so a new one's number says how
 * many are in use. A relay (two more for HTTP) may reach into half the
 * reserve: it is then refused with a status rather than silently. */
int limits_fd_reserved(const fedc_ws_server *s, int fd, int relay) {
    long limit = s->nofile - (relay ? s->reserve_fds / 2 : s->reserve_fds);
    return fd >= limit;
}

void fedc_ws_conn_authenticated(fedc_ws_conn *c) { limits_pending_release(c); }
