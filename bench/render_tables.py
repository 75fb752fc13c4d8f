"""Renders the README and docs tables from bench/results/*.json.

Every figure fedc publishes sits between markers in a Markdown file:

    <!-- fedc:table NAME -->
    ...generated text...
    <!-- /fedc:table -->

and is produced here from the results file the benchmark script wrote, with a line saying
where it comes from (date, commit, CPU model, cores, load, command). Run it after a
benchmark to update the documents; `--check` (the ctest docs_figures) fails when a
document's figures differ from what the results files give, or name a table that does not
exist.

usage: /usr/bin/python3 bench/render_tables.py [--check] [--results DIR]
"""
import argparse
import difflib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md", "docs/compression.md", "docs/deployment.md", "docs/intent.md", "docs/tune.md",
        "docs/scheduling.md", "docs/datasets.md", "docs/decentralised.md", "docs/personalisation.md",
        "docs/python.md", "docs/mpi.md"]
MARKER = re.compile(r"(<!-- fedc:table ([a-z0-9_]+) -->\n)(.*?)(<!-- /fedc:table -->)", re.S)


class Missing(Exception):
    pass


class Results:
    def __init__(self, folder):
        self.folder = folder
        self.cache = {}

    def __getitem__(self, name):
        if name not in self.cache:
            path = os.path.join(self.folder, name + ".json")
            if not os.path.exists(path):
                raise Missing(f"bench/results/{name}.json is missing (run the benchmark that writes it)")
            with open(path) as f:
                self.cache[name] = json.load(f)
        return self.cache[name]


# ---- formatting ---------------------------------------------------------------------------

def ms(x, digits=4, scale=1.0, signed=False):
    """'mean ± std' of a benchlib.mean_std dict (just the value for one run)."""
    if x is None:
        return "—"
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    if x["n"] <= 1:
        return f.format(x["mean"] * scale)
    return f"{f.format(x['mean'] * scale)} ± {x['std'] * scale:.{digits}f}"


def pct(x, digits=1):
    """A share as percent: '96.2 ± 0.3%'."""
    return ms(x, digits, 100) + "%"


def seeds_text(n):
    return f"{n} seed" + ("" if n == 1 else "s")


def mb(b):
    return f"{b / 1e6:.1f} MB"


def commas(n):
    return f"{n:,}"


def provenance(meta, path, what="Measured"):
    load = meta.get("load_avg_start")
    load_end = meta.get("load_avg_end")
    lt = ""
    if load:
        lt = f", load average {load[0]:.1f} at the start and {load_end[0]:.1f} at the end" if load_end else \
             f", load average {load[0]:.1f}"
    version = meta.get("fedc_version") or ""
    commit = re.search(r"commit ([0-9a-f]+(-dirty)?)", version)
    commit = commit.group(1) if commit else (meta.get("commit") or "?")[:12]
    nice = f", nice {meta['nice']}" if meta.get("nice") else ""
    return (f"_{what} {meta['date'][:10]} at commit `{commit}` on {meta['cpu_model']} ({meta['cores']} cores"
            f"{lt}{nice}), with `{meta['command']}` (`bench/results/{path}`)._")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# ---- tables -------------------------------------------------------------------------------

def fedavg(R):
    d = R["fedavg"]
    seeds = len(d["setting"]["seeds"])
    rows = []
    for m, e in d["models"].items():
        name = {"mlp": "MLP 784-200-200-10", "cnn": "CNN (McMahan et al.)"}.get(m, m)
        f, t = e["fedc"], e.get("torch")
        rows.append([f"{name}, {e['rounds']} rounds", commas(e["params"]),
                     ms(f["s_per_round"], 3), ms(t["s_per_round"], 3) if t else "—",
                     f"**{ms(e['speedup'], 1)}x**" if t else "—",
                     ms(f["cpu_s_per_round"], 3), ms(t["cpu_s_per_round"], 3) if t else "—",
                     f"**{ms(e['speedup_cpu'], 1)}x**" if t else "—",
                     ms(f["final_acc"]), ms(t["final_acc"]) if t else "—",
                     ms(e["accuracy_gap_points"], 2, signed=True) if t else "—"])
    out = [table(["model", "params", "fedc s/round", "PyTorch s/round", "speed-up", "fedc CPU s/round",
                  "PyTorch CPU s/round", "speed-up (CPU)", "fedc test acc.", "PyTorch test acc.",
                  "fedc − PyTorch (points)"], rows), "",
           f"Mean ± standard deviation over {seeds_text(seeds)} (the seed changes the partition, the initial model and "
           "the client sampling on both sides; the two ran each seed back to back). s/round is wall time of the "
           "rounds; CPU s/round is each whole process's CPU time (all threads, startup included) per round, "
           "which other load on the machine disturbs far less."]
    return "\n".join(out) + "\n\n" + provenance(d["meta"], "fedavg.json")


def fedavg_notes(R):
    d = R["fedavg"]
    y = d["yardstick"]
    fma = y["fma_peak"]
    isa = y["peak_isa"]
    best = fma["isa"][isa]
    lines = []
    for m, e in d["models"].items():
        f = e["fedc"]
        lines.append(f"{m.upper()} {ms(f['gflops_per_cpu_s'], 0)} GFLOP/s per CPU-second of its training threads "
                     f"({100 * f['share_of_one_core_fma_peak']['mean']:.0f}% of one core's peak; "
                     f"{ms(f['gflops'], 0)} GFLOP/s per wall second on {d['setting']['threads']} threads)")
    sg = y["openblas_sgemm"]
    sg_txt = ", ".join(f"{r['gflops']:.1f} GFLOP/s on {r['threads']} thread{'' if r['threads'] == 1 else 's'}"
                       for r in sg.values())
    core = next(iter(sg.values()))["core"]
    out = [f"- Achieved throughput (3x forward FLOPs per sample; the CNN's backward skips the products that "
           f"max-pooling zeroes, so its figure is an equivalent rate): " + "; ".join(lines) + ".",
           f"- The yardstick, measured in the same run (`bench/yardstick.py`): fedc's FMA kernel reaches "
           f"{best['one_core_gflops_cpu']:.1f} GFLOP/s on one core and {best['all_cores_gflops_cpu']:.1f} on all "
           f"{fma['cores_online']} ({isa}, per CPU-second), {fma['cpu_model']}; OpenBLAS sgemm "
           f"({next(iter(sg.values()))['n']}³, kernel `{core}` chosen by OpenBLAS with the environment's pins "
           f"removed): {sg_txt}."]
    scale = {s["clients"]: s for s in d.get("scale", [])}
    if 100 in scale and 10000 in scale:
        out.append(f"- Memory follows the clients trained at once, not the federation size: a task with 10,000 "
                   f"clients (100 per round) peaks at {scale[10000]['peak_rss_mb']:.0f} MB resident, the same task "
                   f"with 100 clients at {scale[100]['peak_rss_mb']:.0f} MB (each process measured on its own).")
    for m, e in d["models"].items():
        out.append(f"- Peak resident memory of the {m.upper()} runs: fedc {ms(e['fedc']['peak_rss_mb'], 0)} MB, "
                   f"PyTorch {ms(e['torch']['peak_rss_mb'], 0) if 'torch' in e else '—'} MB.")
    return "\n".join(out) + "\n\n" + provenance(d["meta"], "fedavg.json")


