#!/usr/bin/python3
"""Bring your own model: what a Python node costs against fedc's C node.

All on loopback, one `fedc server` with TLS per scenario, the built-in MLP
784-200-200-10 (199,210 parameters, the model of the Flower peer), every
node in every round, rounds 1 and R (the server's test evaluation runs in
those) left out of the medians:

  train/c          N `fedc node` processes, each on its own slice of S
                   Fashion-MNIST training images (IDX files)
  train/pytorch    N Python nodes (python/fedc_node from the tree) training the
                   same MLP as a torch.nn.Module on the same slices (SGD, the
                   task's lr, epochs and batch)
  notrain/c        N `fedc node --echo` (a zero update at once)
  notrain/python   N Python nodes whose fit returns the model unchanged: the
                   SDK's own cost (decode, checks, encode, TLS) and the server's
  notrain/flower   Flower 1.6.0's NumPy client (the peer in
                   /work/shared/peers/flower, or --flower DIR) on the same model,
                   N clients, --no-train: its round_s, fit dispatch to the end
                   of aggregation (legacy gRPC, no TLS)

Per scenario: CPU seconds per round of the server and of all nodes
together (from /proc, between the ends of rounds 1 and R-1; Flower: its
whole process tree), median seconds per round (the server's wall_s; Flower's
round_s), bytes per round down and up (server-counted wire bytes, both
directions, all nodes), and for Python nodes the SDK's per-round medians of
decode (model from the TRAIN frame), encode (update into the UPDATE frame)
and fit. Writes bench/results/byom.json with provenance.

usage: nice -n 10 /usr/bin/python3 bench/byom_overhead.py --build build [--nodes 2] [--rounds 6] [--notrain-rounds 20]
                                   [--samples 3000] [--flower DIR]
       /usr/bin/python3 bench/byom_overhead.py --render     (prints docs/python.md's table; bench/render_tables.py
                                                             writes it into the document)
"""
import argparse
import datetime
import gzip
import json
import os
import statistics
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402

from fedc_e2e import Cluster  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def provenance(argv):
    def sh(*c):
        try:
            return subprocess.run(c, cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"commit": sh("git", "rev-parse", "HEAD"), "dirty": bool(sh("git", "status", "--porcelain")),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "cpu_model": cpu, "cores": os.cpu_count(), "load_avg_at_start": os.getloadavg()[0],
            "command": "nice -n 10 /usr/bin/python3 bench/byom_overhead.py " + " ".join(argv)}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


def write_idx(path, arr):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, arr.ndim))
        f.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.astype(np.uint8).tobytes())


# ---- the Python node processes (this file, --node MODE) ----

def node_main(argv):
    """--node torch|identity URL CREDENTIAL IMAGES LABELS STATS_OUT"""
    mode, url, cred, images, labels, out = argv
    import signal

    import fedc_node

    x = (read_idx_plain(images).astype(np.float32) / 255.0).reshape(-1, 784)
    y = read_idx_plain(labels).astype(np.int64)

    if mode == "torch":
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from fedc_node.pytorch import load_arrays, state_dict_arrays
        torch.set_num_threads(1)
        net = nn.Sequential(nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 200), nn.ReLU(), nn.Linear(200, 10))
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        class Client(fedc_node.Client):
            def num_examples(self):
                return len(x)

            def get_parameters(self, config):
                raise NotImplementedError  # a built-in run: the server's model, no manifest of ours

            def fit(self, parameters, config):
                load_arrays(net, parameters)
                opt = torch.optim.SGD(net.parameters(), lr=config["lr"])
                torch.manual_seed(config["round"])
                losses = []
                for _ in range(config["epochs"]):
                    perm = torch.randperm(len(xt))
                    for i in range(0, len(xt), config["batch"]):
                        idx = perm[i:i + config["batch"]]
                        opt.zero_grad()
                        loss = F.cross_entropy(net(xt[idx]), yt[idx])
                        loss.backward()
                        opt.step()
                        losses.append(loss.item())
                return state_dict_arrays(net)[1], len(x), {"loss": float(np.mean(losses)), "steps": len(losses)}
    else:
        class Client(fedc_node.Client):
            def num_examples(self):
                return len(x)

            def get_parameters(self, config):
                raise NotImplementedError

            def fit(self, parameters, config):
                return parameters, len(x), {"loss": 0.0, "steps": 0}

    node = fedc_node.Node(url, cred, Client(), max_backoff=1.0)
    signal.signal(signal.SIGTERM, lambda *a: node.stop())
    try:
        node.run()
    finally:
        with open(out, "w") as f:
            json.dump(node.stats, f)


