#!/usr/bin/env python3
"""End-to-end: `mpirun -np P fedc sim TASK.json` writes the same
model.safetensors, byte for byte, and the same metrics (but timings) as the
single process, for FedAvg, a stateful strategy (SCAFFOLD's client control
variates live on the client's rank) and a codec with error feedback, at 2
and 4 ranks on one host; at 2 ranks also colluding attackers on different
ranks, per-client evaluation of personal models, a decentralised and an
asynchronous strategy. Rank 0 alone writes the run folder; a plain run
prints nothing of MPI.

usage: sim_mpi.py FEDC MPIRUN"""
import json
import os
import random
import subprocess
import sys
import tempfile

FEDC, MPIRUN = sys.argv[1], sys.argv[2]
TIMING = ("cpu", "wall", "elapsed")


def write_data(tmp):
    random.seed(1)
    for name, n in (("train", 600), ("test", 200)):
        with open(os.path.join(tmp, f"{name}.csv"), "w") as f:
            f.write(",".join(f"f{i}" for i in range(12)) + ",label\n")
            for _ in range(n):
                x = [random.gauss(0, 1) for _ in range(12)]
                f.write(",".join(f"{v:.4f}" for v in x) + f",{int(x[0] + x[1] > 0) + int(x[2] > 0.5)}\n")
    task = {"name": "mpi", "seed": 7,
            "dataset": {"name": "csv", "path": f"{tmp}/train.csv", "test_path": f"{tmp}/test.csv",
                        "label_column": "label"},
            "model": "dense:32,dense:3", "rounds": 4, "clients": 10, "clients_per_round": 5,
            "partition": {"kind": "dirichlet", "alpha": 0.5}, "local": {"epochs": 1, "batch": 16, "lr": 0.1},
            "strategy": {"name": "fedavg"}}
    path = os.path.join(tmp, "task.json")
    with open(path, "w") as f:
        json.dump(task, f)
    return path


def sim(task, out, sets, np=0):
    cmd = [FEDC, "sim", task, "--quiet", "--threads", "1", "--out", out]
    for s in sets:
        cmd += ["--set", s]
    if np:
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", str(np)] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def metrics(out):
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def check(tmp, task, label, sets, nps):
    ref = os.path.join(tmp, f"{label}-1")
    p = sim(task, ref, sets)
    if p.stderr.strip():
        sys.exit(f"FAIL {label}: a plain `fedc sim` printed on stderr:\n{p.stderr}")
    if os.path.exists(os.path.join(ref, "mpi.json")):
        sys.exit(f"FAIL {label}: a plain `fedc sim` wrote mpi.json")
    model = open(os.path.join(ref, "model.safetensors"), "rb").read()
    rows = metrics(ref)
    for np in nps:
        out = os.path.join(tmp, f"{label}-{np}")
        sim(task, out, sets, np)
        got = open(os.path.join(out, "model.safetensors"), "rb").read()
        if got != model:
            sys.exit(f"FAIL {label}: the model of -np {np} differs from the single process's")
        rows_np = metrics(out)
        if len(rows_np) != len(rows):
            sys.exit(f"FAIL {label}: -np {np} wrote {len(rows_np)} metric rows, the single process {len(rows)}")
        for a, b in zip(rows, rows_np):
            for k, v in a.items():
                if not any(t in k for t in TIMING) and b.get(k) != v:
                    sys.exit(f"FAIL {label} -np {np}, round {a['round']}: {k} = {b.get(k)}, single process {v}")
        files = sorted(os.listdir(out))
        if files != ["metrics.jsonl", "model.safetensors", "mpi.json", "task.json"]:
            sys.exit(f"FAIL {label} -np {np}: run folder holds {files}")
        with open(os.path.join(out, "mpi.json")) as f:
            st = json.load(f)
        trained = sum(r.get("participants", 0) for r in rows)
        if st["ranks"] != np or len(st["clients_per_rank"]) != np or st["rounds"] != len(rows):
            sys.exit(f"FAIL {label} -np {np}: mpi.json {st}")
        if trained and sum(st["clients_per_rank"]) < trained:
            sys.exit(f"FAIL {label} -np {np}: the ranks trained {sum(st['clients_per_rank'])} clients, "
                     f"the metrics count {trained} participants")
        if st["mpi_bytes_total"] <= 0 or min(st["mpi_bytes_sent_by_rank"]) <= 0:
            sys.exit(f"FAIL {label} -np {np}: no bytes counted through MPI: {st}")
        print(f"{label} -np {np}: model identical, {len(rows)} rounds, clients per rank {st['clients_per_rank']}, "
              f"{st['mpi_bytes_per_round']:.0f} MPI bytes per round")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        task = write_data(tmp)
        cases = [
            ("fedavg", [], (2, 4)),
            ("scaffold", ["strategy.name=scaffold"], (2, 4)),
            ("codec", ["compression.up=topk:0.1|q8|zstd", "compression.down=q8"], (2, 4)),
            ("alie", ["attack.kind=alie", "attack.fraction=0.3"], (2,)),
            ("ditto", ["strategy.name=ditto", "partition.test_fraction=0.2"], (2,)),
            ("dpsgd", ["strategy.name=dpsgd", "clients_per_round=10"], (2,)),
            ("fedbuff", ["strategy.name=fedbuff"], (2,)),
        ]
        for label, sets, nps in cases:
            check(tmp, task, label, sets, nps)
    print(f"{len(cases)} passed, 0 failed")


if __name__ == "__main__":
    main()
