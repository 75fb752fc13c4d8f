"""Unit tests of the Python node SDK (python/fedc_node), run from the tree
with /usr/bin/python3: frame and codec decoders against hostile input (random
and mutated buffers raise ProtocolError / CodecError, never anything else),
codec round trips and sizes, error feedback, and the WebSocket layer against
a local fake server that closes with each of the server's close codes."""
import base64
import hashlib
import os
import socket
import struct
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import numpy as np  # noqa: E402

from fedc_node import protocol as P  # noqa: E402
from fedc_node.codec import Codec, CodecError, available_stages  # noqa: E402
from fedc_node.node import _flatten, _Refuse, _Run, manifest_of, scheduled_lr  # noqa: E402
from fedc_node.ws import ConnectionClosed, WebSocket  # noqa: E402

PIPES = ["none", "fp16", "bf16", "q8", "q4", "q2:16", "sign", "topk:0.05", "topk:0.5|q8", "topk:0.001|fp16"]
if "zstd" in available_stages():
    PIPES += ["zstd", "q8|zstd", "topk:0.05|q8|zstd", "fp16|zstd"]


class Frames(unittest.TestCase):
    def test_round_trip(self):
        f = P.encode(P.UPDATE, {"round": 3, "loss": 0.5}, [b"abc", np.arange(4, dtype=np.float32)])
        t, c, blobs = P.decode(f)
        self.assertEqual((t, c, [bytes(b) for b in blobs]), (P.UPDATE, {"round": 3, "loss": 0.5},
                                                             [b"abc", np.arange(4, dtype=np.float32).tobytes()]))

    def test_hostile_frames(self):
        rng = np.random.default_rng(7)
        good = P.encode(P.TRAIN, {"round": 1, "base": "full"}, [b"x" * 40])
        cases = [b"", b"FD", b"FDC\x02\x03", good[:-1], good + b"\0", good[:5] + b"\xff\xff\xff\xff" + good[9:],
                 P.encode(P.PING, {}).replace(b"{}", b"[]"), b"FDC\x01\x03\x05\x00\x00\x00{\"a\":1,\"a\":2}\x00\x00"]
        for _ in range(3000):
            b = bytearray(good)
            for _ in range(int(rng.integers(1, 4))):
                b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
            cases.append(bytes(b[:int(rng.integers(0, len(b) + 1))]))
            cases.append(rng.bytes(int(rng.integers(0, 64))))
        for c in cases:
            try:
                P.decode(c)
            except P.ProtocolError:
                pass

    def test_nan_never_encoded(self):
        with self.assertRaises(ValueError):
            P.encode(P.RESULT, {"loss": float("nan")})


class Codecs(unittest.TestCase):
    def test_round_trips(self):
        rng = np.random.default_rng(1)
        x = rng.standard_normal(5000).astype(np.float32)
        for p in PIPES:
            c = Codec(p)
            res = np.zeros_like(x) if c.error_feedback else None
            y = c.decode(c.encode(x, res, rng), x.size)
            self.assertEqual(y.dtype, np.float32)
            if p in ("none", "zstd"):
                self.assertTrue(np.array_equal(x, y), p)
            if c.sparse:
                self.assertEqual(int(np.count_nonzero(y)), c.kept(x.size), p)
            if res is not None:  # error feedback: what was lost is kept
                self.assertLess(float(np.max(np.abs(x - y - res))), 1e-5, p)

    def test_fp16_saturates_and_q8_is_bounded(self):
        x = np.array([1e6, -1e6, 1.0, 0.0], np.float32)
        self.assertEqual(Codec("fp16").decode(Codec("fp16").encode(x), 4).tolist(), [65504.0, -65504.0, 1.0, 0.0])
        rng = np.random.default_rng(3)
        x = rng.standard_normal(1000).astype(np.float32)
        c = Codec("q8")
        y = c.decode(c.encode(x, None, rng), x.size)
        step = (x[:256].max() - x[:256].min()) / 255
        self.assertLess(float(np.max(np.abs(x[:256] - y[:256]))), step * 1.0001)

    def test_topk_ties_by_index(self):
        c = Codec("topk:0.5")
        x = np.array([1, -1, 1, 1], np.float32)
        y = c.decode(c.encode(x), 4)
        self.assertEqual(y.tolist(), [1, -1, 0, 0])

    def test_unsupported(self):
        for p in ("randk:0.1", "q7", "fp16|topk:0.1", "", "zstd|fp16"):
            with self.assertRaises(CodecError):
                Codec(p)
        with self.assertRaises(CodecError):
            Codec("fp16").encode(np.array([np.nan], np.float32))

    def test_hostile_buffers(self):
        rng = np.random.default_rng(5)
        x = rng.standard_normal(300).astype(np.float32)
        for p in PIPES:
            c = Codec(p)
            good = c.encode(x, np.zeros_like(x) if c.error_feedback else None, rng)
            for _ in range(300):
                b = bytearray(good)
                for _ in range(int(rng.integers(1, 4))):
                    b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
                b = bytes(b[:int(rng.integers(0, len(b) + 1))]) if rng.random() < 0.3 else bytes(b)
                try:
                    y = c.decode(b, x.size)
                    self.assertTrue(np.all(np.isfinite(y)), p)
                except CodecError:
                    pass
            with self.assertRaises(CodecError):
                c.decode(good, x.size + 1)


