"""Asynchronous strategies deployed: nodes train continuously, every TRAIN
carries its own ticket, and the server makes a model version whenever the
buffer holds strategy.buffer_size updates (fedbuff) or the window
strategy.window_s closes (fedfix). One node is ten times slower than the
other two (--delay 2 against 0.2 s before each training): the versions
advance while it trains, every version is made of the updates the fast
nodes sent meanwhile, and the slow node's update, when it arrives, is
aggregated with the staleness weight of the versions made since its model
(polynomial, (1 + tau)^-0.5). Each version's metrics carry the simulation's
keys (version, in_flight, staleness_mean, staleness_max, staleness_hist);
the run store holds every node update by ticket, once. A third run
(async-fedavg) sends 8-bit updates and a lossy 8-bit downlink (as deltas
against the model each node holds): its updates cross the wire in under 40%
of the bytes, and it learns."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
N, SLOW = 3, 2


def updates(c, run_id):
    db = sqlite3.connect(os.path.join(c.state, "runs.db"))
    rows = db.execute("SELECT ticket, round, slot, status, version, staleness, stale_weight, n_samples, bytes_up "
                      "FROM async_updates WHERE run_id=? ORDER BY ticket", (run_id,)).fetchall()
    db.close()
    keys = ("ticket", "round", "slot", "status", "version", "staleness", "stale_weight", "n_samples", "bytes_up")
    return [dict(zip(keys, r)) for r in rows]


def check_run(c, run_id, versions, per_version=None, slow_checks=True):
    run = c.wait_run_end(run_id, 400)
    assert run["status"] == "done" and run["rounds_done"] == versions, run
    rounds = c.rounds(run_id)
    assert [r["version"] for r in rounds] == list(range(1, versions + 1)), rounds
    for r in rounds:
        assert len(r["staleness_hist"]) == 8 and sum(r["staleness_hist"]) == r["participants"], r
        if per_version:
            assert r["participants"] == per_version, r
        assert r["participants"] >= 1, r
    assert rounds[-1]["bytes_up_total"] == sum(r["bytes_up"] for r in rounds)
    assert rounds[-1]["bytes_down_total"] == sum(r["bytes_down"] for r in rounds) > 0
    ups = updates(c, run_id)
    agg = [u for u in ups if u["status"] == "aggregated"]
    # Every aggregated update is counted in exactly one version.
    assert len(agg) == sum(r["participants"] for r in rounds), (len(agg), rounds)
    assert len({u["ticket"] for u in agg}) == len(agg)
    for u in agg:
        assert u["staleness"] == u["round"] - 1 - u["version"], u
        assert abs(u["stale_weight"] - (1 + u["staleness"]) ** -0.5) < 1e-9, u
        assert u["n_samples"] > 0 and u["bytes_up"] > 0, u
    assert sum(u["bytes_up"] for u in ups) <= rounds[-1]["bytes_up_total"]
    if not slow_checks:
        return rounds, agg
    slow = [u for u in agg if u["slot"] == SLOW]
    fast = [u for u in agg if u["slot"] != SLOW]
    assert slow, f"the slow node's update was never aggregated: {agg}"
    # While the slow node trained, the fast ones made versions: its update is stale.
    assert max(u["staleness"] for u in slow) >= 1, slow
    assert len(fast) > len(slow), (len(fast), len(slow))
    # Versions were made while the slow node was still training.
    assert any(r["in_flight"] >= 1 for r in rounds), rounds
    return rounds, agg


with Cluster(FEDC, tls=True, name="async") as c:
    c.start_server()
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}", "--delay", "2" if k == SLOW else "0.2")

    VERSIONS = 24
    buff = c.create_run(quick_task(N, rounds=VERSIONS, eval_every=6, strategy={"name": "fedbuff", "buffer_size": 2}))
    rounds, agg = check_run(c, buff, VERSIONS, per_version=2)
    print(f"fedbuff: {VERSIONS} versions, {len(agg)} updates, slow node's staleness "
          f"{[u['staleness'] for u in agg if u['slot'] == SLOW]}, accuracy {rounds[-1]['accuracy']:.4f}")

    VERSIONS = 8
    fix = c.create_run(quick_task(N, rounds=VERSIONS, eval_every=4,
                                  strategy={"name": "fedfix", "window_s": 0.8}))
    rounds, agg = check_run(c, fix, VERSIONS)
    print(f"fedfix: {VERSIONS} versions, {len(agg)} updates, slow node's staleness "
          f"{[u['staleness'] for u in agg if u['slot'] == SLOW]}, accuracy {rounds[-1]['accuracy']:.4f}")
    plain_up = sum(u["bytes_up"] for u in agg) / len(agg)

    # Codecs as in a synchronous run: 8-bit updates, and a lossy downlink sent to each node as a
    # delta against the model it holds; bytes as they crossed the wire.
    VERSIONS = 12
    q8 = c.create_run(quick_task(N, rounds=VERSIONS, eval_every=6, strategy={"name": "async-fedavg"},
                                 compression={"up": "q8", "down": "q8"}))
    # (Twelve single-update versions may all come from the fast nodes.)
    rounds, agg = check_run(c, q8, VERSIONS, per_version=1, slow_checks=False)
    q8_up = sum(u["bytes_up"] for u in agg) / len(agg)
    assert q8_up < 0.4 * plain_up, (q8_up, plain_up)
    assert rounds[-1]["accuracy"] > 0.3, rounds[-1]
    print(f"async-fedavg q8: {VERSIONS} versions, {q8_up:.0f} bytes per update against {plain_up:.0f} uncompressed, "
          f"accuracy {rounds[-1]['accuracy']:.4f}")
print("ok")
