"""Decentralised FL benchmark: rounds to a target accuracy and final accuracy of D-PSGD, gossip
learning, variance-corrected gossip, DFedSAM and DFedSAM-MGS (Q = 1, 2, 4) against centralised
FedAvg with full participation, on Fashion-MNIST with an MLP of one hidden layer of 64
(784-64-10, 50,890 parameters: the 784-200-200-10 preset costs four times more per step, too
much for the shared machine the published figures come from), 16 and 64 nodes, Dirichlet label skew alpha 0.1 and 0.5, a ring and an Erdos-Renyi random graph, three seeds.

Sized for a shared 2-core machine: every node (every client, for FedAvg) takes max_steps local
SGD steps of batch 32 per round, so a round's compute is the same for every method; rounds are
few, and each node's own model is scored on the first eval_samples test samples every
eval_every rounds (the average model on the whole test set). accuracy in the results is the
mean over the nodes of their own models' accuracy (FedAvg: the global model's, which every
client holds). DFedSAM-MGS with Q = 1 is DFedSAM (the same run, bit for bit: a unit test checks
it), so its row repeats DFedSAM's.

usage: nice -n 10 /usr/bin/python3 bench/bench_decentralised.py [--build build] [--seeds 3]
       [--rounds 30] [--max-steps 5] [--eval-every 5] [--eval-samples 500] [--target 0.65] [--jobs 1] [--nodes 16 64]
       [--model dense:64,dense:10]
Writes bench/results/decentralised.json (commit, date, CPU, cores, load, the command);
bench/render_tables.py renders its table into docs/decentralised.md.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = benchlib.ROOT

# name shown -> --set overrides (topology added per graph)
METHODS = [
    ("dpsgd", ["strategy.name=dpsgd"]),
    ("gossip", ["strategy.name=gossip"]),
    ("gossip-vc", ["strategy.name=gossip-vc"]),
    ("dfedsam", ["strategy.name=dfedsam", "strategy.rho=0.05"]),
    ("dfedsam-mgs Q=2", ["strategy.name=dfedsam-mgs", "strategy.rho=0.05", "strategy.gossip_steps=2"]),
    ("dfedsam-mgs Q=4", ["strategy.name=dfedsam-mgs", "strategy.rho=0.05", "strategy.gossip_steps=4"]),
]
GRAPHS = [("ring", ["topology.kind=ring"]), ("random", ["topology.kind=erdos-renyi", "topology.p=0.2"])]
ALPHAS = [0.1, 0.5]


def run(fedc, sets, seed, a, tmp, tag):
    out = os.path.join(tmp, tag)
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", "fmnist-mlp.json"), "--quiet", "--threads", "1",
           "--out", out]
    base = [f"model={a.model}", f"rounds={a.rounds}", f"local.max_steps={a.max_steps}", "local.batch=32", "local.lr=0.05",
            f"seed={seed}", f"eval_every={a.eval_every}", f"topology.eval_samples={a.eval_samples}",
            "partition.kind=dirichlet"]
    for s in base + sets:
        cmd += ["--set", s]
    m = benchlib.run_measured(cmd)
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    ev = [r for r in rows if r["evaluated"] and r["accuracy"] is not None]
    hit = next((r for r in ev if r["accuracy"] >= a.target), None)
    last = rows[-1]
    return {"seed": seed, "rounds_to_target": hit["round"] if hit else None,
            "final_accuracy": last["accuracy"], "avg_model_accuracy": last.get("avg_model_accuracy"),
            "node_accuracy_min": last.get("node_accuracy_min"),
            "consensus_distance": last.get("consensus_distance"),
            "bytes_per_node_per_round": (sum(r.get("bytes_per_node", 0) for r in rows) / len(rows)),
            "cpu_s": round(m.cpu_s, 2)}


def summarise(runs):
    hits = [r["rounds_to_target"] for r in runs if r["rounds_to_target"] is not None]
    out = {"runs": runs, "reached": len(hits), "final_accuracy": benchlib.mean_std([r["final_accuracy"] for r in runs]),
           "rounds_to_target": benchlib.mean_std(hits) if hits else None}
    for k in ("avg_model_accuracy", "consensus_distance", "bytes_per_node_per_round"):
        vals = [r[k] for r in runs if r[k] is not None]
        out[k] = benchlib.mean_std(vals) if vals else None
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--max-steps", type=int, default=5)
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument("--model", default="dense:64,dense:10")
    ap.add_argument("--eval-samples", type=int, default=500)
    ap.add_argument("--target", type=float, default=0.65)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--nodes", type=int, nargs="+", default=[16, 64])
    a = ap.parse_args()
    fedc = os.path.abspath(os.path.join(a.build, "fedc"))
    prov = benchlib.Provenance(a.build)
    jobs = []  # (key path, sets, seed): every 16-node run first, then 64, each size seed by seed
    for n in a.nodes:
        for seed in range(1, a.seeds + 1):
            for alpha in ALPHAS:
                common = [f"clients={n}", f"clients_per_round={n}", f"partition.alpha={alpha}"]
                jobs.append(((n, alpha, "-", "fedavg"), common + ["strategy.name=fedavg"], seed))
                for gname, gsets in GRAPHS:
                    for mname, msets in METHODS:
                        jobs.append(((n, alpha, gname, mname), common + gsets + msets, seed))
    results = {}
    setting = {"dataset": "fashion-mnist", "model": a.model, "partition": "dirichlet",
               "alphas": ALPHAS, "nodes": a.nodes, "graphs": {g: s for g, s in GRAPHS}, "rounds": a.rounds,
               "local": f"max_steps {a.max_steps} x batch 32, sgd lr 0.05", "eval_every": a.eval_every,
               "eval_samples": a.eval_samples, "target": a.target, "seeds": list(range(1, a.seeds + 1)),
               "methods": {m: s for m, s in METHODS}, "fedavg": "fedavg, clients_per_round = clients"}

    def save(done):
        # Rewritten after every run, so a time budget that ends the script early still leaves
        # every finished configuration (runs_done / runs_planned say how far it got).
        rows = []
        for (n, alpha, graph, method), runs in sorted(results.items(), key=lambda kv: str(kv[0])):
            runs = sorted(runs, key=lambda r: r["seed"])
            rows.append({"nodes": n, "alpha": alpha, "graph": graph, "method": method, **summarise(runs)})
        return benchlib.write_results("decentralised", prov, {"setting": setting, "runs_planned": len(jobs),
                                                              "runs_done": done, "rows": rows})

    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        futs = {}
        for i, (key, sets, seed) in enumerate(jobs):
            tag = f"r{i}"
            futs[ex.submit(run, fedc, sets, seed, a, tmp, tag)] = key
        done = 0
        for f in concurrent.futures.as_completed(futs):
            key = futs[f]
            results.setdefault(key, []).append(f.result())
            done += 1
            path = save(done)
            print(f"{done}/{len(jobs)} {key}", file=sys.stderr, flush=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
