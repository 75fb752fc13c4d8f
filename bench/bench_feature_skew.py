"""Feature skew on Fashion-MNIST: FedAvg on clients that each see one image domain
(partition.feature_skew) against FedAvg on the same IID label split without it.

Setting (examples/fmnist-MODEL.json): 100 clients with an IID label split, 10 per round,
1 local epoch, batch 32, sgd lr 0.05, FedAvg, --rounds rounds, evaluated every 2 rounds.
Two arms, the same seeds:
  - iid:           partition.feature_skew none (every client and the test set unchanged);
  - feature skew:  partition.feature_skew --skew (default mixed = id, rotate:45, noise:0.3,
                   blur:1, contrast:0.3, invert): client k sees domain k mod 6, test sample i
                   domain i mod 6, so the test set is spread over the same six domains.
Reported per arm: final test accuracy (mean of the last 3 evaluations), mean +- std over the
seeds; the difference against iid taken seed by seed; the rounds each seed needs to reach 95%
of the iid arm's mean final accuracy; the clients' CPU seconds per round.

The two arms are scored on different test sets (the skewed arm on the transformed images,
which is the point of the measurement: what a federation of six domains reaches on those six
domains), so the difference mixes "harder to train together" with "harder to classify".

usage: nice -n 10 /usr/bin/python3 bench/bench_feature_skew.py [--build build] [--models mlp]
       [--rounds 20] [--seeds 3] [--jobs 2] [--skew mixed]
Writes bench/results/feature_skew.json (commit, date, CPU model, cores, load, the command);
bench/render_tables.py renders the table of docs/datasets.md from it.
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = benchlib.ROOT


def run(fedc, model, rounds, seed, skew, threads, tmp):
    out = os.path.join(tmp, f"{model}-{skew.replace(',', '_').replace(':', '')}-s{seed}")
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet", "--threads",
           str(threads), "--out", out, "--set", f"rounds={rounds}", "--set", "partition.kind=iid",
           "--set", f"partition.feature_skew={skew}", "--set", f"seed={seed}", "--set", "eval_every=2"]
    m = benchlib.run_measured(cmd)
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    ev = [r for r in rows if r["evaluated"]]
    return {"seed": seed, "final": statistics.fmean(r["accuracy"] for r in ev[-3:]),
            "accuracy": [r["accuracy"] for r in ev], "rounds": [r["round"] for r in ev],
            "client_cpu_s_per_round": statistics.fmean(r["client_cpu_s"] for r in rows),
            "wall_s": round(m.wall_s, 1), "cpu_s": round(m.cpu_s, 1)}


def reach(run_, target):
    for a, r in zip(run_["accuracy"], run_["rounds"]):
        if a >= target:
            return r
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default="mlp", help="comma-separated: mlp, cnn")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2, help="simulations run side by side")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skew", default="mixed", help="partition.feature_skew of the skewed arm")
    args = ap.parse_args()
    prov = benchlib.Provenance(args.build)
    fedc = os.path.join(args.build, "fedc")
    seeds = list(range(1, args.seeds + 1))
    arms = [("iid", "none"), ("feature skew", args.skew)]
    models = {}
    with tempfile.TemporaryDirectory(prefix="fedc-skew-") as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for model in args.models.split(","):
            futs = {(arm, s): pool.submit(run, fedc, model, args.rounds, s, skew, args.threads, tmp)
                    for arm, skew in arms for s in seeds}
            runs = {arm: [futs[(arm, s)].result() for s in seeds] for arm, _ in arms}
            target = round(0.95 * statistics.fmean(r["final"] for r in runs["iid"]), 3)
            out = {"rounds": args.rounds, "target": target, "arms": {}}
            for arm, skew in arms:
                rs = runs[arm]
                out["arms"][arm] = {
                    "feature_skew": skew,
                    "final_acc": benchlib.mean_std([r["final"] for r in rs]),
                    "vs_iid_points": benchlib.mean_std([100 * (r["final"] - b["final"])
                                                        for r, b in zip(rs, runs["iid"])]),
                    "rounds_to_target": [reach(r, target) for r in rs],
                    "client_cpu_s_per_round": benchlib.mean_std([r["client_cpu_s_per_round"] for r in rs]),
                    "runs": rs}
            models[model] = out
            print(json.dumps({model: {a: round(v["final_acc"]["mean"], 4) for a, v in out["arms"].items()}}),
                  flush=True)
    setting = {"dataset": "fashion-mnist", "clients": 100, "clients_per_round": 10, "partition": "iid",
               "local": "1 epoch, batch 32, sgd lr 0.05", "strategy": "fedavg", "eval_every": 2,
               "seeds": seeds, "skew": args.skew}
    path = benchlib.write_results("feature_skew", prov, {"setting": setting, "models": models})
    print("wrote " + os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
