"""The GFLOP/s yardstick: what this machine's cores can do, measured the same
way on every machine, so fedc's training throughput (bench/bench_fedavg.py)
and any GEMM or convolution work are reported as a share of a peak that
means something.

- fedc's FMA peak (build/fma_peak): single-precision fused multiply-adds in
  registers, one core and all cores, per vector width (AVX-512, AVX2+FMA);
  GFLOP/s per CPU-second of the measuring threads (what a core delivers
  while it runs them) and per wall second (lower when other processes
  share the cores).
- OpenBLAS sgemm (build/sgemm_peak), 1 thread and all cores, with the
  environment's kernel pins removed (`env -u OPENBLAS_CORETYPE -u
  OPENBLAS_L2_SIZE`): OpenBLAS picks its kernel for this CPU, as it would on
  a user's machine. The kernel it picked is recorded.
- fedc's per-batch training speed on one thread (build/nn_speed), MLP and
  CNN, batch 32, beside PyTorch doing the same step in the same run.

usage: /usr/bin/python3 bench/yardstick.py [--build build] [--no-torch] [--sgemm-n 1024]
Writes bench/results/yardstick.json. bench_fedavg.py calls measure() itself, so its
ratios come from the same invocation as its throughput.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

# Variables a development environment may set to pin OpenBLAS's kernel choice.
OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def unpinned_env(**extra):
    """os.environ without OpenBLAS's kernel pins, plus extra variables."""
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_PINS}
    env.update(extra)
    return env


def pins_in_environment():
    return {k: os.environ[k] for k in OPENBLAS_PINS if k in os.environ}


def measure(build, torch=True, sgemm_n=1024):
    """Runs the three yardsticks; returns their results as one dict."""
    cores = os.cpu_count() or 1
    env = unpinned_env()
    fma = json.loads(benchlib.run_measured([os.path.join(build, "fma_peak"), "--threads", str(cores),
                                            "--seconds", "0.5", "--reps", "3"], env=env).stdout)
    best = fma["isa"][fma["best_isa"]]
    sgemm = {}
    for t in sorted({1, cores}):
        out = benchlib.run_measured([os.path.join(build, "sgemm_peak"), str(t), str(sgemm_n)], env=env).stdout
        sgemm[f"{t}_threads"] = json.loads(out)
    nn_cmd = [os.path.join(build, "nn_speed"), "3", "--json"] + ([] if torch else ["--no-torch"])
    nn = json.loads(benchlib.run_measured(nn_cmd, env=unpinned_env(OPENBLAS_NUM_THREADS="1")).stdout)
    return {
        "fma_peak": fma,
        # The figures other benchmarks divide by: the widest vector unit's peak.
        "peak_one_core_gflops": best["one_core_gflops_cpu"],
        "peak_all_cores_gflops": best["all_cores_gflops_cpu"],
        "peak_isa": fma["best_isa"],
        "openblas_sgemm": sgemm,
        "openblas_pins_removed": pins_in_environment(),
        "nn_speed": nn,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(benchlib.ROOT, "build"))
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch per-batch peer")
    ap.add_argument("--sgemm-n", type=int, default=1024)
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    y = measure(a.build, torch=not a.no_torch, sgemm_n=a.sgemm_n)
    path = benchlib.write_results("yardstick", prov, y)
    f = y["fma_peak"]
    print(f"CPU: {f['cpu_model']}, {f['cores_online']} cores")
    for isa, r in f["isa"].items():
        print(f"FMA peak {isa:>9}: one core {r['one_core_gflops_cpu']:7.1f} GFLOP/s per CPU-s "
              f"({r['one_core_gflops_wall']:.1f} per wall s), all cores {r['all_cores_gflops_cpu']:7.1f} "
              f"({r['all_cores_gflops_wall']:.1f})")
    for k, r in y["openblas_sgemm"].items():
        print(f"OpenBLAS sgemm {r['n']}^3, {k.replace('_', ' ')}: {r['gflops']:.1f} GFLOP/s (kernel {r['core']})")
    for m, r in y["nn_speed"]["models"].items():
        t = f", PyTorch {r['torch_ms_per_batch']:.3f} ms ({r['speedup']:.2f}x)" if "torch_ms_per_batch" in r else ""
        print(f"{m} batch of 32, one thread: fedc {r['fedc_ms_per_batch']:.3f} ms "
              f"({r['fedc_gflops']:.1f} GFLOP/s){t}")
    print(f"wrote {os.path.relpath(path, benchlib.ROOT)}")


if __name__ == "__main__":
    main()
