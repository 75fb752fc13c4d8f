/* Clients whose data is generated when used (dataset synthetic): each
 * thread keeps the last client it generated, training and test samples
 * apart, so a round holds one client's data per worker thread and a
 * federation of a million clients holds none of theirs in between. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "fedc/log.h"

typedef struct lazy_entry {
    uint64_t owner; /* 0 = empty */
    int client;
    fedc_dataset ds;
    uint32_t *ids; /* 0, 1, 2, ...: the index a whole-client view needs */
    size_t ids_n;
} lazy_entry;

/* [0] test, [1] training samples: both views stay valid side by side. */
typedef struct lazy_cache {
    lazy_entry e[2];
} lazy_cache;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static atomic_uint_fast64_t g_owners;

static void cache_free(void *p) {
    lazy_cache *c = p;
    if (!c) return;
    for (int i = 0; i < 2; i++) {
        fedc_dataset_free(&c->e[i].ds);
        free(c->e[i].ids);
    }
    free(c);
}

static void key_init(void) {
    if (pthread_key_create(&g_key, cache_free) != 0) FEDC_WARN("lazy client data: no thread-specific key");
}

uint64_t fedc_engine_lazy_owner(void) { return (uint64_t)atomic_fetch_add(&g_owners, 1) + 1; }

static lazy_cache *cache_get(int create) {
    pthread_once(&g_once, key_init);
    lazy_cache *c = pthread_getspecific(g_key);
    if (!c && create && (c = calloc(1, sizeof *c)) && pthread_setspecific(g_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

int fedc_engine_lazy_client(uint64_t owner, const fedc_synthetic_config *cfg, int client, int train,
                            fedc_client_data *cd, fedc_error *err) {
    lazy_cache *c = cache_get(1);
    if (!c) return fedc_fail(err, "out of memory for client %d's generated data", client);
    lazy_entry *e = &c->e[train ? 1 : 0];
    if (e->owner != owner || e->client != client) {
        fedc_dataset_free(&e->ds);
        e->owner = 0;
        if (fedc_synthetic_client(cfg, client, train, &e->ds, err) != 0) return -1;
        e->owner = owner;
        e->client = client;
    }
    if (e->ids_n < e->ds.n) {
        uint32_t *grown = realloc(e->ids, e->ds.n * sizeof *grown);
        if (!grown) return fedc_fail(err, "out of memory for client %d's sample ids", client);
        for (size_t i = e->ids_n; i < e->ds.n; i++) grown[i] = (uint32_t)i;
        e->ids = grown;
        e->ids_n = e->ds.n;
    }
    cd->data = &e->ds;
    cd->index = e->ids;
    cd->n = e->ds.n;
    return 0;
}

void fedc_engine_lazy_release(uint64_t owner) {
    lazy_cache *c = cache_get(0);
    if (!c) return;
    for (int i = 0; i < 2; i++)
        if (c->e[i].owner == owner) {
            fedc_dataset_free(&c->e[i].ds);
            c->e[i].owner = 0;
        }
}
