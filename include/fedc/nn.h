/* Neural networks: an architecture (immutable, shared by all threads), one
 * flat float parameter vector per model copy, and a per-thread workspace.
 *
 * Architecture spec, compact form: comma-separated layers, e.g.
 *   "conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10"
 * Layers: conv:C:K[:S[:P]] (C out channels, KxK kernel, stride S=1, padding
 * P="same" for stride 1 i.e. (K-1)/2), wsconv:C:K[:S[:P]] (the same conv
 * with scaled weight standardisation: each output channel's weights are
 * standardised over their fan-in, divided by sqrt(fan-in) and scaled by a
 * learnt gain, as in NF-Nets and FedWon), pool:K (max, stride K), avgpool:K,
 * dense:N, gn:G (group norm, G groups), bn (batch norm over channels, with
 * running statistics), drop:P (dropout rate), relu, flatten.
 * ReLU is implied after every conv and dense layer except the last layer;
 * flatten is implied before the first dense. Presets: "mlp" =
 * "dense:200,dense:200,dense:10"; "cnn" = the McMahan et al. CNN above.
 * The last layer must be dense with n_classes outputs. An implied ReLU moves
 * after a gn or bn that directly follows its conv/dense; an explicit relu
 * next to an implied one is merged. conv padding defaults to (K-1)/2 for any
 * stride. Presets end in dense:n_classes.
 *
 * Training (fedc_nn_grad) normalises batch norms with the batch's
 * statistics; inference (fedc_nn_logits, fedc_nn_evaluate) with the running
 * statistics, which fedc_nn_commit_stats updates after a training step. */
#ifndef FEDC_NN_H
#define FEDC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/rng.h"

typedef struct fedc_shape {
    int c, h, w;
} fedc_shape;

typedef struct fedc_arch fedc_arch;

/* Parses and checks a spec for input shape and class count. Errors name the
 * offending layer token and position. Specs longer than 1024 chars or with
 * more than 64 layers are refused. */
FEDC_API fedc_arch *fedc_arch_parse(const char *spec, fedc_shape input, int n_classes, fedc_error *err);
FEDC_API void fedc_arch_free(fedc_arch *a);
FEDC_API size_t fedc_arch_nparams(const fedc_arch *a);
/* Canonical spec string (presets expanded). */
FEDC_API const char *fedc_arch_spec(const fedc_arch *a);
FEDC_API fedc_shape fedc_arch_input(const fedc_arch *a);
/* Floats per input sample (c*h*w). */
FEDC_API size_t fedc_arch_input_size(const fedc_arch *a);
FEDC_API int fedc_arch_nclasses(const fedc_arch *a);
/* Forward-pass multiply-adds x2 per sample (training is ~3x this). */
FEDC_API double fedc_arch_flops_per_sample(const fedc_arch *a);
/* Multiply-add FLOPs (x2) of one training sample's forward and backward as
 * the kernels compute them: conv and dense forward, their weight gradients
 * and the input gradients an earlier layer needs; a conv followed by a max
 * pool back-propagates only through the pool's winners (one position per
 * window), so its weight and input gradients count those positions only.
 * Below 3x fedc_arch_flops_per_sample for such models (the "dense-equivalent"
 * count), and without the element-wise work (bias, ReLU, pooling, norms). */
FEDC_API double fedc_arch_train_flops_per_sample(const fedc_arch *a);

/* Named views into the flat parameter vector: "layers.<i>.weight" and
 * "layers.<i>.bias", i = position of the layer in the canonical spec, dims in
 * PyTorch order (conv weight [out,in,k,k], dense weight [out,in], group and
 * batch norm weight/bias [C]); wsconv adds "layers.<i>.gain" [out], batch
 * norm "layers.<i>.running_mean" and "layers.<i>.running_var" [C] (buffers:
 * state the forward pass keeps, never stepped by an optimizer). Tensors are
 * contiguous, in parameter order. */
typedef struct fedc_tensor_info {
    char name[48];
    size_t offset, count;
    int ndim;
    int dims[4];
    char layer[8];   /* kind of the owning layer: conv, wsconv, dense, gn, bn */
    int layer_index; /* its position in the canonical spec */
    int buffer;      /* 1: running statistics, not trained */
} fedc_tensor_info;
FEDC_API int fedc_arch_ntensors(const fedc_arch *a);
FEDC_API fedc_tensor_info fedc_arch_tensor(const fedc_arch *a, int i);

