#!/usr/bin/python3
"""A fedc node that trains its own PyTorch model (docs/python.md).

The model below is not one of fedc's architectures (BatchNorm, dropout): the
server never sees its code, only its named float tensors. The node trains on
its share of the Fashion-MNIST training set and scores the global model on
its share of the test set when the server asks (federated evaluation).

  python3 pytorch_node.py --server wss://127.0.0.1:8443 --credential node.pem --part 0/3

Needs: fedc_node (pip install ./python, or PYTHONPATH=python), NumPy,
PyTorch. --data DIR: a folder with the four Fashion-MNIST IDX files (default
the Debian package dataset-fashion-mnist's)."""
import argparse
import gzip
import logging
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import fedc_node
from fedc_node.pytorch import TorchClient


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(self.drop(x.flatten(1)))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = struct.unpack(">" + "I" * data[3], data[4:4 + 4 * data[3]])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def load_share(folder, split, k, n, limit):
    """Share k of n of a split (contiguous slices; at most `limit` samples)."""
    pre = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(folder, f"{pre}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(folder, f"{pre}-labels-idx1-ubyte.gz"))
    lo = len(x) * k // n
    hi = min(len(x) * (k + 1) // n, lo + limit)
    xs = torch.from_numpy(x[lo:hi].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return xs, torch.from_numpy(y[lo:hi].astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--credential", required=True)
    ap.add_argument("--part", default="0/1", help="K/N: this node's share of the data")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--limit", type=int, default=2000, help="most training samples to hold")
    args = ap.parse_args()
    k, n = (int(v) for v in args.part.split("/"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(1)
    torch.manual_seed(0)  # every node starts from the same weights; the first to join sends them
    model = Net()
    xtr, ytr = load_share(args.data, "train", k, n, args.limit)
    xte, yte = load_share(args.data, "test", k, n, args.limit // 4)

    def train(m, config):
        """One round of local training; config carries the task's settings."""
        m.train()
        opt = torch.optim.SGD(m.parameters(), lr=config["lr"], momentum=config["momentum"] or 0.0)
        global_w = [p.detach().clone() for p in m.parameters()] if config["mu"] else None
        losses = []
        for _ in range(config["epochs"]):
            perm = torch.randperm(len(xtr))
            for i in range(0, len(xtr), config["batch"]):
                idx = perm[i:i + config["batch"]]
                opt.zero_grad()
                loss = F.cross_entropy(m(xtr[idx]), ytr[idx])
                if global_w:  # fedprox: the proximal term is the node's to add
                    loss = loss + config["mu"] / 2 * sum(((p - g) ** 2).sum() for p, g in zip(m.parameters(),
                                                                                               global_w))
                loss.backward()
                opt.step()
                losses.append(loss.item())
        return len(xtr), {"loss": float(np.mean(losses)), "steps": len(losses)}

    def evaluate(m, config):
        m.eval()
        with torch.no_grad():
            out = m(xte)
            return F.cross_entropy(out, yte).item(), len(xte), {"accuracy": (out.argmax(1) == yte).float().mean().item()}

    fedc_node.connect(args.server, args.credential, TorchClient(model, train, evaluate, num_examples=len(xtr)))


if __name__ == "__main__":
    main()
