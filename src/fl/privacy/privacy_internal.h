/* Private parts of the privacy layer. */
#ifndef FEDC_PRIVACY_INTERNAL_H
#define FEDC_PRIVACY_INTERNAL_H

#include "fedc/privacy.h"

struct fedc_privacy {
    fedc_task task;
    size_t d;
    int mode;            /* PRIV_NONE, PRIV_LOCAL, PRIV_CENTRAL */
    double clip;         /* current bound (adaptive clipping moves it) */
    double update_noise; /* z_d: the share of z spent on the update */
    double *sum;         /* d doubles: the clipped sum (central) */
};

enum { PRIV_NONE = 0, PRIV_LOCAL, PRIV_CENTRAL };

/* s_b: noise sd on the count of unclipped updates (adaptive clipping). */
double privacy_count_noise(const fedc_task *t);
/* z_d: the update's noise multiplier after the count's share is taken. */
double privacy_update_noise(const fedc_task *t);

#endif
