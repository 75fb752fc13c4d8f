#!/usr/bin/env python3
"""fedc against Flower 1.6, the same rounds in the same invocation.

Two kinds of round, at 10, 100 and 500 clients, every client in every round:
- no training: each client returns the model it was sent (fedc: `fedc node
  --echo`, a zero update; Flower: the weights as received), so a round is
  the framework's own cost -- sending the 199,210-parameter MLP to every
  client, receiving every update, aggregating;
- the MLP round: 1 local epoch of minibatch SGD (batch 32, lr 0.05) on an
  IID 1/N share of Fashion-MNIST's 60,000 training images, 784-200-200-10
  MLP with ReLU on both sides (Flower's clients train it in NumPy, fedc's in
  its own engine).

fedc runs as it is deployed: `fedc server` with TLS and N `fedc node`
processes with their own credentials on loopback; each training node holds
only its own share (written beforehand as IDX files, `--data idx:...`).
Flower runs as ../shared/peers/flower/flower_fedavg.py runs it: one gRPC
server and N forked client processes, no TLS.

Per round kind and N: the median seconds per round (fedc: the server's
per-round wall time, from the API, of rounds without evaluation; Flower:
from fit dispatch to the end of aggregation, without its evaluation), the
server's peak resident memory (VmHWM of that one process), and the ratio
Flower / fedc. The two runs of a pair run back to back, so both see the same
machine; the load average is recorded.

usage: bench/bench_flower.py --build BUILD [--clients 10,100,500] [--rounds 12] [--train-rounds 5]
                             [--flower DIR]
Writes bench/results/flower.json.
"""
import argparse
import gzip
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import round_overhead  # noqa: E402
import yardstick  # noqa: E402

FMNIST = "/usr/share/datasets/fashion-mnist"
DEFAULT_FLOWER = os.path.join(benchlib.ROOT, "..", "shared", "peers", "flower")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]


def write_shards(tmp, n, seed):
    """IID shares of the training set, one pair of IDX files per node: node k
    gets the samples whose place in a seeded permutation is k mod n."""
    import random
    (count, rows, cols), images = read_idx(os.path.join(FMNIST, "train-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz"))
    order = list(range(count))
    random.Random(seed).shuffle(order)
    px = rows * cols
    paths = []
    for k in range(n):
        ids = order[k::n]
        img = os.path.join(tmp, f"x{k}.idx")
        lab = os.path.join(tmp, f"y{k}.idx")
        with open(img, "wb") as f:
            f.write(struct.pack(">IIII", 0x803, len(ids), rows, cols))
            f.write(b"".join(images[i * px:(i + 1) * px] for i in ids))
        with open(lab, "wb") as f:
            f.write(struct.pack(">II", 0x801, len(ids)))
            f.write(bytes(labels[i] for i in ids))
        paths.append((img, lab))
    return paths


def start_nodes(d, n, shards):
    """N node processes: echo nodes without data, or training nodes holding their share."""
    certs = os.path.join(d.state, "certs")
    env = yardstick.unpinned_env(OPENBLAS_NUM_THREADS="1")
    url = f"wss://127.0.0.1:{d.port}"
    for k in range(n):
        cred = os.path.join(d.tmp, f"n{k}.pem")
        subprocess.run([d.fedc, "certs", "issue-node", certs, "--name", f"n{k}", "--out", cred], check=True,
                       capture_output=True)
        data = ["--echo", "--data", "none"] if shards is None else ["--data", f"idx:{shards[k][0]},{shards[k][1]}"]
        d.nodes.append(subprocess.Popen(
            [d.fedc, "node", "--server", url, "--credential", cred, "--log-level", "error",
             "--connect-timeout", "60"] + data,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))


