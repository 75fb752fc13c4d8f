/* The data catalog's internals (private to src/data): the built-in table,
 * the catalog object, file digests, the cache's bookkeeping files. */
#ifndef FEDC_DATA_CATALOG_INTERNAL_H
#define FEDC_DATA_CATALOG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/catalog.h"

struct fedc_catalog {
    int n;
    fedc_catalog_entry *entries;
};

const fedc_catalog_entry *catalog_builtin_entries(int *n);
/* Whether s is the entry's name or one of its aliases (any case). */
int catalog_name_matches(const fedc_catalog_entry *e, const char *s);

/* SHA-256 of a whole file as lowercase hex. */
int data_sha256_file(const char *path, char hex[65], fedc_error *err);

/* Path helpers: out = dir + "/" + name; an error when it does not fit. */
int data_join(char *out, size_t cap, const char *dir, const char *name, fedc_error *err);
/* Size of a regular file, or -1 when there is none. */
int64_t data_file_size(const char *path);
/* mkdir -p. */
int data_mkdirs(const char *path, fedc_error *err);

/* A cached file is recorded as verified by "<dir>/.<name>.verified" holding
 * its SHA-256, size and modification time: a later use checks only that
 * size and time still match. */
int data_stamp_ok(const char *dir, const char *name, const char *sha256);
int data_stamp_write(const char *dir, const char *name, const char *sha256, fedc_error *err);
void data_stamp_remove(const char *dir, const char *name);

#endif