def yardstick(R):
    y = R["yardstick"]
    fma = y["fma_peak"]
    rows = [[isa, r["lanes"], f"{r['one_core_gflops_cpu']:.1f}", f"{r['one_core_gflops_wall']:.1f}",
             f"{r['all_cores_gflops_cpu']:.1f}", f"{r['all_cores_gflops_wall']:.1f}"] for isa, r in fma["isa"].items()]
    out = [f"FMA peak of {fma['cpu_model']} ({fma['cores_online']} cores), single precision:", "",
           table(["ISA", "lanes", "one core, per CPU-s", "one core, per wall s", "all cores, per CPU-s",
                  "all cores, per wall s"], rows), ""]
    sg = [[r["threads"], f"{r['n']}³", r["core"], f"{r['gflops']:.1f}"] for r in y["openblas_sgemm"].values()]
    out += ["OpenBLAS sgemm, environment pins removed:", "", table(["threads", "size", "kernel", "GFLOP/s"], sg), ""]
    nn = y["nn_speed"]["models"]
    rows = [[m, f"{r['fedc_ms_per_batch']:.3f}", f"{r['fedc_gflops']:.1f}",
             f"{r['torch_ms_per_batch']:.3f}" if "torch_ms_per_batch" in r else "—",
             f"{r['speedup']:.2f}x" if "speedup" in r else "—"] for m, r in nn.items()]
    out += ["Training step, batch 32, one thread (thread CPU time, best of 3):", "",
            table(["model", "fedc ms/batch", "fedc GFLOP/s", "PyTorch ms/batch", "speed-up"], rows)]
    return "\n".join(out) + "\n\n" + provenance(y["meta"], "yardstick.json")


def _codec_rows(res):
    rows = []
    for codec, e in res["codecs"].items():
        n, k = e["seeds"], e["seeds_reaching_target"]
        reach = "" if k == n else f" ({k} of {n} seeds)"
        bt = e["bytes_to_target"]
        red = e.get("bytes_reduction_vs_none")
        rows.append([f"`{codec.replace('|', chr(92) + '|')}`",
                     (f"{bt['mean'] / 1e6:.1f} ± {bt['std'] / 1e6:.1f} MB" if bt["n"] > 1 else mb(bt["mean"]))
                     + reach if bt else "never",
                     "" if codec == "none" else (pct(red) if red else "—"),
                     ms(e["rounds_to_target"], 1) if e["rounds_to_target"] else "—",
                     _final(e),
                     "" if codec == "none" else ms(e["final_acc_vs_none_points"], 2, signed=True)])
    return rows


def _final(e):
    """Final accuracy, or where the run stopped when it diverged."""
    failed = [r["failed"] for r in e["runs"] if r.get("failed")]
    if not failed:
        return ms(e["final_acc"])
    where = ", ".join(str(f["after_round"] + 1) for f in failed)
    stop = f"diverged in round {where}" + ("" if len(failed) == e["seeds"] else f" ({len(failed)} of {e['seeds']} seeds)")
    return stop if e["final_acc"] is None else f"{ms(e['final_acc'])}; {stop}"


def comm_compression(R, model):
    d = R["comm"]
    res = d["compression"][model]
    head = ["codec (update path / model path)", f"bytes to {res['target']:.0%} accuracy", "fewer bytes than none",
            "rounds to target", f"final accuracy (mean of the last 5 of {res['rounds']} rounds)",
            "vs none (points)"]
    out = table(head, _codec_rows(res))
    note = (f"\n\nMean ± standard deviation over {seeds_text(len(res['seeds']))}; differences against `none` are taken "
            "seed by seed. \"never\": no seed reached the target.")
    return out + note + "\n\n" + provenance(res.get("meta", d["meta"]), "comm.json")


def comm_scheduling(R):
    d = R["comm"]
    res = d["scheduling"]["mlp"]
    rows = []
    for pol, e in res["policies"].items():
        t = e["sim_s_to_target"]
        red = e.get("time_reduction_vs_random")
        name = {"samples": "samples (∝ data size)", "age": "age (longest unselected)",
                "deadline": f"deadline (resource-aware, {res['deadline_s']:g} s)"}.get(pol, pol)
        n, k = e["seeds"], e["seeds_reaching_target"]
        rows.append([name, (ms(t, 1) + ("" if k == n else f" ({k} of {n} seeds)")) if t else "never",
                     "" if pol == "random" else (pct(red, 0) if red else "—"),
                     ms(e["rounds_to_target"], 1) if e["rounds_to_target"] else "—", _final(e)])
    out = table(["policy", f"simulated s to {res['target']:.0%}", "less time than random", "rounds to target",
                 "final accuracy"], rows)
    note = (f"\n\nFashion-MNIST MLP, the `{res['profile']}` heterogeneity profile, {res['rounds']} rounds; mean ± "
            f"standard deviation over {seeds_text(len(res['seeds']))} (differences against random seed by seed).")
    return out + note + "\n\n" + provenance(res.get("meta", d["meta"]), "comm.json")


def tune(R):
    d = R["tune"]
    s = d["setting"]
    fd, ft = d["fresh_default_last3"], d["fresh_tuned_last3"]
    rows = [["default task", f"{d['default']['accuracy']:.4f}", ms(fd), f"{d['default']['cpu_s']:.1f} per run"],
            [f"best of {s['budget']} trials", f"{d['tuned']['accuracy']:.4f} "
             f"(**{d['gain_points']:+.1f} points**)", f"{ms(ft)} ({ms(d['fresh_gain_points_last3'], 1, signed=True)}"
             " points)", f"{d['tuned']['cpu_s']:.1f} per run"],
            ["the search itself", "", "", f"{d['search']['cpu_s_process']:.0f} ({d['search']['wall_s']:.0f} s wall)"]]
    out = table([f"Fashion-MNIST, {s['clients']} clients, Dirichlet({s['dirichlet_alpha']:g}), {s['rounds']} rounds",
                 "test accuracy, search seed", f"on {len(d['fresh_seeds'])} fresh seeds (mean of the last "
                 f"{s['last_rounds']} rounds)", "CPU s"], rows)
    cfg = d["search"]["best_config"]
    winner = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in cfg.items())
    note = (f"\n\n{s['method'].upper()} search, {s['budget']} trials; a trial scores the mean of its last "
            f"{s['last_rounds']} rounds over {s['trial_seeds']} seeds. The winner: {winner}.")
    return out + note + "\n\n" + provenance(d["meta"], "tune.json")


