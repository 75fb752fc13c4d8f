/* The table of task fields: the one place that says what a task may hold.
 * Order follows the struct, and is the key order of fedc_task_to_json. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fl/task/task_internal.h"

/* Allowed values. New strategies, policies or optimizers are added here
 * (and implemented in their layer); the schema and errors follow. */
/* The data catalog's names (src/data/catalog.c; a test keeps both lists
 * equal) and csv. */
const char *const task_datasets[] = {"mnist",          "fashion-mnist",   "emnist-byclass",
                                     "emnist-balanced", "emnist-digits",  "femnist",
                                     "cifar10",        "cifar100",        "svhn",
                                     "synthetic",      "csv",             NULL};
static const char *const task_dataset_fetch[] = {"auto", "never", NULL};
static const char *const task_dataset_labels[] = {"fine", "coarse", NULL};
const char *const task_partition_kinds[] = {"iid", "dirichlet", "shards", "quantity", "natural",
                                            NULL};
const char *const task_optimizers[] = {"sgd",   "adam", "adamw",  "lion",       "adan", "adamp",
                                       "sgdp",  "exadam", "adahessian", "mfac", NULL};
/* Server optimizers of strategy fedopt: the local ones that need no data
 * (adahessian needs Hessian-vector products of a loss the server has not). */
const char *const task_server_optimizers[] = {"sgd", "adam", "adamw", "lion", "adan",
                                              "adamp", "sgdp", "exadam", "mfac", NULL};
const char *const task_inits[] = {"he", "torch", NULL};
const char *const task_strategy_names[] = {
    "fedavg", "fedprox",  "fedavgm", "fedadam", "fedyogi",  "fedadagrad", "scaffold", "fedavg-m", "scaffold-m",
    "fednova", "fedau", "afa-cd", "afa-cs",  "fedhyper", "fedspeed", "fedsam", "fedamd", "fedld", "fedopt",
    "fedbuff", "fedfix", "async-fedavg", "dpsgd", "gossip", "gossip-vc", "dfedsam", "dfedsam-mgs", "dadao",
    "finetune", "fedper", "ditto", "clustered", "pfedgate", NULL};
const char *const task_staleness_fns[] = {"constant", "polynomial", "hinge", NULL};
const char *const task_async_weights[] = {"auto", "sample", "identical", "unbiased", NULL};
const char *const task_lr_schedules[] = {"constant", "step", "cosine", NULL};
const char *const task_hyper_levels[] = {"global", "server", "local", NULL};
const char *const task_sched_policies[] = {"random", "round-robin",     "samples",
                                           "age",    "power-of-choice", "deadline", NULL};
const char *const task_aggregators[] = {"mean", "median", "trimmed-mean", "krum", "multi-krum",
                                        "bulyan", "geomed", "flag", "mudhog", "frl", NULL};
const char *const task_attack_kinds[] = {"none",     "sign-flip", "scaling", "noise", "label-flip",
                                         "backdoor", "alie",      "ipm",     NULL};
const char *const task_privacy_modes[] = {"none", "dp-gaussian", "dp-fedavg", NULL};
const char *const task_privacy_exceed[] = {"stop", "refuse", NULL};
const char *const task_secagg_modes[] = {"none", "secagg+", NULL};
const char *const task_topology_kinds[] = {"ring",        "torus",       "complete", "erdos-renyi",
                                           "small-world", "exponential", "matching", NULL};
const char *const task_topology_mixings[] = {"metropolis-hastings", "uniform", NULL};

#define MEMBER_SIZE(m) sizeof(((fedc_task *)0)->m)
#define F_STR(p, m, minlen, choices, d) \
    {p, TASK_STRING, offsetof(fedc_task, m), MEMBER_SIZE(m), 0, 0, 0, 0, minlen, choices, d}
#define F_INT(p, m, lo, hi, d) \
    {p, TASK_INT, offsetof(fedc_task, m), MEMBER_SIZE(m), lo, hi, 0, 0, 0, NULL, d}
#define F_NUM(p, m, lo, lo_open, hi, hi_open, d) \
    {p, TASK_NUMBER, offsetof(fedc_task, m), MEMBER_SIZE(m), lo, hi, lo_open, hi_open, 0, NULL, d}
#define F_BOOL(p, m, d) {p, TASK_BOOL, offsetof(fedc_task, m), MEMBER_SIZE(m), 0, 1, 0, 0, 0, NULL, d}
#define F_U64(p, m, d) \
    {p, TASK_U64, offsetof(fedc_task, m), MEMBER_SIZE(m), 0, 9223372036854775807.0, 0, 0, 0, NULL, d}

#define WEEK_S 604800.0

