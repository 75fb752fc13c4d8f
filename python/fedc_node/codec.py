"""fedc's codec pipelines (docs/compression.md, format version 1), in NumPy.

Encodes exactly the wire format of src/fl/codec: a header (magic 0xFC,
version 1, n u32, stage count, per stage its id and parameters), then the
body (top-k index section, value section), zstd-compressed after a byte
shuffle when the pipeline ends in zstd. Stages: none, fp16, bf16, q8, q4,
q2 (optionally :CHUNK), sign, topk:F, zstd (with the zstandard package).
randk is refused (its indices come from fedc's own random generator).

Decoding treats the buffer as hostile, as the C decoder does: the header
must name exactly the stages and counts the pipeline implies for n, every
section is bounded, indices checked, padding bits zero, values finite, and
the buffer consumed exactly. Stochastic rounding draws from NumPy's PCG64
seeded by (task seed, round, client): unbiased like fedc's, not the same
bits."""
import math
import struct

import numpy as np

try:  # Debian python3-zstandard
    import zstandard as _zstd
except ImportError:  # pragma: no cover - depends on the machine
    _zstd = None

MAGIC, VERSION = 0xFC, 1
FP16, BF16, Q8, Q4, Q2, SIGN, TOPK, RANDK, ZSTD = 1, 2, 3, 4, 5, 6, 7, 8, 9
_NAMES = {FP16: "fp16", BF16: "bf16", Q8: "q8", Q4: "q4", Q2: "q2", SIGN: "sign", TOPK: "topk", RANDK: "randk",
          ZSTD: "zstd"}
MAX_N = 2 ** 32 - 1


class CodecError(Exception):
    pass


