#!/usr/bin/env bash
# Build the lab image from Debian's packages (no registry exists here): mmdebstrap a bookworm
# root filesystem, then import it into podman with systemd as the command.
set -euo pipefail
tag=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mirror=${MOONCAKE_LAB_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /var/tmp/mooncake-lab-image.XXXXXX)
trap 'rm -rf -- "$work"' EXIT

packages=$(grep -v '^#' "$here/image-packages.txt" | xargs | tr ' ' ,)
echo "labctl: building $tag from $mirror ($packages)" >&2
# shellcheck disable=SC2016 # the hooks' $1 is for mmdebstrap to expand, not this shell
# Hooks: hosts must not share ssh host keys (sshd makes its own at first start); lab hosts
# have no route out, so they get no apt sources (the roles bring packages).
mmdebstrap --variant=minbase --include="$packages" \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='mkdir -p "$1"/etc/systemd/system/ssh.service.d' \
  --customize-hook='printf "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n" >"$1"/etc/systemd/system/ssh.service.d/hostkeys.conf' \
  --customize-hook='rm -f "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/*' \
  --customize-hook=': >"$1"/etc/machine-id' \
  bookworm "$work/rootfs.tar" "$mirror" >"$work/mmdebstrap.log" 2>&1 \
  || { tail -n 30 "$work/mmdebstrap.log" >&2; exit 1; }
podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL=SIGRTMIN+3' \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "labctl: image $tag built" >&2