/* Marks in mask[0..fedc_arch_ntensors) the tensors a selector names:
 * "none", or comma-separated items: bn, gn, norm (bn and gn), conv, wsconv,
 * dense (every tensor of such layers, batch-norm running statistics
 * included), layers.I (the layer at spec position I), first:K / last:K (the
 * first / last K layers that have parameters). Returns how many tensors are
 * marked, or -1 (err says why) for a malformed selector or an item that
 * matches nothing in this arch. */
FEDC_API int fedc_arch_select(const fedc_arch *a, const char *spec, unsigned char *mask, fedc_error *err);

/* How initial weights are drawn. HE: He normal (fan_in) for layers followed
 * by ReLU, Xavier uniform for the last layer, biases zero. TORCH: PyTorch's
 * nn.Linear/nn.Conv2d defaults, weights and biases U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5)). Both: GN gamma=1, beta=0. */
typedef enum { FEDC_INIT_HE = 0, FEDC_INIT_TORCH } fedc_init_kind;

/* Deterministic given rng and kind. */
FEDC_API void fedc_arch_init_kind(const fedc_arch *a, float *params, fedc_rng *rng, fedc_init_kind kind);
/* fedc_arch_init_kind(a, params, rng, FEDC_INIT_HE). */
FEDC_API void fedc_arch_init(const fedc_arch *a, float *params, fedc_rng *rng);

/* Float vectors for parameters, gradients and optimizer state: 64-byte
 * aligned; from 2 MB up, 2 MB aligned with a transparent-huge-page hint,
 * which makes large dense layers markedly faster (fewer TLB misses).
 * Uninitialised; NULL if out of memory. Free with fedc_nn_free. */
FEDC_API float *fedc_nn_alloc(size_t n);
FEDC_API void fedc_nn_free(float *p);

/* Activations and scratch for one thread (one allocation, made once per
 * worker and reused: the training loop itself never allocates). NULL if
 * max_batch is outside [1, 65536] or memory runs out. */
typedef struct fedc_ws fedc_ws;
FEDC_API fedc_ws *fedc_ws_create(const fedc_arch *a, int max_batch);
/* Bytes of activation and scratch memory the workspace holds. */
FEDC_API size_t fedc_ws_bytes(const fedc_ws *ws);
/* The max_batch the workspace was made for. */
FEDC_API int fedc_ws_max_batch(const fedc_ws *ws);
FEDC_API void fedc_ws_free(fedc_ws *ws);

/* Forward + backward on a batch of n <= max_batch samples (x: n * c*h*w
 * floats, y: labels). Overwrites grad with d(mean loss)/d(params); returns
 * the mean softmax cross-entropy loss. rng drives dropout (training mode). */
FEDC_API float fedc_nn_grad(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad,
                            const float *x, const int32_t *y, int n, fedc_rng *rng);
/* Returns NaN (grad untouched) if n is out of range or ws was made for
 * another arch, and NaN (grad finite) if a label is outside [0, n_classes).
 * rng may be NULL when the arch has no dropout (dropout is then skipped).
 * The gradient of buffer tensors is 0. */
/* After fedc_nn_grad: folds the batch statistics of its batch norms into
 * their running mean and variance in params (PyTorch's rule: momentum 0.1,
 * unbiased batch variance). No-op without batch norms. */
FEDC_API void fedc_nn_commit_stats(const fedc_arch *a, const fedc_ws *ws, float *params);
/* 1 if the arch keeps running statistics (has batch norms). */
FEDC_API int fedc_arch_has_buffers(const fedc_arch *a);

/* Exact Hessian-vector product of the mean loss: hv = H v at params, for the
 * batch (x, y, n) of the fedc_nn_grad call that immediately preceded it on
 * the same ws (its dropout masks are reused; batch norms use batch
 * statistics). Computed by forward-mode differentiation of the backward pass
 * (Pearlmutter's R-operator) through every layer, not by differences.
 * hw is a workspace made by fedc_hvp_ws_create for the same arch and at
 * least n samples; grad (may be NULL) receives the gradient recomputed on
 * the way. Buffer entries of v are ignored and of hv are 0. Returns the
 * loss, or NaN when n or the workspaces do not fit. */
typedef struct fedc_hvp_ws fedc_hvp_ws;
FEDC_API fedc_hvp_ws *fedc_hvp_ws_create(const fedc_arch *a, int max_batch);
FEDC_API void fedc_hvp_ws_free(fedc_hvp_ws *hw);
FEDC_API float fedc_nn_hvp(const fedc_arch *a, fedc_ws *ws, fedc_hvp_ws *hw, const float *params, const float *v,
                  float *hv, float *grad, const float *x, const int32_t *y, int n);
/* fedc_nn_grad with FedLD's margin term added to the loss: mean cross-entropy
 * + lambda log(1 + |P|_F^2), P the n x classes softmax outputs of the batch
 * (classes <= FEDC_MARGIN_MAX_CLASSES take part in the margin term). */
