#!/usr/bin/env python3
"""Round overhead of a deployment with training disabled.

`fedc server` (TLS on) and N `fedc node --echo` processes on loopback: each
node answers every TRAIN at once with a zero update of the model's size, so
a round's wall time is pure overhead -- encoding, sending the model to every
node over TLS, receiving and checking every update, aggregating. The model
is the default 199,210-parameter MLP (~0.8 MB per message). Evaluation runs
only in the first and last round; those two are left out of the figures.

Prints, for each N: median seconds per round; CPU seconds per round of
the server process and of all node processes together (steadier than wall
time on a shared machine, and their sum over the core count bounds how fast
a round can be); the server's resident memory before the nodes connect and
with them connected, the growth per node (and that growth less one model
copy: the engine keeps each participant's update, d floats, for the
aggregation), and the growth of the peak; then the marginal memory of one
more node (the slope between the smallest and largest N, which cancels the
per-deployment buffers that weigh heavily at N=10). Then model-transfer throughput
for one node with TLS on and off. Every figure is printed next to its peer
from the same invocation (N against N=10, TLS against plain), as ratios;
the issue's targets are shown beside.

usage: bench/round_overhead.py --build BUILD [--nodes 10,100,500] [--rounds 12] [--no-transfer]
Writes bench/results/round_overhead.json.
"""
import argparse
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import yardstick  # noqa: E402


