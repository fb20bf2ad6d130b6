#!/usr/bin/env bash
# Runs every check: lint and format (Biome), type-check and build (tsc -b), then every test file
# (node:test) across libs, services, cli, deploy and e2e.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
echo "[keel] lint"
pnpm exec biome check .
echo "[keel] build"
pnpm exec tsc -b
mapfile -t files < <(find libs services cli deploy e2e bench -path '*/node_modules' -prune -o -path '*/dist/test/*.test.js' -print | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "[keel] no test files found" >&2; exit 1; fi
reporter=spec
if [ -n "${CI:-}" ] || [ ! -t 1 ]; then reporter=tap; fi
echo "[keel] ${#files[@]} test files"
node --test --test-reporter="$reporter" --test-concurrency=2 --test-timeout=180000 "${files[@]}"
