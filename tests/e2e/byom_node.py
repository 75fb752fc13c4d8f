"""A Python node for the bring-your-own-model tests: fedc_node (from the
source tree) serving one of a few models on a slice of Fashion-MNIST, and
writing down everything it receives and sends so the test can recompute the
server's aggregates independently.

  byom_node.py URL CREDENTIAL OUTDIR --model cnn|mlp --train A:B --test A:B [--seed S]
               [--bad nan|shape|stale] [--codec-check]

OUTDIR receives, per TRAIN: round-R-global.npy (the model received) and
round-R-local.npy (the model fit returned) with round-R.json (n_samples,
loss); per EVALUATE: eval-R.json (loss, accuracy, examples); stats.json at
exit (the SDK's per-round timings and bytes)."""
import argparse
import gzip
import json
import os
import signal
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import numpy as np  # noqa: E402

import fedc_node  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


def load(split, lo, hi, images=None, labels=None):
    pre = "train" if split == "train" else "t10k"
    x = read_idx(images or os.path.join(DATA, f"{pre}-images-idx3-ubyte.gz"))
    y = read_idx(labels or os.path.join(DATA, f"{pre}-labels-idx1-ubyte.gz"))
    return (x[lo:hi].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28), y[lo:hi].astype(np.int64)


class Recorder:
    def __init__(self, out):
        self.out = out
        os.makedirs(out, exist_ok=True)

    def save(self, name, arrays):
        np.save(os.path.join(self.out, name), np.concatenate([np.asarray(a, np.float32).ravel() for a in arrays]))

    def json(self, name, obj):
        with open(os.path.join(self.out, name), "w") as f:
            json.dump(obj, f)


