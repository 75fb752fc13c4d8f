#!/usr/bin/env python3
"""1,000 concurrent TLS node connections to one server: round overhead and
memory over a soak.

`fedc server` (TLS on) on loopback and ONE `fedc node --load-gen N` process
holding N authenticated node connections, each answering every TRAIN with
the model unchanged (no training). First a run of --rounds rounds with all N
nodes in every round: seconds per round (median of the rounds without
evaluation) is the round overhead. Then a soak run of the same nodes for
--minutes minutes (stop.max_wall_s), the server's resident memory sampled
every few seconds from /proc: the figure is its growth from the first to
the last minute (flat memory = no growth beyond noise). The model is small
(dense:10 on Fashion-MNIST, 7,850 parameters): the figures are the
connections' overhead, not the transfer of a large model.

usage: bench/bench_connections.py --build BUILD [--nodes 1000] [--rounds 20] [--minutes 30] [--model dense:10]
Writes bench/results/connections.json.
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


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Server:
    def __init__(self, fedc, tmp):
        self.fedc, self.tmp = fedc, tmp
        self.state = os.path.join(tmp, "state")
        port_file = os.path.join(tmp, "port")
        self.log = open(os.path.join(tmp, "server.log"), "w")
        # A thousand connections arrive at once from one address: the limits
        # against slow or piling-up clients are lifted for them.
        self.proc = subprocess.Popen(
            [fedc, "server", "--state", self.state, "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--log-level", "warn", "--threads", "2", "--hello-timeout", "300", "--header-timeout", "300",
             "--max-unauth-per-address", "100000"], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(1200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        self.port = int(open(port_file).read())
        self.token = open(os.path.join(self.state, "admin-token")).read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.state, "certs", "ca.crt"))

    def api(self, method, path, body=None):
        req = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}",
                                     data=json.dumps(body).encode() if body is not None else None, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, context=self.ctx, timeout=120) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def wait_run(srv, run_id, on_tick=None, poll=1.0):
    while True:
        r = srv.api("GET", f"/api/runs/{run_id}")
        if r["status"] not in ("queued", "running"):
            return r
        if on_tick:
            on_tick(r)
        time.sleep(poll)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--minutes", type=float, default=30.0, help="soak length; 0 skips the soak")
    ap.add_argument("--model", default="dense:10")
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    fedc = os.path.abspath(os.path.join(a.build, "fedc"))
    tmp = tempfile.mkdtemp(prefix="fedc-conns-")
    srv = Server(fedc, tmp)
    gen = None
    result = {"setting": {"nodes": a.nodes, "rounds": a.rounds, "minutes": a.minutes, "model": a.model,
                          "tls": True, "dataset": "fashion-mnist", "load_gen_processes": 1}}
    try:
        creds = os.path.join(tmp, "creds")
        os.makedirs(creds)
        t0 = time.time()
        for k in range(a.nodes):  # enrolled through the REST API, one request each
            pem = srv.api("POST", "/api/nodes", {"name": f"lg{k:05d}"})["credential"]
            with open(os.path.join(creds, f"lg{k:05d}.pem"), "w") as f:
                f.write(pem)
        print(f"{a.nodes} credentials issued in {time.time() - t0:.0f} s", flush=True)

        def task(name, rounds, max_wall_s=0):
            t = {"name": name, "model": a.model, "rounds": rounds, "clients": a.nodes, "clients_per_round": a.nodes,
                 "eval_every": max(rounds, 1),
                 "deploy": {"min_nodes": a.nodes, "min_updates": a.nodes, "round_timeout_s": 600,
                            "connect_timeout_s": 1800}}
            if max_wall_s:
                t["stop"] = {"max_wall_s": max_wall_s}
            return t

        run = srv.api("POST", "/api/runs", task("connections-overhead", a.rounds))
        # The run has loaded its data and model before it waits for nodes:
        # the server's memory then is what the connections add to.
        for _ in range(1200):
            if srv.api("GET", f"/api/runs/{run['id']}")["status"] == "running":
                break
            time.sleep(0.1)
        # "running" is announced before the run loads its data: wait until
        # the server's memory stops growing (3 s unchanged within 1 MB).
        last, steady = rss_kb(srv.proc.pid), 0
        while steady < 3:
            time.sleep(1.0)
            now = rss_kb(srv.proc.pid)
            steady = steady + 1 if abs(now - last) < 1024 else 0
            last = now
        rss_idle = last
        url = f"wss://127.0.0.1:{srv.port}"
        glog = open(os.path.join(tmp, "loadgen.log"), "w")
        gen = subprocess.Popen([fedc, "node", "--load-gen", str(a.nodes), "--server", url, "--credential", creds,
                                "--log-level", "error", "--connect-timeout", "120"], stdout=glog,
                               stderr=subprocess.STDOUT)
        t_conn = time.time()
        first_round = {}

        during = []

        def tick(r):
            if r["rounds_done"] >= 1:
                first_round.setdefault("s", time.time() - t_conn)
                during.append(rss_kb(srv.proc.pid))  # every node connected, rounds going

        r = wait_run(srv, run["id"], tick, poll=0.5)
        if r["status"] != "done":
            raise SystemExit(f"overhead run ended {r['status']}: {r.get('error')}")
        rows = srv.api("GET", f"/api/runs/{run['id']}/rounds")["rounds"]
        inner = [x for x in rows if not x["evaluated"]] or rows
        walls = sorted(x["wall_s"] for x in inner)
        result["overhead"] = {
            "rounds": len(rows), "s_per_round_median": statistics.median(walls), "s_per_round_max": walls[-1],
            "s_per_round_min": walls[0], "participants": [x["participants"] for x in rows],
            "connect_to_first_round_s": first_round.get("s"),
            "server_rss_before_nodes_mb": rss_idle / 1024, "server_rss_connected_mb": statistics.median(during) / 1024 if during else float("nan"),
            "load_gen_rss_mb": rss_kb(gen.pid) / 1024}
        o = result["overhead"]
        print(f"{a.nodes} TLS connections from one load-gen process, model {a.model}: "
              f"{o['s_per_round_median']:.2f} s per round (median of {len(inner)}; min {o['s_per_round_min']:.2f}, "
              f"max {o['s_per_round_max']:.2f}; target < 2 s); server RSS {o['server_rss_before_nodes_mb']:.0f} MB before the nodes, "
              f"{o['server_rss_connected_mb']:.0f} MB with the nodes; load-gen RSS {o['load_gen_rss_mb']:.0f} MB",
              flush=True)
        if a.minutes > 0:
            soak = srv.api("POST", "/api/runs", task("connections-soak", 100000, a.minutes * 60))
            samples = []
            t_soak = time.time()
            cpu0 = cpu_s(srv.proc.pid)

            def sample(r):
                samples.append([round(time.time() - t_soak, 1), rss_kb(srv.proc.pid) / 1024, r["rounds_done"]])

            r = wait_run(srv, soak["id"], sample, poll=5.0)
            if r["status"] != "done":
                raise SystemExit(f"soak run ended {r['status']}: {r.get('error')}")
            dur = time.time() - t_soak
            # Steady state: from the first round on (before it the run loads
            # its data and the nodes join), its first minute against the last.
            t1 = next((s[0] for s in samples if s[2] >= 1), samples[0][0])
            first = [s[1] for s in samples if t1 <= s[0] <= t1 + 60] or [samples[0][1]]
            last = [s[1] for s in samples if s[0] >= dur - 60] or [samples[-1][1]]
            rounds_done = samples[-1][2] if samples else 0
            result["soak"] = {"seconds": dur, "rounds": rounds_done, "steady_from_s": t1,
                              "rss_first_minute_mb": statistics.median(first),
                              "rss_last_minute_mb": statistics.median(last),
                              "growth_mb": statistics.median(last) - statistics.median(first),
                              "rss_max_mb": max(s[1] for s in samples), "server_peak_mb": rss_kb(srv.proc.pid, "VmHWM") / 1024,
                              "server_cpu_s": cpu_s(srv.proc.pid) - cpu0, "samples": samples}
            s = result["soak"]
            print(f"soak {dur / 60:.1f} min, {rounds_done} rounds: server RSS {s['rss_first_minute_mb']:.1f} MB in the "
                  f"first minute, {s['rss_last_minute_mb']:.1f} MB in the last (growth {s['growth_mb']:+.1f} MB), "
                  f"max {s['rss_max_mb']:.1f} MB", flush=True)
    finally:
        if gen:
            gen.send_signal(signal.SIGTERM)
            try:
                gen.wait(timeout=120)
            except subprocess.TimeoutExpired:
                gen.kill()
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("wrote", benchlib.write_results("connections", prov, result))


if __name__ == "__main__":
    main()
