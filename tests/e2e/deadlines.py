"""No wait is unbounded. A run whose nodes never come fails once
deploy.connect_timeout_s has passed, with the reason. In a run with a slow
node (its updates arrive after the round deadline) and a node that stops
dead (SIGSTOP: connected but silent), every round ends at
deploy.round_timeout_s with those two dropped for missing the deadline; the
slow node's late updates are dropped, not refused, so it is never flagged.
(The deadline for a new connection to authenticate is in hostile.py.)"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]

with Cluster(FEDC, tls=True, name="deadlines") as c:
    c.start_server()
    lonely = c.create_run(quick_task(2, rounds=2, deploy={"min_nodes": 2, "connect_timeout_s": 2}))
    run = c.wait_run_end(lonely, 60)
    assert run["status"] == "failed", run
    assert "only 0 of the 2 nodes needed" in run["error"] and "connect_timeout_s" in run["error"], run

    ROUNDS = 4
    run_id = c.create_run(quick_task(3, rounds=ROUNDS, deploy={"min_nodes": 3, "min_updates": 1,
                                                                "round_timeout_s": 4}))
    c.start_node("fast", "fmnist:partition=0/3")
    c.start_node("slow", "fmnist:partition=1/3", "--delay", "6")
    c.start_node("frozen", "fmnist:partition=2/3")
    c.wait("round 1", lambda: len(c.rounds(run_id)) >= 1, 120)
    c.nodes["frozen"].send_signal(signal.SIGSTOP)
    try:
        run = c.wait_run_end(run_id, 120)
    finally:
        c.nodes["frozen"].send_signal(signal.SIGCONT)
    assert run["status"] == "done" and run["rounds_done"] == ROUNDS, run
    rounds = c.rounds(run_id)
    assert all(r["rejected"] == 0 for r in rounds), rounds
    st, p = c.api("GET", f"/api/runs/{run_id}/participation")
    by = {}
    for x in p["participation"]:
        by.setdefault(x["node_name"], []).append(x)
    assert all(x["status"] == "ok" for x in by["fast"]), by["fast"]
    assert all(x["status"] == "dropped" and "round deadline" in x["reason"] for x in by["slow"]), by["slow"]
    frozen_later = [x for x in by["frozen"] if x["round"] >= 3]
    # Dropped at the deadline, or (once its socket buffers are full) up front
    # because it reads nothing.
    assert frozen_later and all(x["status"] == "dropped" and ("round deadline" in x["reason"] or
                                                              "not reading" in x["reason"])
                                for x in frozen_later), by["frozen"]
    st, nodes = c.api("GET", "/api/nodes")
    assert not any(n["flagged"] for n in nodes["nodes"]), nodes
    assert "arrived after its round ended; dropped" in c.read_server_log()
    print(f"participants per round: {[r['participants'] for r in rounds]}")
print("ok")
