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
       [--model dense:64,dense:10] [--alphas 0.1 0.5] [--graphs ring random]
       [--methods fedavg dpsgd gossip ...] [--fresh]
Merges into bench/results/decentralised.json: the runs already there (keyed by nodes, alpha,
graph, method and seed) are kept and not measured again, and each run records which invocation
measured it ("invocations": commit, date, CPU, cores, load, the command of each), so a long grid
can be measured in several shorter invocations. --fresh starts the file afresh.
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


def setting_of(a):
    """What makes runs comparable: a results file only takes runs measured the same way."""
    return {"dataset": "fashion-mnist", "model": a.model, "partition": "dirichlet", "rounds": a.rounds,
            "local": f"max_steps {a.max_steps} x batch 32, sgd lr 0.05", "eval_every": a.eval_every,
            "eval_samples": a.eval_samples, "target": a.target}


def load_previous(path, setting, fresh):
    """The runs already in the results file, {(nodes, alpha, graph, method): {seed: run}}, and the
    invocations that measured them; empty when --fresh, when there is no file, or when the file was
    measured with another setting (the script then says so and starts afresh)."""
    if fresh or not os.path.exists(path):
        return {}, []
    old = json.load(open(path))
    same = all(old.get("setting", {}).get(k) == v for k, v in setting.items())
    if not same:
        print(f"{path} was measured with another setting; starting afresh", file=sys.stderr)
        return {}, []
    # Files written before runs were merged hold one invocation, in "meta".
    invocations = old.get("invocations") or [old["meta"]]
    runs = {}
    for row in old["rows"]:
        key = (row["nodes"], row["alpha"], row["graph"], row["method"])
        for r in row["runs"]:
            r.setdefault("invocation", 0)
            runs.setdefault(key, {})[r["seed"]] = r
    return runs, invocations


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
    ap.add_argument("--alphas", type=float, nargs="+", default=ALPHAS)
    ap.add_argument("--graphs", nargs="+", default=[g for g, _ in GRAPHS], choices=[g for g, _ in GRAPHS])
    ap.add_argument("--methods", nargs="+", default=["fedavg"] + [m for m, _ in METHODS],
                    choices=["fedavg"] + [m for m, _ in METHODS])
    ap.add_argument("--fresh", action="store_true",
                    help="drop the runs already in the results file (default: keep them, measure only the "
                         "setting + seed pairs it lacks, and add the new ones)")
    a = ap.parse_args()
    fedc = os.path.abspath(os.path.join(a.build, "fedc"))
    prov = benchlib.Provenance(a.build)
    setting = setting_of(a)
    path = os.path.join(benchlib.RESULTS, "decentralised.json")
    results, invocations = load_previous(path, setting, a.fresh)
    me = len(invocations)  # this invocation's index in "invocations"
    invocations.append(None)
    grid = []  # (key, sets, seed): every size in turn, seed by seed
    for n in a.nodes:
        for seed in range(1, a.seeds + 1):
            for alpha in a.alphas:
                common = [f"clients={n}", f"clients_per_round={n}", f"partition.alpha={alpha}"]
                if "fedavg" in a.methods:
                    grid.append(((n, alpha, "-", "fedavg"), common + ["strategy.name=fedavg"], seed))
                for gname, gsets in GRAPHS:
                    for mname, msets in METHODS:
                        if gname in a.graphs and mname in a.methods:
                            grid.append(((n, alpha, gname, mname), common + gsets + msets, seed))
    jobs = [j for j in grid if j[2] not in results.get(j[0], {})]
    print(f"{len(grid) - len(jobs)} of the {len(grid)} runs asked for are in {path} already; "
          f"measuring {len(jobs)}", file=sys.stderr, flush=True)
    if not jobs:
        return

    def save():
        # Rewritten after every run, so a time budget that ends the script early still leaves
        # every finished configuration (runs_done says how many runs the file holds).
        invocations[me] = prov.meta()
        rows = []
        for (n, alpha, graph, method), by_seed in sorted(results.items(), key=lambda kv: str(kv[0])):
            runs = [by_seed[s] for s in sorted(by_seed)]
            rows.append({"nodes": n, "alpha": alpha, "graph": graph, "method": method, **summarise(runs)})
        keys = {k for k in results}
        full = dict(setting, alphas=sorted({k[1] for k in keys}), nodes=sorted({k[0] for k in keys}),
                    graphs={g: s for g, s in GRAPHS}, seeds=sorted({s for v in results.values() for s in v}),
                    methods={m: s for m, s in METHODS}, fedavg="fedavg, clients_per_round = clients")
        # Planned: the whole grid of every size measured, seeds 1..max.
        per_size = len(full["alphas"]) * (1 + len(GRAPHS) * len(METHODS))
        planned = per_size * len(full["nodes"]) * max(len(full["seeds"]), 1)
        done = sum(len(v) for v in results.values())
        return benchlib.write_results("decentralised", prov, {"setting": full, "runs_planned": planned,
                                                              "runs_done": done, "invocations": invocations,
                                                              "rows": rows})

    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        futs = {}
        for i, (key, sets, seed) in enumerate(jobs):
            futs[ex.submit(run, fedc, sets, seed, a, tmp, f"r{i}")] = key
        done = 0
        for f in concurrent.futures.as_completed(futs):
            key = futs[f]
            r = f.result()
            r["invocation"] = me
            results.setdefault(key, {})[r["seed"]] = r
            done += 1
            path = save()
            print(f"{done}/{len(jobs)} {key}", file=sys.stderr, flush=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
