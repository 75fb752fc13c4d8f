"""fedc tune on a hard setting: Fashion-MNIST, 100 clients, Dirichlet alpha = 0.1, a
fixed number of rounds. The default task against the best task a search finds with a
budget of 32 trials, measured in the same invocation.

Reports the default's and the tuned task's final test accuracy, the gain in points (target:
at least 5), and the search's cost: CPU seconds of the whole `fedc tune` process and the
sum over trials. The search picks its winner on the test accuracy the engine reports (the
task spec has no validation split), so the gain is also measured on fresh seeds (new
partition, initialisation and client sampling) for both tasks: that figure is the one that
does not flatter the search.

usage: /usr/bin/python3 bench/bench_tune.py [--build build] [--budget 32] [--rounds 30]
       [--method tpe] [--parallel 2] [--seed 1] [--fresh-seeds 3] [--alpha 0.1]
       [--trial-seeds 2] [--last-rounds 3]
A trial's accuracy is the mean of 2 seeds' last 3 rounds (fedc tune --trial-seeds/--last-rounds):
with alpha = 0.1 a single final-round figure swings by 10+ points between seeds and rounds.
Reduced check (a few minutes): --budget 16 --rounds 15
Writes bench/results/tune.json and prints a Markdown table.
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

ROOT = benchlib.ROOT
ENV = yardstick.unpinned_env()


def run(cmd):
    """Runs cmd; returns (stdout, wall seconds, CPU seconds of that child alone)."""
    m = benchlib.run_measured(cmd, env=ENV)
    return m.stdout, m.wall_s, m.cpu_s


def sim(fedc, task, tmp, name, seed=None, threads=2):
    """Final test accuracy and CPU seconds of one run of task (optionally with another seed)."""
    out = os.path.join(tmp, name)
    cmd = [fedc, "sim", task, "--quiet", "--threads", str(threads), "--out", out]
    if seed is not None:
        cmd += ["--set", f"seed={seed}"]
    _, wall, cpu = run(cmd)
    rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    evals = [r["accuracy"] for r in rows if r.get("evaluated", 1)]
    return {"accuracy": rows[-1]["accuracy"], "accuracy_last3": sum(evals[-3:]) / len(evals[-3:]),
            "cpu_s": cpu, "wall_s": wall, "rounds": len(rows),
            "bytes": rows[-1]["bytes_down_total"] + rows[-1]["bytes_up_total"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--budget", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--method", default="tpe")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fresh-seeds", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--trial-seeds", type=int, default=2)
    ap.add_argument("--last-rounds", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the work folder (runs, store, reports)")
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    fedc = os.path.join(a.build, "fedc")
    tmp = tempfile.mkdtemp(prefix="fedc-bench-tune-")
    task = {"name": "fmnist-dirichlet", "partition": {"kind": "dirichlet", "alpha": a.alpha},
            "clients": 100, "rounds": a.rounds}
    task_path = os.path.join(tmp, "task.json")
    with open(task_path, "w") as f:
        json.dump(task, f)

    default = sim(fedc, task_path, tmp, "default")
    print(f"default task: accuracy {default['accuracy']:.4f} after {a.rounds} rounds, {default['cpu_s']:.1f} CPU s",
          flush=True)

    tune_out = os.path.join(tmp, "tune")
    cmd = [fedc, "tune", task_path, "--budget", str(a.budget), "--method", a.method, "--seed", str(a.seed),
           "--parallel", str(a.parallel), "--trial-seeds", str(a.trial_seeds), "--last-rounds", str(a.last_rounds),
           "--db", os.path.join(tmp, "tune.db"), "--out", tune_out, "--quiet"]
    out, tune_wall, tune_cpu = run(cmd)
    board = json.load(open(os.path.join(tune_out, "leaderboard.json")))
    best_trial = board["trials"][0]
    print(f"search: {a.budget} trials ({a.method}), {tune_wall:.0f} s wall, {tune_cpu:.1f} CPU s; "
          f"best trial {board['best']}: {best_trial['accuracy']:.4f} (mean of the last {a.last_rounds} rounds "
          f"over {a.trial_seeds} seed(s))", flush=True)
    best_task = os.path.join(tune_out, "best-task.json")
    tuned = sim(fedc, best_task, tmp, "tuned")

    fresh = []
    base_seed = json.load(open(best_task)).get("seed", 0)
    for k in range(a.fresh_seeds):
        s = base_seed + 1000 + k
        d, t = sim(fedc, task_path, tmp, f"default-s{s}", s), sim(fedc, best_task, tmp, f"tuned-s{s}", s)
        fresh.append({"seed": s, "default": d["accuracy"], "tuned": t["accuracy"],
                      "default_last3": d["accuracy_last3"], "tuned_last3": t["accuracy_last3"]})
        print(f"fresh seed {s}: default {d['accuracy']:.4f}, tuned {t['accuracy']:.4f} "
              f"(last 3 rounds: {d['accuracy_last3']:.4f}, {t['accuracy_last3']:.4f})", flush=True)

    res = {
        "setting": {"dataset": "fashion-mnist", "clients": 100, "dirichlet_alpha": a.alpha, "rounds": a.rounds,
                    "budget": a.budget, "method": a.method, "search_seed": a.seed, "parallel": a.parallel,
                    "trial_seeds": a.trial_seeds, "last_rounds": a.last_rounds},
        "default": default, "tuned": tuned,
        "gain_points": 100 * (tuned["accuracy"] - default["accuracy"]),
        "search": {"cpu_s_process": tune_cpu, "cpu_s_trials": board["total_cpu_s"], "wall_s": tune_wall,
                   "rounds": board["total_rounds"], "best_trial": board["best"],
                   "best_config": best_trial["config"]},
        "fresh_seeds": fresh,
    }
    res["gain_points_last3"] = 100 * (tuned["accuracy_last3"] - default["accuracy_last3"])
    if fresh:
        res["gain_points_fresh_seeds"] = 100 * sum(f["tuned"] - f["default"] for f in fresh) / len(fresh)
        res["gain_points_fresh_seeds_last3"] = 100 * sum(f["tuned_last3"] - f["default_last3"]
                                                         for f in fresh) / len(fresh)
        for k in ("default", "tuned", "default_last3", "tuned_last3"):
            res[f"fresh_{k}"] = benchlib.mean_std([f[k] for f in fresh])
        res["fresh_gain_points_last3"] = benchlib.mean_std([100 * (f["tuned_last3"] - f["default_last3"])
                                                            for f in fresh])
    benchlib.write_results("tune", prov, res)

    print("\n| setting | default acc | tuned acc | gain (points) | gain, last 3 rounds | gain, fresh seeds "
          "(last 3) | search CPU s | tuned run CPU s / default |")
    print("|---|---|---|---|---|---|---|---|")
    fg, fg3 = res.get("gain_points_fresh_seeds"), res.get("gain_points_fresh_seeds_last3")
    print(f"| FMNIST, 100 clients, Dir({a.alpha}), {a.rounds} rounds, {a.method} x{a.budget} | "
          f"{default['accuracy']:.4f} | {tuned['accuracy']:.4f} | {res['gain_points']:+.1f} | "
          f"{res['gain_points_last3']:+.1f} | "
          f"{'n/a' if fg is None else f'{fg:+.1f} ({fg3:+.1f})'} | {tune_cpu:.0f} | "
          f"{tuned['cpu_s']:.1f} / {default['cpu_s']:.1f} |")
    print(f"\nbest configuration: {json.dumps(best_trial['config'])}")
    print(f"target: >= 5 points: {'met' if res['gain_points'] >= 5 else 'NOT met'}"
          + ("" if fg is None else f" (fresh seeds: {'met' if fg >= 5 else 'NOT met'})"))
    if a.keep:
        print(f"work folder: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
