"""fedc wire frames (include/fedc/proto.h), byte for byte.

Frame (little-endian): b"FDC" | version u8 | type u8 | json_len u32 | json |
nblobs u16 | nblobs x (len u32 | bytes). The decoder bounds every length,
requires the frame to be consumed exactly and the control part to be one
JSON object without duplicate keys, as the C decoder does."""
import json
import struct

VERSION = 1
MAX_JSON = 64 * 1024
MAX_BLOBS = 8
MAX_FRAME = 1 << 30

HELLO, WELCOME, TRAIN, UPDATE, BYE, ERROR, PING = 1, 2, 3, 4, 5, 6, 7
EVALUATE, RESULT, PARAMS = 10, 11, 12
# 8 and 9 are the steps of multi-step round protocols (secure aggregation),
# which this SDK does not speak: such runs are refused at WELCOME.
KNOWN = {HELLO, WELCOME, TRAIN, UPDATE, BYE, ERROR, PING, 8, 9, EVALUATE, RESULT, PARAMS}
NAMES = {HELLO: "hello", WELCOME: "welcome", TRAIN: "train", UPDATE: "update", BYE: "bye", ERROR: "error",
         PING: "ping", 8: "step", 9: "step-reply", EVALUATE: "evaluate", RESULT: "result", PARAMS: "params"}

CAP_EVALUATE = "evaluate"
CAP_EXTERNAL = "external"


class ProtocolError(Exception):
    """A frame that breaks the protocol (from the server, or about to be sent)."""


def _no_dupes(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ProtocolError(f"frame: duplicate key {k!r} in the control JSON")
        out[k] = v
    return out


def encode(msg_type, control, blobs=()):
    """One frame: control is a dict (sent as compact JSON), blobs bytes-like."""
    if msg_type not in KNOWN:
        raise ProtocolError(f"message type {msg_type} is not a known type")
    js = json.dumps(control, separators=(",", ":"), allow_nan=False).encode()
    if len(js) > MAX_JSON:
        raise ProtocolError(f"control JSON is {len(js)} bytes; at most {MAX_JSON} allowed")
    if len(blobs) > MAX_BLOBS:
        raise ProtocolError(f"{len(blobs)} blobs; at most {MAX_BLOBS} allowed")
    parts = [b"FDC", bytes((VERSION, msg_type)), struct.pack("<I", len(js)), js, struct.pack("<H", len(blobs))]
    total = 11 + len(js)
    for b in blobs:
        b = memoryview(b).cast("B")
        parts.append(struct.pack("<I", len(b)))
        parts.append(b)
        total += 4 + len(b)
    if total > MAX_FRAME:
        raise ProtocolError(f"message of {total} bytes exceeds the frame limit of {MAX_FRAME}")
    return b"".join(parts)


def decode(frame):
    """(type, control dict, [memoryview blobs]) of a frame; ProtocolError if it is not one."""
    mv = memoryview(frame).cast("B")
    n = len(mv)
    if n > MAX_FRAME:
        raise ProtocolError(f"frame of {n} bytes exceeds the limit of {MAX_FRAME}")
    if n < 3 or bytes(mv[:3]) != b"FDC":
        raise ProtocolError('frame: bad magic (expected "FDC")')
    if n < 4 or mv[3] != VERSION:
        raise ProtocolError(f"frame: protocol version {mv[3] if n > 3 else -1} is not supported (expected {VERSION})")
    if n < 5 or mv[4] not in KNOWN:
        raise ProtocolError(f"frame: message type {mv[4] if n > 4 else -1} is not a known type")
    t = mv[4]
    if n < 9:
        raise ProtocolError("frame: truncated before the JSON length")
    jl = struct.unpack_from("<I", mv, 5)[0]
    if jl > MAX_JSON:
        raise ProtocolError(f"frame: control JSON length {jl} exceeds {MAX_JSON}")
    off = 9
    if off + jl > n:
        raise ProtocolError(f"frame: truncated inside the control JSON ({jl} bytes announced, {n - off} left)")
    js = bytes(mv[off:off + jl])
    off += jl
    if off + 2 > n:
        raise ProtocolError("frame: truncated before the blob count")
    nb = struct.unpack_from("<H", mv, off)[0]
    off += 2
    if nb > MAX_BLOBS:
        raise ProtocolError(f"frame: {nb} blobs; at most {MAX_BLOBS} allowed")
    blobs = []
    for i in range(nb):
        if off + 4 > n:
            raise ProtocolError(f"frame: truncated before blob {i} length")
        bl = struct.unpack_from("<I", mv, off)[0]
        off += 4
        if off + bl > n:
            raise ProtocolError(f"frame: blob {i} announces {bl} bytes but {n - off} remain")
        blobs.append(mv[off:off + bl])
        off += bl
    if off != n:
        raise ProtocolError(f"frame: {n - off} trailing bytes after the last blob")
    try:
        control = json.loads(js.decode("utf-8"), object_pairs_hook=_no_dupes,
                             parse_constant=lambda c: (_ for _ in ()).throw(ProtocolError(f"frame: {c} in JSON")))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"frame: control JSON is invalid: {e}") from None
    if not isinstance(control, dict):
        raise ProtocolError("frame: control JSON must be an object")
    return t, control, blobs


def ws_overhead(payload_len, masked=True, fragment=64 * 1024 - 8):
    """Bytes of WebSocket headers a message adds (as fedc_ws_overhead)."""
    def hdr(p):
        h = 2 + (0 if p < 126 else 2 if p <= 0xFFFF else 8)
        return h + (4 if masked else 0)
    if payload_len <= fragment:
        return hdr(payload_len)
    full, rest = divmod(payload_len, fragment)
    return full * hdr(fragment) + (hdr(rest) if rest else 0)
