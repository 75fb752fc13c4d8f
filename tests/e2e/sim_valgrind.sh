#!/bin/sh
# The small end-to-end simulation under valgrind: no invalid access, no leak.
set -eu
FEDC=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect -q \
  "$FEDC" sim "$SRC/examples/quick.json" --quiet --threads 2 --set rounds=2 --set clients=4 \
  --set clients_per_round=2 --set local.max_steps=3 --out "$TMP/run"
echo "1 passed, 0 failed"