const task_field task_fields[] = {
    F_STR("name", name, 1, NULL,
          "Run name shown in the web UI, the logs and the run store. Printable text, 1 to 63 "
          "bytes."),

    F_STR("dataset.name", dataset.name, 1, task_datasets,
          "Training data, by its name in the data catalog (fedc data list; docs/datasets.md). "
          "mnist, fashion-mnist: 60,000 28x28 grey images in 10 classes, plus 10,000 test "
          "images. emnist-byclass (62 classes), emnist-balanced (47), emnist-digits (10): "
          "handwritten characters, 28x28. femnist: EMNIST ByClass with the writer of every "
          "sample, for partition.kind natural (LEAF's FEMNIST). cifar10, cifar100: 32x32 colour "
          "images in 10 / 100 classes (cifar100: 20 coarse ones with dataset.labels). svhn: "
          "32x32 colour house-number digits. A catalog dataset that is not present is fetched "
          "into the cache before the run (dataset.fetch); Debian's Fashion-MNIST package is "
          "used when installed. synthetic: the FedProx paper's Synthetic(alpha, beta), 60 "
          "features and 10 classes, each client's data generated from the seed when the client "
          "is first used (partition.kind natural; up to 1,000,000 clients). csv: tabular data, "
          "numeric feature columns and an integer label column."),
    F_STR("dataset.path", dataset.path, 0, NULL,
          "Your own copy of the data, instead of the catalog's location: the folder holding the "
          "dataset's files as downloaded (e.g. cifar-10-binary.tar.gz; for mnist and "
          "fashion-mnist the four IDX files, gzipped or not; for cifar10 also the unpacked "
          "data_batch_*.bin), or for csv the training CSV file. Nothing is ever downloaded into "
          "it. Empty = the catalog's location (a system copy, else the cache); required for "
          "csv."),
    F_STR("dataset.test_path", dataset.test_path, 0, NULL,
          "csv only, and required for csv: the test CSV file, with the same columns as the "
          "training file."),
    F_STR("dataset.label_column", dataset.label_column, 0, NULL,
          "csv only, and required for csv: name of the integer label column in the CSV header; "
          "every other column is a numeric feature (standardised with the training file's mean "
          "and standard deviation)."),
    F_STR("dataset.fetch", dataset.fetch, 1, task_dataset_fetch,
          "What happens when a catalog dataset's files are not present. auto: download them "
          "into the cache before the run starts (printing what and where; verified by SHA-256). "
          "never: fail, naming the missing file, where to put it and the fedc data fetch "
          "command. In a deployment the server fetches its copy and every node its own."),
    F_STR("dataset.labels", dataset.labels, 1, task_dataset_labels,
          "Which labels to train on, for cifar100 only: fine (100 classes) or coarse (the 20 "
          "superclasses). Other datasets have one set of labels: fine."),
    F_BOOL("dataset.extra", dataset.extra,
           "svhn only: add the 531,131 extra images (a 1.3 GB download) to the 73,257 training "
           "images."),
    F_NUM("dataset.synthetic_alpha", dataset.synthetic_alpha, 0, 0, 100, 0,
          "synthetic only: how much the clients' models differ. Client k labels its samples "
          "with its own softmax model whose weights are N(u_k, 1), u_k ~ N(0, alpha^2) (the "
          "alpha of the FedProx paper's Synthetic(alpha, beta), used as a standard deviation "
          "as its reference generator does). 0 = every client's model drawn around 0."),
    F_NUM("dataset.synthetic_beta", dataset.synthetic_beta, 0, 0, 100, 0,
          "synthetic only: how much the clients' features differ. Client k's feature means are "
          "N(B_k, 1), B_k ~ N(0, beta^2) (the beta of Synthetic(alpha, beta), a standard "
          "deviation as in the reference generator)."),

    F_STR("partition.kind", partition.kind, 1, task_partition_kinds,
          "How the training samples are split across the clients. iid: uniformly at random, "
          "equal sizes. dirichlet: label skew, each client's class mix drawn from "
          "Dirichlet(alpha). shards: each client holds only classes_per_client classes (the "
          "pathological non-IID split of McMahan et al.). quantity: labels IID but client sizes "
          "log-normal with spread sigma. natural: the data's own split, whole writers per "
          "client (femnist: clients at most the number of writers, one writer each when "
          "equal, as in LEAF; synthetic, which needs it: client k holds the data generated "
          "for client k)."),
    F_NUM("partition.alpha", partition.alpha, 0, 1, 1000, 0,
          "Dirichlet concentration, used by kind dirichlet only. Small values (0.1) give each "
          "client a few dominant classes; large values (100) are close to IID."),
    F_INT("partition.classes_per_client", partition.classes_per_client, 1, 1000,
          "Classes each client holds, used by kind shards only; at most the dataset's class "
          "count (10 for mnist, fashion-mnist, emnist-digits, cifar10 and svhn)."),
    F_NUM("partition.sigma", partition.sigma, 0, 0, 10, 0,
          "Standard deviation of the log of client sizes, used by kind quantity only. 0 = equal "
          "sizes; 0.5 = mild size skew; 2 = a few clients hold most of the data."),
    F_STR("partition.feature_skew", partition.feature_skew, 1, NULL,
          "Feature skew (multi-domain clients), on top of the label split of kind: none, or a "
          "comma-separated list of domains, each a transform of the images; client k sees "
          "domain k mod D and test sample i domain i mod D. Transforms: id (unchanged), "
          "rotate:DEG (about the centre, -180 to 180), noise:SIGMA (Gaussian, fixed per sample, "
          "0 to 1), blur:R (box blur of radius R, 1 to 5), contrast:F (around mid-grey, 0 to "
          "4), invert, grey (colour to grey; colour data only). mixed = "
          "id,rotate:45,noise:0.3,blur:1,contrast:0.3,invert. Image datasets only."),

    F_NUM("partition.test_fraction", partition.test_fraction, 0, 0, 0.9, 0,
          "Share of each client's samples held out as its local test split (a uniform random "
          "subset of its own samples, so the same distribution as what it trains on; at least "
          "one sample, and the client keeps at least one to train on). Turns on per-client "
          "evaluation: on evaluated rounds every client's model is scored on its split and "
          "the metrics carry client_acc_mean, client_acc_p10 and client_acc_min (the model "
          "each client uses: its personalised one under finetune, fedper, ditto or "
          "strategy.local_params) and global_client_acc_* (the global model). 0 = off."),
    F_STR("model", model, 1, NULL,
          "The model: a preset, mlp (dense:200,dense:200,dense:10; 199,210 parameters on 28x28 "
          "input) or cnn (conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10, the CNN of "
          "McMahan et al.), or a compact spec of comma-separated layers: conv:C:K[:S[:P]] (C "
          "channels, KxK kernel, stride S, padding P), wsconv:C:K[:S[:P]] (the same with scaled "
          "weight standardisation, as FedWon uses instead of normalisation layers), pool:K "
          "(max), avgpool:K, dense:N, gn:G (group norm), bn (batch norm: batch statistics in "
          "training, running statistics in evaluation), drop:P (dropout rate), relu, flatten. "
          "ReLU follows every conv and dense layer but the last (after its norm if one follows); "
          "the last layer must be dense with one output per class. Checked "
          "against the dataset's input shape (for csv, when the data is loaded). At most 1023 "
          "bytes and 64 layers. external: the nodes' own model (PyTorch, NumPy, an embedding "
          "program; see model.manifest), trained only in deployment and scored by federated "
          "evaluation; strategies fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad."),
    F_STR("model.manifest", model_manifest, 0, NULL,
          "model external only: the named float32 tensors the nodes exchange, as "
          "{\"model\": {\"name\": \"external\", \"manifest\": [{\"name\": \"fc.weight\", "
          "\"shape\": [10, 784], \"dtype\": \"f32\"}, ...]}}; empty = the first node to join "
          "supplies it and every later node must match it. Names 1 to 127 printable characters, "
          "unique; at most 8 dimensions per tensor, 4096 tensors, 2^28 values, 16 KiB of "
          "canonical JSON."),
    F_STR("init", init, 1, task_inits,
          "How the initial global model is drawn (from seed). he: He normal for layers "
          "followed by ReLU, Xavier uniform for the last layer, zero biases. torch: PyTorch's "
          "nn.Linear and nn.Conv2d defaults, weights and biases uniform in +-1/sqrt(fan_in), "
          "for accuracy comparisons with PyTorch at equal rounds. Group norm starts at weight 1, "
          "bias 0 in both."),
    F_INT("rounds", rounds, 1, 100000,
          "Communication rounds to run (fewer if stop.target_accuracy or stop.max_wall_s ends "
          "the run first)."),
    F_INT("clients", clients, 1, 1000000,
          "Federation size: how many clients the training set is partitioned across in "
          "simulation, or how many nodes take part in a deployment. Up to 1,000,000: a "
          "partition gives every client at least one sample, so federations beyond a "
          "dataset's size need dataset synthetic, whose clients each generate their own."),
    F_INT("clients_per_round", clients_per_round, 1, 100000,
          "Clients selected to train in each round (S); at most clients. The fraction "
          "clients_per_round/clients is the C of the FedAvg paper."),

    F_INT("local.epochs", local.epochs, 1, 1000,
          "Passes each selected client makes over its local data per round (E)."),
    F_INT("local.batch", local.batch, 1, 65536, "Minibatch size of local training (B)."),
    F_INT("local.max_steps", local.max_steps, 0, 1000000,
          "Cap on local optimizer steps per round; 0 = no cap (epochs x ceil(samples / batch) "
          "steps)."),
    F_NUM("local.lr", local.lr, 0, 0, 10, 0,
          "Local learning rate (eta); 0 = the optimizer's default, one that trains the "
          "Fashion-MNIST MLP well without tuning: sgd and sgdp 0.05, adam, adamw, adan, adamp "
          "and exadam 0.001, lion 0.0003, adahessian 0.005, mfac 0.1."),
    F_STR("local.optimizer", local.optimizer, 1, task_optimizers,
          "Local optimizer; its state is reset at the start of every round unless keep_state. "
          "sgd: with momentum, nesterov and weight_decay (L2 added to the gradient). adam: "
          "weight_decay added to the gradient. adamw: decoupled weight decay. lion: sign of an "
          "interpolated momentum (Chen et al. 2023), one state vector. adan: adaptive Nesterov "
          "momentum with the gradient-difference term (Xie et al. 2022). adamp and sgdp: adam "
          "and sgd that remove the radial part of the update on scale-invariant weights (Heo "
          "et al. 2021). exadam: adam with cross-moment debiasing, gradient acceleration and a "
          "growing step size (Adly 2024). adahessian: Hutchinson estimate of the Hessian "
          "diagonal from exact Hessian-vector products, spatially averaged over conv kernels "
          "(Yao et al. 2021); about 3x the cost of a gradient. mfac: the gradient "
          "preconditioned by the inverse empirical Fisher of the last mfac_window gradients "
          "(Frantar et al. 2021)."),
    F_NUM("local.momentum", local.momentum, 0, 0, 1, 1,
          "Momentum of sgd and sgdp (0 = none), and of mfac's averaged steps."),
    F_BOOL("local.nesterov", local.nesterov,
           "Nesterov momentum (sgd and sgdp when momentum > 0; adamp)."),
    F_NUM("local.weight_decay", local.weight_decay, 0, 0, 1, 0,
          "Weight decay; 0 = none. L2 added to the gradient for sgd, adam and mfac; decoupled "
          "(p -= lr wd p) for adamw, lion, exadam and adahessian; decoupled and scaled by "
          "adamp_wd_ratio on projected weights for adamp and sgdp; proximal (p /= 1 + lr wd) "
          "for adan."),
    F_NUM("local.beta1", local.beta1, 0, 0, 1, 1,
          "First-moment decay; 0 = the optimizer's default (0.9; adan 0.98). For lion the "
          "interpolation weight of the momentum in the update's sign."),
    F_NUM("local.beta2", local.beta2, 0, 0, 1, 1,
          "Second-moment decay; 0 = the optimizer's default (0.999; lion 0.99, its momentum "
          "decay; adan 0.92, its gradient-difference decay)."),
    F_NUM("local.beta3", local.beta3, 0, 0, 1, 1,
          "adan only: decay of the second moment of the Nesterov gradient; 0 = the default "
          "0.99."),
    F_NUM("local.eps", local.eps, 0, 0, 1, 0,
          "Term added to the denominator of the adaptive optimizers; 0 = the optimizer's "
          "default (1e-8; adahessian 1e-4). Also the cosine-similarity eps of adamp and sgdp."),
    F_NUM("local.hessian_power", local.hessian_power, 0, 1, 1, 0,
          "adahessian only: the power k of the Hessian diagonal's root in the denominator; 1 "
          "as in the paper, 0.5 is gentler."),
    F_NUM("local.adamp_delta", local.adamp_delta, 0, 1, 1, 0,
          "adamp and sgdp: weights count as scale-invariant, and lose the radial part of their "
          "update, when the cosine between gradient and weights is below "
          "adamp_delta / sqrt(dimension)."),
    F_NUM("local.adamp_wd_ratio", local.adamp_wd_ratio, 0, 0, 1, 0,
          "adamp and sgdp: weight decay is multiplied by this on the weights that were "
          "projected."),
    F_BOOL("local.exadam_dynamic_step", local.exadam_dynamic_step,
           "exadam only: the step size grows as lr ln(sqrt(2 (t + 1))) over the t local steps "
           "(the paper's first version); false = a constant lr (the paper's second version and "
           "its current code)."),
    F_INT("local.mfac_window", local.mfac_window, 1, 1024,
          "mfac only: gradients in the sliding window (m). Memory per client: m x the model "
          "size; cost per step: two passes over the window."),
    F_NUM("local.mfac_damp", local.mfac_damp, 0, 1, 1, 0,
          "mfac only: dampening lambda of the empirical Fisher lambda I + (1/m) sum g g^T."),
    F_BOOL("local.keep_state", local.keep_state,
           "Keep each client's optimizer state (moments, momentum, mfac's window, the step "
           "count of bias correction) from one of its rounds to its next, instead of starting "
           "fresh every round as the FedAvg papers do. Costs the optimizer's state per client "
           "(adam: 2 x the model size)."),
    F_INT("local.min_epochs", local.min_epochs, 0, 1000,
          "Heterogeneous local work: when > 0, every selected client draws its number of epochs "
          "for the round uniformly from min_epochs..epochs (its own choice, as in the FedNova and "
          "Anarchic FL experiments); 0 = every client runs epochs. At most epochs."),
    F_STR("local.lr_schedule", local.lr_schedule, 1, task_lr_schedules,
          "Schedule of the local learning rate over rounds, after the warm-up. constant: lr. "
          "step: lr x lr_gamma every lr_step_rounds rounds. cosine: from lr down to lr_min over "
          "the remaining rounds."),
    F_INT("local.lr_warmup_rounds", local.lr_warmup_rounds, 0, 100000,
          "Linear warm-up of the local learning rate: round r <= this uses lr x r / "
          "lr_warmup_rounds; 0 = none."),
    F_INT("local.lr_step_rounds", local.lr_step_rounds, 1, 100000,
          "lr_schedule step only: rounds between two multiplications by lr_gamma."),
    F_NUM("local.lr_gamma", local.lr_gamma, 0, 1, 1, 0,
          "lr_schedule step only: factor applied every lr_step_rounds rounds."),
    F_NUM("local.lr_min", local.lr_min, 0, 0, 10, 0,
          "lr_schedule cosine only: the local learning rate of the last round."),

    F_STR("strategy.name", strategy.name, 1, task_strategy_names,
          "Server aggregation strategy. fedavg: average of client models weighted by sample "
          "count. fedprox: fedavg with a proximal term mu/2 |w - x|^2 in the clients' loss, for "
          "non-IID data. fedavgm: server momentum on the averaged update. fedadam, fedyogi, "
          "fedadagrad: adaptive server optimizers (Reddi et al.) on the averaged update, usually "
          "with server_lr 0.01 to 0.1. scaffold: server and client control variates correct "
          "client drift (Karimireddy et al.; twice the upload). fedavg-m, scaffold-m: momentum in "
          "the clients' direction (Cheng et al.; client_beta). fednova: updates normalised by "
          "their local step counts (Wang et al.). fedau: aggregation weights estimated online "
          "from each client's participation intervals (Wang and Ji). afa-cd, afa-cs: Anarchic "
          "FL's two-sided learning rates on step-averaged updates; afa-cs also reuses every "
          "client's latest update (Yang et al.). fedhyper: hypergradient learning-rate "
          "scheduling at hyper_level (Zhou et al.). fedsam: sharpness-aware local steps (rho). "
          "fedspeed: SAM steps with a prox-correction (rho, lambda; Sun et al.). fedamd: anchor "
          "sampling, anchors send full local gradients, miners run a variance-reduced recursion "
          "(anchor_prob; Wu et al.). fedld: margin-controlled local loss and principal-direction "
          "aggregation (margin_lambda, top_fraction). fedopt: any of the local optimizers run "
          "by the server on the averaged update (server_optimizer, server_lr; FedOpt of Reddi et "
          "al.). fedbuff: asynchronous; clients_per_round "
          "clients train at once, each on the model current when it started, and the server "
          "steps after every buffer_size arrivals, each weighted by its staleness (Nguyen et "
          "al.). async-fedavg: asynchronous, a step at every arrival. fedfix: asynchronous, a "
          "step every window_s seconds with the updates that arrived (Fraboni et al.). "
          "Personalised (each client also keeps a model of its own, scored with "
          "partition.test_fraction): finetune: fedavg, then finetune_steps local steps from the "
          "global model. fedper: fedavg with the classifier head kept on each client "
          "(strategy.local_params, default last:1; Arivazhagan et al.). ditto: fedavg for the "
          "global model plus a personal model per client trained with a proximal pull "
          "ditto_lambda towards it (Li et al.). clustered: clients clustered by update "
          "similarity after cluster_round rounds into strategy.clusters semi-global models "
          "trained Reptile-style; a client's own model is its cluster's after "
          "finetune_steps local steps (Briggs et al.; Nichol et al.). pfedgate: each client "
          "keeps a gating layer that scores blocks of the global model from its inputs; the "
          "blocks that fit its gate_sparsity budget, scaled by their gate weights, are its "
          "sparse model, trained jointly with the gate; the server averages the global model "
          "(Chen et al., ICML 2023). "
          "Decentralised (no server model; every node keeps its own and talks only to its "
          "topology neighbours; every node trains every round, so clients_per_round = clients): "
          "dpsgd: local steps, then gossip_steps mixing steps x_i <- sum_j W_ij x_j (D-PSGD / "
          "decentralised FedAvg). gossip: asynchronous pairwise gossip learning; each node in "
          "turn pushes its model to a random neighbour, which averages it with its own. "
          "gossip-vc: gossip whose averaging restores each tensor's variance to the mean of the "
          "merged models' (Vanishing Variance paper). dfedsam: SAM local steps (rho), then one "
          "mixing step. dfedsam-mgs: SAM local steps, then gossip_steps mixing steps (Shi et "
          "al.). dadao: no local steps; DADAO's asynchronous gradient and communication events "
          "(Poisson clocks) for strongly convex losses (strong_convexity, smoothness, "
          "comm_rate; Nabli and Oyallon). docs/algorithms.md and docs/decentralised.md describe "
          "each."),
    F_STR("strategy.aggregator", strategy.aggregator, 1, task_aggregators,
          "How the server combines the round's updates before the strategy's step. mean: "
          "weighted by sample count (FedAvg). median: coordinate-wise median. trimmed-mean: "
          "coordinate-wise mean without the byzantine_fraction largest and smallest values. krum: "
          "the update with the smallest summed squared distance to its n-f-2 nearest others. "
          "multi-krum: the mean of the krum_m best by that score. bulyan: krum selection of n-2f "
          "updates, then a coordinate-wise trimmed mean of them. geomed: geometric median by "
          "smoothed Weiszfeld (RFA). flag: Flag Aggregator, the subspace of the normalised updates "
          "found by reweighted least squares. mudhog: MUD-HoG, long and short per-client update "
          "histories that flag malicious clients (left out) and unreliable ones (kept with "
          "mudhog_unreliable_weight). frl: Federated Rank Learning, clients train a supermask "
          "over fixed random weights and send edge rankings that the server votes on. All but "
          "mean ignore the sample counts clients report. Only mean with privacy.mode dp-fedavg or "
          "secagg.mode secagg+ (the server sees only the noised mean or the sum), and with the "
          "decentralised strategies (no server combines updates)."),
    F_NUM("strategy.byzantine_fraction", strategy.byzantine_fraction, 0, 0, 0.5, 1,
          "Share f/n of each round's n updates that trimmed-mean, krum, multi-krum and bulyan "
          "assume may be Byzantine (f = floor(fraction x n)); trimmed-mean drops f values from "
          "each end of every coordinate. krum and multi-krum need n >= 2f+3, bulyan n >= 4f+3 "
          "(checked against clients_per_round; a round with fewer updates uses the largest f that "
          "fits)."),
    F_INT("strategy.krum_m", strategy.krum_m, 0, 100000,
          "multi-krum only: how many of the best-scored updates are averaged; 0 = n - f. At most "
          "clients_per_round."),
    F_NUM("strategy.norm_bound", strategy.norm_bound, 0, 0, 1e6, 0,
          "Norm bounding: every update whose L2 norm exceeds this is scaled down to it before "
          "the aggregator combines them (any aggregator but frl; not with the decentralised "
          "strategies); 0 = off."),
    F_INT("strategy.geomed_iters", strategy.geomed_iters, 1, 1000,
          "geomed only: smoothed Weiszfeld iterations (fewer when the objective stops "
          "improving by 1e-6 relative)."),
    F_INT("strategy.flag_rank", strategy.flag_rank, 1, 1000,
          "flag only: dimension r of the subspace (at most the round's update count; the "
          "authors ran 8)."),
    F_INT("strategy.flag_iters", strategy.flag_iters, 1, 100,
          "flag only: reweighted least-squares iterations (the authors' code runs 1)."),
    F_NUM("strategy.mudhog_eps", strategy.mudhog_eps, 0, 0, 1e9, 0,
          "mudhog only: DBSCAN radius on the short histories that separates additive-noise "
          "attackers; 0 = 1.5 x the median distance of each update to its 4th nearest neighbour "
          "(the authors hand-set 1.3 for their Fashion-MNIST model)."),
    F_NUM("strategy.mudhog_unreliable_weight", strategy.mudhog_unreliable_weight, 0, 0, 1, 0,
          "mudhog only: weight of the updates of clients judged unreliable relative to the "
          "others; 1 = kept like benign ones (the authors' code), 0 = left out like malicious "
          "ones."),
    F_NUM("strategy.frl_sparsity", strategy.frl_sparsity, 0, 1, 1, 1,
          "frl only: fraction of each layer's edges the supermask keeps (the top-ranked by "
          "score magnitude); the authors use 0.5."),
    F_NUM("strategy.server_lr", strategy.server_lr, 0, 1, 100, 0,
          "Server learning rate (eta_g) applied to the aggregated update; 1 with fedavg is plain "
          "model averaging."),
    F_NUM("strategy.mu", strategy.mu, 0, 0, 100, 0,
          "FedProx proximal weight (strategy fedprox only); 0 is fedavg. Typical: 0.001 to 1."),
    F_NUM("strategy.momentum", strategy.momentum, 0, 0, 1, 1,
          "FedAvgM server momentum beta (strategy fedavgm only)."),
    F_NUM("strategy.beta1", strategy.beta1, 0, 0, 1, 1,
          "First-moment decay of the server optimizer (fedadam, fedyogi)."),
    F_NUM("strategy.beta2", strategy.beta2, 0, 0, 1, 1,
          "Second-moment decay of the server optimizer (fedadam, fedyogi)."),
    F_NUM("strategy.tau", strategy.tau, 0, 1, 10, 0,
          "Adaptivity of the server optimizer (fedadam, fedyogi, fedadagrad): added to the "
          "square root of the second moment; smaller = more adaptive."),
    F_STR("strategy.server_optimizer", strategy.server_optimizer, 1, task_server_optimizers,
          "fedopt only: the optimizer the server applies to the pseudo-gradient (minus the "
          "averaged client update), with learning rate server_lr and the optimizer's paper "
          "defaults for everything else (Reddi et al.'s FedOpt with any of fedc's optimizers). "
          "sgd with server_lr 1 is fedavg."),
    F_STR("strategy.local_params", strategy.local_params, 1, NULL,
          "Parameters that stay on each client and are never aggregated: every client keeps "
          "its own values across rounds and the global model keeps the initial ones. none, or "
          "a comma-separated list of: bn (batch-norm weights, biases and running statistics: "
          "FedBN), gn, norm (bn and gn), conv, wsconv, dense (every layer of that kind), "
          "layers.I (the layer at position I of the model spec), first:K or last:K (the first "
          "or last K layers that have parameters; last:1 keeps the classifier head, as "
          "FedPer). Must leave some parameters shared."),
    F_STR("strategy.server_lr_schedule", strategy.server_lr_schedule, 1, task_lr_schedules,
          "Schedule of server_lr over rounds, after the warm-up: constant, step (x server_lr_gamma "
          "every server_lr_step_rounds rounds) or cosine (down to server_lr_min)."),
    F_INT("strategy.server_lr_warmup_rounds", strategy.server_lr_warmup_rounds, 0, 100000,
          "Linear warm-up of server_lr: round r <= this uses server_lr x r / "
          "server_lr_warmup_rounds; 0 = none."),
    F_INT("strategy.server_lr_step_rounds", strategy.server_lr_step_rounds, 1, 100000,
          "server_lr_schedule step only: rounds between two multiplications by server_lr_gamma."),
    F_NUM("strategy.server_lr_gamma", strategy.server_lr_gamma, 0, 1, 1, 0,
          "server_lr_schedule step only: factor applied every server_lr_step_rounds rounds."),
    F_NUM("strategy.server_lr_min", strategy.server_lr_min, 0, 0, 100, 0,
          "server_lr_schedule cosine only: server_lr of the last round."),
    F_INT("strategy.scaffold_option", strategy.scaffold_option, 1, 2,
          "scaffold only: how a client renews its control variate. 1: the gradient of all its "
          "data at the global model (one extra pass). 2: c_i - c + (x - y) / (K lr), from the "
          "local steps already taken (the paper's cheaper choice)."),
    F_NUM("strategy.client_beta", strategy.client_beta, 0, 1, 1, 0,
          "fedavg-m and scaffold-m: weight of the fresh (for scaffold-m, corrected) gradient in "
          "each local step, beta grad + (1 - beta) g, where g is the global direction of the last "
          "round; 1 is fedavg / scaffold."),
    F_INT("strategy.fedau_cutoff", strategy.fedau_cutoff, 0, 100000,
          "fedau only: an interval of this many rounds without participation is recorded and "
          "counting restarts (the paper's K); 0 = no cutoff."),
    F_NUM("strategy.rho", strategy.rho, 0, 0, 10, 0,
          "fedsam and fedspeed: radius of the sharpness-aware perturbation, w + rho g / |g|; 0 = "
          "no perturbation."),
    F_NUM("strategy.lambda", strategy.lambda, 0, 1, 1e6, 0,
          "fedspeed only: lambda of the prox-correction; local steps add (1/lambda)(w - x) minus "
          "the client's correction vector."),
    F_STR("strategy.hyper_level", strategy.hyper_level, 1, task_hyper_levels,
          "fedhyper only: which learning rate the hypergradient adapts. global: the server's "
          "(server_lr x (1 + a), a accumulated from consecutive global updates, clipped to "
          "[-0.8, 4]). server: the clients' lr set by the server from the same hypergradient, "
          "within [lr/10, 10 lr]. local: each client adapts its own lr every step, within "
          "[lr/10, 10 lr]."),
    F_NUM("strategy.hyper_lr", strategy.hyper_lr, 0, 0, 1000, 0,
          "fedhyper only: step size of the hypergradient update; 0 keeps the learning rates "
          "fixed."),
    F_NUM("strategy.anchor_prob", strategy.anchor_prob, 0, 0, 1, 0,
          "fedamd only: probability that a sampled client is an anchor (sends its full local "
          "gradient) rather than a miner (trains)."),
    F_NUM("strategy.margin_lambda", strategy.margin_lambda, 0, 0, 100, 0,
          "fedld only: weight of the margin term lambda log(1 + |softmax(z)|^2) added to the "
          "local cross-entropy; 0 = plain cross-entropy."),
    F_NUM("strategy.top_fraction", strategy.top_fraction, 0, 1, 1, 0,
          "fedld only: share of the principal directions of the client updates kept in the "
          "aggregate."),
    F_INT("strategy.finetune_steps", strategy.finetune_steps, 0, 100000,
          "finetune and clustered: local steps (minibatches of local.batch, the task's local optimizer "
          "and lr, fresh state) each client takes from the global model to make its "
          "personalised model before it is scored (clustered: from its cluster's model); 0 = "
          "the global (cluster) model itself."),
    F_NUM("strategy.ditto_lambda", strategy.ditto_lambda, 0, 0, 1e12, 0,
          "ditto only: weight lambda of the proximal term (lambda/2)|v - x|^2 that ties each "
          "client's personal model v to the global model x; 0 = purely local models, large = "
          "the global model (lambda -> infinity is FedAvg)."),
    F_INT("strategy.clusters", strategy.clusters, 1, 64,
          "clustered only: clusters of clients (by the similarity of their updates), each with "
          "its own semi-global model; 1 = fedavg."),
    F_INT("strategy.cluster_round", strategy.cluster_round, 1, 100000,
          "clustered only: rounds of plain fedavg before the clients that have sent an update "
          "are clustered (hierarchically, average linkage on the cosine distance of their "
          "latest updates); clients seen later join the cluster their first update follows."),
    F_NUM("strategy.gate_sparsity", strategy.gate_sparsity, 0, 1, 1, 0,
          "pfedgate only: the clients' sparsity budget, the share of the model's parameters a "
          "client's sparse personalised model may keep (the blocks its gating layer scores "
          "highest that fit, a greedy knapsack); 1 = the dense model."),
    F_NUM("strategy.gate_sparsity_min", strategy.gate_sparsity_min, 0, 0, 1, 0,
          "pfedgate only: 0 = every client has the budget gate_sparsity; > 0 = each client's "
          "budget is drawn once, uniformly in [gate_sparsity_min, gate_sparsity], from the task "
          "seed (clients with different resources)."),
    F_INT("strategy.gate_blocks", strategy.gate_blocks, 1, 64,
          "pfedgate only: blocks each parameter tensor is cut into; the gating layer gives one "
          "weight per block (at most one block per parameter)."),
    F_NUM("strategy.gate_lr", strategy.gate_lr, 0, 0, 10, 0,
          "pfedgate only: learning rate of the gating layer (plain SGD, trained on the same "
          "minibatches as the model); 0 = the gate keeps its initial value."),
    F_NUM("strategy.gate_init", strategy.gate_init, 0, 1, 1, 0,
          "pfedgate only: initial gate weight of every block (the gating layer starts with zero "
          "input weights and this value through its sigmoid); 1 = a saturated all-ones gate that "
          "never moves (with gate_sparsity 1, FedAvg)."),
    F_INT("strategy.buffer_size", strategy.buffer_size, 0, 100000,
          "fedbuff only: arrivals per aggregation (the paper's K); 0 = clients_per_round. At most "
          "clients_per_round, the number of clients training at once."),
    F_NUM("strategy.window_s", strategy.window_s, 0, 0, WEEK_S, 0,
          "fedfix only, and required (> 0) for it: seconds between two aggregations; each "
          "aggregates the updates that arrived in the window. In simulation, seconds of the "
          "simulated clock of scheduling.profile."),
    F_STR("strategy.staleness", strategy.staleness, 1, task_staleness_fns,
          "Asynchronous strategies: weight s(tau) of an update computed on a model tau versions "
          "older than the current one. constant: 1. polynomial: (1 + tau)^-staleness_a (0.5 is "
          "FedBuff's 1/sqrt(1 + tau)). hinge: 1 for tau <= staleness_hinge, else 1 / (1 + "
          "staleness_a (tau - staleness_hinge))."),
    F_NUM("strategy.staleness_a", strategy.staleness_a, 0, 0, 100, 0,
          "Asynchronous strategies: the exponent (polynomial) or slope (hinge) of the staleness "
          "weight."),
    F_NUM("strategy.staleness_hinge", strategy.staleness_hinge, 0, 0, 1e6, 0,
          "Asynchronous strategies, staleness hinge only: versions of staleness with full weight."),
    F_STR("strategy.async_weights", strategy.async_weights, 1, task_async_weights,
          "Asynchronous strategies: aggregation weights d_i before staleness. sample: n_i over "
          "the samples of the updates aggregated together (FedAvg's weights). identical: 1 / "
          "number aggregated (FedBuff's 1/K). unbiased: (tau + 1) n_i / (clients_per_round x "
          "mean n): an update that spanned tau + 1 aggregations stands for the contributions a "
          "faster client made meanwhile, so every client counts by its data in expectation "
          "(Fraboni et al.). auto: unbiased for async-fedavg, sample for the others."),
    F_INT("strategy.gossip_steps", strategy.gossip_steps, 1, 64,
          "dpsgd and dfedsam-mgs: gossip (mixing) steps after the local steps of a round, the "
          "Q of DFedSAM-MGS; each costs every node one model to each neighbour. dfedsam uses 1."),
    F_NUM("strategy.strong_convexity", strategy.strong_convexity, 0, 1, 1e6, 0,
          "dadao only: mu, the l2 term (mu/2)|x|^2 added to every node's loss, which makes a convex "
          "model's loss mu-strongly convex (DADAO's mu)."),
    F_NUM("strategy.smoothness", strategy.smoothness, 0, 0, 1e9, 0,
          "dadao only: L, the smoothness of the node losses (DADAO's L); 0 = mu plus the bound "
          "1/2 max over nodes of the mean |(a, 1)|^2 of their samples, exact for softmax "
          "regression (a one-layer model), computed in simulation; a deployment (fedc server) "
          "needs L > 0, since the server does not see the nodes' data."),
    F_NUM("strategy.comm_rate", strategy.comm_rate, 0, 0, 1e6, 0,
          "dadao only: communication events per unit of time (one round) on the whole graph, an "
          "edge drawn uniformly each time; 0 = the paper's sqrt(2 chi1 chi2) of the graph's "
          "Laplacian. Gradient events come at rate 1 per node."),

    F_STR("compression.up", compression.up, 1, NULL,
          "Codec pipeline for the client-to-server updates: stages separated by |, applied "
          "left to right. Stages: none, fp16, bf16, q8, q4, q2 (uniform quantisation with "
          "per-chunk scale and stochastic rounding), topk:F and randk:F (keep a fraction F of "
          "the coordinates), sign (1 bit per coordinate), zstd (lossless). topk and sign use "
          "error feedback. Examples: none, fp16, q8|zstd, topk:0.01|q8|zstd."),
    F_STR("compression.down", compression.down, 1, NULL,
          "Codec pipeline for the server-to-client model broadcast; same stages as "
          "compression.up."),

    F_STR("scheduling.policy", scheduling.policy, 1, task_sched_policies,
          "How the server picks the clients of each round. random: uniformly. round-robin: "
          "everyone in turn. samples: with probability proportional to sample count. age: "
          "longest-unselected first. power-of-choice: sample choice_d candidates, take the "
          "clients_per_round with the highest local loss. deadline: only clients predicted to "
          "finish within deadline_s (from reported compute and link speeds)."),
    F_INT("scheduling.choice_d", scheduling.choice_d, 0, 100000,
          "power-of-choice only: candidates sampled before keeping the highest-loss ones; 0 = "
          "2 x clients_per_round. Otherwise between clients_per_round and clients."),
    F_NUM("scheduling.deadline_s", scheduling.deadline_s, 0, 0, WEEK_S, 0,
          "Round deadline in seconds; 0 = none. In simulation a selected client whose round "
          "takes longer (per scheduling.profile) is dropped from the round; policy deadline "
          "also uses it to select only clients predicted to make it, and needs it > 0."),
    F_STR("scheduling.profile", scheduling.profile, 1, NULL,
          "Simulated client heterogeneity, for wall-clock figures and deadline scheduling in "
          "simulation: none (all clients equal), lognormal (compute and link speeds drawn per "
          "client, a fraction slow and intermittently offline), or the path of a CSV trace "
          "with header client,samples_per_s,up_bps,down_bps[,avail]."),

    F_STR("attack.kind", attack.kind, 1, task_attack_kinds,
          "Simulated attack by a fraction of the clients, applied where their update leaves "
          "local training (a server never applies it; in a deployment only `fedc node "
          "--attack` nodes attack). none. sign-flip: sends -scale x its update (scale 1). "
          "scaling: sends scale x its update (scale 100). noise: adds Gaussian noise of standard "
          "deviation scale to every coordinate (scale 0.1). label-flip: trains with labels l "
          "relabelled C-1-l, or only source relabelled target. backdoor: stamps a 12-pixel "
          "pattern on poison_fraction of each batch and labels those target; the metrics report "
          "its success rate. alie: the colluding attackers send mean - z x std of their own "
          "benign updates (A Little Is Enough; z from the paper's formula unless scale > 0). "
          "ipm: they send -scale x the mean of their benign updates (inner-product "
          "manipulation; scale 0.1). With aggregator frl the update is a ranking: sign-flip and "
          "scaling send it reversed, noise a random one, alie and ipm the reversed vote of the "
          "colluders (the FRL paper's attack)."),
    F_NUM("attack.fraction", attack.fraction, 0, 0, 1, 0,
          "Fraction of the clients that attack, rounded to a count and drawn once from seed "
          "(the same clients every round they are selected); kind other than none needs at "
          "least one."),
    F_NUM("attack.scale", attack.scale, 0, 0, 1e6, 0,
          "Strength of the attack; 0 = the kind's default (see attack.kind). Not used by "
          "label-flip and backdoor."),
    F_INT("attack.target", attack.target, 0, 65535,
          "backdoor, and label-flip with a source: the class the poisoned samples are labelled "
          "as; below the dataset's class count."),
    F_INT("attack.source", attack.source, -1, 65535,
          "label-flip only: the class whose samples are relabelled target; -1 = every sample "
          "of class l is relabelled C-1-l."),
    F_NUM("attack.poison_fraction", attack.poison_fraction, 0, 1, 1, 0,
          "backdoor only: share of each attacker batch that carries the trigger."),
    F_NUM("attack.unreliable", attack.unreliable, 0, 0, 1, 0,
          "Fraction of the clients, disjoint from the attackers, that are honest but "
          "unreliable (as in MUD-HoG's evaluation): they blur half of their batches with a 5x5 "
          "Gaussian kernel and train on only 30% of their batches."),

    F_STR("privacy.mode", privacy.mode, 1, task_privacy_modes,
          "Differential privacy of the client updates, with (epsilon, delta) reported after "
          "every round. none; dp-gaussian (local): each node clips its update to L2 norm clip "
          "and adds Gaussian noise of standard deviation noise_multiplier x clip before it "
          "leaves; dp-fedavg (central, client-level DP-FedAvg): the server clips every update "
          "to clip, adds noise of standard deviation noise_multiplier x clip to their sum and "
          "divides by clients_per_round."),
    F_NUM("privacy.clip", privacy.clip, 0, 1, 1e6, 0,
          "L2 norm each client update is clipped to; with privacy.adaptive_clip the starting "
          "bound."),
    F_NUM("privacy.noise_multiplier", privacy.noise_multiplier, 0, 0, 1000, 0,
          "Noise standard deviation as a multiple of clip; 0 = clipping only, with no "
          "privacy guarantee (epsilon is reported as infinite)."),
    F_NUM("privacy.delta", privacy.delta, 0, 1, 0.1, 0,
          "The delta of the (epsilon, delta) guarantee reported; below 1/clients is usual."),
    F_NUM("privacy.target_epsilon", privacy.target_epsilon, 0, 0, 1e6, 0,
          "Privacy budget: the run never spends more epsilon than this (see "
          "privacy.on_exceed); 0 = no budget."),
    F_STR("privacy.on_exceed", privacy.on_exceed, 1, task_privacy_exceed,
          "With a target_epsilon: stop = the run ends before the round that would exceed "
          "it; refuse = the task is refused when its planned rounds would exceed it (and a "
          "run still stops before exceeding it)."),
    F_BOOL("privacy.adaptive_clip", privacy.adaptive_clip,
           "dp-fedavg only: move the clip bound each round towards the target_quantile of "
           "the update norms, using a noised count of unclipped updates (Andrew et al. "
           "2021); the count's noise is paid for out of noise_multiplier."),
    F_NUM("privacy.target_quantile", privacy.target_quantile, 0, 1, 1, 1,
          "adaptive_clip only: fraction of updates the bound should leave unclipped."),
    F_NUM("privacy.clip_lr", privacy.clip_lr, 0, 1, 10, 0,
          "adaptive_clip only: step of the geometric bound update C <- C exp(-clip_lr x "
          "(unclipped fraction - target_quantile))."),
    F_NUM("privacy.count_noise", privacy.count_noise, 0, 0, 1e6, 0,
          "adaptive_clip only: noise standard deviation on the count of unclipped updates; "
          "0 = clients_per_round / 20 (the paper's choice). Must exceed noise_multiplier / 2."),

    F_STR("secagg.mode", secagg.mode, 1, task_secagg_modes,
          "Secure aggregation. none, or secagg+: the server learns only the sum of the "
          "updates (SecAgg+, Bell et al. 2020): each node quantises its clipped update to "
          "32-bit fixed point and masks it with pairwise masks agreed with its neighbours in "
          "a sparse random graph plus a self mask; masks of nodes that drop out mid-round are "
          "recovered from Shamir shares. Needs compression.up none and a strategy that only "
          "averages (fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad)."),
    F_INT("secagg.degree", secagg.degree, 0, 100000,
          "secagg+ only: neighbours each node masks with; 0 = automatic (all others up to "
          "16 participants, else about 3 log2 n, even)."),
    F_NUM("secagg.threshold", secagg.threshold, 0, 1, 1, 0,
          "secagg+ only: fraction of a node's neighbours whose shares reconstruct its "
          "secrets; more than half keeps two disjoint groups from both unmasking it."),
    F_NUM("secagg.clip", secagg.clip, 0, 1, 1e6, 0,
          "secagg+ only: L2 norm each update is clipped to before quantisation; sets the "
          "fixed-point range, so the quantisation step is about clip / 2^30."),

    F_STR("topology.kind", topology.kind, 1, task_topology_kinds,
          "Decentralised strategies: the communication graph of the clients. ring: i ~ i +- 1. "
          "torus: a wrap-around grid (rows the largest divisor of clients not above its square "
          "root). complete: everyone. erdos-renyi: each pair joined with probability p (drawn "
          "again until connected). small-world: Watts-Strogatz ring lattice of k neighbours, "
          "each edge rewired with probability p. exponential: i ~ i +- 2^m. matching: "
          "time-varying, a fresh random perfect matching each round. `fedc topology` prints the "
          "degrees and the spectral gap."),
    F_STR("topology.mixing", topology.mixing, 1, task_topology_mixings,
          "Decentralised strategies: the mixing weights of a gossip step. metropolis-hastings: "
          "W_ij = 1 / (1 + max(deg i, deg j)). uniform: W_ij = 1 / (1 + max degree), which is "
          "1 / (deg + 1) on a regular graph. The node keeps 1 minus its row's sum; both are "
          "doubly stochastic."),
    F_NUM("topology.p", topology.p, 0, 0, 1, 0,
          "topology.kind erdos-renyi: probability of each edge (> 0); small-world: probability "
          "of rewiring each lattice edge."),
    F_INT("topology.k", topology.k, 2, 100000,
          "topology.kind small-world: neighbours in the ring lattice before rewiring (even, less "
          "than clients)."),
    F_U64("topology.seed", topology.seed,
          "Seed of the random graphs (erdos-renyi, small-world, matching) and of gossip's "
          "choices; 0 = the task's seed."),
    F_INT("topology.eval_samples", topology.eval_samples, 0, 100000000,
          "Decentralised strategies: test samples (the first ones of the test set) each node's "
          "own model is scored on when a round is evaluated; 0 = the whole test set. The "
          "average model is always scored on the whole test set."),

    F_NUM("state.memory_mb", state.memory_mb, 0, 1, 1e7, 0,
          "Per-client state (control variates, correction vectors, error-feedback residuals, "
          "per-client server tables) kept in memory, in MiB; beyond it the least recently used "
          "clients' state is written to a spill file and read back when they next take part."),
    F_STR("state.spill_dir", state.spill_dir, 0, NULL,
          "Folder of the spill file of per-client state; empty = $TMPDIR or /tmp. The file is "
          "removed as soon as it is created, so nothing is left behind."),

    F_U64("seed", seed,
          "Seed of every random choice (initial model, partition, client selection, dropout, "
          "stochastic rounding): the same task with the same seed gives the same run."),

    F_NUM("stop.target_accuracy", stop.target_accuracy, 0, 0, 1, 0,
          "Stop once the test accuracy (0 to 1) reaches this value; 0 = off."),
    F_NUM("stop.max_wall_s", stop.max_wall_s, 0, 0, 1e7, 0,
          "Stop after this many seconds of wall-clock time; 0 = off."),
    F_INT("stop.plateau_rounds", stop.plateau_rounds, 0, 100000,
          "Stop when the accuracy has plateaued: this many rounds have passed since the last evaluation "
          "that rose more than stop.plateau_delta above the best so far (validation accuracy when "
          "`validation` holds a split out, else test accuracy; counted at evaluated rounds); 0 = off."),
    F_NUM("stop.plateau_delta", stop.plateau_delta, 0, 0, 1, 0,
          "Smallest rise of the accuracy (0 to 1) that counts as progress for stop.plateau_rounds."),

    F_INT("eval_every", eval_every, 1, 100000,
          "Evaluate the global model on the test set every this many rounds, and after the "
          "first and the last round."),
    F_INT("eval_personal", eval_personal, 0, 10000,
          "Simulation only: every participant scores the model it starts the round with (the "
          "global model with its own strategy.local_params, e.g. FedBN's batch norms) on this "
          "many test samples of its own domain (partition.feature_skew), reported as "
          "personal_accuracy, the mean over participants; 0 = off."),
    F_NUM("validation", validation, 0, 0, 0.5, 0,
          "Simulation only: this share of each client's training samples is held out (drawn "
          "from the task seed) and never trained on; the server evaluates the global model on "
          "the union of the held-out samples as well as on the test set, reported as "
          "val_accuracy and val_loss. A search (fedc tune) selects on it, so the test set "
          "never picks the winner; 0 = off."),

    F_BOOL("eval.federated", eval.federated,
           "Federated evaluation: after each evaluated round (eval_every), nodes score the new "
           "global model on their own local test data and report loss, accuracy and example "
           "count; the run's fed_accuracy and fed_loss are their means weighted by examples. In "
           "simulation client k's test data is its share of the test set, cut like its training "
           "data. Always on for model external, whose server cannot evaluate."),
    F_INT("eval.clients", eval.clients, 0, 100000,
          "Nodes asked to evaluate in an evaluated round: 0 = the round's participants, else "
          "this many available clients drawn at random (seeded). At most clients."),

    F_INT("deploy.min_nodes", deploy.min_nodes, 1, 100000,
          "Deployment only: the first round starts once this many nodes are connected; at "
          "most clients. It is a floor, not the round's size: every round takes "
          "clients_per_round of the nodes connected to the run, waiting up to 10 s for nodes "
          "still setting up the task."),
    F_INT("deploy.min_updates", deploy.min_updates, 1, 100000,
          "Fewest usable client updates a round needs; a round with fewer fails. Applies in "
          "simulation too, where clients drop out by missing scheduling.deadline_s. At most "
          "clients_per_round."),
    F_NUM("deploy.round_timeout_s", deploy.round_timeout_s, 0, 1, WEEK_S, 0,
          "Deployment only: seconds a round waits for the updates of its selected nodes."),
    F_NUM("deploy.connect_timeout_s", deploy.connect_timeout_s, 0, 1, WEEK_S, 0,
          "Deployment only: seconds to wait for deploy.min_nodes nodes to connect."),
};
const int task_nfields = (int)(sizeof task_fields / sizeof task_fields[0]);

