"""fedc export --pytorch: a fedc model loaded into the generated PyTorch
module scores exactly fedc's accuracy. Three models trained by `fedc sim` for
a round: the McMahan CNN preset, a spec using every layer kind the exporter
maps (group norm with its moved ReLU, explicit relu and flatten, average
pooling, dropout, strided padded conv), and one with the normalisations of
FedBN and FedWon (weight-standardised conv, batch norm after a conv and
after a dense layer, scored with their running statistics). Each is scored by PyTorch
on the whole Fashion-MNIST test set (10,000 images) and the number of
correct answers must equal fedc's last evaluation (accuracy x 10,000)."""
import gzip
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    fedc = sys.argv[1]
    torch.set_num_threads(1)
    x = torch.from_numpy(read_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0)
    x = x.reshape(-1, 1, 28, 28)
    y = torch.from_numpy(read_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    models = {"cnn": "cnn",
              "every-layer": "conv:8:3,gn:2,pool:2,conv:16:3:2:1,relu,avgpool:2,drop:0.25,flatten,dense:32,drop:0.1,"
                             "dense:10",
              "norms": "wsconv:8:3,pool:2,conv:16:3,bn,pool:2,dense:32,bn,dense:10"}
    with tempfile.TemporaryDirectory(prefix="fedc-export-") as d:
        for label, spec in models.items():
            out = os.path.join(d, label)
            task = {"name": label, "model": spec, "rounds": 1, "clients": 2, "clients_per_round": 2,
                    "local": {"epochs": 1, "batch": 32, "max_steps": 30, "lr": 0.05}, "seed": 4}
            subprocess.run([fedc, "sim", "-", "--out", out, "--quiet", "--threads", "2"], input=json.dumps(task).encode(),
                           check=True, capture_output=True, timeout=600)
            last = [json.loads(s) for s in open(os.path.join(out, "metrics.jsonl"))][-1]
            py = os.path.join(d, f"{label.replace('-', '_')}.py")
            subprocess.run([fedc, "export", os.path.join(out, "model.safetensors"), "--pytorch", "--out", py],
                           check=True, capture_output=True, timeout=60)
            spec_ = importlib.util.spec_from_file_location(f"m_{label.replace('-', '_')}", py)
            mod = importlib.util.module_from_spec(spec_)
            spec_.loader.exec_module(mod)
            model = mod.load_fedc(mod.FedcModel(), os.path.join(out, "model.safetensors")).eval()
            with torch.no_grad():
                correct = sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum()) for i in range(0, 10000, 1000))
            fedc_correct = round(last["accuracy"] * 10000)
            print(f"{label}: fedc {fedc_correct}/10000, PyTorch {correct}/10000")
            assert correct == fedc_correct, (label, correct, fedc_correct)
            # The file loads as it is: same names, same shapes (PyTorch's batch
            # counters, which fedc does not keep, aside).
            assert {k for k in model.state_dict() if not k.endswith("num_batches_tracked")} == {k for k in json.loads(
                open(os.path.join(out, "model.safetensors"), "rb").read()[8:8 + struct.unpack(
                    "<Q", open(os.path.join(out, "model.safetensors"), "rb").read(8))[0]]) if k != "__metadata__"}
    print("ok")


if __name__ == "__main__":
    main()
