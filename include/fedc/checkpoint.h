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

/* Writes the checkpoint atomically (temporary file, fsync, rename). */
FEDC_API int fedc_run_checkpoint_save(fedc_run *r, const char *path, fedc_error *err);
/* Restores a run created from the same task; the file is checked (magic,
 * version, sizes matching this run's model/strategy/clients, checksum)
 * before anything is changed. */
FEDC_API int fedc_run_checkpoint_load(fedc_run *r, const char *path, fedc_error *err);

#endif
