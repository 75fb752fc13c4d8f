"""Ditto over TLS with per-client evaluation: a server and 3 node processes on 2-class
shards, each node holding out 20% of its partition as its local test split
(partition.test_fraction). Every node keeps its personal model in its client state, saved in
its own --state folder, and scores it on its own test split when a round starts; the server
reports the nodes' scores as client_acc_* and scores the global model on every client's split
itself (global_client_acc_*). The deployment equals the simulation of the same task: a node's
score at the start of round r is the simulator's score of the same personal model after round
r - 1, so the round summaries agree exactly.

usage: deploy_ditto.py FEDC [ditto|pfedgate]. With pfedgate the same checks run for pFedGate's
sparse models: each node keeps its gating layer and gate in its client state and scores its
sparse model (sparsity 0.5) as the simulator does."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
METHOD = sys.argv[2] if len(sys.argv) > 2 else "ditto"
N = 3
ROUNDS = 3
D = 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10  # the MLP's parameters
# What a client keeps: ditto a personal model (D floats); pfedgate its gating layer, 5 blocks for
# each of the MLP's 6 tensors (30 x 784 weights, 30 biases, 30 gates).
STRATEGY = {"ditto": {"name": "ditto", "ditto_lambda": 0.1},
            "pfedgate": {"name": "pfedgate", "gate_sparsity": 0.5}}[METHOD]
STATE_FLOATS = {"ditto": D, "pfedgate": 30 * 784 + 60}[METHOD]
task = quick_task(N, rounds=ROUNDS, strategy=STRATEGY,
                  partition={"kind": "shards", "classes_per_client": 4, "test_fraction": 0.2},
                  deploy={"min_updates": N})

with Cluster(FEDC, tls=True, name=METHOD) as c:
    c.start_server()
    task_file = os.path.join(c.dir, "task.json")
    json.dump(task, open(task_file, "w"))
    sim_dir = os.path.join(c.dir, "sim")
    subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--out", sim_dir], check=True, timeout=300)
    sim = [json.loads(l) for l in open(os.path.join(sim_dir, "metrics.jsonl"))]
    for s in sim:
        assert s["clients_evaluated"] == N and "client_acc_mean" in s and "global_client_acc_mean" in s, s

    run_id = c.create_run(task)
    states = {k: os.path.join(c.dir, f"state-n{k}") for k in range(N)}
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--state", states[k])
    c.wait("round 1", lambda: len(c.rounds(run_id)) >= 1, 300)
    # Each node's personal model lives in its client state, saved in its state folder.
    for k in range(N):
        saved = [os.path.join(states[k], f) for f in os.listdir(states[k]) if f.startswith("client-state-run")]
        assert saved, f"n{k} saved no client state"
        size = max(os.path.getsize(f) for f in saved)
        assert size >= 4 * STATE_FLOATS, f"n{k}'s client state is {size} bytes: no room for {STATE_FLOATS} floats"
    run = c.wait_run_end(run_id, 600)
    assert run["status"] == "done" and run["rounds_done"] == ROUNDS, run
    dep = c.rounds(run_id)
    assert [r["round"] for r in dep] == list(range(1, ROUNDS + 1)), dep
    for d, s in zip(dep, sim):
        assert abs(d["accuracy"] - s["accuracy"]) < 1e-6, f"round {d['round']}: {d['accuracy']} vs sim {s['accuracy']}"
        assert d["clients_evaluated"] == N, d
        # The global model on every client's split, scored by the server (batches may differ from the
        # simulator's, so a prediction on a tie could flip: one sample in the smallest split at most).
        assert abs(d["global_client_acc_mean"] - s["global_client_acc_mean"]) < 0.01, (d, s)
        for key in ("client_acc_mean", "client_acc_p10", "client_acc_min"):
            assert 0 <= d[key] <= 1, d
    for r in range(2, ROUNDS + 1):
        d, s = dep[r - 1], sim[r - 2]
        for key in ("client_acc_mean", "client_acc_p10", "client_acc_min"):
            # (the simulator's JSONL carries 6 decimals)
            assert abs(d[key] - s[key]) <= 5e-7, f"round {r}: nodes report {key} {d[key]}, the simulator after " \
                                                 f"round {r - 1} scores {s[key]}"
    if METHOD == "ditto":
        assert dep[-1]["client_acc_mean"] > dep[-1]["global_client_acc_mean"], dep[-1]
    status, jsonl = c.api("GET", f"/api/runs/{run_id}/metrics.jsonl", raw=True)
    assert status == 200 and b"client_acc_mean" in jsonl, (status, jsonl[:500])
    print(f"{METHOD} deployment: the nodes' personal models score {[r['client_acc_mean'] for r in dep]} on their "
          f"own splits (global model {[r['global_client_acc_mean'] for r in dep]}), as the simulator scores them")
print("ok")
