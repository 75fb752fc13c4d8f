#!/bin/sh
# The small end-to-end simulation under valgrind: no invalid access, no leak.
# A small generated CSV dataset keeps valgrind's 20-50x slowdown affordable;
# the same path (load, partition, train, codecs, aggregate, eval, save) runs.
set -eu
FEDC=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 - "$TMP" <<'PY'
import random, sys
random.seed(1)
for name, n in (("train", 300), ("test", 100)):
    with open(f"{sys.argv[1]}/{name}.csv", "w") as f:
        f.write(",".join(f"f{i}" for i in range(12)) + ",label\n")
        for _ in range(n):
            x = [random.gauss(0, 1) for _ in range(12)]
            f.write(",".join(f"{v:.4f}" for v in x) + f",{int(x[0] + x[1] > 0) + int(x[2] > 0.5)}\n")
PY
cat > "$TMP/task.json" <<JSON
{"name": "valgrind", "dataset": {"name": "csv", "path": "$TMP/train.csv", "test_path": "$TMP/test.csv",
 "label_column": "label"}, "model": "dense:32,dense:3", "rounds": 3, "clients": 6, "clients_per_round": 3,
 "partition": {"kind": "dirichlet", "alpha": 0.5}, "local": {"epochs": 1, "batch": 16, "lr": 0.1},
 "compression": {"up": "topk:0.1|q8|zstd", "down": "q8"}, "strategy": {"name": "fedadam", "server_lr": 0.01}}
JSON
valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect -q \
  "$FEDC" sim "$TMP/task.json" --quiet --threads 2 --out "$TMP/run"
test -s "$TMP/run/model.safetensors"
echo "1 passed, 0 failed"
