#!/bin/sh
# Runs the browser tests: run.sh FEDC_BINARY OUT_DIR
# Installs playwright-core from package-lock.json when it is missing or the
# lock changed (npm ci), checks Debian's chromium is there, then runs the
# node:test files in tests/ one at a time.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
FEDC_BIN=${1:?usage: run.sh FEDC_BINARY OUT_DIR}
OUT=${2:?usage: run.sh FEDC_BINARY OUT_DIR}
CHROMIUM=${FEDC_CHROMIUM:-/usr/bin/chromium}

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "browser tests: '$tool' not found (Debian packages nodejs npm; scripts/setup-deps.sh installs them)" >&2; exit 1; }
done
[ -x "$CHROMIUM" ] || { echo "browser tests: $CHROMIUM not found (Debian package chromium; scripts/setup-deps.sh installs it)" >&2; exit 1; }
[ -x "$FEDC_BIN" ] || { echo "browser tests: fedc binary $FEDC_BIN not found" >&2; exit 1; }
FEDC_BIN=$(cd "$(dirname "$FEDC_BIN")" && pwd)/$(basename "$FEDC_BIN")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# npm ci again only when package-lock.json differs from the one installed.
STAMP="$HERE/node_modules/.fedc-package-lock.json"
if ! cmp -s "$HERE/package-lock.json" "$STAMP" 2>/dev/null; then
  echo "browser tests: npm ci (playwright-core)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$HERE/package-lock.json" "$STAMP"
fi

export FEDC_BIN CHROMIUM FEDC_BROWSER_OUT="$OUT"
cd "$HERE"
exec node --test --test-concurrency=1 --test-reporter=spec tests/*.test.mjs
