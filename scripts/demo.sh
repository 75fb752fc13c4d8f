#!/bin/sh
# The main job on the embedded Fashion-MNIST default. With the server built
# (fedc demo), a parameter server and local edge-node processes; otherwise
# the same task simulated in one process.
set -eu
BUILD=${1:-build}
if "$BUILD/fedc" demo --help >/dev/null 2>&1; then
  exec "$BUILD/fedc" demo
fi
exec "$BUILD/fedc" sim examples/fmnist-mlp.json --set rounds=20
