/* Learning-rate schedules over rounds, for the server and the client lr. */
#include <math.h>
#include <string.h>

#include "fedc/strategy.h"

double fedc_lr_at(const fedc_lr_schedule *s, int round) {
    double base = s->base;
    int w = s->warmup_rounds > 0 ? s->warmup_rounds : 0;
    if (round <= w) return base * round / (double)w;
    int r = round - w; /* 1-based round after warm-up */
    if (s->kind && strcmp(s->kind, "step") == 0) {
        int every = s->step_rounds > 0 ? s->step_rounds : 1;
        return base * pow(s->gamma, (r - 1) / every);
    }
    if (s->kind && strcmp(s->kind, "cosine") == 0) {
        int span = s->rounds - w;
        if (span <= 1) return base;
        double p = (double)(r - 1) / (double)(span - 1);
        return s->min + (base - s->min) * 0.5 * (1.0 + cos(M_PI * p));
    }
    return base;
}

double fedc_task_local_lr(const fedc_task *t, int round) {
    /* local.lr 0 stands for the optimizer's default. */
    fedc_lr_schedule s = {t->local.lr_schedule, fedc_task_local_lr_base(t), t->local.lr_min, t->local.lr_gamma,
                          t->local.lr_warmup_rounds, t->local.lr_step_rounds, t->rounds};
    return fedc_lr_at(&s, round);
}

double fedc_task_server_lr(const fedc_task *t, int round) {
    fedc_lr_schedule s = {t->strategy.server_lr_schedule,      t->strategy.server_lr,
                          t->strategy.server_lr_min,           t->strategy.server_lr_gamma,
                          t->strategy.server_lr_warmup_rounds, t->strategy.server_lr_step_rounds,
                          t->rounds};
    return fedc_lr_at(&s, round);
}
