"""kill -9 of the server at random points, --kills times in a loop (20 for
the standing suite): mid-round, mid-checkpoint, mid-commit, while nodes
reconnect, while a run resumes. Each time the server is restarted on the
same state directory and the nodes find it again by themselves. The
checker: the run ends with every round exactly once and metrics (accuracy,
loss, bytes each way, participants) equal to an uninterrupted run of the
same task: no round lost, duplicated or changed. The kill times come from
a seeded generator (FEDC_FAULTS_SEED), so a failure can be replayed."""
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import Cluster, arg_int, lost_rounds, record, sim_baseline, small_task  # noqa: E402

FEDC = sys.argv[1]
KILLS = arg_int("kills", 3)
N = 3
ROUNDS = 4 + 3 * KILLS
rng = random.Random(int(os.environ.get("FEDC_FAULTS_SEED", "15")))

task = small_task(N, ROUNDS, deploy={"connect_timeout_s": 120})
with Cluster(FEDC, tls=True, name="kill9") as c:
    baseline = sim_baseline(FEDC, task, os.path.join(c.dir, "baseline"))
    c.start_server()
    run_id = c.create_run(task)
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", "0.1")
    points = []
    survived = 0
    committed = 0
    for kill in range(KILLS):
        # Rounds are flowing (one more committed since the last restart),
        # then a random moment within the next round or two.
        committed = c.wait(f"a round after restart {kill}", lambda: (lambda n: n if n > committed else None)(
            len(c.rounds(run_id))), 180)
        wait = rng.uniform(0.0, 1.0)
        time.sleep(wait)
        assert c.kill_server(signal.SIGKILL) == -signal.SIGKILL, "the server was not running"
        points.append({"after_round": committed, "plus_s": round(wait, 2)})
        c.start_server()
        run = c.run(run_id)
        assert run["status"] in ("running", "queued"), run
        survived += 1
        print(f"kill {kill + 1}: {wait:.2f} s after round {committed} was committed; restarted, "
              f"{run['rounds_done']} rounds kept")
        committed = run["rounds_done"]
    run = c.wait_run_end(run_id, 600)
    assert run["status"] == "done", run
    rounds = c.rounds(run_id)
    lost = lost_rounds(rounds, baseline)
    assert [r["round"] for r in rounds] == list(range(1, ROUNDS + 1)), [r["round"] for r in rounds]
    assert rounds[-1]["bytes_down_total"] == sum(r["bytes_down"] for r in rounds)
    assert run["bytes_down"] == rounds[-1]["bytes_down_total"], run
    st, p = c.api("GET", f"/api/runs/{run_id}/participation")
    assert len(p["participation"]) == ROUNDS * N, len(p["participation"])
    record("server kill -9", KILLS, survived, lost, kill_points=points)
    assert lost == 0, f"{lost} rounds lost or different from the uninterrupted run"
print("ok")
