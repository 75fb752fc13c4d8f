#!/bin/sh
# The standing fault-injection suite at full length: every scenario of
# tests/e2e/faults/ (disk full, store page corruption, checkpoint
# corruption, descriptor exhaustion, 20 kills -9 of the server, node
# kill/stall/restart, slow headers and bodies, lying nodes, HTTP edges)
# against a real `fedc server` and `fedc node` processes on loopback. Each
# scenario is bounded in time. Writes bench/results/faults.json (faults
# injected, survived, data lost per scenario, with the commit, date, CPU
# and command) and prints the table docs/deployment.md shows.
#
#   sh tests/e2e/faults/run_all.sh [BUILD]      (default build; as root for
#                                                the disk-full scenario's tmpfs)
set -eu
BUILD=${1:-build}
FEDC=$(cd "$BUILD" && pwd)/fedc
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${FEDC_FAULTS_OUT:-$ROOT/bench/results/faults.json}
RESULTS=$(mktemp /tmp/fedc-faults-XXXXXX)
export FEDC_FAULTS_RESULTS="$RESULTS" OPENBLAS_NUM_THREADS=1
status=0
run() {
  name=$1
  shift
  echo "== $name $*"
  if ! timeout 1800 python3 "$HERE/$name.py" "$FEDC" "$@"; then
    echo "FAILED: $name"
    status=1
  fi
}
run disk_full --cycles 3
run store_corruption --trials 20
run checkpoint_corruption --cycles 2
run fd_exhaustion
run kill9_loop --kills 20
run node_faults
run slow_requests --conns 200
run lying_nodes
run http_edges
python3 "$HERE/report.py" "$RESULTS" "$OUT" "sh tests/e2e/faults/run_all.sh $BUILD"
rm -f "$RESULTS"
exit $status
