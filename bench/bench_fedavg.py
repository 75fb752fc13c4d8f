"""fedc against the PyTorch peer (bench/peers/torch_fedavg.py) on the same FedAvg work,
in the same invocation and with the same thread count, over several seeds.

Setting: Fashion-MNIST, 100 IID clients, 10 per round, 1 local epoch, batch 32, lr 0.05,
plain SGD, PyTorch's default initialisation on both sides (fedc: --set init=torch); MLP
784-200-200-10 for 50 rounds, CNN (McMahan et al.) for 30 rounds; seeds 0, 1, 2 by default
(each seed changes the partition, the initial model and the client sampling on both sides).

Reports per model, as mean and standard deviation over the seeds: seconds per round for
both (wall) and CPU seconds per round (the whole process, all threads, startup and data
loading included, from wait4; on a shared machine the wall figures carry everyone else's
load, the CPU figures much less), the speed-up by
both, fedc's samples/s and achieved GFLOP/s (per wall second and per CPU second of its
training threads) as a share of the machine's FMA peak (bench/yardstick.py, measured in the
same invocation, OpenBLAS sgemm unpinned beside it), final test accuracy of both and each
process's own peak resident memory. The peer's OpenMP threads wait passively
(OMP_WAIT_POLICY=PASSIVE), so its CPU seconds count work, not spinning. Then the peak memory of a 10,000-client task against a 100-client one with the
same 100 clients trained per round. Every child runs without the environment's OpenBLAS
kernel pins. Writes bench/results/fedavg.json.

usage: /usr/bin/python3 bench/bench_fedavg.py [--build build] [--threads 2] [--seeds 0,1,2]
       [--rounds-mlp 50] [--rounds-cnn 30] [--models mlp,cnn] [--skip-peer] [--skip-scale]

--part perf2 measures instead what users wait for and what the machine allows, into
bench/results/perf2.json (each section keeps its own provenance; a run of some sections
keeps the others' earlier results):
- memory: each process's own peak RSS (wait4) of a 1-round CNN task with 1 and 2 worker
  threads and with 10 and 20 clients in flight (per worker, per client in flight, beyond
  the data set), the same task with the old evaluation batch of 500, the PyTorch peer on
  the same task (2 threads), and the 10,000- against the 100-client MLP task;
- tta: wall seconds to the first *evaluated* round at or above a target test accuracy
  (MLP 80% and CNN 88% IID, MLP 75% Dirichlet 0.5), fedc (evaluating every --eval-every
  rounds) and the peer (every round) seed by seed back to back, with the rounds each needed;
- peak: training GFLOP/s against fedc's FMA peak (bench/fma_peak.c), one core (one thread,
  batch 32, thread CPU time; the whole step, and forward + backward alone, the optimizer's
  update timed apart in the same loop) and all cores (a CNN simulation on every core), the work
  counted as the kernels do it (fedc arch: train_flops_per_sample) and dense-equivalent
  (3x forward), and evaluation speed by evaluation batch;
- best: the CNN example task with --best-set overrides (learning rate, epochs) run to 91%.

usage: /usr/bin/python3 bench/bench_fedavg.py --part perf2 [--sections memory,tta,peak,best]
       [--tta-tasks mlp-iid,cnn-iid,mlp-dir05] [--tta-seeds 0,1,2] [--tta-peer-seeds 0,1,2]
       [--eval-every 1] [--best-set local.lr=0.1 --best-set local.epochs=2] [--best-seeds 0]
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import yardstick  # noqa: E402

ROOT = benchlib.ROOT
PEER = os.path.join(ROOT, "bench", "peers", "torch_fedavg.py")
SAMPLES_PER_ROUND = 6000  # 10 clients x 600 samples x 1 epoch


def fedc_sim(fedc, model, rounds, threads, seed, tmp, env):
    """One fedc run; returns its figures."""
    out = os.path.join(tmp, f"{model}-s{seed}")
    metrics = out + ".jsonl"
    # init=torch: PyTorch's default initialisation, so both sides do the same work.
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet", "--threads", str(threads),
           "--set", f"rounds={rounds}", "--set", "init=torch", "--set", f"seed={seed}", "--metrics", metrics,
           "--out", out]
    m = benchlib.run_measured(cmd, env=env)
    rows = [json.loads(line) for line in open(metrics)]
    train_wall = sum(r["wall_s"] for r in rows)
    client_cpu = sum(r["client_cpu_s"] for r in rows)
    return {"seed": seed, "s_per_round": train_wall / rounds, "final_acc": rows[-1]["accuracy"],
            "samples_per_s": SAMPLES_PER_ROUND * rounds / train_wall, "process_wall_s": m.wall_s,
            "process_cpu_s": m.cpu_s, "cpu_s_per_round": m.cpu_s / rounds, "peak_rss_mb": m.peak_rss_mb,
            "client_cpu_s": client_cpu, "samples_per_cpu_s": SAMPLES_PER_ROUND * rounds / client_cpu,
            "bytes": rows[-1]["bytes_down_total"] + rows[-1]["bytes_up_total"]}


def torch_run(model, rounds, threads, seed, env):
    cmd = ["/usr/bin/python3", PEER, "--model", model, "--clients", "100", "--per-round", "10", "--rounds",
           str(rounds), "--epochs", "1", "--batch", "32", "--lr", "0.05", "--threads", str(threads), "--seed",
           str(seed)]
    m = benchlib.run_measured(cmd, env=env)
    lines = [json.loads(line) for line in m.stdout.splitlines() if line.startswith("{")]
    per = [line for line in lines if "round" in line]
    summ = [line for line in lines if line.get("summary")][0]
    train = sum(line["round_s"] for line in per)
    return {"seed": seed, "s_per_round": train / len(per), "final_acc": summ["final_acc"],
            "samples_per_s": SAMPLES_PER_ROUND * len(per) / train, "process_wall_s": m.wall_s,
            "process_cpu_s": m.cpu_s, "cpu_s_per_round": m.cpu_s / len(per), "peak_rss_mb": m.peak_rss_mb}


def summarise(runs, keys):
    return {k: benchlib.mean_std([r[k] for r in runs]) for k in keys}


def scale_run(fedc, clients, threads, tmp, env):
    """Peak memory of a 2-round task with `clients` clients, 100 trained per round."""
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", "fmnist-mlp.json"), "--quiet", "--threads", str(threads),
           "--set", f"clients={clients}", "--set", "clients_per_round=100", "--set", "rounds=2",
           "--out", os.path.join(tmp, f"scale-{clients}")]
    m = benchlib.run_measured(cmd, env=env)
    return {"clients": clients, "clients_per_round": 100, "rounds": 2, "peak_rss_mb": m.peak_rss_mb,
            "wall_s": m.wall_s}


# ---- --part perf2 -------------------------------------------------------------------------

DATASET_BYTES_FMNIST = (60000 + 10000) * (784 + 4)  # byte pixels and int32 labels in memory
TTA_TASKS = {  # name: (model, target, fedc overrides, peer arguments)
    "mlp-iid": ("mlp", 0.80, [], []),
    "cnn-iid": ("cnn", 0.88, [], []),
    "mlp-dir05": ("mlp", 0.75, ["partition.kind=dirichlet", "partition.alpha=0.5"], ["--alpha", "0.5"]),
}


def fedc_cmd(fedc, model, sets, threads, tmp, tag, extra=()):
    cmd = [fedc, "sim", os.path.join(ROOT, "examples", f"fmnist-{model}.json"), "--quiet", "--threads", str(threads),
           "--metrics", os.path.join(tmp, tag + ".jsonl"), "--out", os.path.join(tmp, tag)] + list(extra)
    for kv in sets:
        cmd += ["--set", kv]
    return cmd


def perf2_memory(fedc, threads, tmp, env, skip_peer):
    """Peak RSS of each process on its own (wait4 on its pid), for the 1-round CNN task. The
    processes run side by side: each one's peak is its own, whatever runs beside it."""
    configs = [("cnn-1w", [], 1, []), ("cnn-2w", [], 2, []), ("cnn-2w-20inflight", ["clients_per_round=20"], 2, []),
               ("cnn-1w-evalbatch500", [], 1, ["--eval-batch", "500"]),
               ("cnn-2w-evalbatch500", [], 2, ["--eval-batch", "500"])]

    def one(cfg):
        tag, sets, thr, extra = cfg
        m = benchlib.run_measured(fedc_cmd(fedc, "cnn", ["rounds=1"] + sets, thr, tmp, tag, extra), env=env)
        row = json.loads(open(os.path.join(tmp, tag + ".jsonl")).readline())
        r = {"peak_rss_mb": m.peak_rss_mb, "cpu_s": m.cpu_s, "wall_s": m.wall_s, "round_wall_s": row["wall_s"],
             "accuracy": row["accuracy"], "loss": row["loss"],
             "command": benchlib.shlex.join(["fedc"] + m_cmd_tail(tag, "cnn", sets, thr, extra))}
        print(json.dumps({"memory": tag, **r}), flush=True)
        return tag, r

    def peer():
        cmd = ["/usr/bin/python3", PEER, "--model", "cnn", "--clients", "100", "--per-round", "10", "--rounds", "1",
               "--epochs", "1", "--batch", "32", "--lr", "0.05", "--threads", str(threads), "--seed", "0"]
        m = benchlib.run_measured(cmd, env=env)
        r = {"peak_rss_mb": m.peak_rss_mb, "cpu_s": m.cpu_s, "wall_s": m.wall_s, "threads": threads,
             "command": benchlib.shlex.join(["/usr/bin/python3", "bench/peers/torch_fedavg.py"] + cmd[2:])}
        print(json.dumps({"memory": "torch", **r}), flush=True)
        return r

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        fut_peer = ex.submit(peer) if not skip_peer and os.path.exists(PEER) else None
        fut_scale = [ex.submit(scale_run, fedc, n, threads, tmp, env) for n in (100, 10000)]
        runs = dict(ex.map(one, configs))
        scale = [f.result() for f in fut_scale]
        torch = fut_peer.result() if fut_peer else None
    out = {"runs": runs, "dataset_mb": DATASET_BYTES_FMNIST / 1048576.0, "dataset_form": "byte pixels",
           "side_by_side": True,
           "per_worker_mb": runs["cnn-2w"]["peak_rss_mb"] - runs["cnn-1w"]["peak_rss_mb"],
           "per_worker_mb_evalbatch500": runs["cnn-2w-evalbatch500"]["peak_rss_mb"]
           - runs["cnn-1w-evalbatch500"]["peak_rss_mb"],
           "per_client_in_flight_mb": (runs["cnn-2w-20inflight"]["peak_rss_mb"] - runs["cnn-2w"]["peak_rss_mb"]) / 10,
           "one_worker_beyond_dataset_mb": runs["cnn-1w"]["peak_rss_mb"] - DATASET_BYTES_FMNIST / 1048576.0,
           "same_figures_as_evalbatch500": runs["cnn-2w"]["accuracy"] == runs["cnn-2w-evalbatch500"]["accuracy"]
           and runs["cnn-1w"]["accuracy"] == runs["cnn-1w-evalbatch500"]["accuracy"],
           "scale_mlp": scale}
    if torch:
        out["torch"] = torch
        out["fedc_over_torch"] = runs["cnn-2w"]["peak_rss_mb"] / torch["peak_rss_mb"]
    for sc in scale:
        print(json.dumps({"scale": sc}), flush=True)
    return out


