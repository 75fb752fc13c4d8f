"""Privacy benchmark: the figures of docs/privacy.md.

  dp      accuracy vs epsilon of DP-FedAvg (central, client-level) on Fashion-MNIST,
          100 clients, Dirichlet alpha 0.5, 20 clients per round (q = 0.2), delta 1e-5:
          the MLP over every noise multiplier and 3 seeds; the CNN on a subset (see --cnn-*).
  secagg  SecAgg+ cost per node (bytes, CPU) against the plain upload, from bench/secagg_cost.c
          (one round in-process), and bytes per node of whole simulated rounds.
  audit   fedc audit (DLG, iDLG) PSNR/SSIM with and without clipping, DP and compression;
          the images are copied to docs/img/privacy/.

usage: nice -n 10 /usr/bin/python3 bench/bench_privacy.py [--build build] [--part dp,secagg,audit]
       [--seeds 0,1,2] [--rounds 50] [--cnn-rounds 20] [--cnn-max-steps 5] [--cnn-seeds 0]
Writes bench/results/privacy.json (with provenance) and docs/img/privacy/accuracy-vs-epsilon.svg.
"""
import argparse, datetime, json, math, os, shutil, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Noise multipliers z; None = no DP at all (plain FedAvg), 0 = clipping only.
Z_MLP = [None, 0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
Z_CNN = [None, 0.05, 0.5]
Z_ADAPTIVE = [0.1, 0.5]


def provenance(argv):
    def sh(*c):
        try:
            return subprocess.run(c, cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"commit": sh("git", "rev-parse", "HEAD"), "dirty": bool(sh("git", "status", "--porcelain")),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "cpu_model": cpu, "cores": os.cpu_count(),
            "command": "nice -n 10 /usr/bin/python3 bench/bench_privacy.py " + " ".join(argv)}


def sim(fedc, model, sets, tmp, threads):
    name = model + "-" + "-".join(s.replace("=", "").replace(".", "").replace(":", "") for s in sets)[:150]
    metrics = os.path.join(tmp, name + ".jsonl")
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet", "--threads",
           str(threads), "--set", "partition.kind=dirichlet", "--set", "partition.alpha=0.5",
           "--set", "clients=100", "--set", "clients_per_round=20", "--metrics", metrics,
           "--out", os.path.join(tmp, name)]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-3000:])
        raise SystemExit("fedc sim failed: " + " ".join(cmd))
    return [json.loads(l) for l in open(metrics)]


def dp_sets(z, adaptive=False):
    if z is None:
        return []
    s = ["privacy.mode=dp-fedavg", "privacy.clip=1.0", f"privacy.noise_multiplier={z}", "privacy.delta=1e-5"]
    if adaptive:
        s += ["privacy.adaptive_clip=true", "privacy.target_quantile=0.5", "privacy.clip_lr=0.2"]
    return s


def dp_part(fedc, model, zs, seeds, rounds, extra, tmp, threads, adaptive=False):
    out = []
    for z in zs:
        accs, eps, clips = [], [], []
        for seed in seeds:
            rows = sim(fedc, model, [f"rounds={rounds}", f"seed={seed}", "eval_every=5"] + extra +
                       dp_sets(z, adaptive), tmp, threads)
            last = rows[-1]
            accs.append(last["accuracy"])
            if z is not None:
                assert all("epsilon" in r and "delta" in r for r in rows), "a DP round lacks epsilon"
                eps.append(last["epsilon"])
                clips.append(last["dp_clip"])
            print(f"  {model} z={z} adaptive={adaptive} seed={seed}: accuracy {last['accuracy']:.4f}"
                  f" epsilon {last.get('epsilon')}", flush=True)
        row = {"noise_multiplier": z, "adaptive_clip": adaptive, "seeds": seeds,
               "accuracy_mean": statistics.mean(accs), "accuracy_std": statistics.pstdev(accs) if len(accs) > 1 else 0.0,
               "accuracies": accs}
        if z is not None:
            row["epsilon"] = eps[0]  # the same for every seed: it depends on q, z, rounds, delta only
            row["delta"] = 1e-5
            row["final_clip"] = clips
        out.append(row)
    return out


