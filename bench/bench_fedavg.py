"""fedc vs the PyTorch peer (shared/peers/torch_fedavg.py) on the same FedAvg work,
in the same invocation and with the same thread count.

Setting (issue 2): Fashion-MNIST, 100 IID clients, 10 per round, 1 local epoch, batch 32,
lr 0.05, plain SGD; MLP 784-200-200-10 for 50 rounds, CNN (McMahan) for 30 rounds.
Reports seconds per round for both, the ratio, samples/s, achieved GFLOP/s and its share
of OpenBLAS sgemm peak, final test accuracy of both, and the peak memory of a
10,000-client task. Writes bench/results/fedavg.json and prints a Markdown table.

usage: /usr/bin/python3 bench/bench_fedavg.py [--build build] [--threads 2] [--rounds-mlp 50]
       [--rounds-cnn 30] [--models mlp,cnn] [--skip-peer]
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_peer():
    for p in (os.path.join(ROOT, "..", "shared", "peers", "torch_fedavg.py"),
              os.path.join(ROOT, "shared", "peers", "torch_fedavg.py")):
        if os.path.exists(p):
            return os.path.abspath(p)
    return None


def run(cmd, env=None):
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-4000:])
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}")
    return p.stdout, time.time() - t0


def child_maxrss_mb(cmd, env=None):
    """Runs cmd and returns (stdout, wall_s, peak RSS of that child in MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out, wall = run(cmd, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return out, wall, max(after, before) / 1024.0


def fedc_sim(fedc, task, rounds, threads, tmp, extra=()):
    metrics = os.path.join(tmp, f"{os.path.basename(task)}.jsonl")
    # init=torch: PyTorch's default initialisation, so both sides do the same work.
    cmd = [fedc, "sim", task, "--quiet", "--threads", str(threads), "--set", f"rounds={rounds}",
           "--set", "init=torch", "--metrics", metrics, "--out", os.path.join(tmp, "run-" + os.path.basename(task))] + list(extra)
    _, wall = run(cmd)
    rows = [json.loads(l) for l in open(metrics)]
    return rows, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds-mlp", type=int, default=50)
    ap.add_argument("--rounds-cnn", type=int, default=30)
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    a = ap.parse_args()
    fedc = os.path.join(a.build, "fedc")
    peer = find_peer()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    results = {"threads": a.threads, "machine": os.uname().machine, "cpus": os.cpu_count(), "models": {}}
    out, _ = run([os.path.join(a.build, "sgemm_peak"), str(a.threads), "1024"])
    peak = json.loads(out)["gflops"]
    results["sgemm_peak_gflops"] = peak
    tmp = tempfile.mkdtemp(prefix="fedc-bench-")
    for model in a.models.split(","):
        rounds = a.rounds_mlp if model == "mlp" else a.rounds_cnn
        task = os.path.join(ROOT, "examples", f"fmnist-{model}.json")
        info = json.loads(run([fedc, "arch", model])[0])
        rows, wall = fedc_sim(fedc, task, rounds, a.threads, tmp)
        train_wall = sum(r["wall_s"] for r in rows)
        samples = 6000 * rounds  # 10 clients x 600 samples x 1 epoch per round
        f = {"s_per_round": train_wall / rounds, "final_acc": rows[-1]["accuracy"],
             "samples_per_s": samples / train_wall, "process_wall_s": wall,
             "client_cpu_s": sum(r["client_cpu_s"] for r in rows),
             "bytes": rows[-1]["bytes_down_total"] + rows[-1]["bytes_up_total"]}
        # Training FLOPs ~ 3x forward (forward, input-gradient, weight-gradient GEMMs).
        f["gflops"] = f["samples_per_s"] * 3 * info["forward_flops_per_sample"] / 1e9
        f["share_of_sgemm_peak"] = f["gflops"] / peak
        entry = {"params": info["params"], "rounds": rounds, "fedc": f}
        if peer and not a.skip_peer:
            out, pwall = run(["/usr/bin/python3", peer, "--model", model, "--clients", "100", "--per-round", "10",
                              "--rounds", str(rounds), "--epochs", "1", "--batch", "32", "--lr", "0.05",
                              "--threads", str(a.threads)], env)
            lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
            per = [l for l in lines if "round" in l]
            summ = [l for l in lines if l.get("summary")][0]
            pt = {"s_per_round": sum(l["round_s"] for l in per) / len(per), "final_acc": summ["final_acc"],
                  "samples_per_s": samples / sum(l["round_s"] for l in per), "process_wall_s": pwall,
                  "cpu_s": summ["cpu_s"]}
            entry["torch"] = pt
            entry["speedup"] = pt["s_per_round"] / f["s_per_round"]
            entry["accuracy_gap_points"] = 100 * (f["final_acc"] - pt["final_acc"])
        results["models"][model] = entry
        print(json.dumps({model: entry}), flush=True)
    if not a.skip_scale:
        task = os.path.join(ROOT, "examples", "fmnist-mlp.json")
        cmd = [fedc, "sim", task, "--quiet", "--threads", str(a.threads), "--set", "clients=10000",
               "--set", "clients_per_round=100", "--set", "rounds=2", "--out", os.path.join(tmp, "scale")]
        _, wall, rss = child_maxrss_mb(cmd)
        results["scale_10000_clients"] = {"peak_rss_mb": rss, "wall_s": wall, "clients_per_round": 100, "rounds": 2}
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "fedavg.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    print("\n| model | params | fedc s/round | torch s/round | speedup | fedc samples/s | fedc GFLOP/s "
          "(% of sgemm peak) | fedc acc | torch acc |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m, e in results["models"].items():
        f, t = e["fedc"], e.get("torch", {})
        print(f"| {m} ({e['rounds']} rounds) | {e['params']:,} | {f['s_per_round']:.3f} | "
              f"{t.get('s_per_round', float('nan')):.3f} | {e.get('speedup', float('nan')):.2f}x | "
              f"{f['samples_per_s']:.0f} | {f['gflops']:.1f} ({100 * f['share_of_sgemm_peak']:.0f}%) | "
              f"{f['final_acc']:.4f} | {t.get('final_acc', float('nan')):.4f} |")
    print(f"\nOpenBLAS sgemm peak ({a.threads} threads, 1024^3): {peak:.1f} GFLOP/s")
    if "scale_10000_clients" in results:
        s = results["scale_10000_clients"]
        print(f"10,000-client task (100 per round, 2 rounds): peak RSS {s['peak_rss_mb']:.0f} MB")


main()