const task_group task_groups[] = {
    {"dataset", "Which data to train on and where it is."},
    {"partition", "How the training data is split across the clients (simulation)."},
    {"local", "Local training on each selected client in a round."},
    {"strategy", "How the server turns client updates into the next global model."},
    {"compression", "Codecs for the bytes on the wire, in each direction."},
    {"scheduling", "Which clients take part in each round, and simulated client speeds."},
    {"attack", "Simulated attackers and unreliable clients, to measure robust aggregation."},
    {"privacy", "Differential privacy of the client updates and its accounting."},
    {"secagg", "Secure aggregation: the server sees only the sum of the updates."},
    {"topology", "Decentralised strategies: the graph the clients gossip on and its mixing weights."},
    {"state", "Memory for per-client state (strategies with control variates or per-client tables)."},
    {"stop", "Rules that end a run before all rounds are done."},
    {"eval", "Federated evaluation: nodes score the global model on their local test data."},
    {"deploy", "Rounds with real edge nodes: when to start, how long to wait, how many "
               "updates a round needs (min_updates also applies in simulation)."},
};
const int task_ngroups = (int)(sizeof task_groups / sizeof task_groups[0]);

const task_field *task_field_find(const char *path) {
    for (int i = 0; i < task_nfields; i++)
        if (strcmp(task_fields[i].path, path) == 0) return &task_fields[i];
    return NULL;
}

