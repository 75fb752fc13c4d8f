/* Private: the optimizer object shared by the update rules in this folder.
 * Each rule is one file with one ops table; optim.c owns the life cycle,
 * the parameter layout, the state blob (keep_state) and the probe buffers
 * of ADAHESSIAN. */
#ifndef FEDC_NN_OPTIM_INTERNAL_H
#define FEDC_NN_OPTIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/nn.h"

/* One parameter tensor the optimizer steps (buffers are left out). */
typedef struct optim_tensor {
    size_t offset, count;
    int ndim;
    int dims[4];
} optim_tensor;

#define OPTIM_MAX_BUFS 4

typedef struct optim_ops {
    fedc_opt_kind kind;
    const char *name;
    double lr;                /* default learning rate */
    /* Paper defaults of the other settings, over fedc_optim_config's zero. */
    void (*defaults)(fedc_optim_config *c);
    /* Per-coordinate state vectors (n floats each, zeroed on reset). */
    int (*nbufs)(const fedc_optim_config *c);
    /* Optional state beyond the vectors (M-FAC's gradient window). */
    int (*init)(fedc_optim *o);
    void (*free_extra)(fedc_optim *o);
    void (*reset_extra)(fedc_optim *o);
    size_t (*extra_floats)(const fedc_optim *o);
    void (*save_extra)(const fedc_optim *o, float *out);
    void (*load_extra)(fedc_optim *o, const float *in);
    /* One step; o->step is the number of steps taken before this one. */
    void (*step)(fedc_optim *o, float *p, const float *g);
} optim_ops;

struct fedc_optim {
    fedc_optim_config cfg;
    const optim_ops *ops;
    size_t n;             /* length of the parameter vector */
    size_t n_stepped;     /* entries covered by the tensors */
    int nt;
    optim_tensor *t;      /* tensors stepped, in parameter order */
    long long step;       /* steps taken since the last reset */
    int nbuf;
    float *buf[OPTIM_MAX_BUFS];
    float *probe, *hvp;   /* ADAHESSIAN: Rademacher probe z and H z */
    float *scratch;       /* AdamP, SGDP: the update being built (not state) */
    int hvp_ready;        /* hvp holds H z for the current probe */
    void *extra;          /* rule-specific state */
};

extern const optim_ops optim_sgd, optim_adam, optim_adamw, optim_lion, optim_adan, optim_adamp, optim_sgdp,
    optim_exadam, optim_adahessian, optim_mfac;

/* The projection of AdamP and SGDP (projection.c): for a tensor of two or
 * more dimensions whose weights look scale-invariant (the gradient nearly
 * orthogonal to the weights, per output channel or for the whole tensor),
 * removes the radial component of the update u in place and returns the
 * weight-decay ratio wd_ratio; otherwise leaves u and returns 1. */
float optim_project(const optim_tensor *t, const float *p, const float *g, float *u, float delta,
                    float wd_ratio, float eps);

#endif
