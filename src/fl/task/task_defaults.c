/* Defaults: the Fashion-MNIST MLP benchmark setting (McMahan et al.: 100
 * IID clients, 10 per round, 1 local epoch of SGD, batch 32), so "{}" is a
 * complete, valid task. Parameters of choices not taken (Dirichlet alpha,
 * FedProx mu, Adam betas, ...) hold the values their method is usually run
 * with, so switching the choice alone gives a sensible task. */
#include <string.h>

#include "fedc/nn.h"
#include "fedc/task.h"

void fedc_task_defaults(fedc_task *t) {
    memset(t, 0, sizeof *t); /* also zeroes padding and string tails */
    strcpy(t->name, "fmnist-mlp");

    strcpy(t->dataset.name, "fashion-mnist");
    strcpy(t->dataset.fetch, "auto");
    strcpy(t->dataset.labels, "fine");
    t->dataset.synthetic_alpha = 1.0; /* Synthetic(1, 1), the FedProx paper's most heterogeneous */
    t->dataset.synthetic_beta = 1.0;

    strcpy(t->partition.kind, "iid");
    t->partition.alpha = 0.5;
    t->partition.classes_per_client = 2;
    t->partition.sigma = 1.0;
    strcpy(t->partition.feature_skew, "none");

    strcpy(t->model, "mlp");
    strcpy(t->init, "he");
    t->rounds = 50;
    t->clients = 100;
    t->clients_per_round = 10;

    t->local.epochs = 1;
    t->local.batch = 32;
    t->local.max_steps = 0;
    t->local.lr = 0.0; /* the optimizer's default: 0.05 for sgd */
    strcpy(t->local.optimizer, "sgd");
    t->local.momentum = 0.0;
    t->local.nesterov = 0;
    t->local.weight_decay = 0.0;
    /* 0: each optimizer's own default (adam 0.9/0.999/1e-8, lion 0.9/0.99, ...). */
    t->local.beta1 = 0.0;
    t->local.beta2 = 0.0;
    t->local.eps = 0.0;
    t->local.beta3 = 0.0;
    t->local.hessian_power = 1.0;
    t->local.adamp_delta = 0.1;
    t->local.adamp_wd_ratio = 0.1;
    t->local.exadam_dynamic_step = 1;
    t->local.mfac_window = 16;
    t->local.mfac_damp = 1e-5;
    t->local.keep_state = 0;
    t->local.min_epochs = 0;
    strcpy(t->local.lr_schedule, "constant");
    t->local.lr_warmup_rounds = 0;
    t->local.lr_step_rounds = 10;
    t->local.lr_gamma = 0.5;
    t->local.lr_min = 0.0;

    strcpy(t->strategy.name, "fedavg");
    strcpy(t->strategy.aggregator, "mean");
    t->strategy.byzantine_fraction = 0.1;
    t->strategy.krum_m = 0;
    t->strategy.norm_bound = 0.0;
    t->strategy.geomed_iters = 10;
    t->strategy.flag_rank = 8;
    t->strategy.flag_iters = 1;
    t->strategy.mudhog_eps = 0.0;
    t->strategy.mudhog_unreliable_weight = 1.0;
    t->strategy.frl_sparsity = 0.5;
    t->strategy.server_lr = 1.0;
    t->strategy.mu = 0.01;
    t->strategy.momentum = 0.9;
    t->strategy.beta1 = 0.9;
    t->strategy.beta2 = 0.99;
    t->strategy.tau = 1e-3;
    strcpy(t->strategy.server_optimizer, "sgd");
    strcpy(t->strategy.local_params, "none");
    strcpy(t->strategy.server_lr_schedule, "constant");
    t->strategy.server_lr_warmup_rounds = 0;
    t->strategy.server_lr_step_rounds = 10;
    t->strategy.server_lr_gamma = 0.5;
    t->strategy.server_lr_min = 0.0;
    t->strategy.scaffold_option = 2;
    t->strategy.client_beta = 0.5;
    t->strategy.fedau_cutoff = 0;
    t->strategy.rho = 0.1;
    t->strategy.lambda = 10.0;
    strcpy(t->strategy.hyper_level, "global");
    t->strategy.hyper_lr = 1.0;
    t->strategy.anchor_prob = 0.2;
    t->strategy.margin_lambda = 0.03;
    t->strategy.top_fraction = 0.8;
    t->strategy.finetune_steps = 5;
    t->strategy.ditto_lambda = 0.1;
    t->strategy.clusters = 3;
    t->strategy.cluster_round = 10;
    t->strategy.gate_sparsity = 0.5;
    t->strategy.gate_sparsity_min = 0;
    t->strategy.gate_blocks = 5;
    t->strategy.gate_lr = 0.05;
    t->strategy.gate_init = 0.5;
    t->strategy.buffer_size = 0;
    t->strategy.window_s = 0.0;
    strcpy(t->strategy.staleness, "polynomial");
    t->strategy.staleness_a = 0.5;
    t->strategy.staleness_hinge = 4.0;
    strcpy(t->strategy.async_weights, "auto");
    t->strategy.gossip_steps = 1;
    t->strategy.strong_convexity = 0.1;

    strcpy(t->topology.kind, "ring");
    strcpy(t->topology.mixing, "metropolis-hastings");
    t->topology.p = 0.2;
    t->topology.k = 4;
    t->topology.seed = 0;
    t->topology.eval_samples = 0;

    t->state.memory_mb = 1024;
    t->state.spill_dir[0] = '\0';

    strcpy(t->compression.up, "none");
    strcpy(t->compression.down, "none");

    strcpy(t->scheduling.policy, "random");
    t->scheduling.choice_d = 0;
    t->scheduling.deadline_s = 0.0;
    strcpy(t->scheduling.profile, "none");

    strcpy(t->attack.kind, "none");
    t->attack.fraction = 0.2;
    t->attack.scale = 0.0;
    t->attack.target = 2;
    t->attack.source = -1;
    t->attack.poison_fraction = 0.5;
    t->attack.unreliable = 0.0;

    strcpy(t->privacy.mode, "none");
    t->privacy.clip = 1.0;
    t->privacy.noise_multiplier = 0.0;
    t->privacy.delta = 1e-5;
    t->privacy.target_epsilon = 0.0;
    strcpy(t->privacy.on_exceed, "stop");
    t->privacy.adaptive_clip = 0;
    t->privacy.target_quantile = 0.5;
    t->privacy.clip_lr = 0.2;
    t->privacy.count_noise = 0.0;

    strcpy(t->secagg.mode, "none");
    t->secagg.degree = 0;
    t->secagg.threshold = 0.5;
    t->secagg.clip = 10.0;

    t->seed = 0;
    t->stop.target_accuracy = 0.0;
    t->stop.max_wall_s = 0.0;
    t->stop.plateau_rounds = 0;
    t->stop.plateau_delta = 0.0;
    t->eval_every = 1;
    t->eval_personal = 0;

    t->deploy.min_nodes = 1;
    t->deploy.min_updates = 1;
    t->deploy.round_timeout_s = 60.0;
    t->deploy.connect_timeout_s = 60.0;
}

int fedc_task_external(const fedc_task *t) { return strcmp(t->model, "external") == 0; }

int fedc_task_federated_eval(const fedc_task *t) { return t->eval.federated || fedc_task_external(t); }
double fedc_task_local_lr_base(const fedc_task *t) {
    if (t->local.lr > 0) return t->local.lr;
    fedc_opt_kind k;
    return fedc_opt_kind_parse(t->local.optimizer, &k) == 0 ? (double)fedc_optim_default_lr(k) : 0.0;
}

const char *fedc_task_local_params(const fedc_task *t) {
    /* FedPer's local layers are its point: the head unless told otherwise. */
    if (strcmp(t->strategy.name, "fedper") == 0 && strcmp(t->strategy.local_params, "none") == 0) return "last:1";
    return t->strategy.local_params;
}
