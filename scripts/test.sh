#!/bin/sh
# The whole test suite: gcc build (unit, fuzz replay, end-to-end), then a
# clang build with ASan+UBSan running the unit and fuzz tests again, and the
# server under the sanitizers against hostile and dying nodes.
set -eu
BUILD=${1:-build}
ASAN=${2:-build-asan}
JOBS=$(nproc)
echo "== ctest ($BUILD, gcc)"
(cd "$BUILD" && ctest --output-on-failure -j"$JOBS")
echo "== clang + ASan/UBSan build"
[ -f "$ASAN/CMakeCache.txt" ] || cmake -S . -B "$ASAN" -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=Debug -DFEDC_SANITIZE=ON >/dev/null
cmake --build "$ASAN" -j"$JOBS"
echo "== ctest ($ASAN, unit + fuzz under sanitizers)"
(cd "$ASAN" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$JOBS" -L 'unit|fuzz' )
echo "== ctest ($ASAN, the server under sanitizers: hostile frames, dead nodes, slow and odd requests)"
(cd "$ASAN" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$JOBS" -R 'e2e_(hostile|deadlines|faults_slow_requests|faults_http_edges)$' )
