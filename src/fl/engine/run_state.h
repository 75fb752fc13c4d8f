/* Pointers into a run's mutable state, for checkpoint.c (the one place
 * outside run.c that reads or restores it). */
#ifndef FEDC_ENGINE_RUN_STATE_H
#define FEDC_ENGINE_RUN_STATE_H

#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/engine.h"
#include "fedc/error.h"

typedef struct fedc_run_state {
    int *rounds_done;
    double *best_accuracy, *last_accuracy, *start_wall, *sim_elapsed;
    uint64_t *bytes_down_total, *bytes_up_total;
    float *x;
    size_t d;
    fedc_strategy *strategy;
    fedc_client_info *info;
    int n_clients;
    fedc_sched *sched;
} fedc_run_state;

void fedc_run_state_access(fedc_run *r, fedc_run_state *s);

/* Asynchronous strategies in a deployment: the buffer of arrived updates
 * and the next ticket, as a checkpoint section (run.c). Parsing checks
 * every field against the run (rounds_done: the checkpoint's version) and
 * changes nothing; adopting replaces the run's buffer (and frees s). */
typedef struct fedc_async_snapshot fedc_async_snapshot;
int fedc_run_async_save(const fedc_run *r, fedc_buf *b);
int fedc_run_async_parse(const fedc_run *r, const uint8_t *p, size_t len, int rounds_done, fedc_async_snapshot **out,
                         fedc_error *err);
void fedc_run_async_adopt(fedc_run *r, fedc_async_snapshot *s);
void fedc_async_snapshot_free(fedc_async_snapshot *s);

#endif
