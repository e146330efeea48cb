#!/usr/bin/env bash
# Set up Wharf on a fresh Debian 12 machine (as root), start wharfd, make a local busybox
# image from Debian's busybox-static and run a container from it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(runc conmon iptables iproute2 busybox-static socat tini util-linux procps kmod skopeo openssl)
missing=()
# Registry tests: zstd layers, Debian's reference registry, htpasswd.
PKGS+=(zstd docker-registry apache2-utils)
# Save/load interop tests: a real dockerd (started by the tests on its own socket and roots).
PKGS+=(docker.io)
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "==> installing ${missing[*]}"
  apt-get update -qq
  # docker-registry's and docker.io's packages start system services on install; tests run
  # their own registries and dockerd, so keep services from starting (policy-rc.d exit 101)
  # while installing.
  policy_added=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  if [[ -n $policy_added ]]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "==> build"
npm run --silent build

SOCK=/run/wharf/wharf.sock
export WHARF_HOST=unix://$SOCK
if ! ./bin/wharf version >/dev/null 2>&1; then
  echo "==> starting wharfd (log: /var/log/wharfd.log)"
  mkdir -p /run/wharf
  nohup ./bin/wharfd >>/var/log/wharfd.log 2>&1 &
  for _ in $(seq 1 100); do ./bin/wharf version >/dev/null 2>&1 && break; sleep 0.1; done
fi

if ! ./bin/wharf image inspect busybox:latest >/dev/null 2>&1; then
  echo "==> making busybox:latest from Debian's busybox-static"
  tmp=$(mktemp -d)
  bash scripts/mkbusybox.sh "$tmp/busybox.tar"
  ./bin/wharf import -c 'CMD ["sh"]' "$tmp/busybox.tar" busybox:latest
  rm -rf "$tmp"
fi

echo "==> wharf run --rm busybox echo hello from a wharf container"
./bin/wharf run --rm busybox echo hello from a wharf container
