"""SCAFFOLD over TLS: a server and 4 node processes, each node keeping its client
state in its own --state folder. Node n0 is killed (SIGKILL) in the middle of round 2,
after it trained but before its update left; the round fails for want of updates
(deploy.min_updates = 4) and the server runs it again once n0 is back. The restarted n0
restores its control variate from its state folder, and every node that had already
trained round 2 starts the re-run from the state it had before. The deployment then
equals the simulation of the same task round by round: accuracy, loss and bytes. The
upload carries the control-variate change beside the model delta: about twice FedAvg's."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N = 4
ROUNDS = 4
task = quick_task(N, rounds=ROUNDS, strategy={"name": "scaffold"},
                  deploy={"min_updates": N, "round_timeout_s": 60, "connect_timeout_s": 120})

with Cluster(FEDC, tls=True, name="scaffold") as c:
    c.start_server()
    task_file = os.path.join(c.dir, "task.json")
    json.dump(task, open(task_file, "w"))
    sim_dir = os.path.join(c.dir, "sim")
    subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--out", sim_dir], check=True, timeout=300)
    sim = [json.loads(l) for l in open(os.path.join(sim_dir, "metrics.jsonl"))]
    fedavg_dir = os.path.join(c.dir, "sim-fedavg")
    json.dump(dict(task, strategy={"name": "fedavg"}), open(task_file, "w"))
    subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--set", "rounds=1", "--out", fedavg_dir],
                   check=True, timeout=300)
    fedavg = [json.loads(l) for l in open(os.path.join(fedavg_dir, "metrics.jsonl"))]
    ratio = sim[0]["bytes_up"] / fedavg[0]["bytes_up"]
    assert 1.95 < ratio < 2.05, f"SCAFFOLD uploads {ratio:.3f}x FedAvg's bytes"

    run_id = c.create_run(task)
    states = {k: os.path.join(c.dir, f"state-n{k}") for k in range(N)}
    # n0 holds each update for 3 s after training, so it is surely mid-round when killed.
    c.start_node("n0", f"fmnist:partition=0/{N}", "--state", states[0], "--delay", "3")
    for k in range(1, N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--state", states[k])
    c.wait("round 1", lambda: len(c.rounds(run_id)) >= 1, 120)
    time.sleep(1.0)  # round 2: everyone has trained, n0 is holding its update
    assert len(c.rounds(run_id)) == 1, "round 2 ended before the kill"
    saved = [f for f in os.listdir(states[0]) if f.startswith("client-state-run")]
    assert saved, "n0 saved no client state"
    c.nodes["n0"].send_signal(signal.SIGKILL)
    c.nodes["n0"].wait(timeout=10)
    c.wait("round 2 to fail for want of n0's update",
           lambda: "3 of 4 participants returned a usable update" in c.read_server_log(), 60)
    c.start_node("n0", f"fmnist:partition=0/{N}", "--state", states[0])
    run = c.wait_run_end(run_id, 300)
    assert run["status"] == "done" and run["rounds_done"] == ROUNDS, run
    assert "client state restored" in c.node_log("n0"), c.node_log("n0")[-2000:]
    dep = c.rounds(run_id)
    assert [r["round"] for r in dep] == list(range(1, ROUNDS + 1)), dep
    for d, s in zip(dep, sim):
        assert d["participants"] == s["participants"] == N, (d, s)
        assert abs(d["accuracy"] - s["accuracy"]) < 1e-6, f"round {d['round']}: {d['accuracy']} vs sim {s['accuracy']}"
        assert abs(d["loss"] - s["loss"]) < 1e-5, (d["loss"], s["loss"])
        assert d["bytes_down"] == s["bytes_down"] and d["bytes_up"] == s["bytes_up"], (d, s)
    print(f"SCAFFOLD deployment with a node restarted mid-run matches sim: {[r['accuracy'] for r in dep]}; "
          f"upload {ratio:.3f}x FedAvg")
    # The run is over: the nodes drop its state files.
    c.wait("state files removed", lambda: not any(f.startswith("client-state-run") for k in range(N)
                                                  for f in os.listdir(states[k])), 30)
print("ok")
