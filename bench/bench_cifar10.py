"""FedAvg with a CNN on CIFAR-10 (examples/cifar10-cnn.json): the setting of
McMahan et al. (2017), section 3: 100 IID clients of 500 images, 10 per
round, 5 local epochs, batch 50, with the CNN of the TensorFlow CIFAR-10
tutorial their paper uses (two 5x5 convolutions of 64 channels, dense 384
and 192) minus its local response normalisation and data augmentation,
which fedc does not have.

--dataset svhn runs the same CNN and setting on SVHN's cropped digits (also
3x32x32 in 10 classes; train_32x32.mat / test_32x32.mat, without the extra
split), the other colour dataset the FL literature reports next to CIFAR-10.

Runs only when a copy of the dataset is present: in fedc's data cache (`fedc
data fetch cifar10`), or in the folder given with --data (for CIFAR-10 the
download, cifar-10-binary.tar.gz, or its unpacked batches; for SVHN the two
.mat files). Without one it says so and exits 0, so `make bench` works on
machines that cannot download it.

Reports, over --seeds seeds: final test accuracy (mean of the last 3
evaluations) as mean +- std, the rounds to reach --target, seconds per
round; writes bench/results/DATASET.json (cifar10.json, svhn.json) with the
commit, date, CPU model, core count and the exact commands.

usage: /usr/bin/python3 bench/bench_cifar10.py [--build build] [--dataset cifar10|svhn] [--data DIR]
       [--rounds 200] [--seeds 3] [--threads 2] [--target 0.6]
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the 3x32x32, 10-class catalog datasets the CNN of examples/cifar10-cnn.json fits
TITLES = {"cifar10": "CIFAR-10", "svhn": "SVHN"}


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
    ap.add_argument("--dataset", choices=sorted(TITLES), default="cifar10")
    ap.add_argument("--data", default="", help="a folder holding the dataset (else the fedc data cache)")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.6)
    a = ap.parse_args()
    fedc = os.path.join(a.build, "fedc")
    task = os.path.join(ROOT, "examples", "cifar10-cnn.json")
    name, title = a.dataset, TITLES[a.dataset]
    if a.data:
        where, present = a.data, os.path.isdir(a.data)
    else:
        p = subprocess.run([fedc, "data", "path", name], capture_output=True, text=True)
        where, present = p.stdout.strip(), p.returncode == 0
    if not present:
        print(f"bench_cifar10: skipped: no {title} copy in {where} "
              f"(run `{fedc} data fetch {name}`, or pass --data DIR)")
        return 0
    tmp = tempfile.mkdtemp(prefix=f"fedc-bench-{name}-")
    runs, commands = [], []
    for seed in range(1, a.seeds + 1):
        out = os.path.join(tmp, f"seed{seed}")
        cmd = [fedc, "sim", task, "--quiet", "--threads", str(a.threads), "--set", f"rounds={a.rounds}", "--set",
               f"seed={seed}", "--set", f"dataset.name={name}", "--set", "dataset.fetch=never", "--out", out]
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
    shutil.rmtree(tmp, ignore_errors=True)
    accs = [r["final_accuracy"] for r in runs]
    result = {
        "benchmark": f"FedAvg CNN on {title} (examples/cifar10-cnn.json"
                     + (")" if name == "cifar10" else f" with dataset.name={name})"),
        "dataset": name,
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
    path = os.path.join(ROOT, "bench", "results", f"{name}.json")
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
