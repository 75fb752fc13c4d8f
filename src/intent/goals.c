/* The goal table: what "keep bandwidth low", "use little CPU", "as accurate
 * as possible", "fast" and "fair" turn into. This is the ONE place that
 * maps goals to settings; docs/intent.md prints the same table.
 *
 * Each setting says where the choice comes from: a benchmark table in
 * bench/ (compression: bench/bench_comm.py), "measured once here" (a
 * two-seed check of the goal's task against the default task, with the
 * commands and figures in docs/intent.md), the literature, or "pending". A
 * goal only fills fields the words left open; explicit words always win,
 * and the explanation says so. */
#include "intent/intent_internal.h"

const intent_goal intent_goals[] = {
    {"bandwidth",
     "keep bandwidth low",
     {
         /* bench/bench_comm.py (bench/results/comm.json, README "Compression
         * and scheduling"): on Fashion-MNIST, 100 clients, Dirichlet 0.5, this
         * pair is among the codecs that reach the target accuracy with the
         * fewest bytes (up + down), against uncompressed FedAvg on the same
         * seeds; the figures are in the README, rendered from the results
         * file. Top-10% keeps the largest changes with error feedback; 4-bit
         * values; zstd packs them. */
         {"compression.up", "\"topk:0.1|q4|zstd\"",
          "client updates: the largest 10% of changes, 4 bits each, with error feedback, then zstd",
          "measured: bench/bench_comm.py (README, \"Compression and scheduling\")"},
         /* The model path sends each node the change since its last copy, so
          * 2-bit stochastic quantisation there does not accumulate error. */
         {"compression.down", "\"q2|zstd\"",
          "model downloads: the change since the node's last copy, 2 bits per value (unbiased), then "
          "zstd",
          "measured: bench/bench_comm.py (same row)"},
     },
     2},
    {"cpu",
     "use little CPU",
     {
         /* Client CPU per round is proportional to the clients trained.
          * bench/bench_intent_goals.py measures what the two settings save
          * to 80% and 82% test accuracy (docs/intent.md, "Goal figures");
          * capping local steps instead (max_steps 10) cost more CPU to reach
          * the same accuracy, so it is not used. */
         {"clients_per_round", "5",
          "trains 5 clients per round instead of 10: half the client work per round, slightly more "
          "rounds to the same accuracy",
          "measured: bench/bench_intent_goals.py (docs/intent.md, goal figures)"},
         /* Server-side evaluation of the 10,000 test images every round is a
          * fixed CPU cost independent of training. */
         {"eval_every", "5", "evaluates the global model every 5th round instead of every round",
          "measured: bench/bench_intent_goals.py (docs/intent.md, goal figures)"},
     },
     2},
    {"accuracy",
     "as accurate as possible",
     {
         /* McMahan et al. 2017 (Communication-Efficient Learning of Deep
          * Networks from Decentralized Data): their CNN beats the 2-hidden-
          * layer MLP on MNIST; bench/bench_fedavg.py trains both models on
          * Fashion-MNIST (README, "Training speed"). */
         {"model", "\"cnn\"",
          "the CNN of McMahan et al. (conv 32, conv 64, dense 512), which beats the MLP in their "
          "MNIST experiments",
          "literature (McMahan et al. 2017); bench/bench_fedavg.py trains both models"},
         {"rounds", "100", "twice the default 50 rounds, so the model trains longer",
          "not measured: an assumption that longer training helps"},
     },
     2},
    {"fast",
     "fast",
     {
         {"rounds", "20", "20 rounds instead of the default 50: a quick run",
          "by definition: a run of 20 rounds does 40% of the default's work"},
     },
     1},
    {"fair",
     "fair turns for every client",
     {
         /* Round-robin visits every client within ceil(N/S) rounds: a
          * property the scheduler's tests assert
          * (tests/unit/fl_sched/test_sched_policies.c). */
         {"scheduling.policy", "\"round-robin\"",
          "round-robin selection: every client takes part within ceil(clients / clients_per_round) "
          "rounds",
          "by construction (tested property of the scheduler)"},
     },
     1},
};
const int intent_ngoals = (int)(sizeof intent_goals / sizeof intent_goals[0]);

