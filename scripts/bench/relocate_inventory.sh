#!/usr/bin/env bash
# Copy a lab inventory to another lab name and /24 subnet (the hosts' IPs move with it), e.g. to
# bench the 3-host lab beside a running `molecule test -s lab`, which uses molecule/lab/inventory:
#   scripts/bench/relocate_inventory.sh molecule/lab/inventory /tmp/bench3 mol-bench3 10.231.9.0/24
#   scripts/bench.sh inventories/lab /tmp/bench3
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 SOURCE DEST LAB_NAME SUBNET/24" >&2; exit 2; }
src=$1 dest=$2 name=$3 subnet=$4
case "$subnet" in *.0/24) ;; *) echo "relocate: only a /24 subnet (a.b.c.0/24): $subnet" >&2; exit 2 ;; esac
old=$(sed -n 's/^mooncake_lab_subnet: *//p' "$src/group_vars/lab.yml")
case "$old" in *.0/24) ;; *) echo "relocate: $src/group_vars/lab.yml has no /24 mooncake_lab_subnet" >&2; exit 1 ;; esac
old_prefix=${old%0/24} new_prefix=${subnet%0/24}
[ ! -e "$dest" ] || { echo "relocate: $dest exists" >&2; exit 1; }
mkdir -p "$dest"
tar -C "$src" --exclude=./.lab -cf - . | tar -C "$dest" -xf -
# The hosts' addresses (every file: metadata servers may name them too), then the lab's name.
grep -rlF "$old_prefix" "$dest" | xargs -r sed -i "s/${old_prefix//./\\.}\([0-9]\)/$new_prefix\1/g"
sed -i "s|^mooncake_lab_name: .*|mooncake_lab_name: $name|" "$dest/group_vars/lab.yml"
grep -q "^mooncake_lab_subnet: $subnet\$" "$dest/group_vars/lab.yml"
echo "$dest: lab $name on $subnet (from $src, $old)"
