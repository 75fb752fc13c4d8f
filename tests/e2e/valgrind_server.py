"""The server under valgrind (memcheck, full leak check) through a small
deployment over TLS: two nodes, a tiny CSV dataset, two rounds, REST
calls including the live feed, a refused hostile connection, then a clean
shutdown. Any memory error or definite leak fails the test."""
import os
import random
import signal
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster  # noqa: E402

FEDC = sys.argv[1]
VALGRIND = sys.argv[2] if len(sys.argv) > 2 else "valgrind"

with Cluster(FEDC, tls=True, name="valgrind") as c:
    rng = random.Random(7)
    for name, n in (("train.csv", 240), ("test.csv", 60)):
        with open(os.path.join(c.dir, name), "w") as f:
            f.write("a,b,c,d,label\n")
            for _ in range(n):
                y = rng.randrange(3)
                f.write(",".join(f"{y + rng.gauss(0, 0.7):.4f}" for _ in range(4)) + f",{y}\n")
    train, test = os.path.join(c.dir, "train.csv"), os.path.join(c.dir, "test.csv")
    task = {
        "name": "vg", "dataset": {"name": "csv", "path": train, "test_path": test, "label_column": "label"},
        "model": "dense:16,dense:3", "rounds": 2, "clients": 2, "clients_per_round": 2,
        "local": {"epochs": 1, "batch": 16}, "deploy": {"min_nodes": 2, "round_timeout_s": 60},
        "seed": 3,
    }
    log = os.path.join(c.dir, "valgrind.log")
    c.start_server("--threads", "1", wrapper=[VALGRIND, "--error-exitcode=99", "--leak-check=full",
                                               "--errors-for-leak-kinds=definite", f"--log-file={log}"],
                   timeout=180)
    run_id = c.create_run(task)
    for k in range(2):
        c.start_node(f"n{k}", f"csv:{train},label=label")
    # A connection that breaks the protocol right away.
    s = ssl.create_default_context(cafile=os.path.join(c.state, "certs", "ca.crt")).wrap_socket(
        socket.create_connection(("127.0.0.1", c.port), timeout=30), server_hostname="127.0.0.1")
    s.sendall(b"GET /node HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Protocol: fedc-node\r\n\r\n")
    s.recv(4096)
    s.sendall(bytes([0x82, 0x84, 1, 2, 3, 4]) + bytes(b ^ k for b, k in zip(b"JUNK", (1, 2, 3, 4))))
    s.close()
    run = c.wait_run_end(run_id, 600)
    assert run["status"] == "done" and run["rounds_done"] == 2, run
    for path in ("/api/server", "/api/nodes", f"/api/runs/{run_id}/rounds", f"/api/runs/{run_id}/participation"):
        st, _ = c.api("GET", path)
        assert st == 200, path
    st, _ = c.api("GET", f"/api/runs/{run_id}/metrics.csv", raw=True)
    st2, _ = c.api("GET", f"/api/runs/{run_id}/model", raw=True)
    assert st == 200 and st2 == 200
    for p in c.nodes.values():
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    rc = c.kill_server(signal.SIGTERM)
    report = open(log).read()
    assert rc == 0, f"valgrind reported errors (exit {rc}):\n{report[-8000:]}"
    assert "ERROR SUMMARY: 0 errors" in report, report[-4000:]
    print("\n".join(report.strip().splitlines()[-12:]))
print("ok")