def svg_curve(path, series, title):
    """accuracy (y) against log10 epsilon (x); infinite epsilon plotted at the right edge."""
    W, H, L, R, T, B = 640, 400, 70, 150, 40, 50
    pts = [(r["epsilon"], r["accuracy_mean"], r["accuracy_std"]) for s in series for r in s["rows"]
           if r.get("epsilon") is not None and math.isfinite(r["epsilon"])]
    xs = [math.log10(e) for e, _, _ in pts] or [0, 1]
    x0, x1 = math.floor(min(xs)), math.ceil(max(xs)) + 1  # one decade more for "no noise"
    def X(e):
        v = x1 if (e is None or not math.isfinite(e)) else math.log10(e)
        return L + (v - x0) / (x1 - x0) * (W - L - R)
    def Y(a):
        return T + (1 - a) * (H - T - B)
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W/2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for a in [i / 10 for i in range(11)]:
        o.append(f'<line x1="{L}" x2="{W-R}" y1="{Y(a)}" y2="{Y(a)}" stroke="#eee"/>')
        o.append(f'<text x="{L-6}" y="{Y(a)+4}" text-anchor="end">{a:.1f}</text>')
    for d in range(x0, x1 + 1):
        lab = "∞ (clip only)" if d == x1 else f"1e{d}"
        o.append(f'<line x1="{X(10**d) if d < x1 else X(None)}" x2="{X(10**d) if d < x1 else X(None)}" '
                 f'y1="{T}" y2="{H-B}" stroke="#eee"/>')
        o.append(f'<text x="{X(10**d) if d < x1 else X(None)}" y="{H-B+16}" text-anchor="middle">{lab}</text>')
    o.append(f'<text x="{(L+W-R)/2}" y="{H-10}" text-anchor="middle">epsilon (delta = 1e-5), log scale</text>')
    o.append(f'<text x="16" y="{(T+H-B)/2}" transform="rotate(-90 16 {(T+H-B)/2})" text-anchor="middle">'
             'test accuracy</text>')
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for i, s in enumerate(series):
        c = colors[i % len(colors)]
        rows = [r for r in s["rows"] if r["noise_multiplier"] is not None]
        rows.sort(key=lambda r: -(r["epsilon"] if r["epsilon"] is not None and math.isfinite(r["epsilon"]) else 1e300))
        path_d = " ".join(("M" if j == 0 else "L") + f"{X(r['epsilon']):.1f},{Y(r['accuracy_mean']):.1f}"
                          for j, r in enumerate(rows))
        o.append(f'<path d="{path_d}" fill="none" stroke="{c}" stroke-width="2"/>')
        for r in rows:
            x, y = X(r["epsilon"]), Y(r["accuracy_mean"])
            e = r["accuracy_std"] * (H - T - B)
            o.append(f'<line x1="{x}" x2="{x}" y1="{y-e}" y2="{y+e}" stroke="{c}"/>')
            o.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{c}"/>')
        base = [r for r in s["rows"] if r["noise_multiplier"] is None]
        if base:
            y = Y(base[0]["accuracy_mean"])
            o.append(f'<line x1="{L}" x2="{W-R}" y1="{y}" y2="{y}" stroke="{c}" stroke-dasharray="5,4"/>')
        o.append(f'<rect x="{W-R+10}" y="{T+20*i}" width="12" height="3" fill="{c}"/>')
        o.append(f'<text x="{W-R+26}" y="{T+20*i+5}">{s["label"]}</text>')
    o.append(f'<text x="{W-R+10}" y="{T+20*len(series)+10}" font-size="10">dashed: no DP</text>')
    o.append("</svg>")
    open(path, "w").write("\n".join(o))


def fmt_eps(e):
    return "∞" if e is None or not math.isfinite(e) else (f"{e:.3g}" if e < 1000 else f"{e:.2e}")


