"""FedAvg with a CNN on CIFAR-10 (examples/cifar10-cnn.json): the setting of
McMahan et al. (2017), section 3: 100 IID clients of 500 images, 10 per
round, 5 local epochs, batch 50, with the CNN of the TensorFlow CIFAR-10
tutorial their paper uses (two 5x5 convolutions of 64 channels, dense 384
and 192) minus its local response normalisation and data augmentation,
which fedc does not have.

Runs only when a CIFAR-10 copy is present: in fedc's data cache (`fedc data
fetch cifar10`), or in the folder given with --data (the download,
cifar-10-binary.tar.gz, or its unpacked batches). Without one it says so and
exits 0, so `make bench` works on machines that cannot download it.

Reports, over --seeds seeds: final test accuracy (mean of the last 3
evaluations) as mean +- std, the rounds to reach --target, seconds per
round; writes bench/results/cifar10.json with the commit, date, CPU model,
core count and the exact commands.

usage: /usr/bin/python3 bench/bench_cifar10.py [--build build] [--data DIR] [--rounds 200]
       [--seeds 3] [--threads 2] [--target 0.6]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--data", default="", help="a folder holding CIFAR-10 (else the fedc data cache)")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.6)
    a = ap.parse_args()
    fedc = os.path.join(a.build, "fedc")
    task = os.path.join(ROOT, "examples", "cifar10-cnn.json")
    if a.data:
        where, present = a.data, os.path.isdir(a.data)
    else:
        p = subprocess.run([fedc, "data", "path", "cifar10"], capture_output=True, text=True)
        where, present = p.stdout.strip(), p.returncode == 0
    if not present:
        print(f"bench_cifar10: skipped: no CIFAR-10 copy in {where} "
              f"(run `{fedc} data fetch cifar10`, or pass --data DIR)")
        return 0
    tmp = tempfile.mkdtemp(prefix="fedc-bench-cifar10-")
    runs, commands = [], []
    for seed in range(1, a.seeds + 1):
        out = os.path.join(tmp, f"seed{seed}")
        cmd = [fedc, "sim", task, "--quiet", "--threads", str(a.threads), "--set", f"rounds={a.rounds}", "--set",
               f"seed={seed}", "--set", "dataset.fetch=never", "--out", out]
        if a.data:
            cmd += ["--set", f"dataset.path={a.data}"]
        commands.append(" ".join(cmd[1:]).replace(tmp, "OUT"))
        print(f"bench_cifar10: seed {seed}: {' '.join(cmd)}", flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        if p.returncode != 0:
            sys.stderr.write(p.stderr[-3000:])
            raise SystemExit(f"bench_cifar10: fedc sim failed ({p.returncode})")
        rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
        evals = [r for r in rows if r.get("accuracy", 0) > 0]
        last = [r["accuracy"] for r in evals[-3:]]
        reach = next((r["round"] for r in evals if r["accuracy"] >= a.target), None)
        runs.append({"seed": seed, "final_accuracy": sum(last) / len(last), "rounds_to_target": reach,
                     "s_per_round": sum(r["wall_s"] for r in rows) / len(rows),
                     "accuracy_by_round": [[r["round"], r["accuracy"]] for r in evals]})
    accs = [r["final_accuracy"] for r in runs]
    result = {
        "benchmark": "FedAvg CNN on CIFAR-10 (examples/cifar10-cnn.json)",
        "commit": commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "threads": a.threads,
        "command": " ".join([sys.executable] + sys.argv),
        "sim_commands": commands,
        "rounds": a.rounds,
        "target_accuracy": a.target,
        "final_accuracy_mean": statistics.mean(accs),
        "final_accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "runs": runs,
    }
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", "cifar10.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    reach = [r["rounds_to_target"] for r in runs]
    print(f"| rounds | seeds | final test accuracy | rounds to {a.target:.0%} | s/round |")
    print("|---|---|---|---|---|")
    print(f"| {a.rounds} | {len(runs)} | {result['final_accuracy_mean']:.4f} +- {result['final_accuracy_std']:.4f} | "
          f"{reach} | {statistics.mean(r['s_per_round'] for r in runs):.2f} |")
    print(f"bench_cifar10: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
