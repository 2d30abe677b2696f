#!/usr/bin/env bash
# make lab: start the lab hosts of an inventory, deploy site.yml on them, print the report.
# On failure the lab is removed again (nothing half-made is left behind); KEEP_LAB=1 keeps it
# for debugging. The lab runs on mitogen's mitogen_linear strategy (MITOGEN=0: Ansible's default
# strategy; an ANSIBLE_STRATEGY of your own is kept).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
inventory=${1:-inventories/lab}
if [ "${MITOGEN:-1}" = 1 ] && [ -z "${ANSIBLE_STRATEGY:-}" ]; then
  # scripts/bootstrap.sh links the venv's ansible_mitogen/plugins/strategy there.
  export ANSIBLE_STRATEGY_PLUGINS="$top/.venv/mitogen-strategy${ANSIBLE_STRATEGY_PLUGINS:+:$ANSIBLE_STRATEGY_PLUGINS}"
  export ANSIBLE_STRATEGY=mitogen_linear
fi
start=$(date +%s)
cleanup() {
  rc=$?
  if [ $rc -ne 0 ] && [ "${KEEP_LAB:-0}" != 1 ]; then
    echo "lab: failed (exit $rc); removing the lab (KEEP_LAB=1 keeps it)" >&2
    ansible-playbook -i "$inventory" playbooks/lab_destroy.yml >/dev/null \
      || echo "lab: the cleanup failed as well; run make lab-destroy" >&2
  fi
  exit $rc
}
trap cleanup EXIT
ansible-playbook -i "$inventory" playbooks/lab_create.yml
ansible-playbook -i "$inventory" site.yml
echo "lab: ready in $(( $(date +%s) - start )) s (strategy ${ANSIBLE_STRATEGY:-linear}); report: reports/verify-report.json; remove with: make lab-destroy"