def tune_cost(R):
    d = R["tune_cost"]
    s = d["setting"]
    out = []
    b = d["searches"].get("accuracy@budget")
    if b:
        n = len(b["fresh_seeds"])
        rows = [["default task", pct(b["default_accuracy"]), "1x", "1x"],
                [f"best within the budget (trial {b['best_trial']})", pct(b["tuned_accuracy"]),
                 ms(b["client_x"], 2) + "x", ms(b["bytes_x"], 2) + "x"],
                ["gain", f"**{ms(b['gain_points'], 1, signed=True)} points**", "", ""]]
        out.append(table([f"Fashion-MNIST, {s['clients']} clients, Dirichlet({s['dirichlet_alpha']:g}), "
                          f"{s['rounds']} rounds; budget ≤ {s['max_client_cpu']} client compute, ≤ {s['max_bytes']} "
                          "bytes", f"test accuracy on {n} fresh seeds (last 3 rounds)", "client compute",
                          "bytes"], rows))
        cfg = b["best_config"] or {}
        winner = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in cfg.items())
        if s.get("space") == "cost":
            # the parameters the results file says were searched (a name listed twice is one lever)
            names = list(dict.fromkeys(p["name"] for p in s.get("space_params", [])))
            space = ("the cost levers around the default task (" + ", ".join(names) +
                     "; `COST_SPACE` in bench_tune.py)")
        else:
            space = "fedc's default space"
        stops = [r["tuned"].get("rounds") for r in b["fresh_seeds"]]
        stop_note = ""
        if any(x is not None and x < s["rounds"] for x in stops):
            stop_note = (" Its plateau rule ended the fresh-seed runs at rounds "
                         + ", ".join(str(x) for x in stops) + f" of {s['rounds']}.")
        seeds = ", ".join(str(r["seed"]) for r in b["fresh_seeds"])
        per_seed = ", ".join(f"{r['gain_points']:+.1f}" for r in b["fresh_seeds"])
        g = b["gain_points"]["mean"]
        verdict = (f"**Target (≥ +5 points at ≤ {s['max_client_cpu']} client compute and ≤ {s['max_bytes']} bytes): "
                   + ("met" if g >= 5 else "not met") + f"**: {ms(b['gain_points'], 1, signed=True)} points on "
                   f"fresh seeds {seeds} ({per_seed}).")
        cc = b.get("client_cpu")
        if cc:
            cpu = (f"Measured client CPU seconds per run (the engine's client_cpu_s, one thread), median of "
                   f"{cc['repeats']} runs taken in turn on seed {cc['seed']}: default "
                   f"{cc['default']['median_client_cpu_s']:.2f} s, the choice {cc['pick']['median_client_cpu_s']:.2f} s "
                   f"(**{cc['pick_x_default']:.2f}x** the default's, against {cc['pick_x_default_compute']:.2f}x by the "
                   f"budget's compute count); the choice with compression none "
                   f"{cc['pick_uncompressed']['median_client_cpu_s']:.2f} s, and with its uplink codec only "
                   f"(downlink none) {cc['pick_down_none']['median_client_cpu_s']:.2f} s: its codecs cost "
                   f"{100 * (cc['codec_x'] - 1):+.0f}% client CPU, the uplink's share "
                   f"{100 * (cc['uplink_codec_x'] - 1):+.0f}%.")
        else:
            cpu = (f"Measured client CPU seconds of the choice: {ms(b['client_cpu_s_x_measured'], 2)}x the default's "
                   "(noisy on a shared machine; the budget is on the deterministic count).")
        out.append(f"Search space: {space}. "
                   f"{s['method'].upper()} search, {b['trials']} trials selected on validation accuracy "
                   f"({s['validation']:g} of each client's data held out); {b['cpu_s_process']:.0f} CPU s, "
                   f"{b['wall_s']:.0f} s wall. The choice: {winner}.{stop_note} {cpu}")
        out.append(verdict)
    p = d["searches"].get("pareto")
    front_of = "Pareto search"
    if not p and b:
        # Every search ranks its trials: the budget search's own front (validation accuracy
        # against client compute and bytes over all its trials, within the budget or not).
        p, front_of = b, "accuracy@budget search (all its trials, within the budget or not)"
    if p:
        rows = [[str(f["trial"]), f"{f['val_accuracy']:.4f}", f"{f['client_gflop']:.0f} ({f['client_x']:.2f}x)",
                 f"{mb(f['bytes'])} ({f['bytes_x']:.2f}x)",
                 ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in f["config"].items()).replace("|", "\\|")]
                for f in p["front"]]
        out.append(table(["Pareto front: trial", "validation accuracy", "client GFLOP per run (x base)",
                          "bytes per run (x base)", "configuration"], rows))
        ref = s.get("reference")
        out.append(f"Front of the {front_of}, {p['trials']} trials, axes client compute and bytes; x base = "
                   "relative to the default task"
                   + (f" on the search seed ({ref['client_gflop']:.0f} GFLOP, {mb(ref['bytes'])} per run)." if ref
                      else f" (trial 0: validation accuracy {p['base']['val_accuracy']:.4f})."))
    return "\n\n".join(out) + "\n\n" + provenance(d["meta"], "tune_cost.json")


def round_overhead(R):
    d = R["round_overhead"]
    rows = []
    for r in d["rounds"]:
        rows.append([r["n"], f"{r['s_per_round']:.3f}", f"{r['server_cpu_per_round']:.3f}",
                     f"{r['nodes_cpu_per_round']:.3f}", f"{r['rss_before_mb']:.0f} MB",
                     f"{r['per_node_beyond_model_kb'] / 1024:.2f} MB", f"{r['peak_per_node_kb'] / 1024:.2f} MB"])
    out = [table(["nodes", "s per round (median)", "server CPU s per round", "all nodes' CPU s per round",
                  "server RSS before the nodes", "per node beyond one model copy", "peak RSS growth per node"],
                 rows)]
    if "marginal_per_node_kb" in d:
        lo, hi = d["marginal_between"]
        out.append(f"\nOne more node costs the server {d['marginal_per_node_beyond_model_kb']:.0f} KB beyond one "
                   f"model copy (the growth of the median RSS from {lo} to {hi} nodes, in the same invocation).")
    if "transfer" in d:
        t = d["transfer"]
        out.append(f"\nModel transfer with one node ({commas(t['params'])} parameters, "
                   f"{t['params'] * 4 / 1e6:.1f} MB each way): {t['tls']['mb_per_s']:.0f} MB/s with TLS, "
                   f"{t['plain']['mb_per_s']:.0f} MB/s without (ratio {t['tls_over_plain']:.2f}).")
    return "\n".join(out) + "\n\n" + provenance(d["meta"], "round_overhead.json")


