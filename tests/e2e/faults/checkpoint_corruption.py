"""Checkpoint corruption: the server is killed (SIGKILL) mid-run and its
newest checkpoint damaged before the restart: 8 bytes flipped (as an
audit did); with --cycles 2, then both kept checkpoints. The run must
not fail: it resumes from the newest valid checkpoint (or from round 1 when
none is left), says so in the log and in the run's "notice", and ends with
metrics equal to an uninterrupted run (the rounds after the checkpoint it
used are run again: nothing lost, nothing counted twice)."""
import glob
import os
import re
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import Cluster, arg_int, lost_rounds, record, sim_baseline, small_task, wait_for  # noqa: E402

FEDC = sys.argv[1]
CYCLES = arg_int("cycles", 1)  # 1: the newest checkpoint damaged; 2: then both kept ones
N, ROUNDS = 3, 4 + 3 * CYCLES


def checkpoints(c, run_id):
    """The run's checkpoint files the store vouches for (not after its
    checkpoint round: a newer file whose round was never committed is not
    used), oldest first."""
    db = sqlite3.connect(os.path.join(c.state, "runs.db"))
    upto = db.execute("SELECT checkpoint_round FROM runs WHERE id=?", (run_id,)).fetchone()[0]
    db.close()
    files = glob.glob(os.path.join(c.state, "runs", str(run_id), "ckpt-*.bin"))
    return sorted(f for f in files if int(re.search(r"ckpt-(\d+)\.bin$", f).group(1)) <= upto)


def flip(path, offset, count):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = bytearray(f.read(count))
        f.seek(offset)
        f.write(bytes(x ^ 0xFF for x in b))


task = small_task(N, ROUNDS)
with Cluster(FEDC, tls=True, name="ckptcorrupt") as c:
    baseline = sim_baseline(FEDC, task, os.path.join(c.dir, "baseline"))
    c.start_server()
    run_id = c.create_run(task)
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", "0.2")
    injected = survived = 0
    notices = [None]
    for cycle, damaged in enumerate((1, 2)[:CYCLES]):
        at = 3 + 3 * cycle
        wait_for(f"round {at}", lambda: len(c.rounds(run_id)) >= at, 120, c.server)
        assert c.kill_server(signal.SIGKILL) == -signal.SIGKILL
        ckpts = checkpoints(c, run_id)
        assert len(ckpts) >= damaged, ckpts
        for path in ckpts[-damaged:]:
            flip(path, 60, 8)
        injected += 1
        open(c.server_log, "a").write(f"---- restart {cycle + 1} ----\n")
        c.start_server()
        def resumed():
            r = c.run(run_id)
            assert r["status"] != "failed", f"the run failed instead of falling back: {r['error']}"
            return r if r.get("notice") != notices[-1] else None
        run = wait_for("the resumed run's notice", resumed, 60, c.server)
        notices.append(run["notice"])
        want = "the newest valid one" if damaged == 1 else "no valid checkpoint is left"
        assert want in run["notice"] and "checksum mismatch" in run["notice"], run["notice"]
        assert run["status"] in ("running", "done"), run
        survived += 1
        print(f"cycle {cycle + 1}: {damaged} checkpoint(s) damaged: {run['notice']}")
    run = c.wait_run_end(run_id, 300)
    assert run["status"] == "done", run
    log = c.read_server_log()
    assert "checksum mismatch" in log and "the newest valid one" in log, log[-3000:]
    lost = lost_rounds(c.rounds(run_id), baseline)
    record("checkpoint corruption", injected, survived, lost, notices=notices[1:])
    assert lost == 0, f"{lost} rounds lost or different"
print("ok")
