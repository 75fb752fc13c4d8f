/* The server endpoint: one listening socket, one network thread per core
 * (epoll) owning the accepted connections, and libwebsockets for HTTP on
 * its own thread (see ws_server_internal.h for who touches what). */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fedc/log.h"
#include "fedc/timer.h"
#include "transport/ws_server_internal.h"

#define MAX_THREADS 16
#define TIMER_MS 250
#define ACCEPT_PAUSE_S 0.5
#define NOFILE_WANTED 65536 /* descriptors: one per node, three per relayed HTTP connection */

void dispatch_lock(fedc_ws_server *s) { pthread_mutex_lock(&s->dispatch_mu); }
void dispatch_unlock(fedc_ws_server *s) { pthread_mutex_unlock(&s->dispatch_mu); }

/* ---- recycled message buffers --------------------------------------- */

void fedc_ws_server_recycle(fedc_ws_server *s, fedc_buf *b) {
    if (!s || !b->data) {
        fedc_buf_free(b);
        return;
    }
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool < s->node_conns) {
        if (s->npool == s->pool_cap) {
            size_t ncap = s->pool_cap ? 2 * s->pool_cap : 16;
            fedc_buf *n = realloc(s->pool, ncap * sizeof *n);
            if (n) {
                s->pool = n;
                s->pool_cap = ncap;
            }
        }
        if (s->npool < s->pool_cap) {
            b->len = 0;
            s->pool[s->npool++] = *b;
            memset(b, 0, sizeof *b);
        }
    }
    pthread_mutex_unlock(&s->pool_mu);
    fedc_buf_free(b); /* not kept: no-op if it was */
}

void pool_take(fedc_ws_server *s, fedc_buf *msg) {
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool) *msg = s->pool[--s->npool];
    pthread_mutex_unlock(&s->pool_mu);
}

/* Keeps no more buffers than there are connections to use them. */
void pool_node_count(fedc_ws_server *s, int delta) {
    pthread_mutex_lock(&s->pool_mu);
    s->node_conns = (size_t)((long)s->node_conns + delta);
    while (s->npool > s->node_conns) fedc_buf_free(&s->pool[--s->npool]);
    pthread_mutex_unlock(&s->pool_mu);
}

/* ---- network threads ---------------------------------------------------- */

void net_wake(net_thread *nt) {
    uint64_t one = 1;
    ssize_t n = write(nt->evfd, &one, sizeof one);
    (void)n; /* a full counter still wakes */
}

void net_mark_dirty(fedc_ws_conn *c) {
    /* c->mu is held by the caller */
    if (c->dirty) return;
    c->dirty = 1;
    net_thread *nt = c->nt;
    pthread_mutex_lock(&nt->mu);
    int first = nt->dirty == NULL; /* otherwise a wake is already on its way */
    c->dirty_next = nt->dirty;
    nt->dirty = c;
    pthread_mutex_unlock(&nt->mu);
    if (first) net_wake(nt);
}

/* Out of descriptors: the pending connection stays queued and the listening
 * socket stays readable, so stop watching it for a moment (not spin). */
static void pause_accepting(net_thread *nt, int err) {
    fedc_ws_server *s = nt->srv;
    FEDC_WARN("cannot accept more connections now (%s); %zu are open on this thread; retrying in %.1f s",
              strerror(err), nt->nconns, ACCEPT_PAUSE_S);
    epoll_ctl(nt->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
    nt->accept_paused_until = fedc_wall_s() + ACCEPT_PAUSE_S;
}

static void resume_accepting(net_thread *nt, double now) {
    if (nt->accept_paused_until == 0 || now < nt->accept_paused_until) return;
    nt->accept_paused_until = 0;
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &nt->listen_ref};
    epoll_ctl(nt->epfd, EPOLL_CTL_ADD, nt->srv->listen_fd, &lev);
}

/* A connection refused at accept (its address has too many pending, or
 * descriptors are down to the reserve): closed at once, logged at most
 * once a second with how many were refused meanwhile. */