def codec_speed(R):
    d = R["codec_speed"]
    rows = [[f"`{k.replace('|', chr(92) + '|')}`" + (" (error feedback)" if r["error_feedback"] else ""),
             f"{100 * r['share_of_float32']:.2f}%", f"{r['encode_ms']:.2f} ms", f"{r['decode_ms']:.2f} ms"]
            for k, r in d["pipelines"].items()]
    out = table(["pipeline", "bytes vs float32", "encode", "decode"], rows)
    note = (f"\n\nOne {commas(d['n'])}-float vector ({d['values']}), one core, best of {d['reps']} runs in the "
            "thread's CPU time.")
    return out + note + "\n\n" + provenance(d["meta"], "codec_speed.json")


def intent_goals(R):
    d = R["intent_goals"]
    tasks = d["tasks"]
    names = {"default": "default", "bandwidth": "\"keep bandwidth low\"", "cpu": "\"use little CPU\""}
    rows = []
    for k, e in tasks.items():
        row = [names.get(k, k), ms(e["final_acc"])]
        for t in d["setting"]["targets"]:
            x = e[f"to_{int(round(100 * t))}"]
            if not x["round"]:
                row += ["never"] * 4
                continue
            b = x["bytes"]
            row += [ms(x["round"], 1), f"{b['mean'] / 1e6:.1f} ± {b['std'] / 1e6:.1f} MB" if b["n"] > 1 else mb(b["mean"]),
                    ms(x["client_cpu_s"], 3), ms(x["server_cpu_s"], 3)]
        rows.append(row)
    head = ["task", f"final accuracy ({d['setting']['task'].split('(')[0].strip()}, 50 rounds)"]
    for t in d["setting"]["targets"]:
        p = f"{t:.0%}"
        head += [f"round to {p}", f"bytes to {p}", f"client CPU s to {p}", f"server CPU s to {p}"]
    out = table(head, rows)
    note = (f"\n\nMean ± standard deviation over {seeds_text(len(d['setting']['seeds']))}, one thread per run; bytes and "
            "rounds are exact, CPU seconds carry the machine's load.")
    return out + note + "\n\n" + provenance(d["meta"], "intent_goals.json")


def personalisation(R):
    import bench_personalisation
    d = R["personalisation"]
    provs = [provenance(d["meta"], "personalisation.json", f"{', '.join(_pers_rows(d, d['setting']['methods'], True))}: measured")]
    for e in d.get("earlier_runs", []):
        provs.insert(0, provenance(e["meta"], "personalisation.json", f"{', '.join(_pers_rows(d, e['methods']))}: measured"))
    return bench_personalisation.render(d) + "\n\n" + "\n\n".join(provs)


def _pers_rows(d, methods, latest=False):
    """The row names a run of bench_personalisation measured (the latest run: those no earlier run lists)."""
    earlier = {m for e in d.get("earlier_runs", []) for m in e["methods"]} if latest else set()
    names = [m for m in methods if m not in earlier]
    return names if names else ["all rows"]


def feature_skew(R):
    d = R["feature_skew"]
    s = d["setting"]
    rows = []
    for model, e in d["models"].items():
        name = {"mlp": "MLP 784-200-200-10", "cnn": "CNN (McMahan et al.)"}.get(model, model)
        for arm, a in e["arms"].items():
            rt = ", ".join("-" if x is None else str(x) for x in a["rounds_to_target"])
            rows.append([f"{name}, {e['rounds']} rounds", f"{arm} (`{a['feature_skew']}`)", ms(a["final_acc"]),
                         "" if arm == "iid" else ms(a["vs_iid_points"], 2, signed=True), f"{rt} (of {e['rounds']})",
                         ms(a["client_cpu_s_per_round"], 2)])
    target = ", ".join(f"{m.upper()} {e['target']:.3f}" for m, e in d["models"].items())
    out = table(["model", "clients' images", "final test accuracy", "vs iid (points)",
                 "rounds to 95% of iid's final, per seed", "client CPU s / round"], rows)
    note = (f"\n\nFashion-MNIST, {s['clients']} clients with an IID label split, {s['clients_per_round']} per round, "
            f"{s['local']}, {s['strategy']}; final accuracy = mean of the last 3 evaluations (every "
            f"{s['eval_every']} rounds), mean ± standard deviation over {seeds_text(len(s['seeds']))}, differences "
            f"taken seed by seed; targets: {target}; - = not reached. With feature skew, client k sees domain k mod 6 "
            "and the test set is spread over the same domains (test image i in domain i mod 6), so the skewed arm is "
            "scored on the transformed images. Client CPU is summed over the participants (a shared machine: "
            "indicative only).")
    return out + note + "\n\n" + provenance(d["meta"], "feature_skew.json")


# ---- bench_fedavg.py --part perf2 ----------------------------------------------------------

def _perf2(R, section):
    secs = R["perf2"]["sections"]
    if section not in secs:
        raise Missing(f"bench/results/perf2.json has no '{section}' section (bench_fedavg.py --part perf2 "
                      f"--sections {section.split('-')[0]})")
    return secs[section]


def perf2_memory(R):
    d = _perf2(R, "memory")
    r = d["runs"]
    rows = [["fedc, 1 worker thread", f"{r['cnn-1w']['peak_rss_mb']:.0f}",
             f"{r['cnn-1w-evalbatch500']['peak_rss_mb']:.0f}"],
            ["fedc, 2 worker threads", f"{r['cnn-2w']['peak_rss_mb']:.0f}",
             f"{r['cnn-2w-evalbatch500']['peak_rss_mb']:.0f}"],
            ["fedc, 2 worker threads, 20 clients per round", f"{r['cnn-2w-20inflight']['peak_rss_mb']:.0f}", ""]]
    if "torch" in d:
        rows.append([f"PyTorch peer, {d['torch']['threads']} threads", f"{d['torch']['peak_rss_mb']:.0f}", ""])
    out = [table(["CNN task, 1 round (peak RSS, MB)", "evaluation batch 64 (default)", "evaluation batch 500 (before)"],
                 rows), ""]
    lines = [f"- Per worker thread: {d['per_worker_mb']:.0f} MB (was {d['per_worker_mb_evalbatch500']:.0f} MB with an "
             f"evaluation batch of 500); per client in flight: {d['per_client_in_flight_mb']:.1f} MB; one worker "
             f"and everything else beyond the data set in memory ({d['dataset_mb']:.0f} MB of {d.get('dataset_form', 'float pixels')} and labels): "
             f"{d['one_worker_beyond_dataset_mb']:.0f} MB.",
             f"- Test accuracy after the round is the same with either evaluation batch: "
             f"{'yes' if d['same_figures_as_evalbatch500'] else 'NO'} "
             f"({r['cnn-2w']['accuracy']:.4f}); process CPU seconds {r['cnn-2w']['cpu_s']:.1f} against "
             f"{r['cnn-2w-evalbatch500']['cpu_s']:.1f} with the batch of 500."]
    if "torch" in d:
        lines.append(f"- fedc with 2 workers peaks at {d['fedc_over_torch']:.2f}x the PyTorch peer's memory on the "
                     f"same task (each process measured on its own, wait4).")
    sc = {x["clients"]: x for x in d.get("scale_mlp", [])}
    if 100 in sc and 10000 in sc:
        lines.append(f"- MLP with 10,000 clients (100 per round): {sc[10000]['peak_rss_mb']:.0f} MB peak; the same "
                     f"task with 100 clients: {sc[100]['peak_rss_mb']:.0f} MB.")
    out += lines
    return "\n".join(out) + "\n\n" + provenance(d["meta"], "perf2.json")


