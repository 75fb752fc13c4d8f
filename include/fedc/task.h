/* The task spec: the one document every caller (CLI, REST API, web form,
 * intent parser, tuner, tests) produces or consumes. JSON in, this struct
 * out, through one validator whose errors name the field path, the bad value
 * and what is allowed, e.g.
 *   "local.lr: -1 is out of range; allowed: a number >= 0 and <= 10".
 * Every field has a default, so "{}" is a valid task (the Fashion-MNIST
 * MLP benchmark setting). docs/task-spec.md documents every field. */
#ifndef FEDC_TASK_H
#define FEDC_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/manifest.h"

#define FEDC_TASK_JSON_MAX (1 << 20) /* bytes of task JSON accepted */

typedef struct fedc_task {
    char name[64];
    struct {
        char name[32];          /* a data catalog name (fashion-mnist, cifar10, ...) | csv */
        char path[512];         /* dir or train file; "" = the catalog's location */
        char test_path[512];    /* csv test file */
        char label_column[64];  /* csv */
        char fetch[8];          /* auto | never: download a missing catalog dataset first */
        char labels[8];         /* fine | coarse (cifar100) */
        int extra;              /* bool: svhn's extra split joins the training set */
        double synthetic_alpha; /* synthetic: spread of the clients' models, >= 0 */
        double synthetic_beta;  /* synthetic: spread of the clients' feature means, >= 0 */
    } dataset;
    struct {
        char kind[16];          /* iid | dirichlet | shards | quantity | natural */
        double alpha;           /* dirichlet, > 0 */
        int classes_per_client; /* shards, >= 1 */
        double sigma;           /* quantity, > 0 */
        char feature_skew[256]; /* none | domain list (per-client image transforms), see data.h */
        double test_fraction;   /* share of each client's samples held out as its local test split; 0 = none */
    } partition;
    char model[1024];           /* preset (mlp, cnn), compact arch spec (nn.h), or "external" */
    /* model "external": canonical text of the tensor manifest (manifest.h);
     * "" = the first node to join supplies it. JSON: "model": {"name":
     * "external", "manifest": [...]}; a plain string otherwise. */
    char model_manifest[FEDC_MANIFEST_TEXT_MAX];
    char init[8];               /* he | torch: initial model draw, see nn.h */
    int rounds;                 /* >= 1 */
    int clients;                /* federation size, >= 1 */
    int clients_per_round;      /* 1..clients */
    struct {
        int epochs;             /* >= 1 */
        int batch;              /* >= 1 */
        int max_steps;          /* cap on local steps per round; 0 = none */
        double lr;              /* 0 = the optimizer's default (fedc_task_local_lr_base) */
        char optimizer[16];     /* sgd | adam | adamw | lion | adan | adamp | sgdp | exadam | adahessian | mfac */
        double momentum;
        int nesterov;           /* bool */
        double weight_decay;
        double beta1, beta2;    /* 0 = the optimizer's default */
        double beta3;           /* adan; 0 = default */
        double eps;             /* 0 = the optimizer's default */
        double hessian_power;   /* adahessian */
        double adamp_delta, adamp_wd_ratio; /* adamp, sgdp */
        int exadam_dynamic_step; /* bool */
        int mfac_window;
        double mfac_damp;
        int keep_state;         /* bool: optimizer state persists per client across rounds */
        int min_epochs;         /* > 0: each client draws its epochs in min_epochs..epochs per round */
        char lr_schedule[16];   /* constant | step | cosine (over rounds) */
        int lr_warmup_rounds;
        int lr_step_rounds;
        double lr_gamma, lr_min;
    } local;
    struct {
        char name[24];          /* fedavg | fedprox | ... | fedbuff | fedfix | async-fedavg */
        /* Robust aggregation (include/fedc/aggregate.h): how the updates are combined. */
        char aggregator[16];    /* mean | median | trimmed-mean | krum | multi-krum | bulyan | geomed | flag | mudhog | frl */
        double byzantine_fraction; /* f/n assumed by trimmed-mean, krum, multi-krum, bulyan */
        int krum_m;             /* multi-krum: updates averaged; 0 = n - f */
        double norm_bound;      /* L2 bound of each update before combining; 0 = off */
        int geomed_iters;       /* smoothed Weiszfeld iterations */
        int flag_rank, flag_iters; /* Flag Aggregator subspace dimension and IRLS iterations */
        double mudhog_eps;      /* MUD-HoG DBSCAN radius; 0 = from the round's distances */
        double mudhog_unreliable_weight; /* weight of updates MUD-HoG judges unreliable */
        double frl_sparsity;    /* FRL: fraction of each layer's edges kept by the supermask */
        double server_lr;       /* eta_g */
        double mu;              /* fedprox proximal weight */
        double momentum;        /* fedavgm beta */
        double beta1, beta2, tau; /* fedadam/yogi/adagrad */
        char server_optimizer[16]; /* fedopt: any local optimizer but adahessian */
        char local_params[128]; /* none | selector of parameters never aggregated (FedBN: bn) */
        char server_lr_schedule[16]; /* constant | step | cosine */
        int server_lr_warmup_rounds;
        int server_lr_step_rounds;
        double server_lr_gamma, server_lr_min;
        int scaffold_option;    /* 1 | 2: SCAFFOLD's control-variate update */
        double client_beta;     /* fedavg-m / scaffold-m: weight of the fresh gradient */
        int fedau_cutoff;       /* fedau: longest interval counted; 0 = none */
        double rho;             /* fedsam / fedspeed perturbation radius */
        double lambda;          /* fedspeed: prox-correction weight is 1/lambda */
        char hyper_level[8];    /* fedhyper: global | server | local */
        double hyper_lr;        /* fedhyper: hypergradient step */
        double anchor_prob;     /* fedamd: probability a sampled client is an anchor */
        double margin_lambda;   /* fedld: weight of the margin term */
        double top_fraction;    /* fedld: share of principal directions kept */
        int finetune_steps;     /* finetune: local steps from the global model to the personal one */
        double ditto_lambda;    /* ditto: proximal weight tying personal models to the global one */
        int clusters;           /* clustered: number of clusters (1 = fedavg) */
        int cluster_round;      /* clustered: the round after which clients are clustered */
        double gate_sparsity;   /* pfedgate: share of the model's parameters a client's sparse model keeps */
        double gate_sparsity_min; /* pfedgate: > 0: budgets drawn per client in [min, gate_sparsity] */
        int gate_blocks;        /* pfedgate: blocks each parameter tensor is split into */
        double gate_lr;         /* pfedgate: learning rate of the gating layer */
        double gate_init;       /* pfedgate: initial gate value of every block */
        /* Asynchronous strategies (fedbuff, fedfix, async-fedavg): clients_per_round is the
         * number of clients training at once. */
        int buffer_size;        /* fedbuff: updates per aggregation (K); 0 = clients_per_round */
        double window_s;        /* fedfix: seconds between aggregations */
        char staleness[16];     /* constant | polynomial | hinge: weight s(tau) of an update tau versions old */
        double staleness_a, staleness_hinge;
        char async_weights[16]; /* auto | sample | identical | unbiased: aggregation weights d_i */
        int gossip_steps;       /* dpsgd, dfedsam-mgs: gossip (mixing) steps per round (Q) */
        double strong_convexity; /* dadao: mu, the (mu/2)|x|^2 added to every node's loss */
        double smoothness;      /* dadao: L of the node losses; 0 = bound from the data */
        double comm_rate;       /* dadao: communication events per unit time; 0 = sqrt(2 chi1 chi2) */
    } strategy;
    struct {
        char up[256];           /* codec pipeline, see codec.h; "none" */
        char down[256];
    } compression;
    struct {
        char policy[24];        /* see sched.h */
        int choice_d;
        double deadline_s;
        char profile[512];      /* simulation heterogeneity: none | lognormal | trace CSV path */
    } scheduling;
    struct {
        char kind[16];          /* none | sign-flip | scaling | noise | label-flip | backdoor | alie | ipm */
        double fraction;        /* of the clients (drawn from seed) that attack */
        double scale;           /* the kind's strength; 0 = its default */
        int target;             /* backdoor and targeted label-flip: the class aimed at */
        int source;             /* label-flip: the class relabelled; -1 = every class (l -> C-1-l) */
        double poison_fraction; /* backdoor: share of each attacker batch stamped with the trigger */
        double unreliable;      /* fraction of the clients (disjoint from attackers) with low-quality data */
    } attack;                   /* simulated attackers (see docs/robustness.md); never applied by a server */
    struct {
        char mode[16];          /* none | dp-gaussian (local) | dp-fedavg (central) */
        double clip;            /* L2 clip of each update (dp-fedavg: the initial bound) */
        double noise_multiplier;
        double delta;           /* delta of the reported (epsilon, delta) */
        double target_epsilon;  /* budget; 0 = none */
        char on_exceed[8];      /* stop | refuse: what a budget that would be exceeded does */
        int adaptive_clip;      /* bool, dp-fedavg: clip bound follows a quantile of norms */
        double target_quantile; /* adaptive: fraction of updates left unclipped */
        double clip_lr;         /* adaptive: geometric step of the bound */
        double count_noise;     /* adaptive: noise sd on the unclipped count; 0 = clients_per_round/20 */
    } privacy;
    struct {
        char mode[16];          /* none | secagg+ */
        int degree;             /* neighbours per node in the masking graph; 0 = automatic */
        double threshold;       /* fraction of a node's neighbours needed to unmask it */
        double clip;            /* L2 clip of each update before quantisation */
    } secagg;
    struct {
        /* Decentralised strategies (dpsgd, gossip, gossip-vc, dfedsam, dfedsam-mgs): who talks to whom. */
        char kind[16];          /* ring | torus | complete | erdos-renyi | small-world | exponential | matching */
        char mixing[24];        /* metropolis-hastings | uniform */
        double p;               /* erdos-renyi edge probability; small-world rewiring probability */
        int k;                  /* small-world lattice neighbours */
        uint64_t seed;          /* random graphs; 0 = the task's seed */
        int eval_samples;       /* test samples each node's own model is scored on; 0 = all */
    } topology;
    struct {
        double memory_mb;       /* per-client state kept in memory before spilling to disk */
        char spill_dir[256];    /* where spilled state goes; "" = $TMPDIR or /tmp */
    } state;
    uint64_t seed;
    struct {
        double target_accuracy; /* stop when reached; 0 = off */
        double max_wall_s;      /* stop after this much wall time; 0 = off */
        int plateau_rounds;     /* stop when the monitored accuracy (validation if held out, else test) has not
                                   risen by more than plateau_delta for this many rounds; 0 = off */
        double plateau_delta;   /* the rise that counts as progress for plateau_rounds */
    } stop;
    int eval_every;             /* evaluate every k rounds (and the last) */
    int eval_personal;          /* simulation: test samples each participant scores its starting model on; 0 = off */
    double validation;          /* simulation: share of each client's samples held out for validation; 0 = off */
    struct {
        int federated;          /* bool: nodes score the global model on their local test data */
        int clients;            /* nodes asked per evaluated round; 0 = the round's participants */
    } eval;
    struct {
        int min_nodes;          /* deployment: wait for this many nodes */
        int min_updates;        /* deployment: aggregate with at least this many */
        double round_timeout_s; /* deployment: deadline for updates */
        double connect_timeout_s;
    } deploy;
} fedc_task;