const task_group *task_group_find(const char *name) {
    for (int i = 0; i < task_ngroups; i++)
        if (strcmp(task_groups[i].name, name) == 0) return &task_groups[i];
    return NULL;
}

/* Whether field f sits at the level "group" (NULL = top level). */
static int at_level(const task_field *f, const char *group) {
    if (!group) return 1;
    size_t n = strlen(group);
    return strncmp(f->path, group, n) == 0 && f->path[n] == '.';
}

int task_level_keys(const char *group, const char **out, int max) {
    int n = 0;
    for (int i = 0; i < task_nfields && n < max; i++) {
        const task_field *f = &task_fields[i];
        if (!at_level(f, group)) continue;
        const char *dot = strchr(f->path, '.');
        if (group) {
            out[n++] = dot + 1;
        } else if (!dot) {
            out[n++] = f->path;
        } else {
            /* A group's fields are adjacent: list its name once. */
            size_t len = (size_t)(dot - f->path);
            if (n > 0 && strncmp(out[n - 1], f->path, len) == 0 && out[n - 1][len] == '\0')
                continue;
            for (int g = 0; g < task_ngroups; g++)
                if (strncmp(task_groups[g].name, f->path, len) == 0 &&
                    task_groups[g].name[len] == '\0')
                    out[n++] = task_groups[g].name;
        }
    }
    return n;
}

void task_allowed_keys(const char *group, char *out, size_t cap) {
    const char *keys[128];
    int n = task_level_keys(group, keys, 128);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", keys[i]);
        if (w < 0 || (size_t)w >= cap - used) break;
        used += (size_t)w;
    }
}

/* Levenshtein distance, giving up (returning 3) past 2 or on long words:
 * enough to suggest "lr" for "lrr". */
static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 3;
    if ((la > lb ? la - lb : lb - la) > 2) return 3;
    int row[41];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *task_closest(const char *word, const char *const *candidates, int n) {
    const char *best = NULL;
    /* Short words are close to everything: allow one edit up to 4 letters. */
    int best_d = strlen(word) <= 4 ? 2 : 3;
    for (int i = 0; i < n && candidates[i]; i++) {
        int d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}
