"""Descriptor exhaustion: the server runs with 64 descriptors (prlimit,
soft and hard, as `ulimit -n 64`) and, mid-run, 70 idle connections are
held open against it (reopened as soon as it closes one). It must keep
descriptors for its own files: every round is checkpointed (no checkpoint
fails, the run never trains on unprotected), the run ends with metrics
equal to an uninterrupted run, and the connections it cannot take are
refused at once (an HTTP answer it does give is JSON)."""
import glob
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import Cluster, lost_rounds, record, sim_baseline, small_task, wait_for  # noqa: E402

FEDC = sys.argv[1]
N, ROUNDS, FLOOD = 3, 8, 70


class Flood:
    """Holds FLOOD idle TCP connections open; counts what the server does with them."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.opened = self.closed_by_server = 0
        self.answers = []  # first bytes the server sent on a flood connection, if any
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        conns = []
        while not self.stop.is_set():
            while len(conns) < FLOOD and not self.stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
                    s.setblocking(False)
                    conns.append(s)
                    self.opened += 1
                except OSError:
                    time.sleep(0.05)
                    break
            alive = []
            for s in conns:
                try:
                    data = s.recv(4096)
                    if data == b"":
                        self.closed_by_server += 1
                        s.close()
                        continue
                    self.answers.append(data[:200])
                    alive.append(s)
                except BlockingIOError:
                    alive.append(s)
                except OSError:
                    self.closed_by_server += 1
                    s.close()
            conns = alive
            time.sleep(0.05)
        for s in conns:
            s.close()


task = small_task(N, ROUNDS)
with Cluster(FEDC, tls=True, name="fds") as c:
    baseline = sim_baseline(FEDC, task, os.path.join(c.dir, "baseline"))
    # All 70 come from one address: lift the per-address limit so that the
    # descriptors, not that limit, are what runs out.
    c.start_server("--max-unauth-per-address", "1000", wrapper=("prlimit", "--nofile=64:64"))
    run_id = c.create_run(task)
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", "0.3")
    wait_for("round 2", lambda: len(c.rounds(run_id)) >= 2, 120, c.server)
    flood = Flood(c.port)
    flood.thread.start()
    # Progress is watched on disk (the API may be refused while the flood holds the descriptors).
    ckdir = os.path.join(c.state, "runs", str(run_id))
    last = f"ckpt-{ROUNDS - 2:06d}.bin"
    wait_for("checkpoints during the flood", lambda: os.path.exists(os.path.join(ckdir, last)), 240, c.server)
    flood.stop.set()
    flood.thread.join(timeout=30)
    run = c.wait_run_end(run_id, 240)
    assert run["status"] == "done", run
    full = c.run(run_id)
    log = c.read_server_log()
    failed_ckpt = log.count("cannot write the checkpoint") + log.count("checkpoint of round")
    paused = log.count(" paused: ")
    lost = lost_rounds(c.rounds(run_id), baseline)
    http = [a for a in flood.answers if a.startswith(b"HTTP/")]
    non_json = [a for a in http if b"application/json" not in a]
    print(f"flood: {flood.opened} connections opened, {flood.closed_by_server} closed by the server; "
          f"{len(http)} HTTP answers; checkpoint failures {failed_ckpt}, pauses {paused}")
    assert "out of descriptors for connections" in log, log[-3000:]
    record("descriptor exhaustion", 1, int(failed_ckpt == 0 and lost == 0), lost,
           connections_opened=flood.opened, refused_or_closed=flood.closed_by_server, checkpoint_failures=failed_ckpt)
    assert failed_ckpt == 0 and paused == 0, log[-4000:]
    assert full["checkpoint_round"] == ROUNDS, full
    assert not non_json, non_json
    assert lost == 0, f"{lost} rounds lost or different"
print("ok")
