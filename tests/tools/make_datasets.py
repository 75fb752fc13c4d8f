#!/usr/bin/python3
"""Small datasets in the catalog's real formats, for tests that must not
touch the network: the files are laid out like a fedc data mirror
(<root>/<entry dir>/<file>) and described by a catalog override (sizes,
SHA-256, URLs) that points fedc at a local server.

Formats, written from their specifications with the standard library only:
  IDX (gzip)                  mnist, fashion-mnist
  CIFAR binary in .tar.gz     cifar10 (5 data batches + test batch), cifar100
  MATLAB level 5, compressed  svhn (X 32x32x3xN uint8, y Nx1 double 1..10)
  zip of gzipped IDX          emnist-* (gzip.zip; images stored transposed)
  zip of a MATLAB struct      femnist (matlab.zip; dataset.train.writers)

Every image encodes its label (the class decides the brightness of a block
of pixels), so a model can learn the data and a test can check that labels
and pixels line up; pixel(i, c, r, col) also follows a known formula per
format so a loader's pixel order can be checked at a known place.

Usage: make_datasets.py ROOT BASE_URL [NAME...]  writes ROOT/<dir>/<file>
and ROOT/catalog.json (override with URLs BASE_URL/<dir>/<file>)."""
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
import zipfile
import zlib

# ---- images that carry their label ----


