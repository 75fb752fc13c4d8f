#!/bin/sh
# Installs the Debian 12 packages fedc needs, skipping those already present.
# Run as root (make demo / make test call it). Safe to run repeatedly.
# python3-grpcio, -protobuf, -pycryptodome: the Flower peer of bench/byom_overhead.py.
# openmpi-bin, libopenmpi-dev: `mpirun fedc sim` (docs/mpi.md) and its test.
set -eu
PKGS="build-essential cmake pkg-config clang gcc make git ca-certificates
libopenblas-dev zlib1g-dev libjansson-dev libsqlite3-dev libzstd-dev libsodium-dev libpng-dev
libcurl4-openssl-dev libwebsockets-dev libssl-dev openssl libcmocka-dev libbrotli-dev
dataset-fashion-mnist libjs-chart.js
python3 python3-numpy python3-torch python3-zstandard python3-pip python3-setuptools valgrind
python3-grpcio python3-protobuf python3-pycryptodome
openmpi-bin libopenmpi-dev
chromium"
# Node.js may come from elsewhere than Debian (with its own npm, which then
# conflicts with Debian's npm package): only the commands are required.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "fedc: missing Debian packages:$missing" >&2
    echo "fedc: run as root (or: sudo apt-get install$missing)" >&2
    exit 1
  fi
  echo "fedc: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends $missing
fi
