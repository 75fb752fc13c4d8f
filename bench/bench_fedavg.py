"""fedc against the PyTorch peer (bench/peers/torch_fedavg.py) on the same FedAvg work,
in the same invocation and with the same thread count, over several seeds.

Setting: Fashion-MNIST, 100 IID clients, 10 per round, 1 local epoch, batch 32, lr 0.05,
plain SGD, PyTorch's default initialisation on both sides (fedc: --set init=torch); MLP
784-200-200-10 for 50 rounds, CNN (McMahan et al.) for 30 rounds; seeds 0, 1, 2 by default
(each seed changes the partition, the initial model and the client sampling on both sides).

Reports per model, as mean and standard deviation over the seeds: seconds per round for
both (wall) and CPU seconds per round (the whole process, all threads, startup and data
loading included, from wait4; on a shared machine the wall figures carry everyone else's
load, the CPU figures much less), the speed-up by
both, fedc's samples/s and achieved GFLOP/s (per wall second and per CPU second of its
training threads) as a share of the machine's FMA peak (bench/yardstick.py, measured in the
same invocation, OpenBLAS sgemm unpinned beside it), final test accuracy of both and each
process's own peak resident memory. The peer's OpenMP threads wait passively
(OMP_WAIT_POLICY=PASSIVE), so its CPU seconds count work, not spinning. Then the peak memory of a 10,000-client task against a 100-client one with the
same 100 clients trained per round. Every child runs without the environment's OpenBLAS
kernel pins. Writes bench/results/fedavg.json.

usage: /usr/bin/python3 bench/bench_fedavg.py [--build build] [--threads 2] [--seeds 0,1,2]
       [--rounds-mlp 50] [--rounds-cnn 30] [--models mlp,cnn] [--skip-peer] [--skip-scale]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import yardstick  # noqa: E402

ROOT = benchlib.ROOT
PEER = os.path.join(ROOT, "bench", "peers", "torch_fedavg.py")
SAMPLES_PER_ROUND = 6000  # 10 clients x 600 samples x 1 epoch


def fedc_sim(fedc, model, rounds, threads, seed, tmp, env):
    """One fedc run; returns its figures."""
    out = os.path.join(tmp, f"{model}-s{seed}")
    metrics = out + ".jsonl"
    # init=torch: PyTorch's default initialisation, so both sides do the same work.
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet", "--threads", str(threads),
           "--set", f"rounds={rounds}", "--set", "init=torch", "--set", f"seed={seed}", "--metrics", metrics,
           "--out", out]
    m = benchlib.run_measured(cmd, env=env)
    rows = [json.loads(line) for line in open(metrics)]
    train_wall = sum(r["wall_s"] for r in rows)
    client_cpu = sum(r["client_cpu_s"] for r in rows)
    return {"seed": seed, "s_per_round": train_wall / rounds, "final_acc": rows[-1]["accuracy"],
            "samples_per_s": SAMPLES_PER_ROUND * rounds / train_wall, "process_wall_s": m.wall_s,
            "process_cpu_s": m.cpu_s, "cpu_s_per_round": m.cpu_s / rounds, "peak_rss_mb": m.peak_rss_mb,
            "client_cpu_s": client_cpu, "samples_per_cpu_s": SAMPLES_PER_ROUND * rounds / client_cpu,
            "bytes": rows[-1]["bytes_down_total"] + rows[-1]["bytes_up_total"]}


def torch_run(model, rounds, threads, seed, env):
    cmd = ["/usr/bin/python3", PEER, "--model", model, "--clients", "100", "--per-round", "10", "--rounds",
           str(rounds), "--epochs", "1", "--batch", "32", "--lr", "0.05", "--threads", str(threads), "--seed",
           str(seed)]
    m = benchlib.run_measured(cmd, env=env)
    lines = [json.loads(line) for line in m.stdout.splitlines() if line.startswith("{")]
    per = [line for line in lines if "round" in line]
    summ = [line for line in lines if line.get("summary")][0]
    train = sum(line["round_s"] for line in per)
    return {"seed": seed, "s_per_round": train / len(per), "final_acc": summ["final_acc"],
            "samples_per_s": SAMPLES_PER_ROUND * len(per) / train, "process_wall_s": m.wall_s,
            "process_cpu_s": m.cpu_s, "cpu_s_per_round": m.cpu_s / len(per), "peak_rss_mb": m.peak_rss_mb}


def summarise(runs, keys):
    return {k: benchlib.mean_std([r[k] for r in runs]) for k in keys}


def scale_run(fedc, clients, threads, tmp, env):
    """Peak memory of a 2-round task with `clients` clients, 100 trained per round."""
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", "fmnist-mlp.json"), "--quiet", "--threads", str(threads),
           "--set", f"clients={clients}", "--set", "clients_per_round=100", "--set", "rounds=2",
           "--out", os.path.join(tmp, f"scale-{clients}")]
    m = benchlib.run_measured(cmd, env=env)
    return {"clients": clients, "clients_per_round": 100, "rounds": 2, "peak_rss_mb": m.peak_rss_mb,
            "wall_s": m.wall_s}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--rounds-mlp", type=int, default=50)
    ap.add_argument("--rounds-cnn", type=int, default=30)
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    fedc = os.path.join(a.build, "fedc")
    seeds = [int(s) for s in a.seeds.split(",")]
    env = yardstick.unpinned_env(OMP_NUM_THREADS=str(a.threads), OMP_WAIT_POLICY="PASSIVE")
    tmp = tempfile.mkdtemp(prefix="fedc-bench-")
    ys = yardstick.measure(a.build, torch=False)
    peak = ys["peak_all_cores_gflops"] * min(a.threads, os.cpu_count() or 1) / (os.cpu_count() or 1)
    results = {"setting": {"threads": a.threads, "seeds": seeds, "clients": 100, "clients_per_round": 10,
                           "epochs": 1, "batch": 32, "lr": 0.05, "init": "torch"},
               "yardstick": ys, "fma_peak_gflops_for_threads": peak, "models": {}}
    for model in a.models.split(","):
        rounds = a.rounds_mlp if model == "mlp" else a.rounds_cnn
        info = json.loads(benchlib.run_measured([fedc, "arch", model], env=env).stdout)
        entry = {"params": info["params"], "rounds": rounds, "forward_flops_per_sample":
                 info["forward_flops_per_sample"], "fedc_runs": [], "torch_runs": []}
        for seed in seeds:
            f = fedc_sim(fedc, model, rounds, a.threads, seed, tmp, env)
            # Training FLOPs ~ 3x forward (forward, input-gradient, weight-gradient GEMMs).
            f["gflops"] = f["samples_per_s"] * 3 * info["forward_flops_per_sample"] / 1e9
            f["share_of_fma_peak"] = f["gflops"] / peak
            # Per CPU second of the training threads, against one core's peak.
            f["gflops_per_cpu_s"] = f["samples_per_cpu_s"] * 3 * info["forward_flops_per_sample"] / 1e9
            f["share_of_one_core_fma_peak"] = f["gflops_per_cpu_s"] / ys["peak_one_core_gflops"]
            entry["fedc_runs"].append(f)
            print(json.dumps({"model": model, "fedc": f}), flush=True)
            if os.path.exists(PEER) and not a.skip_peer:
                t = torch_run(model, rounds, a.threads, seed, env)
                entry["torch_runs"].append(t)
                print(json.dumps({"model": model, "torch": t}), flush=True)
        entry["fedc"] = summarise(entry["fedc_runs"], ["s_per_round", "cpu_s_per_round", "final_acc",
                                                       "samples_per_s", "gflops", "share_of_fma_peak",
                                                       "gflops_per_cpu_s", "share_of_one_core_fma_peak",
                                                       "peak_rss_mb", "client_cpu_s"])
        if entry["torch_runs"]:
            entry["torch"] = summarise(entry["torch_runs"], ["s_per_round", "cpu_s_per_round", "final_acc",
                                                             "samples_per_s", "peak_rss_mb"])
            # Per seed: the two sides ran the same seed back to back.
            pairs = list(zip(entry["fedc_runs"], entry["torch_runs"]))
            entry["speedup"] = benchlib.mean_std([t["s_per_round"] / f["s_per_round"] for f, t in pairs])
            entry["speedup_cpu"] = benchlib.mean_std([t["cpu_s_per_round"] / f["cpu_s_per_round"] for f, t in pairs])
            entry["accuracy_gap_points"] = benchlib.mean_std([100 * (f["final_acc"] - t["final_acc"])
                                                              for f, t in zip(entry["fedc_runs"],
                                                                              entry["torch_runs"])])
        results["models"][model] = entry
    if not a.skip_scale:
        results["scale"] = [scale_run(fedc, n, a.threads, tmp, env) for n in (100, 10000)]
        for s in results["scale"]:
            print(json.dumps({"scale": s}), flush=True)
    path = benchlib.write_results("fedavg", prov, results,
                                  openblas_pins_removed=yardstick.pins_in_environment())
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {os.path.relpath(path, ROOT)}; tables: /usr/bin/python3 bench/render_tables.py")


if __name__ == "__main__":
    main()
