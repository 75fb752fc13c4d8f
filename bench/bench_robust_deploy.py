"""The deployment scenario of docs/robustness.md: robust aggregation against hostile nodes over TLS.

Ten `fedc node` processes on loopback connect to a `fedc server` with TLS on; each holds one
tenth of Fashion-MNIST (`--data fmnist:partition=k/10`). Two of them (n3, n7) are started in
hostile mode with the same attack, and every aggregator runs the same task (MLP, all ten nodes
every round, 30 rounds, 1 local epoch capped at --max-steps SGD steps of batch 32, lr 0.05,
seed 42). Attacks, as the measurement that motivated robust aggregation:

  none         every node honest (the reference accuracy)
  x100         `--attack scaling,scale=100`
  x-100        `--attack sign-flip,scale=100` (the update times -100)
  sign-flip    `--attack sign-flip`
  x-8          `--attack sign-flip,scale=8` (the update times -8: every update stays within 10x
               of the round's median and the model does not grow 10x in a round, so the
               aggregate check in front of every rule, src/fl/engine/guard.c, lets it through,
               while the mean becomes gradient ascent)

Per run: status (a diverged model fails the run), rounds done, the accuracy curve from the
server's REST API, updates refused, and the updates the aggregator flagged per node (attackers
against honest nodes). Robust rules assume f = 2 of 10 (byzantine_fraction 0.2), except bulyan,
which needs n >= 4f + 3 and runs with f = 1. One seed: the deployment's nodes draw their own
data, so this is the single measured scenario, not an accuracy claim over seeds (the simulated
grid, bench_robust.py, has those).

Runs are saved as they finish; a run already in the results file is not run again (--redo).

usage: nice -n 10 /usr/bin/python3 bench/bench_robust_deploy.py [--build build] [--rounds 30]
       [--max-steps 20] [--attacks none,x100,x-100,sign-flip,x-8] [--aggregators mean,median,...]
       [--tables-only]
Writes bench/results/robust_deploy.json and prints the Markdown table.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from fedc_e2e import Cluster  # noqa: E402

RESULTS = os.path.join(ROOT, "bench", "results", "robust_deploy.json")
N = 10
HOSTILE = ("n3", "n7")
ATTACKS = {"none": None, "x100": "scaling,scale=100", "x-100": "sign-flip,scale=100", "sign-flip": "sign-flip",
           "x-8": "sign-flip,scale=8"}
AGGREGATORS = ["mean", "median", "trimmed-mean", "krum", "multi-krum", "bulyan", "geomed", "flag", "mudhog"]


def provenance(argv):
    def sh(*c):
        return subprocess.run(c, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"commit": sh("git", "rev-parse", "HEAD"),
            "dirty": bool(sh("git", "status", "--porcelain", "--untracked-files=no")),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "cpu_model": cpu, "cores": os.cpu_count(), "load_avg_at_start": round(os.getloadavg()[0], 2),
            "command": (f"nice -n {os.nice(0)} " if os.nice(0) else "") +  # the niceness it really ran at
                       "/usr/bin/python3 bench/bench_robust_deploy.py " + " ".join(argv)}


def task(agg, rounds, max_steps):
    t = {"name": f"robust-deploy-{agg}", "dataset": {"name": "fashion-mnist"}, "model": "mlp", "rounds": rounds,
         "clients": N, "clients_per_round": N, "seed": 42,
         "local": {"epochs": 1, "batch": 32, "max_steps": max_steps, "lr": 0.05},
         "strategy": {"aggregator": agg, "byzantine_fraction": 0.1 if agg == "bulyan" else 0.2},
         "deploy": {"min_nodes": N, "min_updates": N - 2, "round_timeout_s": 300, "connect_timeout_s": 600}}
    return t


def load():
    return json.load(open(RESULTS)) if os.path.exists(RESULTS) else {"runs": {}}


def save(res):
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    os.replace(tmp, RESULTS)


def start_hostile(c, attack):
    for name in HOSTILE:
        p = c.nodes.get(name)
        if p and p.poll() is None:
            p.terminate()
            p.wait(timeout=60)
        k = int(name[1:])
        extra = ["--attack", ATTACKS[attack]] if ATTACKS[attack] else []
        c.start_node(name, f"fmnist:partition={k}/{N}", *extra)


def measure(c, agg, attack, rounds, max_steps):
    t0 = time.time()
    rid = c.create_run(task(agg, rounds, max_steps))
    run = c.wait_run_end(rid, 600 + 120 * rounds)
    rows = c.rounds(rid)
    st, rn = c.api("GET", f"/api/runs/{rid}/nodes")
    flagged = {x["node_name"]: x.get("flagged", 0) for x in rn.get("nodes", [])} if st == 200 else {}
    curve = [r["accuracy"] for r in rows]
    chance_from = next((r["round"] for r in rows if r["accuracy"] is not None and r["accuracy"] <= 0.11), None)
    return {"status": run["status"], "error": run.get("error") or "", "rounds_done": run["rounds_done"],
            "final_acc": curve[-1] if curve else None, "curve": curve, "chance_from_round": chance_from,
            "rejected": sum(r.get("rejected", 0) for r in rows),
            "flagged_attackers": sum(v for k, v in flagged.items() if k in HOSTILE and attack != "none"),
            "flagged_honest": sum(v for k, v in flagged.items() if k not in HOSTILE or attack == "none"),
            "wall_s": round(time.time() - t0, 1), "task": task(agg, rounds, max_steps),
            "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip(),
            "hostile_flag": ATTACKS[attack]}


def table(res):
    attacks = [a for a in ATTACKS if any(k.split("|")[1] == a for k in res["runs"])]
    lines = ["| aggregator | " + " | ".join(f"{a}" for a in attacks) + " |", "|---|" + "---|" * len(attacks)]
    for agg in AGGREGATORS:
        cells, any_run = [], False
        for atk in attacks:
            r = res["runs"].get(f"{agg}|{atk}")
            if not r:
                cells.append("–")
                continue
            any_run = True
            acc = "–" if r["final_acc"] is None else f"{r['final_acc']:.3f}"
            c = f"{acc}, {r['status']}" + (f" at round {r['rounds_done']}" if r["status"] != "done" else "")
            if r.get("rejected"):
                c += f"; {r['rejected']} updates refused by the aggregate check"
            if atk != "none" and agg != "mean":
                c += f"; flagged {r['flagged_attackers']}/{2 * r['rounds_done']} attacker, {r['flagged_honest']} honest"
            cells.append(c)
        if any_run:
            lines.append(f"| {agg} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    global RESULTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--max-steps", type=int, default=20)
    ap.add_argument("--attacks", default=",".join(ATTACKS))
    ap.add_argument("--aggregators", default=",".join(AGGREGATORS))
    ap.add_argument("--redo", action="store_true")
    ap.add_argument("--tables-only", action="store_true")
    ap.add_argument("--results", default=RESULTS)
    a = ap.parse_args()
    RESULTS = a.results
    res = load()
    if not a.tables_only:
        res.setdefault("provenance", []).append(provenance(sys.argv[1:]))
        save(res)
        fedc = os.path.join(a.build, "fedc")
        with Cluster(fedc, tls=True, name="robust-deploy") as c:
            c.start_server()
            for k in range(N):
                if f"n{k}" not in HOSTILE:
                    c.start_node(f"n{k}", f"fmnist:partition={k}/{N}")
            for atk in a.attacks.split(","):
                # The honest reference needs only the plain mean.
                aggs = ["mean"] if atk == "none" else a.aggregators.split(",")
                todo = [g for g in aggs if a.redo or f"{g}|{atk}" not in res["runs"]]
                if not todo:
                    continue
                start_hostile(c, atk)
                for agg in todo:
                    out = measure(c, agg, atk, a.rounds, a.max_steps)
                    res["runs"][f"{agg}|{atk}"] = out
                    save(res)
                    print(json.dumps({"run": f"{agg}|{atk}", "status": out["status"], "final_acc": out["final_acc"],
                                      "flagged_attackers": out["flagged_attackers"],
                                      "flagged_honest": out["flagged_honest"], "wall_s": out["wall_s"]}), flush=True)
        res["provenance"][-1]["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        save(res)
    print(table(res))


main()