static void refuse_accepted(net_thread *lt, int fd, const char *peer, const char *why) {
    close(fd);
    lt->refused_since_log++;
    double now = fedc_wall_s();
    if (now - lt->last_refusal_log < 1.0) return;
    FEDC_WARN("refused %lu connection%s (last from %s): %s", lt->refused_since_log,
              lt->refused_since_log == 1 ? "" : "s", peer, why);
    lt->last_refusal_log = now;
    lt->refused_since_log = 0;
}

static void accept_all(net_thread *lt) {
    fedc_ws_server *s = lt->srv;
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) pause_accepting(lt, errno);
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                FEDC_WARN("accepting a connection failed: %s", strerror(errno));
            return;
        }
        char host[64] = "", serv[16];
        if (getnameinfo((struct sockaddr *)&sa, sl, host, sizeof host, serv, sizeof serv,
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0)
            snprintf(host, sizeof host, "?");
        /* An IPv4 client on an IPv6 socket: show the IPv4 address. */
        const char *peer = !strncmp(host, "::ffff:", 7) && strchr(host, '.') ? host + 7 : host;
        if (limits_fd_reserved(s, fd, 0)) {
            char why[200];
            snprintf(why, sizeof why, "out of descriptors for connections (%d of %ld are kept for the run store and "
                                      "checkpoints)", s->reserve_fds, s->nofile);
            refuse_accepted(lt, fd, peer, why);
            continue;
        }
        if (limits_pending_take(s, peer) != 0) {
            char why[200];
            snprintf(why, sizeof why, "%d connections from this address have not yet completed a request or "
                                      "authenticated (--max-unauth-per-address)", s->max_pending);
            refuse_accepted(lt, fd, peer, why);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fedc_ws_conn *c = conn_new(s, fd, peer);
        if (!c) {
            limits_pending_give(s, peer);
            close(fd);
            continue;
        }
        atomic_store(&c->pending, 1);
        net_thread *nt = &s->threads[atomic_fetch_add(&s->next_thread, 1) % (unsigned)s->nthreads];
        c->nt = nt;
        pthread_mutex_lock(&nt->mu);
        c->next = nt->inbox;
        nt->inbox = c;
        pthread_mutex_unlock(&nt->mu);
        net_wake(nt);
    }
}

static void take_inbox_and_dirty(net_thread *nt) {
    pthread_mutex_lock(&nt->mu);
    fedc_ws_conn *in = nt->inbox, *d = nt->dirty;
    nt->inbox = nt->dirty = NULL;
    pthread_mutex_unlock(&nt->mu);
    while (in) {
        fedc_ws_conn *n = in->next;
        conn_attach(nt, in);
        in = n;
    }
    while (d) {
        fedc_ws_conn *n = d->dirty_next;
        pthread_mutex_lock(&d->mu);
        d->dirty = 0;
        pthread_mutex_unlock(&d->mu);
        conn_on_dirty(d);
        d = n;
    }
}

static void *net_main(void *arg) {
    net_thread *nt = arg;
    fedc_ws_server *s = nt->srv;
    struct epoll_event evs[64];
    double next_timer = fedc_wall_s() + TIMER_MS / 1000.0;
    while (!atomic_load(&s->stop)) {
        int n = epoll_wait(nt->epfd, evs, 64, nt->ready ? 0 : TIMER_MS);
        if (n < 0 && errno != EINTR) {
            FEDC_ERROR("network thread %d: epoll_wait failed: %s", nt->index, strerror(errno));
            break;
        }
        for (int k = 0; k < n; k++) {
            ep_ref *r = evs[k].data.ptr;
            if (r == &nt->ev_ref) {
                uint64_t v;
                ssize_t rd = read(nt->evfd, &v, sizeof v);
                (void)rd;
            } else if (r == &nt->listen_ref) {
                accept_all(nt);
            } else {
                conn_on_event(r->c, r->relay, evs[k].events);
            }
        }
        /* Connections whose read budget ran out (TLS may hold whole
         * records that the socket no longer signals). */
        fedc_ws_conn *ready = nt->ready;
        nt->ready = NULL;
        while (ready) {
            fedc_ws_conn *next = ready->ready_next;
            ready->in_ready = 0;
            conn_read_more(ready);
            ready = next;
        }
        take_inbox_and_dirty(nt);
        conn_free_dead(nt);
        double now = fedc_wall_s();
        if (now >= next_timer) {
            next_timer = now + TIMER_MS / 1000.0;
            resume_accepting(nt, now);
            for (fedc_ws_conn *c = nt->conns, *next; c; c = next) {
                next = c->next;
                conn_on_timer(c, now);
            }
            conn_free_dead(nt);
        }
    }
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int listen_on(fedc_ws_server *s, const char *bind_addr, int port, fedc_error *err) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int gr = getaddrinfo(bind_addr, ps, &hints, &res);
    if (gr != 0) return fedc_fail(err, "cannot listen on %s:%d: %s", bind_addr, port, gai_strerror(gr));
    int fd = -1, last = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
            last = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) return fedc_fail(err, "cannot listen on %s:%d: %s", bind_addr, port, strerror(last));
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    s->port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    s->listen_fd = fd;
    return 0;
}

