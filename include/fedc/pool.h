/* Fixed-size thread pool with a blocking parallel-for. Worker ids are stable
 * in [0, size) so callers can keep per-worker scratch (workspaces). */
#ifndef FEDC_POOL_H
#define FEDC_POOL_H

#include <stddef.h>

#include "fedc/export.h"

typedef struct fedc_pool fedc_pool;
typedef void (*fedc_pool_fn)(void *ctx, size_t i, int worker);

/* nthreads <= 0 means the number of online CPUs. NULL when memory or a
 * thread cannot be had (fedc_pool_for with a NULL pool runs serially). */
FEDC_API fedc_pool *fedc_pool_create(int nthreads);
FEDC_API void fedc_pool_destroy(fedc_pool *p);
FEDC_API int fedc_pool_size(const fedc_pool *p);
/* Runs fn(ctx, i, worker) for every i in [0, n); returns when all are done.
 * The calling thread takes part as worker 0. Not reentrant. */
FEDC_API void fedc_pool_for(fedc_pool *p, size_t n, fedc_pool_fn fn, void *ctx);
FEDC_API int fedc_cpu_count(void);

#endif
