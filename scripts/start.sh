#!/usr/bin/env bash
# Runs the whole control plane locally on the bundled example mesh (deploy/local/config).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
pnpm exec tsc -b
exec node deploy/local/dist/src/main.js "$@"
