"""Two of 8 nodes are killed (SIGKILL) in the middle of a round: the round
completes with the other six (the two slots are released as soon as their
connections drop, not at the round deadline); one killed node restarted
with its credential rejoins under the same node id and client slot and
trains again in a later round."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N = 8
# Enough rounds after the kill for the restarted node to load its data and
# rejoin before the run ends, also on a busy machine.
ROUNDS = 40
task = quick_task(N, rounds=ROUNDS, deploy={"min_updates": 4, "round_timeout_s": 600})

with Cluster(FEDC, tls=True, name="kill") as c:
    c.start_server()
    run_id = c.create_run(task)
    for k in range(N):
        # Nodes 6 and 7 hold on to their update for a while, so they are
        # certainly mid-round when they are killed; the others take half a
        # second per round, so the run is still going when node 6 returns.
        extra = ["--delay", "4"] if k >= 6 else ["--delay", "0.5"]
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", *extra)
    c.wait("round 1", lambda: len(c.rounds(run_id)) >= 1, 120)
    time.sleep(1.5)  # round 2 is under way: models sent, nodes 6 and 7 holding their updates
    assert len(c.rounds(run_id)) == 1, "round 2 ended before the kill; the delay is too short"
    for k in (6, 7):
        c.nodes[f"n{k}"].send_signal(signal.SIGKILL)
        c.nodes[f"n{k}"].wait(timeout=10)
    r2 = c.wait("round 2", lambda: (lambda r: r[1] if len(r) >= 2 else None)(c.rounds(run_id)), 120)
    assert r2["participants"] == 6 and r2["dropped"] == 2, r2
    st, p = c.api("GET", f"/api/runs/{run_id}/participation?round=2")
    dropped = [x for x in p["participation"] if x["status"] == "dropped"]
    assert sorted(x["slot"] for x in dropped) == [6, 7], dropped
    # Released because the connection dropped, not because the deadline passed.
    assert all("disconnected" in x["reason"] for x in dropped), dropped

    st, nodes = c.api("GET", "/api/nodes")
    n6 = next(n for n in nodes["nodes"] if n["name"] == "n6")
    assert n6["status"] == "offline", n6

    # The restarted node rejoins with the same id and slot.
    c.start_node("n6", f"fmnist:partition=6/{N}")
    c.wait("n6 online", lambda: next(n for n in c.api("GET", "/api/nodes")[1]["nodes"]
                                     if n["name"] == "n6")["status"] == "online", 60)
    run = c.wait_run_end(run_id, 300)
    assert run["status"] == "done" and run["rounds_done"] == ROUNDS, run
    st, p = c.api("GET", f"/api/runs/{run_id}/participation")
    back = [x for x in p["participation"] if x["node"] == n6["id"] and x["round"] > 2 and x["status"] == "ok"]
    assert back and all(x["slot"] == 6 for x in back), p
    st, nodes = c.api("GET", "/api/nodes")
    assert sum(1 for n in nodes["nodes"] if n["name"] == "n6") == 1 and \
        next(n for n in nodes["nodes"] if n["name"] == "n6")["id"] == n6["id"]
    rounds = c.rounds(run_id)
    assert [r["round"] for r in rounds] == list(range(1, ROUNDS + 1))
    print(f"rounds participants: {[r['participants'] for r in rounds]}, dropped: {[r['dropped'] for r in rounds]}")
print("ok")
