#!/usr/bin/env bash
# Install what the controller needs (idempotent, fast when already done):
#   Debian packages: podman + runc + netavark for the lab, mmdebstrap to build its image,
#   apt-utils/dpkg-dev for the offline repository, libibverbs1 for the engine's own tests.
#   binutils (readelf) for the engine package's Depends (native/build_artifact.py).
#   Python tools into .venv from requirements.txt (.venv/mitogen-strategy: mitogen's strategies).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
apt_packages=(podman runc netavark aardvark-dns conmon catatonit iptables uidmap mmdebstrap
  apt-utils dpkg-dev openssh-client python3-venv etcd-server etcd-client libibverbs1 libnuma1
  shellcheck git bc python3-pyverbs ibverbs-utils python3-etcd3 binutils)
stamp="$top/.venv/.bootstrap-$(cat "$top/requirements.txt" "$0" | sha256sum | cut -c1-12)"

[ "$(id -u)" = 0 ] || { echo "bootstrap: run as root (the lab needs rootful podman)" >&2; exit 1; }
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# apt-cache needs fresh lists for the offline repository even when nothing is missing.
if [ ${#missing[@]} -gt 0 ] || [ ! -f /var/lib/apt/lists/lock ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit)" ]; then
  echo "bootstrap: apt-get update" >&2
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  # policy-rc.d: etcd-server must not start the host's own etcd on the default ports.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$stamp" ]; then
  echo "bootstrap: python tools into .venv" >&2
  [ -x "$top/.venv/bin/python" ] || python3 -m venv "$top/.venv"
  "$top/.venv/bin/pip" install -q --upgrade pip
  "$top/.venv/bin/pip" install -q -r "$top/requirements.txt"
  rm -f "$top"/.venv/.bootstrap-*
  touch "$stamp"
fi
# mitogen's strategy plugins at a path that does not name the venv's Python version: the lab,
# the bench and molecule scenarios that use mitogen_linear point ANSIBLE_STRATEGY_PLUGINS here.
strategy=$("$top/.venv/bin/python" -c 'import ansible_mitogen, os; print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))')
[ "$(readlink "$top/.venv/mitogen-strategy" 2>/dev/null)" = "$strategy" ] || ln -sfn "$strategy" "$top/.venv/mitogen-strategy"
