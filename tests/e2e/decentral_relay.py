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
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N = 8
ROUNDS = 3
Q = 2
task = quick_task(N, rounds=ROUNDS, strategy={"name": "dpsgd", "gossip_steps": Q}, topology={"kind": "ring"},
                  deploy={"min_updates": N})


def simulate(c, name, *extra):
    task_file = os.path.join(c.dir, "task.json")
    json.dump(task, open(task_file, "w"))
    out = os.path.join(c.dir, name)
    subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--out", out] + list(extra), check=True,
                   timeout=300)
    return [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]


def check_consensus(c, run_id, dep, sim):
    """The deployment's consensus distance (computed by the relay from the
    models the nodes sent) equals the simulation's, round by round: the
    run's metrics export is written like `fedc sim`'s metrics.jsonl, and
    REST /rounds carries the stored double."""
    st, body = c.api("GET", f"/api/runs/{run_id}/metrics.jsonl", raw=True)
    assert st == 200, (st, body)
    exported = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
    assert len(exported) == len(sim) == len(dep), (len(exported), len(sim), len(dep))
    for e, d, s in zip(exported, dep, sim):
        assert e["nodes"] == d["nodes"] == s["nodes"], (e, d, s)
        assert e["consensus_distance"] == s["consensus_distance"], \
            f"round {e['round']}: consensus_distance {e['consensus_distance']} vs sim {s['consensus_distance']}"
        assert s["consensus_distance"] > 0, s
        assert abs(d["consensus_distance"] - s["consensus_distance"]) <= 5e-10 + 1e-8 * s["consensus_distance"], (d, s)
        assert e["bytes_per_node"] == s["bytes_per_node"] and abs(d["bytes_per_node"] - s["bytes_per_node"]) <= 0.1
        assert e.get("node_accuracy") == s.get("node_accuracy"), (e, s)
        assert len(d.get("node_accuracy") or []) == len(s.get("node_accuracy") or []), (d, s)
    return [d["consensus_distance"] for d in dep]


with Cluster(FEDC, tls=True, name="decentral") as c:
    c.start_server()
    sim = simulate(c, "sim")
    relayed = simulate(c, "sim-relay", "--gossip-relay")
    for s, r in zip(sim, relayed):
        # The relayed exchange computes the same models as the engine's own mixing.
        assert s["accuracy"] == r["accuracy"] and s["consensus_distance"] == r["consensus_distance"], (s, r)

    run_id = c.create_run(task)
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}")
    run = c.wait_run_end(run_id, 480)
    assert run["status"] == "done" and run["rounds_done"] == ROUNDS, run
    dep = c.rounds(run_id)
    assert [r["round"] for r in dep] == list(range(1, ROUNDS + 1)), dep
    for d, s, r in zip(dep, sim, relayed):
        assert d["participants"] == s["participants"] == N, (d, s)
        assert abs(d["accuracy"] - s["accuracy"]) < 1e-6, f"round {d['round']}: {d['accuracy']} vs sim {s['accuracy']}"
        assert abs(d["loss"] - s["loss"]) < 1e-5, (d["loss"], s["loss"])
        assert abs(d["train_loss"] - s["train_loss"]) < 1e-5, (d["train_loss"], s["train_loss"])
        assert d["bytes_down"] == r["bytes_down"] and d["bytes_up"] == r["bytes_up"], (d, r)
    cds = check_consensus(c, run_id, dep, relayed)
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
