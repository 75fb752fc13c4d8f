"""`fedc node --load-gen N`: one process holds N authenticated TLS node
connections, each answering every TRAIN with the model unchanged. A server
runs 3 rounds with all 50 of them in every round: each round aggregates 50
updates from 50 distinct nodes, the model never changes (every update is
zero), and the server lists 50 connected nodes. Bad uses are refused with a
clear message (too few credentials, --data with --load-gen). Loopback only;
bench/bench_connections.py runs the 1,000-connection figures."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N = 50

with Cluster(FEDC, tls=True, name="loadgen") as c:
    c.start_server("--max-unauth-per-address", "1000", "--threads", "2")
    creds = os.path.join(c.dir, "creds")
    os.makedirs(creds)
    # Enrolled through the REST API (one request each), as the web app does.
    for k in range(N):
        st, body = c.api("POST", "/api/nodes", {"name": f"lg{k:03d}"})
        assert st == 201, (st, body)
        with open(os.path.join(creds, f"lg{k:03d}.pem"), "w") as f:
            f.write(body["credential"])

    # Refusals, before any connection is made.
    p = subprocess.run([FEDC, "node", "--load-gen", str(N + 1), "--server", c.node_url(), "--credential", creds],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and f"holds {N} credential files" in p.stderr, p.stderr
    p = subprocess.run([FEDC, "node", "--load-gen", "2", "--server", c.node_url(), "--credential", creds, "--data",
                        "fmnist:partition=0/2"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--data" in p.stderr, p.stderr

    task = quick_task(N, rounds=3, name="loadgen", model="dense:10", eval_every=1,
                      deploy={"min_nodes": N, "min_updates": N})
    run_id = c.create_run(task)
    log = open(os.path.join(c.dir, "loadgen.log"), "w")
    gen = subprocess.Popen([FEDC, "node", "--load-gen", str(N), "--server", c.node_url(), "--credential", creds,
                            "--max-backoff", "1", "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT)
    try:
        r = c.wait_run_end(run_id, 400)
        assert r["status"] == "done" and r["rounds_done"] == 3, r
        rounds = c.rounds(run_id)
        assert [x["participants"] for x in rounds] == [N] * 3, rounds
        st, p = c.api("GET", f"/api/runs/{run_id}/participation")
        assert st == 200, p
        for rnd in (1, 2, 3):
            ok = {x["node"] for x in p["participation"] if x["round"] == rnd and x["status"] == "ok"}
            assert len(ok) == N, (rnd, len(ok))
        st, nodes = c.api("GET", "/api/nodes")
        online = [n for n in nodes["nodes"] if n.get("status") == "online"]
        assert len(online) == N, nodes
        # Every update was the model itself (a zero delta): the global model
        # never moved, so every round scores exactly the same.
        assert all(x["evaluated"] for x in rounds), rounds
        assert len({(x["accuracy"], x["loss"]) for x in rounds}) == 1, rounds
    finally:
        gen.send_signal(signal.SIGTERM)
        try:
            rc = gen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            gen.kill()
            rc = gen.wait()
        log.close()
    out = open(os.path.join(c.dir, "loadgen.log")).read()
    assert rc == 0, (rc, out[-3000:])
print("load_gen: ok")
