"""Local optimizers and layers benchmark (docs/algorithms.md, "Local optimizers and layers").

Grid: Fashion-MNIST, the CNN of McMahan et al., 100 clients, 10 per round, 1 local epoch,
batch 32, FedAvg, on IID and Dirichlet alpha 0.1 label splits. Every optimizer gets the same
budget: a learning-rate sweep of its default lr x {1/3, 1, 3} on seed 1, then seeds 2 and 3 at
the best of the three (so 5 runs each); reported: test accuracy after --rounds rounds (mean +-
std over seeds 1-3 at the chosen lr) and the clients' CPU seconds per round (sum over the 10
participants, mean over rounds and runs; CPU time on a shared machine, so indicative only).

Domains: FedAvg (CNN with batch norm, everything averaged), FedBN (the same CNN, batch norms
kept local: strategy.local_params bn), FedWon (weight-standardised convs, no normalisation
layer) and the plain CNN, on partition.feature_skew mixed (6 domains: identity, rotation,
noise, blur, contrast, inversion), 12 clients (2 per domain) all in every round, at most 20
local steps each, --domain-rounds rounds, 3 seeds. Reported: the global model's accuracy on
the test set spread over the 6 domains, and the personal accuracy (each client's model after
the same aggregations, with its own local parameters, on 500 test samples of its domain; the
run goes one round further to score it as that round starts).

Facts (bench/optim_facts.c): optimizer state bytes per client, and the error of the exact
Hessian-vector product against the closed form and against central differences.

usage: nice -n 10 /usr/bin/python3 bench/bench_optimizers.py [--build build] [--model cnn|mlp]
       [--partitions iid,dirichlet-0.1] [--lr-factors 1/3,1,3] [--rounds 3] [--domain-rounds 5]
       [--domain-methods fedavg-bn,fedbn,fedwon,cnn] [--seeds 3] [--jobs 2] [--threads 1]
       [--part facts,grid,domains] [--workdir DIR] [--reuse-only] [--no-render] [--render-only]
       [--lr-from mlp] [--optimizers sgd,adam,...]
--lr-from MODEL replaces the sweep by two learning rates per optimizer and partition: the best
and the second best of MODEL's grid (already in the results file), for when the full sweep of
the CNN does not fit the CPU at hand; the table says so.
Each part (and each model's grid) keeps its own provenance, so the grid of one model can be
rerun without the rest; --workdir keeps the run folders, and a rerun reuses those whose
task.json is what fedc resolves the same settings to and whose metrics reach the last round.
Writes bench/results/optimizers.json (with commit, date, CPU, cores, load and the command) and
renders the tables into docs/algorithms.md between the BEGIN/END markers.
"""
import argparse, concurrent.futures, datetime, fractions, json, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "optimizers.json")
DOC = os.path.join(ROOT, "docs", "algorithms.md")

# optimizer -> its default learning rate (fedc_optim_default_lr)
OPTIMIZERS = [("sgd", 0.05), ("adam", 0.001), ("adamw", 0.001), ("lion", 0.0003), ("adan", 0.001),
              ("adamp", 0.001), ("sgdp", 0.05), ("exadam", 0.001), ("adahessian", 0.005), ("mfac", 0.1)]
PARTITIONS = [("iid", ["partition.kind=iid"]), ("dirichlet-0.1", ["partition.kind=dirichlet", "partition.alpha=0.1"])]
CNN_BN = "conv:32:5,bn,pool:2,conv:64:5,bn,pool:2,dense:512,dense:10"
# key (for --domain-methods) -> label, settings
DOMAIN_METHODS = [
    ("fedavg-bn", "FedAvg, CNN with batch norm", [f"model={CNN_BN}"]),
    ("fedbn", "FedBN (batch norms local)", [f"model={CNN_BN}", "strategy.local_params=bn"]),
    ("fedwon", "FedWon (wsconv, no normalisation)", ["model=wsconv:32:5,pool:2,wsconv:64:5,pool:2,dense:512,dense:10"]),
    ("cnn", "FedAvg, plain CNN", ["model=cnn"]),
]


