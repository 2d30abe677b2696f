#!/usr/bin/env bash
# Run every molecule scenario (create, converge, idempotence, verify, destroy on real
# systemd lab hosts). Scenarios can be named: scripts/molecule.sh default
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.venv/bin:$PATH"
# Every podman call of a scenario (its tests' too) as labctl makes them: netavark, runc.
export CONTAINERS_CONF="$PWD/scripts/lab/containers.conf"
if [ $# -eq 0 ]; then
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | sort)
else
  scenarios=("$@")
fi
for scenario in "${scenarios[@]}"; do
  echo "molecule: scenario $scenario" >&2
  molecule test -s "$scenario"
done
