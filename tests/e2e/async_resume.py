"""An asynchronous deployment (fedbuff, buffer of 2, three nodes training
continuously, one slower) whose server is killed with SIGKILL mid-run and
restarted with the same state directory. Definitions the test checks, from
the run store (table async_updates: one row per node update, by ticket;
round_async: the tickets each round's checkpoint keeps in the buffer):
- counted: an update aggregated into a committed model version;
- counted twice: one ticket aggregated into two versions (or the same
  version twice);
- lost: an update the server had made durable -- aggregated into a
  committed version, or held in the buffer of a committed round's
  checkpoint -- that the finished run does not count exactly once.
An update that reached the server after its last checkpoint was never made
durable: like a synchronous round cut by the kill, that work is redone (the
nodes reconnect and get the current model under new tickets)."""
import json
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N, VERSIONS = 3, 20


def store(c, run_id):
    db = sqlite3.connect(os.path.join(c.state, "runs.db"))
    ups = db.execute("SELECT ticket, round, slot, status, version, staleness FROM async_updates WHERE run_id=? "
                     "ORDER BY ticket", (run_id,)).fetchall()
    buffered = dict(db.execute("SELECT round, buffered FROM round_async WHERE run_id=?", (run_id,)).fetchall())
    ckpt = db.execute("SELECT checkpoint_round FROM runs WHERE id=?", (run_id,)).fetchone()[0]
    db.close()
    return ups, {r: json.loads(b) for r, b in buffered.items()}, ckpt


with Cluster(FEDC, tls=True, name="async-resume") as c:
    c.start_server()
    run_id = c.create_run(quick_task(N, rounds=VERSIONS, eval_every=5, strategy={"name": "fedbuff", "buffer_size": 2}))
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", "1" if k == N - 1 else "0.3")
    c.wait("version 6", lambda: len(c.rounds(run_id)) >= 6, 300)
    time.sleep(0.2)  # most likely with updates in flight and arriving
    assert c.kill_server(signal.SIGKILL) == -signal.SIGKILL
    before_ups, before_buf, ckpt = store(c, run_id)
    assert ckpt >= 6, ckpt
    durable = {t for (t, rnd, *_rest) in before_ups if rnd <= ckpt}
    durable |= set(before_buf.get(ckpt, []))
    print(f"killed: checkpoint at version {ckpt}, {len(durable)} updates durable "
          f"({len(before_buf.get(ckpt, []))} of them in its buffer)")

    c.start_server()
    run = c.wait_run_end(run_id, 400)
    assert run["status"] == "done" and run["rounds_done"] == VERSIONS, run
    rounds = c.rounds(run_id)
    assert [r["version"] for r in rounds] == list(range(1, VERSIONS + 1)), rounds
    ups, buf, _ = store(c, run_id)
    agg = [u for u in ups if u[3] == "aggregated"]
    tickets = [u[0] for u in agg]
    # Nothing counted twice: one row per ticket, and the versions' participants add up to them.
    assert len(tickets) == len(set(tickets)), tickets
    assert len(agg) == sum(r["participants"] for r in rounds) == 2 * VERSIONS, (len(agg), rounds)
    # Nothing durable lost: what the store held up to the checkpoint is kept as it was ...
    kept = [u for u in before_ups if u[1] <= ckpt]
    assert [u for u in ups if u[1] <= ckpt] == kept, "rows up to the checkpoint changed"
    # ... and every update a checkpoint kept in its buffer is aggregated in a later version
    # (the buffer left after the last version ends with the run: there is no later version).
    by_ticket = {u[0]: u for u in agg}
    for rnd, held in buf.items():
        for t in held if rnd < VERSIONS else ():
            assert t in by_ticket and by_ticket[t][1] > rnd, (rnd, t, by_ticket.get(t))
    for t in durable:
        assert t in by_ticket, f"durable update {t} was lost"
    for u in agg:
        assert u[5] == u[1] - 1 - u[4], u
    assert rounds[-1]["bytes_up_total"] == sum(r["bytes_up"] for r in rounds)
    assert "resumed from round" in c.read_server_log()
    print(f"resumed and finished: {len(agg)} updates aggregated once each, "
          f"{sum(len(b) for b in buf.values())} carried in checkpoint buffers")
print("ok")
