#!/bin/sh
# All benchmarks, each writing bench/results/NAME.json (with the commit, date,
# CPU model, core count, load and exact command), then the README and docs
# tables rendered from those files. On a shared machine: nice -n 10 make bench.
# usage: make bench   (or: sh bench/run.sh BUILD_DIR)
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
$PY bench/yardstick.py --build "$BUILD"
$PY bench/bench_fedavg.py --build "$BUILD"
$PY bench/bench_comm.py --build "$BUILD"
$PY bench/bench_tune.py --build "$BUILD"
$PY bench/round_overhead.py --build "$BUILD"
$PY bench/bench_codec.py --build "$BUILD"
$PY bench/bench_intent_goals.py --build "$BUILD"
$PY bench/bench_feature_skew.py --build "$BUILD"
# CIFAR-10 CNN (FedAvg, McMahan et al.), and the same CNN on SVHN: each runs
# when a copy is present (`fedc data fetch cifar10`, `... svhn`), says it is
# skipped otherwise.
$PY bench/bench_cifar10.py --build "$BUILD"
$PY bench/bench_cifar10.py --build "$BUILD" --dataset svhn
$PY bench/render_tables.py
