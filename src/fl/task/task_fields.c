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
                                     "csv",            NULL};
static const char *const task_dataset_fetch[] = {"auto", "never", NULL};
static const char *const task_dataset_labels[] = {"fine", "coarse", NULL};
const char *const task_partition_kinds[] = {"iid", "dirichlet", "shards", "quantity", "natural",
                                            NULL};
const char *const task_optimizers[] = {"sgd", "adam", "adamw", NULL};
const char *const task_inits[] = {"he", "torch", NULL};
const char *const task_strategy_names[] = {
    "fedavg", "fedprox",  "fedavgm", "fedadam", "fedyogi",  "fedadagrad", "scaffold", "fedavg-m", "scaffold-m",
    "fednova", "fedau", "afa-cd", "afa-cs",  "fedhyper", "fedspeed", "fedsam", "fedamd", "fedld", NULL};
const char *const task_lr_schedules[] = {"constant", "step", "cosine", NULL};
const char *const task_hyper_levels[] = {"global", "server", "local", NULL};
const char *const task_sched_policies[] = {"random", "round-robin",     "samples",
                                           "age",    "power-of-choice", "deadline", NULL};
const char *const task_privacy_modes[] = {"none", "dp-gaussian", "dp-fedavg", NULL};
const char *const task_privacy_exceed[] = {"stop", "refuse", NULL};
const char *const task_secagg_modes[] = {"none", "secagg+", NULL};

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
          "used when installed. csv: tabular data, numeric feature columns and an integer label "
          "column."),
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

    F_STR("partition.kind", partition.kind, 1, task_partition_kinds,
          "How the training samples are split across the clients. iid: uniformly at random, "
          "equal sizes. dirichlet: label skew, each client's class mix drawn from "
          "Dirichlet(alpha). shards: each client holds only classes_per_client classes (the "
          "pathological non-IID split of McMahan et al.). quantity: labels IID but client sizes "
          "log-normal with spread sigma. natural: the data's own split, whole writers per "
          "client (femnist only; clients at most the number of writers, one writer each when "
          "equal, as in LEAF)."),
    F_NUM("partition.alpha", partition.alpha, 0, 1, 1000, 0,
          "Dirichlet concentration, used by kind dirichlet only. Small values (0.1) give each "
          "client a few dominant classes; large values (100) are close to IID."),
    F_INT("partition.classes_per_client", partition.classes_per_client, 1, 1000,
          "Classes each client holds, used by kind shards only; at most the dataset's class "
          "count (10 for mnist, fashion-mnist, emnist-digits, cifar10 and svhn)."),
    F_NUM("partition.sigma", partition.sigma, 0, 0, 10, 0,
          "Standard deviation of the log of client sizes, used by kind quantity only. 0 = equal "
          "sizes; 0.5 = mild size skew; 2 = a few clients hold most of the data."),

    F_STR("model", model, 1, NULL,
          "The model: a preset, mlp (dense:200,dense:200,dense:10; 199,210 parameters on 28x28 "
          "input) or cnn (conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10, the CNN of "
          "McMahan et al.), or a compact spec of comma-separated layers: conv:C:K[:S[:P]] (C "
          "channels, KxK kernel, stride S, padding P), pool:K (max), avgpool:K, dense:N, gn:G "
          "(group norm), drop:P (dropout rate), relu, flatten. ReLU follows every conv and dense "
          "layer but the last; the last layer must be dense with one output per class. Checked "
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
    F_INT("clients", clients, 1, 100000,
          "Federation size: how many clients the training set is partitioned across in "
          "simulation, or how many nodes take part in a deployment."),
    F_INT("clients_per_round", clients_per_round, 1, 100000,
          "Clients selected to train in each round (S); at most clients. The fraction "
          "clients_per_round/clients is the C of the FedAvg paper."),

    F_INT("local.epochs", local.epochs, 1, 1000,
          "Passes each selected client makes over its local data per round (E)."),
    F_INT("local.batch", local.batch, 1, 65536, "Minibatch size of local training (B)."),
    F_INT("local.max_steps", local.max_steps, 0, 1000000,
          "Cap on local optimizer steps per round; 0 = no cap (epochs x ceil(samples / batch) "
          "steps)."),
    F_NUM("local.lr", local.lr, 0, 1, 10, 0,
          "Local learning rate (eta). Typical: 0.01 to 0.1 for sgd, 0.001 for adam and adamw."),
    F_STR("local.optimizer", local.optimizer, 1, task_optimizers,
          "Local optimizer, its state reset at the start of every round. sgd: with momentum, "
          "nesterov and weight_decay (L2 added to the gradient). adam: weight_decay added to "
          "the gradient. adamw: decoupled weight decay."),
    F_NUM("local.momentum", local.momentum, 0, 0, 1, 1,
          "SGD momentum (optimizer sgd only); 0 = plain SGD."),
    F_BOOL("local.nesterov", local.nesterov,
           "Nesterov momentum (optimizer sgd only; has an effect when momentum > 0)."),
    F_NUM("local.weight_decay", local.weight_decay, 0, 0, 1, 0,
          "Weight decay: L2 penalty coefficient for sgd and adam, decoupled decay for adamw; "
          "0 = none."),
    F_NUM("local.beta1", local.beta1, 0, 0, 1, 1,
          "First-moment decay of adam and adamw (optimizer adam or adamw only)."),
    F_NUM("local.beta2", local.beta2, 0, 0, 1, 1,
          "Second-moment decay of adam and adamw (optimizer adam or adamw only)."),
    F_NUM("local.eps", local.eps, 0, 1, 1, 0,
          "Term added to the denominator of adam and adamw for numerical stability."),
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
          "aggregation (margin_lambda, top_fraction). docs/algorithms.md describes each."),
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

    F_INT("eval_every", eval_every, 1, 100000,
          "Evaluate the global model on the test set every this many rounds, and after the "
          "first and the last round."),
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
          "most clients."),
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
    {"privacy", "Differential privacy of the client updates and its accounting."},
    {"secagg", "Secure aggregation: the server sees only the sum of the updates."},
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
