"""DADAO between real nodes: a server and 4 node processes over TLS on
loopback run DADAO (softmax regression, the convex setting) on a ring. Each
node keeps its six vectors in its state directory and plays its own gradient
events on its own data; the server draws the round's events and routes only
what a communication exchanges (each node's y and z), then each node's x at
the round's end. The deployment equals `fedc sim --gossip-relay` round by
round (accuracy, loss, consensus distance, the nodes' accuracies, and the
bytes counted where the frames cross the transport), and the relayed
simulation equals the engine's own DADAO."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, deploy_on_partitions, quick_task, simulate  # noqa: E402

FEDC = sys.argv[1]
N = 4
ROUNDS = 3
D = 784 * 10 + 10  # softmax regression on Fashion-MNIST
task = quick_task(N, rounds=ROUNDS, model="dense:10",
                  strategy={"name": "dadao", "strong_convexity": 0.1, "smoothness": 200},
                  topology={"kind": "ring"}, deploy={"min_updates": N})


with Cluster(FEDC, tls=True, name="decentral-dadao") as c:
    c.start_server()
    sim = simulate(c, "sim", task)
    relayed = simulate(c, "sim-relay", task, "--gossip-relay")
    assert len(sim) == len(relayed) == ROUNDS, (sim, relayed)
    for s, r in zip(sim, relayed):
        # The nodes' own steps compute the engine's models bit for bit.
        assert s["accuracy"] == r["accuracy"] and s["consensus_distance"] == r["consensus_distance"], (s, r)
        assert s["node_accuracy"] == r["node_accuracy"], (s, r)

    # Without L the server cannot bound the smoothness of data it never sees.
    no_l = dict(task, strategy={"name": "dadao", "strong_convexity": 0.1})
    st, body = c.api("POST", "/api/runs", no_l)
    assert st == 400 and body["issues"][0]["path"] == "strategy.smoothness", body

    run_id, dep = deploy_on_partitions(c, task, N, ROUNDS)
    st, body = c.api("GET", f"/api/runs/{run_id}/metrics.jsonl", raw=True)
    assert st == 200, (st, body)
    exported = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
    assert len(exported) == ROUNDS, exported
    for d, e, r in zip(dep, exported, relayed):
        rnd = d["round"]
        assert d["participants"] == r["participants"] == N, (d, r)
        assert e["accuracy"] == r["accuracy"] and e["loss"] == r["loss"], f"round {rnd}: {e} vs sim {r}"
        assert e["consensus_distance"] == r["consensus_distance"], f"round {rnd}: {e} vs sim {r}"
        assert abs(d["consensus_distance"] - r["consensus_distance"]) <= 5e-10 + 1e-8 * r["consensus_distance"], (d, r)
        assert e["node_accuracy"] == r["node_accuracy"] and e["avg_model_accuracy"] == r["avg_model_accuracy"], (e, r)
        assert e["train_loss"] == r["train_loss"], (e, r)
        assert d["bytes_down"] == r["bytes_down"] and d["bytes_up"] == r["bytes_up"], (d, r)
        # Up: y and z (2 models) from each of the 2 nodes of a communication,
        # then every node's x; each frame adds its header and a little JSON.
        ends = round((d["bytes_up"] - N * D * 4) / (D * 8))
        assert ends % 2 == 0 and ends > 0, d
        assert N * D * 4 + ends * D * 8 < d["bytes_up"] < N * D * 4 + ends * D * 8 + (N + ends) * 256, d
    print(f"ring of {N} dadao nodes matches sim: accuracy {[r['accuracy'] for r in dep]}, consensus distance "
          f"{[r['consensus_distance'] for r in dep]}, {[round(r['bytes_up'] / N / 1e3, 1) for r in dep]} kB up "
          f"per node per round")
    # Every node kept its vectors in its state directory while the run went on;
    # the run's end removed them.
print("ok")
