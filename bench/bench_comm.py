"""Compression and scheduling benchmark (issue 5): the table users read.

Compression: Fashion-MNIST, 100 clients, Dirichlet alpha=0.5, 10 per round; for each codec
(applied to both the update path and the model path) the bytes (up + down, counted at the
transport) needed to first reach the target test accuracy, and the final accuracy after a
fixed number of rounds, against uncompressed FedAvg run in the same invocation.

Scheduling: the same task with a heterogeneous 'lognormal' profile (10% of clients 10x slower,
10% intermittently offline): simulated wall-clock time to the target accuracy per policy.

usage: /usr/bin/python3 bench/bench_comm.py [--build build] [--models mlp,cnn] [--rounds-mlp 60]
       [--rounds-cnn 40] [--part compression,scheduling] [--threads 2]
Writes bench/results/comm.json and prints Markdown tables.
"""
import argparse, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (update path, model path). The model path sends each node the change since its
# last copy, so lossy codecs there do not accumulate error.
CODECS = [("none", "none"), ("fp16", "fp16"), ("q8", "q8"), ("q4", "q4"), ("q2|zstd", "q2|zstd"),
          ("topk:0.1|q8", "topk:0.1|q8"), ("topk:0.01|q8|zstd", "topk:0.01|q8|zstd"),
          ("randk:0.1", "randk:0.1"), ("sign|zstd", "sign|zstd"),
          ("topk:0.05|q8|zstd", "q2|zstd"), ("sign|zstd", "q2|zstd"), ("topk:0.1|q4|zstd", "q2|zstd")]
POLICIES = ["random", "round-robin", "samples", "age", "power-of-choice", "deadline"]
TARGET = {"mlp": 0.78, "cnn": 0.82}
# Round deadline for the deadline policy: ~1.5x the median client's predicted round time
# under the lognormal profile (median 2000 samples/s, 10 Mbit/s up, 50 Mbit/s down).
DEADLINE_S = {"mlp": 2.0, "cnn": 12.0}


def sim(fedc, model, rounds, threads, tmp, sets):
    name = f"{model}-" + "-".join(s.replace("|", "+").replace(":", "").replace("=", "").replace(".", "")
                                   for s in sets)[:120]
    metrics = os.path.join(tmp, name + ".jsonl")
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet", "--threads",
           str(threads), "--set", f"rounds={rounds}", "--set", "partition.kind=dirichlet",
           "--set", "partition.alpha=0.5", "--metrics", metrics, "--out", os.path.join(tmp, name)]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-3000:])
        raise SystemExit("fedc sim failed: " + " ".join(cmd))
    return [json.loads(l) for l in open(metrics)]


def final_accuracy(rows):
    """Mean test accuracy of the last 5 rounds: one round of a non-IID run is noisy."""
    accs = [r["accuracy"] or 0.0 for r in rows[-5:]]
    return sum(accs) / len(accs)


def first_reach(rows, target, key):
    for r in rows:
        if r["evaluated"] and r["accuracy"] is not None and r["accuracy"] >= target:
            return r[key] if key != "bytes" else r["bytes_down_total"] + r["bytes_up_total"]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--rounds-mlp", type=int, default=60)
    ap.add_argument("--rounds-cnn", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--part", default="compression,scheduling")
    ap.add_argument("--codecs", default=None, help="comma-separated UP/DOWN pairs, e.g. q8/q8,none/none")
    a = ap.parse_args()
    fedc = os.path.join(a.build, "fedc")
    tmp = tempfile.mkdtemp(prefix="fedc-comm-")
    out = {"compression": {}, "scheduling": {}, "targets": TARGET}
    for model in a.models.split(","):
        rounds = a.rounds_mlp if model == "mlp" else a.rounds_cnn
        target = TARGET[model]
        if "compression" in a.part:
            rows_by = {}
            pairs = [tuple(c.split("/")) for c in a.codecs.split(",")] if a.codecs else CODECS
            for up, down in pairs:
                codec = up if up == down else f"{up} / {down}"
                rows = sim(fedc, model, rounds, a.threads, tmp,
                           [f"compression.up={up}", f"compression.down={down}"])
                rows_by[codec] = rows
                e = {"bytes_to_target": first_reach(rows, target, "bytes"),
                     "rounds_to_target": first_reach(rows, target, "round"),
                     "final_acc": final_accuracy(rows),
                     "total_bytes": rows[-1]["bytes_down_total"] + rows[-1]["bytes_up_total"]}
                out["compression"].setdefault(model, {})[codec] = e
                print(json.dumps({"model": model, "codec": codec, **e}), flush=True)
            base = out["compression"][model]["none"]
            print(f"\n### Compression, {model.upper()} (target accuracy {target}, {rounds} rounds)\n")
            print("| codec (update path / model path) | bytes to target | vs none | rounds to target | final accuracy (mean of last 5 rounds) | vs none (points) |")
            print("|---|---|---|---|---|---|")
            for codec, e in out["compression"][model].items():
                bt = e["bytes_to_target"]
                red = (f"-{100 * (1 - bt / base['bytes_to_target']):.1f}%" if bt and base["bytes_to_target"] else "n/a")
                print(f"| `{codec}` | {bt / 1e6 if bt else float('nan'):.1f} MB | {red} | {e['rounds_to_target']} | "
                      f"{e['final_acc']:.4f} | {100 * (e['final_acc'] - base['final_acc']):+.2f} |")
        if "scheduling" in a.part:
            for pol in POLICIES:
                sets = ["scheduling.profile=lognormal", f"scheduling.policy={pol}"]
                if pol == "deadline":
                    sets.append(f"scheduling.deadline_s={DEADLINE_S[model]}")
                rows = sim(fedc, model, rounds, a.threads, tmp, sets)
                e = {"sim_s_to_target": first_reach(rows, target, "sim_elapsed_s"),
                     "rounds_to_target": first_reach(rows, target, "round"),
                     "final_acc": final_accuracy(rows), "sim_s_total": rows[-1]["sim_elapsed_s"]}
                out["scheduling"].setdefault(model, {})[pol] = e
                print(json.dumps({"model": model, "policy": pol, **e}), flush=True)
            base = out["scheduling"][model]["random"]
            print(f"\n### Scheduling, {model.upper()} (lognormal profile, target accuracy {target})\n")
            print("| policy | simulated s to target | vs random | rounds to target | final accuracy |")
            print("|---|---|---|---|---|")
            for pol, e in out["scheduling"][model].items():
                s = e["sim_s_to_target"]
                rel = (f"{100 * (s / base['sim_s_to_target'] - 1):+.0f}%" if s and base["sim_s_to_target"] else "n/a")
                print(f"| {pol} | {s if s is not None else float('nan'):.1f} | {rel} | {e['rounds_to_target']} | {e['final_acc']:.4f} |")
    # Merge by model so runs of one model keep the other's results.
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", "comm.json")
    old = json.load(open(path)) if os.path.exists(path) else {}
    for part in ("compression", "scheduling"):
        old.setdefault(part, {}).update(out[part])
    old["targets"] = TARGET
    with open(path, "w") as f:
        json.dump(old, f, indent=1)


main()