def cpu_s(pid):
    """User + system CPU seconds of a process (all its threads), 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_kb(pid, field="VmRSS"):
    """Resident memory of a process, kB (field VmHWM: its peak so far)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Deployment:
    def __init__(self, fedc, tls, tmp):
        self.fedc, self.tls, self.tmp = fedc, tls, tmp
        self.state = os.path.join(tmp, "state")
        self.nodes = []
        port_file = os.path.join(tmp, "port")
        # Hundreds of node processes start at once from one address: the
        # limits against slow or piling-up clients are lifted for them.
        args = [fedc, "server", "--state", self.state, "--listen", "127.0.0.1:0", "--port-file", port_file,
                "--log-level", "warn", "--threads", "2", "--hello-timeout", "120", "--header-timeout", "120",
                "--max-unauth-per-address", "100000"]
        if not tls:
            args.append("--insecure")
        self.log = open(os.path.join(tmp, "server.log"), "w")
        self.server = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=yardstick.unpinned_env())
        for _ in range(600):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        self.port = int(open(port_file).read())
        self.token = open(os.path.join(self.state, "admin-token")).read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.state, "certs", "ca.crt")) if tls else None

    def api(self, method, path, body=None):
        url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"
        req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, context=self.ctx, timeout=60) as r:
            return json.loads(r.read())

    def start_nodes(self, n):
        certs = os.path.join(self.state, "certs")
        env = yardstick.unpinned_env(OPENBLAS_NUM_THREADS="1")
        url = f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"
        for k in range(n):
            cred = os.path.join(self.tmp, f"n{k}.pem")
            subprocess.run([self.fedc, "certs", "issue-node", certs, "--name", f"n{k}", "--out", cred], check=True,
                           capture_output=True)
            self.nodes.append(subprocess.Popen(
                [self.fedc, "node", "--server", url, "--credential", cred, "--echo", "--data", "none",
                 "--log-level", "error", "--connect-timeout", "60"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))

    def stop(self):
        for p in self.nodes:
            p.send_signal(signal.SIGTERM)
        for p in self.nodes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.server.kill()
        self.log.close()


def run_rounds(fedc, tls, n, rounds, model="mlp"):
    tmp = tempfile.mkdtemp(prefix="fedc-bench-")
    d = Deployment(fedc, tls, tmp)
    try:
        task = {"name": f"overhead-{n}", "model": model, "rounds": rounds, "clients": n, "clients_per_round": n,
                "eval_every": rounds + 1,
                "deploy": {"min_nodes": n, "min_updates": n, "round_timeout_s": 600, "connect_timeout_s": 900}}
        run = d.api("POST", "/api/runs", task)
        # The run has loaded its data and model before it waits for nodes.
        for _ in range(600):
            if d.api("GET", f"/api/runs/{run['id']}")["status"] == "running":
                break
            time.sleep(0.1)
        time.sleep(1.0)
        rss_before = rss_kb(d.server.pid)
        d.start_nodes(n)
        during = []
        # CPU seconds of the server and of all nodes together, sampled with
        # the round count: on a shared machine CPU per round is steadier
        # than wall time per round.
        cpu_marks = []
        while True:
            r = d.api("GET", f"/api/runs/{run['id']}")
            if r["status"] not in ("queued", "running"):
                break
            # Steady state: nodes connected, rounds going, before the end.
            if 2 <= r["rounds_done"] < rounds - 1:
                during.append(rss_kb(d.server.pid))
                cpu_marks.append((r["rounds_done"], cpu_s(d.server.pid), sum(cpu_s(p.pid) for p in d.nodes)))
            time.sleep(0.2)
        peak = rss_kb(d.server.pid, "VmHWM")
        if r["status"] != "done":
            raise SystemExit(f"run with {n} nodes ended {r['status']}: {r['error']}")
        rss_during = statistics.median(during) if during else 0
        rows = d.api("GET", f"/api/runs/{run['id']}/rounds")["rounds"]
        inner = [x for x in rows if not x["evaluated"]]
        per_round = statistics.median(x["wall_s"] for x in inner)
        mb = statistics.median((x["bytes_down"] + x["bytes_up"]) / x["wall_s"] / 1e6 for x in inner)
        srv_cpu = node_cpu = float("nan")
        if len(cpu_marks) >= 2 and cpu_marks[-1][0] > cpu_marks[0][0]:
            k = cpu_marks[-1][0] - cpu_marks[0][0]
            srv_cpu = (cpu_marks[-1][1] - cpu_marks[0][1]) / k
            node_cpu = (cpu_marks[-1][2] - cpu_marks[0][2]) / k
        return {"n": n, "s_per_round": per_round, "rss_before_mb": rss_before / 1024,
                "server_cpu_per_round": srv_cpu, "nodes_cpu_per_round": node_cpu,
                "rss_during_mb": rss_during / 1024, "per_node_kb": (rss_during - rss_before) / max(n, 1),
                "peak_per_node_kb": (peak - rss_before) / max(n, 1),
                "mb_per_s": mb}
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--nodes", default="10,100,500", help="node counts; empty: skip the round overhead part")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--no-transfer", action="store_true", help="skip the single-node TLS vs plain transfer")
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    results = {"setting": {"tls": True, "params": 199210, "rounds": a.rounds, "nodes": a.nodes}, "rounds": []}
    fedc = os.path.abspath(os.path.join(a.build, "fedc"))
    sizes = [int(x) for x in a.nodes.split(",") if x.strip()]
    if sizes:
        print("round overhead, TLS on, 199,210-parameter model, nodes echo a zero update (no training)")
        print("CPU columns: seconds of CPU per round, server process and all node processes together")
        model_kb = 199210 * 4 / 1024
        print("memory: server RSS before the nodes connect, median RSS during rounds, its growth per node, that less"
              " one model copy (the target), and the peak RSS's growth per node")
        print(f"{'nodes':>6} {'s/round':>9} {'x vs 10':>8} {'target':>8} {'srv CPU':>8} {'nodes CPU':>10} "
              f"{'RSS before':>11} {'RSS with':>9} {'per node':>9} {'beyond model':>13} {'target':>7} {'peak/node':>10}")
    base = None
    done = []
    for n in sizes:
        # Small deployments finish a round in milliseconds: run enough rounds
        # for the CPU figures (sampled with the API's round count) to span some.
        r = run_rounds(fedc, True, n, a.rounds if n >= 100 else max(a.rounds, 80))
        base = base or r["s_per_round"]
        target = {100: "<=0.1", 500: "<1"}.get(n, "")
        print(f"{n:>6} {r['s_per_round']:>9.3f} {r['s_per_round'] / base:>8.1f} {target:>8} "
              f"{r['server_cpu_per_round']:>8.3f} {r['nodes_cpu_per_round']:>10.3f} "
              f"{r['rss_before_mb']:>9.0f}MB {r['rss_during_mb']:>7.0f}MB {r['per_node_kb']:>7.0f}KB "
              f"{r['per_node_kb'] - model_kb:>11.0f}KB {'<=1MB':>7} {r['peak_per_node_kb']:>8.0f}KB", flush=True)
        done.append(r)
        r["model_kb"] = model_kb
        r["per_node_beyond_model_kb"] = r["per_node_kb"] - model_kb
        results["rounds"].append(r)
    if len(done) >= 2:
        # What one more node costs: the growth of the median RSS between the
        # smallest and largest deployment. Per-deployment costs (the round's
        # model frame and its copies) divide into few nodes at N=10; they
        # cancel here.
        lo, hi = done[0], done[-1]
        slope = (hi["rss_during_mb"] - lo["rss_during_mb"]) * 1024 / (hi["n"] - lo["n"])
        print(f"marginal memory per node, {lo['n']} -> {hi['n']} nodes: {slope:.0f} KB, "
              f"{slope - model_kb:.0f} KB beyond one model copy (target <= 1 MB)")
        results["marginal_per_node_kb"] = slope
        results["marginal_per_node_beyond_model_kb"] = slope - model_kb
        results["marginal_between"] = [lo["n"], hi["n"]]
    if a.no_transfer:
        benchlib.write_results("round_overhead", prov, results)
        return
    print("\nmodel transfer, 1 node, 1.6M-parameter model (6.4 MB each way)")
    big = "dense:2000,dense:10"
    tls = run_rounds(fedc, True, 1, 60, big)
    plain = run_rounds(fedc, False, 1, 60, big)
    for name, r in (("TLS on ", tls), ("TLS off", plain)):
        print(f"  {name}: {r['mb_per_s']:8.1f} MB/s  ({r['s_per_round']:.3f} s per round trip; CPU per round trip: "
              f"server {r['server_cpu_per_round']:.3f} s, node {r['nodes_cpu_per_round']:.3f} s)")
    print(f"  TLS/plain throughput ratio: {tls['mb_per_s'] / plain['mb_per_s']:.2f}")
    results["transfer"] = {"model": big, "params": 784 * 2000 + 2000 + 2000 * 10 + 10, "tls": tls, "plain": plain,
                           "tls_over_plain": tls["mb_per_s"] / plain["mb_per_s"]}
    benchlib.write_results("round_overhead", prov, results)


if __name__ == "__main__":
    main()
