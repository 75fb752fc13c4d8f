"""A hostile client speaks raw WebSocket to the node endpoint (over TLS)
while a real run is in progress: malformed, truncated, oversized and
out-of-order frames, text frames, a bad signature, a silent connection.
Each time the server closes that connection and logs why; the run and the
API keep going."""
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fedc_e2e import Cluster, quick_task  # noqa: E402

FEDC = sys.argv[1]
ROUNDS = 12
HELLO, WELCOME, TRAIN, UPDATE, BYE, ERROR, PING = 1, 2, 3, 4, 5, 6, 7


def fedc_frame(mtype, ctl, blobs=(), version=1):
    j = json.dumps(ctl).encode() if not isinstance(ctl, bytes) else ctl
    out = b"FDC" + bytes([version, mtype]) + struct.pack("<I", len(j)) + j + struct.pack("<H", len(blobs))
    for b in blobs:
        out += struct.pack("<I", len(b)) + b
    return out


def ws_frame(payload, opcode=2, fin=True, length=None):
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        hdr = bytes([b0, 0x80 | n])
    elif n < 65536:
        hdr = bytes([b0, 0x80 | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, 0x80 | 127]) + struct.pack(">Q", n)
    key = os.urandom(4)
    return hdr + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Raw:
    """A minimal WebSocket client that sends whatever it is told."""

    def __init__(self, c):
        s = socket.create_connection(("127.0.0.1", c.port), timeout=15)
        ctx = ssl.create_default_context(cafile=os.path.join(c.state, "certs", "ca.crt"))
        self.s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        self.s.sendall(b"GET /node HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                       b"Sec-WebSocket-Protocol: fedc-node\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(4096)
            assert chunk, "no upgrade answer"
            head += chunk
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.buf = head.split(b"\r\n\r\n", 1)[1]

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """(opcode, payload) of the next frame; raises EOFError when closed."""
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def nonce(self):
        op, p = self.recv()
        assert op == 2 and p[:3] == b"FDC" and p[4] == PING, p[:8]
        jl = struct.unpack("<I", p[5:9])[0]
        return json.loads(p[9:9 + jl])["nonce"]

    def send(self, data):
        self.s.sendall(data)

    def closed_by_server(self, timeout=20):
        """True once the server closes (a close frame or EOF), False on timeout."""
        self.s.settimeout(timeout)
        try:
            while True:
                op, _ = self.recv()
                if op == 8:
                    return True
        except (EOFError, ConnectionError, ssl.SSLError):
            return True
        except socket.timeout:
            return False
        finally:
            self.s.close()


def sign(c, cred_path, nonce):
    key = os.path.join(c.dir, "key.pem")
    text = open(cred_path).read()
    start = text.index("-----BEGIN PRIVATE KEY-----")
    end = text.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----")
    open(key, "w").write(text[start:end] + "\n")
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=f"fedc-hello:{nonce}".encode(),
                         capture_output=True, check=True, timeout=30).stdout
    return sig.hex(), text[:text.index("-----END CERTIFICATE-----") + 25].split("\n", 1)[1]


with Cluster(FEDC, tls=True, name="hostile") as c:
    c.start_server("--hello-timeout", "3")
    run_id = c.create_run(quick_task(2, rounds=ROUNDS, deploy={"min_updates": 2}))
    for k in range(2):
        c.start_node(f"n{k}", f"fmnist:partition={k}/2", "--delay", "0.5")
    c.wait("round 1", lambda: len(c.rounds(run_id)) >= 1, 120)

    cases = []

    def case(name, expect, fn):
        r = Raw(c)
        nonce = r.nonce()
        fn(r, nonce)
        assert r.closed_by_server(), f"{name}: the server kept the connection open"
        cases.append((name, expect))

    case("malformed", "bad magic", lambda r, n: r.send(ws_frame(b"this is not a fedc frame")))
    case("truncated", "truncated inside the control JSON",
         lambda r, n: r.send(ws_frame(b"FDC\x01\x01" + struct.pack("<I", 100) + b'{"a":1')))
    case("bad-version", "protocol version 9", lambda r, n: r.send(ws_frame(fedc_frame(HELLO, {}, version=9))))
    case("trailing", "trailing bytes", lambda r, n: r.send(ws_frame(fedc_frame(HELLO, {"x": 1}) + b"junk")))
    case("oversized", "exceeds the limit",
         lambda r, n: r.send(ws_frame(b"\0" * 4096, length=10 * 1024 * 1024)[:4096 + 14]))
    case("out-of-order", "expected hello first, got update",
         lambda r, n: r.send(ws_frame(fedc_frame(UPDATE, {"round": 1}, [b"\0" * 16]))))
    case("text-frame", "text WebSocket frame refused", lambda r, n: r.send(ws_frame(b'{"hello":1}', opcode=1)))
    case("bad-hello", "fields version (integer), cert and sig", lambda r, n: r.send(ws_frame(fedc_frame(HELLO, {"v": 1}))))
    cred = c.issue("mallory")
    case("bad-signature", "does not verify", lambda r, n: r.send(ws_frame(fedc_frame(
        HELLO, {"version": 1, "cert": sign(c, cred, n)[1], "sig": "00" * 70}))))
    case("silent", "no hello within 3 s", lambda r, n: None)
    case("bad-opcode", "reserved opcode 0x3", lambda r, n: r.send(ws_frame(b"x", opcode=3)))

    # Authenticated, then breaking the protocol.
    def authed(r, nonce, then):
        sig, cert = sign(c, cred, nonce)
        r.send(ws_frame(fedc_frame(HELLO, {"version": 1, "cert": cert, "sig": sig})))
        op, p = r.recv()
        assert p[4] == WELCOME, p[:8]
        then(r)

    case("train-from-node", "a node may not send train messages",
         lambda r, n: authed(r, n, lambda r2: r2.send(ws_frame(fedc_frame(TRAIN, {"round": 1}, [b"\0" * 8])))))
    case("update-unasked", "update without a pending train message",
         lambda r, n: authed(r, n, lambda r2: r2.send(ws_frame(fedc_frame(UPDATE, {"round": 1}, [b"\0" * 8])))))
    case("oversized-authed", "exceeds the limit",
         lambda r, n: authed(r, n, lambda r2: r2.send(ws_frame(b"\0" * 4096, length=64 * 1024 * 1024)[:4096 + 14])))
    # A frame header promising more than is ever sent, then the socket closes.
    r = Raw(c)
    r.nonce()
    r.send(ws_frame(b"FDC", length=5000)[:20])
    r.s.close()

    st, info = c.api("GET", "/api/server")
    assert st == 200, "the API stopped answering"
    run = c.wait_run_end(run_id, 300)
    assert run["status"] == "done" and run["rounds_done"] == ROUNDS, run
    rounds = c.rounds(run_id)
    assert all(r["participants"] == 2 for r in rounds), rounds
    time.sleep(0.5)
    log = c.read_server_log()
    for name, expect in cases:
        if expect:
            assert expect in log, f"{name}: server log lacks '{expect}'"
    print(f"{len(cases)} hostile connections closed with logged reasons; run finished {ROUNDS} rounds")
print("ok")
