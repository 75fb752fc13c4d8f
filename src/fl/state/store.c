/* The per-client state store (state.h): an index of every client, a cache
 * of records in memory up to a byte budget, and one spill file that holds
 * the records evicted from the cache (least recently used first). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include "fedc/state.h"

typedef struct index_entry {
    int32_t slot;     /* cache slot, -1 if not in memory */
    uint8_t exists;   /* the client holds a record */
    int64_t file_off; /* where its spilled copy is, -1 if never spilled */
} index_entry;

typedef struct cache_slot {
    int client;       /* -1 = free */
    int pinned;
    uint64_t used;    /* last acquire, for LRU */
    unsigned char *data;
} cache_slot;

struct fedc_state_store {
    pthread_mutex_t mu;
    size_t rb;             /* record bytes */
    int n_clients;
    index_entry *index;
    cache_slot *slots;
    int nslots, slots_cap; /* slots in use; allocated */
    int budget_slots;      /* 0 = unlimited */
    uint64_t tick;
    char dir[512];
    int fd;                /* spill file, -1 until first spill */
    int64_t file_end;
    int64_t *free_offs;    /* spill space of dropped records, reused */
    int nfree, free_cap;
    fedc_state_stats st;
};

fedc_state_store *fedc_state_create(const fedc_state_config *cfg, int n_clients, fedc_error *err) {
    if (!cfg || cfg->record_bytes == 0 || n_clients < 1) {
        fedc_fail(err, "state store: record size and client count must be positive");
        return NULL;
    }
    fedc_state_store *s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "out of memory for the state store");
        return NULL;
    }
    s->rb = cfg->record_bytes;
    s->n_clients = n_clients;
    s->fd = -1;
    s->index = malloc((size_t)n_clients * sizeof *s->index);
    if (!s->index) {
        free(s);
        fedc_fail(err, "out of memory for the state index of %d clients", n_clients);
        return NULL;
    }
    for (int k = 0; k < n_clients; k++) s->index[k] = (index_entry){-1, 0, -1};
    if (cfg->memory_bytes > 0) {
        size_t n = cfg->memory_bytes / s->rb;
        s->budget_slots = n < 1 ? 1 : (n > 1u << 30 ? 1 << 30 : (int)n);
    }
    const char *dir = cfg->spill_dir && cfg->spill_dir[0] ? cfg->spill_dir : getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s", dir && dir[0] ? dir : "/tmp");
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void fedc_state_free(fedc_state_store *s) {
    if (!s) return;
    for (int i = 0; i < s->nslots; i++) free(s->slots[i].data);
    free(s->slots);
    free(s->index);
    free(s->free_offs);
    if (s->fd >= 0) close(s->fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

size_t fedc_state_record_bytes(const fedc_state_store *s) { return s->rb; }

static int open_spill(fedc_state_store *s, fedc_error *err) {
    if (s->fd >= 0) return 0;
    char path[600];
    snprintf(path, sizeof path, "%s/fedc-state-XXXXXX", s->dir);
    s->fd = mkstemp(path);
    if (s->fd < 0) return fedc_fail(err, "state store: cannot create a spill file in %s: %s", s->dir, strerror(errno));
    unlink(path); /* gone with the process, whatever happens */
    return 0;
}

static int write_all(int fd, const void *p, size_t n, int64_t off) {
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n, int64_t off) {
    unsigned char *b = p;
    while (n > 0) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        b += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

/* Writes the record in slot i to the spill file and frees the slot. */
static int evict(fedc_state_store *s, int i, fedc_error *err) {
    cache_slot *c = &s->slots[i];
    index_entry *e = &s->index[c->client];
    if (open_spill(s, err) != 0) return -1;
    if (e->file_off < 0) {
        if (s->nfree > 0) {
            e->file_off = s->free_offs[--s->nfree];
        } else {
            e->file_off = s->file_end;
            s->file_end += (int64_t)s->rb;
            s->st.spill_file_bytes = (uint64_t)s->file_end;
        }
    }
    if (write_all(s->fd, c->data, s->rb, e->file_off) != 0)
        return fedc_fail(err, "state store: writing the spill file failed: %s", strerror(errno));
    s->st.spill_writes++;
    e->slot = -1;
    c->client = -1;
    s->st.resident--;
    return 0;
}

/* A free cache slot: an unused one, a new one within the budget (or when
 * every cached record is pinned), or the least recently used one evicted. */
static int take_slot(fedc_state_store *s, fedc_error *err) {
    for (int i = 0; i < s->nslots; i++)
        if (s->slots[i].client < 0) return i;
    int lru = -1;
    if (s->budget_slots > 0 && s->nslots >= s->budget_slots) {
        for (int i = 0; i < s->nslots; i++)
            if (!s->slots[i].pinned && (lru < 0 || s->slots[i].used < s->slots[lru].used)) lru = i;
    }
    if (lru >= 0) return evict(s, lru, err) == 0 ? lru : -1;
    if (s->nslots == s->slots_cap) {
        int cap = s->slots_cap ? s->slots_cap * 2 : 16;
        cache_slot *ns = realloc(s->slots, (size_t)cap * sizeof *ns);
        if (!ns) return fedc_fail(err, "out of memory for the state cache"), -1;
        s->slots = ns;
        s->slots_cap = cap;
    }
    cache_slot *c = &s->slots[s->nslots];
    c->data = malloc(s->rb);
    if (!c->data) return fedc_fail(err, "out of memory for a %zu-byte client record", s->rb), -1;
    c->client = -1;
    c->pinned = 0;
    c->used = 0;
    return s->nslots++;
}

void *fedc_state_acquire(fedc_state_store *s, int k, fedc_error *err) {
    if (k < 0 || k >= s->n_clients) {
        fedc_fail(err, "state store: client %d is outside 0..%d", k, s->n_clients - 1);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    index_entry *e = &s->index[k];
    void *out = NULL;
    if (e->slot >= 0) {
        cache_slot *c = &s->slots[e->slot];
        c->pinned = 1;
        c->used = ++s->tick;
        out = c->data;
        goto done;
    }
    int i = take_slot(s, err);
    if (i < 0) goto done;
    cache_slot *c = &s->slots[i];
    if (e->exists && e->file_off >= 0) {
        if (read_all(s->fd, c->data, s->rb, e->file_off) != 0) {
            fedc_fail(err, "state store: reading client %d's record from the spill file failed", k);
            goto done;
        }
        s->st.spill_reads++;
    } else {
        memset(c->data, 0, s->rb);
    }
    if (!e->exists) s->st.records++;
    e->exists = 1;
    e->slot = i;
    c->client = k;
    c->pinned = 1;
    c->used = ++s->tick;
    s->st.resident++;
    if (s->st.resident > s->st.resident_peak) s->st.resident_peak = s->st.resident;
    out = c->data;
done:
    pthread_mutex_unlock(&s->mu);
    return out;
}

void fedc_state_release(fedc_state_store *s, int k) {
    if (k < 0 || k >= s->n_clients) return;
    pthread_mutex_lock(&s->mu);
    if (s->index[k].slot >= 0) s->slots[s->index[k].slot].pinned = 0;
    pthread_mutex_unlock(&s->mu);
}

int fedc_state_has(const fedc_state_store *s, int k) {
    return k >= 0 && k < s->n_clients && s->index[k].exists;
}

void fedc_state_drop(fedc_state_store *s, int k) {
    if (k < 0 || k >= s->n_clients) return;
    pthread_mutex_lock(&s->mu);
    index_entry *e = &s->index[k];
    if (e->slot >= 0) {
        s->slots[e->slot].client = -1;
        s->slots[e->slot].pinned = 0;
        s->st.resident--;
    }
    if (e->file_off >= 0) {
        if (s->nfree == s->free_cap) {
            int cap = s->free_cap ? s->free_cap * 2 : 16;
            int64_t *nf = realloc(s->free_offs, (size_t)cap * sizeof *nf);
            if (nf) {
                s->free_offs = nf;
                s->free_cap = cap;
            }
        }
        if (s->nfree < s->free_cap) s->free_offs[s->nfree++] = e->file_off;
    }
    if (e->exists) s->st.records--;
    *e = (index_entry){-1, 0, -1};
    pthread_mutex_unlock(&s->mu);
}

void fedc_state_stats_get(const fedc_state_store *s, fedc_state_stats *out) {
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    *out = s->st;
    out->memory_bytes = (size_t)s->nslots * s->rb;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
}

#define STATE_MAGIC 0x46535431u /* "FST1" */

int fedc_state_save(fedc_state_store *s, FILE *f, fedc_error *err) {
    uint32_t hdr[3] = {STATE_MAGIC, (uint32_t)s->rb, (uint32_t)s->st.records};
    if (s->rb > UINT32_MAX) return fedc_fail(err, "state store: records too large to checkpoint");
    if (fwrite(hdr, sizeof hdr, 1, f) != 1) return fedc_fail(err, "state store: write failed");
    for (int k = 0; k < s->n_clients; k++) {
        if (!s->index[k].exists) continue;
        void *rec = fedc_state_acquire(s, k, err);
        if (!rec) return -1;
        int32_t kk = k;
        int bad = fwrite(&kk, sizeof kk, 1, f) != 1 || fwrite(rec, s->rb, 1, f) != 1;
        fedc_state_release(s, k);
        if (bad) return fedc_fail(err, "state store: write failed");
    }
    return 0;
}

int fedc_state_load(fedc_state_store *s, FILE *f, fedc_error *err) {
    uint32_t hdr[3];
    if (fread(hdr, sizeof hdr, 1, f) != 1 || hdr[0] != STATE_MAGIC)
        return fedc_fail(err, "state store: not a state checkpoint");
    if (hdr[1] != s->rb) return fedc_fail(err, "state store: records are %u bytes; this run has %zu", hdr[1], s->rb);
    if (hdr[2] > (uint32_t)s->n_clients)
        return fedc_fail(err, "state store: %u records for %d clients", hdr[2], s->n_clients);
    for (int k = 0; k < s->n_clients; k++) fedc_state_drop(s, k);
    for (uint32_t i = 0; i < hdr[2]; i++) {
        int32_t k;
        if (fread(&k, sizeof k, 1, f) != 1) return fedc_fail(err, "state store: checkpoint is truncated");
        if (k < 0 || k >= s->n_clients || s->index[k].exists)
            return fedc_fail(err, "state store: record for client %d is out of range or repeated", k);
        void *rec = fedc_state_acquire(s, k, err);
        if (!rec) return -1;
        int bad = fread(rec, s->rb, 1, f) != 1;
        fedc_state_release(s, k);
        if (bad) return fedc_fail(err, "state store: checkpoint is truncated");
    }
    return 0;
}