def perf2_tta(R):
    secs = R["perf2"]["sections"]
    names = [k for k in ("tta-mlp-iid", "tta-cnn-iid", "tta-mlp-dir05") if k in secs]
    if not names:
        raise Missing("bench/results/perf2.json has no tta-* section (bench_fedavg.py --part perf2 --sections tta)")
    label = {"tta-mlp-iid": "MLP, IID", "tta-cnn-iid": "CNN, IID", "tta-mlp-dir05": "MLP, Dirichlet 0.5"}
    rows, provs = [], []

    def side(e, key):
        runs = e[key + "_runs"]
        if not runs:
            return ["not run", "", ""]
        hit = [x for x in runs if x["reached"]]
        if not hit:
            return [f"never in {runs[0]['rounds_run']}", "", f"0/{len(runs)}"]
        sm = e[key]
        return [ms(sm["rounds"], 1), ms(sm["s_to_target"], 1), f"{len(hit)}/{len(runs)}"]

    for k in names:
        e = secs[k]
        f, t = side(e, "fedc"), side(e, "torch")
        rows.append([label[k], f"{e['target']:.0%}"] + f + t +
                    [f"**{ms(e['speedup'], 1)}x**" if "speedup" in e else "—"])
        provs.append(provenance(e["meta"], "perf2.json"))
    ev = {secs[k]["eval_every"] for k in names}
    out = table(["task", "target", "fedc rounds", "fedc s to target", "fedc seeds reaching it",
                 "PyTorch rounds", "PyTorch s to target", "PyTorch seeds reaching it", "speed-up (same seeds)"], rows)
    note = (f"\n\nWall seconds from the first round to the end of the first *evaluated* round at or above the "
            f"target (data loading excluded on both sides); fedc evaluates every {', '.join(map(str, sorted(ev)))} "
            f"round(s), the peer every round. Mean ± standard deviation over the seeds that reached the target; "
            f"the speed-up pairs runs of the same seed, run back to back. Both: 100 clients, 10 per round, E=1, "
            f"B=32, lr 0.05, PyTorch's initialisation, 2 threads.")
    if not any(secs[k]["torch_runs"] for k in names):
        note += " The PyTorch peer was not run in these invocations (--skip-peer)."
    return out + note + "\n\n" + "\n\n".join(provs)


def perf2_peak(R):
    d = _perf2(R, "peak")
    isa = d["peak_isa"]
    rows = []
    for m, e in d["models"].items():
        o = e["one_core"]
        fb = (f"{o['gflops_done_forward_backward']:.1f} (**{o['share_of_peak_forward_backward']:.0%}**)"
              if "share_of_peak_forward_backward" in o else "not measured")
        rows.append([m.upper(), f"{e['train_flops_per_sample'] / 1e6:.1f}", f"{3 * e['forward_flops_per_sample'] / 1e6:.1f}",
                     f"{o['gflops_done']:.1f}", f"**{o['share_of_peak']:.0%}**", fb,
                     f"{o['gflops_dense_equivalent']:.1f}", f"{o['share_of_peak_dense_equivalent']:.0%}"])
    out = [f"FMA peak of {d['cpu_model']} ({d['cores']} cores, {isa}, single precision, fedc's kernel "
           f"`bench/fma_peak.c`): {d['peak_one_core_gflops']:.1f} GFLOP/s on one core and "
           f"{d['peak_all_cores_gflops']:.1f} on all cores, per CPU-second of the measuring threads "
           f"({d['peak_all_cores_gflops_wall']:.1f} per wall second on all cores while the machine was shared).", "",
           table(["model (one thread, batch 32)", "MFLOP per sample, as done", "MFLOP, dense-equivalent (3x forward)",
                  "GFLOP/s done, whole step", "share of one core's peak", "GFLOP/s done in forward + backward (share)",
                  "GFLOP/s dense-equivalent", "share (dense-equivalent)"],
                 rows), ""]
    ac = d["models"]["cnn"].get("all_cores")
    if ac:
        out.append(f"- All cores (CNN simulation, {ac['threads']} worker threads, {ac['rounds_counted']} training "
                   f"rounds): {ac['gflops_done_per_wall_s']:.1f} GFLOP/s done per wall second (the machine was "
                   f"shared, so the wall figures of the peak and of the run are each other's load, not a ratio), "
                   f"{ac['gflops_done_per_cpu_s']:.1f} per CPU-second of the training threads "
                   f"({ac['share_of_one_core_peak_per_cpu_s']:.0%} of one core's peak).")
    out.append("- Counted as done: conv and dense forward products, weight gradients and the input gradients an "
               "earlier layer needs; a conv followed by max pooling back-propagates only through the pool's "
               "winners (one position in four for 2x2 pooling), so its backward counts those positions only "
               "(`fedc arch cnn`: train_flops_per_sample). Bias, ReLU, pooling and the optimizer step are not "
               "counted. Time: the training thread's CPU time (best of 3); the whole step is forward, backward "
               "and the SGD update, the forward + backward column divides the same FLOPs by the time of the "
               "forward and backward passes alone (the dense and convolution work with its bias, ReLU, pooling "
               "and loss), timed in the same loop.")
    steps = [f"{m.upper()} {e['one_core']['optimizer_step_ms_per_batch']:.2f} ms of {e['one_core']['ms_per_batch']:.2f}"
             for m, e in d["models"].items() if "optimizer_step_ms_per_batch" in e["one_core"]]
    if steps:
        out.append("- The SGD update per batch of 32 (memory-bound: it reads and writes every parameter): " +
                   ", ".join(steps) + ".")
    ev = d.get("eval_by_batch")
    if ev:
        b = ev["batches"]
        out.append("- Evaluation by batch size (CNN, one thread, ms per 1,000 samples; workspace MB): " +
                   ", ".join(f"{x['batch']}: {x['ms_per_1000']:.1f} ms, {x['ws_mb']:.0f} MB" for x in b) +
                   f"; accuracy and loss identical bit for bit: {'yes' if all(x['same_as_first'] for x in b) else 'NO'}.")
    return "\n".join(out) + "\n\n" + provenance(d["meta"], "perf2.json")