def pixel(i, label, c, r, col):
    """Value of channel c, row r, column col of sample i with this label:
    a bright block whose position depends on the label, over a pattern."""
    base = (i * 7 + c * 31 + r * 3 + col * 5) % 64
    block_r, block_c = (label % 4) * 7, (label // 4 % 4) * 7
    if block_r <= r < block_r + 7 and block_c <= col < block_c + 7:
        return 192 + (label * 5 + c) % 64
    return base


def idx_images(images):
    n, rows, cols = len(images), len(images[0]), len(images[0][0])
    out = bytearray(struct.pack(">IIII", 0x803, n, rows, cols))
    for im in images:
        for row in im:
            out += bytes(row)
    return bytes(out)


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(data)
    return buf.getvalue()


def grey_samples(n, classes, seed):
    labels = [(i * 7 + seed) % classes for i in range(n)]
    images = [[[pixel(i, labels[i], 0, r, c) for c in range(28)] for r in range(28)] for i in range(n)]
    return images, labels


def mnist_files(n_train=300, n_test=100):
    files = {}
    for split, n, seed in (("train", n_train, 0), ("t10k", n_test, 3)):
        images, labels = grey_samples(n, 10, seed)
        files[f"{split}-images-idx3-ubyte.gz"] = gz(idx_images(images))
        files[f"{split}-labels-idx1-ubyte.gz"] = gz(idx_labels(labels))
    return files


# ---- CIFAR ----


def cifar_record(i, labels, channels=3):
    """labels: the label bytes (1 for CIFAR-10, coarse + fine for CIFAR-100);
    the last one decides the image."""
    lab = labels[-1]
    px = bytes(pixel(i, lab % 16, c, r, col) for c in range(channels) for r in range(32) for col in range(32))
    return bytes(labels) + px


def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1262304000
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def cifar10_files(per_batch=60, n_test=100):
    members = []
    k = 0
    for b in range(1, 6):
        data = b"".join(cifar_record(k + i, [(k + i) % 10]) for i in range(per_batch))
        k += per_batch
        members.append((f"cifar-10-batches-bin/data_batch_{b}.bin", data))
    test = b"".join(cifar_record(i, [(i * 3) % 10]) for i in range(n_test))
    members.append(("cifar-10-batches-bin/test_batch.bin", test))
    members.append(("cifar-10-batches-bin/batches.meta.txt", b"airplane\nautomobile\n"))
    return {"cifar-10-binary.tar.gz": tar_gz(members)}


def cifar100_files(n_train=200, n_test=60):
    def rec(i):
        fine = (i * 7) % 100
        return cifar_record(i, [fine % 20, fine])

    members = [("cifar-100-binary/train.bin", b"".join(rec(i) for i in range(n_train))),
               ("cifar-100-binary/test.bin", b"".join(rec(i + 1000) for i in range(n_test))),
               ("cifar-100-binary/fine_label_names.txt", b"apple\n")]
    return {"cifar-100-binary.tar.gz": tar_gz(members)}


# ---- MATLAB level 5 ----

MI_INT8, MI_UINT8, MI_INT32, MI_UINT32, MI_DOUBLE, MI_MATRIX, MI_COMPRESSED = 1, 2, 5, 6, 9, 14, 15
MX_STRUCT, MX_DOUBLE, MX_UINT8 = 2, 6, 9


def mat_element(mtype, data):
    pad = (8 - len(data) % 8) % 8
    return struct.pack("<II", mtype, len(data)) + data + b"\0" * pad


def mat_array_head(mclass, dims, name):
    return (mat_element(MI_UINT32, struct.pack("<II", mclass, 0)) +
            mat_element(MI_INT32, struct.pack(f"<{len(dims)}i", *dims)) +
            mat_element(MI_INT8, name.encode()))


def mat_uint8(name, dims, data):
    body = mat_array_head(MX_UINT8, dims, name) + mat_element(MI_UINT8, bytes(data))
    return struct.pack("<II", MI_MATRIX, len(body)) + body


def mat_double(name, dims, values, store_as_uint8=False):
    """A double array; MATLAB stores small integers as bytes, and so may we."""
    if store_as_uint8:
        data = mat_element(MI_UINT8, bytes(int(v) for v in values))
    else:
        data = mat_element(MI_DOUBLE, struct.pack(f"<{len(values)}d", *values))
    body = mat_array_head(MX_DOUBLE, dims, name) + data
    return struct.pack("<II", MI_MATRIX, len(body)) + body


def mat_struct(name, fields):
    """A 1x1 struct; fields: [(field name, whole miMATRIX element)]."""
    flen = 32
    names = b"".join(f.encode().ljust(flen, b"\0") for f, _ in fields)
    body = (mat_array_head(MX_STRUCT, [1, 1], name) + mat_element(MI_INT32, struct.pack("<i", flen)) +
            mat_element(MI_INT8, names) + b"".join(v for _, v in fields))
    return struct.pack("<II", MI_MATRIX, len(body)) + body


def mat_file(variables):
    text = b"MATLAB 5.0 MAT-file, Platform: fedc tests".ljust(116, b" ")
    out = text + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    for v in variables:
        z = zlib.compress(v)
        out += struct.pack("<II", MI_COMPRESSED, len(z)) + z  # compressed elements are not padded
    return out


def svhn_mat(n, seed):
    labels = [1 + (i * 3 + seed) % 10 for i in range(n)]  # 10 stands for the digit 0
    X = bytearray(32 * 32 * 3 * n)
    for s in range(n):
        lab = labels[s] % 10
        for c in range(3):
            for w in range(32):
                for h in range(32):
                    X[h + 32 * w + 1024 * c + 3072 * s] = pixel(s, lab, c, h, w)
    return mat_file([mat_uint8("X", [32, 32, 3, n], X),
                     mat_double("y", [n, 1], labels, store_as_uint8=seed % 2 == 1)])


def svhn_files(n_train=300, n_test=100, n_extra=80):
    return {"train_32x32.mat": svhn_mat(n_train, 0), "test_32x32.mat": svhn_mat(n_test, 1),
            "extra_32x32.mat": svhn_mat(n_extra, 2)}


# ---- EMNIST ----

EMNIST_CLASSES = {"byclass": 62, "balanced": 47, "digits": 10}


def emnist_split(n, classes, seed):
    labels = [(i * 7 + seed) % classes for i in range(n)]
    # upright image rows; stored transposed (column by column) in IDX
    images = [[[pixel(i, labels[i] % 16, 0, r, c) for c in range(28)] for r in range(28)] for i in range(n)]
    return images, labels


def emnist_gzip_zip(n_train=300, n_test=100):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for split, classes in EMNIST_CLASSES.items():
            for part, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
                images, labels = emnist_split(n, classes, seed)
                transposed = [[[im[r][c] for r in range(28)] for c in range(28)] for im in images]
                z.writestr(f"gzip/emnist-{split}-{part}-images-idx3-ubyte.gz", gz(idx_images(transposed)))
                z.writestr(f"gzip/emnist-{split}-{part}-labels-idx1-ubyte.gz", gz(idx_labels(labels)))
    return {"gzip.zip": buf.getvalue()}


def femnist_matlab_zip(n_train=300, n_test=100, writers=12):
    def split(n, seed, with_writers):
        images, labels = emnist_split(n, 62, seed)
        flat = bytearray(n * 784)
        for i, im in enumerate(images):
            for r in range(28):
                for c in range(28):
                    flat[i + n * (r + 28 * c)] = im[r][c]  # images(i, r + 28c), column-major
        wr = [1000 + (i * 5) % writers for i in range(n)] if with_writers else [1] * n
        return mat_struct("", [("images", mat_uint8("", [n, 784], flat)),
                               ("labels", mat_double("", [n, 1], labels)),
                               ("writers", mat_double("", [n, 1], wr))])

    ds = mat_struct("dataset", [("train", split(n_train, 0, True)), ("test", split(n_test, 1, False)),
                                ("mapping", mat_double("", [2, 2], [0, 1, 48, 49]))])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("matlab/emnist-byclass.mat", mat_file([ds]))
    return {"matlab.zip": buf.getvalue()}


# ---- the mirror ----

DATASETS = {
    # name: (entry dir, files)
    "mnist": ("mnist", mnist_files),
    "fashion-mnist": ("fashion-mnist", mnist_files),
    "emnist-byclass": ("emnist", emnist_gzip_zip),
    "emnist-balanced": ("emnist", emnist_gzip_zip),
    "emnist-digits": ("emnist", emnist_gzip_zip),
    "femnist": ("emnist", femnist_matlab_zip),
    "cifar10": ("cifar10", cifar10_files),
    "cifar100": ("cifar100", cifar100_files),
    "svhn": ("svhn", svhn_files),
}


def write_mirror(root, base_url, names=None, urls=None):
    """Writes the datasets' files under root and returns the catalog override
    (a dict). urls(dir, file) -> list of URLs overrides BASE_URL/dir/file."""
    override = {"datasets": {}}
    made = {}
    for name in names or DATASETS:
        d, make = DATASETS[name]
        if make not in made:
            made[make] = make()
        files = {}
        for fname, data in made[make].items():
            os.makedirs(os.path.join(root, d), exist_ok=True)
            with open(os.path.join(root, d, fname), "wb") as f:
                f.write(data)
            files[fname] = {"urls": urls(d, fname) if urls else [f"{base_url}/{d}/{fname}"],
                            "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        override["datasets"][name] = {"files": files}
    # fedc must not find Debian's package instead of the test files
    override["datasets"].setdefault("fashion-mnist", {})["system_dir"] = None
    return override


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    root, base = sys.argv[1], sys.argv[2].rstrip("/")
    ov = write_mirror(root, base, sys.argv[3:] or None)
    with open(os.path.join(root, "catalog.json"), "w") as f:
        json.dump(ov, f, indent=1)
    print(os.path.join(root, "catalog.json"))
