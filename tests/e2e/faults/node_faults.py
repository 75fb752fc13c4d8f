"""Node faults during a run: a node killed (SIGKILL) mid-round, the same
node restarted with its credential, another stalled (SIGSTOP past the
round deadline, then SIGCONT), then all of them stalled at once (the round
fails and is tried again). Each round but the all-stalled one completes with the others (the
killed node's slot is freed when its connection drops; the stalled one is
dropped at the round deadline, its late update dropped without holding it
against the node); the restarted node rejoins in its old slot; every
round is recorded exactly once and nothing is counted twice. The run has
more rounds than the test needs (a node that restarts on a busy machine
takes a while to load its data) and is cancelled once all is seen."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import Cluster, record, small_task, wait_for  # noqa: E402

FEDC = sys.argv[1]
N, ROUNDS = 4, 200
task = small_task(N, ROUNDS, deploy={"min_updates": 2, "round_timeout_s": 4})

with Cluster(FEDC, tls=True, name="nodefaults") as c:
    c.start_server()
    run_id = c.create_run(task)
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", "1.0" if k == 3 else "0.3")
    injected = survived = 0
    # 1. Kill n3 while it holds its update (1 s delay): mid-round.
    wait_for("round 2", lambda: len(c.rounds(run_id)) >= 2, 120, c.server)
    time.sleep(0.5)
    c.nodes["n3"].send_signal(signal.SIGKILL)
    c.nodes["n3"].wait(timeout=10)
    injected += 1
    at = len(c.rounds(run_id))
    r = wait_for("a round without n3", lambda: (lambda rs: rs[at] if len(rs) > at else None)(c.rounds(run_id)), 60,
                 c.server)
    survived += r["participants"] >= 2
    # 2. Restart n3 with its credential (it loads its data meanwhile).
    c.start_node("n3", f"fmnist:partition=3/{N}", "--delay", "0.3")
    injected += 1
    restarted_at = len(c.rounds(run_id))
    # 3. Stall n2 past the round deadline, then let it go on.
    c.nodes["n2"].send_signal(signal.SIGSTOP)
    injected += 1
    at = len(c.rounds(run_id))
    r = wait_for("a round with n2 stalled", lambda: (lambda rs: rs[at] if len(rs) > at else None)(c.rounds(run_id)),
                 60, c.server)
    c.nodes["n2"].send_signal(signal.SIGCONT)
    survived += r["participants"] >= 2

    def n3_back():
        st, p = c.api("GET", f"/api/runs/{run_id}/participation")
        return [x for x in p["participation"] if x["node_name"] == "n3" and x["round"] > restarted_at
                and x["status"] == "ok"]
    back = wait_for("n3 to train again", n3_back, 300, c.server)
    survived += all(x["slot"] == 3 for x in back)
    # 4. Every node stalled past the deadline: the round fails and is tried
    # again (the same round number); the nodes' answers to the earlier try
    # arrive late and are dropped, not taken for replays.
    at = len(c.rounds(run_id))
    for k in range(N):
        c.nodes[f"n{k}"].send_signal(signal.SIGSTOP)
    injected += 1
    wait_for("the stalled round to fail", lambda: "participants returned a usable update" in c.read_server_log(),
             60, c.server)
    for k in range(N):
        c.nodes[f"n{k}"].send_signal(signal.SIGCONT)
    wait_for("a round after the stall", lambda: len(c.rounds(run_id)) > at + 1, 120, c.server)
    survived += "out of order" not in c.read_server_log()
    st, body = c.api("POST", f"/api/runs/{run_id}/cancel")
    assert st == 200, body
    run = c.wait_run_end(run_id, 120)
    assert run["status"] == "cancelled", run
    rounds = c.rounds(run_id)
    assert [x["round"] for x in rounds] == list(range(1, run["rounds_done"] + 1)), rounds
    assert rounds[-1]["bytes_down_total"] == sum(x["bytes_down"] for x in rounds)
    st, p = c.api("GET", f"/api/runs/{run_id}/participation")
    parts = p["participation"]
    # One row per participant picked (a dead node's slot is not picked), none twice.
    assert len(parts) == sum(x["selected"] for x in rounds), len(parts)
    assert len({(x["round"], x["slot"]) for x in parts}) == len(parts)
    st, nodes = c.api("GET", "/api/nodes")
    assert sum(1 for n in nodes["nodes"] if n["name"] == "n3") == 1, nodes
    # Late updates are not held against a node.
    assert not any(n["flagged"] for n in nodes["nodes"]), nodes
    assert sum(1 for x in parts if x["status"] == "dropped") >= 2, parts
    dropped = {x["reason"].split(":")[0] for x in parts if x["status"] == "dropped"}
    lost = run["rounds_done"] - len({x["round"] for x in rounds})
    record("node kill, stall, restart", injected, survived, lost, drop_reasons=sorted(dropped))
    assert survived == injected, (survived, injected)
print("ok")