/* Trigger phrases (lemmas). The arg is the index in intent_goals. */
const intent_phrase intent_goal_phrases[] = {
    {"bandwidth", C_GOAL, 0}, {"low bandwidth", C_GOAL, 0}, {"metered", C_GOAL, 0},
    {"metered connection", C_GOAL, 0}, {"traffic", C_GOAL, 0}, {"network traffic", C_GOAL, 0},
    {"communication", C_GOAL, 0}, {"communication cost", C_GOAL, 0},
    {"communication efficient", C_GOAL, 0}, {"communication efficiency", C_GOAL, 0},
    {"byte", C_GOAL, 0}, {"slow network", C_GOAL, 0}, {"slow link", C_GOAL, 0},
    {"slow connection", C_GOAL, 0}, {"cellular", C_GOAL, 0}, {"data cap", C_GOAL, 0},
    {"data plan", C_GOAL, 0}, {"satellite", C_GOAL, 0}, {"keep upload small", C_GOAL, 0},
    {"small upload", C_GOAL, 0}, {"upload small", C_GOAL, 0}, {"keep update small", C_GOAL, 0},
    {"small update", C_GOAL, 0}, {"upload size", C_GOAL, 0}, {"update size", C_GOAL, 0},
    {"small message", C_GOAL, 0}, {"message size", C_GOAL, 0}, {"payload size", C_GOAL, 0},

    {"cpu", C_GOAL, 1}, {"cpu time", C_GOAL, 1}, {"compute", C_GOAL, 1}, {"computation", C_GOAL, 1},
    {"battery", C_GOAL, 1}, {"battery powered", C_GOAL, 1}, {"energy", C_GOAL, 1},
    {"power consumption", C_GOAL, 1}, {"low power", C_GOAL, 1}, {"flops", C_GOAL, 1},
    {"processing power", C_GOAL, 1}, {"weak device", C_GOAL, 1}, {"low end device", C_GOAL, 1},
    {"low end", C_GOAL, 1}, {"cheap device", C_GOAL, 1}, {"lightweight training", C_GOAL, 1},

    {"accurate", C_GOAL, 2}, {"as accurate as possible", C_GOAL, 2}, {"most accurate", C_GOAL, 2},
    {"best accuracy", C_GOAL, 2}, {"highest accuracy", C_GOAL, 2}, {"high accuracy", C_GOAL, 2},
    {"maximum accuracy", C_GOAL, 2}, {"max accuracy", C_GOAL, 2}, {"maximize accuracy", C_GOAL, 2},
    {"maximise accuracy", C_GOAL, 2}, {"top accuracy", C_GOAL, 2},
    {"best possible accuracy", C_GOAL, 2}, {"best model", C_GOAL, 2}, {"best result", C_GOAL, 2},
    {"state of the art", C_GOAL, 2}, {"accuracy matters most", C_GOAL, 2},
    {"accuracy is what matters", C_GOAL, 2}, {"best possible model", C_GOAL, 2},

    {"fast", C_GOAL, 3}, {"faster", C_GOAL, 3}, {"fastest", C_GOAL, 3}, {"quick", C_GOAL, 3},
    {"quickly", C_GOAL, 3}, {"quickest", C_GOAL, 3}, {"asap", C_GOAL, 3}, {"hurry", C_GOAL, 3},
    {"in a hurry", C_GOAL, 3}, {"smoke test", C_GOAL, 3}, {"sanity check", C_GOAL, 3},
    {"quick test", C_GOAL, 3}, {"quick run", C_GOAL, 3}, {"short run", C_GOAL, 3}, {"rapid", C_GOAL, 3},
    {"as fast as possible", C_GOAL, 3}, {"speedy", C_GOAL, 3},

    {"fair", C_GOAL, 4}, {"fairness", C_GOAL, 4}, {"fairly", C_GOAL, 4}, {"fair turn", C_GOAL, 4},
    {"equal chance", C_GOAL, 4}, {"everyone get a turn", C_GOAL, 4},
    {"every client get a turn", C_GOAL, 4}, {"equal opportunity", C_GOAL, 4},
    {"no client left out", C_GOAL, 4}, {"fair share", C_GOAL, 4},
    {NULL, C_NONE, 0},
};
