#!/usr/bin/python3
"""Independent safetensors reader (json + struct only) used to cross-check
fedc's writer. Prints the metadata, then one line per tensor in file order:

    meta <key> <value>
    tensor <name> <dtype> <d0>x<d1>... <sum>

where <sum> is the exact (math.fsum) sum of the float32 values, printed with
repr. Exits 1 with a message on a malformed file.

usage: safetensors_reader.py FILE
"""
import json
import math
import struct
import sys

DTYPE_FORMAT = {"F32": ("f", 4), "F64": ("d", 8), "I32": ("i", 4), "I64": ("q", 8)}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("file shorter than the 8-byte header length")
    (hlen,) = struct.unpack_from("<Q", blob, 0)
    if hlen > len(blob) - 8:
        raise ValueError(f"header length {hlen} exceeds the file")
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    data = memoryview(blob)[8 + hlen:]
    meta = header.pop("__metadata__", {})
    tensors = []
    for name, desc in header.items():
        fmt, size = DTYPE_FORMAT[desc["dtype"]]
        begin, end = desc["data_offsets"]
        count = math.prod(desc["shape"])
        if not (0 <= begin <= end <= len(data)) or end - begin != count * size:
            raise ValueError(f"{name}: bad data_offsets {begin},{end} for shape {desc['shape']}")
        values = struct.unpack_from(f"<{count}{fmt}", data, begin)
        tensors.append((begin, name, desc["dtype"], desc["shape"], math.fsum(values)))
    return meta, sorted(tensors)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        meta, tensors = read(sys.argv[1])
    except (OSError, ValueError, KeyError, json.JSONDecodeError, struct.error) as e:
        sys.exit(f"{sys.argv[1]}: {e}")
    for k, v in meta.items():
        print(f"meta {k} {v}")
    for _, name, dtype, shape, total in tensors:
        print(f"tensor {name} {dtype} {'x'.join(map(str, shape))} {total!r}")


if __name__ == "__main__":
    main()
