/* What a mid-level server (`fedc server --upstream`) can serve, and the
 * task it gives its own nodes.
 *
 * A mid-level server answers an upstream round with the sample-weighted
 * mean of its nodes' updates and the sum of their sample counts, so the
 * upstream's weighted mean over mid-level servers is the weighted mean over
 * every leaf node: FedAvg composes across levels. That holds for the
 * strategies whose clients train the plain way and whose server keeps all
 * of its state (momentum, adaptive moments) on the top server, where the
 * combined mean arrives. Everything else is refused here, naming the field:
 * per-client state (SCAFFOLD and its kin) lives with the client and the top
 * never sees the leaves; robust aggregators and norm bounds judge single
 * updates, and a mid-level mean is not one; secure aggregation and
 * differential privacy account per client; asynchronous and decentralised
 * strategies have no synchronous round to relay; an external model and
 * federated evaluation need callbacks a relay does not have. */
#include <stdio.h>
#include <string.h>

#include "fedc/strategy.h"
#include "server/server_internal.h"

/* Plain averaging of trained deltas on the client side, all server state on
 * the top: these compose exactly across levels. */
static const char *const k_relay_strategies[] = {"fedavg", "fedprox",    "fedavgm", "fedadam",
                                                 "fedyogi", "fedadagrad", "fedopt"};

int upstream_check_task(const fedc_task *t, fedc_error *err) {
    int known = 0;
    for (size_t i = 0; i < sizeof k_relay_strategies / sizeof *k_relay_strategies; i++)
        if (!strcmp(t->strategy.name, k_relay_strategies[i])) known = 1;
    if (!known)
        return fedc_fail(err,
                         "strategy.name: a mid-level server cannot relay %s: its state does not split across "
                         "levels (allowed: fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, fedopt)",
                         t->strategy.name);
    if (strcmp(t->strategy.aggregator, "mean") != 0)
        return fedc_fail(err,
                         "strategy.aggregator: %s judges single updates; a mid-level server sends one mean of "
                         "many, so only mean can be relayed",
                         t->strategy.aggregator);
    if (t->strategy.norm_bound > 0)
        return fedc_fail(err, "strategy.norm_bound: the bound applies to single updates; a mid-level server sends "
                              "one mean of many, so it cannot be relayed");
    if (strcmp(fedc_task_local_params(t), "none") != 0)
        return fedc_fail(err, "strategy.local_params: per-client parameters are personal state a mid-level server "
                              "cannot relay");
    if (strcmp(t->privacy.mode, "none") != 0)
        return fedc_fail(err, "privacy.mode: %s accounts per client; a mid-level server cannot relay it",
                         t->privacy.mode);
    if (strcmp(t->secagg.mode, "none") != 0)
        return fedc_fail(err, "secagg.mode: %s masks each update for the top server alone; a mid-level server "
                              "cannot relay it",
                         t->secagg.mode);
    if (fedc_task_external(t))
        return fedc_fail(err, "model: an external model's initial parameters and manifest come from a node; a "
                              "mid-level server cannot relay it");
    if (t->eval.federated)
        return fedc_fail(err, "eval.federated: a mid-level server does not relay evaluation requests");
    return 0;
}

int upstream_leaf_task(const fedc_task *top, int leaf_clients, int leaf_min_nodes, fedc_task *out, fedc_error *err) {
    if (upstream_check_task(top, err) != 0) return -1;
    fedc_task defaults;
    fedc_task_defaults(&defaults);
    *out = *top;
    /* The slots below: the nodes' partitions K/N name them, so a leaf
     * trains exactly as it would as client K of a flat run. */
    out->clients = leaf_clients > 0 ? leaf_clients : top->clients;
    out->clients_per_round = out->clients;
    if (leaf_min_nodes > out->clients)
        return fedc_fail(err, "--leaf-min-nodes %d is more than the %d client slots below this server", leaf_min_nodes,
                         out->clients);
    out->deploy.min_nodes = leaf_min_nodes > 0 ? leaf_min_nodes : 1;
    out->deploy.min_updates = 1;
    /* A silent node is given up a little before the upstream gives up on
     * this server, so the round still goes up with the updates that came. */
    double leaf_timeout = top->deploy.round_timeout_s * UPSTREAM_LEAF_TIMEOUT_SHARE;
    out->deploy.round_timeout_s = leaf_timeout < 1 ? 1 : leaf_timeout;
    /* The upstream picks and times this server; below, every node that is
     * ready trains each round the upstream asks for. */
    memcpy(&out->scheduling, &defaults.scheduling, sizeof out->scheduling);
    if (fedc_task_validate(out, err) != 0) {
        fedc_fail_prefix(err, "the task for this server's nodes: ");
        return -1;
    }
    return 0;
}
