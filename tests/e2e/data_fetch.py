#!/usr/bin/python3
"""The data catalog end to end, against a local HTTPS server with its own
certificate (no test touches the network): small files in every real
format (IDX gz, CIFAR binary .tar.gz, SVHN .mat v5 compressed, EMNIST
gzip.zip, FEMNIST matlab.zip) are fetched with `fedc data fetch`, checked,
loaded (`fedc data show`: shapes, labels, a known pixel at a known place),
and trained on with `fedc sim --set dataset.name=cifar10`.

Covered: fetch and verify, cache reuse (no second download), resume after a
cut connection and after a killed fetch (HTTP Range), a checksum mismatch
refused and the file deleted, a server sending more than the catalog says
cut off, TLS verification, the offline error message, concurrent fetches
of the same dataset (one download), the task's dataset.fetch auto.

usage: data_fetch.py FEDC_BINARY"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import make_datasets  # noqa: E402
from data_server import DataServer  # noqa: E402

FEDC = os.path.abspath(sys.argv[1])
TMP = tempfile.TemporaryDirectory(prefix="fedc-data-")
MIRROR = os.path.join(TMP.name, "mirror")
passed = []


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class Env:
    """A fresh cache and the catalog pointed at the test server."""

    def __init__(self, server, name, catalog):
        self.cache = os.path.join(TMP.name, f"cache-{name}")
        self.env = dict(os.environ, FEDC_DATA=self.cache, FEDC_DATA_CATALOG=catalog, FEDC_DATA_CA=server.ca,
                        OPENBLAS_NUM_THREADS="1")
        self.env.pop("FEDC_DATA_MIRROR", None)

    def run(self, *args, timeout=240, check_rc=None):
        p = subprocess.run([FEDC] + list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check_rc is not None and p.returncode != check_rc:
            raise AssertionError(f"fedc {' '.join(args)}: exit {p.returncode} (wanted {check_rc})\n"
                                 f"stdout: {p.stdout[-3000:]}\nstderr: {p.stderr[-3000:]}")
        return p

    def popen(self, *args):
        return subprocess.Popen([FEDC] + list(args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def path(self, d, f=None):
        return os.path.join(self.cache, d, f) if f else os.path.join(self.cache, d)


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def gets(server, path):
    return [r for r in server.requests if r[0] == path]


def test_fetch_verify_and_reuse(server, catalog):
    e = Env(server, "reuse", catalog)
    p = e.run("data", "fetch", "mnist", check_rc=0)
    check("fetching mnist: train-images-idx3-ubyte.gz" in p.stderr, f"fetch says what: {p.stderr}")
    check(f"into {e.path('mnist')}" in p.stderr, "fetch says where")
    for f in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        check(sha(e.path("mnist", f)) == sha(os.path.join(MIRROR, "mnist", f)), f"{f} fetched intact")
        check(not os.path.exists(e.path("mnist", f + ".part")), "no part left")
    listing = e.run("data", "list", check_rc=0).stdout.splitlines()
    check(len(listing) == 10, f"one line per catalog entry: {listing}")
    names = [line.split()[0] for line in listing]
    check(names == list(make_datasets.DATASETS) + ["synthetic"], f"names in catalog order: {names}")
    check(" generated " in listing[-1], f"synthetic is generated, never fetched: {listing[-1]}")
    mn = [line for line in listing if line.startswith("mnist ")][0]
    check(" present " in mn and e.path("mnist") in mn, f"mnist present in the cache: {mn}")
    check(" absent " in [line for line in listing if line.startswith("cifar10 ")][0], "cifar10 absent")
    v = e.run("data", "verify", "mnist", check_rc=0)
    check(v.stdout.count(" ok ") == 4, f"verify: {v.stdout}")
    check(e.run("data", "path", "mnist", check_rc=0).stdout.strip() == e.path("mnist"), "path")
    check(e.run("data", "path", "cifar10").returncode == 1, "path of an absent dataset exits 1")
    # A second fetch downloads nothing.
    before = len(server.requests)
    p = e.run("data", "fetch", "mnist", check_rc=0)
    check(len(server.requests) == before, "cache reuse: no request")
    check("is present" in p.stderr, p.stderr)
    # A damaged cached file: verify says so; fetch replaces it.
    f = e.path("mnist", "t10k-labels-idx1-ubyte.gz")
    with open(f, "r+b") as fh:
        fh.seek(20)
        fh.write(b"\xff")
    os.utime(f, (1, 1))
    v = e.run("data", "verify", "mnist")
    check(v.returncode == 1 and "BAD" in v.stdout, f"verify finds the damage: {v.stdout}")
    e.run("data", "fetch", "mnist", check_rc=0)
    check(sha(f) == sha(os.path.join(MIRROR, "mnist", "t10k-labels-idx1-ubyte.gz")), "re-fetched")
    passed.append("fetch, verify, path, list, cache reuse")


def test_resume_after_cut(server, catalog):
    e = Env(server, "cut", catalog)
    path = "/cifar10/cifar-10-binary.tar.gz"
    size = os.path.getsize(os.path.join(MIRROR, path[1:]))
    cut = size * 2 // 5
    server.rule(path, "cut", cut)
    p = e.run("data", "fetch", "cifar10", check_rc=0)
    reqs = gets(server, path)
    check(len(reqs) == 2, f"two requests: {reqs}")
    check(reqs[0][1] is None and reqs[1][1] == f"bytes={cut}-", f"resumed with a Range request: {reqs}")
    check("retrying from byte" in p.stderr, p.stderr)
    check(sha(e.path("cifar10", "cifar-10-binary.tar.gz")) == sha(os.path.join(MIRROR, path[1:])), "intact")
    passed.append("resume after a cut connection")


def test_resume_after_kill(server, catalog):
    e = Env(server, "kill", catalog)
    path = "/svhn/train_32x32.mat"
    size = os.path.getsize(os.path.join(MIRROR, path[1:]))
    part = e.path("svhn", "train_32x32.mat.part")
    stall = size // 3
    server.rule(path, "hang", stall)
    proc = e.popen("data", "fetch", "svhn")
    deadline = time.time() + 60
    while time.time() < deadline and not (os.path.exists(part) and os.path.getsize(part) == stall):
        time.sleep(0.05)
    check(os.path.exists(part) and os.path.getsize(part) == stall, "the part file holds what arrived")
    proc.kill()
    proc.wait()
    check(not os.path.exists(e.path("svhn", "train_32x32.mat")), "no partial file is ever in place")
    # The stall is over (the rule was for one request): fetch again.
    e.run("data", "fetch", "svhn", check_rc=0)
    reqs = gets(server, path)
    check(reqs[-1][1] == f"bytes={stall}-", f"the new fetch resumed at {stall}: {reqs}")
    check(sha(e.path("svhn", "train_32x32.mat")) == sha(os.path.join(MIRROR, path[1:])), "intact")
    passed.append("resume after a killed fetch")


def test_checksum_mismatch(server, catalog):
    e = Env(server, "corrupt", catalog)
    path = "/cifar100/cifar-100-binary.tar.gz"
    server.rule(path, "corrupt")
    p = e.run("data", "fetch", "cifar100")
    check(p.returncode == 1, "refused")
    check("does not match the catalog's" in p.stderr and "the download was deleted" in p.stderr, p.stderr)
    check(not os.path.exists(e.path("cifar100", "cifar-100-binary.tar.gz")), "nothing in place")
    check(not os.path.exists(e.path("cifar100", "cifar-100-binary.tar.gz.part")), "the part was deleted")
    passed.append("checksum mismatch refused and deleted")


def test_oversize(server, catalog):
    e = Env(server, "oversize", catalog)
    path = "/emnist/gzip.zip"
    for how in ("oversize", "lie"):
        server.clear()
        server.rule(path, how, 5000)
        p = e.run("data", "fetch", "emnist-digits")
        check(p.returncode == 1, f"{how}: refused")
        size = os.path.getsize(os.path.join(MIRROR, path[1:]))
        check(f"sent more than the {size} bytes" in p.stderr and "cut off" in p.stderr, f"{how}: {p.stderr}")
        check(not os.path.exists(e.path("emnist", "gzip.zip")), "nothing in place")
        check(not os.path.exists(e.path("emnist", "gzip.zip.part")), "no part left")
    server.clear()
    passed.append("a server sending more than the catalog says is cut off")


def test_tls_and_offline(server, catalog):
    e = Env(server, "tls", catalog)
    e.env.pop("FEDC_DATA_CA")
    p = e.run("data", "fetch", "mnist")
    check(p.returncode == 1 and "TLS" in p.stderr, f"an unknown certificate is refused: {p.stderr}")
    e = Env(server, "offline", catalog)
    before = len(server.requests)
    p = e.run("sim", "--set", "dataset.name=cifar10", "--set", "dataset.fetch=never", "--set", "rounds=1",
              "--quiet", "--out", os.path.join(TMP.name, "run-offline"))
    check(p.returncode == 1, "refused")
    msg = p.stderr
    for want in ("cifar-10-binary.tar.gz", e.path("cifar10"), "fedc data fetch cifar10", "dataset.path",
                 "dataset.fetch is never"):
        check(want in msg, f"the offline message names {want!r}: {msg}")
    check(len(server.requests) == before, "nothing was downloaded")
    passed.append("TLS verification; offline message")


def test_concurrent(server, catalog):
    """The first fetch holds the lock while its download is held half-way by
    the server; the other two must wait for it, then find the file present."""
    e = Env(server, "concurrent", catalog)
    path = "/cifar10/cifar-10-binary.tar.gz"
    part = e.path("cifar10", "cifar-10-binary.tar.gz.part")
    server.clear()
    server.rule(path, "hold", 1000)
    logs = [os.path.join(TMP.name, f"concurrent-{k}.log") for k in range(3)]

    def start(k):
        return subprocess.Popen([FEDC, "data", "fetch", "cifar10"], env=e.env, stdout=subprocess.DEVNULL,
                                stderr=open(logs[k], "w"))

    def wait_for(what, pred, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    first = start(0)
    wait_for("the first download to start", lambda: os.path.exists(part) and os.path.getsize(part) == 1000)
    others = [start(1), start(2)]
    for k in (1, 2):
        wait_for(f"fetch {k} to wait", lambda k=k: "waiting: another fedc process is fetching" in open(logs[k]).read())
    server.release()
    for p in [first] + others:
        check(p.wait(timeout=240) == 0, f"every fetch succeeds: {[open(f).read() for f in logs]}")
    check(len(gets(server, path)) == 1, f"one download for three fetches: {server.requests}")
    for k in (1, 2):
        check("is present" in open(logs[k]).read(), "the waiting fetches found it present")
    check(sha(e.path("cifar10", "cifar-10-binary.tar.gz")) == sha(os.path.join(MIRROR, path[1:])), "intact")
    server.clear()
    passed.append("concurrent fetches download once (the others wait on the lock)")


def show(e, name, *extra):
    p = e.run("data", "show", name, *extra, check_rc=0)
    return json.loads(p.stdout)


def test_every_format_loads(server, catalog):
    e = Env(server, "formats", catalog)
    e.run("data", "fetch", "--all", "--extra", "--quiet", check_rc=0)
    pixel = make_datasets.pixel
    # IDX: sample 5 of mnist's training set
    s = show(e, "mnist", "--sample", "5")
    check(s["samples"] == 300 and s["shape"] == [1, 28, 28] and s["classes"] == 10, s)
    lab = (5 * 7) % 10
    check(s["sample"]["label"] == lab, s["sample"]["label"])
    check(s["sample"]["pixels"][3 * 28 + 20] == pixel(5, lab, 0, 3, 20), "mnist pixel (3, 20)")
    # CIFAR-10 .tar.gz: sample 130 is record 10 of data_batch_3
    s = show(e, "cifar10", "--sample", "130")
    check(s["samples"] == 300 and s["shape"] == [3, 32, 32] and s["classes"] == 10, s)
    check(s["sample"]["label"] == 130 % 10, s["sample"]["label"])
    check(s["sample"]["pixels"][2 * 1024 + 5 * 32 + 17] == pixel(130, 0, 2, 5, 17), "cifar10 pixel (2, 5, 17)")
    s = show(e, "cifar10", "--test", "--sample", "7")
    check(s["samples"] == 100 and s["sample"]["label"] == 21 % 10, s["sample"]["label"])
    # CIFAR-100 fine and coarse
    s = show(e, "cifar100", "--sample", "9")
    check(s["classes"] == 100 and s["sample"]["label"] == 63, s["sample"]["label"])
    check(s["sample"]["pixels"][1024 + 31] == pixel(9, 63 % 16, 1, 0, 31), "cifar100 pixel")
    s = show(e, "cifar100", "--sample", "9", "--labels", "coarse")
    check(s["classes"] == 20 and s["sample"]["label"] == 63 % 20, s["sample"]["label"])
    # SVHN .mat: label 10 is the digit 0; (channel, row, column) from MATLAB's column-major X
    s = show(e, "svhn", "--sample", "3")
    check(s["samples"] == 300 and s["shape"] == [3, 32, 32], s)
    lab = (1 + (3 * 3) % 10) % 10
    check(s["sample"]["label"] == lab and lab == 0, s["sample"]["label"])
    check(s["sample"]["pixels"][1 * 1024 + 30 * 32 + 2] == pixel(3, lab, 1, 30, 2), "svhn pixel (1, 30, 2)")
    check(show(e, "svhn", "--extra")["samples"] == 380, "train + extra")
    check(show(e, "svhn", "--test")["samples"] == 100, "test")
    # EMNIST gzip.zip: transposed on disk, upright after loading
    for name, classes in (("emnist-byclass", 62), ("emnist-balanced", 47), ("emnist-digits", 10)):
        s = show(e, name, "--sample", "11")
        lab = (11 * 7) % classes
        check(s["classes"] == classes and s["sample"]["label"] == lab, (name, s["sample"]["label"]))
        check(s["sample"]["pixels"][2 * 28 + 23] == pixel(11, lab % 16, 0, 2, 23), f"{name} pixel (2, 23)")
    # FEMNIST matlab.zip: writers
    s = show(e, "femnist", "--sample", "4")
    check(s["classes"] == 62 and s["writers"] == 12 and s["samples"] == 300, s)
    lab = (4 * 7) % 62
    check(s["sample"]["label"] == lab, s["sample"]["label"])
    check(s["sample"]["pixels"][25 * 28 + 1] == pixel(4, lab % 16, 0, 25, 1), "femnist pixel (25, 1)")
    # every dataset trains one round through fedc sim (its shape and classes)
    for name in make_datasets.DATASETS:
        extra = ["--set", "partition.kind=natural", "--set", "clients=12"] if name == "femnist" else []
        e.run("sim", "--set", f"dataset.name={name}", "--set", "rounds=1", "--set", "clients=6", "--set",
              "clients_per_round=3", "--set", "local.max_steps=3", *extra, "--quiet", "--threads", "2", "--out",
              os.path.join(TMP.name, f"run-{name}"), check_rc=0)
    passed.append("every format loads: shapes, labels, known pixels; every dataset runs in fedc sim")


def test_sim_cifar10_end_to_end(server, catalog):
    e = Env(server, "sim", catalog)
    out = os.path.join(TMP.name, "run-cifar10")
    p = e.run("sim", "--set", "dataset.name=cifar10", "--set", "model=cnn", "--set", "rounds=4", "--set",
              "clients=10", "--set", "clients_per_round=5", "--set", "local.epochs=2", "--set", "local.lr=0.05",
              "--threads", "2", "--out", out, timeout=600)
    check(p.returncode == 0, f"sim: {p.stderr[-2000:]}")
    check(f"fetching cifar10: cifar-10-binary.tar.gz" in p.stderr and e.path("cifar10") in p.stderr,
          f"the run says what it downloads and where: {p.stderr[:800]}")
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    check(len(rows) == 4, "4 rounds")
    acc = rows[-1]["accuracy"]
    check(acc > 0.5, f"accuracy {acc} far above the 10% of chance: labels and pixels line up")
    task = json.load(open(os.path.join(out, "task.json")))
    check(task["dataset"]["name"] == "cifar10", task["dataset"])
    passed.append(f"fedc sim on cifar10 from the test server: accuracy {acc:.3f} after 4 rounds")


def main():
    os.makedirs(MIRROR)
    with DataServer(MIRROR, TMP.name) as server:
        override = make_datasets.write_mirror(MIRROR, server.url)
        catalog = os.path.join(TMP.name, "catalog.json")
        with open(catalog, "w") as f:
            json.dump(override, f)
        tests = [test_fetch_verify_and_reuse, test_resume_after_cut, test_resume_after_kill,
                 test_checksum_mismatch, test_oversize, test_tls_and_offline, test_concurrent,
                 test_every_format_loads, test_sim_cifar10_end_to_end]
        for t in tests:
            server.clear()
            t(server, catalog)
    for p in passed:
        print(f"ok: {p}")
    print(f"{len(passed)} passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    finally:
        TMP.cleanup()
