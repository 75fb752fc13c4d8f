"""FL methods benchmark: every strategy of docs/algorithms.md against FedAvg in the same
invocation, on Fashion-MNIST, 100 clients, 10 per round, Dirichlet alpha 0.1 and 0.5, three
seeds (mean +- std), at equal rounds and as rounds to a target accuracy, with the bytes each
method moves; plus the setting each paper highlights:
  - FedAU: heterogeneous participation (each client available in a round with its own
    probability, 0.5 for clients whose largest class is 0-4, 0.05 for the others; all available
    clients train);
  - FedNova, AFA-CD, AFA-CS: heterogeneous local work (each client draws 1..5 epochs a round);
  - FedHyper: the local learning rate 10x too small (0.005 instead of 0.05).
The CNN grid (--part cnn) runs every method of the issue (CNN_METHODS: the grid's methods but FedProx)
on the alphas of --cnn-alphas for --cnn-rounds rounds, or only those of --methods (with FedAvg):
each CNN round costs ~45x an MLP round, and the 2 cores are shared with other work, so it runs
fewer rounds than the MLP grid. Each CNN table keeps its own provenance (commit, date, load,
command), so it can be measured without re-running the MLP grid.

usage: nice -n 10 /usr/bin/python3 bench/bench_strategies.py [--build build] [--rounds 30]
       [--cnn-rounds 10] [--cnn-alphas 0.1,0.5] [--seeds 3] [--jobs 3]
       [--part grid,highlight,cnn,audit,audit-fedau] [--methods NAME,NAME] [--audit-rounds 40]
       [--cache DIR] [--render-only]
--methods re-measures only those rows of the grid (with FedAvg, run again in the same
invocation as the baseline) and keeps the other rows of the results file; with --part cnn it
chooses the CNN grid's rows (with FedAvg). The audit parts
check the findings that contradict papers in settings closer to each paper's own: SCAFFOLD's
two options and FedAvg at 5 local steps; FedAMD and FedAvg at the authors' local setting (10
steps, lr 0.01); FedAU's heterogeneous participation over --audit-rounds rounds.
Writes bench/results/strategies.json (with commit, date, CPU, cores and the command) and
renders the tables into docs/algorithms.md between the BEGIN/END markers.
"""
import argparse, concurrent.futures, datetime, json, os, shlex, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "strategies.json")
DOC = os.path.join(ROOT, "docs", "algorithms.md")

# name shown -> --set overrides. AFA's server lr eta is set near the typical local step count
# (about 19 steps of batch 32 for 600 samples), so a round moves about as far as FedAvg's.
METHODS = [
    ("fedavg", []),
    ("fedprox", ["strategy.name=fedprox", "strategy.mu=0.01"]),
    ("scaffold (option II)", ["strategy.name=scaffold", "strategy.scaffold_option=2"]),
    ("scaffold (option I)", ["strategy.name=scaffold", "strategy.scaffold_option=1"]),
    ("fedavg-m", ["strategy.name=fedavg-m", "strategy.client_beta=0.5"]),
    ("scaffold-m", ["strategy.name=scaffold-m", "strategy.client_beta=0.5"]),
    ("fednova", ["strategy.name=fednova"]),
    ("fedau", ["strategy.name=fedau"]),
    ("afa-cd", ["strategy.name=afa-cd", "strategy.server_lr=20"]),
    ("afa-cs", ["strategy.name=afa-cs", "strategy.server_lr=20"]),
    ("fedhyper (global)", ["strategy.name=fedhyper", "strategy.hyper_level=global"]),
    ("fedsam", ["strategy.name=fedsam", "strategy.rho=0.05"]),
    ("fedspeed", ["strategy.name=fedspeed", "strategy.rho=0.05", "strategy.lambda=10"]),
    ("fedamd", ["strategy.name=fedamd", "strategy.anchor_prob=0.2"]),
    ("fedld", ["strategy.name=fedld"]),
]
CNN_METHODS = [m[0] for m in METHODS if m[0] != "fedprox"]
# What each paper claims against FedAvg in the setting benchmarked here.
CLAIMS = {
    "fedprox": "higher accuracy than FedAvg on non-IID data",
    "scaffold (option II)": "higher accuracy / fewer rounds than FedAvg on non-IID data (client drift corrected)",
    "scaffold (option I)": "as option II, with a more exact control variate",
    "fedavg-m": "higher accuracy than FedAvg under heterogeneity",
    "scaffold-m": "faster than SCAFFOLD under partial participation",
    "fednova": "equal to FedAvg with equal local steps; better with heterogeneous steps",
    "fedau": "equal to FedAvg under uniform participation; better with heterogeneous participation",
    "afa-cd": "converges like FedAvg despite anarchic participation and steps",
    "afa-cs": "better than AFA-CD (reuses every worker's latest update)",
    "fedhyper (global)": "faster than FedAvg; robust to a badly chosen learning rate",
    "fedsam": "higher (better generalising) accuracy than FedAvg on non-IID data",
    "fedspeed": "higher accuracy than FedAvg and FedSAM, fewer rounds",
    "fedamd": "faster than FedAvg under partial participation",
    "fedld": "higher accuracy than FedAvg on heterogeneous data",
}


