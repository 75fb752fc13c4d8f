"""What the intent parser's goal settings buy: the default task (Fashion-MNIST, MLP, 100 IID
clients, 10 per round, 50 rounds) against the task each goal request produces, over several
seeds, one thread per run.

For each task and seed: final test accuracy, and up to the first evaluated round reaching
80% and 82% test accuracy, the round, the bytes (down + up, counted at the transport), the
client CPU seconds and the server CPU seconds summed over the rounds so far. Bytes and
rounds are exact; CPU seconds are measured on whatever else the machine runs (see the
load average in "meta"). Writes bench/results/intent_goals.json.

usage: /usr/bin/python3 bench/bench_intent_goals.py [--build build] [--seeds 0,1,2]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import yardstick  # noqa: E402

GOALS = {"default": None, "bandwidth": "keep bandwidth low", "cpu": "use little CPU"}
TARGETS = (0.80, 0.82)


def to_target(rows, target):
    """Round, bytes, client and server CPU seconds up to the first evaluated round at target."""
    client = server = 0.0
    for r in rows:
        client += r["client_cpu_s"]
        server += r["server_cpu_s"]
        if r["evaluated"] and r["accuracy"] is not None and r["accuracy"] >= target:
            return {"round": r["round"], "bytes": r["bytes_down_total"] + r["bytes_up_total"],
                    "client_cpu_s": client, "server_cpu_s": server}
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(benchlib.ROOT, "build"))
    ap.add_argument("--seeds", default="0,1,2")
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    fedc = os.path.join(a.build, "fedc")
    env = yardstick.unpinned_env()
    seeds = [int(s) for s in a.seeds.split(",")]
    tmp = tempfile.mkdtemp(prefix="fedc-goals-")
    res = {"setting": {"task": "defaults (Fashion-MNIST MLP, 100 IID clients, 10 per round, 50 rounds)",
                       "threads": 1, "seeds": seeds, "targets": list(TARGETS)}, "tasks": {}}
    for key, request in GOALS.items():
        task_args = []
        entry = {"request": request, "runs": []}
        if request:
            path = os.path.join(tmp, key + ".json")
            benchlib.run_measured([fedc, "intent", "--out", path, request], env=env)
            entry["task"] = json.load(open(path))
            task_args = [path]
        for seed in seeds:
            out = os.path.join(tmp, f"{key}-s{seed}")
            benchlib.run_measured([fedc, "sim"] + task_args + ["--quiet", "--threads", "1", "--set", f"seed={seed}",
                                                             "--out", out], env=env)
            rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
            run = {"seed": seed, "final_acc": rows[-1]["accuracy"], "rounds": len(rows)}
            for t in TARGETS:
                run[f"to_{int(round(100 * t))}"] = to_target(rows, t)
            entry["runs"].append(run)
            print(json.dumps({"task": key, **run}), flush=True)
            shutil.rmtree(out, ignore_errors=True)
        runs = entry["runs"]
        entry["final_acc"] = benchlib.mean_std([r["final_acc"] for r in runs])
        for t in TARGETS:
            k = f"to_{int(round(100 * t))}"
            reached = [r[k] for r in runs if r[k]]
            entry[k] = {"seeds_reaching": len(reached)}
            for f in ("round", "bytes", "client_cpu_s", "server_cpu_s"):
                entry[k][f] = benchlib.mean_std([x[f] for x in reached]) if reached else None
        res["tasks"][key] = entry
    shutil.rmtree(tmp, ignore_errors=True)
    benchlib.write_results("intent_goals", prov, res)
    print("wrote bench/results/intent_goals.json; tables: /usr/bin/python3 bench/render_tables.py")


if __name__ == "__main__":
    main()
