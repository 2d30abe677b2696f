#!/usr/bin/env bash
# Figures, not a timed test: how long etcd takes from service start to healthy, for a 1-member
# and a 3-member cluster, on a lab of its own (bench-etcd, 10.231.7.0/24), created and destroyed
# here with playbooks/lab_create.yml / lab_destroy.yml. The start and ready instants are
# systemd's: the unit is Type=notify and etcd notifies only once it serves with a quorum. The
# lab hosts share the machine's monotonic clock, so instants compare across hosts.
#   scripts/bench_etcd.sh [--keep]   (--keep: leave the lab up)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
keep=${1:-}
work=$(mktemp -d)
inv=$work/inventory
mkdir -p "$inv/group_vars"
cat >"$inv/hosts.yml" <<'YAML'
all:
  children:
    lab:
      hosts:
        benchetcd1: {ansible_host: 10.231.7.11}
        benchetcd2: {ansible_host: 10.231.7.12}
        benchetcd3: {ansible_host: 10.231.7.13}
    etcd:
      hosts: {benchetcd1: {}, benchetcd2: {}, benchetcd3: {}}
    etcd_one:
      hosts: {benchetcd1: {}}
YAML
cat >"$inv/group_vars/lab.yml" <<'YAML'
mooncake_lab_name: bench-etcd
mooncake_lab_subnet: 10.231.7.0/24
ansible_user: root
ansible_ssh_private_key_file: "{{ inventory_dir }}/.lab/id_ed25519"
ansible_ssh_common_args: "-o UserKnownHostsFile={{ inventory_dir }}/.lab/known_hosts -o StrictHostKeyChecking=yes"
ansible_python_interpreter: /usr/bin/python3
mooncake_offline_repo_enabled: true
YAML
# The 1-member cluster runs beside the 3-member one on benchetcd1: its own unit, data and ports.
cat >"$work/one.yml" <<'YAML'
mooncake_etcd_group: etcd_one
mooncake_etcd_service_name: bench-etcd-one
mooncake_etcd_data_dir: /var/lib/bench-etcd-one
mooncake_etcd_client_port: 2479
mooncake_etcd_peer_port: 2480
YAML
cleanup() {
  if [ "$keep" != "--keep" ] && ! ansible-playbook -i "$inv" playbooks/lab_destroy.yml >/dev/null; then
    echo "bench_etcd: lab_destroy failed; remove the lab with: scripts/lab/labctl destroy --lab bench-etcd" >&2
  fi
  if [ "$keep" = "--keep" ]; then echo "lab kept; inventory: $inv" >&2; else rm -rf -- "$work"; fi
}
trap cleanup EXIT
log=$work/run.log

run() { # run PLAYBOOK ARGS... -> wall seconds on stdout, output in $log
  local t0
  t0=$(date +%s.%N)
  ansible-playbook -i "$inv" "$@" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; return 1; }
  echo "$(date +%s.%N) - $t0" | bc
}
# start_to_ready UNIT HOSTS -> seconds from the first member's start to the last one's READY.
start_to_ready() {
  ansible -i "$inv" "$2" -o -m ansible.builtin.command \
    -a "systemctl show --property=ExecMainStartTimestampMonotonic --property=ActiveEnterTimestampMonotonic $1" 2>>"$log" |
    python3 -c '
import re, sys
starts, readies = [], []
for line in sys.stdin:
    starts += [int(v) for v in re.findall(r"ExecMainStartTimestampMonotonic=(\d+)", line)]
    readies += [int(v) for v in re.findall(r"ActiveEnterTimestampMonotonic=(\d+)", line)]
if not starts or len(starts) != len(readies) or 0 in readies:
    sys.exit("no start/ready timestamps: %r %r" % (starts, readies))
print("%.2f" % ((max(readies) - min(starts)) / 1e6))'
}

ansible-playbook -i "$inv" playbooks/lab_destroy.yml >/dev/null
create=$(run playbooks/lab_create.yml)
packages=$(run playbooks/offline_repo.yml --limit etcd)
one=$(run playbooks/etcd.yml --limit benchetcd1 -e "@$work/one.yml")
one_ready=$(start_to_ready bench-etcd-one benchetcd1)
three=$(run playbooks/etcd.yml)
three_ready=$(start_to_ready mooncake-etcd etcd)
noop=$(run playbooks/etcd.yml)

printf '%-44s %8s\n' "step" "seconds"
printf '%-44s %8.1f\n' "lab hosts created (3)" "$create"
printf '%-44s %8.1f\n' "packages (offline repository)" "$packages"
printf '%-44s %8.1f\n' "1-member cluster: playbooks/etcd.yml" "$one"
printf '%-44s %8.2f\n' "1-member cluster: service start -> healthy" "$one_ready"
printf '%-44s %8.1f\n' "3-member cluster: playbooks/etcd.yml" "$three"
printf '%-44s %8.2f\n' "3-member cluster: first start -> all healthy" "$three_ready"
printf '%-44s %8.1f\n' "3-member cluster: no-op re-run" "$noop"