def finished_run(fedc, task, sets, out):
    """A run folder left by an earlier, interrupted invocation (--workdir) counts as
    done only if its task.json is exactly what fedc resolves these settings to and its
    metrics reach the last round."""
    try:
        rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
        have = json.load(open(os.path.join(out, "task.json")))
    except (OSError, ValueError):
        return None
    cmd = [fedc, "validate", task]
    for s in sets:
        cmd += ["--set", s]
    want = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    if have != want or not rows or rows[-1]["round"] != want["rounds"]:
        return None
    return rows


REUSED = []
REUSE_ONLY = False  # --reuse-only: report what --workdir holds, run nothing new


def sim(fedc, sets, threads, tmp, tag, model="cnn"):
    out = os.path.join(tmp, "".join(c if c.isalnum() or c in "-." else "_" for c in tag)[:150])
    task = os.path.join(ROOT, "examples", f"fmnist-{model}.json")
    rows = finished_run(fedc, task, sets, out)
    if rows is not None:
        REUSED.append(tag)
    elif REUSE_ONLY:
        return None
    else:
        cmd = [fedc, "sim", task, "--quiet", "--threads", str(threads), "--out", out]
        for s in sets:
            cmd += ["--set", s]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.stderr.write(p.stderr[-3000:])
            raise SystemExit("fedc sim failed: " + " ".join(cmd))
        rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    last = rows[-1]
    return {"accuracy": last["accuracy"], "personal": last.get("personal_accuracy"), "rows": rows,
            "cpu_per_round": statistics.mean(r["client_cpu_s"] for r in rows), "train_loss": last["train_loss"]}


def mean_std(v):
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def provenance(args):
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip() != ""
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"commit": commit + (" (with uncommitted changes)" if dirty else ""), "fedc": args.build,
            "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu, "cores": os.cpu_count(),
            "load_average": open("/proc/loadavg").read().split()[:3],
            "nice": os.nice(0),
            "command": (f"nice -n {os.nice(0)} " if os.nice(0) else "") + "/usr/bin/python3 bench/bench_optimizers.py "
                       + " ".join(sys.argv[1:])}


def lrs_from_grid(res, model, pname, opt):
    """--lr-from MODEL: the best and the second-best learning rate of that model's sweep
    (same partition, same optimizer), the budget when the full sweep does not fit."""
    key = f"{model}, {pname}"
    if key not in res.get("grid", {}):
        raise SystemExit(f"--lr-from {model}: the results file has no '{key}' grid to take learning rates from")
    sweep = res["grid"][key]["optimizers"][opt]["sweep"]
    ranked = sorted(sweep, key=lambda lr: -sweep[lr])  # stable: ties keep the sweep's order
    return [float(lr) for lr in ranked[:2]]


