#!/usr/bin/env python3
"""`mpirun -np P fedc sim` on this machine: scaling and MPI traffic.

One Fashion-MNIST MLP task (the 199,210-parameter preset, 100 clients, 10
per round) runs as a single process with one worker thread, then under
mpirun with 1 and 2 ranks of one thread each (and the single process with
2 threads, the same two cores used by threads instead of ranks). For each:
wall seconds and CPU seconds (the process tree's, from wait4), the speed-up
and scaling efficiency against the 1-thread single process
(efficiency = T1 / (P x TP)), the clients each rank trained (ranks own the
clients k with k mod P = rank, so a round waits for the busier rank: the
best speed-up that split allows is also given), and whether the model file
is byte-identical to the single process's. Then -np 2 and -np 4 (4 ranks
oversubscribe the 2 cores: bytes only, no timing) for the bytes fedc sent
through MPI per round, next to the bytes the clients' updates take.

The machine's 2 cores may be shared: the load average is recorded at the
start and end; the timings are as good as that load allows.

usage: bench/bench_mpi.py --build BUILD [--rounds 3] [--repeats 2]
Writes bench/results/mpi.json.
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = benchlib.ROOT


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    fedc = os.path.abspath(os.path.join(args.build, "fedc"))
    mpirun = shutil.which("mpirun")
    if not mpirun:
        sys.exit("mpirun not found (Debian package openmpi-bin)")
    prov = benchlib.Provenance(args.build)
    task = os.path.join(ROOT, "examples", "fmnist-mlp.json")
    sets = ["rounds=%d" % args.rounds, "clients=100", "clients_per_round=10"]
    tmp = tempfile.mkdtemp(prefix="fedc-bench-mpi-")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")

    def run(label, np, threads, rep):
        out = os.path.join(tmp, f"{label}-{rep}")
        cmd = [fedc, "sim", task, "--quiet", "--threads", str(threads), "--out", out]
        for s in sets:
            cmd += ["--set", s]
        if np:
            cmd = [mpirun, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", str(np)] + cmd
        m = benchlib.run_measured(cmd, env=env)
        with open(os.path.join(out, "model.safetensors"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(out, "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f]
        mpi = None
        if np:
            with open(os.path.join(out, "mpi.json")) as f:
                mpi = json.load(f)
        shutil.rmtree(out)
        return {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "model_sha256": digest, "rows": rows, "mpi": mpi,
                "command": " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)}

    configs = [("single-t1", 0, 1), ("mpirun-np1-t1", 1, 1), ("mpirun-np2-t1", 2, 1), ("single-t2", 0, 2)]
    runs = {label: [] for label, _, _ in configs}
    # Interleaved repeats, so a change of the machine's load falls on every configuration alike.
    for rep in range(args.repeats):
        for label, np, threads in configs:
            r = run(label, np, threads, rep)
            runs[label].append(r)
            print(f"{label} #{rep}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU", flush=True)
    ref = runs["single-t1"][0]
    t1 = min(r["wall_s"] for r in runs["single-t1"])
    # What MPI spreads is the clients' training; the rest (loading the data,
    # encoding, aggregating, evaluating) every rank repeats. The clients' share
    # of the single process's CPU seconds gives the speed-up P ranks can reach
    # at best (Amdahl), whatever the machine's load does to wall times.
    cpu1 = statistics.fmean(r["cpu_s"] for r in runs["single-t1"])
    train = statistics.fmean(sum(row["client_cpu_s"] for row in r["rows"]) for r in runs["single-t1"])
    amdahl = {"single_cpu_s": cpu1, "clients_cpu_s": train, "clients_share": train / cpu1,
              "bound_np2": 1 / ((1 - train / cpu1) + train / cpu1 / 2)}
    scaling = []
    for label, np, threads in configs:
        best = min(r["wall_s"] for r in runs[label])
        workers = max(np, 1) * threads
        row = {"config": label, "ranks": np, "threads_per_process": threads,
               "wall_s": benchlib.mean_std([r["wall_s"] for r in runs[label]]),
               "cpu_s": benchlib.mean_std([r["cpu_s"] for r in runs[label]]),
               "best_wall_s": best, "speedup": t1 / best, "efficiency": t1 / (workers * best),
               "model_identical": all(r["model_sha256"] == ref["model_sha256"] for r in runs[label]),
               "command": runs[label][0]["command"]}
        mpi = runs[label][0]["mpi"]
        if mpi:
            per_rank = mpi["clients_per_rank"]
            row["clients_per_rank"] = per_rank
            # A round lasts as long as its busiest rank: the speed-up this client split allows.
            row["split_speedup_bound"] = sum(per_rank) / max(per_rank)
        scaling.append(row)
        # CPU seconds of the whole run against the single process's: what the
        # repeated work and MPI cost, steadier than wall time on a shared machine.
        row["cpu_ratio_to_single"] = row["cpu_s"]["mean"] / cpu1
        print(f"{label}: speed-up {row['speedup']:.2f}, efficiency {row['efficiency']:.2f}, "
              f"identical {row['model_identical']}", flush=True)

    comm = []
    up_per_round = sum(r["bytes_up"] for r in ref["rows"]) / len(ref["rows"])
    for np in (2, 4):
        r = run(f"bytes-np{np}", np, 1, 0)
        comm.append({"ranks": np, "mpi_bytes_per_round": r["mpi"]["mpi_bytes_per_round"],
                     "mpi_bytes_sent_by_rank": r["mpi"]["mpi_bytes_sent_by_rank"],
                     "clients_per_rank": r["mpi"]["clients_per_rank"],
                     "update_bytes_per_round": up_per_round,
                     "ratio_to_update_bytes": r["mpi"]["mpi_bytes_per_round"] / up_per_round,
                     "model_identical": r["model_sha256"] == ref["model_sha256"], "command": r["command"]})
        print(f"np {np}: {r['mpi']['mpi_bytes_per_round']:.0f} MPI bytes per round "
              f"({comm[-1]['ratio_to_update_bytes']:.2f} x the updates' {up_per_round:.0f})", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    setting = {"task": "examples/fmnist-mlp.json", "sets": sets, "params": 199210, "repeats": args.repeats,
               "openblas_threads": 1}
    path = benchlib.write_results("mpi", prov, {"setting": setting, "scaling": scaling, "amdahl": amdahl,
                                                "comm": comm})
    print("wrote", path)


if __name__ == "__main__":
    main()
