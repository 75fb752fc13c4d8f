/* DADAO's pieces (dadao.c), open to the unit tests: its constants, the ODE
 * flow between a node's events and the two jumps. */
#ifndef FEDC_DADAO_INTERNAL_H
#define FEDC_DADAO_INTERNAL_H

#include <stddef.h>

#include "fedc/error.h"
#include "fedc/strategy.h"

typedef struct dadao_consts {
    double nu, alpha, alpha_t, eta, theta, beta, beta_t, delta, delta_t, gamma, gamma_t;
} dadao_consts;

/* The paper's constants for mu, L and chi1* = chi1 / lambda. */
void dadao_constants(double mu, double L, double chi1_star, dadao_consts *k);
/* v = (x, x~, y, y~, z, z~), d floats each, flowed t units of time along the ODE. */
void dadao_flow(const dadao_consts *k, double t, float *const v[6], size_t d);
/* A gradient event: grad_f = grad f_i(x) (the regularised loss). */
void dadao_grad_jump(const dadao_consts *k, float *const v[6], const float *grad_f, size_t d);
/* A communication event on edge (i, j). */
void dadao_comm_jump(const dadao_consts *k, float *const vi[6], float *const vj[6], size_t d);

/* One event of a round: at time t (0 < t < 1), a gradient event of node i
 * (j < 0) or a communication on edge (i, j). */
typedef struct dadao_event {
    double t;
    int i, j;
} dadao_event;

/* What a relay needs to play round `round` across real nodes: the
 * constants (with the smoothness bound of the data, as
 * fedc_strategy_set_node_grad takes it), mu, and the round's events in time
 * order, drawn exactly as the simulation draws them. *ev is malloc'ed (the
 * caller frees it); returns the number of events, -1 on error. */
int dadao_round_plan(fedc_strategy *s, int round, double data_smoothness, dadao_consts *k, double *mu,
                     dadao_event **ev, fedc_error *err);

/* A node's gradient of its mean loss at x, into g. */
typedef int (*dadao_grad_fn)(void *ctx, const float *x, float *g, fedc_error *err);

/* A node's share of the events between two exchanges, on its own vectors
 * v (x, x~, y, y~, z, z~), at time `from` within the round: first the jump
 * of its pending communication with a peer whose y and z (at that event)
 * are peer_y, peer_z (NULL: none pending), then the gradient events at
 * times grads[0..n_grads) (each: flow there, the gradient of f_i = mean
 * loss + mu/2 |x|^2 from grad, the jump), then the flow to `until`. The
 * simulation's arithmetic, step for step. */
int dadao_node_play(const dadao_consts *k, double mu, float *const v[6], size_t d, const float *peer_y,
                    const float *peer_z, double from, const double *grads, int n_grads, double until, float *g,
                    dadao_grad_fn grad, void *ctx, fedc_error *err);

#endif
