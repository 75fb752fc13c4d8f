"""Robust aggregation under attack: the tables of docs/robustness.md.

Setting: Fashion-MNIST, 100 clients with Dirichlet(0.5) label skew, 10 per round, FedAvg as the
strategy, one local epoch of SGD (lr 0.05, batch 32); every aggregator under every attack at
10/20/40% attackers, 3 seeds (mean +- std of the final accuracy, the mean of the last 3 rounds).

Parts:
  mlp-grid     the full grid on the MLP: 10 aggregators x (clean + 7 attacks x 3 fractions)
  cnn-subset   the CNN of McMahan et al. on the rows of the target: clean and 20% sign-flip and
               scaling, every aggregator (the full CNN grid is ~20x the MLP's CPU time)
  mudhog       MUD-HoG's detection in its authors' setting: 40 clients all taking part every
               round, 10% unreliable clients beside 20% attackers of one kind; precision and
               recall of its malicious and unreliable judgements

Settings per aggregator: the assumed Byzantine fraction is the true attacker fraction (0.2 on
clean runs), capped where the rule cannot run with it (krum, multi-krum: n >= 2f+3, so 0.3 of
10; bulyan: n >= 4f+3, so 0.1). FRL trains supermask scores with its authors' local recipe
(SGD lr 0.4, momentum 0.9, weight decay 1e-4). Attacks use their defaults (docs/robustness.md).

Runs go two at a time, one thread each, under nice; each finished run is saved at once, and a
run already in the results file with the same settings is not run again (--redo to force), so an
interrupted invocation resumes.

usage: /usr/bin/python3 bench/bench_robust.py [--build build] [--parts mlp-grid,cnn-subset,mudhog]
       [--seeds 3] [--jobs 2] [--rounds-mlp 30] [--rounds-cnn 20] [--aggregators a,b]
       [--attacks a,b] [--fractions 0.1,0.2] [--tables-only]
Writes bench/results/robust.json and prints the Markdown tables.
"""
import argparse
import concurrent.futures as cf
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "robust.json")
AGGREGATORS = ["mean", "median", "trimmed-mean", "krum", "multi-krum", "bulyan", "geomed", "flag", "mudhog", "frl"]
ATTACKS = ["sign-flip", "scaling", "noise", "label-flip", "backdoor", "alie", "ipm"]
FRACTIONS = [0.1, 0.2, 0.4]
PER_ROUND = 10
FRL_LOCAL = ["local.lr=0.4", "local.momentum=0.9", "local.weight_decay=0.0001"]
MUDHOG_ATTACKS = ["none", "sign-flip", "noise", "label-flip", "scaling"]
LOCK = threading.Lock()