def m_cmd_tail(tag, model, sets, thr, extra):
    tail = ["sim", f"examples/fmnist-{model}.json", "--threads", str(thr)] + list(extra)
    for kv in ["rounds=1"] + sets:
        tail += ["--set", kv]
    return tail


def first_at(rows, target, acc_key, evaluated=lambda r: True):
    for r in rows:
        if evaluated(r) and r[acc_key] >= target:
            return r
    return None


def perf2_tta(fedc, names, seeds, peer_seeds, eval_every, threads, tmp, env, skip_peer, max_rounds):
    out = {}
    for name in names:
        model, target, sets, peer_args = TTA_TASKS[name]
        entry = {"model": model, "target": target, "fedc_sets": sets, "eval_every": eval_every,
                 "max_rounds": max_rounds, "fedc_runs": [], "torch_runs": []}
        for seed in seeds:
            tag = f"tta-{name}-s{seed}"
            fs = sets + [f"rounds={max_rounds}", f"stop.target_accuracy={target}", f"eval_every={eval_every}",
                         "init=torch", f"seed={seed}"]
            m = benchlib.run_measured(fedc_cmd(fedc, model, fs, threads, tmp, tag), env=env)
            rows = [json.loads(line) for line in open(os.path.join(tmp, tag + ".jsonl"))]
            hit = first_at(rows, target, "accuracy", lambda r: r["evaluated"])
            f = {"seed": seed, "reached": hit is not None, "rounds": hit["round"] if hit else None,
                 "s_to_target": hit["elapsed_s"] if hit else None, "accuracy": hit["accuracy"] if hit else None,
                 "rounds_run": len(rows), "process_wall_s": m.wall_s, "process_cpu_s": m.cpu_s,
                 "cpu_s_to_target": (sum(r["client_cpu_s"] + r["server_cpu_s"] for r in rows[:hit["round"]])
                                     if hit else None)}
            entry["fedc_runs"].append(f)
            print(json.dumps({"tta": name, "fedc": f}), flush=True)
            if skip_peer or seed not in peer_seeds or not os.path.exists(PEER):
                continue
            cmd = ["/usr/bin/python3", PEER, "--model", model, "--clients", "100", "--per-round", "10", "--rounds",
                   str(max_rounds), "--epochs", "1", "--batch", "32", "--lr", "0.05", "--threads", str(threads),
                   "--seed", str(seed), "--target", str(target)] + peer_args
            m = benchlib.run_measured(cmd, env=env)
            lines = [json.loads(x) for x in m.stdout.splitlines() if x.startswith("{")]
            per = [x for x in lines if "round" in x]
            hit = first_at(per, target, "acc")
            t = {"seed": seed, "reached": hit is not None, "rounds": hit["round"] if hit else None,
                 "s_to_target": sum(x["round_s"] for x in per[:hit["round"]]) if hit else None,
                 "accuracy": hit["acc"] if hit else None, "rounds_run": len(per), "process_wall_s": m.wall_s,
                 "process_cpu_s": m.cpu_s}
            entry["torch_runs"].append(t)
            print(json.dumps({"tta": name, "torch": t}), flush=True)
        fr = [r for r in entry["fedc_runs"] if r["reached"]]
        tr = [r for r in entry["torch_runs"] if r["reached"]]
        if fr:
            entry["fedc"] = summarise(fr, ["rounds", "s_to_target", "process_wall_s", "process_cpu_s"])
        if tr:
            entry["torch"] = summarise(tr, ["rounds", "s_to_target", "process_wall_s", "process_cpu_s"])
        pairs = [(f, t) for f in entry["fedc_runs"] for t in entry["torch_runs"]
                 if f["seed"] == t["seed"] and f["reached"] and t["reached"]]
        if pairs:
            entry["speedup"] = benchlib.mean_std([t["s_to_target"] / f["s_to_target"] for f, t in pairs])
            entry["speedup_process_cpu"] = benchlib.mean_std([t["process_cpu_s"] / f["process_cpu_s"]
                                                              for f, t in pairs])
        out[name] = entry
    return out


