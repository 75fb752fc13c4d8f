/* Checkpoints of a run's server-side state, so a server killed mid-run
 * resumes where it left off: the global model, the strategy's server state
 * (optimizer moments, control variates), rounds done, best and last
 * accuracy, byte totals, elapsed and simulated time, what the scheduler
 * knows of each client and carries between rounds (round-robin's cursor). Random streams need no saving: every one is derived
 * from (seed, round, client). Per-node state (error-feedback residuals,
 * client control variates) lives on the nodes. */
#ifndef FEDC_CHECKPOINT_H
#define FEDC_CHECKPOINT_H

#include "fedc/engine.h"
#include "fedc/export.h"

/* Writes the checkpoint atomically (temporary file, fsync, rename). On
 * failure errno holds the cause (ENOSPC, EMFILE, ...), so a caller can
 * pause until the disk has room rather than train on unprotected. */
FEDC_API int fedc_run_checkpoint_save(fedc_run *r, const char *path, fedc_error *err);
/* Restores a run created from the same task; the file is checked (magic,
 * version, sizes matching this run's model/strategy/clients, checksum)
 * before anything is changed. */
FEDC_API int fedc_run_checkpoint_load(fedc_run *r, const char *path, fedc_error *err);

/* DIR/ckpt-NNNNNN.bin: where the server keeps the checkpoint of a round. */
FEDC_API void fedc_checkpoint_path(const char *dir, int round, char *out, size_t cap);
/* Loads the newest checkpoint in dir (named as fedc_checkpoint_path does)
 * of a round not after max_round that passes every check of
 * fedc_run_checkpoint_load: a damaged or truncated newest file falls back
 * to the one before. *round is the round loaded, 0 if none loads (the run
 * is then unchanged, at its initial state). why (may be NULL) says what was
 * wrong with each file skipped ("" if none was). -1 only if dir cannot be
 * listed. */
FEDC_API int fedc_run_checkpoint_load_newest(fedc_run *r, const char *dir, int max_round, int *round, char *why, size_t cap,
                                    fedc_error *err);

#endif