def assumed_fraction(agg, frac, per_round):
    """The f/n each rule assumes: the truth, capped where the rule cannot run with it."""
    f = math.floor(frac * per_round + 1e-9)
    if agg in ("krum", "multi-krum"):
        f = min(f, (per_round - 3) // 2)
    if agg == "bulyan":
        f = min(f, (per_round - 3) // 4)
    return f / per_round + 1e-6 if f > 0 else 0.0


def settings(part, model, agg, attack, frac, seed, rounds):
    clients, per_round = (40, 40) if part == "mudhog" else (100, PER_ROUND)
    sets = [f"rounds={rounds}", "partition.kind=dirichlet", "partition.alpha=0.5", f"clients={clients}",
            f"clients_per_round={per_round}", f"seed={seed}", f"strategy.aggregator={agg}",
            f"strategy.byzantine_fraction={assumed_fraction(agg, frac if attack != 'none' else 0.2, per_round):.6f}"]
    if attack != "none":
        sets += [f"attack.kind={attack}", f"attack.fraction={frac}"]
    if part == "mudhog":
        sets += ["attack.unreliable=0.1"]
    if agg == "frl":
        sets += FRL_LOCAL
    return sets


def key_of(part, model, agg, attack, frac, seed, rounds):
    return f"{part}|{model}|{agg}|{attack}|{frac if attack != 'none' else 0}|{seed}|{rounds}"


def detection(rows, warmup=4):
    """MUD-HoG's judgements scored against the simulation's truth, per client: its judgement in the
    last round it took part in after warm-up (3 rounds of history, then judgements)."""
    last = {}
    truth_att, truth_unr = set(), set()
    for r in rows:
        truth_att.update(r.get("attackers", []))
        truth_unr.update(r.get("unreliable_clients", []))
        if r["round"] < warmup:
            continue
        fl = r.get("flagged", {})
        mal, unr = set(fl.get("malicious", [])), set(fl.get("unreliable", []))
        seen = set(r.get("attackers", [])) | set(r.get("unreliable_clients", []))
        # every participant's state this round: judged or not
        for c in r.get("participant_clients", []):
            last[c] = "malicious" if c in mal else "unreliable" if c in unr else "benign"
        for c in mal | unr | seen:
            if c not in last:
                last[c] = "malicious" if c in mal else "unreliable" if c in unr else "benign"
    out = {}
    for label, truth in (("malicious", truth_att), ("unreliable", truth_unr)):
        judged = {c for c, v in last.items() if v == label}
        seen = set(last)
        tp = len(judged & truth)
        out[label] = {"tp": tp, "fp": len(judged - truth), "fn": len((truth & seen) - judged),
                      "precision": tp / len(judged) if judged else None,
                      "recall": tp / len(truth & seen) if truth & seen else None}
    return out


def run_one(fedc, part, model, agg, attack, frac, seed, rounds, tmp):
    sets = settings(part, model, agg, attack, frac, seed, rounds)
    name = "-".join([part, model, agg, attack, str(frac), str(seed)])
    metrics = os.path.join(tmp, name + ".jsonl")
    cmd = ["nice", "-n", "10", fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet",
           "--threads", "1", "--metrics", metrics, "--out", os.path.join(tmp, name)]
    for s in sets:
        cmd += ["--set", s]
    t0 = datetime.datetime.now()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    wall = (datetime.datetime.now() - t0).total_seconds()
    if p.returncode != 0:
        return {"error": p.stderr[-2000:], "command": " ".join(cmd[3:])}
    rows = [json.loads(l) for l in open(metrics)]
    accs = [r["accuracy"] if r["accuracy"] is not None else 0.0 for r in rows if r["evaluated"]][-3:]
    out = {"final_acc": sum(accs) / len(accs), "curve": [round(r["accuracy"] or 0.0, 4) for r in rows],
           "wall_s": round(wall, 1), "rounds": len(rows)}
    if attack == "backdoor":
        out["asr"] = rows[-1].get("attack_success_rate")
    if agg == "mudhog":
        out["detection"] = detection(rows)
    left = sum(len(r.get("flagged", {}).get("left_out", [])) for r in rows)
    att_left = sum(len(set(r.get("flagged", {}).get("left_out", [])) & set(r.get("attackers", []))) for r in rows)
    out["left_out"], out["attackers_left_out"] = left, att_left
    out["attacker_participations"] = sum(len(r.get("attackers", [])) for r in rows)
    os.remove(metrics)
    subprocess.run(["rm", "-rf", os.path.join(tmp, name)])
    return out


def load():
    return json.load(open(RESULTS)) if os.path.exists(RESULTS) else {"runs": {}}


def save(res):
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    os.replace(tmp, RESULTS)


def provenance(argv):
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], stdout=subprocess.PIPE, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           stdout=subprocess.PIPE, text=True).stdout.strip() != ""
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load1 = os.getloadavg()[0]
    return {"commit": commit + ("-dirty" if dirty else ""), "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "cpu": cpu, "cores": os.cpu_count(), "machine": platform.machine(), "load_avg_at_start": round(load1, 2),
            "command": "/usr/bin/python3 bench/bench_robust.py " + " ".join(argv)}


def stat(res, part, model, agg, attack, frac, seeds, rounds):
    vals = []
    for s in seeds:
        r = res["runs"].get(key_of(part, model, agg, attack, frac, s, rounds))
        if r and "final_acc" in r:
            vals.append(r)
    if not vals:
        return None
    accs = [v["final_acc"] for v in vals]
    m = sum(accs) / len(accs)
    sd = math.sqrt(sum((a - m) ** 2 for a in accs) / (len(accs) - 1)) if len(accs) > 1 else 0.0
    out = {"mean": m, "std": sd, "n": len(accs)}
    if attack == "backdoor":
        asr = [v["asr"] for v in vals if v.get("asr") is not None]
        out["asr"] = sum(asr) / len(asr) if asr else None
    return out


