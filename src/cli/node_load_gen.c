/* `fedc node --load-gen N`: N authenticated node connections from one
 * process, for benchmarks of the server. Every connection is an echo node
 * (it answers each TRAIN with the model unchanged: a zero update, through
 * the task's codec and framing, without training) with its own credential,
 * since the server knows a node by its credential. Each runs the ordinary
 * node loop (fedc_node_run) on a thread of its own, so the wire behaviour
 * is exactly a node's: TLS, authentication, reconnects with backoff. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/node_load_gen.h"
#include "fedc/log.h"

/* The node loop keeps its task and a few paths on the stack: 2 MiB is
 * ample, and only touched pages take memory. */
#define LOAD_GEN_STACK (2u << 20)

typedef struct load_conn {
    fedc_node_config cfg;
    char path[1024];
    pthread_t th;
    int started, rc;
    fedc_error err;
} load_conn;

static void *conn_main(void *arg) {
    load_conn *c = arg;
    c->rc = fedc_node_run(&c->cfg, &c->err);
    return NULL;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The first n credential files (*.pem) of dir, in name order. */
static char **credential_files(const char *dir, int n, fedc_error *err) {
    DIR *d = opendir(dir);
    if (!d) {
        fedc_fail(err, "--credential %s: with --load-gen, a folder of credential files: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".pem") != 0) continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 256;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) break;
            names = grown;
        }
        if (!(names[count] = strdup(e->d_name))) break;
        count++;
    }
    closedir(d);
    if (count < (size_t)n) {
        for (size_t i = 0; i < count; i++) free(names[i]);
        free(names);
        fedc_fail(err, "--credential %s holds %zu credential files (*.pem); --load-gen %d needs one per connection",
                  dir, count, n);
        return NULL;
    }
    qsort(names, count, sizeof *names, by_name);
    for (size_t i = (size_t)n; i < count; i++) free(names[i]);
    return names;
}

/* Each connection holds a socket and an eventfd: lift the soft limit on
 * descriptors to the hard one. */
static void raise_nofile(int n) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n * 3 + 64)
        FEDC_WARN("load-gen: %d connections need about %d descriptors; the limit is %llu", n, n * 3 + 64,
                  (unsigned long long)rl.rlim_cur);
}

int fedc_node_load_gen(const fedc_node_config *base, int n, fedc_error *err) {
    char **names = credential_files(base->credential_path, n, err);
    if (!names) return -1;
    load_conn *conns = calloc((size_t)n, sizeof *conns);
    if (!conns) {
        for (int i = 0; i < n; i++) free(names[i]);
        free(names);
        return fedc_fail(err, "out of memory for %d connections", n);
    }
    raise_nofile(n);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, LOAD_GEN_STACK);
    int started = 0;
    for (int i = 0; i < n; i++) {
        load_conn *c = &conns[i];
        snprintf(c->path, sizeof c->path, "%s/%s", base->credential_path, names[i]);
        c->cfg = *base;
        c->cfg.credential_path = c->path;
        c->cfg.echo = 1;
        c->cfg.data_spec = "none";
        c->cfg.state_dir = NULL;
        int e = pthread_create(&c->th, &attr, conn_main, c);
        if (e != 0) {
            FEDC_ERROR("load-gen: connection %d of %d: cannot start its thread: %s", i + 1, n, strerror(e));
            *base->stop = 1; /* the others leave too: a partial load measures nothing */
            break;
        }
        c->started = 1;
        started++;
    }
    pthread_attr_destroy(&attr);
    FEDC_INFO("load-gen: %d of %d connections started", started, n);
    int failed = 0, rc = started == n ? 0 : -1;
    for (int i = 0; i < n; i++) {
        if (!conns[i].started) continue;
        pthread_join(conns[i].th, NULL);
        if (conns[i].rc != 0 && failed++ == 0)
            fedc_fail(err, "load-gen: %s: %s", conns[i].path, conns[i].err.msg);
    }
    if (failed) {
        FEDC_ERROR("load-gen: %d of %d connections ended with an error", failed, started);
        rc = -1;
    } else if (rc != 0) {
        fedc_fail(err, "load-gen: only %d of %d connections could start", started, n);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(conns);
    return rc;
}
