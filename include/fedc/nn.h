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
 * The last layer must be dense with n_classes outputs. An implied ReLU moves
 * after a gn that directly follows its conv/dense; an explicit relu next to
 * an implied one is merged. conv padding defaults to (K-1)/2 for any stride.
 * Presets end in dense:n_classes. */
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
/* Floats per input sample (c*h*w). */
size_t fedc_arch_input_size(const fedc_arch *a);
int fedc_arch_nclasses(const fedc_arch *a);
/* Forward-pass multiply-adds x2 per sample (training is ~3x this). */
double fedc_arch_flops_per_sample(const fedc_arch *a);

/* Named views into the flat parameter vector: "layers.<i>.weight" and
 * "layers.<i>.bias", i = position of the layer in the canonical spec, dims in
 * PyTorch order (conv weight [out,in,k,k], dense weight [out,in], group norm
 * weight/bias [C]). Tensors are contiguous, in parameter order. */
typedef struct fedc_tensor_info {
    char name[48];
    size_t offset, count;
    int ndim;
    int dims[4];
} fedc_tensor_info;
int fedc_arch_ntensors(const fedc_arch *a);
fedc_tensor_info fedc_arch_tensor(const fedc_arch *a, int i);

/* How initial weights are drawn. HE: He normal (fan_in) for layers followed
 * by ReLU, Xavier uniform for the last layer, biases zero. TORCH: PyTorch's
 * nn.Linear/nn.Conv2d defaults, weights and biases U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5)). Both: GN gamma=1, beta=0. */
typedef enum { FEDC_INIT_HE = 0, FEDC_INIT_TORCH } fedc_init_kind;

/* Deterministic given rng and kind. */
void fedc_arch_init_kind(const fedc_arch *a, float *params, fedc_rng *rng, fedc_init_kind kind);
/* fedc_arch_init_kind(a, params, rng, FEDC_INIT_HE). */
void fedc_arch_init(const fedc_arch *a, float *params, fedc_rng *rng);

/* Float vectors for parameters, gradients and optimizer state: 64-byte
 * aligned; from 2 MB up, 2 MB aligned with a transparent-huge-page hint,
 * which makes large dense layers markedly faster (fewer TLB misses).
 * Uninitialised; NULL if out of memory. Free with fedc_nn_free. */
float *fedc_nn_alloc(size_t n);
void fedc_nn_free(float *p);

/* Activations and scratch for one thread (one allocation, made once per
 * worker and reused: the training loop itself never allocates). NULL if
 * max_batch is outside [1, 65536] or memory runs out. */
typedef struct fedc_ws fedc_ws;
fedc_ws *fedc_ws_create(const fedc_arch *a, int max_batch);
void fedc_ws_free(fedc_ws *ws);

/* Forward + backward on a batch of n <= max_batch samples (x: n * c*h*w
 * floats, y: labels). Overwrites grad with d(mean loss)/d(params); returns
 * the mean softmax cross-entropy loss. rng drives dropout (training mode). */
float fedc_nn_grad(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad,
                   const float *x, const int32_t *y, int n, fedc_rng *rng);
/* Returns NaN (grad untouched) if n is out of range or ws was made for
 * another arch, and NaN (grad finite) if a label is outside [0, n_classes).
 * rng may be NULL when the arch has no dropout (dropout is then skipped). */
/* fedc_nn_grad with FedLD's margin term added to the loss: mean cross-entropy
 * + lambda log(1 + |P|_F^2), P the n x classes softmax outputs of the batch
 * (classes <= FEDC_MARGIN_MAX_CLASSES take part in the margin term). */
#define FEDC_MARGIN_MAX_CLASSES 1024
float fedc_nn_grad_margin(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad, const float *x,
                          const int32_t *y, int n, fedc_rng *rng, double lambda);
/* Inference (dropout off): logits for n <= max_batch samples. */
void fedc_nn_logits(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x, int n,
                    float *logits);
/* Accuracy and mean loss over n samples, batched through ws (0, 0 if n = 0). */
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
/* PyTorch defaults: betas 0.9/0.999, eps 1e-8, AdamW weight decay 0.01. */
fedc_optim_config fedc_optim_defaults(fedc_opt_kind kind, float lr);
/* NULL if n == 0 or out of memory. Update rules match torch.optim. */
fedc_optim *fedc_optim_create(const fedc_optim_config *cfg, size_t n);
void fedc_optim_free(fedc_optim *o);
/* Clears momentum/moment state and the step counter (new local round). */
void fedc_optim_reset(fedc_optim *o);
void fedc_optim_step(fedc_optim *o, float *params, const float *grad);
/* Changes the learning rate of the next steps (schedules, FedHyper). */
void fedc_optim_set_lr(fedc_optim *o, float lr);
/* Parses "sgd|adam|adamw" (case-insensitive); -1 if unknown. */
int fedc_opt_kind_parse(const char *s, fedc_opt_kind *out);

/* Model files in the safetensors format: one F32 tensor per fedc_tensor_info,
 * plus __metadata__ {"format":"fedc","arch":spec, ...extra}; meta_kv holds
 * n_meta key/value string pairs (keys "format" and "arch" are reserved).
 * Written to a temporary file then renamed. */
int fedc_safetensors_save(const char *path, const fedc_arch *a, const float *params,
                          const char *const *meta_kv, int n_meta, fedc_error *err);
/* Any list of named float32 tensors (external models): tensor i holds
 * params[offset, offset + count) with the given shape; arch is written as
 * the "arch" metadata. */
typedef struct fedc_named_tensor {
    const char *name;
    int ndim;
    const int64_t *dims;
    size_t offset, count;
} fedc_named_tensor;
int fedc_safetensors_save_named(const char *path, const fedc_named_tensor *ts, int n, const float *params,
                                const char *arch, const char *const *meta_kv, int n_meta, fedc_error *err);
/* Loads params (must match the arch's tensors exactly); checks every length. */
/* params is written only on success. A file whose metadata names another
 * arch, or with non-finite values, is refused. */
int fedc_safetensors_load(const char *path, const fedc_arch *a, float *params, fedc_error *err);
/* The same from memory; name labels error messages (may be NULL). */
int fedc_safetensors_load_mem(const void *data, size_t len, const char *name, const fedc_arch *a,
                              float *params, fedc_error *err);

/* Call once at program start, before any thread runs BLAS: makes OpenBLAS use
 * its AVX-512 kernels on CPUs it does not recognise (about 1.8x faster sgemm
 * on AMD Zen 4/5) unless OPENBLAS_CORETYPE is set, and sets its thread count
 * (if nthreads > 0; 1 when every worker trains its own model). Returns the
 * OpenBLAS core name in use. */
const char *fedc_nn_blas_init(int nthreads);

#endif
