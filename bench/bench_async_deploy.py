"""Asynchronous FL deployed: real time on loopback to a target accuracy for FedBuff, FedFix and
asynchronous FedAvg against synchronous FedAvg with the deadline scheduler.

One `fedc server` (TLS) and ten `fedc node` processes on this machine, each holding one tenth
of Fashion-MNIST split Dirichlet 0.5 (`--data fmnist:partition=k/10`), MLP, one local epoch
capped at --max-steps SGD steps of batch 32 (lr 0.05), five nodes training at once in every
method. The nodes are made heterogeneous with `fedc node --delay S` (a pause before each
training): node k waits --base-delay x a lognormal factor (sigma 0.5, drawn from the seed), and
node 9, the slow one, ten times --base-delay. Methods (each stops at stop.target_accuracy or
its version cap):

  fedavg (sync, deadline)  scheduling.policy deadline with scheduling.deadline_s = --deadline,
                           and deploy.round_timeout_s = --deadline: a round ends when its
                           participants answered or the deadline passed (late updates dropped).
                           The deadline scheduler's time model sees the speed each node
                           measured (its training), not the injected delay, so in a deployment
                           the deadline acts through the round timeout.
  fedbuff (K=3)            a version whenever 3 updates arrived
  fedfix (window W s)      a version every --window seconds with what arrived
  async-fedavg             a version per update (unbiased weights)

Time to target: wall seconds from the start of version 1 to the end of the first evaluated
version at or above the target, read from the server's metrics (elapsed_s, wall_s), so it
includes aggregation, evaluation and the per-version checkpoint and commit. Three seeds (the
seed of the task and of the delays), mean +- std over the seeds that reached the target.

usage: nice -n 10 /usr/bin/python3 bench/bench_async_deploy.py [--build build] [--seeds 3]
       [--methods fedavg,fedbuff,fedfix,async-fedavg] [--target 0.78] [--render-only]
Writes bench/results/async_deploy.json (commit, date, CPU, cores, load, command; runs are
saved as they finish) and renders the table into docs/deployment.md (`fedc:table async_deploy`,
through bench/render_tables.py, whose --check is the ctest docs_figures).
"""
import argparse
import datetime
import json
import math
import os
import random
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RESULTS = os.path.join(ROOT, "bench", "results", "async_deploy.json")
N, AT_ONCE, SLOW = 10, 5, 9


def methods(a):
    """key -> (label, version cap, eval_every, task overrides)."""
    return {
        "fedavg": (f"fedavg (sync, deadline {a.deadline:g} s)", 80, 1,
                   {"strategy": {"name": "fedavg"},
                    "scheduling": {"policy": "deadline", "deadline_s": a.deadline},
                    "deploy": {"round_timeout_s": a.deadline}}),
        "fedbuff": ("fedbuff (K=3)", 250, 2, {"strategy": {"name": "fedbuff", "buffer_size": 3}}),
        "fedfix": (f"fedfix (window {a.window:g} s)", 250, 2, {"strategy": {"name": "fedfix", "window_s": a.window}}),
        "async-fedavg": ("async-fedavg", 800, 5, {"strategy": {"name": "async-fedavg"}}),
    }


def delays(seed, base):
    rng = random.Random(seed)
    d = [base * math.exp(rng.gauss(0, 0.5)) for _ in range(N)]
    d[SLOW] = 10 * base
    return d


def task(name, cap, every, extra, seed, a):
    t = {"name": f"async-deploy-{name}-s{seed}", "dataset": {"name": "fashion-mnist"}, "model": "mlp",
         "rounds": cap, "eval_every": every, "clients": N, "clients_per_round": AT_ONCE, "seed": seed,
         "partition": {"kind": "dirichlet", "alpha": 0.5},
         "local": {"epochs": 1, "batch": 32, "max_steps": a.max_steps, "lr": 0.05},
         "stop": {"target_accuracy": a.target},
         "deploy": {"min_nodes": N, "min_updates": 1, "round_timeout_s": 120, "connect_timeout_s": 600}}
    for k, v in extra.items():
        t.setdefault(k, {}).update(v)
    return t


def one(c, key, seed, a):
    """One run on the seed's cluster (its nodes serve the runs one after another)."""
    label, cap, every, extra = methods(a)[key]
    run_id = c.create_run(task(key, cap, every, extra, seed, a))
    run = c.wait_run_end(run_id, a.timeout)
    rounds = c.rounds(run_id)
    if not rounds:
        return {"seed": seed, "status": run["status"], "error": run.get("error"), "reached": False}
    t0 = rounds[0]["elapsed_s"] - rounds[0]["wall_s"]
    hit = next((r for r in rounds if r["evaluated"] and r["accuracy"] is not None and r["accuracy"] >= a.target),
               None)
    stale = [r["staleness_mean"] for r in rounds if r.get("staleness_mean") is not None and r["participants"]]
    return {"seed": seed, "status": run["status"], "reached": hit is not None,
            "wall_s": hit["elapsed_s"] - t0 if hit else None, "versions": hit["round"] if hit else None,
            "bytes": hit["bytes_up_total"] + hit["bytes_down_total"] if hit else None,
            "updates": sum(r["participants"] for r in rounds[:hit["round"]]) if hit else None,
            "dropped": sum(r["dropped"] for r in rounds), "last_version": rounds[-1]["round"],
            "best_accuracy": max(r["accuracy"] for r in rounds if r["evaluated"] and r["accuracy"] is not None),
            "staleness_mean": statistics.mean(stale) if stale else 0.0, "label": label}


