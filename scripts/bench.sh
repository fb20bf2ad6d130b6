#!/usr/bin/env bash
# Runs every benchmark under bench/ and prints a table; results go to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
pnpm exec tsc -b
exec node bench/dist/src/main.js "$@"