def perf2_best(R):
    d = _perf2(R, "best")
    rows = []
    for r in d["runs"]:
        rows.append([r["seed"], r["rounds"] if r["reached"] else f"not within {r['rounds_run']}",
                     f"{r['best_accuracy']:.4f}", f"{r['s_to_target']:.0f}" if r["reached"] else "—"])
    sets = ", ".join(f"`{x}`" for x in d["sets"]) or "the example as it is"
    out = table(["seed", f"round reaching {d['target']:.0%}", "best test accuracy", "wall s to target"], rows)
    return (f"`examples/fmnist-cnn.json` with {sets}, at most {d['max_rounds']} rounds:\n\n" + out + "\n\n" +
            provenance(d["meta"], "perf2.json"))

# ---- decentralised (bench_decentralised.py) ------------------------------------------------

DEC_METHODS = ["dpsgd", "gossip", "gossip-vc", "dfedsam", "dfedsam-mgs Q=1", "dfedsam-mgs Q=2", "dfedsam-mgs Q=4"]


def _dec_rows(d):
    """{(nodes, alpha): {(graph, method): row}}; DFedSAM-MGS with Q = 1 is DFedSAM's run."""
    out = {}
    for r in d["rows"]:
        cfg = out.setdefault((r["nodes"], r["alpha"]), {})
        cfg[(r["graph"], r["method"])] = r
        if r["method"] == "dfedsam":
            cfg[(r["graph"], "dfedsam-mgs Q=1")] = r
    return out


def _rtt(r):
    x = r["rounds_to_target"]
    n = len(r["runs"])
    if not x:
        return f"— (0/{n})"
    return f"{ms(x, 1)} ({r['reached']}/{n})"


def _dec_provenance(d):
    """One provenance line per invocation that measured runs in the file (the script merges)."""
    invs = [m for m in (d.get("invocations") or [d["meta"]]) if m]
    return "\n\n".join(provenance(m, "decentralised.json") for m in invs)


def decentralised(R):
    d = R["decentralised"]
    st = d["setting"]
    cfgs = _dec_rows(d)
    out = []
    for (n, alpha) in sorted(cfgs):
        cfg = cfgs[(n, alpha)]
        rows = []
        fa = cfg.get(("-", "fedavg"))
        if fa:
            rows.append(["fedavg (centralised, all clients)", "—", pct(fa["final_accuracy"]), _rtt(fa), "—", "—"])
        for g in ("ring", "random"):
            for m in DEC_METHODS:
                r = cfg.get((g, m))
                if not r:
                    continue
                cd = r.get("consensus_distance")
                rows.append([m, g, pct(r["final_accuracy"]), _rtt(r),
                             f"{cd['mean']:.2e}" if cd else "—",
                             mb(r["bytes_per_node_per_round"]["mean"]) if r.get("bytes_per_node_per_round") else "—"])
        out.append(f"**{n} nodes, Dirichlet alpha {alpha}**\n")
        out.append(table(["method", "graph", "final accuracy", f"rounds to {st['target']:.0%}",
                          "consensus distance", "sent per node per round"], rows))
        out.append("")
    done, planned = d.get("runs_done"), d.get("runs_planned")
    partial = (f" {done} of the {planned} planned runs finished; a row lists the seeds it has."
               if done is not None and done < planned else "")
    out.append(f"Fashion-MNIST, model `{st['model']}`, {st['rounds']} rounds of {st['local']} on every node, "
               f"{seeds_text(len(st['seeds']))} (mean ± std; rounds to target over the runs that reached it, "
               f"evaluated every {st['eval_every']} rounds). Accuracy is the mean over the nodes of their own "
               f"model's accuracy on the first {st['eval_samples']} test samples (FedAvg: the global model on the "
               f"whole test set). Sent per node: the models a node sent its neighbours, per round."
               f"{partial}")
    return "\n".join(out) + "\n\n" + _dec_provenance(d)


def decentralised_claims(R):
    d = R["decentralised"]
    cfgs = _dec_rows(d)
    rows, vc_ok, vc_n, q_ok, q_n = [], 0, 0, 0, 0
    pair_ok, pair_n, pair_d = 0, 0, []  # gossip-vc against gossip run by run (same seed: same data and pushes)
    for (n, alpha) in sorted(cfgs):
        cfg = cfgs[(n, alpha)]
        fa = cfg.get(("-", "fedavg"))
        if not fa:
            continue
        base = fa["final_accuracy"]["mean"]
        for g in ("ring", "random"):
            gap = {m: base - cfg[(g, m)]["final_accuracy"]["mean"] for m in DEC_METHODS if (g, m) in cfg}
            if "gossip" in gap and "gossip-vc" in gap:
                vc_n += 1
                vc_ok += gap["gossip-vc"] < gap["gossip"]
                plain = {r["seed"]: r["final_accuracy"] for r in cfg[(g, "gossip")]["runs"]}
                for r in cfg[(g, "gossip-vc")]["runs"]:
                    if r["seed"] in plain:
                        pair_n += 1
                        pair_ok += r["final_accuracy"] > plain[r["seed"]]
                        pair_d.append((r["final_accuracy"] - plain[r["seed"]]) * 100)
            qs = [gap.get(f"dfedsam-mgs Q={q}") for q in (1, 2, 4)]
            if None not in qs:
                q_n += 1
                q_ok += qs[0] >= qs[1] >= qs[2]
            f = lambda m: f"{gap[m] * 100:+.1f}" if m in gap else "—"
            rows.append([n, alpha, g, f("dpsgd"), f("gossip"), f("gossip-vc"), f("dfedsam-mgs Q=1"),
                         f("dfedsam-mgs Q=2"), f("dfedsam-mgs Q=4")])
    out = [table(["nodes", "alpha", "graph", "dpsgd", "gossip", "gossip-vc", "MGS Q=1", "MGS Q=2", "MGS Q=4"], rows),
           "",
           "Points of final accuracy below centralised FedAvg (mean over seeds; smaller is closer). "
           f"Variance-corrected gossip is closer to FedAvg than plain gossip in {vc_ok} of {vc_n} settings "
           f"(run by run, same seed: ahead in {pair_ok} of {pair_n} runs, by "
           f"{min(pair_d) if pair_d else 0:+.1f} to {max(pair_d) if pair_d else 0:+.1f} points); "
           f"DFedSAM-MGS's gap shrinks (or holds) from Q = 1 to 2 to 4 in {q_ok} of {q_n} settings."]
    return "\n".join(out) + "\n\n" + _dec_provenance(d)


