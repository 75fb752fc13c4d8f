"""Pairwise gossip between real nodes: a server and 4 node processes over TLS
on loopback run variance-corrected gossip (gossip-vc) on a ring. A gossip
round is a sequence of pushes, each node's model merged into a random
neighbour's; the server relays it in waves of pushes between disjoint pairs
(the receiver of each push gets both models and merges them), which computes
what the sequence computes. The deployment equals `fedc sim --gossip-relay`
round by round (accuracy and loss: the mean over the nodes of their own
models; training loss; and the bytes counted where the frames cross the
transport), and the relayed
simulation equals the engine's own sequential gossip."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, deploy_on_partitions, check_decentral_metrics, quick_task, simulate  # noqa: E402

FEDC = sys.argv[1]
N = 4
ROUNDS = 3
task = quick_task(N, rounds=ROUNDS, strategy={"name": "gossip-vc"}, topology={"kind": "ring"},
                  deploy={"min_updates": N})


with Cluster(FEDC, tls=True, name="decentral-gossip") as c:
    c.start_server()
    sim = simulate(c, "sim", task)
    relayed = simulate(c, "sim-relay", task, "--gossip-relay")
    for s, r in zip(sim, relayed):
        # The waves compute the same models as the engine's sequence of pushes.
        assert s["accuracy"] == r["accuracy"] and s["consensus_distance"] == r["consensus_distance"], (s, r)

    run_id, dep = deploy_on_partitions(c, task, N, ROUNDS)
    model = 4 * (784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10)  # the mlp, float32
    for d, r in zip(dep, relayed):
        assert d["participants"] == r["participants"] == N, (d, r)
        assert abs(d["accuracy"] - r["accuracy"]) < 1e-6, f"round {d['round']}: {d['accuracy']} vs sim {r['accuracy']}"
        assert abs(d["loss"] - r["loss"]) < 1e-5, (d["loss"], r["loss"])
        assert abs(d["train_loss"] - r["train_loss"]) < 1e-5, (d["train_loss"], r["train_loss"])
        assert d["bytes_down"] == r["bytes_down"] and d["bytes_up"] == r["bytes_up"], (d, r)
        # Up: every node's update, then one model per frame answered: each of the
        # N pushes' receivers, and each sender still holding its update (0..N).
        assert N * model * 2 < d["bytes_up"] < N * (model * 3 + 4096), d["bytes_up"]
    cds = check_decentral_metrics(c, run_id, dep, relayed)
    print(f"ring of {N} gossip-vc nodes matches sim: accuracy {[r['accuracy'] for r in dep]}, consensus distance {cds}, "
          f"{[round(r['bytes_up'] / N / 1e6, 2) for r in dep]} MB up per node per round")
print("ok")
