/* Neural networks: an architecture (immutable, shared by all threads), one
 * flat float parameter vector per model copy, and a per-thread workspace.
 *
 * Architecture spec, compact form: comma-separated layers, e.g.
 *   "conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10"
 * Layers: conv:C:K[:S[:P]] (C out channels, KxK kernel, stride S=1, padding
 * P="same" for stride 1 i.e. (K-1)/2), pool:K (max, stride K), avgpool:K,
 * dense:N, gn:G (group norm, G groups), drop:P (dropout rate), relu, flatten.
 * ReLU is implied after every conv and dense layer except the last layer;
 * flatten is implied before the first dense. Presets: "mlp" =
 * "dense:200,dense:200,dense:10"; "cnn" = the McMahan et al. CNN above.
 * The last layer must be dense with n_classes outputs. */
#ifndef FEDC_NN_H
#define FEDC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"
#include "fedc/rng.h"

typedef struct fedc_shape {
    int c, h, w;
} fedc_shape;

typedef struct fedc_arch fedc_arch;

/* Parses and checks a spec for input shape and class count. Errors name the
 * offending layer token and position. Specs longer than 1024 chars or with
 * more than 64 layers are refused. */
fedc_arch *fedc_arch_parse(const char *spec, fedc_shape input, int n_classes, fedc_error *err);
void fedc_arch_free(fedc_arch *a);
size_t fedc_arch_nparams(const fedc_arch *a);
/* Canonical spec string (presets expanded). */
const char *fedc_arch_spec(const fedc_arch *a);
fedc_shape fedc_arch_input(const fedc_arch *a);
int fedc_arch_nclasses(const fedc_arch *a);
/* Forward-pass multiply-adds x2 per sample (training is ~3x this). */
double fedc_arch_flops_per_sample(const fedc_arch *a);

/* Named views into the flat parameter vector ("l0.conv.weight", ...). */
typedef struct fedc_tensor_info {
    char name[48];
    size_t offset, count;
    int ndim;
    int dims[4];
} fedc_tensor_info;
int fedc_arch_ntensors(const fedc_arch *a);
fedc_tensor_info fedc_arch_tensor(const fedc_arch *a, int i);

/* He (ReLU layers) / Xavier (last layer) init; biases zero; GN gamma=1. */
void fedc_arch_init(const fedc_arch *a, float *params, fedc_rng *rng);

typedef struct fedc_ws fedc_ws;  /* activations and scratch for one thread */
fedc_ws *fedc_ws_create(const fedc_arch *a, int max_batch);
void fedc_ws_free(fedc_ws *ws);

/* Forward + backward on a batch of n <= max_batch samples (x: n * c*h*w
 * floats, y: labels). Overwrites grad with d(mean loss)/d(params); returns
 * the mean softmax cross-entropy loss. rng drives dropout (training mode). */
float fedc_nn_grad(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad,
                   const float *x, const int32_t *y, int n, fedc_rng *rng);
/* Inference (dropout off): logits for n <= max_batch samples. */
void fedc_nn_logits(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x, int n,
                    float *logits);
/* Accuracy and mean loss over n samples, batched through ws. */
void fedc_nn_evaluate(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x,
                      const int32_t *y, size_t n, double *accuracy, double *loss);

/* Local optimizers over the flat vector. */
typedef enum { FEDC_OPT_SGD = 0, FEDC_OPT_ADAM, FEDC_OPT_ADAMW } fedc_opt_kind;
typedef struct fedc_optim_config {
    fedc_opt_kind kind;
    float lr;
    float momentum;     /* SGD */
    int nesterov;       /* SGD */
    float weight_decay; /* SGD/Adam: L2 added to grad; AdamW: decoupled */
    float beta1, beta2, eps;
} fedc_optim_config;
typedef struct fedc_optim fedc_optim;
fedc_optim *fedc_optim_create(const fedc_optim_config *cfg, size_t n);
void fedc_optim_free(fedc_optim *o);
/* Clears momentum/moment state and the step counter (new local round). */
void fedc_optim_reset(fedc_optim *o);
void fedc_optim_step(fedc_optim *o, float *params, const float *grad);
/* Parses "sgd|adam|adamw". */
int fedc_opt_kind_parse(const char *s, fedc_opt_kind *out);

/* Model files in the safetensors format: one F32 tensor per fedc_tensor_info,
 * plus __metadata__ {"format":"fedc","arch":spec, ...extra}. */
int fedc_safetensors_save(const char *path, const fedc_arch *a, const float *params,
                          const char *const *meta_kv, int n_meta, fedc_error *err);
/* Loads params (must match the arch's tensors exactly); checks every length. */
int fedc_safetensors_load(const char *path, const fedc_arch *a, float *params, fedc_error *err);

#endif
