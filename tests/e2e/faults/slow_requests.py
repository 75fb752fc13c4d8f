"""Slow requests over TLS (slowloris): --conns unauthenticated connections
from 127.0.0.2 send request heads, or a declared 5000-byte body, one byte
every half second, as long as the server lets them. Each must be closed at
its deadline (--header-timeout / --body-timeout, 2 and 3 s here) with a
408, however steadily it trickles; connections beyond the per-address
limit of pending ones (--max-unauth-per-address 16) are refused at once;
meanwhile requests from another address (127.0.0.1) are answered."""
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import Cluster, arg_int, record  # noqa: E402

FEDC = sys.argv[1]
CONNS = arg_int("conns", 40)
HEAD_S, BODY_S, PER_ADDR = 2, 3, 16
GIVE_UP_S = 30  # a connection still open after this long was never closed


def trickle(c, ctx, kind, out, i):
    """One slow client; out[i] = (outcome, seconds open)."""
    t0 = time.time()
    try:
        raw = socket.create_connection(("127.0.0.1", c.port), timeout=10, source_address=("127.0.0.2", 0))
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    except (OSError, ssl.SSLError):
        out[i] = ("refused", time.time() - t0)
        return
    head = b"POST /api/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" if kind == "body" else \
        b"GET /api/runs HTTP/1.1\r\nHost: x\r\n"
    got = b""
    try:
        s.sendall(head)
        s.settimeout(0.5)
        while time.time() - t0 < GIVE_UP_S:
            s.sendall(b"a" if kind == "body" else b"X")
            try:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            except socket.timeout:
                pass
            except (OSError, ssl.SSLError):
                break
    except (OSError, ssl.SSLError):
        pass
    took = time.time() - t0
    s.close()
    if took >= GIVE_UP_S:
        out[i] = ("never closed", took)
    elif b" 408 " in got.split(b"\r\n")[0]:
        out[i] = ("408", took)
    else:
        out[i] = ("closed", took)


with Cluster(FEDC, tls=True, name="slow") as c:
    c.start_server("--header-timeout", str(HEAD_S), "--body-timeout", str(BODY_S), "--max-unauth-per-address",
                   str(PER_ADDR))
    ctx = ssl.create_default_context(cafile=os.path.join(c.state, "certs", "ca.crt"))
    results = {}
    for kind in ("head", "body"):
        out = [None] * CONNS
        threads = [threading.Thread(target=trickle, args=(c, ctx, kind, out, i)) for i in range(CONNS)]
        for t in threads:
            t.start()
            time.sleep(0.01)
        # Another address is served during the attack.
        time.sleep(1)
        st, body = c.api("GET", "/api/server")
        assert st == 200, (st, body)
        for t in threads:
            t.join(timeout=GIVE_UP_S + 15)
        results[kind] = out
        counts = {}
        for o, _ in out:
            counts[o] = counts.get(o, 0) + 1
        slowest = max(t for o, t in out if o != "refused")
        print(f"slow {'heads' if kind == 'head' else 'bodies'}: {counts}; the last one open was closed after "
              f"{slowest:.1f} s")
    log = c.read_server_log()
    assert "not complete within" in log and "have not yet completed a request" in log, log[-3000:]
    injected = 2 * CONNS
    never = sum(1 for k in results for o, _ in results[k] if o == "never closed")
    closed_408 = sum(1 for k in results for o, _ in results[k] if o == "408")
    refused = sum(1 for k in results for o, _ in results[k] if o == "refused")
    record("slow headers and bodies", injected, injected - never, 0, closed_with_408=closed_408,
           refused_over_per_address_limit=refused)
    assert never == 0, f"{never} slow connections were never closed"
    # Every accepted one got its 408 (each refused over the limit is closed at once).
    assert closed_408 >= min(CONNS, PER_ADDR), (closed_408, refused)
print("ok")
