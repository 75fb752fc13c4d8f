"""The node's end of fedc's WebSocket transport (RFC 6455 over TLS), with
Python's ssl module.

One I/O thread owns the socket: it reads and reassembles messages, answers
pings, sends a keepalive ping after 10 s of silence and gives the server up
after 40 s without a byte (as fedc's C node does), and writes the messages
the caller queues, masked and fragmented at fedc's fragment size so byte
counts match the C node's. The caller trains on its own thread and never
touches the socket; OpenSSL objects are used by one thread only."""
import base64
import collections
import hashlib
import os
import select
import socket
import ssl
import struct
import threading
import time
import urllib.parse

import numpy as np

FRAGMENT = 64 * 1024 - 8  # FEDC_WS_FRAGMENT_SIZE
PROTOCOL = "fedc-node"
PING_AFTER_S = 10.0
HANGUP_AFTER_S = 40.0
MAX_MESSAGE = 1 << 30
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Close codes the server uses (src/transport/ws_server_node.c), and what they mean to a node.
CLOSE_CODES = {
    1000: "normal closure (the server closes the session, e.g. it is stopping or replaced this connection)",
    1001: "going away",
    1002: "protocol error (the node broke the WebSocket framing)",
    1008: "policy violation (the server refused a message; its ERROR frame said why)",
    1009: "message too big",
    1011: "server error",
}


class ConnectionClosed(Exception):
    """The connection ended; .code is the WebSocket close code (None if none came)."""

    def __init__(self, reason, code=None):
        super().__init__(reason)
        self.code = code


