/* FedNova (Wang, Liu, Liang, Joshi and Poor, "Tackling the Objective
 * Inconsistency Problem in Heterogeneous Federated Optimization", 2020):
 * client i ran tau_i local steps; its update is normalised by ||a_i||_1, the
 * sum of the weights its local solver gave its gradients (tau_i for plain
 * SGD, [tau_i - rho (1 - rho^tau_i) / (1 - rho)] / (1 - rho) for SGD with
 * momentum rho), and the server rescales by tau_eff = sum_i p_i ||a_i||_1:
 *   x <- x + eta_g tau_eff sum_i p_i (y_i - x) / ||a_i||_1,  p_i = n_i / n.
 * With equal tau_i this is FedAvg. The step counts travel in every update
 * already; nothing extra goes on the wire. */
#include <stdlib.h>

#include "strategy_impl.h"

static int init(fedc_strategy *s, fedc_error *err) { return fedc_strategy_alloc_state(s, 0, err); }

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    double *scale = calloc((size_t)n + 1, sizeof *scale);
    if (!scale) return fedc_fail(err, "out of memory");
    double rho = s->task.local.momentum, wsum = 0, tau_eff = 0;
    for (int i = 0; i < n; i++) {
        double a = fedc_local_step_norm(u[i].steps, rho);
        scale[i] = a > 0 ? 1.0 / a : 0.0;
        wsum += u[i].weight;
        tau_eff += u[i].weight * a;
    }
    double total = fedc_strategy_combine_scaled(s, u, n, scale, s->mean);
    free(scale);
    if (total <= 0 || wsum <= 0) return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    tau_eff /= wsum;
    float f = (float)(rc->server_lr * tau_eff);
    for (size_t j = 0; j < s->d; j++) x[j] += f * s->mean[j];
    return 0;
}

const fedc_strategy_ops fedc_ops_fednova = {.name = "fednova", .init = init, .aggregate = aggregate};
