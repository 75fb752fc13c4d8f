/* ASHA rungs: the resource (rounds) at which trials are compared. Built from
 * the top down (max, max/eta, max/eta^2, ... rounded) so that the last rung
 * is always the full trial, whatever max and eta are. */
#include <math.h>

#include "tune/tune_internal.h"

int tune_asha_rungs(int max_rounds, int min_rounds, int eta, int *out) {
    int tmp[FEDC_TUNE_MAX_RUNGS], n = 0;
    double r = max_rounds;
    tmp[n++] = max_rounds;
    while (n < FEDC_TUNE_MAX_RUNGS) {
        double next = floor(r / eta + 0.5);
        if (next < min_rounds || next < 1 || next >= r) break;
        tmp[n++] = (int)next;
        r = next;
    }
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}
