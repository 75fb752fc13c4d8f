#!/usr/bin/python3
"""Hierarchical aggregation: one top `fedc server`, two mid-level servers
(`fedc server --upstream wss://TOP --credential MID.pem`), each with two
real TLS nodes holding Fashion-MNIST partitions k/4. The top sees two
nodes; each of its rounds runs at the mid-level servers over their own
nodes, and each mid-level server answers with one update: its nodes'
sample-weighted mean, weighted by the sum of their samples. So the top's
model, accuracy and loss equal those of the flat federation of the four
leaf nodes, which the deployment tests show equal to `fedc sim` of the same
task: here compared against that simulation, round by round, within float
summation-order tolerance (the mean of means is summed in another order
than the flat mean). Bytes are counted at each level's own transport: the
top's downlink is two model frames a round, each mid-level server's two
more (its nodes'), each the size of one of the simulation's four.

Also: the mid-level server refuses a run whose aggregation cannot be split
across levels (SCAFFOLD), naming the field, and `fedc server` refuses
--upstream combinations it cannot honour.

usage: hierarchy.py FEDC_BINARY"""
import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = os.path.abspath(sys.argv[1])
LEAVES = 4
ROUNDS = 3


def floats(blob):
    """The float32 values of a safetensors file, tensor by tensor in name order."""
    hlen = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + hlen])
    data = blob[8 + hlen:]
    out = []
    for name in sorted(k for k in header if k != "__metadata__"):
        b, e = header[name]["data_offsets"]
        out.extend(struct.unpack_from(f"<{(e - b) // 4}f", data, b))
    return out