def _mask(payload, key):
    if not payload:
        return b""
    a = np.frombuffer(payload, np.uint8)
    k = np.frombuffer(key * ((len(payload) + 3) // 4), np.uint8)[:len(payload)]
    return (a ^ k).tobytes()


def _frame(opcode, payload, fin=True):
    key = os.urandom(4)
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        hdr = struct.pack("!BB", b0, 0x80 | n)
    elif n <= 0xFFFF:
        hdr = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, 0x80 | 127, n)
    return hdr + key + _mask(payload, key)


class WebSocket:
    def __init__(self, url, ssl_context=None, timeout=10.0, max_message=MAX_MESSAGE):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("wss", "ws"):
            raise ValueError(f"server URL {url!r}: scheme {u.scheme!r} is not supported; allowed: wss, ws")
        self.url = url
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "wss" else 80)
        self.path = (u.path or "/node") + (("?" + u.query) if u.query else "")
        self.max_message = max_message
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._inbox = collections.deque()
        self._outbox = collections.deque()  # (bytes, wire counter callback)
        self._closed = None  # ConnectionClosed once the connection ended
        self._close_requested = False
        self.bytes_sent = 0
        self.bytes_received = 0
        raw = socket.create_connection((self.host, self.port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if u.scheme == "wss":
                ctx = ssl_context or ssl.create_default_context()
                self.sock = ctx.wrap_socket(raw, server_hostname=self.host)
            else:
                self.sock = raw
            self._handshake(timeout)
        except BaseException:
            raw.close()
            raise
        self.sock.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="fedc-node-io", daemon=True)
        self._thread.start()

    # ---- handshake (blocking, before the I/O thread starts) ----
    def _handshake(self, timeout):
        key = base64.b64encode(os.urandom(16)).decode()
        host = f"[{self.host}]" if ":" in self.host else self.host
        req = (f"GET {self.path} HTTP/1.1\r\nHost: {host}:{self.port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n")
        self.sock.settimeout(timeout)
        self.sock.sendall(req.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionClosed(f"cannot connect to {self.url}: the server closed during the handshake")
            buf += chunk
            if len(buf) > 16384:
                raise ConnectionClosed(f"cannot connect to {self.url}: the handshake answer is too long")
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise ConnectionClosed(f"cannot connect to {self.url}: the server answered {lines[0]!r}")
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if hdrs.get("sec-websocket-accept") != want:
            raise ConnectionClosed(f"cannot connect to {self.url}: bad Sec-WebSocket-Accept")
        if hdrs.get("sec-websocket-protocol") != PROTOCOL:
            raise ConnectionClosed(f"cannot connect to {self.url}: the server did not accept protocol {PROTOCOL}")
        self._rbuf = bytearray(rest)

    # ---- the caller's side ----
    def send(self, data):
        """Queues one message; returns its wire bytes (payload + frame headers)."""
        with self._lock:
            if self._closed:
                raise self._closed
            self._outbox.append(bytes(data))
        self._wake()
        n = len(data)
        full, rest = divmod(n, FRAGMENT) if n > FRAGMENT else (0, n)
        hdr = lambda p: 6 + (0 if p < 126 else 2 if p <= 0xFFFF else 8)  # noqa: E731
        return n + full * hdr(FRAGMENT) + (hdr(rest) if rest or not full else 0)

    def flush(self, timeout=60.0):
        end = time.monotonic() + timeout
        with self._cv:
            while self._outbox and not self._closed:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
            return not self._outbox

    def recv(self, timeout=None):
        """The next message (bytes), None on timeout; ConnectionClosed when the connection ended."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while not self._inbox:
                if self._closed:
                    raise self._closed
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cv.wait(left if left is not None else 1.0)
            return self._inbox.popleft()

    def peek_types(self):
        """Message types waiting in the inbox (the fifth byte of each frame)."""
        with self._lock:
            return [m[4] if len(m) > 4 else 0 for m in self._inbox]

    def peek(self):
        with self._lock:
            return list(self._inbox)

    def close(self, timeout=1.0):
        with self._cv:
            already = self._closed is not None
            self._close_requested = True
        if not already:
            self._wake()
            end = time.monotonic() + timeout
            with self._cv:
                while not self._closed and time.monotonic() < end:
                    self._cv.wait(0.05)
        with self._cv:
            if not self._closed:
                self._closed = ConnectionClosed("connection closed by the node")
        self._wake()
        self._thread.join(timeout=2.0)
        for s in (self.sock, self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # ---- the I/O thread ----
    def _end(self, reason, code=None):
        with self._cv:
            if not self._closed:
                self._closed = ConnectionClosed(reason, code)
            self._cv.notify_all()

    def _write(self, data):
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view[:256 * 1024])
                view = view[n:]
                self.bytes_sent += n
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError, InterruptedError):
                select.select([], [self.sock], [], 1.0)
            if self._closed:
                return

    def _run(self):
        msg = bytearray()
        msg_open = False
        last_rx = time.monotonic()
        ping_out = False
        sent_close = False
        try:
            while not self._closed:
                # Writes: whole queued messages, fragment by fragment.
                with self._lock:
                    out = self._outbox[0] if self._outbox else None
                    leaving = self._close_requested
                if leaving and not sent_close:
                    self._write(_frame(0x8, struct.pack("!H", 1000) + b"node leaving"))
                    sent_close = True
                elif out is not None and not sent_close:
                    for off in range(0, max(len(out), 1), FRAGMENT):
                        part = out[off:off + FRAGMENT]
                        first, last = off == 0, off + FRAGMENT >= len(out)
                        self._write(_frame(0x2 if first else 0x0, part, fin=last))
                    with self._cv:
                        self._outbox.popleft()
                        self._cv.notify_all()
                    continue
                # Reads.
                pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
                if not pending:
                    r, _, _ = select.select([self.sock, self._wake_r], [], [], 0 if self._rbuf_ready() else 1.0)
                    if self._wake_r in r:
                        try:
                            self._wake_r.recv(4096)
                        except OSError:
                            pass
                    readable = self.sock in r
                else:
                    readable = pending
                if readable:
                    try:
                        data = self.sock.recv(256 * 1024)
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                        data = None
                    except (OSError, ssl.SSLError) as e:
                        self._end(f"connection lost: {e}")
                        return
                    if data == b"":
                        self._end("connection lost (the server closed the connection)")
                        return
                    if data:
                        self.bytes_received += len(data)
                        self._rbuf += data
                        last_rx = time.monotonic()
                        ping_out = False
                # Frames.
                while True:
                    f = self._next_frame()
                    if f is None:
                        break
                    fin, op, payload = f
                    if op in (0x1, 0x2, 0x0):
                        if op == 0x1:
                            self._end("from the server: a text frame (fedc sends binary only)", 1002)
                            return
                        if (op == 0x0) != msg_open:
                            self._end("from the server: bad continuation of a fragmented message", 1002)
                            return
                        msg += payload
                        msg_open = not fin
                        if len(msg) > self.max_message:
                            self._end(f"from the server: a message above {self.max_message} bytes", 1009)
                            return
                        if fin:
                            with self._cv:
                                self._inbox.append(bytes(msg))
                                self._cv.notify_all()
                            msg = bytearray()
                    elif op == 0x9:
                        self._write(_frame(0xA, payload))
                    elif op == 0xA:
                        pass
                    elif op == 0x8:
                        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                        text = payload[2:].decode("utf-8", "replace")
                        if not sent_close:
                            self._write(_frame(0x8, payload[:2]))
                        meaning = CLOSE_CODES.get(code, "unknown code")
                        self._end(f"closed by the server ({code}: {meaning})" + (f": {text}" if text else ""), code)
                        return
                    else:
                        self._end(f"from the server: unknown opcode {op}", 1002)
                        return
                now = time.monotonic()
                if now - last_rx >= HANGUP_AFTER_S:
                    self._end(f"the server sent nothing for {now - last_rx:.0f} s, not even a pong: connection "
                              "given up")
                    return
                if now - last_rx >= PING_AFTER_S and not ping_out:
                    self._write(_frame(0x9, b""))
                    ping_out = True
        except Exception as e:  # the thread must never die silently
            self._end(f"connection lost: {type(e).__name__}: {e}")

    def _rbuf_ready(self):
        """A whole frame is already buffered (e.g. read with the handshake answer)."""
        b = self._rbuf
        if len(b) < 2:
            return False
        n, off = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return False
            n, off = struct.unpack_from("!H", b, 2)[0], 4
        elif n == 127:
            if len(b) < 10:
                return False
            n, off = struct.unpack_from("!Q", b, 2)[0], 10
        return len(b) >= off + n

    def _next_frame(self):
        b = self._rbuf
        if len(b) < 2:
            return None
        fin, op = b[0] & 0x80, b[0] & 0x0F
        if b[0] & 0x70:
            self._end("from the server: reserved bits set", 1002)
            return None
        if b[1] & 0x80:
            self._end("from the server: a masked frame (servers must not mask)", 1002)
            return None
        n, off = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, off = struct.unpack_from("!H", b, 2)[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, off = struct.unpack_from("!Q", b, 2)[0], 10
        if op >= 0x8 and (n > 125 or not fin):
            self._end("from the server: a bad control frame", 1002)
            return None
        if n > self.max_message:
            self._end(f"from the server: a frame above {self.max_message} bytes", 1009)
            return None
        if len(b) < off + n:
            return None
        payload = bytes(b[off:off + n])
        del b[:off + n]
        return bool(fin), op, payload
