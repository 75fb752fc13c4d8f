"""Personalisation benchmark: the mean and 10th-percentile accuracy of each client's own model on
its local test split, for every personalised strategy against the global FedAvg model, in one
invocation: Fashion-MNIST, 100 clients, 10 per round, the MLP, two label-skewed partitions
(shards with 2 classes per client; Dirichlet alpha 0.1), three seeds (mean +- std).

Each client holds out partition.test_fraction of its own samples as its local test split (the
same distribution as what it trains on). After the last round every client is scored
(fedc's per-client evaluation): client_acc_mean / client_acc_p10 / client_acc_min are the
models the clients use (the personalised ones; for fedavg the global model), and
global_client_acc_* the global model of the same run.

usage: nice -n 10 /usr/bin/python3 bench/bench_personalisation.py [--build build] [--rounds 30]
       [--seeds 3] [--jobs 2] [--methods NAME,NAME] [--render]
Writes bench/results/personalisation.json (commit, date, CPU model, cores, load, command);
bench/render_tables.py renders its table into docs/personalisation.md.
"""
import argparse, concurrent.futures, json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = benchlib.ROOT
TEST_FRACTION = 0.2
# name shown -> --set overrides.
METHODS = [
    ("fedavg (global model)", ["strategy.name=fedavg"]),
    ("finetune (10 steps)", ["strategy.name=finetune", "strategy.finetune_steps=10"]),
    ("fedper (head local)", ["strategy.name=fedper"]),
    ("ditto (lambda 0.1)", ["strategy.name=ditto", "strategy.ditto_lambda=0.1"]),
    ("clustered (3 clusters, 10 steps)", ["strategy.name=clustered", "strategy.clusters=3", "strategy.cluster_round=10",
                                          "strategy.finetune_steps=10"]),
    ("pfedgate (sparsity 0.5)", ["strategy.name=pfedgate", "strategy.gate_sparsity=0.5"]),
    ("pfedgate (sparsity 1)", ["strategy.name=pfedgate", "strategy.gate_sparsity=1"]),
]
PARTITIONS = [
    ("shards, 2 classes per client", ["partition.kind=shards", "partition.classes_per_client=2"]),
    ("dirichlet alpha 0.1", ["partition.kind=dirichlet", "partition.alpha=0.1"]),
]


def run(fedc, rounds, seed, sets, tmp):
    out = tempfile.mkdtemp(dir=tmp)
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", "fmnist-mlp.json"), "--quiet", "--threads", "1",
           "--out", out, "--set", f"rounds={rounds}", "--set", f"seed={seed}", "--set", f"eval_every={rounds}",
           "--set", f"partition.test_fraction={TEST_FRACTION}"]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-3000:])
        raise SystemExit("fedc sim failed: " + " ".join(cmd))
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    last = rows[-1]
    keys = ["client_acc_mean", "client_acc_p10", "client_acc_min", "global_client_acc_mean",
            "global_client_acc_p10", "global_client_acc_min", "accuracy", "clients_evaluated"]
    return {k: last[k] for k in keys}


def render(d):
    """The docs table: per partition, each method's client accuracy (mean, p10, worst) and the
    gain of its mean over the global FedAvg model's."""
    s = d["setting"]
    out = []
    for part in d["partitions"]:
        rows = []
        base = d["results"][part]["fedavg (global model)"]["client_acc_mean"]["mean"]
        for name, _ in METHODS:
            r = d["results"][part].get(name)
            if r is None:
                continue
            gain = (r["client_acc_mean"]["mean"] - base) * 100
            rows.append([name, benchlib_pct(r["client_acc_mean"]), benchlib_pct(r["client_acc_p10"]),
                         benchlib_pct(r["client_acc_min"]), f"{gain:+.1f}",
                         benchlib_pct(r["global_client_acc_mean"]), benchlib_pct(r["accuracy"])])
        out.append(f"**{part}**\n\n" + table(
            ["method", "client accuracy: mean", "10th percentile", "worst client", "mean vs FedAvg (points)",
             "global model, mean over clients", "global model, test set"], rows))
    out.append(f"Fashion-MNIST, {s['clients']} clients, {s['clients_per_round']} per round, the MLP, "
               f"{s['rounds']} rounds of 1 local epoch (batch 32, lr 0.05), local test splits of "
               f"{int(s['test_fraction'] * 100)}% of each client's samples; mean ± standard deviation over "
               f"{len(s['seeds'])} seeds. \"client accuracy\" scores the model each client uses (its personalised "
               f"model; for fedavg the global model) on its own split after the last round.")
    return "\n\n".join(out)


def benchlib_pct(x):
    return f"{x['mean'] * 100:.1f} ± {x['std'] * 100:.1f}%" if x["n"] > 1 else f"{x['mean'] * 100:.1f}%"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--methods", default="", help="only these (comma-separated names as in METHODS)")
    ap.add_argument("--render", action="store_true", help="print the table of the results file and stop")
    a = ap.parse_args()
    path = os.path.join(benchlib.RESULTS, "personalisation.json")
    if a.render:
        print(render(json.load(open(path))))
        return
    prov = benchlib.Provenance(a.build)
    fedc = os.path.join(a.build, "fedc")
    seeds = list(range(1, a.seeds + 1))
    methods = [m for m in METHODS if not a.methods or m[0].split(" ")[0] in a.methods.split(",")]
    jobs = {}
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for pname, psets in PARTITIONS:
            for mname, msets in methods:
                for seed in seeds:
                    jobs[(pname, mname, seed)] = ex.submit(run, fedc, a.rounds, seed, psets + msets, tmp)
        res = {k: f.result() for k, f in jobs.items()}
    results = {}
    for pname, _ in PARTITIONS:
        results[pname] = {}
        for mname, _ in methods:
            runs = [res[(pname, mname, s)] for s in seeds]
            results[pname][mname] = {k: benchlib.mean_std([r[k] for r in runs])
                                     for k in runs[0] if k != "clients_evaluated"}
            results[pname][mname]["clients_evaluated"] = runs[0]["clients_evaluated"]
    data = {"setting": {"dataset": "fashion-mnist", "model": "mlp", "clients": 100, "clients_per_round": 10,
                        "rounds": a.rounds, "local_epochs": 1, "batch": 32, "lr": 0.05,
                        "test_fraction": TEST_FRACTION, "seeds": seeds,
                        "methods": {m: s for m, s in methods},
                        "partitions": {p: s for p, s in PARTITIONS}},
            "partitions": [p for p, _ in PARTITIONS], "results": results}
    if a.methods and os.path.exists(path):
        # Only some methods were run: the other rows stay, with the provenance of the run that measured them.
        old = json.load(open(path))
        if old["setting"]["rounds"] != a.rounds or old["setting"]["seeds"] != seeds:
            raise SystemExit("--methods adds rows to a results file of the same rounds and seeds only")
        earlier = old.get("earlier_runs", []) + [{"methods": list(old["setting"]["methods"]), "meta": old["meta"]}]
        for pname in results:
            merged = dict(old["results"].get(pname, {}))
            merged.update(results[pname])
            results[pname] = merged
        data["setting"]["methods"] = {**old["setting"]["methods"], **data["setting"]["methods"]}
        data["earlier_runs"] = earlier
    out = benchlib.write_results("personalisation", prov, data)
    print(render(json.load(open(out))))
    print("wrote " + out)


if __name__ == "__main__":
    main()
