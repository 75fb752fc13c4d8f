/* The per-client state store: one fixed-size record per client (control
 * variates, correction vectors, error-feedback residuals, optimizer state,
 * participation tables, personal models), created lazily the first time a
 * client needs one. Memory grows with the clients that hold state, not with
 * the federation, and is capped: past the budget, the least recently used
 * records are written to a spill file and read back when needed, so a
 * 100,000-client SCAFFOLD task runs in bounded memory.
 *
 * A record is raw bytes; whoever creates the store decides its layout
 * (fedc_trainer_record_size in engine.h for the client side). New records
 * read as zeros. The store is thread-safe: distinct clients may be acquired
 * by distinct threads at once; one client must not be acquired twice at
 * the same time. Beyond the records it keeps 16 bytes per client of index. */
#ifndef FEDC_STATE_H
#define FEDC_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fedc/error.h"
#include "fedc/export.h"

typedef struct fedc_state_store fedc_state_store;

typedef struct fedc_state_config {
    size_t record_bytes;   /* bytes per client record (> 0) */
    size_t memory_bytes;   /* records kept in memory at most; 0 = no limit */
    const char *spill_dir; /* folder of the spill file; NULL or "" = $TMPDIR or /tmp */
} fedc_state_config;

typedef struct fedc_state_stats {
    uint64_t records;          /* clients holding a record */
    uint64_t resident;         /* records in memory now */
    uint64_t resident_peak;    /* most records in memory at once */
    uint64_t spill_writes, spill_reads;
    uint64_t spill_file_bytes; /* size of the spill file */
    size_t memory_bytes;       /* bytes of records in memory now */
} fedc_state_stats;

FEDC_API fedc_state_store *fedc_state_create(const fedc_state_config *cfg, int n_clients, fedc_error *err);
FEDC_API void fedc_state_free(fedc_state_store *s);
/* Client k's record, in memory until fedc_state_release(s, k): zeros if
 * the client had none. NULL (err says why) if k is out of range, every
 * cached record is in use, or the spill file failed. */
FEDC_API void *fedc_state_acquire(fedc_state_store *s, int k, fedc_error *err);
FEDC_API void fedc_state_release(fedc_state_store *s, int k);
/* 1 if client k holds a record. */
FEDC_API int fedc_state_has(const fedc_state_store *s, int k);
/* Drops client k's record (it reads as zeros again). */
FEDC_API void fedc_state_drop(fedc_state_store *s, int k);
FEDC_API size_t fedc_state_record_bytes(const fedc_state_store *s);
FEDC_API void fedc_state_stats_get(const fedc_state_store *s, fedc_state_stats *out);

/* Checkpoints: every record as (client, bytes) to f, and back. Load
 * replaces the store's contents and checks every count and length. */
FEDC_API int fedc_state_save(fedc_state_store *s, FILE *f, fedc_error *err);
FEDC_API int fedc_state_load(fedc_state_store *s, FILE *f, fedc_error *err);

#endif