def byom(R):
    """docs/python.md: what a node of one's own costs (bench/byom_overhead.py)."""
    d = R["byom"]
    labels = [("train/c", "C node (`fedc node`), training"), ("train/pytorch", "PyTorch node (SDK), training"),
              ("notrain/c", "C node, no training (`--echo`)"), ("notrain/python", "Python SDK node, no training"),
              ("notrain/flower", "Flower 1.6.0 NumPy client, no training")]

    def f3(v):
        return "—" if v is None else f"{v:.3f}"
    rows = []
    for key, label in labels:
        r = d["scenarios"].get(key)
        if not r:
            continue
        if key == "notrain/flower":
            rows.append([label, f3(r["round_s_median"]), f"{f3(r.get('all_cpu_s_per_round'))} (server + clients)",
                         "", "—", "—", ""])
            continue
        sdk = ""
        if "sdk_fit_s_median" in r:
            sdk = f"{f3(r['sdk_decode_s_median'])} / {f3(r['sdk_encode_s_median'])} / {f3(r['sdk_fit_s_median'])}"
        rows.append([label, f3(r["round_s_median"]), f3(r["server_cpu_s_per_round"]), f3(r["nodes_cpu_s_per_round"]),
                     f"{r['bytes_down_per_round'] / 1e6:.3f}", f"{r['bytes_up_per_round'] / 1e6:.3f}", sdk])
    out = table(["scenario", "s/round (median)", "server CPU s/round", "nodes CPU s/round", "MB down/round",
                 "MB up/round", "SDK decode / encode / fit s"], rows)
    p = d["provenance"]
    meta = {"date": p["date"], "commit": p["commit"], "cpu_model": p["cpu_model"], "cores": p["cores"],
            "command": p["command"], "load_avg_start": [p["load_avg_at_start"]]}
    return out + "\n\nOne invocation (cost figures, not accuracy).\n\n" + provenance(meta, "byom.json")


def flower(R):
    d = R["flower"]
    names = {"no-train": "no training (echo)", "mlp": "MLP, 1 local epoch"}
    rows = []
    for r in d["rows"]:
        f, w = r["fedc"], r["flower"]
        rows.append([names.get(r["kind"], r["kind"]), r["clients"], f"{f['median_round_s']:.3f}",
                     f"{w['median_round_s']:.3f}", f"{r['round_ratio']:.1f}×", f"{f['server_peak_rss_mb']:.0f} MB",
                     f"{w['server_peak_rss_mb']:.0f} MB", f"{r['memory_ratio']:.2f}×"])
    out = table(["round", "clients", "fedc s per round", "Flower s per round", "Flower / fedc",
                 "fedc server peak RSS", "Flower server peak RSS", "Flower / fedc"], rows)
    s = d["setting"]
    note = (f"\n\nEvery client in every round; {s['model']} ({commas(s['params'])} parameters); the MLP round trains "
            f"{s['local']}. fedc: {s['fedc_transport']}, one `fedc node` process per client; Flower {s['flower']}. "
            "Median seconds per round without the rounds that evaluate; each pair runs back to back in one "
            "invocation.")
    return out + note + "\n\n" + provenance(d["meta"], "flower.json")


def mpi(R):
    d = R["mpi"]
    names = {"single-t1": "fedc sim, 1 thread", "mpirun-np1-t1": "mpirun -np 1, 1 thread",
             "mpirun-np2-t1": "mpirun -np 2, 1 thread per rank", "single-t2": "fedc sim, 2 threads"}
    rows = []
    for r in d["scaling"]:
        split = ""
        if r.get("clients_per_rank"):
            split = f"{' / '.join(str(c) for c in r['clients_per_rank'])} (bound {r['split_speedup_bound']:.2f}x)"
        rows.append([names.get(r["config"], r["config"]), ms(r["wall_s"], 1),
                     f"{r['cpu_s']['mean']:.1f}", f"{r['speedup']:.2f}", f"{r['efficiency']:.2f}", split or "-",
                     "yes" if r["model_identical"] else "NO"])
    out = [table(["run", "wall s", "CPU s", "speed-up", "efficiency", "clients per rank",
                  "model identical"], rows)]
    crow = [[c["ranks"], f"{c['mpi_bytes_per_round'] / 1e6:.2f} MB", f"{c['update_bytes_per_round'] / 1e6:.2f} MB",
             f"{c['ratio_to_update_bytes']:.2f}", "yes" if c["model_identical"] else "NO"] for c in d["comm"]]
    out.append(table(["ranks", "bytes through MPI per round (all ranks)", "clients' updates per round",
                      "ratio", "model identical"], crow))
    if "amdahl" in d:
        a = d["amdahl"]
        out.append(f"The clients' training took {a['clients_share'] * 100:.0f}% of the single process's CPU seconds "
                   f"({a['clients_cpu_s']:.1f} of {a['single_cpu_s']:.1f} s); the rest (loading the data, "
                   f"encoding, aggregating, evaluating) every rank repeats, so 2 ranks can be at best "
                   f"{a['bound_np2']:.2f}x faster on this task (Amdahl).")
    s = d["setting"]
    out.append(f"Task {s['task']} with {', '.join(s['sets'])} ({commas(s['params'])} parameters), "
               f"{s['repeats']} run{'s' if s['repeats'] > 1 else ''} of each (interleaved); speed-up and efficiency from the best wall time of each "
               f"run against the 1-thread single process.")
    return "\n\n".join(out) + "\n\n" + provenance(d["meta"], "mpi.json")


