"""Shared pieces of the fault-injection suite (tests/e2e/faults/): the
cluster helpers of the deployment tests, the uninterrupted baseline a
faulted run must equal, and the results each scenario records.

A scenario injects faults into a real `fedc server` with `fedc node`
processes on loopback, checks that the server survived each one and lost
nothing (the metrics equal `fedc sim` of the same task, which a deployment
reproduces exactly), and appends one JSON line to $FEDC_FAULTS_RESULTS when
that is set (tests/e2e/faults/run_all.sh collects them)."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from fedc_e2e import Cluster, quick_task  # noqa: E402,F401

SKIP = 77  # ctest SKIP_RETURN_CODE: reported as skipped, never as passed


def small_task(nodes, rounds, **extra):
    """A short task: every node takes part in every round, so a deployment
    is deterministic and equals `fedc sim` round for round."""
    t = quick_task(nodes, rounds=rounds, **extra)
    t["local"]["max_steps"] = 8
    t["eval_every"] = 1
    return t


def sim_baseline(fedc, task, workdir):
    """Per-round metrics of the same task in one process (no faults)."""
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "task.json")
    with open(path, "w") as f:
        json.dump(task, f)
    out = os.path.join(workdir, "sim")
    subprocess.run([fedc, "sim", path, "--quiet", "--threads", "1", "--out", out], check=True, timeout=300,
                   capture_output=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def lost_rounds(rounds, baseline):
    """Rounds missing, counted twice or different from the uninterrupted
    run (accuracy, loss, bytes each way); 0 when nothing was lost."""
    by_round = {}
    bad = 0
    for r in rounds:
        if r["round"] in by_round:
            bad += 1  # counted twice
        by_round[r["round"]] = r
    for s in baseline:
        d = by_round.get(s["round"])
        if d is None:
            bad += 1
            continue
        same = (d["bytes_down"] == s["bytes_down"] and d["bytes_up"] == s["bytes_up"]
                and d["participants"] == s["participants"]
                and d["accuracy"] is not None and abs(d["accuracy"] - s["accuracy"]) < 1e-6
                and d["loss"] is not None and abs(d["loss"] - s["loss"]) < 1e-5)
        if not same:
            print(f"round {s['round']} differs: deployment {d} vs uninterrupted {s}")
            bad += 1
    extra = [r for r in by_round if r > len(baseline)]
    return bad + len(extra)


def record(scenario, injected, survived, lost, **extra):
    """One line of the suite's results (when run_all.sh collects them)."""
    line = dict(scenario=scenario, faults_injected=injected, survived=survived, data_lost=lost, **extra)
    print("result:", json.dumps(line))
    path = os.environ.get("FEDC_FAULTS_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")


def wait_for(what, pred, timeout, server=None):
    """Polls pred() until it returns a true value; fails after timeout s."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        if server is not None and server.poll() is not None:
            raise AssertionError(f"server exited ({server.returncode}) while waiting for {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last})")


def arg_int(name, default):
    """--NAME N from the command line (after the fedc binary)."""
    if f"--{name}" in sys.argv:
        return int(sys.argv[sys.argv.index(f"--{name}") + 1])
    return default
