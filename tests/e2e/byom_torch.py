"""Bring your own model, end to end over TLS: three Python nodes (fedc_node
from the source tree) train a PyTorch CNN that is not a fedc architecture
(BatchNorm + dropout) through a fedc server for 3 rounds, model "external"
with the manifest supplied by the first node.

Checked independently of the server, from what each node recorded:
 - the model every node receives in round r+1 (and the run's final model
   file after the last round) equals FedAvg of the models the nodes returned
   in round r, weighted by their sample counts;
 - round 1's model is the initial parameters the nodes hold;
 - the federated evaluation of each round (fed_accuracy, fed_loss,
   fed_examples, fed_reports in the REST round objects and the JSONL
   metrics) equals the sample-weighted mean of the nodes' reports;
 - the run's task now holds the manifest (the module's state_dict names)."""
import glob
import json
import os
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedc_e2e import Cluster  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def safetensors_flat(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    parts = []
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        parts.append((b, np.frombuffer(blob[8 + n + b:8 + n + e], "<f4")))
    return header, np.concatenate([p for _, p in sorted(parts, key=lambda q: q[0])])


def main():
    fedc = sys.argv[1]
    rounds = 3
    with Cluster(fedc, name="byom-torch") as c:
        c.start_server()
        task = {"name": "byom-torch", "model": "external", "rounds": rounds, "clients": 3, "clients_per_round": 3,
                "local": {"epochs": 1, "batch": 32, "lr": 0.05}, "eval": {"federated": True},
                "deploy": {"min_nodes": 3, "min_updates": 3, "round_timeout_s": 300, "connect_timeout_s": 300},
                "seed": 5}
        run_id = c.create_run(task)
        outs = []
        for k in range(3):
            out = os.path.join(c.dir, f"py{k}")
            outs.append(out)
            cred = c.issue(f"py{k}")
            log = open(os.path.join(c.dir, f"py{k}.log"), "w")
            c.nodes[f"py{k}"] = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "byom_node.py"), c.node_url(), cred, out, "--model", "cnn",
                 "--train", f"{k * 400}:{k * 400 + 300 + 50 * k}", "--test", f"{k * 100}:{k * 100 + 80 + 10 * k}",
                 "--seed", str(k + 1)], stdout=log, stderr=subprocess.STDOUT, env=c._env())
        run = c.wait_run_end(run_id, 900)
        assert run["status"] == "done", run
        rs = c.rounds(run_id)
        assert [r["round"] for r in rs] == list(range(1, rounds + 1)), rs
        st, blob = c.api("GET", f"/api/runs/{run_id}/model", raw=True)
        assert st == 200, st
        header, final = safetensors_flat(blob)
        st, tk = c.api("GET", f"/api/runs/{run_id}/task")
        assert st == 200
        manifest = tk["model"]["manifest"] if isinstance(tk.get("model"), dict) else tk["task"]["model"]["manifest"]
        names = [t["name"] for t in manifest]
        assert names[:3] == ["conv1.weight", "conv1.bias", "bn1.weight"], names
        assert "bn1.running_mean" in names and "bn1.num_batches_tracked" not in names, names
        assert [k for k in header if k != "__metadata__"] == names, "the model file keeps the module's names"
        # The initial model: every node built the same one (seeded), one of them sent it.
        g1 = [np.load(os.path.join(o, "round-1-global.npy")) for o in outs]
        for g in g1[1:]:
            assert np.array_equal(g, g1[0])
        for r in range(1, rounds + 1):
            xs = [np.load(os.path.join(o, f"round-{r}-global.npy")) for o in outs]
            for x in xs[1:]:
                assert np.array_equal(x, xs[0]), f"round {r}: nodes received different models"
            locs = [np.load(os.path.join(o, f"round-{r}-local.npy")).astype(np.float64) for o in outs]
            ns = [json.load(open(os.path.join(o, f"round-{r}.json")))["n_samples"] for o in outs]
            x = xs[0].astype(np.float64)
            fedavg = x + sum(n * (loc - x) for n, loc in zip(ns, locs)) / sum(ns)
            got = (np.load(os.path.join(outs[0], f"round-{r + 1}-global.npy")) if r < rounds else final)
            err = float(np.max(np.abs(got - fedavg)))
            assert err < 1e-5, f"round {r}: the server's model differs from FedAvg of the updates by {err}"
            print(f"round {r}: samples {ns}, |server - FedAvg| = {err:.2e}")
            reps = [json.load(open(os.path.join(o, f"eval-{r}.json"))) for o in outs]
            ex = sum(q["examples"] for q in reps)
            acc = sum(q["accuracy"] * q["examples"] for q in reps) / ex
            loss = sum(q["loss"] * q["examples"] for q in reps) / ex
            rr = rs[r - 1]
            assert rr["fed_reports"] == 3 and rr["fed_examples"] == ex, rr
            assert abs(rr["fed_accuracy"] - acc) < 1e-6 and abs(rr["fed_loss"] - loss) < 1e-6, (rr, acc, loss)
            assert rr["evaluated"] is False, "the server cannot evaluate an external model"
            print(f"round {r}: fed_accuracy {rr['fed_accuracy']:.4f} = weighted mean of {[q['accuracy'] for q in reps]}")
        st, jl = c.api("GET", f"/api/runs/{run_id}/metrics.jsonl", raw=True)
        lines = [json.loads(s) for s in jl.decode().splitlines()]
        assert all(m["fed_evaluated"] and m["fed_reports"] == 3 for m in lines), lines
        c.stop_all()
        for o in outs:
            stats = json.load(open(os.path.join(o, "stats.json")))["stats"]
            assert [s["round"] for s in stats] == list(range(1, rounds + 1)), stats
        print("ok")


if __name__ == "__main__":
    main()