/* 1 if the task trains a model fedc does not build (model "external"). */
FEDC_API int fedc_task_external(const fedc_task *t);
/* 1 if the rounds of this task are scored by the nodes (eval.federated, or
 * an external model, which the server cannot evaluate). */
FEDC_API int fedc_task_federated_eval(const fedc_task *t);

/* Defaults for every field. */
/* The parameters kept on each client (strategy.local_params), with the
 * strategy's own default: fedper keeps the classifier head ("last:1") when
 * the field is "none". */
FEDC_API const char *fedc_task_local_params(const fedc_task *t);

FEDC_API void fedc_task_defaults(fedc_task *t);
/* The local learning rate before any schedule: local.lr, or the
 * optimizer's default when it is 0 (schedules start from it, see
 * fedc_task_local_lr in strategy.h). */
FEDC_API double fedc_task_local_lr_base(const fedc_task *t);
/* Parses JSON text (at most FEDC_TASK_JSON_MAX bytes) over the defaults,
 * then validates; t is changed only on success. Unknown fields are errors
 * ("local.lrr: unknown field; allowed: epochs, batch, ..."). */
FEDC_API int fedc_task_from_json(const char *json, size_t len, fedc_task *t, fedc_error *err);
/* Reads a task file ("-" = standard input) as fedc_task_from_json does;
 * messages start with the file name ("x.json: local.lr: ..."). */
