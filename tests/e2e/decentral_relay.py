"""Decentralised learning between real nodes: a server and 8 node processes over
TLS on loopback run D-PSGD (2 gossip steps per round) on a ring. The server
never mixes models: each gossip step it forwards to every node what that node's
ring neighbours sent (their models, in the first step their updates too), the
node computes its own mix and sends it back for the next step. The deployment
equals the simulation round by round (accuracy and loss: the mean over the 8
nodes of their own models; training loss), and its byte counts, taken where the
frames cross the transport, equal those of `fedc sim --gossip-relay`, which runs
the same relayed exchange in one process. DADAO, whose events run on its own
clock, is refused with the field to change."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, deploy_on_partitions, check_decentral_metrics, quick_task, simulate  # noqa: E402

FEDC = sys.argv[1]
N = 8
ROUNDS = 3
Q = 2
task = quick_task(N, rounds=ROUNDS, strategy={"name": "dpsgd", "gossip_steps": Q}, topology={"kind": "ring"},
                  deploy={"min_updates": N})


with Cluster(FEDC, tls=True, name="decentral") as c:
    c.start_server()
    sim = simulate(c, "sim", task)
    relayed = simulate(c, "sim-relay", task, "--gossip-relay")
    for s, r in zip(sim, relayed):
        # The relayed exchange computes the same models as the engine's own mixing.
        assert s["accuracy"] == r["accuracy"] and s["consensus_distance"] == r["consensus_distance"], (s, r)

    run_id, dep = deploy_on_partitions(c, task, N, ROUNDS)
    for d, s, r in zip(dep, sim, relayed):
        assert d["participants"] == s["participants"] == N, (d, s)
        assert abs(d["accuracy"] - s["accuracy"]) < 1e-6, f"round {d['round']}: {d['accuracy']} vs sim {s['accuracy']}"
        assert abs(d["loss"] - s["loss"]) < 1e-5, (d["loss"], s["loss"])
        assert abs(d["train_loss"] - s["train_loss"]) < 1e-5, (d["train_loss"], s["train_loss"])
        assert d["bytes_down"] == r["bytes_down"] and d["bytes_up"] == r["bytes_up"], (d, r)
    cds = check_decentral_metrics(c, run_id, dep, relayed)
    # What crossed: per node, its TRAIN model, then 3 models + 3 updates (step 1)
    # and 3 models (step 2) down; its update and one model per step up.
    model = 4 * (784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10)  # the mlp, float32
    up = dep[0]["bytes_up"]
    assert N * model * (1 + Q) < up < N * (model * (1 + Q) + 4096), up
    down = dep[0]["bytes_down"]
    assert N * model * (1 + 6 + 3) < down < N * (model * (1 + 6 + 3) + 16384), down
    print(f"ring of {N} nodes matches sim: accuracy {[r['accuracy'] for r in dep]}, consensus distance {cds}, "
          f"{up / N / 1e6:.2f} MB up and {down / N / 1e6:.2f} MB down per node per round")
print("ok")
