"""Server + 8 node processes over TLS on loopback: a short run completes,
and since every node holds exactly the Fashion-MNIST partition that
`fedc sim` gives its client and runs the same trainer, the deployment's
per-round accuracy, loss and byte counts equal the simulation's. Also
checks the REST API's views of the run (rounds, participation, nodes,
downloads) and that it refuses unauthenticated requests."""
import csv
import io
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N = 8
task = quick_task(N, rounds=3)

with Cluster(FEDC, tls=True, name="tls") as c:
    c.start_server()
    # The same task simulated in one process.
    task_file = os.path.join(c.dir, "task.json")
    json.dump(task, open(task_file, "w"))
    sim_dir = os.path.join(c.dir, "sim")
    sim_csv = os.path.join(c.dir, "sim.csv")
    subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--out", sim_dir, "--csv", sim_csv],
                   check=True, timeout=300)
    sim = [json.loads(l) for l in open(os.path.join(sim_dir, "metrics.jsonl"))]

    # Unauthenticated requests are refused.
    st, body = c.api("GET", "/api/runs", token=False)
    assert st == 401, f"unauthenticated GET /api/runs gave {st}"
    st, _ = c.api("POST", "/api/runs", task, token=False)
    assert st == 401

    # An invalid task is refused with the validator's per-field issues.
    st, body = c.api("POST", "/api/runs", dict(task, local={"lr": -1}))
    assert st == 400 and body["issues"] and body["issues"][0]["path"] == "local.lr", body

    run_id = c.create_run(task)
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}")
    run = c.wait_run_end(run_id, 240)
    assert run["status"] == "done", run
    assert run["rounds_done"] == 3, run
    dep = c.rounds(run_id)
    assert [r["round"] for r in dep] == [1, 2, 3], dep
    for d, s in zip(dep, sim):
        assert d["participants"] == s["participants"] == N, (d, s)
        # Same partitions, same trainer, same aggregation order: identical.
        assert abs(d["accuracy"] - s["accuracy"]) < 1e-6, f"round {d['round']}: {d['accuracy']} vs sim {s['accuracy']}"
        assert abs(d["loss"] - s["loss"]) < 1e-5, (d["loss"], s["loss"])
        # Bytes are counted per WebSocket frame, headers included, like the simulation.
        assert d["bytes_down"] == s["bytes_down"] and d["bytes_up"] == s["bytes_up"], (d, s)
    print(f"deployment matches sim: accuracy {[r['accuracy'] for r in dep]}")

    # Participation: every node took part in every round, all updates accepted.
    st, p = c.api("GET", f"/api/runs/{run_id}/participation")
    assert st == 200 and len(p["participation"]) == 3 * N, p
    assert all(x["status"] == "ok" and x["node"] and x["bytes_up"] > 0 for x in p["participation"]), p
    # Node k holds slot k (its partition), as in the simulation.
    names = {x["slot"]: x["node_name"] for x in p["participation"]}
    assert names == {k: f"n{k}" for k in range(N)}, names
    st, rn = c.api("GET", f"/api/runs/{run_id}/nodes")
    assert st == 200 and len(rn["nodes"]) == N and all(x["ok"] == 3 for x in rn["nodes"]), rn
    st, nodes = c.api("GET", "/api/nodes")
    assert st == 200 and len(nodes["nodes"]) == N
    assert all(n["status"] == "online" and n["resources"]["samples_per_s"] > 0 for n in nodes["nodes"]), nodes

    # Downloads: the model (safetensors), metrics (CSV and JSONL), the task.
    st, model = c.api("GET", f"/api/runs/{run_id}/model", raw=True)
    assert st == 200
    hlen = struct.unpack("<Q", model[:8])[0]
    header = json.loads(model[8:8 + hlen])
    floats = sum(v["data_offsets"][1] - v["data_offsets"][0] for k, v in header.items() if k != "__metadata__") // 4
    assert floats == 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10, floats
    assert len(model) == 8 + hlen + floats * 4
    st, text = c.api("GET", f"/api/runs/{run_id}/metrics.csv", raw=True)
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    sim_rows = list(csv.DictReader(open(sim_csv)))
    assert len(rows) == 3 and list(rows[0].keys()) == list(sim_rows[0].keys())
    for a, b in zip(rows, sim_rows):
        for col in ("round", "accuracy", "loss", "bytes_down", "bytes_up", "participants"):
            assert a[col] == b[col], (col, a[col], b[col])
    st, text = c.api("GET", f"/api/runs/{run_id}/metrics.jsonl", raw=True)
    assert [json.loads(l)["round"] for l in text.decode().splitlines()] == [1, 2, 3]
    st, t = c.api("GET", f"/api/runs/{run_id}/task")
    assert st == 200 and t["clients"] == N and t["seed"] == 42
print("ok")
