#!/usr/bin/env bash
# Run every molecule scenario (create, converge, idempotence, verify, destroy on real
# systemd lab hosts). Scenarios can be named: scripts/molecule.sh default
#
# The first scenario (default) runs alone: it builds what the others reuse from the cache (the
# lab image, the engine's package, the offline repository), so no two runs build one thing at
# once. The rest run in MOLECULE_JOBS lanes (default 2): each scenario has its own lab name and
# subnet, and most of a scenario's time is waiting on systemd and the hosts, not the CPU. A
# lane's output is printed when the lane ends; the run fails when any scenario failed.
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
jobs=${MOLECULE_JOBS:-2}

run() { # SCENARIO: molecule test, timed
  local start rc=0
  start=$(date +%s)
  echo "molecule: scenario $1" >&2
  molecule test -s "$1" || rc=$?
  echo "molecule: scenario $1 $([ "$rc" = 0 ] && echo passed || echo "FAILED (exit $rc)") in $(($(date +%s) - start)) s" >&2
  return "$rc"
}

first=()
rest=()
for scenario in "${scenarios[@]}"; do
  if [ "$scenario" = default ] && [ ${#first[@]} -eq 0 ]; then first=(default); else rest+=("$scenario"); fi
done
failed=()
if [ ${#first[@]} -gt 0 ]; then run default || failed+=(default); fi

if [ "$jobs" -le 1 ] || [ ${#rest[@]} -le 1 ]; then
  for scenario in "${rest[@]}"; do run "$scenario" || failed+=("$scenario"); done
else
  # Longest first, each into the lane with the least work so far (minutes, measured in two lanes).
  declare -A weight=([lab]=11 [firewall]=7 [router]=5 [etcd_cluster]=5 [engine]=4 [hardening]=2 [installed]=2)
  mapfile -t ordered < <(for s in "${rest[@]}"; do echo "${weight[$s]:-3} $s"; done | sort -k1,1nr -k2 | cut -d' ' -f2)
  logs=$(mktemp -d "${TMPDIR:-/tmp}/mooncake-molecule.XXXXXX")
  trap 'rm -rf -- "$logs"' EXIT
  declare -a load lanes
  for ((i = 0; i < jobs; i++)); do load[i]=0; lanes[i]=""; done
  for scenario in "${ordered[@]}"; do
    best=0
    for ((i = 1; i < jobs; i++)); do [ "${load[i]}" -lt "${load[best]}" ] && best=$i; done
    lanes[best]="${lanes[best]} $scenario"
    load[best]=$((load[best] + ${weight[$scenario]:-3}))
  done
  pids=()
  more=()
  for ((i = 0; i < jobs; i++)); do
    [ -n "${lanes[i]}" ] || continue
    (
      for scenario in ${lanes[i]}; do
        run "$scenario" >"$logs/$scenario.log" 2>&1 || echo "$scenario" >>"$logs/failed"
      done
    ) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  if [ -f "$logs/failed" ]; then mapfile -t more <"$logs/failed"; failed+=("${more[@]}"); fi
  # Failed scenarios' logs last: CI keeps only the tail of a run's output.
  for scenario in "${ordered[@]}"; do
    [[ " ${failed[*]} " == *" $scenario "* ]] && continue
    echo "======== molecule scenario $scenario ========"
    cat "$logs/$scenario.log"
  done
  for scenario in "${more[@]}"; do
    echo "======== molecule scenario $scenario (FAILED) ========"
    cat "$logs/$scenario.log"
  done
fi

if [ ${#failed[@]} -gt 0 ]; then
  if [ -n "${logs:-}" ]; then
    for scenario in "${more[@]}"; do # the lines that say why, where a short tail still shows them
      echo "======== why $scenario failed ========"
      why=$(grep -a -E 'fatal:|FAILED|failed=[1-9]|Error|assert|msg' "$logs/$scenario.log" | cut -c1-400 | tail -40) ||
        why="(no line of its log names a failure: read the log above)"
      echo "$why"
    done
  fi
  echo "molecule: failed: ${failed[*]}" >&2
  exit 1
fi
echo "molecule: every scenario passed (${scenarios[*]})" >&2