CACHE = None  # --cache: finished runs are kept there and not run again
REUSED = []  # the runs of this invocation found finished in the cache


def run(fedc, model, rounds, seed, alpha, sets, threads, tmp):
    tag = f"{model}-a{alpha}-s{seed}-" + "-".join(s.split("=")[-1].split("/")[-1] for s in sets)
    tag = "".join(c if c.isalnum() or c in "-." else "_" for c in tag)[:150]
    out = os.path.join(CACHE or tmp, tag)
    metrics = os.path.join(out, "metrics.jsonl")
    done = os.path.exists(metrics) and sum(1 for _ in open(metrics)) == rounds
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet", "--threads",
           str(threads), "--out", out, "--set", f"rounds={rounds}", "--set", "partition.kind=dirichlet",
           "--set", f"partition.alpha={alpha}", "--set", f"seed={seed}", "--set", "eval_every=2"]
    for s in sets:
        cmd += ["--set", s]
    diverged = None
    if done:
        REUSED.append(tag)
    else:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            # A run whose clients' models went non-finite stops with no usable update: the
            # method diverged here. It counts at chance accuracy (0.1), and the table says so.
            if "usable update" not in p.stderr:
                sys.stderr.write(p.stderr[-3000:])
                raise SystemExit("fedc sim failed: " + " ".join(cmd))
            diverged = True
    rows = [json.loads(l) for l in open(metrics)] if os.path.exists(metrics) else []
    if len(rows) < rounds:
        diverged = len(rows) + 1
    ev = [r for r in rows if r["evaluated"]]
    per_round_up = rows[0]["bytes_up"] if rows else 0
    per_round_down = rows[0]["bytes_down"] if rows else 0
    if diverged:
        return {"acc": [r["accuracy"] for r in ev], "rounds": [r["round"] for r in ev], "final": 0.1,
                "diverged_at": diverged, "bytes_up": per_round_up * rounds, "bytes_down": per_round_down * rounds}
    return {"acc": [r["accuracy"] for r in ev], "rounds": [r["round"] for r in ev],
            "final": sum(r["accuracy"] for r in ev[-3:]) / len(ev[-3:]),
            "bytes_up": rows[-1]["bytes_up_total"], "bytes_down": rows[-1]["bytes_down_total"]}


def reach(res, target):
    for a, r in zip(res["acc"], res["rounds"]):
        if a >= target:
            return r
    return None


def summarize(runs, target):
    finals = [r["final"] for r in runs]
    rt = [reach(r, target) for r in runs]
    rounds = runs[0]["rounds_total"]
    return {"final_mean": statistics.mean(finals), "final_std": statistics.stdev(finals) if len(finals) > 1 else 0.0,
            "finals": finals, "rounds_to_target": rt,
            "diverged_at": [r.get("diverged_at") for r in runs],
            "bytes_up_per_round": runs[0]["bytes_up"] / rounds,
            "bytes_down_per_round": runs[0]["bytes_down"] / rounds}


