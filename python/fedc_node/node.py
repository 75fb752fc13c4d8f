"""The node loop: connect, authenticate with the node's TLS client
certificate, follow the server's runs, answer TRAIN with UPDATE and
EVALUATE with RESULT, send an external model's initial parameters when
asked, and reconnect with exponential backoff and full jitter, as fedc's C
node does (src/client/node_loop.c).

What the SDK guarantees to the server (it checks before anything leaves):
an update has exactly the run's tensors and shapes, only finite values, a
whole sample count and the round of the TRAIN it answers; an update whose
round the server has already left (a newer TRAIN is waiting) is not sent."""
import json
import logging
import math
import os
import random
import re
import ssl
import sys
import tempfile
import time

import numpy as np

from . import protocol as P
from .codec import Codec, CodecError
from .ws import ConnectionClosed, WebSocket

log = logging.getLogger("fedc_node")

HELLO_WAIT_S = 15.0
VERSION = "fedc-node-python 0.1.0"
EXTERNAL_STRATEGIES = ("fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "fedadagrad", "fedopt")


class Client:
    """Your model. Override get_parameters, fit and (optionally) evaluate;
    parameters are lists of float32 NumPy arrays in the run's tensor order.

    - get_parameters(config) -> list of arrays: the model's current tensors
      (its shapes define this node's manifest; the initial model of an
      external run comes from here).
    - fit(parameters, config) -> (parameters, num_examples, metrics): train
      from the global model; metrics may hold "loss" and "steps".
    - evaluate(parameters, config) -> (loss, num_examples, metrics): score the
      global model on local test data; metrics must hold "accuracy" (0..1).
    - tensor_names() -> list of names (default t0, t1, ...).
    - num_examples() -> local training examples (reported to the server).

    config holds: round, lr (this round's scheduled local lr), epochs, batch,
    optimizer, momentum, weight_decay, mu (fedprox's proximal weight; 0
    otherwise), strategy, seed, slot, run and task (the whole task dict)."""

    def get_parameters(self, config):
        raise NotImplementedError

    def fit(self, parameters, config):
        raise NotImplementedError

    def evaluate(self, parameters, config):
        raise NotImplementedError

    def tensor_names(self):
        return None

    def num_examples(self):
        return 0


class FatalError(Exception):
    """The server refused this node for good (e.g. its credential is revoked)."""


class _Refuse(Exception):
    """This node cannot do what the server asks; sent back as an ERROR frame."""


# ---- credentials ----

_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----\r?\n.*?-----END \1-----\r?\n?", re.S)


def tls_context(credential_path):
    """An SSLContext that trusts the credential's CA and presents its node
    certificate (the credential file of `fedc certs issue-node`)."""
    text = open(credential_path, encoding="ascii").read()
    if len(text) > 64 * 1024:
        raise ValueError(f"{credential_path}: too large for a credential")
    certs = [m.group(0) for m in _PEM.finditer(text) if m.group(1) == "CERTIFICATE"]
    keys = [m.group(0) for m in _PEM.finditer(text) if m.group(1).endswith("PRIVATE KEY")]
    if not certs or len(keys) != 1:
        raise ValueError(f"{credential_path}: a credential holds the node certificate, its key and the CA certificate")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    node = None
    for i, cert in enumerate(certs):
        fd, path = tempfile.mkstemp(prefix="fedc-cred-", suffix=".pem")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(cert + "\n" + keys[0])
            ctx.load_cert_chain(path)
            node = i
            break
        except ssl.SSLError:
            continue
        finally:
            os.unlink(path)
    if node is None:
        raise ValueError(f"{credential_path}: no certificate matches the private key")
    cas = [c for i, c in enumerate(certs) if i != node]
    if not cas:
        raise ValueError(f"{credential_path}: the CA certificate is missing")
    ctx.load_verify_locations(cadata="\n".join(cas))
    return ctx


# ---- the learning-rate schedule (fedc_task_local_lr) ----

def scheduled_lr(task, rnd):
    loc = task.get("local", {})
    base = float(loc.get("lr", 0.05))
    w = int(loc.get("lr_warmup_rounds", 0))
    if w > 0 and rnd <= w:
        return base * rnd / w
    r = rnd - w
    kind = loc.get("lr_schedule", "constant")
    if kind == "step":
        every = max(int(loc.get("lr_step_rounds", 1)), 1)
        return base * float(loc.get("lr_gamma", 0.1)) ** ((r - 1) // every)
    if kind == "cosine":
        span = int(task.get("rounds", 1)) - w
        if span <= 1:
            return base
        p = (r - 1) / (span - 1)
        lo = float(loc.get("lr_min", 0))
        return lo + (base - lo) * 0.5 * (1 + math.cos(math.pi * p))
    return base


def manifest_of(arrays, names=None):
    """A manifest (list of {name, shape, dtype}) for a list of arrays."""
    names = names or [f"t{i}" for i in range(len(arrays))]
    if len(names) != len(arrays):
        raise ValueError(f"{len(names)} tensor names for {len(arrays)} tensors")
    return [{"name": n, "shape": [int(d) for d in np.shape(a)], "dtype": "f32"} for n, a in zip(names, arrays)]


def _flatten(arrays, manifest, what):
    if len(arrays) != len(manifest):
        raise _Refuse(f"{what}: {len(arrays)} tensors; the run has {len(manifest)}")
    parts = []
    for a, t in zip(arrays, manifest):
        a = np.asarray(a)
        if list(a.shape) != list(t["shape"]):
            raise _Refuse(f"{what}: tensor {t['name']!r} has shape {list(a.shape)}; the run has {t['shape']}")
        parts.append(a.astype(np.float32, copy=False).ravel())
    flat = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if not np.all(np.isfinite(flat)):
        bad = int(np.argmin(np.isfinite(flat)))
        raise _Refuse(f"{what}: value {bad} is not finite; nothing sent")
    return flat


def _split(flat, manifest):
    out, off = [], 0
    for t in manifest:
        n = int(np.prod(t["shape"])) if t["shape"] else 1
        out.append(flat[off:off + n].reshape(t["shape"]).copy())
        off += n
    return out


class _Run:
    """What the node holds for the run it serves."""

    def __init__(self, welcome, own_manifest):
        self.id = welcome.get("run")
        self.slot = welcome.get("slot")
        self.task = welcome["task"]
        self.params = int(welcome.get("params", 0))
        self.manifest = welcome.get("manifest")
        t = self.task
        model = t.get("model")
        self.external = (model.get("name") if isinstance(model, dict) else model) == "external"
        if welcome.get("client_state"):
            raise _Refuse(f"strategy {t.get('strategy', {}).get('name')} keeps client state that only fedc's own "
                          "trainer maintains; this node trains its own model")
        if t.get("strategy", {}).get("local_params", "none") != "none":
            raise _Refuse(f"strategy.local_params {t['strategy']['local_params']} keeps layers of fedc's built-in "
                          "model on each client, which only fedc's own trainer does")
        if t.get("privacy", {}).get("mode", "none") != "none":
            raise _Refuse(f"privacy mode {t['privacy']['mode']} is applied by fedc's own trainer")
        if t.get("secagg", {}).get("mode", "none") != "none":
            raise _Refuse(f"secure aggregation ({t['secagg']['mode']}) masks updates in fedc's own trainer; "
                          "this node trains its own model")
        if not isinstance(self.manifest, list):
            raise _Refuse("the server sent no manifest for this run (a fedc server of an older version)")
        if sum(int(np.prod(x["shape"])) if x["shape"] else 1 for x in self.manifest) != self.params:
            raise _Refuse("welcome: the manifest does not add up to params")
        if own_manifest is not None and [(x["shape"]) for x in own_manifest] != [x["shape"] for x in self.manifest]:
            raise _Refuse("this node's model does not have the run's tensors "
                          f"({len(own_manifest)} tensors here, {len(self.manifest)} in the run)")
        comp = t.get("compression", {})
        try:
            self.up = Codec(comp.get("up", "none"))
            self.down = Codec(comp.get("down", "none"))
        except CodecError as e:
            raise _Refuse(str(e)) from None
        self.down_lossy = self.down.sparse or self.down.value not in (0,)
        self.residual = np.zeros(self.params, np.float32) if self.up.error_feedback else None
        self.down_ref = None
        self.seed = int(t.get("seed", 0))

    def config(self, rnd):
        t = self.task
        loc, st = t.get("local", {}), t.get("strategy", {})
        return {"round": rnd, "lr": scheduled_lr(t, rnd), "epochs": loc.get("epochs"), "batch": loc.get("batch"),
                "optimizer": loc.get("optimizer"), "momentum": loc.get("momentum"),
                "weight_decay": loc.get("weight_decay"), "strategy": st.get("name"),
                "mu": st.get("mu", 0.0) if st.get("name") == "fedprox" else 0.0, "seed": self.seed,
                "slot": self.slot, "run": self.id, "task": t}

    def global_model(self, control, blob):
        base = control.get("base", "full")
        if base not in ("full", "delta", "init"):
            raise _Refuse(f"train message: base {base!r} is not full, delta or init")
        if base == "init":
            raise _Refuse("a lossy downlink codec on a built-in model starts from fedc's seeded initial model, "
                          "which the Python SDK cannot rebuild; use a lossless compression.down (none, zstd)")
        if base == "delta" and self.down_ref is None:
            raise _Refuse("train message: a model delta arrived but this node holds no earlier model")
        x = self.down.decode(blob, self.params)
        if base == "delta":
            x = x + self.down_ref
        if not np.all(np.isfinite(x)):
            raise _Refuse("train message: the model holds a value that is not finite")
        if self.down_lossy:
            self.down_ref = x.copy()
        return x


class Node:
    """One node: `Node(server, credential, client).run()`; fedc_node.connect does this."""

    def __init__(self, server, credential, client, *, max_backoff=30.0, connect_timeout=10.0, max_attempts=0,
                 data_label="python", ssl_context=None):
        self.url = server if re.search(r"://[^/]+/", server) else server.rstrip("/") + "/node"
        if self.url.startswith("ws://"):
            raise ValueError("the Python SDK authenticates with its TLS client certificate: use a wss:// server "
                             "(a server started without --insecure)")
        self.client = client
        self.ctx = ssl_context or tls_context(credential)
        self.max_backoff = max_backoff
        self.connect_timeout = connect_timeout
        self.max_attempts = max_attempts
        self.data_label = data_label
        self.stopped = False
        self.run_ = None
        self.node_id = None
        self.stats = []  # per answered TRAIN: round, fit_s, decode_s, encode_s, bytes_down, bytes_up
        self.close_codes = []  # WebSocket close codes seen, in order
        try:
            arrays = client.get_parameters({})
            self.manifest = manifest_of(arrays, client.tensor_names())
        except NotImplementedError:
            self.manifest = None

    def stop(self):
        self.stopped = True

    # ---- messages ----
    def _send(self, ws, t, control, blobs=()):
        return ws.send(P.encode(t, control, blobs))

    def _resources(self):
        n = 0
        try:
            n = int(self.client.num_examples() or 0)
        except Exception:  # the model's own bug must not break the session
            n = 0
        return {"cores": os.cpu_count() or 1, "memory_bytes": 0, "samples_per_s": 0.0, "up_bps": 0.0,
                "down_bps": 0.0, "n_samples": n, "data": self.data_label, "version": VERSION}

    def _on_welcome(self, ws, control):
        self.node_id = control.get("node_id")
        if not isinstance(control.get("task"), dict):
            if self.run_:
                log.info("run %s ended; waiting for the next one", self.run_.id)
            self.run_ = None
            return
        if self.run_ and self.run_.id == control.get("run") and self.run_.slot == control.get("slot") and \
                self.run_.task == control["task"]:
            self._send(ws, P.PING, {"resources": self._resources(), "run": self.run_.id})
            return
        self.run_ = None
        run = _Run(control, self.manifest)
        self.run_ = run
        log.info("node %s: run %s, client slot %s, %d parameters", self.node_id, run.id, run.slot, run.params)
        if control.get("send_params"):
            flat = _flatten(self.client.get_parameters(run.config(0)), run.manifest, "get_parameters")
            none = Codec("none")
            self._send(ws, P.PARAMS, {"round": 0}, [none.encode(flat)])
        self._send(ws, P.PING, {"resources": self._resources(), "run": run.id})

    def _newer_train_waiting(self, ws, rnd):
        for m in ws.peek():
            try:
                t, c, _ = P.decode(m)
            except P.ProtocolError:
                continue
            if t == P.TRAIN and isinstance(c.get("round"), int) and c["round"] > rnd:
                return True
        return False

    def _on_train(self, ws, control, blobs, wire_down):
        run = self.run_
        rnd = control.get("round")
        if not isinstance(rnd, int) or not 1 <= rnd <= 1000000:
            raise _Refuse("train message: round must be an integer in 1..1000000")
        if len(blobs) != 1:
            raise _Refuse(f"train message: {len(blobs)} blobs; expected 1")
        t0 = time.perf_counter()
        x = run.global_model(control, blobs[0])
        params = _split(x, run.manifest)
        t1 = time.perf_counter()
        cpu0 = time.process_time()
        out = self.client.fit(params, run.config(rnd))
        t2 = time.perf_counter()
        if not isinstance(out, tuple) or len(out) < 2:
            raise _Refuse("fit must return (parameters, num_examples, metrics)")
        new, n, metrics = out[0], out[1], (out[2] if len(out) > 2 and out[2] else {})
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 0 <= int(n) <= 10 ** 12:
            raise _Refuse(f"fit: num_examples must be a whole count, got {n!r}")
        loss = float(metrics.get("loss", 0.0))
        steps = int(metrics.get("steps", 0))
        if not math.isfinite(loss) or steps < 0:
            raise _Refuse("fit: metrics loss must be finite and steps >= 0")
        flat = _flatten(new, run.manifest, "fit")
        delta = flat - x
        rng = np.random.default_rng([run.seed, rnd, int(run.slot or 0)])
        enc = run.up.encode(delta, run.residual, rng)
        frame = P.encode(P.UPDATE, {"round": rnd, "n_samples": int(n), "steps": steps, "loss": loss,
                                    "cpu_s": round(time.process_time() - cpu0, 6)}, [enc])
        t3 = time.perf_counter()
        if self._newer_train_waiting(ws, rnd):
            log.warning("round %d: the server has moved on to a later round; this update is not sent", rnd)
            return
        wire_up = ws.send(frame)
        self.stats.append({"round": rnd, "decode_s": t1 - t0, "fit_s": t2 - t1, "encode_s": t3 - t2,
                           "bytes_down": wire_down, "bytes_up": wire_up})

    def _on_evaluate(self, ws, control, blobs):
        run = self.run_
        rnd = control.get("round")
        if not isinstance(rnd, int) or not 1 <= rnd <= 1000000 or len(blobs) != 1:
            raise _Refuse("evaluate message: round and one blob (the model) are required")
        try:
            codec = Codec(str(control.get("codec", "none")))
        except CodecError as e:
            raise _Refuse(str(e)) from None
        x = codec.decode(blobs[0], run.params)
        out = self.client.evaluate(_split(x, run.manifest), run.config(rnd))
        if not isinstance(out, tuple) or len(out) < 3 or not isinstance(out[2], dict):
            raise _Refuse("evaluate must return (loss, num_examples, {'accuracy': ...})")
        loss, n, acc = float(out[0]), out[1], float(out[2].get("accuracy", float("nan")))
        if not (math.isfinite(loss) and loss >= 0 and 0 <= acc <= 1) or not isinstance(n, (int, np.integer)) \
                or isinstance(n, bool) or not 0 <= int(n) <= 10 ** 12:
            raise _Refuse("evaluate: loss (finite, >= 0), accuracy (0..1) and num_examples (a count) are required")
        self._send(ws, P.RESULT, {"round": rnd, "loss": loss, "accuracy": acc, "examples": int(n)})

    def _session(self, ws):
        """Returns 'stop' or 'lost' (plus whether a WELCOME came); raises FatalError."""
        welcomed = False
        m = ws.recv(HELLO_WAIT_S)
        if m is None:
            raise ConnectionClosed(f"the server sent no greeting within {HELLO_WAIT_S:.0f} s")
        t, c, _ = P.decode(m)
        if t != P.PING or not isinstance(c.get("nonce"), str) or len(c["nonce"]) != 64:
            raise ConnectionClosed(f"the server's first message is not a PING with a nonce (got {P.NAMES[t]})")
        hello = {"version": P.VERSION, "auth": "tls", "resources": self._resources(), "data": self.data_label,
                 "caps": [P.CAP_EVALUATE] + ([P.CAP_EXTERNAL] if self.manifest else [])}
        if self.manifest:
            hello["manifest"] = self.manifest
        self._send(ws, P.HELLO, hello)
        while True:
            if self.stopped:
                self._send(ws, P.BYE, {"reason": "node stopping"})
                ws.flush(2)
                return "stop", welcomed
            m = ws.recv(0.25)
            if m is None:
                continue
            try:
                t, c, blobs = P.decode(m)
            except P.ProtocolError as e:
                raise ConnectionClosed(f"from the server: {e}") from None
            if t in (P.ERROR, P.BYE):
                why = f"{P.NAMES[t]} from the server: {c.get('reason', '?')}"
                if c.get("fatal") is True:
                    raise FatalError(why)
                raise ConnectionClosed(why)
            rnd = c.get("round") if isinstance(c.get("round"), int) else -1
            try:
                if t == P.WELCOME:
                    welcomed = True
                    self._on_welcome(ws, c)
                elif t in (P.TRAIN, P.EVALUATE):
                    if self.run_ is None:
                        raise _Refuse("no task: the node has not received one")
                    if t == P.TRAIN:
                        self._on_train(ws, c, blobs, len(m) + P.ws_overhead(len(m), masked=False))
                    else:
                        self._on_evaluate(ws, c, blobs)
                elif t == P.PING:
                    pass
                else:
                    raise _Refuse(f"{P.NAMES.get(t, t)} messages are not supported by the Python SDK")
            except (_Refuse, CodecError, NotImplementedError, Exception) as e:
                # The model's own failure (or a refusal) becomes an ERROR the
                # server logs; the node stays connected for the next request.
                why = str(e) or f"{type(e).__name__} in the client"
                if not isinstance(e, (_Refuse, CodecError, NotImplementedError)):
                    why = f"{type(e).__name__} in the client: {why}"
                    log.exception("round %s: the client failed", rnd)
                log.warning("round %s: %s", rnd, why)
                if t == P.WELCOME:
                    self.run_ = None
                self._send(ws, P.ERROR, {"reason": why[:1000], "round": rnd})

    def run(self):
        """Serves until stop() (returns) or the server refuses the credential
        or max_attempts connects fail in a row (raises)."""
        backoff, failures = 1.0, 0
        rng = random.Random()
        while not self.stopped:
            welcomed = False
            try:
                ws = WebSocket(self.url, self.ctx, timeout=self.connect_timeout)
            except (OSError, ConnectionClosed, ssl.SSLError) as e:
                err = f"cannot connect to {self.url}: {e}"
                if isinstance(e, ssl.SSLCertVerificationError):
                    err += " (the server's certificate is not the one the credential's CA issued)"
            else:
                try:
                    result, welcomed = self._session(ws)
                    if result == "stop":
                        ws.close()
                        return
                    err = "session ended"
                except ConnectionClosed as e:
                    err = str(e)
                    if e.code is not None:
                        self.close_codes.append(e.code)
                except FatalError:
                    ws.close()
                    raise
                except P.ProtocolError as e:
                    err = f"from the server: {e}"
                ws.close()
            if welcomed:
                failures, backoff = 0, 1.0
            else:
                failures += 1
            if self.max_attempts and failures >= self.max_attempts:
                raise ConnectionError(f"giving up after {failures} failed attempts; last: {err}")
            wait = backoff * (0.5 + 0.5 * rng.random())
            log.warning("%s; reconnecting in %.1f s", err, wait)
            end = time.monotonic() + wait
            while not self.stopped and time.monotonic() < end:
                time.sleep(min(0.1, end - time.monotonic()))
            backoff = min(backoff * 2, self.max_backoff)


def connect(server, credential, client, **options):
    """Serves `client` to the fedc server at `server` (wss://HOST:PORT) with the
    node credential file `credential` until interrupted (Ctrl-C returns) or the
    server refuses the credential (FatalError). Options: max_backoff (30 s),
    connect_timeout (10 s), max_attempts (0 = never give up), data_label."""
    node = Node(server, credential, client, **options)
    try:
        node.run()
    except KeyboardInterrupt:
        node.stop()
    return node


def main(argv=None):  # pragma: no cover - a thin command line
    import argparse
    ap = argparse.ArgumentParser(description="print the codec stages this SDK supports here")
    ap.parse_args(argv)
    from .codec import available_stages
    print(json.dumps({"stages": available_stages(), "python": sys.version.split()[0]}))