def perf2_peak(a, fedc, threads, tmp, env):
    """The yardstick, one core (nn_speed: one thread, batch 32, thread CPU time) and all cores
    (a 3-round CNN simulation, one client per core), with the work counted as done."""
    ys = yardstick.measure(a.build, torch=False)
    info = {m: json.loads(benchlib.run_measured([fedc, "arch", m], env=env).stdout) for m in ("mlp", "cnn")}
    out = {"cpu_model": benchlib.cpu_model(), "cores": os.cpu_count(), "fma_peak": ys["fma_peak"],
           "peak_isa": ys["peak_isa"], "peak_one_core_gflops": ys["peak_one_core_gflops"],
           "peak_all_cores_gflops": ys["peak_all_cores_gflops"],
           "peak_all_cores_gflops_wall": ys["fma_peak"]["isa"][ys["peak_isa"]]["all_cores_gflops_wall"],
           "openblas_sgemm": ys["openblas_sgemm"], "models": {}}
    for m, r in ys["nn_speed"]["models"].items():
        samples_per_s = ys["nn_speed"]["batch"] / (r["fedc_ms_per_batch"] * 1e-3)
        done = samples_per_s * info[m]["train_flops_per_sample"] / 1e9
        dense = samples_per_s * 3 * info[m]["forward_flops_per_sample"] / 1e9
        one = {"ms_per_batch": r["fedc_ms_per_batch"], "gflops_done": done,
               "share_of_peak": done / ys["peak_one_core_gflops"],
               "gflops_dense_equivalent": dense,
               "share_of_peak_dense_equivalent": dense / ys["peak_one_core_gflops"]}
        if "fedc_grad_ms_per_batch" in r:
            # The dense and convolution work alone: the same counted FLOPs over the time of
            # forward + backward (fedc_nn_grad: the layers with their bias, ReLU, pooling and
            # loss), timed in the same loop; the optimizer's update is the rest of the step.
            g = r["fedc_grad_ms_per_batch"]
            fb = ys["nn_speed"]["batch"] / (g * 1e-3) * info[m]["train_flops_per_sample"] / 1e9
            one.update({"forward_backward_ms_per_batch": g, "optimizer_step_ms_per_batch": r["fedc_ms_per_batch"] - g,
                        "gflops_done_forward_backward": fb,
                        "share_of_peak_forward_backward": fb / ys["peak_one_core_gflops"]})
        out["models"][m] = {"train_flops_per_sample": info[m]["train_flops_per_sample"],
                            "forward_flops_per_sample": info[m]["forward_flops_per_sample"],
                            "one_core": one}
    rounds = 3
    tag = "peak-cnn"
    m = benchlib.run_measured(fedc_cmd(fedc, "cnn", [f"rounds={rounds}", "init=torch", "eval_every=1000"],
                                       threads, tmp, tag), env=env)
    rows = [json.loads(line) for line in open(os.path.join(tmp, tag + ".jsonl"))]
    # Training work only: the rounds' wall time minus nothing (evaluation runs after the
    # first and last round; those rounds are left out).
    train_rows = [r for r in rows if not r["evaluated"]] or rows
    wall = sum(r["wall_s"] for r in train_rows)
    cpu = sum(r["client_cpu_s"] for r in train_rows)
    samples = SAMPLES_PER_ROUND * len(train_rows)
    tf = info["cnn"]["train_flops_per_sample"]
    out["models"]["cnn"]["all_cores"] = {
        "threads": threads, "rounds_counted": len(train_rows), "gflops_done_per_wall_s": samples * tf / wall / 1e9,
        "share_of_all_cores_peak_wall": samples * tf / wall / 1e9 / out["peak_all_cores_gflops_wall"],
        "gflops_done_per_cpu_s": samples * tf / cpu / 1e9,
        "share_of_one_core_peak_per_cpu_s": samples * tf / cpu / 1e9 / ys["peak_one_core_gflops"]}
    ev = json.loads(benchlib.run_measured([os.path.join(a.build, "nn_speed"), "--eval", "500,128,64", "3"],
                                          env=yardstick.unpinned_env(OPENBLAS_NUM_THREADS="1")).stdout)
    out["eval_by_batch"] = ev
    print(json.dumps({"peak": out["models"], "eval": ev}), flush=True)
    return out