def render(res):
    """The Markdown tables of docs/privacy.md, from the results file."""
    out = []
    if "dp" in res:
        for key, title in [("mlp", "MLP, fixed clip"), ("mlp_adaptive", "MLP, adaptive clip"), ("cnn", "CNN (subset)")]:
            out.append(f"\n{title}\n\n| noise multiplier z | epsilon (delta 1e-5) | test accuracy | seeds |\n|---|---|---|---|")
            for r in res["dp"][key]:
                z = "no DP" if r["noise_multiplier"] is None else f"{r['noise_multiplier']:g}"
                e = "–" if r["noise_multiplier"] is None else fmt_eps(r.get("epsilon"))
                acc = f"{r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}" if len(r["seeds"]) > 1 else f"{r['accuracy_mean']:.4f}"
                out.append(f"| {z} | {e} | {acc} | {len(r['seeds'])} |")
    if "secagg" in res:
        out.append("\n| model | nodes | dropped | degree k / threshold t | bytes per node (SecAgg+) | plain | "
                   "protocol bytes | node CPU (SecAgg+) | node CPU (plain) | server CPU per node |\n|---|---|---|---|---|---|---|---|---|---|")
        for r in res["secagg"]["per_node"]:
            out.append(f"| {r['model']} | {r['n']} | {r['dropped']} | {r['degree']} / {r['threshold']} | "
                       f"{r['secagg_bytes_per_node']/1e6:.3f} MB | {r['plain_bytes_per_node']/1e6:.3f} MB | "
                       f"{r['secagg_protocol_bytes_per_node']/1e3:.1f} kB | {r['secagg_client_cpu_s_per_node']*1e3:.1f} ms | "
                       f"{r['plain_client_cpu_s_per_node']*1e3:.2f} ms | {r['secagg_server_cpu_s_per_node']*1e3:.1f} ms |")
    if "audit" in res:
        for b in ["batch1", "batch4"]:
            if b not in res["audit"]:
                continue
            out.append(f"\n{b}\n\n| attack | protection | PSNR (dB) | SSIM | labels right | image |\n|---|---|---|---|---|---|")
            for r in res["audit"][b]["rows"]:
                out.append(f"| {r['attack']} | {r['condition']} ({r['detail']}) | {r['psnr']:.1f} | {r['ssim']:.3f} | "
                           f"{100*r['label_accuracy']:.0f}% | ![]({r['png']}) |")
    return "\n".join(out)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--render":
        print(render(json.load(open(os.path.join(ROOT, "bench", "results", "privacy.json")))))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--part", default="dp,secagg,audit")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--cnn-rounds", type=int, default=20)
    ap.add_argument("--cnn-max-steps", type=int, default=5)
    ap.add_argument("--cnn-seeds", default="0")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    fedc = os.path.join(a.build, "fedc")
    tmp = tempfile.mkdtemp(prefix="fedc-privacy-")
    out_path = os.path.join(ROOT, "bench", "results", "privacy.json")
    res = {"provenance": provenance(sys.argv[1:])}
    seeds = [int(s) for s in a.seeds.split(",")]
    if "dp" in a.part:
        setting = (f"Fashion-MNIST, 100 clients, Dirichlet alpha 0.5, 20 clients per round (q = 0.2), FedAvg "
                   f"server (server_lr 1), local: 1 epoch, batch 32, lr 0.05; DP-FedAvg clip 1.0 (fixed, or "
                   f"adaptive from 1.0 towards the median norm), delta 1e-5, {a.rounds} rounds (MLP)")
        mlp = dp_part(fedc, "mlp", Z_MLP, seeds, a.rounds, [], tmp, a.threads)
        mlp_ad = dp_part(fedc, "mlp", Z_ADAPTIVE, seeds, a.rounds, [], tmp, a.threads, adaptive=True)
        cseeds = [int(s) for s in a.cnn_seeds.split(",")]
        cnn = dp_part(fedc, "cnn", Z_CNN, cseeds, a.cnn_rounds, [f"local.max_steps={a.cnn_max_steps}"], tmp,
                      a.threads)
        res["dp"] = {"setting": setting,
                     "cnn_subset": f"CNN: {a.cnn_rounds} rounds, at most {a.cnn_max_steps} local steps, seeds "
                                   f"{cseeds}, noise multipliers {Z_CNN} (2 shared cores: see docs/privacy.md)",
                     "mlp": mlp, "mlp_adaptive": mlp_ad, "cnn": cnn}
        svg_curve(os.path.join(ROOT, "docs", "img", "privacy", "accuracy-vs-epsilon.svg"),
                  [{"label": "MLP, fixed clip", "rows": mlp}, {"label": "MLP, adaptive clip", "rows": mlp_ad},
                   {"label": f"CNN (subset)", "rows": cnn}],
                  "DP-FedAvg on Fashion-MNIST: accuracy vs epsilon")
    if "secagg" in a.part:
        cost = []
        for d_name, d in [("mlp", 199210), ("cnn", 1663370)]:
            for n in [10, 50, 100]:
                for drop in [0.0, 0.3]:
                    if d_name == "cnn" and n == 100:
                        continue  # 100 CNN-sized masked vectors: kept to the MLP on this machine
                    p = subprocess.run([os.path.join(a.build, "secagg_cost"), str(n), str(d), str(drop), "3"],
                                       capture_output=True, text=True, check=True)
                    row = json.loads(p.stdout)
                    row["model"] = d_name
                    cost.append(row)
                    print("  secagg", row, flush=True)
        rounds = {}
        for mode in ["none", "secagg+"]:
            rows = sim(fedc, "mlp", ["rounds=3", "seed=0", f"secagg.mode={mode}"], tmp, a.threads)
            rounds[mode] = [{"bytes_per_participant": (r["bytes_up"] + r["bytes_down"]) / r["participants"],
                             "accuracy": r["accuracy"]} for r in rows]
        res["secagg"] = {"per_node": cost, "simulated_rounds_mlp_20_per_round": rounds}
    if "audit" in a.part:
        img = os.path.join(ROOT, "docs", "img", "privacy")
        aud = {}
        for batch in [1, 4]:
            odir = os.path.join(tmp, f"audit-{batch}")
            jpath = os.path.join(tmp, f"audit-{batch}.json")
            subprocess.run([fedc, "audit", os.path.join(ROOT, "examples", "fmnist-mlp.json"), "--set",
                            "local.lr=0.1", "--batch", str(batch), "--iters", "400", "--out", odir, "--json",
                            jpath, "--quiet"], check=True, capture_output=True, text=True)
            doc = json.load(open(jpath))
            for r in doc["rows"]:
                name = f"audit-b{batch}-{os.path.basename(r['png'])}"
                shutil.copy(r["png"], os.path.join(img, name))
                r["png"] = f"img/privacy/{name}"
            shutil.copy(os.path.join(odir, "originals.png"), os.path.join(img, f"audit-b{batch}-originals.png"))
            aud[f"batch{batch}"] = doc
            print("  audit", batch, [(r["attack"], r["condition"], round(r["psnr"], 2)) for r in doc["rows"]],
                  flush=True)
        res["audit"] = {"setting": "examples/fmnist-mlp.json (initial model, seed 0), client 0's first samples, "
                                   "one local SGD step at lr 0.1; clip 1 (privacy.clip), DP noise multiplier 0.01 "
                                   "(fedc audit's default), compression topk:0.01; 400 Adam steps at 0.1",
                        **aud}
    # Merge into what is there now (parts may be run separately, even side by side).
    cur = json.load(open(out_path)) if os.path.exists(out_path) else {}
    prov = cur.get("provenance_by_part", {})
    for part in a.part.split(","):
        prov[part] = res["provenance"]
    res.pop("provenance")
    cur.update(res)
    cur["provenance_by_part"] = prov
    json.dump(cur, open(out_path, "w"), indent=1)
    print("wrote", out_path)


if __name__ == "__main__":
    main()