static int accept_any_client_cert(int preverify_ok, X509_STORE_CTX *ctx) {
    (void)preverify_ok;
    (void)ctx;
    return 1;
}

static int tls_setup(fedc_ws_server *s, const fedc_ws_server_config *cfg, fedc_error *err) {
    s->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (!s->ssl_ctx) return fedc_fail(err, "cannot create a TLS context");
    SSL_CTX_set_min_proto_version(s->ssl_ctx, TLS1_2_VERSION);
    /* AES-128-GCM first and the server's order decides (AES-NI; every round
     * moves a model per node each way through it). */
    SSL_CTX_set_ciphersuites(s->ssl_ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    SSL_CTX_set_options(s->ssl_ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    /* Read-ahead: one read() takes many records (the loop drains what
     * OpenSSL holds, which poll cannot see). Idle connections give their
     * buffers back. */
    SSL_CTX_set_read_ahead(s->ssl_ctx, 1);
    SSL_CTX_set_default_read_buffer_len(s->ssl_ctx, 4 * 16384 + 1024);
    SSL_CTX_set_mode(s->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    char eb[256];
    if (SSL_CTX_use_certificate_chain_file(s->ssl_ctx, cfg->cert_path) != 1) {
        ERR_error_string_n(ERR_get_error(), eb, sizeof eb);
        return fedc_fail(err, "cannot use the server certificate %s: %s", cfg->cert_path, eb);
    }
    if (SSL_CTX_use_PrivateKey_file(s->ssl_ctx, cfg->key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s->ssl_ctx) != 1) {
        ERR_error_string_n(ERR_get_error(), eb, sizeof eb);
        return fedc_fail(err, "cannot use the server key %s: %s", cfg->key_path, eb);
    }
    if (cfg->client_ca_path) {
        /* Optional client certificates: the CA's name in the request lets a
         * node's TLS stack pick its credential and a browser none; any
         * certificate is accepted here and checked by the server layer. */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_path);
        if (!names) {
            ERR_error_string_n(ERR_get_error(), eb, sizeof eb);
            return fedc_fail(err, "cannot read the CA certificate %s: %s", cfg->client_ca_path, eb);
        }
        SSL_CTX_set_client_CA_list(s->ssl_ctx, names);
        SSL_CTX_set_verify(s->ssl_ctx, SSL_VERIFY_PEER, accept_any_client_cert);
    }
    return 0;
}

static void free_server(fedc_ws_server *s) {
    if (s->listen_fd >= 0) close(s->listen_fd);
    for (int i = 0; i < s->nthreads; i++) {
        net_thread *nt = &s->threads[i];
        if (nt->epfd >= 0) close(nt->epfd);
        if (nt->evfd >= 0) close(nt->evfd);
        fedc_buf_free(&nt->spare_out);
        pthread_mutex_destroy(&nt->mu);
    }
    free(s->threads);
    if (s->ssl_ctx) SSL_CTX_free(s->ssl_ctx);
    for (size_t i = 0; i < s->npool; i++) fedc_buf_free(&s->pool[i]);
    free(s->pool);
    free(s->adopt);
    free(s->peers);
    limits_free(s);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_mutex_destroy(&s->dispatch_mu);
    pthread_mutex_destroy(&s->adopt_mu);
    free(s);
}

static int thread_count(int want) {
    if (want > 0) return want > MAX_THREADS ? MAX_THREADS : want;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

/* Distributions start processes with a soft limit of 1024 descriptors;
 * a server for hundreds of nodes raises it towards the hard limit. */
static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= NOFILE_WANTED) return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > NOFILE_WANTED ? NOFILE_WANTED : rl.rlim_max;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

fedc_ws_server *fedc_ws_server_start(const fedc_ws_server_config *cfg, const fedc_ws_server_ops *ops,
                                     void *user, fedc_error *err) {
    fedc_ws_log_setup();
    raise_nofile();
    fedc_ws_server *s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "out of memory starting the server");
        return NULL;
    }
    s->ops = ops;
    s->user = user;
    s->tls = cfg->tls;
    s->listen_fd = -1;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_mutex_init(&s->dispatch_mu, NULL);
    pthread_mutex_init(&s->adopt_mu, NULL);
    s->max_message = cfg->max_message ? cfg->max_message : 65536;
    if (limits_init(s, cfg) != 0) {
        fedc_fail(err, "out of memory starting the server");
        free_server(s);
        return NULL;
    }
    snprintf(s->node_path, sizeof s->node_path, "%s", cfg->node_path ? cfg->node_path : "/node");
    const char *bind_addr = cfg->bind ? cfg->bind : "127.0.0.1";
    s->nthreads = thread_count(cfg->threads);
    s->threads = calloc((size_t)s->nthreads, sizeof *s->threads);
    if (!s->threads) {
        fedc_fail(err, "out of memory starting the server");
        free_server(s);
        return NULL;
    }
    for (int i = 0; i < s->nthreads; i++) {
        net_thread *nt = &s->threads[i];
        nt->srv = s;
        nt->index = i;
        pthread_mutex_init(&nt->mu, NULL);
        nt->epfd = epoll_create1(EPOLL_CLOEXEC);
        nt->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    }
    if ((cfg->tls && tls_setup(s, cfg, err) != 0) || listen_on(s, bind_addr, cfg->port, err) != 0) {
        free_server(s);
        return NULL;
    }
    for (int i = 0; i < s->nthreads; i++) {
        net_thread *nt = &s->threads[i];
        nt->ev_ref = (ep_ref){NULL, 0};
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &nt->ev_ref};
        if (nt->epfd < 0 || nt->evfd < 0 || epoll_ctl(nt->epfd, EPOLL_CTL_ADD, nt->evfd, &ev) != 0) {
            fedc_fail(err, "cannot set up network thread %d: %s", i, strerror(errno));
            free_server(s);
            return NULL;
        }
    }
    net_thread *t0 = &s->threads[0];
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &t0->listen_ref};
    if (epoll_ctl(t0->epfd, EPOLL_CTL_ADD, s->listen_fd, &lev) != 0) {
        fedc_fail(err, "cannot watch the listening socket: %s", strerror(errno));
        free_server(s);
        return NULL;
    }
    if (http_start(s, err) != 0) {
        free_server(s);
        return NULL;
    }
    for (int i = 0; i < s->nthreads; i++) {
        if (pthread_create(&s->threads[i].thread, NULL, net_main, &s->threads[i]) != 0) {
            fedc_fail(err, "cannot start network thread %d", i);
            fedc_ws_server_stop(s);
            return NULL;
        }
        s->threads[i].started = 1;
    }
    FEDC_DEBUG("listening on %s:%d (%s), %d network threads", bind_addr, s->port, s->tls ? "TLS" : "plain",
               s->nthreads);
    return s;
}

int fedc_ws_server_port(const fedc_ws_server *s) { return s ? s->port : -1; }

void fedc_ws_server_wake(fedc_ws_server *s) {
    if (s) http_wake(s);
}

void fedc_ws_server_stop(fedc_ws_server *s) {
    if (!s) return;
    atomic_store(&s->stop, 1);
    for (int i = 0; i < s->nthreads; i++)
        if (s->threads[i].started) {
            net_wake(&s->threads[i]);
            pthread_join(s->threads[i].thread, NULL);
        }
    /* Every connection, relays included, goes before lws. */
    for (int i = 0; i < s->nthreads; i++) {
        net_thread *nt = &s->threads[i];
        take_inbox_and_dirty(nt);
        while (nt->conns) conn_destroy(nt->conns, "the server is stopping");
        conn_free_dead(nt);
    }
    http_stop(s);
    free_server(s);
}
