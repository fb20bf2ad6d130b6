#!/usr/bin/env bash
# Sourced by start.sh, test.sh and bench.sh: installs what a fresh Debian machine with Node 20+ lacks.
# pnpm (pinned by package.json), nats-server (Debian package), then the workspace dependencies.
set -euo pipefail
KEEL_PNPM_VERSION=10.34.9

need_root_apt() {
  local pkg=$1
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[keel] installing Debian package $pkg"
    if [ ! -f /tmp/.keel-apt-updated ]; then apt-get update -qq && touch /tmp/.keel-apt-updated; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  else
    echo "[keel] missing: the Debian package '$pkg'. Install it with: sudo apt-get install -y $pkg" >&2
    exit 1
  fi
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "[keel] missing: Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$KEEL_PNPM_VERSION" ]; then
  echo "[keel] installing pnpm@$KEEL_PNPM_VERSION"
  npm install -g "pnpm@$KEEL_PNPM_VERSION" >/dev/null 2>&1 || {
    echo "[keel] could not install pnpm globally; run: npm install -g pnpm@$KEEL_PNPM_VERSION" >&2
    exit 1
  }
fi

export PATH="$PATH:/usr/sbin:/sbin"
command -v nats-server >/dev/null 2>&1 || need_root_apt nats-server
# gRPC C-core (with xDS) for the second real xDS client in tests; Debian's /usr/bin/python3 sees it.
/usr/bin/python3 -c 'import grpc' >/dev/null 2>&1 || need_root_apt python3-grpcio

pnpm install --frozen-lockfile --reporter=silent