def read_idx_plain(path):
    data = open(path, "rb").read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


# ---- CPU seconds of process trees (steadier than wall time on a shared machine) ----

def _children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree_cpu_s(pid):
    """User + system CPU seconds of pid and all its descendants (0 for gone ones)."""
    total, todo = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
        todo += _children(p)
    return total


class CpuMarks:
    """CPU of the server and of the nodes at the end of round 1 and of round
    R-1: their difference over R-2 rounds is the CPU per round."""

    def __init__(self):
        self.marks = {}

    def mark(self, key, done, server_pids, node_pids):
        self.marks[key] = (done, sum(tree_cpu_s(p) for p in server_pids), sum(tree_cpu_s(p) for p in node_pids))

    def per_round(self, a, b):
        """Per round between the marks, over the rounds actually done between them."""
        if a not in self.marks or b not in self.marks or self.marks[b][0] <= self.marks[a][0]:
            return None, None
        (d0, s0, n0), (d1, s1, n1) = self.marks[a], self.marks[b]
        return round((s1 - s0) / (d1 - d0), 4), round((n1 - n0) / (d1 - d0), 4)


# ---- scenarios ----

def med(v):
    return round(statistics.median(v), 4) if v else None


def fedc_scenario(fedc, name, kind, args, slices, rounds):
    task = {"name": name, "model": "mlp", "rounds": rounds, "clients": args.nodes,
            "clients_per_round": args.nodes, "eval_every": 100000,
            "local": {"epochs": 1, "batch": 32, "lr": 0.05},
            "deploy": {"min_nodes": args.nodes, "min_updates": args.nodes, "round_timeout_s": 600,
                       "connect_timeout_s": 600},
            "seed": 3}
    stats_files = []
    with Cluster(fedc, name=f"bench-{name.replace('/', '-')}") as c:
        c.start_server()
        for k, (img, lbl) in enumerate(slices):
            if kind == "c":
                c.start_node(f"n{k}", f"idx:{img},{lbl}")
            elif kind == "echo":
                c.start_node(f"n{k}", "none", "--echo")
            else:
                out = os.path.join(c.dir, f"stats{k}.json")
                stats_files.append(out)
                log = open(os.path.join(c.dir, f"n{k}.log"), "w")
                c.nodes[f"n{k}"] = subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "--node", kind, c.node_url(), c.issue(f"n{k}"), img,
                     lbl, out], stdout=log, stderr=subprocess.STDOUT, env=c._env())
                log.close()
        run_id = c.create_run(task)
        cpu = CpuMarks()
        deadline = time.time() + 300 + 120 * rounds
        while time.time() < deadline:
            run = c.run(run_id)
            done = run.get("rounds_done", 0)
            for mark in (1, rounds - 1):
                if done >= mark and mark not in cpu.marks and done < rounds:
                    cpu.mark(mark, done, [c.server.pid], [p.pid for p in c.nodes.values()])
            if run["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
        assert run["status"] == "done", run
        server_cpu, node_cpu = cpu.per_round(1, rounds - 1)
        per = c.rounds(run_id)
        c.stop_all()
        mid = [r for r in per if 1 < r["round"] < rounds]
        res = {"rounds_measured": [r["round"] for r in mid],
               "round_s_median": med([r["wall_s"] for r in mid]),
               "round_s": [round(r["wall_s"], 4) for r in mid],
               "bytes_down_per_round": int(statistics.mean(r["bytes_down"] for r in mid)),
               "bytes_up_per_round": int(statistics.mean(r["bytes_up"] for r in mid)),
               "participants": [r["participants"] for r in mid],
               "server_cpu_s_per_round": server_cpu,
               "nodes_cpu_s_per_round": node_cpu}
        if stats_files:
            st = [s for f in stats_files for s in json.load(open(f)) if 1 < s["round"] < rounds]
            res["sdk_decode_s_median"] = med([s["decode_s"] for s in st])
            res["sdk_encode_s_median"] = med([s["encode_s"] for s in st])
            res["sdk_fit_s_median"] = med([s["fit_s"] for s in st])
            res["sdk_bytes_up_per_update"] = int(statistics.mean(s["bytes_up"] for s in st))
        return res


def flower_scenario(args, rounds):
    """Flower's server and clients are one process tree: its CPU per round
    (server and clients together) is taken at the round lines it prints."""
    script = os.path.join(args.flower, "flower_fedavg.py")
    p = subprocess.Popen(["/usr/bin/python3", script, "--clients", str(args.nodes), "--rounds", str(rounds),
                          "--no-train", "--timeout", str(300 + 60 * rounds)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    lines, cpu = [], {}
    for s in p.stdout:
        if not s.startswith("{"):
            continue
        r = json.loads(s)
        lines.append(r)
        if r.get("round") in (1, rounds - 1) and not r.get("summary"):
            cpu[r["round"]] = tree_cpu_s(p.pid)
    err = p.stderr.read()
    if p.wait(timeout=600 + 60 * rounds) != 0:
        raise RuntimeError(f"flower peer failed ({p.returncode}): {err[-2000:]}")
    per_round = [r for r in lines if "round" in r and not r.get("summary")]
    mid = [r for r in per_round if 1 < r["round"] < rounds]
    per = round((cpu[rounds - 1] - cpu[1]) / (rounds - 2), 4) if len(cpu) == 2 else None
    return {"rounds_measured": [r["round"] for r in mid], "round_s_median": med([r["round_s"] for r in mid]),
            "round_s": [round(r["round_s"], 4) for r in mid], "transport": "legacy gRPC, no TLS",
            "all_cpu_s_per_round": per}


def render(res):
    """The table of docs/python.md, from the results: bench/render_tables.py's, so the two never differ."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import render_tables  # noqa: E402
    return render_tables.byom({"byom": res})


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--node":
        return node_main(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "--render":
        print(render(json.load(open(os.path.join(ROOT, "bench", "results", "byom.json")))))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--notrain-rounds", type=int, default=20, help="rounds of the no-training scenarios")
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--flower", default="/work/shared/peers/flower")
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    args = ap.parse_args()
    assert args.rounds >= 3 and args.notrain_rounds >= 3, "rounds 1 and R are left out: at least 3"
    fedc = os.path.join(os.path.abspath(args.build), "fedc")
    res = {"provenance": provenance(sys.argv[1:]),
           "setup": {"model": "mlp 784-200-200-10 (199,210 parameters)", "nodes": args.nodes, "rounds": args.rounds,
                     "notrain_rounds": args.notrain_rounds,
                     "samples_per_node": args.samples, "local": "1 epoch, batch 32, SGD lr 0.05",
                     "medians_over": "rounds 2 .. R-1", "loopback": True, "tls": "fedc: yes; flower: no"},
           "scenarios": {}}
    x = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
    import tempfile
    with tempfile.TemporaryDirectory(prefix="fedc-byom-bench-") as d:
        slices = []
        for k in range(args.nodes):
            lo, hi = k * args.samples, (k + 1) * args.samples
            img, lbl = os.path.join(d, f"img{k}"), os.path.join(d, f"lbl{k}")
            write_idx(img, x[lo:hi])
            write_idx(lbl, y[lo:hi])
            slices.append((img, lbl))
        plan = [("train/c", "c"), ("train/pytorch", "torch"), ("notrain/c", "echo"), ("notrain/python", "identity"),
                ("notrain/flower", None)]
        only = set(filter(None, args.only.split(",")))
        for name, kind in plan:
            if only and name not in only:
                continue
            t0 = time.time()
            rounds = args.rounds if name.startswith("train/") else args.notrain_rounds
            r = flower_scenario(args, rounds) if kind is None else fedc_scenario(fedc, name, kind, args, slices, rounds)
            r["scenario_wall_s"] = round(time.time() - t0, 1)
            res["scenarios"][name] = r
            print(name, json.dumps(r), flush=True)
    out = os.path.join(ROOT, "bench", "results", "byom.json")
    json.dump(res, open(out, "w"), indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
