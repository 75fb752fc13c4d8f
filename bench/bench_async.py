"""Asynchronous FL benchmark: simulated time to a target accuracy for FedBuff, FedFix and
asynchronous FedAvg against synchronous FedAvg (random and deadline scheduling), on
Fashion-MNIST, MLP, 100 clients, Dirichlet alpha 0.5, the lognormal heterogeneity profile
(speeds and links per client, a slow tenth 10x slower, a flaky tenth), 10 clients training at
once in every method, three seeds (mean +- std). The simulated clock is the profile's: a
synchronous round lasts as long as its slowest participant (or the deadline); an asynchronous
aggregation happens at its K-th arrival (FedBuff), its window's end (FedFix) or every arrival
(async FedAvg). Each run stops at the target (stop.target_accuracy) or at its round cap.

usage: nice -n 10 /usr/bin/python3 bench/bench_async.py [--build build] [--seeds 3] [--jobs 2]
       [--target 0.78] [--render-only]
Writes bench/results/async.json (with commit, date, CPU, cores and the command) and renders the
table into docs/algorithms.md between the BEGIN/END markers.
"""
import argparse, concurrent.futures, datetime, json, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "async.json")
DOC = os.path.join(ROOT, "docs", "algorithms.md")

# name shown -> (round cap, eval_every, --set overrides). A round of an asynchronous method is
# one aggregation (model version), so its cap is larger; eval_every is about one evaluation per
# ten updates aggregated.
METHODS = [
    ("fedavg (sync, random)", 60, 1, ["strategy.name=fedavg"]),
    ("fedavg (sync, deadline 4 s)", 60, 1,
     ["strategy.name=fedavg", "scheduling.policy=deadline", "scheduling.deadline_s=4"]),
    ("fedbuff (K=5)", 150, 2, ["strategy.name=fedbuff", "strategy.buffer_size=5"]),
    ("fedfix (window 2 s)", 150, 2, ["strategy.name=fedfix", "strategy.window_s=2"]),
    ("async-fedavg", 600, 10, ["strategy.name=async-fedavg"]),
]


def run(fedc, name, cap, every, sets, seed, target, threads, tmp):
    tag = "".join(c if c.isalnum() else "_" for c in name) + f"-s{seed}"
    out = os.path.join(tmp, tag)
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", "fmnist-mlp.json"), "--quiet", "--threads", str(threads),
           "--out", out, "--set", f"rounds={cap}", "--set", "partition.kind=dirichlet", "--set",
           "partition.alpha=0.5", "--set", "scheduling.profile=lognormal", "--set", f"seed={seed}", "--set",
           f"eval_every={every}", "--set", f"stop.target_accuracy={target}"]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    hit = next((r for r in rows if r["evaluated"] and r["accuracy"] is not None and r["accuracy"] >= target), None)
    last = rows[-1]
    stale = [r.get("staleness_mean", 0) for r in rows if r.get("participants")]
    hist = [0] * 8
    for r in rows:
        for i, c in enumerate(r.get("staleness_hist", [])):
            hist[i] += c
    return {"seed": seed, "reached": hit is not None,
            "sim_s": hit["sim_elapsed_s"] if hit else None, "rounds": hit["round"] if hit else None,
            "wall_s": hit["elapsed_s"] if hit else None,
            "bytes": (hit["bytes_up_total"] + hit["bytes_down_total"]) if hit else None,
            "last_round": last["round"], "last_sim_s": last["sim_elapsed_s"],
            "best_accuracy": max(r["accuracy"] for r in rows if r["evaluated"] and r["accuracy"] is not None),
            "staleness_mean": statistics.mean(stale) if stale else 0, "staleness_hist": hist}


def provenance():
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    return {"commit": commit, "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
            "cores": os.cpu_count(), "load_average": open("/proc/loadavg").read().split()[:3],
            "command": "nice -n 10 /usr/bin/python3 bench/bench_async.py " + " ".join(sys.argv[1:])}


def ms(xs, fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—"
    if len(xs) == 1:
        return fmt.format(xs[0])
    return (fmt + " ± " + fmt).format(statistics.mean(xs), statistics.stdev(xs))


def render(res):
    p = res["provenance"]
    t = res["target"]
    lines = [f"Fashion-MNIST, MLP, 100 clients, Dirichlet alpha 0.5, lognormal profile, 10 clients training "
             f"at once, seeds {res['seeds']}: to {t:.0%} test accuracy. Simulated seconds and rounds "
             f"(aggregations) are mean ± std over the seeds that reached the target; wall seconds are those "
             f"of the simulation on this machine, not of a deployment. Measured {p['date']} on {p['cores']} "
             f"cores ({p['cpu']}, load average {' '.join(p['load_average'])}), commit `{p['commit'][:10]}`, "
             f"with `{p['command']}`.", "",
             "| method | reached | simulated s to target | aggregations | simulated s per aggregation | "
             "MB moved | wall s (sim) | mean staleness |", "|---|---|---|---|---|---|---|---|"]
    base = None
    for name, _, _, _ in METHODS:
        runs = res["methods"].get(name)
        if not runs:
            continue
        ok = [r for r in runs if r["reached"]]
        sim = [r["sim_s"] for r in ok]
        if name.startswith("fedavg (sync, random)") and sim:
            base = statistics.mean(sim)
        speed = f" ({base / statistics.mean(sim):.1f}x)" if base and sim and not name.startswith("fedavg (sync, random)") else ""
        lines.append(f"| {name} | {len(ok)}/{len(runs)} | {ms(sim, '{:.0f}')}{speed} | "
                     f"{ms([r['rounds'] for r in ok], '{:.0f}')} | "
                     f"{ms([r['sim_s'] / r['rounds'] for r in ok], '{:.2f}')} | "
                     f"{ms([r['bytes'] / 1e6 for r in ok], '{:.0f}')} | {ms([r['wall_s'] for r in ok], '{:.0f}')} | "
                     f"{ms([r['staleness_mean'] for r in runs], '{:.2f}')} |")
    return "\n".join(lines)


def write_doc(table):
    a, b = "<!-- BEGIN async table (bench/bench_async.py) -->", "<!-- END async table -->"
    doc = open(DOC).read()
    if a not in doc:
        raise SystemExit(f"docs/algorithms.md has no {a} marker")
    i, j = doc.index(a) + len(a), doc.index(b)
    open(DOC, "w").write(doc[:i] + "\n" + table + "\n" + doc[j:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.78)
    ap.add_argument("--render-only", action="store_true")
    a = ap.parse_args()
    if a.render_only:
        write_doc(render(json.load(open(RESULTS))))
        return
    fedc = os.path.join(a.build, "fedc")
    seeds = list(range(1, a.seeds + 1))
    res = {"provenance": provenance(), "target": a.target, "seeds": seeds, "methods": {}}
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        futs = {(name, s): ex.submit(run, fedc, name, cap, every, sets, s, a.target, 1, tmp)
                for name, cap, every, sets in METHODS for s in seeds}
        for (name, s), f in futs.items():
            r = f.result()
            res["methods"].setdefault(name, []).append(r)
            print(f"{name} seed {s}: {r}", flush=True)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    json.dump(res, open(RESULTS, "w"), indent=1)
    write_doc(render(res))


if __name__ == "__main__":
    main()
