"""Shared helpers of the deployment end-to-end tests: a `fedc server` and
`fedc node` processes on loopback, the REST API, bounded waits.

Every wait has a deadline; every process started is stopped at the end
(Cluster is a context manager), also when an assertion fails."""
import json
import os
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


class Cluster:
    def __init__(self, fedc, tls=True, name="e2e"):
        self.fedc = fedc
        self.tls = tls
        self._tmp = tempfile.TemporaryDirectory(prefix=f"fedc-{name}-")
        self.dir = self._tmp.name
        self.state = os.path.join(self.dir, "state")
        self.server = None
        self.server_log = os.path.join(self.dir, "server.log")
        self.nodes = {}
        self.port = None
        self.token = None

    # ---- processes ----
    def start_server(self, *args, wrapper=(), timeout=60, env=None):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = list(wrapper) + [self.fedc, "server", "--state", self.state, "--listen", "127.0.0.1:0",
                               "--port-file", port_file]
        if self.port:  # a restart keeps its port, so nodes find it again
            cmd[cmd.index("127.0.0.1:0")] = f"127.0.0.1:{self.port}"
        if not self.tls:
            cmd.append("--insecure")
        cmd += list(args)
        log = open(self.server_log, "a")
        self.server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(env))
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise AssertionError(f"server exited with {self.server.returncode}:\n{self.read_server_log()}")
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read())
                break
            time.sleep(0.05)
        else:
            raise AssertionError("server did not start in time:\n" + self.read_server_log())
        self.token = open(os.path.join(self.state, "admin-token")).read().strip()
        return self.server

    def kill_server(self, sig=signal.SIGKILL):
        if self.server and self.server.poll() is None:
            self.server.send_signal(sig)
            self.server.wait(timeout=120)
        return self.server.returncode if self.server else None

    def issue(self, name):
        path = os.path.join(self.dir, f"{name}.pem")
        if not os.path.exists(path):
            subprocess.run([self.fedc, "certs", "issue-node", os.path.join(self.state, "certs"), "--name", name,
                            "--out", path], check=True, capture_output=True, timeout=30)
        return path

    def node_url(self):
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def start_node(self, name, data, *extra, credential=None, env=None):
        cred = credential or self.issue(name)
        log = open(os.path.join(self.dir, f"{name}.log"), "a")
        # FEDC_E2E_NODE: another fedc for the nodes (e.g. to run a new node's
        # hostile modes against an older server).
        p = subprocess.Popen([os.environ.get("FEDC_E2E_NODE", self.fedc), "node", "--server", self.node_url(), "--credential", cred, "--data", data,
                              "--max-backoff", "1"] + list(extra), stdout=log, stderr=subprocess.STDOUT,
                             env=self._env(env))
        log.close()
        self.nodes[name] = p
        return p

    def node_log(self, name):
        return open(os.path.join(self.dir, f"{name}.log")).read()

    def read_server_log(self):
        return open(self.server_log, errors="replace").read() if os.path.exists(self.server_log) else ""

    def _env(self, extra=None):
        env = dict(os.environ)
        env["OPENBLAS_NUM_THREADS"] = "1"
        env.update(extra or {})
        return env

    def stop_all(self):
        for p in self.nodes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.nodes.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        if os.environ.get("FEDC_E2E_KEEP_LOG"):
            with open(os.environ["FEDC_E2E_KEEP_LOG"], "w") as f:
                f.write(self.read_server_log())
        if exc[0] is not None:
            print("---- server log ----\n" + self.read_server_log()[-6000:])
            for name in self.nodes:
                print(f"---- {name} log ----\n" + self.node_log(name)[-1500:])
        self._tmp.cleanup()
        return False

    # ---- REST ----
    def _ctx(self):
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=os.path.join(self.state, "certs", "ca.crt"))

    def api(self, method, path, body=None, token=True, raw=False, headers=None):
        url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self._ctx(), timeout=30) as r:
                payload = r.read()
                return r.status, payload if raw else json.loads(payload or b"null")
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                return e.code, json.loads(payload)
            except ValueError:
                return e.code, payload

    def create_run(self, task):
        st, run = self.api("POST", "/api/runs", task)
        assert st == 201, f"POST /api/runs: {st} {run}"
        return run["id"]

    def run(self, run_id):
        st, run = self.api("GET", f"/api/runs/{run_id}")
        assert st == 200, f"GET run: {st} {run}"
        return run

    def rounds(self, run_id):
        st, r = self.api("GET", f"/api/runs/{run_id}/rounds")
        assert st == 200, f"GET rounds: {st} {r}"
        return r["rounds"]

    def wait(self, what, pred, timeout):
        """Polls pred() until it returns a true value; fails after timeout seconds."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = pred()
            if last:
                return last
            if self.server and self.server.poll() is not None:
                raise AssertionError(f"server exited ({self.server.returncode}) while waiting for {what}")
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last})")

    def wait_run_end(self, run_id, timeout):
        return self.wait(f"run {run_id} to end",
                         lambda: (lambda r: r if r["status"] not in ("queued", "running") else None)(self.run(run_id)),
                         timeout)


def simulate(c, name, task, *extra):
    """Runs `fedc sim` on task in the cluster's folder (as NAME.json, out NAME/) and returns its
    metrics rows: the reference a deployment is compared with round by round."""
    task_file = os.path.join(c.dir, name + ".json")
    json.dump(task, open(task_file, "w"))
    out = os.path.join(c.dir, name)
    subprocess.run([c.fedc, "sim", task_file, "--quiet", "--threads", "2", "--out", out] + list(extra), check=True,
                   timeout=300)
    return [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]


def deploy_on_partitions(c, task, n, rounds):
    """Creates a run of task, starts n nodes on Fashion-MNIST partitions 0..n-1 of n, waits for
    the run to finish all its rounds and returns (run_id, its rounds from REST)."""
    run_id = c.create_run(task)
    for k in range(n):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{n}")
    run = c.wait_run_end(run_id, 480)
    assert run["status"] == "done" and run["rounds_done"] == rounds, run
    dep = c.rounds(run_id)
    assert [r["round"] for r in dep] == list(range(1, rounds + 1)), dep
    return run_id, dep


def check_decentral_metrics(c, run_id, dep, sim):
    """A relayed deployment's decentralised figures equal the simulation's, round by round:
    the run's metrics export is written like `fedc sim`'s metrics.jsonl (consensus distance,
    bytes per node, node accuracies exact), and REST /rounds carries the stored doubles. Returns
    the deployment's consensus distances."""
    st, body = c.api("GET", f"/api/runs/{run_id}/metrics.jsonl", raw=True)
    assert st == 200, (st, body)
    exported = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
    assert len(exported) == len(sim) == len(dep), (len(exported), len(sim), len(dep))
    for e, d, s in zip(exported, dep, sim):
        assert e["nodes"] == d["nodes"] == s["nodes"], (e, d, s)
        assert e["consensus_distance"] == s["consensus_distance"], \
            f"round {e['round']}: consensus_distance {e['consensus_distance']} vs sim {s['consensus_distance']}"
        assert s["consensus_distance"] > 0, s
        assert abs(d["consensus_distance"] - s["consensus_distance"]) <= 5e-10 + 1e-8 * s["consensus_distance"], (d, s)
        assert e["bytes_per_node"] == s["bytes_per_node"] and abs(d["bytes_per_node"] - s["bytes_per_node"]) <= 0.1
        assert e.get("node_accuracy") == s.get("node_accuracy"), (e, s)
        assert len(d.get("node_accuracy") or []) == len(s.get("node_accuracy") or []), (d, s)
    return [d["consensus_distance"] for d in dep]


def quick_task(clients, rounds=3, **extra):
    """The small examples/quick.json-like task used by the tests."""
    task = {
        "name": "e2e",
        "dataset": {"name": "fashion-mnist"},
        "model": "mlp",
        "rounds": rounds,
        "clients": clients,
        "clients_per_round": clients,
        "partition": {"kind": "dirichlet", "alpha": 0.5},
        "local": {"epochs": 1, "batch": 32, "max_steps": 20, "lr": 0.05},
        # Deadlines only bound how long a run waits; on a busy machine nodes load
        # their data slowly, so they are generous (deadline tests set their own).
        "deploy": {"min_nodes": clients, "min_updates": 1, "round_timeout_s": 300, "connect_timeout_s": 300},
        "seed": 42,
    }
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(task.get(k), dict):
            task[k].update(v)
        else:
            task[k] = v
    return task