def run_grid(fedc, args, pool, tmp, prov, res):
    seeds = list(range(1, args.seeds + 1))
    base = [f"rounds={args.rounds}", f"eval_every={args.rounds}", "clients=100", "clients_per_round=10"]
    factors = [fractions.Fraction(f) for f in args.lr_factors.split(",")]
    optimizers = [(o, lr0) for o, lr0 in OPTIMIZERS if not args.optimizers or o in args.optimizers.split(",")]
    grid = {}
    for pname, psets in PARTITIONS:
        if pname not in args.partitions.split(","):
            continue
        # the sweep on seed 1, every optimizer at once
        jobs = {}
        for opt, lr0 in optimizers:
            lrs = (lrs_from_grid(res, args.lr_from, pname, opt) if args.lr_from else
                   [float(f"{lr0 * float(f):.3g}") for f in factors])
            for lr in lrs:
                sets = base + psets + [f"local.optimizer={opt}", f"local.lr={lr}", f"seed={seeds[0]}"]
                jobs[(opt, lr)] = pool.submit(sim, fedc, sets, args.threads, tmp,
                                              f"{args.model}-{pname}-{opt}-{lr}-s{seeds[0]}", args.model)
        sweep = {k: v.result() for k, v in jobs.items()}
        best = {}
        for opt, _ in optimizers:
            cands = [(lr, r) for (o, lr), r in sweep.items() if o == opt]
            best[opt] = max(cands, key=lambda c: c[1]["accuracy"])[0]
        more = {(opt, s): pool.submit(sim, fedc, base + psets + [f"local.optimizer={opt}", f"local.lr={best[opt]}",
                                                                  f"seed={s}"], args.threads, tmp,
                                      f"{args.model}-{pname}-{opt}-{best[opt]}-s{s}", args.model)
                for opt, _ in optimizers for s in seeds[1:]}
        out = {}
        for opt, lr0 in optimizers:
            runs = [sweep[(opt, best[opt])]] + [more[(opt, s)].result() for s in seeds[1:]]
            acc = [r["accuracy"] for r in runs]
            m, sd = mean_std(acc)
            out[opt] = {"default_lr": lr0, "sweep": {str(lr): sweep[(o, lr)]["accuracy"] for (o, lr) in sweep if o == opt},
                        "best_lr": best[opt], "accuracies": acc, "mean": m, "std": sd,
                        "cpu_per_round": statistics.mean(r["cpu_per_round"] for r in runs)}
        grid[f"{args.model}, {pname}"] = {"model": args.model, "partition": pname, "rounds": args.rounds,
                                          "seeds": seeds, "lr_factors": args.lr_factors, "optimizers": out,
                                          "provenance": prov}
        if args.lr_from:
            grid[f"{args.model}, {pname}"]["lr_from"] = args.lr_from
        print(json.dumps({o: (round(v["mean"], 4), v["best_lr"]) for o, v in out.items()}), flush=True)
    return grid


def run_domains(fedc, args, pool, tmp, prov):
    seeds = list(range(1, args.seeds + 1))
    # Personal accuracy scores the model a client starts a round with: the one
    # round more makes it the model after domain_rounds aggregations, like the
    # global accuracy of round domain_rounds.
    R = args.domain_rounds
    base = [f"rounds={R + 1}", f"eval_every={R}", "clients=12", "clients_per_round=12", "local.max_steps=20",
            "partition.feature_skew=mixed", "eval_personal=500", "local.lr=0.05"]
    methods = [(i, key, name, sets) for i, (key, name, sets) in enumerate(DOMAIN_METHODS)
               if key in args.domain_methods.split(",")]
    jobs = {(name, s): pool.submit(sim, fedc, base + sets + [f"seed={s}"], args.threads, tmp, f"dom-{i}-s{s}")
            for i, key, name, sets in methods for s in seeds}
    out = {}
    for _, _, name, sets in methods:
        done = [s for s in seeds if jobs[(name, s)].result() is not None]
        if not done:
            continue
        runs = [jobs[(name, s)].result() for s in done]
        glob = [next(row["accuracy"] for row in r["rows"] if row["round"] == R) for r in runs]
        pers = [r["rows"][-1]["personal_accuracy"] for r in runs]
        g, gs = mean_std(glob)
        p, ps = mean_std(pers)
        out[name] = {"sets": sets, "seeds": done, "global_mean": g, "global_std": gs, "personal_mean": p, "personal_std": ps,
                     "global": glob, "personal_acc": pers,
                     "cpu_per_round": statistics.mean(r["cpu_per_round"] for r in runs)}
    print(json.dumps({k: (round(v["global_mean"], 4), round(v["personal_mean"], 4)) for k, v in out.items()}),
          flush=True)
    return {"rounds": R, "seeds": seeds, "setting": " ".join(base), "methods": out, "provenance": prov}


def verdict(delta, sa, sb):
    noise = (sa ** 2 + sb ** 2) ** 0.5
    if delta > noise:
        return "yes"
    if delta > 0:
        return "yes, within noise"
    if delta > -noise:
        return "no, within noise"
    return "no"