def torch_client(args, rec):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from fedc_node.pytorch import TorchClient

    torch.set_num_threads(1)

    class Net(nn.Module):
        """Not a fedc architecture: BatchNorm and dropout."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
            self.bn2 = nn.BatchNorm2d(16)
            self.drop = nn.Dropout(0.25)
            self.fc = nn.Linear(16 * 7 * 7, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
            x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
            return self.fc(self.drop(x.flatten(1)))

    torch.manual_seed(0)  # every node starts from the same weights
    model = Net()
    xtr, ytr = load("train", *args.train)
    xte, yte = load("test", *args.test)
    xtr, ytr, xte, yte = map(torch.from_numpy, (xtr, ytr, xte, yte))

    def train(m, config):
        torch.manual_seed(args.seed * 1000 + config["round"])
        m.train()
        opt = torch.optim.SGD(m.parameters(), lr=config["lr"])
        b = config["batch"] or 32
        perm = torch.randperm(len(xtr))
        losses = []
        for e in range(config["epochs"] or 1):
            for i in range(0, len(xtr), b):
                idx = perm[i:i + b]
                opt.zero_grad()
                loss = F.cross_entropy(m(xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
                losses.append(loss.item())
        return len(xtr), {"loss": float(np.mean(losses)), "steps": len(losses)}

    def evaluate(m, config):
        m.eval()
        with torch.no_grad():
            out = m(xte)
            loss = F.cross_entropy(out, yte).item()
            acc = (out.argmax(1) == yte).float().mean().item()
        return loss, len(xte), {"accuracy": acc}

    return TorchClient(model, train, evaluate, num_examples=len(xtr))


class MlpClient(fedc_node.Client):
    """fedc's built-in mlp (dense:200,dense:200,dense:10) in NumPy, full-batch
    gradient descent: with a batch at least the local data, fedc's trainer
    takes one step per epoch on the mean gradient, and so does this."""

    def __init__(self, args):
        self.x, self.y = load("train", *args.train, images=args.images, labels=args.labels)
        self.x = self.x.reshape(len(self.x), -1)

    def num_examples(self):
        return len(self.x)

    def get_parameters(self, config):
        raise NotImplementedError  # serves the built-in model: no manifest of its own

    def fit(self, parameters, config):
        w1, b1, w2, b2, w3, b3 = [p.astype(np.float32) for p in parameters]
        y1 = np.eye(10, dtype=np.float32)[self.y]
        n = len(self.x)
        losses = []
        for _ in range(config["epochs"]):
            h1 = np.maximum(self.x @ w1.T + b1, 0)
            h2 = np.maximum(h1 @ w2.T + b2, 0)
            z = h2 @ w3.T + b3
            z = z - z.max(1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
            losses.append(float(-np.log(p[np.arange(n), self.y]).mean()))  # before the step, as fedc reports
            dz = (p - y1) / n
            gw3, gb3 = dz.T @ h2, dz.sum(0)
            d2 = (dz @ w3) * (h2 > 0)
            gw2, gb2 = d2.T @ h1, d2.sum(0)
            d1 = (d2 @ w2) * (h1 > 0)
            gw1, gb1 = d1.T @ self.x, d1.sum(0)
            lr = np.float32(config["lr"])
            w1, b1, w2, b2, w3, b3 = (w1 - lr * gw1, b1 - lr * gb1, w2 - lr * gw2, b2 - lr * gb2, w3 - lr * gw3,
                                      b3 - lr * gb3)
        return [w1, b1, w2, b2, w3, b3], n, {"loss": float(np.mean(losses)), "steps": len(losses)}


class Recording(fedc_node.Client):
    """Wraps a client: records what it is given and what it returns; --bad
    makes fit return something the SDK must refuse to send."""

    def __init__(self, inner, rec, bad=None):
        self.inner, self.rec, self.bad = inner, rec, bad

    def tensor_names(self):
        return self.inner.tensor_names()

    def num_examples(self):
        return self.inner.num_examples()

    def get_parameters(self, config):
        return self.inner.get_parameters(config)

    def fit(self, parameters, config):
        r = config["round"]
        self.rec.save(f"round-{r}-global.npy", parameters)
        new, n, metrics = self.inner.fit(parameters, config)
        if getattr(self, "slow", None) and int(self.slow[0]) == r:
            import time
            time.sleep(self.slow[1])
        if self.bad == "nan" and r == 2:
            new = [a.copy() for a in new]
            new[0].flat[3] = np.nan
        if self.bad == "shape" and r == 2:
            new = list(new[:-1]) + [np.zeros(np.asarray(new[-1]).size + 1, np.float32)]
        if self.bad == "inf" and r == 2:
            new = [a.copy() for a in new]
            new[-1].flat[0] = np.inf
        self.rec.save(f"round-{r}-local.npy", new if self.bad is None or r != 2 else parameters)
        self.rec.json(f"round-{r}.json", {"n_samples": int(n), "loss": metrics.get("loss", 0.0)})
        return new, n, metrics

    def evaluate(self, parameters, config):
        loss, n, m = self.inner.evaluate(parameters, config)
        self.rec.json(f"eval-{config['round']}.json", {"loss": loss, "accuracy": m["accuracy"], "examples": n})
        return loss, n, m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("credential")
    ap.add_argument("out")
    ap.add_argument("--model", choices=["cnn", "mlp"], default="cnn")
    ap.add_argument("--train", default="0:600")
    ap.add_argument("--test", default="0:200")
    ap.add_argument("--images")
    ap.add_argument("--labels")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bad", choices=["nan", "shape", "inf"])
    ap.add_argument("--slow", default="", help="R:S: sleep S seconds in fit of round R")
    args = ap.parse_args()
    args.train = [int(v) for v in args.train.split(":")]
    args.test = [int(v) for v in args.test.split(":")]
    rec = Recorder(args.out)
    inner = torch_client(args, rec) if args.model == "cnn" else MlpClient(args)
    client = Recording(inner, rec, args.bad)
    client.slow = tuple(float(v) for v in args.slow.split(":")) if args.slow else None
    node = fedc_node.Node(args.url, args.credential, client, max_backoff=1.0)
    signal.signal(signal.SIGTERM, lambda *a: node.stop())
    try:
        node.run()
    except fedc_node.FatalError as e:
        rec.json("fatal.json", {"error": str(e)})
        raise
    finally:
        rec.json("stats.json", {"stats": node.stats, "close_codes": node.close_codes})


if __name__ == "__main__":
    main()