# ---- refused flag combinations (no server starts) ----
def refused(args, words):
    p = subprocess.run([FEDC, "server", "--state", "/nonexistent-fedc-hier"] + args, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2 and all(w in p.stderr for w in words), (args, p.returncode, p.stderr)


refused(["--credential", "x.pem"], ["--credential", "--upstream"])
refused(["--leaf-clients", "4"], ["--leaf-clients", "--upstream"])
refused(["--upstream", "wss://127.0.0.1:1"], ["--credential"])
refused(["--upstream", "https://127.0.0.1:1", "--credential", "x.pem"], ["wss://"])
refused(["--upstream", "wss://127.0.0.1:1", "--credential", "x.pem", "--run", "default"], ["--run", "--upstream"])
refused(["--upstream", "wss://127.0.0.1:1", "--credential", "x.pem", "--leaf-clients", "2", "--leaf-min-nodes", "3"],
        ["--leaf-min-nodes"])

flat = quick_task(LEAVES, rounds=ROUNDS)
# The top's federation is its two mid-level servers; the task is otherwise the flat one.
top_task = dict(flat, clients=2, clients_per_round=2,
                deploy=dict(flat["deploy"], min_nodes=2, min_updates=1))

with Cluster(FEDC, tls=True, name="hier-top") as top, Cluster(FEDC, tls=True, name="hier-a") as mid_a, \
        Cluster(FEDC, tls=True, name="hier-b") as mid_b:
    # The flat federation simulated in one process: the deployment tests
    # show a flat deployment of these leaves equals it.
    task_file = os.path.join(top.dir, "flat.json")
    json.dump(flat, open(task_file, "w"))
    sim_dir = os.path.join(top.dir, "sim")
    subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--out", sim_dir], check=True, timeout=300,
                   env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    sim = [json.loads(line) for line in open(os.path.join(sim_dir, "metrics.jsonl"))]
    sim_model = floats(open(os.path.join(sim_dir, "model.safetensors"), "rb").read())

    top.start_server()
    mids = {"a": mid_a, "b": mid_b}
    for name, mid in mids.items():
        cred = top.issue(f"mid-{name}")  # a node credential of the top's CA
        mid.start_server("--upstream", top.node_url(), "--credential", cred, "--leaf-clients", str(LEAVES),
                         "--leaf-min-nodes", "2")
    # Leaves 0, 1 below a; 2, 3 below b; each holds client k's partition of the flat task.
    for k in range(LEAVES):
        mid = mid_a if k < 2 else mid_b
        mid.start_node(f"n{k}", f"fmnist:partition={k}/{LEAVES}")

    run_id = top.create_run(top_task)
    run = top.wait_run_end(run_id, 400)
    assert run["status"] == "done", run
    dep = top.rounds(run_id)
    assert [r["round"] for r in dep] == list(range(1, ROUNDS + 1)), dep
    for d, s in zip(dep, sim):
        assert d["participants"] == 2 and s["participants"] == LEAVES, (d, s)
        # Weighted mean of weighted means = the flat weighted mean, up to the
        # order of float32 sums: accuracy on 10,000 test images within one
        # image, loss within 1e-4.
        assert abs(d["accuracy"] - s["accuracy"]) <= 1e-4 + 1e-9, f"round {d['round']}: {d['accuracy']} vs {s['accuracy']}"
        assert abs(d["loss"] - s["loss"]) < 1e-4, (d["round"], d["loss"], s["loss"])
        # The top sends each mid-level server the frame the simulation sends each client.
        assert d["bytes_down"] * LEAVES == s["bytes_down"] * 2, (d["bytes_down"], s["bytes_down"])
        assert d["bytes_up"] > 0
    print(f"top vs flat sim accuracy: {[r['accuracy'] for r in dep]} vs {[r['accuracy'] for r in sim]}")
    print(f"top vs flat sim loss: {[r['loss'] for r in dep]} vs {[r['loss'] for r in sim]}")

    # The model itself, parameter by parameter.
    st, blob = top.api("GET", f"/api/runs/{run_id}/model", raw=True)
    assert st == 200
    model = floats(blob)
    assert len(model) == len(sim_model)
    worst = max(abs(a - b) for a, b in zip(model, sim_model))
    scale = max(abs(b) for b in sim_model)
    print(f"largest |top - flat sim| parameter difference: {worst:.3g} (largest |parameter| {scale:.3g})")
    assert worst <= 1e-5, worst

    # The top's participation: each mid-level server answered every round
    # with the sum of its two nodes' samples.
    st, p = top.api("GET", f"/api/runs/{run_id}/participation")
    assert st == 200 and len(p["participation"]) == 2 * ROUNDS, p
    assert all(x["status"] == "ok" for x in p["participation"]), p
    by_name = {x["node_name"]: x["n_samples"] for x in p["participation"]}
    assert set(by_name) == {"mid-a", "mid-b"}, by_name

    # Each level counts the bytes crossing its own transport: a mid-level
    # server sent its two nodes the simulation's per-client frame each round.
    down_sim = sum(s["bytes_down"] for s in sim)
    for name, mid in mids.items():
        st, info = mid.api("GET", "/api/server")
        up = info["upstream"]
        assert up["rounds"] == ROUNDS and up["last_round"] == ROUNDS and up["last_participants"] == 2, up
        assert up["bytes_down"] * LEAVES == down_sim * 2, (up, down_sim)
        assert up["bytes_up"] > 0, up
        print(f"mid-{name}: {up}")

    # A server optimizer on the top (FedAdam) works on the combined mean,
    # which is the flat one: again the flat simulation's figures.
    adam = dict(flat, rounds=2, strategy={"name": "fedadam", "server_lr": 0.01})
    json.dump(adam, open(task_file, "w"))
    adam_dir = os.path.join(top.dir, "sim-adam")
    subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--out", adam_dir], check=True, timeout=300,
                   env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    adam_sim = [json.loads(line) for line in open(os.path.join(adam_dir, "metrics.jsonl"))]
    run_adam = top.create_run(dict(top_task, rounds=2, strategy=adam["strategy"]))
    run = top.wait_run_end(run_adam, 400)
    assert run["status"] == "done", run
    for d, s in zip(top.rounds(run_adam), adam_sim):
        assert abs(d["accuracy"] - s["accuracy"]) <= 1e-4 + 1e-9, ("fedadam", d["round"], d["accuracy"], s["accuracy"])
        assert abs(d["loss"] - s["loss"]) < 1e-4, ("fedadam", d["round"], d["loss"], s["loss"])
    print(f"fedadam top vs flat sim accuracy: {[r['accuracy'] for r in top.rounds(run_adam)]} vs "
          f"{[r['accuracy'] for r in adam_sim]}")

    # Lossy codecs are relayed too, compressing at each hop (so not exact):
    # the mid-level server decodes the top's fp16 model and sends its nodes
    # their own fp16 frames; its q8 update (with error feedback) is the
    # mean of theirs, decoded. Each hop's bytes are the compressed ones.
    lossy = dict(top_task, rounds=2, compression={"up": "q8", "down": "fp16"})
    run_lossy = top.create_run(lossy)
    run = top.wait_run_end(run_lossy, 400)
    assert run["status"] == "done", run
    for d, s in zip(top.rounds(run_lossy), sim):
        assert d["participants"] == 2, d
        assert d["bytes_down"] * LEAVES < s["bytes_down"] * 2 * 0.6, (d["bytes_down"], s["bytes_down"])
        assert d["bytes_up"] * LEAVES < s["bytes_up"] * 2 * 0.6, (d["bytes_up"], s["bytes_up"])
        assert abs(d["accuracy"] - s["accuracy"]) < 0.05, ("lossy", d["accuracy"], s["accuracy"])

    # A leaf lost in the middle of a round: its mid-level server answers
    # with what it got (the other node's update, weighted by its samples
    # alone).
    # Below mid-a both nodes are lost: it has no update and says so (an
    # error for the round), which the top counts as that node dropped.
    for k in (0, 1, 3):
        mid = mid_a if k < 2 else mid_b
        mid.nodes[f"n{k}"].terminate()
        mid.nodes[f"n{k}"].wait(timeout=60)
        mid.start_node(f"n{k}", f"fmnist:partition={k}/{LEAVES}", "--exit-at", "train@2",
                       credential=mid.issue(f"n{k}"))
    run2 = top.create_run(dict(top_task, rounds=2))
    run = top.wait_run_end(run2, 400)
    assert run["status"] == "done", run
    st, p = top.api("GET", f"/api/runs/{run2}/participation")
    assert st == 200, p
    status = {(x["round"], x["node_name"]): (x["status"], x["reason"]) for x in p["participation"]}
    assert status[(1, "mid-a")][0] == status[(1, "mid-b")][0] == status[(2, "mid-b")][0] == "ok", status
    assert status[(2, "mid-a")][0] == "dropped" and "0 of 2 participants" in status[(2, "mid-a")][1], status
    got = {(x["round"], x["node_name"]): x["n_samples"] for x in p["participation"]}
    assert got[(1, "mid-a")] == by_name["mid-a"], got
    assert got[(1, "mid-b")] == by_name["mid-b"], got
    assert [r["participants"] for r in top.rounds(run2)] == [2, 1]
    assert 0 < got[(2, "mid-b")] < by_name["mid-b"], got  # node n2's samples alone
    st, info = mid_b.api("GET", "/api/server")
    up = info["upstream"]
    assert up["last_round"] == 2 and up["last_participants"] == 1 and up["last_dropped"] == 1, up
    print(f"round 2 without n3: mid-b sent {got[(2, 'mid-b')]:.0f} of {by_name['mid-b']:.0f} samples")

    # A strategy whose state cannot be split across levels is refused by
    # the mid-level servers, naming the field.
    scaffold = dict(top_task, strategy={"name": "scaffold"},
                    deploy=dict(top_task["deploy"], connect_timeout_s=60))
    bad = top.create_run(scaffold)
    for name, mid in mids.items():
        mid.wait(f"mid-{name} to refuse scaffold",
                 lambda: "strategy.name: a mid-level server cannot relay scaffold" in mid.read_server_log(), 60)
    st, body = top.api("POST", f"/api/runs/{bad}/cancel")
    assert st == 200, body
print("ok")
