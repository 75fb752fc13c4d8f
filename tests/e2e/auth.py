"""Node authentication while a run is in progress: a node certificate from
another CA, a revoked credential, a node revoked online through the API,
and a node that cannot verify the server's certificate are all refused
with a logged reason (the refused nodes exit instead of retrying); the
running run is not affected and finishes with every round. Then runs are
cancelled (queued and running) and deleted through the API."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
ROUNDS = 14
task = quick_task(3, rounds=ROUNDS, deploy={"min_nodes": 3, "min_updates": 1})

with Cluster(FEDC, tls=True, name="auth") as c:
    c.start_server()
    run_id = c.create_run(task)
    for k in range(3):
        c.start_node(f"n{k}", f"fmnist:partition={k}/3", "--delay", "0.4")
    c.wait("round 1", lambda: len(c.rounds(run_id)) >= 1, 120)

    # Another CA's node credential; with our CA appended so the node trusts
    # the server and the refusal comes from the server's check.
    other = os.path.join(c.dir, "other-ca")
    subprocess.run([FEDC, "certs", "init", other], check=True, capture_output=True, timeout=30)
    foreign = os.path.join(c.dir, "foreign.pem")
    subprocess.run([FEDC, "certs", "issue-node", other, "--name", "intruder", "--out", foreign], check=True,
                   capture_output=True, timeout=30)
    pem = open(foreign).read()
    ca_ours = open(os.path.join(c.state, "certs", "ca.crt")).read()
    ca_other = open(os.path.join(other, "ca.crt")).read()
    mixed = os.path.join(c.dir, "mixed.pem")
    with open(mixed, "w") as f:
        f.write(pem.replace(ca_other, ca_ours))
    os.chmod(mixed, 0o600)
    p = c.start_node("intruder", "fmnist:partition=0/3", credential=mixed)
    assert p.wait(timeout=60) == 1, "a node with another CA's certificate was not refused"
    assert "node certificate refused" in c.node_log("intruder"), c.node_log("intruder")

    # The foreign credential as issued (its own CA): the node cannot verify
    # the server's certificate, so the TLS connection itself fails.
    p = c.start_node("wrong-ca", "fmnist:partition=0/3", "--max-attempts", "2", credential=foreign)
    assert p.wait(timeout=60) == 1
    assert "giving up" in c.node_log("wrong-ca"), c.node_log("wrong-ca")

    # A revoked credential (revoked with the CLI while the server runs).
    cred = c.issue("revoked")
    out = subprocess.run([FEDC, "certs", "revoke", os.path.join(c.state, "certs"), "revoked"], check=True,
                         capture_output=True, text=True, timeout=30)
    assert "revoked" in out.stdout
    p = c.start_node("revoked", "fmnist:partition=0/3", credential=cred)
    assert p.wait(timeout=60) == 1
    assert "is revoked" in c.node_log("revoked"), c.node_log("revoked")

    # An online node revoked through the API is disconnected and stops.
    st, nodes = c.api("GET", "/api/nodes")
    n2 = next(n for n in nodes["nodes"] if n["name"] == "n2")
    st, body = c.api("POST", f"/api/nodes/{n2['id']}/revoke")
    assert st == 200 and body["status"] == "revoked", body
    assert c.nodes["n2"].wait(timeout=60) == 1
    assert "is revoked" in c.node_log("n2")
    # A wrong admin token is refused like none.
    good = c.token
    c.token = "x" * 64
    st, _ = c.api("GET", "/api/nodes")
    c.token = good
    assert st == 401

    run = c.wait_run_end(run_id, 300)
    assert run["status"] == "done" and run["rounds_done"] == ROUNDS, run
    rounds = c.rounds(run_id)
    assert [r["round"] for r in rounds] == list(range(1, ROUNDS + 1))
    assert all(r["participants"] >= 2 and r["rejected"] == 0 for r in rounds), rounds
    log = c.read_server_log()
    for why in ("node certificate refused", "is revoked"):
        assert why in log, f"server log lacks '{why}'"
    print(f"participants per round: {[r['participants'] for r in rounds]}")

    # Cancelling: a queued run at once, a running one within its round; a
    # running run cannot be deleted, an ended one can.
    long_task = quick_task(3, rounds=200, deploy={"min_nodes": 2, "min_updates": 1})
    running = c.create_run(long_task)
    queued = c.create_run(long_task)
    c.wait("the long run's first round", lambda: len(c.rounds(running)) >= 1, 120)
    st, body = c.api("DELETE", f"/api/runs/{running}")
    assert st == 409, (st, body)
    st, body = c.api("POST", f"/api/runs/{queued}/cancel")
    assert st == 200 and body["status"] == "cancelled", body
    assert c.run(queued)["status"] == "cancelled"
    st, body = c.api("POST", f"/api/runs/{running}/cancel")
    assert st == 200, body
    run = c.wait_run_end(running, 60)
    assert run["status"] == "cancelled" and 1 <= run["rounds_done"] < 200, run
    assert len(c.rounds(running)) == run["rounds_done"]
    st, model = c.api("GET", f"/api/runs/{running}/model", raw=True)
    assert st == 200 and len(model) > 100000
    st, body = c.api("POST", f"/api/runs/{running}/cancel")
    assert st == 409, body
    st, body = c.api("DELETE", f"/api/runs/{running}")
    assert st == 200, body
    st, body = c.api("GET", f"/api/runs/{running}")
    assert st == 404, body
    print(f"cancelled after {run['rounds_done']} rounds; deleted")
print("ok")
