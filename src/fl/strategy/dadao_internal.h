/* DADAO's pieces (dadao.c), open to the unit tests: its constants, the ODE
 * flow between a node's events and the two jumps. */
#ifndef FEDC_DADAO_INTERNAL_H
#define FEDC_DADAO_INTERNAL_H

#include <stddef.h>

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

#endif
