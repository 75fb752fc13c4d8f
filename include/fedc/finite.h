/* Checking outside numbers: every update a server receives is scanned for
 * NaN and infinity before it may reach an aggregate. */
#ifndef FEDC_FINITE_H
#define FEDC_FINITE_H
#include <stddef.h>

#include "fedc/export.h"

/* Index of the first value of x[0..n) that is NaN or infinite; n if all
 * are finite. Branch-free over blocks (it vectorises), so a whole model
 * costs about one pass of reading it. */
FEDC_API size_t fedc_first_nonfinite(const float *x, size_t n);

#endif
