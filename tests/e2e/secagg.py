"""SecAgg+ over TLS nodes: the server learns only the sum of the updates,
and that sum is plain FedAvg's, within the 32-bit fixed-point quantisation,
when no node, one node, or 30% of the nodes drop in the middle of the round
protocol. Each scenario runs one round and compares the deployment's model
with that of a plain-FedAvg simulation in which the dropped nodes did not
take part (an availability trace): model = initial + aggregate, so the
difference is the aggregate's, bounded by n x half a quantisation step.
(Over several rounds the tiny quantisation differences would be amplified
by training itself -- ReLU units flipping -- so later rounds are no test of
the aggregation.)

Scenarios (10 nodes, complete masking graph: k = 9, threshold 5):
  none   nobody drops;
  one    n3 exits when TRAIN arrives: it has shared its keys, so its
         pairwise masks are rebuilt from its neighbours' shares;
  30%    n2 exits at the shares step (keys only), n5 at TRAIN (masks
         rebuilt), n8 at the unmask step (its masked update is in, and the
         others' shares still unmask the sum)."""
import json
import os
import signal
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N = 10
CLIP = 10.0
SCENARIOS = [
    ("none", {}),
    ("one", {3: "train@1"}),
    ("thirty", {2: "shares@1", 5: "train@1", 8: "unmask@1"}),
]
# Whether each dropping client's update is in the round-1 sum.
COUNTED = {"shares@1": False, "train@1": False, "unmask@1": True}


def read_f32(path):
    blob = open(path, "rb").read()
    (hlen,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + hlen])
    out = []
    for name, t in sorted((k, v) for k, v in header.items() if k != "__metadata__"):
        a, b = t["data_offsets"]
        raw = blob[8 + hlen + a:8 + hlen + b]
        out.extend(struct.unpack(f"<{len(raw) // 4}f", raw))
    return out


task = quick_task(N, rounds=1, secagg={"mode": "secagg+", "clip": CLIP},
                  deploy={"connect_timeout_s": 240, "round_timeout_s": 120})

with Cluster(FEDC, tls=True, name="secagg") as c:
    c.start_server()
    serving = {}  # partition -> node name; nodes that stay up serve the next scenario
    for label, exits in SCENARIOS:
        # Partitions whose node must be (re)started: gone, or to exit this time.
        for k in range(N):
            name = serving.get(k)
            alive = name is not None and c.nodes[name].poll() is None
            if alive and k not in exits:
                continue
            if alive:
                c.nodes[name].send_signal(signal.SIGTERM)
                c.nodes[name].wait(timeout=30)
            serving[k] = f"{label}{k}"
            extra = ["--exit-at", exits[k]] if k in exits else []
            c.start_node(serving[k], f"fmnist:partition={k}/{N}", *extra)
        names = dict(serving)
        run_id = c.create_run(task)
        run = c.wait_run_end(run_id, 400)
        assert run["status"] == "done" and run["rounds_done"] == 1, (label, run)
        (r1,) = c.rounds(run_id)
        counted = N - sum(1 for e in exits.values() if not COUNTED[e])
        assert r1["participants"] == counted, (label, r1)
        st, p = c.api("GET", f"/api/runs/{run_id}/participation?round=1")
        status = {x["node_name"]: x["status"] for x in p["participation"]}
        for k, e in exits.items():
            want = "ok" if COUNTED[e] else "dropped"  # ok = aggregated
            assert status[names[k]] == want, (label, k, status[names[k]], p)
        for k in exits:
            rc = c.nodes[names[k]].wait(timeout=30)
            assert rc == 3, f"{names[k]} should have exited at its step, got {rc}"

        # Plain FedAvg, no secure aggregation, without the uncounted nodes.
        trace = os.path.join(c.dir, f"trace-{label}.csv")
        with open(trace, "w") as f:
            f.write("client,samples_per_s,up_bps,down_bps,avail\n")
            for k in range(N):
                f.write(f"{k},1e9,1e12,1e12,{'1-1' if COUNTED.get(exits.get(k), True) else '2-2'}\n")
        sim_task = dict(task, secagg={"mode": "none"}, scheduling={"profile": trace})
        task_file = os.path.join(c.dir, f"task-{label}.json")
        json.dump(sim_task, open(task_file, "w"))
        out = os.path.join(c.dir, f"sim-{label}")
        subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--out", out], check=True, timeout=300)
        (s1,) = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
        assert s1["participants"] == counted, s1
        dep = read_f32(os.path.join(c.state, "runs", str(run_id), "model.safetensors"))
        ref = read_f32(os.path.join(out, "model.safetensors"))
        assert len(dep) == len(ref)
        worst = max(abs(a - b) for a, b in zip(dep, ref))
        # n updates, each within half a step clip / 2^30 (weights <= 1),
        # plus float rounding of the model values.
        bound = N * 0.5 * CLIP / 2**30 + 1e-6
        print(f"{label}: {r1['participants']} updates summed, accuracy {r1['accuracy']} (plain FedAvg "
              f"{s1['accuracy']}), max |model - plain FedAvg| {worst:.2e} (bound {bound:.2e})", flush=True)
        assert worst < bound, (label, worst)
        assert abs(r1["accuracy"] - s1["accuracy"]) <= 1e-3, (label, r1["accuracy"], s1["accuracy"])
print("ok")
