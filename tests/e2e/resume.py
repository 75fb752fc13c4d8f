"""The server is killed with SIGKILL in the middle of a run and restarted
with the same state directory: the run resumes from its last checkpoint
(the nodes reconnect by themselves) and finishes with exactly the right
rounds -- none lost, none counted twice, the rounds recorded before the
kill unchanged and the byte totals consistent."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N, ROUNDS = 4, 10

with Cluster(FEDC, tls=True, name="resume") as c:
    c.start_server()
    run_id = c.create_run(quick_task(N, rounds=ROUNDS))
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", "0.3")
    c.wait("round 3", lambda: len(c.rounds(run_id)) >= 3, 120)
    time.sleep(0.15)  # most likely mid-round now
    before = c.rounds(run_id)
    assert c.kill_server(signal.SIGKILL) == -signal.SIGKILL
    print(f"killed after round {len(before)}")

    c.start_server()
    run = c.wait_run_end(run_id, 300)
    assert run["status"] == "done" and run["rounds_done"] == ROUNDS, run
    rounds = c.rounds(run_id)
    assert [r["round"] for r in rounds] == list(range(1, ROUNDS + 1)), [r["round"] for r in rounds]
    # Rounds committed before the kill are kept as they were.
    for a, b in zip(before, rounds):
        assert a == b, (a, b)
    # Totals are the sums of the rounds: nothing counted twice.
    assert rounds[-1]["bytes_down_total"] == sum(r["bytes_down"] for r in rounds)
    assert rounds[-1]["bytes_up_total"] == sum(r["bytes_up"] for r in rounds)
    assert run["bytes_down"] == rounds[-1]["bytes_down_total"], run
    st, p = c.api("GET", f"/api/runs/{run_id}/participation")
    assert len(p["participation"]) == ROUNDS * N, len(p["participation"])
    assert "resumed from round" in c.read_server_log()
    st, model = c.api("GET", f"/api/runs/{run_id}/model", raw=True)
    assert st == 200 and len(model) > 100000
    print(f"resumed and finished: accuracy {[round(r['accuracy'], 4) for r in rounds]}")
print("ok")