def perf2_best(fedc, sets, seeds, threads, tmp, env, max_rounds=200, target=0.91):
    runs = []
    for seed in seeds:
        tag = f"best-s{seed}"
        fs = list(sets) + [f"rounds={max_rounds}", f"stop.target_accuracy={target}", f"seed={seed}"]
        m = benchlib.run_measured(fedc_cmd(fedc, "cnn", fs, threads, tmp, tag), env=env)
        rows = [json.loads(line) for line in open(os.path.join(tmp, tag + ".jsonl"))]
        hit = first_at(rows, target, "accuracy", lambda r: r["evaluated"])
        r = {"seed": seed, "reached": hit is not None, "rounds": hit["round"] if hit else None,
             "s_to_target": hit["elapsed_s"] if hit else None,
             "best_accuracy": max(x["accuracy"] for x in rows if x["evaluated"]), "rounds_run": len(rows),
             "process_wall_s": m.wall_s, "process_cpu_s": m.cpu_s,
             "curve": [[x["round"], x["accuracy"]] for x in rows if x["evaluated"]]}
        runs.append(r)
        print(json.dumps({"best": {k: v for k, v in r.items() if k != "curve"}}), flush=True)
    return {"sets": list(sets), "target": target, "max_rounds": max_rounds, "runs": runs}


