#include "fedc/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct fedc_pool {
    int size;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t work_cv, done_cv;
    /* Current job: workers take indices from `next` until `n`. */
    fedc_pool_fn fn;
    void *ctx;
    size_t n, next;
    int active;      /* workers still inside the current job */
    unsigned long generation;
    int stop;
};

int fedc_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void run_items(fedc_pool *p, int worker) {
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->n) return;
        p->fn(p->ctx, i, worker);
    }
}

typedef struct {
    fedc_pool *pool;
    int id;
} worker_arg;

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    fedc_pool *p = wa.pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->lock);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_items(p, wa.id);
        pthread_mutex_lock(&p->lock);
        if (--p->active == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

fedc_pool *fedc_pool_create(int nthreads) {
    if (nthreads <= 0) nthreads = fedc_cpu_count();
    fedc_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->size = nthreads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->threads = calloc((size_t)nthreads, sizeof *p->threads);
    if (!p->threads) {
        p->size = 1; /* no worker to stop */
        fedc_pool_destroy(p);
        return NULL;
    }
    for (int i = 1; i < nthreads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) {
            wa->pool = p;
            wa->id = i;
        }
        if (!wa || pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            /* Stop the workers started so far: a pool is all its threads or none. */
            free(wa);
            p->size = i;
            fedc_pool_destroy(p);
            return NULL;
        }
    }
    return p;
}

void fedc_pool_destroy(fedc_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->size; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p);
}

int fedc_pool_size(const fedc_pool *p) { return p ? p->size : 1; }

void fedc_pool_for(fedc_pool *p, size_t n, fedc_pool_fn fn, void *ctx) {
    if (!p || p->size == 1 || n <= 1) {
        for (size_t i = 0; i < n; i++) fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->next = 0;
    p->active = p->size - 1;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->lock);
    run_items(p, 0);
    pthread_mutex_lock(&p->lock);
    while (p->active > 0) pthread_cond_wait(&p->done_cv, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