def cell(s, with_n=False):
    if not s:
        return "–"
    t = f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}"
    if s["n"] < 3:
        t += f" (n={s['n']})"
    return t


def tables(res, args):
    seeds = list(range(args.seeds))
    lines = []
    for part, model, rounds, attacks, fracs in (
            ("mlp-grid", "mlp", args.rounds_mlp, ATTACKS, FRACTIONS),
            ("cnn-subset", "cnn", args.rounds_cnn, ["sign-flip", "scaling"], [0.2])):
        if not any(k.startswith(part + "|") for k in res["runs"]):
            continue
        lines.append(f"\n### {model.upper()}: final accuracy (%, mean ± std over {len(seeds)} seeds, {rounds} rounds)\n")
        hdr = "| attack | attackers | " + " | ".join(AGGREGATORS) + " |"
        lines += [hdr, "|" + "---|" * (len(AGGREGATORS) + 2)]
        row = "| none (clean) | 0% | " + " | ".join(cell(stat(res, part, model, a, "none", 0, seeds, rounds))
                                                      for a in AGGREGATORS) + " |"
        lines.append(row)
        for atk in attacks:
            for fr in fracs:
                cells = []
                for a in AGGREGATORS:
                    s = stat(res, part, model, a, atk, fr, seeds, rounds)
                    c = cell(s)
                    if s and atk == "backdoor" and s.get("asr") is not None:
                        c += f" (ASR {100 * s['asr']:.0f})"
                    cells.append(c)
                if any(c != "–" for c in cells):  # rows not measured yet are left out
                    lines.append(f"| {atk} | {int(fr * 100)}% | " + " | ".join(cells) + " |")
        # The target: best aggregator at 20% sign-flip / scaling vs the clean FedAvg run.
        clean = stat(res, part, model, "mean", "none", 0, seeds, rounds)
        if clean:
            lines.append("")
            for atk in ("sign-flip", "scaling"):
                best = None
                for a in AGGREGATORS:
                    s = stat(res, part, model, a, atk, 0.2, seeds, rounds)
                    if s and (best is None or s["mean"] > best[1]["mean"]):
                        best = (a, s)
                if best:
                    gap = 100 * (best[1]["mean"] - clean["mean"])
                    lines.append(f"- {model.upper()}, 20% {atk}: best `{best[0]}` {100 * best[1]['mean']:.1f} vs "
                                 f"clean FedAvg {100 * clean['mean']:.1f} ({gap:+.1f} points; target: within 2)")
    mud = [k for k in res["runs"] if k.startswith("mudhog|")]
    if mud:
        lines.append("\n### MUD-HoG detection, its authors' setting (40 clients, all every round, 10% unreliable)\n")
        lines.append("| attack (20%) | accuracy | malicious precision | malicious recall | unreliable precision | "
                     "unreliable recall |")
        lines.append("|---|---|---|---|---|---|")
        for atk in MUDHOG_ATTACKS:
            frac = 0.2 if atk != "none" else 0
            runs = [res["runs"].get(key_of("mudhog", "mlp", "mudhog", atk, frac, s, args.rounds_mlp)) for s in seeds]
            runs = [r for r in runs if r and "detection" in r]
            if not runs:
                continue
            def pr(label, what):
                v = [r["detection"][label][what] for r in runs if r["detection"][label][what] is not None]
                if not v:
                    return "–"
                m = sum(v) / len(v)
                if len(v) < 2:
                    return f"{m:.2f} (n=1)"
                sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
                return f"{m:.2f} ± {sd:.2f}" + (f" (n={len(v)})" if len(v) < 3 else "")
            acc = [r["final_acc"] for r in runs]
            m = sum(acc) / len(acc)
            lines.append(f"| {atk} | {100 * m:.1f} | {pr('malicious', 'precision')} | {pr('malicious', 'recall')} | "
                         f"{pr('unreliable', 'precision')} | {pr('unreliable', 'recall')} |")
        lines.append("\n### MUD-HoG detection in the grid's setting (100 clients, 10 per round)\n")
        lines.append("| attack | attackers | malicious precision | malicious recall |")
        lines.append("|---|---|---|---|")
        for atk in ATTACKS:
            for fr in FRACTIONS:
                runs = [res["runs"].get(key_of("mlp-grid", "mlp", "mudhog", atk, fr, s, args.rounds_mlp)) for s in seeds]
                runs = [r for r in runs if r and "detection" in r]
                if not runs:
                    continue
                def pr2(what):
                    v = [r["detection"]["malicious"][what] for r in runs if r["detection"]["malicious"][what] is not None]
                    return f"{sum(v) / len(v):.2f}" if v else "–"
                lines.append(f"| {atk} | {int(fr * 100)}% | {pr2('precision')} | {pr2('recall')} |")
    return "\n".join(lines)


