"""Compression and scheduling benchmark: the tables users read.

Compression: Fashion-MNIST, 100 clients, Dirichlet alpha=0.5, 10 per round, FedAvg; for each
codec pair (update path / model path) the bytes (up + down, counted at the transport) needed
to first reach the target test accuracy, the rounds that took, and the final accuracy (mean
of the last 5 rounds) after a fixed number of rounds, against uncompressed FedAvg run in the
same invocation on the same seeds. MLP 60 rounds (target 0.78), CNN 40 rounds (target 0.82).

Scheduling: the same task (MLP) with the heterogeneous 'lognormal' profile (10% of clients
10x slower, 10% intermittently offline): simulated wall-clock time to the target accuracy
per selection policy.

Each configuration runs on every seed (default 0, 1, 2: the seed changes the partition, the
initial model and client sampling); results hold every run and the mean and standard
deviation over seeds (differences against `none` / `random` are taken per seed).

usage: /usr/bin/python3 bench/bench_comm.py [--build build] [--models mlp,cnn] [--rounds-mlp 60]
       [--rounds-cnn 40] [--part compression,scheduling] [--threads 2] [--seeds 0,1,2]
       [--codecs UP/DOWN,...]
Writes bench/results/comm.json (a run of some models or parts keeps the others' results).
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
# (update path, model path). The model path sends each node the change since its
# last copy, so lossy codecs there do not accumulate error.
CODECS = {
    "mlp": [("none", "none"), ("fp16", "fp16"), ("q8", "q8"), ("q4", "q4"), ("q2|zstd", "q2|zstd"),
            ("topk:0.1|q8", "topk:0.1|q8"), ("topk:0.01|q8|zstd", "topk:0.01|q8|zstd"),
            ("randk:0.1", "randk:0.1"), ("sign|zstd", "sign|zstd"),
            ("topk:0.05|q8|zstd", "q2|zstd"), ("sign|zstd", "q2|zstd"), ("topk:0.1|q4|zstd", "q2|zstd")],
    # The CNN (1.66M parameters) costs ~30x the MLP per round: the codecs the MLP
    # ranks worth it, and the baselines.
    "cnn": [("none", "none"), ("q8", "q8"), ("q2|zstd", "q2|zstd"), ("topk:0.1|q4|zstd", "q2|zstd"),
            ("topk:0.05|q8|zstd", "q2|zstd"), ("sign|zstd", "q2|zstd")],
}
POLICIES = ["random", "round-robin", "samples", "age", "power-of-choice", "deadline"]
TARGET = {"mlp": 0.78, "cnn": 0.82}
# Round deadline for the deadline policy: ~1.5x the median client's predicted round time
# under the lognormal profile (median 2000 samples/s, 10 Mbit/s up, 50 Mbit/s down).
DEADLINE_S = {"mlp": 2.0, "cnn": 12.0}


def sim(fedc, model, rounds, threads, seed, tmp, sets, env):
    name = f"{model}-s{seed}-" + "-".join(s.replace("|", "+").replace(":", "").replace("=", "").replace(".", "")
                                          for s in sets)[:120]
    metrics = os.path.join(tmp, name + ".jsonl")
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet", "--threads",
           str(threads), "--set", f"rounds={rounds}", "--set", "partition.kind=dirichlet",
           "--set", "partition.alpha=0.5", "--set", f"seed={seed}", "--metrics", metrics,
           "--out", os.path.join(tmp, name)]
    for s in sets:
        cmd += ["--set", s]
    m = benchlib.run_measured(cmd, env=env, check=False)
    rows = [json.loads(line) for line in open(metrics)] if os.path.exists(metrics) else []
    shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
    failure = None
    if m.returncode != 0:
        # A configuration that diverges (e.g. an update turns NaN) stops the run: a
        # result, not a benchmark error. The rounds before it count as measured.
        lines = [line for line in m.stderr.splitlines() if line.startswith("fedc sim:")]
        failure = {"after_round": len(rows), "error": (lines[-1] if lines else m.stderr.strip()[-300:])}
        if not rows:
            sys.stderr.write(m.stderr[-3000:])
            raise SystemExit("fedc sim failed before its first round: " + " ".join(cmd))
    return rows, failure


def final_accuracy(rows):
    """Mean test accuracy of the last 5 rounds: one round of a non-IID run is noisy."""
    accs = [r["accuracy"] or 0.0 for r in rows[-5:]]
    return sum(accs) / len(accs)


def first_reach(rows, target, key):
    for r in rows:
        if r["evaluated"] and r["accuracy"] is not None and r["accuracy"] >= target:
            return r[key] if key != "bytes" else r["bytes_down_total"] + r["bytes_up_total"]
    return None


def reduction(runs, base_runs, key):
    """Per seed, 1 - value / baseline where both reached the target; mean and std over those seeds."""
    xs = [1 - r[key] / b[key] for r, b in zip(runs, base_runs) if r[key] and b[key]]
    return benchlib.mean_std(xs) if xs else None


def summary(runs, keys):
    """Mean and std of each key over the seeds where it is known; how many reached the target."""
    out = {}
    for k in keys:
        xs = [r[k] for r in runs if r[k] is not None]
        out[k] = benchlib.mean_std(xs) if xs else None
    out["seeds_reaching_target"] = sum(1 for r in runs if r["rounds_to_target"] is not None)
    out["seeds_failed"] = sum(1 for r in runs if r.get("failed"))
    out["seeds"] = len(runs)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--rounds-mlp", type=int, default=60)
    ap.add_argument("--rounds-cnn", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--part", default="compression,scheduling")
    ap.add_argument("--codecs", default=None, help="comma-separated UP/DOWN pairs, e.g. q8/q8,none/none")
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    fedc = os.path.join(a.build, "fedc")
    seeds = [int(x) for x in a.seeds.split(",")]
    env = yardstick.unpinned_env()
    tmp = tempfile.mkdtemp(prefix="fedc-comm-")
    out = {"compression": {}, "scheduling": {}}
    for model in a.models.split(","):
        rounds = a.rounds_mlp if model == "mlp" else a.rounds_cnn
        target = TARGET[model]
        if "compression" in a.part:
            pairs = [tuple(c.split("/")) for c in a.codecs.split(",")] if a.codecs else CODECS[model]
            res = {"target": target, "rounds": rounds, "seeds": seeds, "codecs": {}}
            for up, down in pairs:
                codec = up if up == down else f"{up} / {down}"
                runs = []
                for seed in seeds:
                    rows, failure = sim(fedc, model, rounds, a.threads, seed, tmp,
                                        [f"compression.up={up}", f"compression.down={down}"], env)
                    e = {"seed": seed, "bytes_to_target": first_reach(rows, target, "bytes"),
                         "rounds_to_target": first_reach(rows, target, "round"),
                         "final_acc": None if failure else final_accuracy(rows),
                         "total_bytes": rows[-1]["bytes_down_total"] + rows[-1]["bytes_up_total"],
                         "failed": failure}
                    runs.append(e)
                    print(json.dumps({"model": model, "codec": codec, **e}), flush=True)
                res["codecs"][codec] = {"up": up, "down": down, "runs": runs,
                                        **summary(runs, ["bytes_to_target", "rounds_to_target", "final_acc"])}
            base = res["codecs"].get("none")
            if base:
                for e in res["codecs"].values():
                    e["bytes_reduction_vs_none"] = reduction(e["runs"], base["runs"], "bytes_to_target")
                    diffs = [100 * (r["final_acc"] - b["final_acc"]) for r, b in zip(e["runs"], base["runs"])
                             if r["final_acc"] is not None and b["final_acc"] is not None]
                    e["final_acc_vs_none_points"] = benchlib.mean_std(diffs) if diffs else None
            out["compression"][model] = res
        if "scheduling" in a.part and model == "mlp":
            res = {"target": target, "rounds": rounds, "seeds": seeds, "profile": "lognormal",
                   "deadline_s": DEADLINE_S[model], "policies": {}}
            for pol in POLICIES:
                sets = ["scheduling.profile=lognormal", f"scheduling.policy={pol}"]
                if pol == "deadline":
                    sets.append(f"scheduling.deadline_s={DEADLINE_S[model]}")
                runs = []
                for seed in seeds:
                    rows, failure = sim(fedc, model, rounds, a.threads, seed, tmp, sets, env)
                    e = {"seed": seed, "sim_s_to_target": first_reach(rows, target, "sim_elapsed_s"),
                         "rounds_to_target": first_reach(rows, target, "round"),
                         "final_acc": None if failure else final_accuracy(rows),
                         "sim_s_total": rows[-1]["sim_elapsed_s"], "failed": failure}
                    runs.append(e)
                    print(json.dumps({"model": model, "policy": pol, **e}), flush=True)
                res["policies"][pol] = {"runs": runs,
                                        **summary(runs, ["sim_s_to_target", "rounds_to_target", "final_acc"])}
            base = res["policies"]["random"]
            for e in res["policies"].values():
                e["time_reduction_vs_random"] = reduction(e["runs"], base["runs"], "sim_s_to_target")
            out["scheduling"][model] = res
    shutil.rmtree(tmp, ignore_errors=True)
    # A run of some models or parts keeps the other results of the file, with their own provenance.
    path = os.path.join(benchlib.RESULTS, "comm.json")
    old = json.load(open(path)) if os.path.exists(path) else {}
    merged = {"compression": old.get("compression", {}) if "meta" in old else {},
              "scheduling": old.get("scheduling", {}) if "meta" in old else {}}
    meta = prov.meta()
    for part in ("compression", "scheduling"):
        for model, res in out[part].items():
            res["meta"] = meta
            merged[part][model] = res
    benchlib.write_results("comm", prov, merged)
    print("wrote bench/results/comm.json; tables: /usr/bin/python3 bench/render_tables.py")


main()
