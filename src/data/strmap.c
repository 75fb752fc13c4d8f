/* Open-addressing string map with linear probing, kept at most half full. */
#include "data/strmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static strmap_slot *find_slot(strmap_slot *slots, size_t cap, const char *key, size_t len,
                              uint64_t h) {
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].key &&
           !(slots[i].hash == h && slots[i].len == len && memcmp(slots[i].key, key, len) == 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

int strmap_get(const strmap *m, const char *key, size_t len) {
    if (!m->slots)
        return -1;
    strmap_slot *s = find_slot(m->slots, m->cap, key, len, fnv1a(key, len));
    return s->key ? s->value : -1;
}

static int grow(strmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 16;
    strmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        *find_slot(ns, ncap, m->slots[i].key, m->slots[i].len, m->slots[i].hash) = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int strmap_put(strmap *m, const char *key, size_t len, int value) {
    if ((m->count + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    uint64_t h = fnv1a(key, len);
    strmap_slot *s = find_slot(m->slots, m->cap, key, len, h);
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    s->key = copy;
    s->len = len;
    s->hash = h;
    s->value = value;
    m->count++;
    return 0;
}

void strmap_free(strmap *m) {
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}
