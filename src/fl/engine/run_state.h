/* Pointers into a run's mutable state, for checkpoint.c (the one place
 * outside run.c that reads or restores it). */
#ifndef FEDC_ENGINE_RUN_STATE_H
#define FEDC_ENGINE_RUN_STATE_H

#include <stdint.h>

#include "fedc/engine.h"

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

#endif
