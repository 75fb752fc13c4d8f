"""Lying nodes in a real run over TLS (six client slots):
  - "inflator" claims 59,999,999 samples with every update (an audit's two
    such nodes took 99.96% of the FedAvg weight): refused, since a node's
    count is bounded by its partition or what it declared on joining;
  - "scaler" sends every value as 1e15 (each update finite, the average not
    sane): the aggregate is refused before it replaces the model, the
    update refused and the rest aggregated;
  - "replayer" answers round 3 with an update for round 2: refused at once
    (its slot does not wait out the 30 s round deadline), the node flagged;
  - a second process with n0's credential connects mid-run: refused with
    the reason, n0 keeps its connection and its slot.
Each liar is flagged and, after --max-flags refusals, left out; every
round's test loss stays finite and the model learns."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import Cluster, record, small_task, wait_for  # noqa: E402

FEDC = sys.argv[1]
N, ROUNDS = 6, 5
task = small_task(N, ROUNDS, deploy={"min_nodes": N, "min_updates": 2, "round_timeout_s": 30})

with Cluster(FEDC, tls=True, name="liars") as c:
    c.start_server()
    run_id = c.create_run(task)
    for k in range(3):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}")
    c.start_node("replayer", f"fmnist:partition=3/{N}", "--poison", "replay@3")
    c.start_node("inflator", f"fmnist:partition=4/{N}", "--poison", "samples")
    c.start_node("scaler", f"fmnist:partition=5/{N}", "--poison", "scale")
    wait_for("round 1", lambda: len(c.rounds(run_id)) >= 1, 180, c.server)
    twin = c.start_node("n0-twin", f"fmnist:partition=0/{N}", credential=c.issue("n0"))
    run = c.wait_run_end(run_id, 300)
    twin.kill()
    twin_refused = "already connected" in c.node_log("n0-twin")
    rounds = c.rounds(run_id)
    st, p = c.api("GET", f"/api/runs/{run_id}/participation")
    parts = p["participation"]
    st, nodes = c.api("GET", "/api/nodes")
    by_name = {n["name"]: n for n in nodes["nodes"]}

    def rows(name):
        return [x for x in parts if x["node_name"] == name]

    injected = survived = 0
    # The inflated sample count: refused every time it is sent, never weighed.
    inf = rows("inflator")
    injected += len(inf)
    survived += sum(1 for x in inf if x["status"] == "rejected" and "n_samples 59999999 is more than" in x["reason"])
    # The scaled update: refused by the check of the aggregate.
    sc = rows("scaler")
    injected += len(sc)
    survived += sum(1 for x in sc if x["status"] == "rejected" and "times the median" in x["reason"])
    # The replay: refused at once, not dropped at the deadline.
    rp = [x for x in rows("replayer") if x["round"] == 3]
    injected += 1
    assert len(rp) == 1, rows("replayer")
    survived += rp[0]["status"] == "rejected" and "update is for round 2" in rp[0]["reason"]
    # The twin: refused; n0 kept its slot, nothing of slot 0 was dropped for it.
    injected += 1
    survived += twin_refused and all(x["status"] == "ok" for x in rows("n0")) and len(rows("n0")) == ROUNDS
    print(f"inflator {[x['status'] for x in inf]}, scaler {[x['status'] for x in sc]}, replayer round 3 "
          f"{[(x['status'], x['reason']) for x in rp]}, n0 {[x['status'] for x in rows('n0')]}, twin refused "
          f"{twin_refused}")
    assert run["status"] == "done", run
    log = c.read_server_log()
    assert "a second connection with the same credential is refused" in log, log[-3000:]
    for name in ("inflator", "scaler", "replayer"):
        assert by_name[name]["flagged"], by_name[name]
    for name in ("n0", "n1", "n2"):
        assert not by_name[name]["flagged"], by_name[name]
    # Left out after --max-flags (3) refusals.
    assert len(inf) == 3 and len(sc) == 3, (inf, sc)
    assert all(r["loss"] is not None and r["loss"] < 5 for r in rounds), rounds
    assert rounds[-1]["accuracy"] > 0.4, rounds[-1]
    print(f"accuracy {[round(r['accuracy'], 3) for r in rounds]}, rejected {[r['rejected'] for r in rounds]}")
    record("lying nodes", injected, survived, 0,
           reasons={n: rows(n)[0]["reason"] for n in ("inflator", "scaler")}, replay=rp[0]["reason"])
    assert survived == injected, (survived, injected, inf, sc, rp)
print("ok")