def main():
    global RESULTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--parts", default="mlp-grid,cnn-subset,mudhog")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds-mlp", type=int, default=30)
    ap.add_argument("--rounds-cnn", type=int, default=20)
    ap.add_argument("--aggregators", default=",".join(AGGREGATORS))
    ap.add_argument("--attacks", default=",".join(ATTACKS))
    ap.add_argument("--fractions", default=",".join(str(f) for f in FRACTIONS))
    ap.add_argument("--redo", action="store_true")
    ap.add_argument("--tables-only", action="store_true")
    ap.add_argument("--results", default=RESULTS, help="results file (default bench/results/robust.json)")
    a = ap.parse_args()
    RESULTS = a.results
    res = load()
    if not a.tables_only:
        fedc = os.path.join(a.build, "fedc")
        aggs = a.aggregators.split(",")
        attacks = a.attacks.split(",")
        fracs = [float(f) for f in a.fractions.split(",")]
        jobs = []
        for part in a.parts.split(","):
            for seed in range(a.seeds):
                if part == "mlp-grid":
                    for agg in aggs:
                        jobs.append((part, "mlp", agg, "none", 0, seed, a.rounds_mlp))
                        jobs += [(part, "mlp", agg, atk, fr, seed, a.rounds_mlp) for atk in attacks for fr in fracs]
                elif part == "cnn-subset":
                    for agg in aggs:
                        jobs.append((part, "cnn", agg, "none", 0, seed, a.rounds_cnn))
                        jobs += [(part, "cnn", agg, atk, 0.2, seed, a.rounds_cnn) for atk in ("sign-flip", "scaling")
                                 if atk in attacks]
                elif part == "mudhog":
                    for atk in MUDHOG_ATTACKS:
                        jobs.append((part, "mlp", "mudhog", atk, 0.2 if atk != "none" else 0, seed, a.rounds_mlp))
        todo = [j for j in jobs if a.redo or "final_acc" not in res["runs"].get(key_of(*j), {})]
        res.setdefault("provenance", []).append(dict(provenance(sys.argv[1:]), runs_planned=len(todo)))
        res["setting"] = ("Fashion-MNIST, Dirichlet alpha 0.5, FedAvg strategy, 1 local epoch of SGD lr 0.05 batch 32 "
                          "(FRL: lr 0.4, momentum 0.9, weight decay 1e-4); grid: 100 clients, 10 per round; mudhog "
                          "part: 40 clients, all 40 per round, 10% unreliable clients; final accuracy = mean of the "
                          "last 3 rounds; assumed Byzantine fraction = true attacker fraction (0.2 on clean runs), "
                          "capped at 0.3 for krum/multi-krum and 0.1 for bulyan")
        save(res)
        print(f"{len(todo)} runs to do, {len(jobs) - len(todo)} already done", flush=True)
        tmp = tempfile.mkdtemp(prefix="fedc-robust-")
        done = 0
        with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            futs = {ex.submit(run_one, fedc, *j[:6], j[6], tmp): j for j in todo}
            for fut in cf.as_completed(futs):
                j = futs[fut]
                out = fut.result()
                out["settings"] = settings(*j)
                with LOCK:
                    res["runs"][key_of(*j)] = out
                    save(res)
                done += 1
                print(json.dumps({"run": key_of(*j), "final_acc": out.get("final_acc"), "wall_s": out.get("wall_s"),
                                  "error": out.get("error", "")[-300:], "done": f"{done}/{len(todo)}"}), flush=True)
        res["provenance"][-1]["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        save(res)
    print(tables(res, a))


main()