#define FEDC_MARGIN_MAX_CLASSES 1024
FEDC_API float fedc_nn_grad_margin(const fedc_arch *a, fedc_ws *ws, const float *params, float *grad, const float *x,
                                   const int32_t *y, int n, fedc_rng *rng, double lambda);
/* Inference (dropout off): logits for n <= max_batch samples. */
FEDC_API void fedc_nn_logits(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x, int n,
                             float *logits);
/* Accuracy and mean loss over n samples, batched through ws (0, 0 if n = 0).
 * The figures do not depend on ws's batch size above 32 (with the AVX-512
 * kernels bit for bit; the portable path's BLAS may round differently), so
 * a small workspace evaluates a large set. */
FEDC_API void fedc_nn_evaluate(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x,
                               const int32_t *y, size_t n, double *accuracy, double *loss);
/* Writes the input features of samples first .. first+n-1 (n *
 * fedc_arch_input_size floats) to x. */
typedef void (*fedc_nn_rows_fn)(void *ctx, size_t first, size_t n, float *x);
/* fedc_nn_evaluate over n samples whose features rows(ctx, ...) fills in,
 * batch by batch, into xbuf (fedc_ws_max_batch(ws) * fedc_arch_input_size
 * floats): for data not held as floats (byte pixels). The same batches and
 * the same figures, bit for bit, as fedc_nn_evaluate on those floats. */
FEDC_API void fedc_nn_evaluate_rows(const fedc_arch *a, fedc_ws *ws, const float *params, fedc_nn_rows_fn rows,
                                    void *ctx, float *xbuf, const int32_t *y, size_t n, double *accuracy,
                                    double *loss);

/* Local optimizers over the flat vector (src/nn/optim/, one file each).
 * sgd, adam and adamw follow torch.optim exactly; the others follow their
 * paper and the authors' code (see each file): lion (Chen et al. 2023),
 * adan (Xie et al. 2022), adamp and sgdp (Heo et al. 2021), exadam (Adly
 * 2024), adahessian (Yao et al. 2021), mfac (Frantar et al. 2021). */
typedef enum {
    FEDC_OPT_SGD = 0,
    FEDC_OPT_ADAM,
    FEDC_OPT_ADAMW,
    FEDC_OPT_LION,
    FEDC_OPT_ADAN,
    FEDC_OPT_ADAMP,
    FEDC_OPT_SGDP,
    FEDC_OPT_EXADAM,
    FEDC_OPT_ADAHESSIAN,
    FEDC_OPT_MFAC,
    FEDC_OPT_COUNT
} fedc_opt_kind;
typedef struct fedc_optim_config {
    fedc_opt_kind kind;
    float lr;
    float momentum;     /* sgd, sgdp; mfac: average of the preconditioned steps */
    int nesterov;       /* sgd, sgdp, adamp */
    float weight_decay; /* sgd, adam, mfac: L2 added to grad; adamw, lion, exadam,
                           adahessian, adamp, sgdp: decoupled; adan: proximal */
    float beta1, beta2, eps;
    float beta3;        /* adan: second-moment decay */
    float delta, wd_ratio; /* adamp, sgdp: projection threshold, decay ratio */
    float hessian_power;   /* adahessian: k in (sqrt(v))^k */
    int dynamic_step;      /* exadam: step size lr ln(sqrt(2 (t + 1))) */
    int window;            /* mfac: gradients kept (m) */
    float damp;            /* mfac: dampening lambda */
} fedc_optim_config;
typedef struct fedc_optim fedc_optim;
/* The paper defaults of kind (betas 0.9/0.999 and eps 1e-8 unless the
 * paper says otherwise: lion 0.9/0.99; adan 0.98/0.92/0.99; adahessian eps
 * 1e-4, power 1; adamp/sgdp delta 0.1, wd_ratio 0.1; exadam dynamic step;
 * mfac window 16, damp 1e-5; adamw weight decay 0.01) and learning rate lr,
 * or the kind's default learning rate (fedc_optim_default_lr) if lr <= 0. */
FEDC_API fedc_optim_config fedc_optim_defaults(fedc_opt_kind kind, float lr);
/* A learning rate that trains the Fashion-MNIST MLP well without tuning:
 * sgd, sgdp 0.05; adam, adamw, adan, adamp, exadam 0.001; lion 3e-4;
 * adahessian 0.005; mfac 0.1 (with its default window of 16). */
