"""A run whose deploy.min_nodes is 1 (the form's default) trains on every idle
node from round 1: once the floor is met, a round waits (at most 10 s) for
the run's connected nodes that are still setting up the task, until
clients_per_round of them are ready. Before, round 1 ran with the first node
to finish setting up alone ("1/1 updates") while the others were a moment away."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N = 3
task = quick_task(N, rounds=2, deploy={"min_nodes": 1})

with Cluster(FEDC, tls=True, name="gather") as c:
    c.start_server()
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}")
    c.wait("3 idle nodes", lambda: sum(1 for n in c.api("GET", "/api/nodes")[1]["nodes"]
                                      if n["status"] == "online") == N, 120)
    run_id = c.create_run(task)
    run = c.wait_run_end(run_id, 300)
    assert run["status"] == "done", run
    participants = [r["participants"] for r in c.rounds(run_id)]
    assert participants == [N, N], f"participants per round {participants}, expected every idle node: {[N, N]}"
    print(f"participants per round {participants} with min_nodes 1 and {N} idle nodes")
