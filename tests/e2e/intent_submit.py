"""`fedc intent "..." --run --server URL`: the derived task is submitted to a
running server over its REST API (TLS, admin token, the server's CA) and
appears there as a run with the request's settings; a wrong token is
refused with the server's reason and creates nothing."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster  # noqa: E402

FEDC = sys.argv[1]
REQUEST = "train an mlp on fashion-mnist over 3 clients, all of them each round, for 2 rounds, seed 5"

with Cluster(FEDC, tls=True, name="intent-submit") as c:
    c.start_server()
    url = f"https://127.0.0.1:{c.port}"
    ca = os.path.join(c.state, "certs", "ca.crt")
    p = subprocess.run([FEDC, "intent", REQUEST, "--run", "--server", url, "--token", c.token, "--cacert", ca],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"submit failed ({p.returncode}): {p.stderr}"
    line = [l for l in p.stdout.splitlines() if l.startswith("submitted: run ")]
    assert line, f"no 'submitted' line in:\n{p.stdout}"
    run_id = int(line[0].split()[2])
    st, run = c.api("GET", f"/api/runs/{run_id}")
    assert st == 200, (st, run)
    task = run["task"]
    assert task["clients"] == 3 and task["clients_per_round"] == 3 and task["rounds"] == 2, task
    assert task["model"] == "mlp" and task["seed"] == 5, task

    bad = subprocess.run([FEDC, "intent", REQUEST, "--run", "--server", url, "--token", "wrong", "--cacert", ca],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "401" in bad.stderr, (bad.returncode, bad.stderr)
    st, runs = c.api("GET", "/api/runs")
    assert runs["total"] == 1, runs
print("intent --run --server: run submitted with the request's settings; wrong token refused")
print("1 passed, 0 failed")
