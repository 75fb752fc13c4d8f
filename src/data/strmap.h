/* String -> int map (open addressing, FNV-1a) for CSV column names and
 * class names. Keys are copied; lookups take (pointer, length) so cells
 * need not be NUL-terminated. Private to src/data. */
#ifndef FEDC_DATA_STRMAP_H
#define FEDC_DATA_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct strmap_slot {
    char *key; /* NUL-terminated copy; NULL = empty slot */
    size_t len;
    uint64_t hash;
    int value;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t cap, count; /* cap is a power of two */
} strmap;

/* Value for key, or -1 if absent. */
int strmap_get(const strmap *m, const char *key, size_t len);
/* Adds key -> value (key must be absent). Returns 0, or -1 out of memory. */
int strmap_put(strmap *m, const char *key, size_t len, int value);
void strmap_free(strmap *m);

#endif