def perf2(a):
    prov = benchlib.Provenance(a.build)
    fedc = os.path.join(a.build, "fedc")
    env = yardstick.unpinned_env(OMP_NUM_THREADS=str(a.threads), OMP_WAIT_POLICY="PASSIVE")
    tmp = tempfile.mkdtemp(prefix="fedc-perf2-")
    path = os.path.join(benchlib.RESULTS, "perf2.json")
    old = json.load(open(path)) if os.path.exists(path) else {}
    sections = dict(old.get("sections", {}))
    want = a.sections.split(",")
    measured = set()
    for sec in want:
        sp = benchlib.Provenance(a.build)
        sp.argv = prov.argv
        if sec == "memory":
            data = perf2_memory(fedc, a.threads, tmp, env, a.skip_peer)
        elif sec == "tta":
            # One section per task (each with its own provenance): the CNN's peer may
            # need a run of its own, with fewer seeds.
            seeds = [int(x) for x in a.tta_seeds.split(",")]
            peer = [int(x) for x in a.tta_peer_seeds.split(",")] if a.tta_peer_seeds else seeds
            for name in a.tta_tasks.split(","):
                tp = benchlib.Provenance(a.build)
                tp.argv = prov.argv
                data = perf2_tta(fedc, [name], seeds, peer, a.eval_every, a.threads, tmp, env, a.skip_peer,
                                 a.tta_max_rounds)[name]
                sections["tta-" + name] = {"meta": tp.meta(), **data}
                measured.add("tta-" + name)
            continue
        elif sec == "peak":
            data = perf2_peak(a, fedc, a.threads, tmp, env)
        elif sec == "best":
            data = perf2_best(fedc, a.best_set, [int(x) for x in a.best_seeds.split(",")], a.threads, tmp, env)
        else:
            raise SystemExit(f"--sections: unknown section {sec} (memory, tta, peak, best)")
        sections[sec] = {"meta": sp.meta(), **data}
        measured.add(sec)
    # Sections measured by another invocation meanwhile are kept: re-read just before writing.
    latest = json.load(open(path)).get("sections", {}) if os.path.exists(path) else {}
    latest.update({k: v for k, v in sections.items() if k not in old.get("sections", {}) or k in measured})
    out = {"sections": latest}
    written = benchlib.write_results("perf2", prov, out, openblas_pins_removed=yardstick.pins_in_environment())
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {os.path.relpath(written, ROOT)}; tables: /usr/bin/python3 bench/render_tables.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--rounds-mlp", type=int, default=50)
    ap.add_argument("--rounds-cnn", type=int, default=30)
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--part", default="speed", choices=["speed", "perf2"])
    ap.add_argument("--sections", default="memory,tta,peak,best")
    ap.add_argument("--tta-tasks", default="mlp-iid,cnn-iid,mlp-dir05")
    ap.add_argument("--tta-seeds", default="0,1,2")
    ap.add_argument("--tta-peer-seeds", default="", help="seeds the peer runs too (default: --tta-seeds)")
    ap.add_argument("--tta-max-rounds", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=1)
    ap.add_argument("--best-set", action="append", default=[], help="task override of the 91%% run (repeatable)")
    ap.add_argument("--best-seeds", default="0")
    a = ap.parse_args()
    if a.part == "perf2":
        perf2(a)
        return
    prov = benchlib.Provenance(a.build)
    fedc = os.path.join(a.build, "fedc")
    seeds = [int(s) for s in a.seeds.split(",")]
    env = yardstick.unpinned_env(OMP_NUM_THREADS=str(a.threads), OMP_WAIT_POLICY="PASSIVE")
    tmp = tempfile.mkdtemp(prefix="fedc-bench-")
    ys = yardstick.measure(a.build, torch=False)
    peak = ys["peak_all_cores_gflops"] * min(a.threads, os.cpu_count() or 1) / (os.cpu_count() or 1)
    results = {"setting": {"threads": a.threads, "seeds": seeds, "clients": 100, "clients_per_round": 10,
                           "epochs": 1, "batch": 32, "lr": 0.05, "init": "torch"},
               "yardstick": ys, "fma_peak_gflops_for_threads": peak, "models": {}}
    for model in a.models.split(","):
        rounds = a.rounds_mlp if model == "mlp" else a.rounds_cnn
        info = json.loads(benchlib.run_measured([fedc, "arch", model], env=env).stdout)
        entry = {"params": info["params"], "rounds": rounds, "forward_flops_per_sample":
                 info["forward_flops_per_sample"], "fedc_runs": [], "torch_runs": []}
        for seed in seeds:
            f = fedc_sim(fedc, model, rounds, a.threads, seed, tmp, env)
            # Training FLOPs ~ 3x forward (forward, input-gradient, weight-gradient GEMMs).
            f["gflops"] = f["samples_per_s"] * 3 * info["forward_flops_per_sample"] / 1e9
            f["share_of_fma_peak"] = f["gflops"] / peak
            # Per CPU second of the training threads, against one core's peak.
            f["gflops_per_cpu_s"] = f["samples_per_cpu_s"] * 3 * info["forward_flops_per_sample"] / 1e9
            f["share_of_one_core_fma_peak"] = f["gflops_per_cpu_s"] / ys["peak_one_core_gflops"]
            entry["fedc_runs"].append(f)
            print(json.dumps({"model": model, "fedc": f}), flush=True)
            if os.path.exists(PEER) and not a.skip_peer:
                t = torch_run(model, rounds, a.threads, seed, env)
                entry["torch_runs"].append(t)
                print(json.dumps({"model": model, "torch": t}), flush=True)
        entry["fedc"] = summarise(entry["fedc_runs"], ["s_per_round", "cpu_s_per_round", "final_acc",
                                                       "samples_per_s", "gflops", "share_of_fma_peak",
                                                       "gflops_per_cpu_s", "share_of_one_core_fma_peak",
                                                       "peak_rss_mb", "client_cpu_s"])
        if entry["torch_runs"]:
            entry["torch"] = summarise(entry["torch_runs"], ["s_per_round", "cpu_s_per_round", "final_acc",
                                                             "samples_per_s", "peak_rss_mb"])
            # Per seed: the two sides ran the same seed back to back.
            pairs = list(zip(entry["fedc_runs"], entry["torch_runs"]))
            entry["speedup"] = benchlib.mean_std([t["s_per_round"] / f["s_per_round"] for f, t in pairs])
            entry["speedup_cpu"] = benchlib.mean_std([t["cpu_s_per_round"] / f["cpu_s_per_round"] for f, t in pairs])
            entry["accuracy_gap_points"] = benchlib.mean_std([100 * (f["final_acc"] - t["final_acc"])
                                                              for f, t in zip(entry["fedc_runs"],
                                                                              entry["torch_runs"])])
        results["models"][model] = entry
    if not a.skip_scale:
        results["scale"] = [scale_run(fedc, n, a.threads, tmp, env) for n in (100, 10000)]
        for s in results["scale"]:
            print(json.dumps({"scale": s}), flush=True)
    path = benchlib.write_results("fedavg", prov, results,
                                  openblas_pins_removed=yardstick.pins_in_environment())
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {os.path.relpath(path, ROOT)}; tables: /usr/bin/python3 bench/render_tables.py")


if __name__ == "__main__":
    main()