class NodeChecks(unittest.TestCase):
    def test_flatten_refuses(self):
        man = manifest_of([np.zeros((2, 3)), np.zeros(3)], ["w", "b"])
        self.assertEqual(_flatten([np.ones((2, 3)), np.ones(3)], man, "fit").size, 9)
        for bad in ([np.ones((3, 2)), np.ones(3)], [np.ones((2, 3))], [np.ones((2, 3)), np.array([1, np.inf, 0])]):
            with self.assertRaises(_Refuse):
                _flatten(bad, man, "fit")

    def test_run_refuses_trainer_only_settings(self):
        man = manifest_of([np.zeros((2, 3)), np.zeros(3)], ["w", "b"])
        welcome = {"run": 1, "slot": 0, "params": 9, "manifest": man, "task": {"model": "external"}}
        self.assertTrue(_Run(welcome, man).external)
        for task in ({"model": "external", "strategy": {"local_params": "bn"}},
                     {"model": "external", "privacy": {"mode": "dp-gaussian"}},
                     {"model": "external", "secagg": {"mode": "secagg+"}}):
            with self.assertRaises(_Refuse, msg=task):
                _Run(dict(welcome, task=task), man)
        with self.assertRaises(_Refuse):
            _Run(dict(welcome, client_state=True), man)

    def test_lr_schedule_matches_fedc(self):
        t = {"rounds": 10, "local": {"lr": 0.1, "lr_schedule": "step", "lr_step_rounds": 2, "lr_gamma": 0.5,
                                     "lr_warmup_rounds": 2}}
        self.assertAlmostEqual(scheduled_lr(t, 1), 0.05)
        self.assertAlmostEqual(scheduled_lr(t, 4), 0.1)
        self.assertAlmostEqual(scheduled_lr(t, 5), 0.05)
        self.assertAlmostEqual(scheduled_lr({"local": {"lr": 0.2}}, 0), 0.2)


class FakeServer:
    """Accepts one WebSocket connection, sends a PING, then a CLOSE with code."""

    def __init__(self, code, text=b"bye"):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.code, self.text = code, text
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        req = b""
        while b"\r\n\r\n" not in req:
            req += conn.recv(4096)
        key = [ln.split(b":", 1)[1].strip() for ln in req.split(b"\r\n") if ln.lower().startswith(b"sec-websocket-key")][0]
        acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + acc + b"\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n")
        ping = P.encode(P.PING, {"nonce": "0" * 64})
        conn.sendall(struct.pack("!BB", 0x82, len(ping)) + ping)
        body = struct.pack("!H", self.code) + self.text
        conn.sendall(struct.pack("!BB", 0x88, len(body)) + body)
        try:
            conn.recv(4096)  # the node's answering CLOSE
        except OSError:
            pass
        conn.close()
        self.sock.close()


class CloseCodes(unittest.TestCase):
    def test_every_close_code(self):
        for code in (1000, 1001, 1002, 1008, 1009, 1011, 4000):
            srv = FakeServer(code)
            ws = WebSocket(f"ws://127.0.0.1:{srv.port}/node", timeout=5)
            self.assertEqual(P.decode(ws.recv(5))[0], P.PING)
            with self.assertRaises(ConnectionClosed) as cm:
                ws.recv(5)
            self.assertEqual(cm.exception.code, code)
            self.assertIn(str(code), str(cm.exception))
            ws.close()
            srv.thread.join(5)


class Packaging(unittest.TestCase):
    def test_pip_install(self):
        """`pip install ./python` (here offline, into a folder) gives an
        importable package with the PyTorch helpers."""
        import shutil
        import subprocess
        import tempfile
        src = os.path.join(HERE, "..", "..", "python")
        with tempfile.TemporaryDirectory() as d:
            tree = os.path.join(d, "src")
            shutil.copytree(src, tree, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                            "--no-build-isolation", "--target", os.path.join(d, "site"), tree],
                           check=True, capture_output=True, timeout=240)
            out = subprocess.run([sys.executable, "-c", "import fedc_node, fedc_node.pytorch as t; "
                                  "print(fedc_node.__file__, fedc_node.__version__, t.TorchClient.__name__)"],
                                 cwd=d, env=dict(os.environ, PYTHONPATH=os.path.join(d, "site")),
                                 capture_output=True, text=True, timeout=120, check=True).stdout.split()
            self.assertTrue(out[0].startswith(os.path.join(d, "site")), out)
            self.assertEqual(out[1:], ["0.1.0", "TorchClient"])


if __name__ == "__main__":
    unittest.main(verbosity=1)
