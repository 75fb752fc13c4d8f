#!/usr/bin/env python3
"""A million clients on one machine: peak memory and seconds per round.

`fedc sim` on dataset synthetic (the FedProx paper's Synthetic(1, 1), each
client's data generated from the seed when the client is selected) with
10,000, 100,000 and 1,000,000 clients, 1,000 per round, multinomial logistic
regression (dense:10), a few rounds. Each run is one child process measured
alone (peak RSS from os.wait4's ru_maxrss of that child, never
RUSAGE_CHILDREN); seconds per round are the median of the rounds' wall_s
from the run's metrics (rounds without evaluation), and set-up is the rest
of the wall time. Memory per client is the slope of the peak between the
smallest and the largest federation, which cancels what every run holds
(model, test set, buffers of 1,000 participants, thread pool).

usage: bench/bench_scale.py --build BUILD [--clients 10000,100000,1000000] [--per-round 1000] [--rounds 4]
Writes bench/results/scale.json.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def task(clients, per_round, rounds, model, seed):
    return {
        "name": f"scale-{clients}",
        "dataset": {"name": "synthetic", "synthetic_alpha": 1, "synthetic_beta": 1},
        "partition": {"kind": "natural"},
        "model": model,
        "clients": clients,
        "clients_per_round": per_round,
        "rounds": rounds,
        "local": {"epochs": 1, "batch": 10, "lr": 0.01},
        # Evaluate in the last round only: the figures are the rounds' own cost.
        "eval_every": rounds,
        "seed": seed,
    }


def run_one(fedc, clients, per_round, rounds, model, seed, threads):
    tmp = tempfile.mkdtemp(prefix="fedc-scale-")
    try:
        path = os.path.join(tmp, "task.json")
        with open(path, "w") as f:
            json.dump(task(clients, per_round, rounds, model, seed), f)
        metrics = os.path.join(tmp, "metrics.jsonl")
        cmd = [fedc, "sim", path, "--metrics", metrics, "--out", os.path.join(tmp, "runs"), "--quiet",
               "--threads", str(threads)]
        m = benchlib.run_measured(cmd, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        rows = [json.loads(line) for line in open(metrics) if line.strip()]
        inner = [r for r in rows if not r.get("evaluated")] or rows
        round_s = statistics.median(r["wall_s"] for r in inner)
        setup_s = m.wall_s - sum(r["wall_s"] for r in rows)
        last = rows[-1]
        return {"clients": clients, "per_round": per_round, "rounds": len(rows), "peak_rss_mb": m.peak_rss_mb,
                "s_per_round": round_s, "setup_s": setup_s, "wall_s": m.wall_s, "cpu_s": m.cpu_s,
                "accuracy_last": last.get("accuracy"), "participants": [r["participants"] for r in rows],
                "client_steps_per_round": statistics.median(r["client_steps"] for r in rows)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--clients", default="10000,100000,1000000")
    ap.add_argument("--per-round", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--model", default="dense:10")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    fedc = os.path.abspath(os.path.join(a.build, "fedc"))
    sizes = [int(x) for x in a.clients.split(",") if x.strip()]
    print(f"synthetic(1,1), {a.per_round} clients per round, model {a.model}, {a.rounds} rounds, "
          f"{a.threads} threads; target: 1,000,000 clients in <= 2048 MB peak")
    print(f"{'clients':>9} {'peak MB':>8} {'s/round':>8} {'set-up s':>9} {'steps/round':>12}")
    rows = []
    for k in sizes:
        r = run_one(fedc, k, a.per_round, a.rounds, a.model, a.seed, a.threads)
        rows.append(r)
        print(f"{k:>9} {r['peak_rss_mb']:>8.1f} {r['s_per_round']:>8.2f} {r['setup_s']:>9.2f} "
              f"{r['client_steps_per_round']:>12.0f}", flush=True)
    summary = {}
    if len(rows) >= 2 and rows[-1]["clients"] > rows[0]["clients"]:
        lo, hi = rows[0], rows[-1]
        summary["bytes_per_client"] = (hi["peak_rss_mb"] - lo["peak_rss_mb"]) * 1048576 / (hi["clients"] - lo["clients"])
        print(f"peak memory per client (slope {lo['clients']} -> {hi['clients']}): "
              f"{summary['bytes_per_client']:.1f} bytes")
    big = [r for r in rows if r["clients"] >= 1000000]
    if big:
        summary["million_peak_mb"] = big[0]["peak_rss_mb"]
        summary["million_within_2gb"] = big[0]["peak_rss_mb"] <= 2048
    path = benchlib.write_results("scale", prov, {
        "setting": {"dataset": "synthetic", "alpha": 1, "beta": 1, "model": a.model, "per_round": a.per_round,
                    "rounds": a.rounds, "threads": a.threads, "seed": a.seed, "batch": 10, "epochs": 1},
        "runs": rows, "summary": summary})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
