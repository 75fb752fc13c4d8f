#!/bin/sh
# All benchmarks, each printing ratios against a peer measured in the same run.
# usage: make bench   (or: sh bench/run.sh BUILD_DIR)
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
/usr/bin/python3 bench/bench_fedavg.py --build "$BUILD"
/usr/bin/python3 bench/bench_comm.py --build "$BUILD"
/usr/bin/python3 bench/bench_tune.py --build "$BUILD"
/usr/bin/python3 bench/round_overhead.py --build "$BUILD"
# CIFAR-10 CNN (FedAvg, McMahan et al.), and the same CNN on SVHN: each runs
# when a copy is present (`fedc data fetch cifar10`, `... svhn`), says it is
# skipped otherwise.
/usr/bin/python3 bench/bench_cifar10.py --build "$BUILD"
/usr/bin/python3 bench/bench_cifar10.py --build "$BUILD" --dataset svhn