def provenance(args):
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    version = subprocess.run([os.path.join(args.build, "fedc"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    nice = os.nice(0)  # the niceness this invocation really ran at
    return {"commit": commit, "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
            "cores": os.cpu_count(), "load_average": open("/proc/loadavg").read().split()[:3],
            "fedc_version": version,
            "command": (f"nice -n {nice} " if nice else "") + "/usr/bin/python3 bench/bench_strategies.py " +
                       shlex.join(sys.argv[1:])}


def availability_csv(fedc, path, rounds, seed, alpha, n=100):
    """A trace giving client k availability windows drawn with its own probability."""
    import random
    p = subprocess.run([fedc, "partition", os.path.join(ROOT, "examples", "fmnist-mlp.json"), "--set",
                        "partition.kind=dirichlet", "--set", f"partition.alpha={alpha}", "--set", f"seed={seed}",
                        "--rows", str(n)], capture_output=True, text=True, check=True)
    top = {}  # the partition fedc draws for this seed: each client's largest class
    for line in p.stdout.splitlines()[2:]:
        f = line.split()
        if len(f) == 12 and f[0].isdigit():
            counts = [int(x) for x in f[2:]]
            top[int(f[0])] = max(range(10), key=lambda i: counts[i])
    if len(top) != n:
        raise SystemExit("could not read the partition from `fedc partition`")
    rng = random.Random(seed * 7919 + 17)
    with open(path, "w") as f:
        f.write("client,samples_per_s,up_bps,down_bps,avail\n")
        for k in range(n):
            prob = 0.5 if top.get(k, k % 10) < 5 else 0.05
            on = [r for r in range(1, rounds + 1) if rng.random() < prob]
            f.write(f"{k},1e9,1e12,1e12,{';'.join(str(r) for r in on) if on else str(rounds + 5)}\n")


def fmt(s):
    return f"{s['final_mean']:.4f} ± {s['final_std']:.4f}"


def verdict(delta, std_a, std_b):
    noise = (std_a ** 2 + std_b ** 2) ** 0.5
    if delta > noise:
        return "yes"
    if delta > 0:
        return "yes, within noise"
    if delta > -noise:
        return "no, within noise"
    return "no"


MARKERS = ("<!-- BEGIN strategies table (bench/bench_strategies.py) -->", "<!-- END strategies table -->")


def render(res):
    """Writes the tables into docs/algorithms.md between MARKERS."""
    text = open(DOC).read()
    a, b = MARKERS
    i, j = text.index(a) + len(a), text.index(b)
    open(DOC, "w").write(text[:i] + "\n" + render_text(res) + "\n" + text[j:])


def render_text(res):
    """The Markdown between MARKERS (bench/render_tables.py --check compares it with the document)."""
    lines = []
    p = res["provenance"]
    lines.append(f"Measured {p['date']} on {p['cpu']} ({p['cores']} cores shared with other work, load "
                 f"{' '.join(p['load_average'])}), commit `{p['commit'][:10]}`, with `{p['command']}` "
                 f"(results in `bench/results/strategies.json`).")
    lines.append("")
    grid = res.get("grid", {})
    for key in sorted(grid, key=lambda k: (k.startswith("cnn"), k)):
        g = grid[key]
        base = g["methods"]["fedavg"]
        if "provenance" in g:
            q = g["provenance"]
            lines.append(f"**{g['title']}** measured on its own: {q['date']} on {q['cpu']} ({q['cores']} cores shared "
                         f"with other work, load {' '.join(q['load_average'])}), commit `{q['commit'][:10]}`, with "
                         f"`{q['command']}`" + (f"; {q['reused_runs']} of its runs were found finished in the --cache "
                                                 f"folder, left there by an earlier invocation with the same fedc "
                                                 f"binary and settings" if q.get("reused_runs") else "") + "." +
                         (f" Binary: `{q['fedc_version']}`." if q.get("fedc_version") else "") +
                         (f" {q['note']}" if q.get("note") else ""))
            lines.append("")
        lines.append(f"**{g['title']}**: final accuracy = mean of the last 3 evaluations (every 2 rounds) "
                     f"after {g['rounds']} rounds, mean ± std over seeds {g['seeds']}; rounds to "
                     f"{g['target']:.3f} (95% of FedAvg's final accuracy) per seed, - = not reached.")
        lines.append("")
        lines.append("| method | final accuracy | vs FedAvg (points) | paper's direction here? | rounds to target | "
                     "bytes up / round | bytes down / round |")
        lines.append("|---|---|---|---|---|---|---|")
        for name, s in g["methods"].items():
            d = (s["final_mean"] - base["final_mean"]) * 100
            v = "" if name == "fedavg" else verdict(d / 100, s["final_std"], base["final_std"])
            rt = ", ".join("-" if x is None else str(x) for x in s["rounds_to_target"])
            dv = [x for x in s.get("diverged_at", []) if x]
            if dv:
                v = f"no: diverged (non-finite models) in {len(dv)} of {len(s['finals'])} seeds, by round {max(dv)}"
                # a run can also blow up without a non-finite model: a huge finite loss, chance accuracy
                chance = sum(1 for f in s["finals"] if f < 0.105)
                if chance > len(dv):
                    v += f"; at chance accuracy (10 classes) in {chance} of {len(s['finals'])}"
            lines.append(f"| {name} | {fmt(s)} | {'' if name == 'fedavg' else f'{d:+.2f}'} | {v} | {rt} | "
                         f"{s['bytes_up_per_round'] / 1e6:.2f} MB | {s['bytes_down_per_round'] / 1e6:.2f} MB |")
        lines.append("")
    for key in sorted(grid, key=lambda k: (k.startswith("cnn"), k)):
        rm = grid[key].get("remeasured")
        if rm:
            lines.append(f"Rows re-measured in **{grid[key]['title']}** ({', '.join(rm['methods'])}, with FedAvg "
                         f"run again as their baseline) on {rm['date']}, commit `{rm['commit'][:10]}`: "
                         f"`{rm['command']}`.")
            lines.append("")
    audit = res.get("audit", [])
    for h in res.get("highlight", []) + audit:
        if audit and h is audit[0]:
            q = h["provenance"]
            lines.append(f"**Audit of the findings that contradict the papers**, in settings closer to each "
                         f"paper's own (measured {q['date']}, load {' '.join(q['load_average'])}, commit "
                         f"`{q['commit'][:10]}`, with `{q['command']}`):")
            lines.append("")
        base = h["methods"][h["baseline"]]
        lines.append(f"**{h['title']}** ({h['rounds']} rounds, seeds {h['seeds']}, Dirichlet {h.get('alpha', 0.5)}): "
                     f"{h['setting']}")
        lines.append("")
        lines.append(f"| method | final accuracy | vs {h['baseline']} (points) | paper's direction here? | rounds to "
                     f"{h['target']:.3f} |")
        lines.append("|---|---|---|---|---|")
        for name, s in h["methods"].items():
            d = (s["final_mean"] - base["final_mean"]) * 100
            v = "" if name == h["baseline"] else verdict(d / 100, s["final_std"], base["final_std"])
            rt = ", ".join("-" if x is None else str(x) for x in s["rounds_to_target"])
            dv = [x for x in s.get("diverged_at", []) if x]
            if dv:
                v = f"no: diverged in {len(dv)} of {len(s['finals'])} seeds"
            lines.append(f"| {name} | {fmt(s)} | {'' if name == h['baseline'] else f'{d:+.2f}'} | {v} | {rt} |")
        lines.append("")
    for key in res:
        if key.startswith("provenance_"):
            q = res[key]
            lines.append(f"Merged from a second invocation run at the same time ({q['date']}, commit "
                         f"`{q['commit'][:10]}`): `{q['command']}`.")
            lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--cnn-rounds", type=int, default=10)
    ap.add_argument("--cnn-alphas", default="0.1,0.5", help="the CNN grid's Dirichlet alphas, run in this order")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=3, help="simulations run side by side")
    ap.add_argument("--part", default="grid,highlight,cnn")
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results", "strategies.json"), help="results file (parts run separately merge with --merge)")
    ap.add_argument("--merge", default="", help="with --render-only: take the parts this other results file has")
    ap.add_argument("--cache", default="", help="keep finished runs here and reuse them")
    ap.add_argument("--methods", default="", help="grid: re-measure only these rows (FedAvg runs again as baseline)")
    ap.add_argument("--audit-rounds", type=int, default=40, help="rounds of the audit-fedau part")
    args = ap.parse_args()
    global CACHE
    CACHE = args.cache or None
    global RESULTS
    RESULTS = args.results
    if args.render_only:
        res = json.load(open(RESULTS))
        if args.merge:
            other = json.load(open(args.merge))
            res.setdefault("grid", {}).update(other.get("grid", {}))
            if "highlight" in other:
                res["highlight"] = other["highlight"]
            res["provenance_" + os.path.basename(args.merge)] = other["provenance"]
            res.setdefault("merged_from", []).append(os.path.relpath(args.merge, ROOT))
            json.dump(res, open(RESULTS, "w"), indent=1)
        render(res)
        return
    fedc = os.path.join(args.build, "fedc")
    parts = args.part.split(",")
    seeds = list(range(1, args.seeds + 1))
    res = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
    prov = provenance(args)
    # A partial invocation (some grid rows, the audit) keeps the provenance of the run that
    # measured the rest; its own goes with the rows and tables it measured.
    partial = bool(args.methods) or not set(parts) & {"grid", "highlight"}
    if not partial or "provenance" not in res:
        res["provenance"] = prov
    res.setdefault("grid", {})
    with tempfile.TemporaryDirectory(prefix="fedc-strat-") as tmp:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)

        def many(specs):
            """Runs (model, rounds, seed, alpha, sets) side by side; results in order."""
            futs = [pool.submit(run, fedc, m, r, s, a, sets, args.threads, tmp) for m, r, s, a, sets in specs]
            out = [f.result() for f in futs]
            for (m, r, s, a, sets), o in zip(specs, out):
                o["rounds_total"] = r
            return out

        def grid(model, alpha, rounds, methods):
            chosen = [(name, sets) for name, sets in METHODS if name in methods]
            flat = many([(model, rounds, s, alpha, sets) for _, sets in chosen for s in seeds])
            runs = {name: flat[i * len(seeds):(i + 1) * len(seeds)] for i, (name, _) in enumerate(chosen)}
            base = statistics.mean(r["final"] for r in runs["fedavg"])
            target = round(0.95 * base, 3)
            out = {"title": f"{model.upper()}, Dirichlet alpha {alpha}", "rounds": rounds, "seeds": seeds,
                   "target": target, "methods": {n: summarize(r, target) for n, r in runs.items()}}
            for n in out["methods"]:
                out["methods"][n]["claim"] = CLAIMS.get(n, "")
            print(json.dumps({k: (v["final_mean"], v["final_std"]) for k, v in out["methods"].items()}), flush=True)
            return out
        names = [m[0] for m in METHODS]
        only = [m for m in args.methods.split(",") if m]
        for m in only:
            if m not in names:
                raise SystemExit(f"--methods: no method named {m!r}; known: {', '.join(names)}")
        if "grid" in parts:
            for alpha in (0.1, 0.5):
                key = f"mlp-{alpha}"
                if only:
                    g = grid("mlp", alpha, args.rounds, ["fedavg"] + only)
                    old = res["grid"].get(key)
                    if old and old["rounds"] == args.rounds and old["seeds"] == seeds:
                        old["methods"].update(g["methods"])
                        g = old
                    g["remeasured"] = dict(prov, methods=only)
                    res["grid"][key] = g
                else:
                    res["grid"][key] = grid("mlp", alpha, args.rounds, names)
                json.dump(res, open(RESULTS, "w"), indent=1)
        if "cnn" in parts:
            for alpha in (float(a) for a in args.cnn_alphas.split(",")):
                del REUSED[:]
                g = grid("cnn", alpha, args.cnn_rounds, ["fedavg"] + only if only else CNN_METHODS)
                g["provenance"] = dict(prov, reused_runs=len(REUSED))
                res["grid"][f"cnn-{alpha}"] = g
                json.dump(res, open(RESULTS, "w"), indent=1)
        hl = []
        if "highlight" in parts or "audit" in parts or "audit-fedau" in parts:

            def highlight(title, setting, methods, common, baseline, alpha=0.5, rounds=None, out=None):
                rounds = rounds or args.rounds
                flat = many([("mlp", rounds, s, alpha, sets + [x.format(seed=s, tmp=tmp) for x in common])
                             for _, sets in methods for s in seeds])
                runs = {name: flat[i * len(seeds):(i + 1) * len(seeds)] for i, (name, _) in enumerate(methods)}
                base = statistics.mean(r["final"] for r in runs[baseline])
                target = round(0.95 * base, 3)
                h = {"title": title, "setting": setting, "rounds": rounds, "seeds": seeds, "target": target,
                     "alpha": alpha, "baseline": baseline,
                     "methods": {n: summarize(r, target) for n, r in runs.items()}}
                print(json.dumps({k: (v["final_mean"], v["final_std"]) for k, v in h["methods"].items()}), flush=True)
                (hl if out is None else out).append(h)

        if "highlight" in parts:
            for s in seeds:
                availability_csv(fedc, os.path.join(tmp, f"avail-{s}.csv"), args.rounds, s, 0.5)
            highlight("FedAU: heterogeneous participation",
                      "Dirichlet 0.5; client k is available in a round with probability 0.5 if its largest "
                      "class is 0-4, else 0.05; every available client trains (clients_per_round 100).",
                      [("fedavg", []), ("fedau", ["strategy.name=fedau"])],
                      ["clients_per_round=100", "scheduling.profile={tmp}/avail-{seed}.csv"], "fedavg")
            highlight("FedNova and Anarchic FL: heterogeneous local steps",
                      "Dirichlet 0.5; each client draws 1 to 5 local epochs per round (local.min_epochs 1, "
                      "local.epochs 5).",
                      [("fedavg", []), ("fednova", ["strategy.name=fednova"]),
                       ("afa-cd", ["strategy.name=afa-cd", "strategy.server_lr=50"]),
                       ("afa-cs", ["strategy.name=afa-cs", "strategy.server_lr=50"])],
                      ["local.min_epochs=1", "local.epochs=5"], "fedavg")
            highlight("FedHyper: local learning rate 10x too small",
                      "Dirichlet 0.5; local.lr 0.005 instead of 0.05.",
                      [("fedavg", []), ("fedhyper (global)", ["strategy.name=fedhyper", "strategy.hyper_level=global"]),
                       ("fedhyper (server)", ["strategy.name=fedhyper", "strategy.hyper_level=server"]),
                       ("fedhyper (local)", ["strategy.name=fedhyper", "strategy.hyper_level=local"])],
                      ["local.lr=0.005"], "fedavg")
        if "highlight" in parts:
            res["highlight"] = hl
            json.dump(res, open(RESULTS, "w"), indent=1)
        audit = []
        if "audit" in parts:
            highlight("SCAFFOLD options I and II at 5 local steps",
                      "local.max_steps 5 instead of one epoch (about 19 steps of batch 32 for a 600-sample "
                      "client, and up to several times that for the large clients of Dirichlet 0.1), so "
                      "eta K is small as in the paper's analysis (eta_l <= 1/(81 L K eta_g)).",
                      [("fedavg", []),
                       ("scaffold (option II)", ["strategy.name=scaffold", "strategy.scaffold_option=2"]),
                       ("scaffold (option I)", ["strategy.name=scaffold", "strategy.scaffold_option=1"])],
                      ["local.max_steps=5"], "fedavg", alpha=0.1, out=audit)
            highlight("FedAMD at its authors' local setting",
                      "local.max_steps 10 and local.lr 0.01 (the defaults of the authors' FMNIST script) instead "
                      "of one epoch at lr 0.05; anchor_prob 0.2.",
                      [("fedavg", []), ("fedamd", ["strategy.name=fedamd", "strategy.anchor_prob=0.2"])],
                      ["local.max_steps=10", "local.lr=0.01"], "fedavg", alpha=0.1, out=audit)
        if "audit-fedau" in parts:
            for s in seeds:
                availability_csv(fedc, os.path.join(tmp, f"avail-long-{s}.csv"), args.audit_rounds, s, 0.5)
            highlight(f"FedAU: heterogeneous participation over {args.audit_rounds} rounds",
                      "as the FedAU highlight, over more rounds, so that the rarely available clients "
                      "(p = 0.05) can take part twice and get an estimated weight.",
                      [("fedavg", []), ("fedau", ["strategy.name=fedau"])],
                      ["clients_per_round=100", "scheduling.profile={tmp}/avail-long-{seed}.csv"], "fedavg",
                      rounds=args.audit_rounds, out=audit)
        if audit:
            for a in audit:
                a["provenance"] = prov
            keep = [a for a in res.get("audit", []) if a["title"] not in {b["title"] for b in audit}]
            res["audit"] = keep + audit
            json.dump(res, open(RESULTS, "w"), indent=1)
    render(res)


if __name__ == "__main__":
    main()
