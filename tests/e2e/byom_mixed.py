"""Mixed federation: one C node (fedc node) and one Python node (fedc_node,
a NumPy implementation of fedc's built-in mlp) train the built-in MLP
together and reach the same aggregate as two C nodes on the same data with
the same seed.

Each node holds its own IDX files (300 and 400 Fashion-MNIST samples). With
a batch larger than the local data fedc's trainer takes one full-batch
gradient step per epoch, whatever its shuffle, and so does the NumPy node;
the aggregates then differ only by float rounding. Checked per round (the
server's test accuracy and loss) and on the final model."""
import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byom_torch import safetensors_flat  # noqa: E402
from fedc_e2e import Cluster  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


def write_idx(path, arr):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, arr.ndim))
        f.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.astype(np.uint8).tobytes())


def run_pair(c, task, label):
    run_id = c.create_run(dict(task, name=label))
    run = c.wait_run_end(run_id, 600)
    assert run["status"] == "done", run
    st, blob = c.api("GET", f"/api/runs/{run_id}/model", raw=True)
    assert st == 200
    return c.rounds(run_id), safetensors_flat(blob)[1]


def main():
    fedc = sys.argv[1]
    x = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
    task = {"model": "mlp", "rounds": 3, "clients": 2, "clients_per_round": 2,
            "local": {"epochs": 2, "batch": 512, "lr": 0.1},
            "deploy": {"min_nodes": 2, "min_updates": 2, "round_timeout_s": 300, "connect_timeout_s": 300},
            "seed": 11}
    with Cluster(fedc, name="byom-mixed") as c:
        files = {}
        for name, (lo, hi) in {"a": (0, 300), "b": (300, 700)}.items():
            img, lbl = os.path.join(c.dir, f"{name}-images"), os.path.join(c.dir, f"{name}-labels")
            write_idx(img, x[lo:hi])
            write_idx(lbl, y[lo:hi])
            files[name] = (img, lbl)
        c.start_server()
        c.start_node("ca", f"idx:{files['a'][0]},{files['a'][1]}")
        c.start_node("cb", f"idx:{files['b'][0]},{files['b'][1]}")
        rounds_cc, model_cc = run_pair(c, task, "two-c-nodes")
        c.nodes["cb"].terminate()
        c.nodes["cb"].wait(timeout=60)
        log = open(os.path.join(c.dir, "pyb.log"), "w")
        c.nodes["pyb"] = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "byom_node.py"), c.node_url(), c.issue("pyb"), os.path.join(c.dir, "pyb"),
             "--model", "mlp", "--train", "0:400", "--images", files["b"][0], "--labels", files["b"][1]],
            stdout=log, stderr=subprocess.STDOUT, env=c._env())
        rounds_cp, model_cp = run_pair(c, task, "c-and-python")
        for a, b in zip(rounds_cc, rounds_cp):
            print(f"round {a['round']}: accuracy C+C {a['accuracy']:.4f}, C+Python {b['accuracy']:.4f}; "
                  f"loss {a['loss']:.5f} vs {b['loss']:.5f}; train_loss {a['train_loss']:.5f} vs {b['train_loss']:.5f}")
            assert a["participants"] == b["participants"] == 2, (a, b)
            assert abs(a["accuracy"] - b["accuracy"]) <= 0.0005, (a, b)
            assert abs(a["loss"] - b["loss"]) <= 1e-4, (a, b)
            assert abs(a["train_loss"] - b["train_loss"]) <= 1e-4, (a, b)
        diff = float(np.max(np.abs(model_cc - model_cp)))
        print(f"final models: max |C+C - C+Python| = {diff:.2e} over {model_cc.size} parameters")
        assert diff < 1e-4, diff
        recv = np.load(os.path.join(c.dir, "pyb", "round-3-global.npy"))
        assert recv.size == model_cc.size
        print("ok")


if __name__ == "__main__":
    main()