class Codec:
    """A parsed pipeline string ("none", "fp16", "topk:0.01|q8|zstd", ...)."""

    def __init__(self, pipeline):
        self.pipeline = pipeline
        self.sparse = 0
        self.fraction = 1.0
        self.value = 0
        self.bits = 0
        self.chunk_log2 = 8
        self.zstd = False
        stages = [s.strip() for s in pipeline.split("|")]
        if stages == ["none"]:
            self.error_feedback = False
            return
        last = -1
        for pos, tok in enumerate(stages, 1):
            name, _, arg = tok.partition(":")
            if name in ("topk", "randk"):
                cls = 0
                try:
                    f = float(arg)
                except ValueError:
                    raise CodecError(f"codec pipeline {pipeline!r}: stage {pos} {tok!r} needs a fraction 0 < F <= 1")
                if not (0 < f <= 1):
                    raise CodecError(f"codec pipeline {pipeline!r}: stage {pos} fraction {arg!r} is out of range")
                self.sparse, self.fraction = (TOPK if name == "topk" else RANDK), f
            elif name in ("q8", "q4", "q2"):
                cls = 1
                self.value, self.bits = {"q8": (Q8, 8), "q4": (Q4, 4), "q2": (Q2, 2)}[name]
                if arg:
                    c = int(arg) if arg.isdigit() else 0
                    if c not in [1 << k for k in range(4, 17)]:
                        raise CodecError(f"codec pipeline {pipeline!r}: chunk {arg!r} is not a power of two 16..65536")
                    self.chunk_log2 = c.bit_length() - 1
            elif name in ("fp16", "bf16", "sign") and not arg:
                cls = 1
                self.value = {"fp16": FP16, "bf16": BF16, "sign": SIGN}[name]
            elif name == "zstd" and not arg:
                cls = 2
                self.zstd = True
            else:
                raise CodecError(f"codec pipeline {pipeline!r}: stage {pos} {tok!r} is unknown")
            if cls <= last:
                raise CodecError(f"codec pipeline {pipeline!r}: stages must be sparsifier, value coder, zstd, one each")
            last = cls
        if self.sparse == RANDK:
            raise CodecError("codec randk is not supported by the Python SDK (its indices come from fedc's "
                             "random generator); use topk")
        if self.zstd and _zstd is None:
            raise CodecError("codec zstd needs the zstandard package (Debian python3-zstandard)")
        self.error_feedback = self.sparse == TOPK or self.value == SIGN

    # ---- sizes ----
    def kept(self, n):
        if not self.sparse or n == 0:
            return n
        x = self.fraction * n
        k = math.ceil(x - 1e-9 * x)
        return 1 if k < 1 else n if k >= n else int(k)

    def _width(self):
        return 4 if self.value == 0 else 2 if self.value in (FP16, BF16) else 1

    def _values_size(self, m):
        if self.value == 0:
            return 4 * m
        if self.value in (FP16, BF16):
            return 2 * m
        if self.value == SIGN:
            return 4 + (m + 7) // 8
        chunks = -(-m // (1 << self.chunk_log2))
        return 8 * chunks + (m * self.bits + 7) // 8

    def _body_max(self, n):
        m = self.kept(n)
        idx = 0
        if self.sparse == TOPK:
            idx = min((n + 7) // 8, 5 * m)
        return idx + self._values_size(m)

    # ---- encoding ----
    def encode(self, v, residual=None, rng=None):
        """Bytes of v (float32, 1-D). residual (float32, updated in place) is
        the error feedback of topk and sign; rng a numpy Generator."""
        v = np.ascontiguousarray(v, dtype=np.float32).ravel()
        n = v.size
        if n > MAX_N:
            raise CodecError(f"n = {n} exceeds the format's limit")
        use_ef = self.error_feedback and residual is not None
        x = v + residual if use_ef else v
        if not np.all(np.isfinite(x)):
            bad = int(np.argmin(np.isfinite(x)))
            raise CodecError(f"input value {bad} is {x[bad]}; only finite values can be encoded")
        if rng is None and self.bits:
            rng = np.random.default_rng(0)
        m = self.kept(n)
        idx = None
        mode = 0
        vals = x
        if self.sparse == TOPK:
            idx = topk_indices(x, m)
            vals = x[idx]
            if (n + 7) // 8 < _varint_size(idx):
                mode = 1
        hdr = [struct.pack("<BBIB", MAGIC, VERSION, n, int(bool(self.sparse)) + int(bool(self.value)) + int(self.zstd))]
        if self.sparse:
            hdr.append(struct.pack("<BIB", TOPK, m, mode))
        if self.value:
            hdr.append(struct.pack("<B", self.value))
            if self.bits:
                hdr.append(struct.pack("<B", self.chunk_log2))
        if self.zstd:
            hdr.append(bytes((ZSTD,)))
        parts = []
        if self.sparse == TOPK:
            parts.append(_bitmap(idx, n) if mode else _varints(idx))
        parts.append(self._encode_values(vals, rng))
        # One copy of a model-sized buffer less per step where it can be
        # avoided: the body is joined on its own only when it is needed.
        body = b"".join(parts) if (self.zstd or use_ef) else None
        out = b"".join(hdr + ([_zstd_pack(body, self._width())] if self.zstd else [body] if body else parts))
        if use_ef:
            residual[:] = x - self._decode_body(body, n, mode)
        return out

    def _encode_values(self, x, rng):
        if self.value == 0:
            return memoryview(np.ascontiguousarray(x, dtype="<f4")).cast("B")
        if self.value == FP16:
            return np.clip(x, -65504.0, 65504.0).astype("<f2").tobytes()
        if self.value == BF16:
            u = x.view(np.uint32)
            sign = (u >> 16) & 0x8000
            a = u & 0x7FFFFFFF
            r = ((a + 0x7FFF + ((a >> 16) & 1)) >> 16).astype(np.uint32)
            h = np.where(a >= 0x7F7F8000, 0x7F7F, r) | sign
            return h.astype("<u2").tobytes()
        if self.value == SIGN:
            scale = np.float32(np.abs(x.astype(np.float64)).sum() / x.size) if x.size else np.float32(0)
            return struct.pack("<f", scale) + np.packbits(x < 0, bitorder="little").tobytes()
        return _quant_encode(x, self.bits, self.chunk_log2, rng)

    # ---- decoding ----
    def decode(self, buf, n):
        """n float32 values from buf; CodecError on any mismatch."""
        mv = memoryview(buf).cast("B")
        if len(mv) < 7:
            raise CodecError(f"buffer of {len(mv)} bytes is shorter than the 7-byte header")
        magic, version, wn, stages = struct.unpack_from("<BBIB", mv, 0)
        if magic != MAGIC:
            raise CodecError(f"magic byte is 0x{magic:02x}; expected 0x{MAGIC:02x}")
        if version != VERSION:
            raise CodecError(f"format version {version} is not supported")
        if wn != n:
            raise CodecError(f"buffer holds {wn} values; expected {n}")
        want = [s for s in (self.sparse, self.value, ZSTD if self.zstd else 0) if s]
        if stages != len(want):
            raise CodecError(f"buffer has {stages} stages; the pipeline has {len(want)}")
        off, mode = 7, 0
        for sid in want:
            if off >= len(mv):
                raise CodecError("header truncated")
            got = mv[off]
            off += 1
            if got != sid:
                raise CodecError(f"stage is {_NAMES.get(got, 'unknown')}; the pipeline expects {_NAMES[sid]}")
            if sid == TOPK:
                if off + 5 > len(mv):
                    raise CodecError("header truncated at topk")
                k, mode = struct.unpack_from("<IB", mv, off)
                off += 5
                if k != self.kept(n) or mode not in (0, 1):
                    raise CodecError(f"topk keeps {k} values (mode {mode}); expected {self.kept(n)}")
            elif sid in (Q8, Q4, Q2):
                if off >= len(mv) or mv[off] != self.chunk_log2:
                    raise CodecError("quantiser chunk differs from the pipeline's")
                off += 1
        body = mv[off:]
        if self.zstd:
            body = _zstd_unpack(bytes(body), self._body_max(n), self._width())
        return self._decode_body(body, n, mode)

    def _decode_body(self, body, n, mode):
        mv = memoryview(body).cast("B")
        m = self.kept(n)
        off = 0
        idx = None
        if self.sparse == TOPK:
            if mode == 1:
                size = (n + 7) // 8
                if len(mv) < size:
                    raise CodecError("topk bitmap truncated")
                bits = np.unpackbits(np.frombuffer(mv[:size], np.uint8), bitorder="little")
                if bits[n:].any():
                    raise CodecError("topk bitmap has bits set past n")
                idx = np.flatnonzero(bits[:n])
                if idx.size != m:
                    raise CodecError(f"topk bitmap has {idx.size} set bits; the header announces {m}")
                off = size
            else:
                idx, off = _read_varints(mv, m, n)
        vals, used = self._decode_values(mv[off:], m)
        if off + used != len(mv):
            raise CodecError(f"body has {len(mv) - off - used} bytes after the last section")
        if idx is None:
            return vals
        out = np.zeros(n, np.float32)
        out[idx] = vals
        return out

    def _decode_values(self, mv, m):
        size = self._values_size(m)
        if len(mv) < size:
            raise CodecError(f"value section needs {size} bytes for {m} values, {len(mv)} left")
        raw = mv[:size]
        if self.value == 0:
            out = np.frombuffer(raw, "<f4").astype(np.float32)
        elif self.value in (FP16, BF16):
            h = np.frombuffer(raw, "<u2")
            mask = 0x7C00 if self.value == FP16 else 0x7F80
            if np.any((h & mask) == mask):
                raise CodecError("a half-precision value is not finite")
            out = h.view("<f2").astype(np.float32) if self.value == FP16 else \
                (h.astype(np.uint32) << 16).view(np.float32)
        elif self.value == SIGN:
            scale = struct.unpack_from("<f", raw, 0)[0]
            if not math.isfinite(scale) or scale < 0:
                raise CodecError("sign scale is not a finite value >= 0")
            bits = np.unpackbits(np.frombuffer(raw[4:], np.uint8), bitorder="little")
            if bits[m:].any():
                raise CodecError("sign padding bits are not zero")
            out = np.where(bits[:m] == 1, -np.float32(scale), np.float32(scale)).astype(np.float32)
        else:
            out = _quant_decode(raw, m, self.bits, self.chunk_log2)
        if not np.all(np.isfinite(out)):
            raise CodecError("a value is not finite")
        return out, size


def topk_indices(x, k):
    """The k indices of largest |x| in increasing order, ties by index (as fedc)."""
    n = x.size
    if k >= n:
        return np.arange(n)
    mag = np.abs(x)
    thr = np.partition(mag, n - k)[n - k]
    above = np.flatnonzero(mag > thr)
    ties = np.flatnonzero(mag == thr)[:k - above.size]
    return np.sort(np.concatenate([above, ties]))


def _gaps(idx):
    g = np.empty(idx.size, np.int64)
    if idx.size:
        g[0] = idx[0]
        g[1:] = np.diff(idx) - 1
    return g


def _varint_size(idx):
    g = _gaps(idx)
    return int(idx.size + (g >= 1 << 7).sum() + (g >= 1 << 14).sum() + (g >= 1 << 21).sum() + (g >= 1 << 28).sum())


def _varints(idx):
    g = _gaps(idx).astype(np.uint64)
    lens = 1 + (g >= 1 << 7).astype(np.int64) + (g >= 1 << 14) + (g >= 1 << 21) + (g >= 1 << 28)
    out = np.zeros(int(lens.sum()), np.uint8)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    for j in range(5):
        sel = lens > j
        b = ((g[sel] >> np.uint64(7 * j)) & np.uint64(0x7F)).astype(np.uint8)
        b |= np.where(lens[sel] > j + 1, 0x80, 0).astype(np.uint8)
        out[starts[sel] + j] = b
    return out.tobytes()


def _read_varints(mv, k, n):
    idx = np.empty(k, np.int64)
    off, nxt = 0, 0
    for i in range(k):
        v, shift = 0, 0
        while True:
            if off >= len(mv):
                raise CodecError(f"topk index {i}: varint truncated")
            b = mv[off]
            off += 1
            if shift == 28 and b & 0xF0:
                raise CodecError(f"topk index {i}: varint exceeds 32 bits")
            if shift > 0 and b == 0:
                raise CodecError(f"topk index {i}: redundant zero byte")
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        pos = nxt + v
        if pos >= n:
            raise CodecError(f"topk index {i} is {pos}; indices must be < n = {n}")
        idx[i] = pos
        nxt = pos + 1
    return idx, off


def _bitmap(idx, n):
    bits = np.zeros(n, np.uint8)
    bits[idx] = 1
    return np.packbits(bits, bitorder="little").tobytes()


def _quant_encode(x, bits, chunk_log2, rng):
    m = x.size
    chunk = 1 << chunk_log2
    nch = -(-m // chunk)
    max_code = (1 << bits) - 1
    pad = nch * chunk - m
    xd = x.astype(np.float64)
    xp = np.concatenate([xd, np.repeat(xd[-1:], pad)]) if pad and m else xd
    xc = xp.reshape(nch, chunk) if m else xp.reshape(0, chunk)
    lo = x[::chunk].copy() if m else np.zeros(0, np.float32)
    lo = np.minimum.reduceat(x, np.arange(0, m, chunk)) if m else lo
    hi = np.maximum.reduceat(x, np.arange(0, m, chunk)) if m else lo
    step = (hi.astype(np.float64) - lo.astype(np.float64)) / max_code
    u = rng.random(m) if m else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(step > 0, 1.0 / np.where(step > 0, step, 1.0), 0.0)
    t = (xc - lo.astype(np.float64)[:, None]) * inv[:, None]
    t = t.ravel()[:m] + u
    q = np.where(t <= 0, 0, np.where(t >= max_code, max_code, np.floor(np.maximum(t, 0)))).astype(np.uint8)
    q[np.repeat(step == 0, chunk)[:m]] = 0
    ranges = np.empty((nch, 2), "<f4")
    ranges[:, 0], ranges[:, 1] = lo, hi
    per = 8 // bits
    qp = np.concatenate([q, np.zeros((-m) % per, np.uint8)]).reshape(-1, per)
    codes = np.zeros(qp.shape[0], np.uint8)
    for j in range(per):
        codes |= (qp[:, j] << (j * bits)).astype(np.uint8)
    return ranges.tobytes() + codes.tobytes()


def _quant_decode(raw, m, bits, chunk_log2):
    chunk = 1 << chunk_log2
    nch = -(-m // chunk)
    ranges = np.frombuffer(raw[:8 * nch], "<f4").reshape(nch, 2)
    lo, hi = ranges[:, 0], ranges[:, 1]
    if not (np.all(np.isfinite(ranges)) and np.all(lo <= hi)):
        raise CodecError("a quantiser chunk has a range that is not finite lo <= hi")
    codes = np.frombuffer(raw[8 * nch:], np.uint8)
    per = 8 // bits
    q = np.stack([(codes >> (j * bits)) & ((1 << bits) - 1) for j in range(per)], axis=1).ravel()
    if q[m:].any():
        raise CodecError("quantiser padding bits of the last code byte are not zero")
    q = q[:m].astype(np.float64)
    step = (hi.astype(np.float64) - lo.astype(np.float64)) / ((1 << bits) - 1)
    ch = np.arange(m) // chunk
    v = (lo.astype(np.float64)[ch] + q * step[ch]).astype(np.float32)
    return np.minimum(v, hi[ch])


def _zstd_pack(body, width):
    b = np.frombuffer(body, np.uint8)
    if width > 1 and b.size:
        e = b.size // width
        b = np.concatenate([b[:e * width].reshape(e, width).T.ravel(), b[e * width:]])
    return _zstd.ZstdCompressor(level=1, write_content_size=True).compress(b.tobytes())


def _zstd_unpack(frame, cap, width):
    if len(frame) < 4 or struct.unpack_from("<I", frame)[0] != 0xFD2FB528:
        raise CodecError("zstd frame magic is wrong")
    try:
        params = _zstd.get_frame_parameters(frame)
    except _zstd.ZstdError as e:
        raise CodecError(f"zstd frame header is invalid: {e}") from None
    if params.content_size in (0xFFFFFFFFFFFFFFFF, -1) or params.content_size > cap:
        raise CodecError(f"zstd frame declares {params.content_size} bytes of content; at most {cap} allowed")
    try:
        d = _zstd.ZstdDecompressor().decompressobj()
        raw = d.decompress(frame)
        trailing = bool(d.unused_data)
    except _zstd.ZstdError as e:
        raise CodecError(f"zstd decompression failed: {e}") from None
    if trailing:
        raise CodecError("zstd frame is followed by trailing bytes")
    if len(raw) != params.content_size:
        raise CodecError("zstd frame produced a different size than it declared")
    b = np.frombuffer(raw, np.uint8)
    if width > 1 and b.size:
        e = b.size // width
        b = np.concatenate([b[:e * width].reshape(width, e).T.ravel(), b[e * width:]])
    return b.tobytes()


def available_stages():
    """Stage names this SDK encodes and decodes on this machine."""
    s = ["none", "fp16", "bf16", "q8", "q4", "q2", "sign", "topk"]
    return s + (["zstd"] if _zstd is not None else [])