def prov_line(p):
    return (f"measured {p['date']} on {p['cpu']} ({p['cores']} cores shared with other work, load "
            f"{' '.join(p['load_average'])}), commit `{p['commit'][:10]}`, with `{p['command']}`")


MARKERS = ("<!-- BEGIN optimizers table (bench/bench_optimizers.py) -->", "<!-- END optimizers table -->")


def render(res):
    """Writes the tables into docs/algorithms.md between MARKERS."""
    text = open(DOC).read()
    a, b = MARKERS
    i, j = text.index(a) + len(a), text.index(b)
    open(DOC, "w").write(text[:i] + "\n" + render_text(res) + "\n" + text[j:])


def render_text(res):
    """The Markdown between MARKERS (bench/render_tables.py --check compares it with the document)."""
    L = []
    facts = res.get("facts")
    grid = res.get("grid", {})
    L.append("Every table below comes from `bench/results/optimizers.json`; each says how it was measured.")
    L.append("")
    for key, g in grid.items():
        model = g["model"]
        sweep_text = ("at the default lr only (no sweep: CPU time did not allow it)" if g["lr_factors"] == "1" else
                      f"at the best of the sweep's learning rates (default × {g['lr_factors'].replace(',', ', ')} "
                      f"on seed {g['seeds'][0]})")
        if g.get("lr_from"):
            sweep_text = (f"at the better, on seed {g['seeds'][0]}, of two learning rates: the best and the second best "
                          f"of the {g['lr_from'].upper()} grid's sweep for the same optimizer and partition (the full "
                          f"sweep did not fit the shared machine's CPU)")
        L.append(f"**{model.upper()}, {g['partition']}**: test accuracy after {g['rounds']} rounds (100 clients, 10 "
                 f"per round, 1 epoch, batch 32, FedAvg), mean ± std over seeds {g['seeds']} {sweep_text}; client "
                 f"CPU = seconds per round summed over the 10 participants (a shared machine: indicative only); "
                 f"state = optimizer state per client (what `local.keep_state` keeps); {prov_line(g['provenance'])}.")
        L.append("")
        L.append("| optimizer | sweep (lr: accuracy, seed 1) | chosen lr | accuracy | vs sgd (points) | client CPU s / round "
                 "| state per client |")
        L.append("|---|---|---|---|---|---|---|")
        sgd = g["optimizers"].get("sgd")
        for opt, o in g["optimizers"].items():
            sweep = ", ".join(f"{lr}: {a:.3f}" for lr, a in sorted(o["sweep"].items(), key=lambda kv: float(kv[0])))
            d = (o["mean"] - sgd["mean"]) * 100 if sgd else float("nan")
            state = facts["state_bytes"][model][opt] / 1e6 if facts else float("nan")
            L.append(f"| {opt} | {sweep} | {o['best_lr']} | {o['mean']:.4f} ± {o['std']:.4f} | "
                     f"{'' if opt == 'sgd' else (f'{d:+.2f}' if sgd else 'sgd not run')} | {o['cpu_per_round']:.1f} | "
                     f"{state:.1f} MB |")
        L.append("")
    if grid:
        L.append("**The papers' claims, here** (same rounds, same steps, same lr budget; one cell per table above, "
                 f"in order: {'; '.join(grid)}):")
        L.append("")
        L.append("| claim | paper | here | direction confirmed? |")
        L.append("|---|---|---|---|")

        def cmp(a, b, claim, paper):
            cells, verdicts = [], []
            for g in grid.values():
                if a not in g["optimizers"] or b not in g["optimizers"]:
                    cells.append(" and ".join(o for o in (a, b) if o not in g["optimizers"]) + " not run")
                    verdicts.append("-")
                    continue
                x, y = g["optimizers"][a], g["optimizers"][b]
                d = x["mean"] - y["mean"]
                cells.append(f"{a} {x['mean']:.4f} vs {b} {y['mean']:.4f} ({d * 100:+.2f})")
                verdicts.append(verdict(d, x["std"], y["std"]))
            L.append(f"| {claim} | {paper} | {'; '.join(cells)} | {' / '.join(verdicts)} |")
        cmp("exadam", "adam", "EXAdam converges faster and generalises better than Adam",
            "Adly 2024: CNN on CIFAR-10, +1.2 to +2.4 points test accuracy, 38-48% faster")
        cmp("adan", "adam", "Adan beats Adam at equal steps",
            "Xie et al. 2022: ResNet/ViT/LLM, higher accuracy at the same or half the steps")
        cmp("lion", "adamw", "Lion matches or beats AdamW with half its state",
            "Chen et al. 2023: ImageNet, LMs; lr 3-10x smaller than AdamW's")
        cmp("adamp", "adam", "AdamP improves on Adam where weights are scale-invariant",
            "Heo et al. 2021: with batch norm everywhere (ResNets); these models have none")
        cmp("sgdp", "sgd", "SGDP improves on SGD on scale-invariant weights", "Heo et al. 2021, as above")
        cmp("adahessian", "adam", "ADAHESSIAN beats Adam (curvature-scaled steps)",
            "Yao et al. 2021: CIFAR-10 ResNets, NLP; about 2-3x the cost of a step")
        cmp("mfac", "sgd", "M-FAC beats tuned SGD", "Frantar et al. 2021: ResNets, window m = 1024")
        if facts:
            c = facts["state_bytes"]["cnn"]
            L.append(f"| Lion keeps one state vector, Adam/AdamW two | Chen et al. 2023 | CNN: lion {c['lion'] / 1e6:.1f} MB "
                     f"vs adamw {c['adamw'] / 1e6:.1f} MB per client ({c['lion'] / c['adamw']:.2f}x) | yes (by "
                     f"construction) |")
        L.append("")
    if facts:
        h = facts["hvp"]
        L.append(f"**Hessian-vector products** (ADAHESSIAN): exact, by the R-operator. Against the closed form of a "
                 f"linear softmax model on a batch of 32: relative error {h['closed_form_linear_softmax_rel_err']:.2g} "
                 f"(float rounding). Against central differences of the gradient, step h along a unit direction "
                 f"({prov_line(facts['provenance']) if 'provenance' in facts else 'bench/optim_facts.c'}):")
        L.append("")
        L.append("| network | h = 1 | 0.1 | 0.01 | 0.001 |")
        L.append("|---|---|---|---|---|")
        for key, label in (("fd_rel_err_smooth_bn_gn", "bn, avgpool, gn, dense (smooth)"),
                           ("fd_rel_err_mlp", "MLP (ReLU)"), ("fd_rel_err_cnn_bn", "CNN with batch norm (ReLU)")):
            v = h[key]
            L.append(f"| {label} | " + " | ".join(f"{v[s]:.2g}" for s in ("1", "0.1", "0.01", "0.001")) + " |")
        L.append("")
        L.append("Where the network is smooth the exact product and the differences agree as far as float32 "
                 "differences can (best at h = 0.01; rounding grows below it). With ReLU and max pooling, a "
                 "difference step crosses activation kinks and pool switches, where the gradient jumps, so it "
                 "measures something else until h is small enough to cross none: the MLP gets there at h = 0.001; "
                 "the CNN, with far more units near a kink, does not within float32's reach. The exact product is "
                 "what ADAHESSIAN's derivation assumes (the generalised Hessian, zero across kinks).")
        L.append("")
    dom = res.get("domains")
    if dom:
        L.append(f"**Multi-domain (feature skew)**: after {dom['rounds']} rounds, seeds {dom['seeds']}; setting "
                 f"`{dom['setting']}` (sgd). Global = the aggregated model on the 10,000 test images spread "
                 f"over the 6 domains; personal = each client's own model after the same {dom['rounds']} "
                 f"aggregations (FedBN: with its own batch norms; scored as it starts round {dom['rounds'] + 1}) on "
                 f"500 test images of its domain, mean over the 12 clients; {prov_line(dom['provenance'])}"
                 f"{'; ' + str(dom['reused_runs']) + ' runs reused from an earlier, interrupted invocation with the same fedc binary (task.json checked equal)' if dom.get('reused_runs') else ''}.")
        L.append("")
        L.append("| method | seeds | global accuracy | personal accuracy | client CPU s / round |")
        L.append("|---|---|---|---|---|")
        for name, m in dom["methods"].items():
            sd = m.get("seeds", dom["seeds"])
            pm = (lambda v, e: f"{v:.4f} ± {e:.4f}") if len(sd) > 1 else (lambda v, e: f"{v:.4f} (one seed)")
            L.append(f"| {name} | {', '.join(map(str, sd))} | {pm(m['global_mean'], m['global_std'])} | "
                     f"{pm(m['personal_mean'], m['personal_std'])} | {m['cpu_per_round']:.1f} |")
        L.append("")
    return "\n".join(L)


