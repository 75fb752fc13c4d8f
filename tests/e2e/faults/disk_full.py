"""Disk full: the server's state directory is a small tmpfs in a private
mount namespace (unshare -m). Mid-run the file system is filled to the last
byte, --cycles times. Each time the run must pause (status "paused", error
"storage full: ..." in the API) rather than fail, spin or train on without
its checkpoints; not advance while paused; and resume by itself once the
space is freed. At the end the run is done with every round exactly once
and its metrics equal an uninterrupted run of the same task (nothing
lost). Needs root for the mount namespace (as `make test` runs); without
it the test reports itself skipped."""
import errno
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import SKIP, Cluster, arg_int, lost_rounds, record, sim_baseline, small_task, wait_for  # noqa: E402

FEDC = sys.argv[1]
CYCLES = arg_int("cycles", 1)
N, ROUNDS = 3, 4 + 3 * CYCLES

# A private mount namespace, so the tmpfs is ours alone and vanishes with us.
if os.environ.get("FEDC_FAULTS_NS") != "1":
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        print(f"skipped: no private mount namespace here (unshare -m: {probe.stderr.decode().strip()})")
        sys.exit(SKIP)
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable] + sys.argv,
               dict(os.environ, FEDC_FAULTS_NS="1"))


def fill(path):
    """Writes zeros until the file system refuses: it is then full."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        block = b"\0" * 65536
        while True:
            try:
                written += f.write(block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        small = b"\0" * 512
        while True:
            try:
                written += f.write(small)
            except OSError:
                break
    return written


task = small_task(N, ROUNDS)
with Cluster(FEDC, tls=True, name="diskfull") as c:
    baseline = sim_baseline(FEDC, task, os.path.join(c.dir, "baseline"))
    os.makedirs(c.state)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", c.state], check=True)
    try:
        c.start_server()
        run_id = c.create_run(task)
        for k in range(N):
            c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", "0.2")
        injected = survived = 0
        failed_writes = []
        for cycle in range(CYCLES):
            at = 2 + 3 * cycle
            wait_for(f"round {at}", lambda: len(c.rounds(run_id)) >= at, 120, c.server)
            filler = os.path.join(c.state, "filler")
            fill(filler)
            injected += 1
            run = wait_for("the run to pause",
                           lambda: (lambda r: r if r["status"] == "paused" else None)(c.run(run_id)), 60, c.server)
            assert run["error"].startswith("storage full: "), run
            failed_writes.append(run["error"].split(";")[0])
            # Paused means paused: no round is committed while the disk is full.
            done_then = len(c.rounds(run_id))
            for _ in range(10):
                time.sleep(0.2)
                assert c.run(run_id)["status"] == "paused"
            assert len(c.rounds(run_id)) == done_then
            os.unlink(filler)
            wait_for("the run to resume", lambda: c.run(run_id)["status"] in ("running", "done"), 60, c.server)
            wait_for("a round after the pause", lambda: len(c.rounds(run_id)) > done_then, 120, c.server)
            survived += 1
            print(f"cycle {cycle + 1}: paused at round {done_then} ({failed_writes[-1]}), resumed")
        run = c.wait_run_end(run_id, 300)
        assert run["status"] == "done" and run["error"] is None, run
        rounds = c.rounds(run_id)
        lost = lost_rounds(rounds, baseline)
        log = c.read_server_log()
        # One pause and one resume per fill, not a restart loop.
        assert log.count("resumed from round") == 0, log[-3000:]
        assert log.count(" paused: storage full") == CYCLES, log[-3000:]
        assert log.count("its progress is written again") == CYCLES, log[-3000:]
        c.stop_all()
    finally:
        subprocess.run(["umount", "-l", c.state])
    record("disk full", injected, survived, lost, failed_writes=failed_writes)
    assert lost == 0, f"{lost} rounds lost or different"
print("ok")