def provenance(argv):
    def sh(*cmd):
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    return {"commit": sh("git", "rev-parse", "HEAD"),
            "dirty": bool(sh("git", "status", "--porcelain", "--untracked-files=no")),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
            "cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "command": "nice -n 10 /usr/bin/python3 bench/bench_async_deploy.py " + " ".join(argv)}


def ms(xs, fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—"
    if len(xs) == 1:
        return fmt.format(xs[0])
    return (fmt + " ± " + fmt).format(statistics.mean(xs), statistics.stdev(xs))


def render(res):
    p, s = res["provenance"], res["settings"]
    lines = [f"Fashion-MNIST, MLP, {N} node processes on loopback with TLS (Dirichlet 0.5, one tenth each), "
             f"{AT_ONCE} training at once, --delay {s['base_delay']:g} s x lognormal per node and "
             f"{10 * s['base_delay']:g} s for the slow one, at most {s['max_steps']} local steps: wall seconds to "
             f"{s['target']:.0%} test accuracy, mean ± std over the seeds that reached it (seeds "
             f"{res['seeds']}). Measured {p['date']} on {p['cores']} cores ({p['cpu']}, load average "
             f"{' '.join(str(x) for x in p['load_average'])} at the start, "
             f"{' '.join(str(x) for x in p.get('load_average_end', []))} at the end), commit `{p['commit'][:10]}`, with "
             f"`{p['command']}` (`bench/results/async_deploy.json`).", "",
             "| method | reached | wall s to target | versions | updates aggregated | MB moved | "
             "mean staleness | dropped |", "|---|---|---|---|---|---|---|---|"]
    base = None
    for key in ("fedavg", "fedbuff", "fedfix", "async-fedavg"):
        runs = res["runs"].get(key)
        if not runs:
            continue
        ok = [r for r in runs if r["reached"]]
        wall = [r["wall_s"] for r in ok]
        if key == "fedavg" and wall:
            base = statistics.mean(wall)
        speed = f" ({base / statistics.mean(wall):.1f}x)" if base and wall and key != "fedavg" else ""
        lines.append(f"| {runs[0].get('label', key)} | {len(ok)}/{len(runs)} | {ms(wall, '{:.0f}')}{speed} | "
                     f"{ms([r['versions'] for r in ok], '{:.0f}')} | {ms([r['updates'] for r in ok], '{:.0f}')} | "
                     f"{ms([r['bytes'] / 1e6 for r in ok], '{:.0f}')} | "
                     f"{ms([r['staleness_mean'] for r in runs], '{:.2f}')} | "
                     f"{ms([r['dropped'] for r in runs], '{:.0f}')} |")
    return "\n".join(lines)


def write_doc():
    """docs/deployment.md's `fedc:table async_deploy` block, through bench/render_tables.py."""
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "render_tables.py")], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--methods", default="fedavg,fedbuff,fedfix,async-fedavg")
    ap.add_argument("--target", type=float, default=0.78)
    ap.add_argument("--base-delay", type=float, default=0.3)
    ap.add_argument("--deadline", type=float, default=2.0)
    ap.add_argument("--window", type=float, default=1.0)
    ap.add_argument("--max-steps", type=int, default=30)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--render-only", action="store_true")
    a = ap.parse_args()
    if a.render_only:
        write_doc()
        return
    # The e2e fixtures, imported here only: bench/render_tables.py imports this module for
    # render(), and tests/e2e on its path would shadow the standard library's concurrent.
    sys.path.append(os.path.join(ROOT, "tests", "e2e"))
    from fedc_e2e import Cluster
    fedc = os.path.join(a.build, "fedc")
    seeds = list(range(1, a.seeds + 1))
    res = {"provenance": provenance(sys.argv[1:]), "target": a.target, "seeds": seeds,
           "settings": {"target": a.target, "base_delay": a.base_delay, "deadline": a.deadline, "window": a.window,
                        "max_steps": a.max_steps, "nodes": N, "at_once": AT_ONCE},
           "runs": {}}
    for seed in seeds:
        with Cluster(fedc, tls=True, name=f"bench-async-s{seed}") as c:
            c.start_server()
            for k, d in enumerate(delays(seed, a.base_delay)):
                c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", f"{d:.3f}")
            for key in a.methods.split(","):
                r = one(c, key, seed, a)
                res["runs"].setdefault(key, []).append(r)
                print(f"{key} seed {seed}: {r}", flush=True)
                res["provenance"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
                os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
                json.dump(res, open(RESULTS, "w"), indent=1)
    write_doc()


if __name__ == "__main__":
    main()