def main():
    global RESULTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="folder holding fedc and optim_facts")
    ap.add_argument("--model", default="cnn", choices=("cnn", "mlp"), help="the grid's model (examples/fmnist-MODEL.json)")
    ap.add_argument("--partitions", default="iid,dirichlet-0.1")
    ap.add_argument("--lr-factors", default="1/3,1,3", help="the sweep, as multiples of each default lr")
    ap.add_argument("--lr-from", choices=("cnn", "mlp"),
                    help="instead of the sweep: the best and second-best lr of this model's grid in the results file")
    ap.add_argument("--optimizers", default="", help="the grid's optimizers (default: all)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--domain-rounds", type=int, default=5)
    ap.add_argument("--domain-methods", default=",".join(m[0] for m in DOMAIN_METHODS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2, help="simulations run side by side")
    ap.add_argument("--part", default="facts,grid,domains")
    ap.add_argument("--workdir", help="keep run folders here; finished runs found there are reused")
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--no-render", action="store_true", help="write the results only, not docs/algorithms.md")
    ap.add_argument("--reuse-only", action="store_true",
                    help="with --workdir: report the runs finished there (a method lists the seeds it has), run none")
    ap.add_argument("--results", default=RESULTS, help="results file (a trial run can write elsewhere)")
    args = ap.parse_args()
    RESULTS = args.results
    global REUSE_ONLY
    REUSE_ONLY = args.reuse_only
    if REUSE_ONLY and (not args.workdir or "grid" in args.part.split(",")):
        raise SystemExit("--reuse-only needs --workdir and reports the domains part only")
    if args.render_only:
        render(json.load(open(RESULTS)))
        return
    fedc = os.path.join(args.build, "fedc")
    res = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
    res.pop("provenance", None)  # older layout: one provenance for the file; now one per part
    parts = args.part.split(",")
    prov = provenance(args)
    if "facts" in parts:
        out = subprocess.run([os.path.join(args.build, "optim_facts")], capture_output=True, text=True, check=True)
        res["facts"] = json.loads(out.stdout)
        res["facts"]["provenance"] = prov
        json.dump(res, open(RESULTS, "w"), indent=1)
    with tempfile.TemporaryDirectory(prefix="fedc-optim-") as tmp:
        work = args.workdir or tmp
        os.makedirs(work, exist_ok=True)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
        if "domains" in parts:
            del REUSED[:]
            res["domains"] = run_domains(fedc, args, pool, work, prov)
            res["domains"]["reused_runs"] = len(REUSED)
            json.dump(res, open(RESULTS, "w"), indent=1)
        if "grid" in parts:
            res.setdefault("grid", {}).update(run_grid(fedc, args, pool, work, prov, res))
            json.dump(res, open(RESULTS, "w"), indent=1)
    if not args.no_render:
        render(res)


if __name__ == "__main__":
    main()
