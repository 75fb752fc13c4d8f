"""Protocol conformance of the Python node SDK against a fedc server.

 1. Codecs: three NumPy nodes send their updates through topk:0.1|q8|zstd
    and receive the model through zstd; the server's C decoders accept every
    update (no round has a rejected update).
 2. What a node must never send: one node's fit returns a NaN in round 2,
    another's a wrong shape, a third's +Inf in round 3 (a second run). The
    SDK refuses to send them and tells the server (ERROR): the server drops
    those participants (status "dropped", the reason named), refuses nothing
    and flags no node.
 3. Stale rounds: a node whose fit outlasts the round deadline does not send
    its late update once the server has moved on (the server never logs a
    late update from it).
 4. Close codes and server messages: the server stopping (WebSocket close
    1000) makes the SDK reconnect with backoff and rejoin the restarted
    server; a credential revoked while connected (ERROR, fatal) ends the
    node with FatalError."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedc_e2e import Cluster  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def start_py(c, name, *args):
    log = open(os.path.join(c.dir, f"{name}.log"), "a")
    c.nodes[name] = subprocess.Popen([sys.executable, os.path.join(HERE, "byom_node.py"), c.node_url(), c.issue(name),
                                      os.path.join(c.dir, name), "--model", "mlp"] + list(args),
                                     stdout=log, stderr=subprocess.STDOUT, env=c._env())
    return c.nodes[name]


def participation(c, run_id, rnd):
    st, p = c.api("GET", f"/api/runs/{run_id}/participation?round={rnd}")
    assert st == 200, (st, p)
    return p["participation"]


def main():
    fedc = sys.argv[1]
    task = {"model": "mlp", "rounds": 3, "clients": 3, "clients_per_round": 3,
            "local": {"epochs": 1, "batch": 512, "lr": 0.1},
            "compression": {"up": "topk:0.1|q8|zstd", "down": "zstd"},
            "deploy": {"min_nodes": 3, "min_updates": 1, "round_timeout_s": 120, "connect_timeout_s": 300},
            "seed": 3}
    with Cluster(fedc, name="byom-conf") as c:
        c.start_server()
        start_py(c, "nan", "--train", "0:200", "--bad", "nan")
        start_py(c, "shape", "--train", "200:400", "--bad", "shape")
        start_py(c, "good", "--train", "400:600")
        run1 = c.create_run(dict(task, name="conformance"))
        r = c.wait_run_end(run1, 600)
        assert r["status"] == "done", r
        rounds = c.rounds(run1)
        assert all(x["rejected"] == 0 for x in rounds), rounds
        assert rounds[0]["participants"] == 3 and rounds[2]["participants"] == 3, rounds
        assert rounds[1]["participants"] == 1 and rounds[1]["dropped"] == 2, rounds[1]
        p2 = participation(c, run1, 2)
        reasons = " | ".join(str(q.get("reason")) for q in p2)
        print("round 2 participation:", reasons)
        assert "not finite" in reasons and "shape" in reasons, p2
        assert all(q["status"] in ("ok", "dropped") for q in p2), p2
        st, nodes = c.api("GET", "/api/nodes")
        flagged = [n for n in nodes["nodes"] if n.get("flags")]
        assert not flagged, flagged
        print("1-2: codec updates accepted by the C decoders; NaN and wrong shape never sent, nobody flagged")

        # 3. A slow node in a run with a short deadline.
        for n in ("nan", "shape"):
            c.nodes[n].terminate()
            c.nodes[n].wait(timeout=60)
        start_py(c, "slow", "--train", "600:800", "--slow", "1:12")
        start_py(c, "inf", "--train", "800:1000", "--bad", "inf")
        t2 = dict(task, name="deadline", compression={"up": "fp16", "down": "none"},
                  deploy=dict(task["deploy"], round_timeout_s=6, min_updates=1))
        run2 = c.create_run(t2)
        r = c.wait_run_end(run2, 600)
        assert r["status"] == "done", r
        rounds = c.rounds(run2)
        assert all(x["rejected"] == 0 for x in rounds), rounds
        slow_log = open(os.path.join(c.dir, "slow.log")).read()
        c.wait("the slow node to see round 2 waiting", lambda: "moved on to a later round" in
               open(os.path.join(c.dir, "slow.log")).read(), 60)
        assert "arrived after its round ended" not in c.read_server_log(), "a late update was sent"
        print("3: the slow node did not send its stale round-1 update")
        del slow_log

        # 4. The server stops (close 1000) and comes back: nodes reconnect.
        c.kill_server(signal.SIGTERM)
        time.sleep(2)
        c.start_server()
        c.wait("the Python nodes to rejoin", lambda: sum(
            1 for n in c.api("GET", "/api/nodes")[1]["nodes"] if n.get("status") == "online") >= 3, 120)
        good = open(os.path.join(c.dir, "good.log")).read()
        assert "reconnecting in" in good, good[-2000:]
        # A credential revoked while connected: fatal, the node ends.
        subprocess.run([fedc, "certs", "revoke", os.path.join(c.state, "certs"), "good"], check=True,
                       capture_output=True, timeout=30)
        rc = c.nodes["good"].wait(timeout=60)
        assert rc != 0, rc
        fatal = json.load(open(os.path.join(c.dir, "good", "fatal.json")))
        assert "revoked" in fatal["error"], fatal
        codes = json.load(open(os.path.join(c.dir, "good", "stats.json")))["close_codes"]
        print("4: reconnected after the server stopped; revoked credential ended the node:", fatal["error"],
              "close codes seen:", codes)
        print("ok")


if __name__ == "__main__":
    main()
