/* FedHyper (Zhou, Chen, Zhang, Liu, Chen and Guan, "FedHyper: A Universal
 * and Robust Learning Rate Scheduler for Federated Learning with
 * Hypergradient Descent", ICLR 2024), as in the authors' released code.
 * The hypergradient of a learning rate is the inner product of consecutive
 * updates; strategy.hyper_lr scales it (0 = fixed learning rates).
 *   global (FedHyper-G): a += hyper_lr <D_{t-1}, D_t>, clipped to [-0.8, 4];
 *       x <- x + server_lr (1 + a) D_t  (D_t the combined client delta; the
 *       first round has no D_{t-1} and uses a = 0).
 *   server (FedHyper-SL): the same a, unclipped, sets the clients' learning
 *       rate for the next round: lr x clip(1 + a, [0.1, 10]), sent down as
 *       one float; the server step is the plain one.
 *   local (FedHyper-CL): each client adapts its own lr every step from the
 *       change of its last step s_k: gamma = min(1.1, 1 + hyper_lr (0.1
 *       <s_k, D_{t-1}> / S + <s_k, s_{k-1}>)) with s_0 = D_{t-1}, the last
 *       global update (sent down), beta <- clip(gamma beta, [0.1, 10]),
 *       lr_k = lr beta; S is clients_per_round. */
#include <string.h>

#include "strategy_impl.h"

enum { LEVEL_GLOBAL, LEVEL_SERVER, LEVEL_LOCAL };

static int level_of(const fedc_task *t) {
    if (strcmp(t->strategy.hyper_level, "server") == 0) return LEVEL_SERVER;
    if (strcmp(t->strategy.hyper_level, "local") == 0) return LEVEL_LOCAL;
    return LEVEL_GLOBAL;
}

/* state: [a | have_last | lr factor | last global update D_{t-1} (d)] */
enum { S_AGG, S_HAVE, S_FACTOR, S_LAST };

static int init(fedc_strategy *s, fedc_error *err) {
    if (fedc_strategy_alloc_state(s, S_LAST + s->d, err) != 0) return -1;
    s->state[S_FACTOR] = 1.0f;
    int lv = level_of(&s->task);
    if (lv == LEVEL_SERVER) {
        s->info.extra_down = 1;
        s->down = s->state + S_FACTOR;
    } else if (lv == LEVEL_LOCAL) {
        s->info.extra_down = s->d;
        s->down = s->state + S_LAST;
        s->info.scratch_floats = 2 * s->d + 1; /* w before the last step, its change, beta */
    }
    return 0;
}

static double dot(const float *a, const float *b, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += (double)a[j] * b[j];
    return s;
}

static void client_begin(fedc_client_ctx *c) {
    if (level_of(&c->strategy->task) == LEVEL_SERVER) c->lr_scale = c->down_extra[0];
    if (level_of(&c->strategy->task) == LEVEL_LOCAL) c->scratch[2 * c->d] = 1.0f;
}

static void client_grad(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)g;
    (void)loss;
    if (level_of(&c->strategy->task) != LEVEL_LOCAL) return;
    size_t d = c->d;
    float *prev = c->scratch, *last = c->scratch + d, *beta = c->scratch + 2 * d;
    if (c->step >= 2) {
        /* the change of step k-1, compared with the one before (or, for the
         * first compared step, with the last global update) */
        const float *before = c->step == 2 ? c->down_extra : last;
        double sd = 0, sl = 0;
        for (size_t j = 0; j < d; j++) {
            float ch = w[j] - prev[j];
            sd += (double)ch * c->down_extra[j];
            sl += (double)ch * before[j];
        }
        const fedc_task *t = &c->strategy->task;
        double h = t->strategy.hyper_lr;
        double gamma = 1.0 + h * (0.1 * sd / t->clients_per_round + sl);
        if (gamma > 1.1) gamma = 1.1;
        double b = gamma * beta[0];
        beta[0] = (float)(b > 10 ? 10 : b < 0.1 ? 0.1 : b);
        for (size_t j = 0; j < d; j++) last[j] = w[j] - prev[j];
        c->lr_scale = beta[0];
    }
    memcpy(prev, w, d * sizeof(float));
}

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    if (fedc_strategy_combine(s, u, n, s->mean) <= 0)
        return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    int lv = level_of(&s->task);
    float *last = s->state + S_LAST;
    double h = s->task.strategy.hyper_lr;
    if (lv == LEVEL_GLOBAL) {
        if (s->state[S_HAVE] != 0) {
            double a = s->state[S_AGG] + h * dot(last, s->mean, s->d);
            s->state[S_AGG] = (float)(a < -0.8 ? -0.8 : a > 4 ? 4 : a);
        }
        float f = (float)(rc->server_lr * (1.0 + s->state[S_AGG]));
        for (size_t j = 0; j < s->d; j++) x[j] += f * s->mean[j];
    } else {
        fedc_step_sgd(s, x, s->mean, rc);
        if (lv == LEVEL_SERVER && s->state[S_HAVE] != 0) {
            s->state[S_AGG] += (float)(h * dot(last, s->mean, s->d));
            double f = 1.0 + s->state[S_AGG];
            s->state[S_FACTOR] = (float)(f < 0.1 ? 0.1 : f > 10 ? 10 : f);
        }
    }
    memcpy(last, s->mean, s->d * sizeof(float));
    s->state[S_HAVE] = 1;
    return 0;
}

const fedc_strategy_ops fedc_ops_fedhyper = {.name = "fedhyper",
                                             .init = init,
                                             .client_begin = client_begin,
                                             .client_grad = client_grad,
                                             .aggregate = aggregate};
