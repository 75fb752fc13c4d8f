/* Personalised FL: strategies whose clients each end up with a model of
 * their own, scored on their local test splits (partition.test_fraction).
 * The global model is trained as FedAvg in all three; what differs is the
 * model a client uses:
 *   - finetune: the global model after strategy.finetune_steps local steps
 *     on the client's own data (the usual baseline; the trainer runs them,
 *     this file only declares the count);
 *   - fedper (Arivazhagan et al., "Federated Learning with Personalization
 *     Layers", 2019): the layers named by strategy.local_params (default the
 *     head, last:1) stay on each client and are never aggregated; the
 *     trainer keeps them (engine local_params.c) and uploads zeros there;
 *   - ditto (Li et al., "Ditto: Fair and Robust Federated Learning Through
 *     Personalization", ICML 2021, Algorithm 1): each client also keeps a
 *     personal model v, trained on the same minibatches as its global
 *     update on h(v) = F_i(v) + (lambda/2)|v - x|^2, x the global model it
 *     received. The proximal part is taken as an exact (implicit) step,
 *     v <- (v - eta grad F_i(v) + eta lambda x) / (1 + eta lambda), which is
 *     the paper's gradient step to first order in eta*lambda and stable for
 *     any lambda: lambda -> infinity gives v = x, i.e. FedAvg. v lives in the
 *     client's state (state_floats: a "set" flag and d floats), which the
 *     simulator keeps in its bounded state store and a node in its state
 *     directory. */
#include <string.h>

#include "strategy_impl.h"

static int init_finetune(fedc_strategy *s, fedc_error *err) {
    s->info.personal = 1;
    s->info.personal_steps = s->task.strategy.finetune_steps;
    return fedc_strategy_alloc_state(s, 0, err);
}

static int init_fedper(fedc_strategy *s, fedc_error *err) {
    s->info.personal = 1;
    return fedc_strategy_alloc_state(s, 0, err);
}

/* Ditto's client state: [set flag | v (d floats)]. */
static int init_ditto(fedc_strategy *s, fedc_error *err) {
    s->info.personal = 1;
    s->info.state_floats = 1 + s->d;
    s->info.scratch_floats = s->d; /* gradient of F_i at v */
    return fedc_strategy_alloc_state(s, 0, err);
}

/* A client's first round starts v from the global model it received (the
 * paper starts both from the same initial model). */
static void ditto_begin(fedc_client_ctx *c) {
    float *st = c->state;
    if (st[0] != 1.0f) {
        memcpy(st + 1, c->global, c->d * sizeof(float));
        st[0] = 1.0f;
    }
}

/* One personal step per local step, on the minibatch the global update
 * just used; g (the global update's gradient) is left as it is. */
static void ditto_grad(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)w;
    (void)g;
    (void)loss;
    float *v = c->state + 1, *gv = c->scratch;
    const float *x = c->global;
    c->oracle->batch_grad(c->oracle->self, v, gv);
    double el = (double)c->lr * c->strategy->task.strategy.ditto_lambda;
    float eta = c->lr, keep = (float)(1.0 / (1.0 + el)), pull = (float)(el / (1.0 + el));
    for (size_t j = 0; j < c->d; j++) v[j] = keep * (v[j] - eta * gv[j]) + pull * x[j];
}

static void ditto_personal(const fedc_client_ctx *c, float *model) {
    const float *st = c->state;
    if (st && st[0] == 1.0f) memcpy(model, st + 1, c->d * sizeof(float));
}

const fedc_strategy_ops fedc_ops_finetune = {.name = "finetune", .init = init_finetune, .server_step = fedc_step_sgd};
const fedc_strategy_ops fedc_ops_fedper = {.name = "fedper", .init = init_fedper, .server_step = fedc_step_sgd};
const fedc_strategy_ops fedc_ops_ditto = {.name = "ditto",
                                          .init = init_ditto,
                                          .client_begin = ditto_begin,
                                          .client_grad = ditto_grad,
                                          .client_personal = ditto_personal,
                                          .server_step = fedc_step_sgd};