def async_deploy(R):
    """bench/bench_async_deploy.py renders its own table (the script and the check agree)."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import bench_async_deploy
    return bench_async_deploy.render(R["async_deploy"])


def scale(R):
    """README: a million simulated clients (bench/bench_scale.py)."""
    d = R["scale"]
    st = d["setting"]
    rows = [[commas(r["clients"]), commas(r["per_round"]), f"{r['peak_rss_mb']:.0f} MB", f"{r['s_per_round']:.2f}",
             f"{r['setup_s']:.1f}"] for r in d["runs"]]
    out = [table(["clients", "per round", "peak RSS (fedc sim)", "s per round (median)", "set-up s"], rows)]
    sm = d.get("summary", {})
    notes = [f"Synthetic({st['alpha']:g}, {st['beta']:g}), model `{st['model']}`, {st['rounds']} rounds, batch "
             f"{st['batch']}, {st['epochs']} epoch, {st['threads']} threads; peak RSS is the child's own ru_maxrss."]
    if "bytes_per_client" in sm:
        lo, hi = d["runs"][0]["clients"], d["runs"][-1]["clients"]
        notes.append(f"Memory per client (slope of the peak from {commas(lo)} to {commas(hi)} clients): "
                     f"{sm['bytes_per_client']:.0f} bytes.")
    if "million_peak_mb" in sm:
        notes.append(f"1,000,000 clients: {sm['million_peak_mb']:.0f} MB peak, "
                     f"{'within' if sm['million_within_2gb'] else 'OVER'} the 2 GB target.")
    out.append("\n" + " ".join(notes))
    return "\n".join(out) + "\n\n" + provenance(d["meta"], "scale.json")


def connections(R):
    """README: 1,000 TLS node connections to one server (bench/bench_connections.py)."""
    d = R["connections"]
    st, o = d["setting"], d["overhead"]
    rows = [[commas(st["nodes"]), f"{o['s_per_round_median']:.2f} (min {o['s_per_round_min']:.2f}, max "
             f"{o['s_per_round_max']:.2f})", f"{o['server_rss_connected_mb']:.0f} MB",
             f"{o['load_gen_rss_mb']:.0f} MB"]]
    out = [table(["TLS node connections", "s per round, all nodes in every round (median)",
                  "server RSS during the rounds", "load generator RSS (one process)"], rows)]
    if "soak" in d:
        s = d["soak"]
        # Steady state from the samples: from the soak run's first round on
        # (before it the run loads its data and the nodes join it).
        smp = s["samples"]
        t1 = next((x[0] for x in smp if x[2] >= 1), smp[0][0])
        steady = [x for x in smp if x[0] >= t1]
        first = sorted(x[1] for x in steady if x[0] <= t1 + 60)
        last = sorted(x[1] for x in steady if x[0] >= smp[-1][0] - 60)
        f_med, l_med = first[len(first) // 2], last[len(last) // 2]
        out.append(f"\nSoak: {s['seconds'] / 60:.1f} minutes, {commas(s['rounds'])} rounds with every node; from the "
                   f"first round ({t1:.0f} s in, after the run loaded its data) server RSS {f_med:.1f} MB in the first "
                   f"minute, {l_med:.1f} MB in the last ({l_med - f_med:+.1f} MB over "
                   f"{(smp[-1][0] - t1) / 60:.1f} minutes), at most {max(x[1] for x in steady):.1f} MB.")
    out.append(f"\nModel `{st['model']}` on {st['dataset']} (the nodes echo it: no training), {o['rounds']} rounds; "
               "target: under 2 s per round at 1,000 connections, flat memory over 30 minutes.")
    return "\n".join(out) + "\n\n" + provenance(d["meta"], "connections.json")


TABLES = {
    "mpi": mpi,
    "async_deploy": async_deploy,
    "scale": scale,
    "connections": connections,
    "personalisation": personalisation,
    "feature_skew": feature_skew,
    "perf2_memory": perf2_memory,
    "perf2_tta": perf2_tta,
    "perf2_peak": perf2_peak,
    "perf2_best": perf2_best,
    "fedavg": fedavg,
    "fedavg_notes": fedavg_notes,
    "yardstick": yardstick,
    "comm_compression_mlp": lambda R: comm_compression(R, "mlp"),
    "comm_compression_cnn": lambda R: comm_compression(R, "cnn"),
    "comm_scheduling": comm_scheduling,
    "tune": tune,
    "tune_cost": tune_cost,
    "round_overhead": round_overhead,
    "codec_speed": codec_speed,
    "intent_goals": intent_goals,
    "decentralised": decentralised,
    "decentralised_claims": decentralised_claims,
    "byom": byom,
    "flower": flower,
}


def render(text, R, errors, doc):
    def sub(m):
        name = m.group(2)
        if name not in TABLES:
            errors.append(f"{doc}: unknown table '{name}' (known: {', '.join(sorted(TABLES))})")
            return m.group(0)
        try:
            body = TABLES[name](R)
        except Missing as e:
            errors.append(f"{doc}: table '{name}': {e}")
            return m.group(0)
        except (KeyError, TypeError, IndexError) as e:
            errors.append(f"{doc}: table '{name}': the results file lacks {e!r}: it was written by an older "
                          "version of its benchmark script; run the benchmark again")
            return m.group(0)
        return m.group(1) + body.rstrip("\n") + "\n" + m.group(4)
    return MARKER.sub(sub, text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="fail if a document differs from its results")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--root", default=ROOT, help="the tree whose documents are rendered")
    a = ap.parse_args()
    R = Results(a.results)
    errors, stale, blocks = [], [], 0
    for doc in DOCS:
        path = os.path.join(a.root, doc)
        if not os.path.exists(path):
            continue
        old = open(path).read()
        blocks += len(MARKER.findall(old))
        if old.count("<!-- fedc:table ") != len(MARKER.findall(old)):
            errors.append(f"{doc}: a <!-- fedc:table NAME --> marker without its <!-- /fedc:table -->")
        new = render(old, R, errors, doc)
        if new == old:
            continue
        if a.check:
            stale.append(doc)
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       f"{doc} (as written)", f"{doc} (from bench/results)", n=1))
        else:
            with open(path, "w") as f:
                f.write(new)
            print(f"updated {doc}")
    # Three benchmarks render their own tables between their own markers: the same check.
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import bench_optimizers
    import bench_strategies
    import intent_score
    for doc, module, results in (("docs/algorithms.md", bench_strategies, "strategies.json"),
                                 ("docs/algorithms.md", bench_optimizers, "optimizers.json"),
                                 ("docs/intent.md", intent_score, "intent_score.json")):
        path, res = os.path.join(a.root, doc), os.path.join(a.results, results)
        if not os.path.exists(path):
            continue
        text = open(path).read()
        start, end = module.MARKERS
        if start not in text or end not in text:
            errors.append(f"{doc}: the markers of {module.__name__}.py are missing")
        elif not os.path.exists(res):
            errors.append(f"{doc}: bench/results/{results} is missing")
        else:
            blocks += 1
            want = "\n" + module.render_text(json.load(open(res))) + "\n"
            i, j = text.index(start) + len(start), text.index(end)
            if text[i:j] != want:
                if a.check:
                    stale.append(doc)
                    sys.stdout.writelines(difflib.unified_diff(text[i:j].splitlines(True), want.splitlines(True),
                                                               f"{doc} (as written)", f"{doc} (from {results})", n=1))
                else:
                    open(path, "w").write(text[:i] + want + text[j:])
                    print(f"updated {doc}")
    # docs/privacy.md places bench/bench_privacy.py's tables among its prose (no markers): each
    # table the results file gives must appear in it verbatim.
    priv, pres = os.path.join(a.root, "docs", "privacy.md"), os.path.join(a.results, "privacy.json")
    if os.path.exists(priv) and os.path.exists(pres):
        import bench_privacy
        text = open(priv).read()
        tables = [c.strip() for c in bench_privacy.render(json.load(open(pres))).split("\n\n")
                  if c.strip().startswith("|")]
        blocks += len(tables)
        for t in tables:
            if t not in text:
                stale.append("docs/privacy.md")
                print(f"docs/privacy.md lacks this table of bench/results/privacy.json "
                      f"(/usr/bin/python3 bench/bench_privacy.py --render prints them):\n{t}\n")
    for e in errors:
        print("error: " + e, file=sys.stderr)
    if stale:
        print(f"{', '.join(stale)}: figures differ from bench/results; run /usr/bin/python3 bench/render_tables.py",
              file=sys.stderr)
    if errors or stale:
        sys.exit(1)
    print(f"{blocks} tables {'match' if a.check else 'rendered from'} bench/results")


if __name__ == "__main__":
    main()