def fedc_rounds(fedc, n, rounds, train):
    tmp = tempfile.mkdtemp(prefix="fedc-flower-")
    d = round_overhead.Deployment(fedc, True, tmp)
    try:
        shards = write_shards(tmp, n, 0) if train else None
        # Evaluation on the server's 10,000 test images runs in the first and
        # last round only; those rounds are left out, as Flower's figure
        # leaves its evaluation out.
        task = {"name": f"flower-peer-{n}", "model": "mlp", "rounds": rounds, "clients": n, "clients_per_round": n,
                "eval_every": rounds + 1,
                "local": {"epochs": 1, "batch": 32, "lr": 0.05, "optimizer": "sgd"},
                "deploy": {"min_nodes": n, "min_updates": n, "round_timeout_s": 900, "connect_timeout_s": 900}}
        run = d.api("POST", "/api/runs", task)
        for _ in range(600):
            if d.api("GET", f"/api/runs/{run['id']}")["status"] == "running":
                break
            time.sleep(0.1)
        start_nodes(d, n, shards)
        while True:
            r = d.api("GET", f"/api/runs/{run['id']}")
            if r["status"] not in ("queued", "running"):
                break
            time.sleep(0.3)
        peak_kb = round_overhead.rss_kb(d.server.pid, "VmHWM")
        if r["status"] != "done":
            raise SystemExit(f"fedc run with {n} nodes ended {r['status']}: {r['error']}")
        rows = d.api("GET", f"/api/runs/{run['id']}/rounds")["rounds"]
        inner = [x["wall_s"] for x in rows if not x["evaluated"]]
        final = [x["accuracy"] for x in rows if x["evaluated"]]
        return {"median_round_s": statistics.median(inner), "rounds_timed": len(inner),
                "server_peak_rss_mb": peak_kb / 1024, "final_acc": final[-1] if train and final else None}
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def flower_rounds(flower_dir, n, rounds, train):
    cmd = ["/usr/bin/python3", os.path.join(flower_dir, "flower_fedavg.py"), "--clients", str(n),
           "--rounds", str(rounds)]
    if not train:
        cmd.append("--no-train")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    summary = None
    for line in p.stdout.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("summary"):
            summary = obj
        elif "error" in obj:
            raise SystemExit(f"Flower with {n} clients: {obj['error']}")
    if p.returncode != 0 or not summary or summary.get("failed_clients"):
        raise SystemExit(f"Flower with {n} clients failed (exit {p.returncode}): {p.stderr[-2000:]}")
    return {"median_round_s": summary["median_round_s"], "rounds_timed": summary["rounds"],
            "server_peak_rss_mb": summary["server_peak_rss_mb"], "final_acc": summary.get("final_acc")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--clients", default="10,100,500")
    ap.add_argument("--rounds", type=int, default=12, help="rounds of the no-training runs")
    ap.add_argument("--train-rounds", type=int, default=5, help="rounds of the MLP runs")
    ap.add_argument("--flower", default=DEFAULT_FLOWER, help="the Flower peer's folder")
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    fedc = os.path.abspath(os.path.join(a.build, "fedc"))
    flower_dir = os.path.abspath(a.flower)
    sizes = [int(x) for x in a.clients.split(",") if x.strip()]
    rows = []
    print("fedc (TLS, N node processes) vs Flower 1.6 (gRPC, N client processes), every client every round")
    print(f"{'round':>9} {'N':>5} {'fedc s':>9} {'Flower s':>9} {'ratio':>7} "
          f"{'fedc MB':>8} {'Flower MB':>10} {'ratio':>7}")
    for train in (False, True):
        for n in sizes:
            rounds = a.train_rounds if train else a.rounds
            # fedc evaluates in its first and last round: time at least two others.
            f = fedc_rounds(fedc, n, max(rounds, 4), train)
            w = flower_rounds(flower_dir, n, rounds, train)
            row = {"kind": "mlp" if train else "no-train", "clients": n, "fedc": f, "flower": w,
                   "round_ratio": w["median_round_s"] / f["median_round_s"],
                   "memory_ratio": w["server_peak_rss_mb"] / f["server_peak_rss_mb"]}
            rows.append(row)
            print(f"{row['kind']:>9} {n:>5} {f['median_round_s']:>9.3f} {w['median_round_s']:>9.3f} "
                  f"{row['round_ratio']:>6.1f}x {f['server_peak_rss_mb']:>8.0f} {w['server_peak_rss_mb']:>10.0f} "
                  f"{row['memory_ratio']:>6.1f}x", flush=True)
    benchlib.write_results("flower", prov, {
        "setting": {"model": "mlp 784-200-200-10", "params": 199210, "rounds_no_train": a.rounds,
                    "rounds_mlp": a.train_rounds, "fedc_transport": "WebSocket over TLS",
                    "flower": "1.6.0, gRPC without TLS, forked client processes",
                    "local": "1 epoch, batch 32, lr 0.05, IID 1/N of 60,000"},
        "rows": rows})


if __name__ == "__main__":
    main()