FEDC_API double fedc_optim_default_lr(fedc_opt_kind kind);
/* The optimizer steps over the vector of n floats as one 1-d tensor. NULL if
 * n == 0, the config is invalid (mfac window outside 1..4096 or damp <= 0)
 * or out of memory. */
FEDC_API fedc_optim *fedc_optim_create(const fedc_optim_config *cfg, size_t n);
/* The same over tensors t[0..nt) of the vector (offsets and shapes as
 * fedc_arch_tensor gives them): adamp/sgdp project per tensor of 2 or more
 * dims, adahessian averages over conv kernels, buffer tensors and entries
 * outside every tensor are never changed. */
FEDC_API fedc_optim *fedc_optim_create_tensors(const fedc_optim_config *cfg, const fedc_tensor_info *t, int nt, size_t n);
/* Over the tensors of an architecture. */
FEDC_API fedc_optim *fedc_optim_create_arch(const fedc_optim_config *cfg, const fedc_arch *a);
FEDC_API void fedc_optim_free(fedc_optim *o);
FEDC_API fedc_optim_config fedc_optim_config_get(const fedc_optim *o);
/* Clears momentum/moment state and the step counter (new local round). */
FEDC_API void fedc_optim_reset(fedc_optim *o);
/* One step at params with gradient grad. Returns -1 (params untouched) for
 * adahessian when no H z was supplied since the last step. */
FEDC_API int fedc_optim_step(fedc_optim *o, float *params, const float *grad);
/* Steps taken since the last reset (or as restored by state_load). */
FEDC_API long long fedc_optim_steps(const fedc_optim *o);
/* adahessian needs H z before each step: fedc_optim_hvp_probe draws the
 * Rademacher probe z (+-1 on stepped entries, 0 elsewhere) from rng and
 * returns it; the caller writes H z (e.g. fedc_nn_hvp) into
 * fedc_optim_hvp_buffer, then steps. NULL for other kinds. */
FEDC_API int fedc_optim_wants_hvp(const fedc_optim *o);
FEDC_API float *fedc_optim_hvp_probe(fedc_optim *o, fedc_rng *rng);
FEDC_API float *fedc_optim_hvp_buffer(fedc_optim *o);
/* The optimizer's state as floats (step counter, moments, windows), for
 * keeping it between rounds: fedc_optim_state_size floats are written by
 * save and read back by load into an optimizer made with the same config
 * and layout (-1 if the blob is not one). */
FEDC_API size_t fedc_optim_state_size(const fedc_optim *o);
FEDC_API void fedc_optim_state_save(const fedc_optim *o, float *out);
FEDC_API int fedc_optim_state_load(fedc_optim *o, const float *in);
/* Changes the learning rate of the next steps (schedules, FedHyper). */
FEDC_API void fedc_optim_set_lr(fedc_optim *o, float lr);
/* Parses sgd, adam, adamw, lion, adan, adamp, sgdp, exadam, adahessian,
 * mfac (case-insensitive); -1 if unknown. */
FEDC_API int fedc_opt_kind_parse(const char *s, fedc_opt_kind *out);
FEDC_API const char *fedc_opt_kind_name(fedc_opt_kind kind);

/* Model files in the safetensors format: one F32 tensor per fedc_tensor_info,
 * plus __metadata__ {"format":"fedc","arch":spec, ...extra}; meta_kv holds
 * n_meta key/value string pairs (keys "format" and "arch" are reserved).
 * Written to a temporary file then renamed. */
FEDC_API int fedc_safetensors_save(const char *path, const fedc_arch *a, const float *params,
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
FEDC_API int fedc_safetensors_save_named(const char *path, const fedc_named_tensor *ts, int n, const float *params,
                                         const char *arch, const char *const *meta_kv, int n_meta,
                                         fedc_error *err);
/* Loads params (must match the arch's tensors exactly); checks every length. */
/* params is written only on success. A file whose metadata names another
 * arch, or with non-finite values, is refused. */
FEDC_API int fedc_safetensors_load(const char *path, const fedc_arch *a, float *params, fedc_error *err);
/* The same from memory; name labels error messages (may be NULL). */
FEDC_API int fedc_safetensors_load_mem(const void *data, size_t len, const char *name, const fedc_arch *a,
                                       float *params, fedc_error *err);

/* Call once at program start, before any thread runs BLAS: makes OpenBLAS use
 * its AVX-512 kernels on CPUs it does not recognise (about 1.8x faster sgemm
 * on AMD Zen 4/5) unless OPENBLAS_CORETYPE is set, and sets its thread count
 * (if nthreads > 0; 1 when every worker trains its own model). Returns the
 * OpenBLAS core name in use. */
FEDC_API const char *fedc_nn_blas_init(int nthreads);

#endif
