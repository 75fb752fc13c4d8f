#!/usr/bin/python3
"""Deployments on catalog datasets nobody has yet: `fedc server` fetches
its copy of CIFAR-10 before the run starts (the run's log says what and
from where), and every `fedc node --data cifar10:partition=k/N` fetches its
own into its own cache, from a local HTTPS test server (no network). The
nodes hold exactly what `fedc sim` gives their clients, so the deployment's
accuracy and loss equal the simulation's, round by round. A run cancelled
while the server still downloads its data stops the download; and every
other catalog dataset trains one round through a server and a node.

usage: deploy_data.py FEDC_BINARY"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from fedc_e2e import Cluster, quick_task  # noqa: E402
import make_datasets  # noqa: E402
from data_server import DataServer  # noqa: E402

FEDC = os.path.abspath(sys.argv[1])
N = 3
tmp = tempfile.TemporaryDirectory(prefix="fedc-deploy-data-")
mirror = os.path.join(tmp.name, "mirror")
os.makedirs(mirror)

with DataServer(mirror, tmp.name) as data, Cluster(FEDC, tls=True, name="data") as c:
    catalog = os.path.join(tmp.name, "catalog.json")
    json.dump(make_datasets.write_mirror(mirror, data.url), open(catalog, "w"))

    def env(who):
        return {"FEDC_DATA": os.path.join(tmp.name, f"cache-{who}"), "FEDC_DATA_CATALOG": catalog,
                "FEDC_DATA_CA": data.ca}

    task = quick_task(N, rounds=2, dataset={"name": "cifar10"}, model="conv:8:3,pool:2,dense:32,dense:10",
                      partition={"kind": "dirichlet", "alpha": 0.5})
    task_file = os.path.join(tmp.name, "task.json")
    json.dump(task, open(task_file, "w"))
    sim_dir = os.path.join(tmp.name, "sim")
    subprocess.run([FEDC, "sim", task_file, "--quiet", "--threads", "2", "--out", sim_dir], check=True, timeout=300,
                   env=dict(os.environ, OPENBLAS_NUM_THREADS="1", **env("sim")))
    sim = [json.loads(line) for line in open(os.path.join(sim_dir, "metrics.jsonl"))]

    c.start_server(env=env("server"))
    run_id = c.create_run(task)
    for k in range(N):
        c.start_node(f"n{k}", f"cifar10:partition={k}/{N}", env=env(f"node{k}"))
    run = c.wait_run_end(run_id, 240)
    assert run["status"] == "done", run
    dep = c.rounds(run_id)
    assert [r["round"] for r in dep] == [1, 2], dep
    for d, s in zip(dep, sim):
        assert abs(d["accuracy"] - s["accuracy"]) < 1e-6, f"round {d['round']}: {d['accuracy']} vs sim {s['accuracy']}"
        assert abs(d["loss"] - s["loss"]) < 1e-5, (d["loss"], s["loss"])

    # Each process fetched its own copy, from the test server, once.
    tarball = "cifar-10-binary.tar.gz"
    for who in ["server"] + [f"node{k}" for k in range(N)]:
        path = os.path.join(tmp.name, f"cache-{who}", "cifar10", tarball)
        assert os.path.exists(path), f"{who} has no copy at {path}"
    gets = [r for r in data.requests if r[0] == f"/cifar10/{tarball}"]
    assert len(gets) == N + 2, f"one download each for the simulation, the server and {N} nodes: {gets}"
    log = c.read_server_log()
    assert f"fetching cifar10: {tarball}" in log and "cache-server/cifar10" in log, log[-3000:]
    for k in range(N):
        assert f"fetching cifar10: {tarball}" in c.node_log(f"n{k}"), c.node_log(f"n{k}")[-2000:]

    # The web form's dataset list: cifar10 is now present on the server.
    st, body = c.api("GET", "/api/datasets")
    assert st == 200, body
    by = {d["name"]: d for d in body["datasets"]}
    # Every dataset with files, and synthetic, which is generated from the seed.
    assert set(by) == set(make_datasets.DATASETS) | {"synthetic"}, sorted(by)
    assert by["synthetic"]["state"] == "generated", by["synthetic"]
    assert by["cifar10"]["present"] and by["cifar10"]["state"] == "present", by["cifar10"]
    assert not by["svhn"]["present"] and by["svhn"]["state"] == "absent", by["svhn"]
    assert body["cache"].endswith("cache-server"), body["cache"]

    # A node holding another dataset than the task's is told so.
    for k in range(N):
        c.nodes[f"n{k}"].terminate()
        c.nodes[f"n{k}"].wait(timeout=30)
    run2 = c.create_run(dict(task, name="wrong-data", deploy=dict(task["deploy"], min_nodes=1)))
    c.start_node("stray", "mnist:partition=0/3", env=env("stray"))
    c.wait("the stray node to explain", lambda: "this node holds mnist but the task trains on cifar10"
           in c.node_log("stray"), 60)
    st, _ = c.api("POST", f"/api/runs/{run2}/cancel")
    c.wait_run_end(run2, 60)
    c.nodes["stray"].terminate()
    c.nodes["stray"].wait(timeout=30)

    # A run whose data is still downloading can be cancelled: the fetch
    # stops, the partial download stays for a later resume.
    data.rule("/svhn/train_32x32.mat", "hang", 4096)
    run3 = c.create_run(dict(task, name="cancel-fetch", dataset={"name": "svhn"}))
    part = os.path.join(tmp.name, "cache-server", "svhn", "train_32x32.mat.part")
    c.wait("the server's svhn download to start", lambda: os.path.exists(part) and os.path.getsize(part) == 4096, 60)
    st, body = c.api("POST", f"/api/runs/{run3}/cancel")
    assert st == 200, (st, body)
    run = c.wait_run_end(run3, 60)
    assert run["status"] == "cancelled", run
    assert os.path.getsize(part) == 4096, "the part is kept"
    assert not os.path.exists(part[:-5]), "nothing half-written is in place"

    # Every other catalog dataset through server and node: a one-node run
    # each, both sides fetching their copy.
    for name in make_datasets.DATASETS:
        if name == "cifar10":
            continue
        one = quick_task(1, rounds=1, dataset={"name": name}, name=f"one-{name}",
                         partition={"kind": "natural" if name == "femnist" else "iid"})
        rid = c.create_run(one)
        node = c.start_node(f"n-{name}", f"{name}:partition=0/1", env=env(f"node-{name}"))
        run = c.wait_run_end(rid, 180)
        assert run["status"] == "done" and run["rounds_done"] == 1, (name, run)
        node.terminate()
        node.wait(timeout=30)
        assert f"fetching {name}:" in c.node_log(f"n-{name}"), c.node_log(f"n-{name}")[-1500:]
    print(f"deployment on fetched data matches sim: accuracy {[r['accuracy'] for r in dep]}; "
          f"{len(gets)} downloads, one per process")
tmp.cleanup()
print("1 passed, 0 failed")