FEDC_API int fedc_task_load(const char *path, fedc_task *t, fedc_error *err);
/* Applies "path=value" (e.g. "partition.alpha=0.1", "model=cnn") as if the
 * JSON had held it; the task is re-validated and changed only on success.
 * The value is read as JSON when it parses as JSON (and, for string fields,
 * is a JSON string), else as a bare string. An object value is merged into
 * an object field ("local={\"lr\":0.1}" keeps the other local fields). */
FEDC_API int fedc_task_set(fedc_task *t, const char *assignment, fedc_error *err);
/* Applies n assignments in order, then validates once, so that settings
 * that depend on each other can come in any order ("scheduling.policy=
 * deadline" before "scheduling.deadline_s=10"). The CLI's repeated --set
 * should use this. t is changed only if all apply and the result is valid. */
FEDC_API int fedc_task_set_many(fedc_task *t, const char *const *assignments, int n, fedc_error *err);
/* Checks ranges, enums and cross-field rules (clients_per_round <= clients,
 * codec and model strings parse, ...). */
FEDC_API int fedc_task_validate(const fedc_task *t, fedc_error *err);
/* One problem found in a task: the field path ("local.lr"; "" for the
 * document as a whole) and the full message, which starts with the path
 * ("task: ..." when the path is ""). */
typedef struct fedc_task_issue {
    char path[64];
    char msg[FEDC_ERROR_MAX];
} fedc_task_issue;
/* Like fedc_task_validate, but finds every problem (at most one per field),
 * for the web form, which shows each message next to its field. Returns how
 * many (0 = valid) and sets *issues to a malloc'd array to free() (NULL when
 * there are none); -1 when out of memory. */
FEDC_API int fedc_task_validate_all(const fedc_task *t, fedc_task_issue **issues);
/* Like fedc_task_from_json, but collects every problem (parse, type, range
 * and cross-field) as fedc_task_validate_all does. t always receives the
 * fields that did parse, defaults elsewhere. */
FEDC_API int fedc_task_from_json_all(const char *json, size_t len, fedc_task *t, fedc_task_issue **issues);
/* Full JSON (every field), malloc'd; pretty = indented. */
FEDC_API char *fedc_task_to_json(const fedc_task *t, int pretty);
/* JSON Schema (draft 2020-12) of the task spec, malloc'd: for the web form,
 * the LLM backend and docs. */
FEDC_API char *fedc_task_schema_json(void);

#endif
