#!/usr/bin/env bash
# make test: the static checks (lint, sanity, unit, importer) run beside the molecule scenarios.
#
# The checks take about 5 minutes of mostly one core; molecule's first scenario (default, run
# alone) spends most of its time waiting on systemd and the lab hosts. Run one after the other
# they added up; side by side they overlap. Molecule's output is live; the checks' log is
# printed at the end (whole when they failed, else their summary lines). Fails when either
# failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
logs=$(mktemp -d "${TMPDIR:-/tmp}/mooncake-test.XXXXXX")
checks_pid=""
cleanup() {
  # An interrupted run stops the checks it started (their process group), then removes the logs.
  if [ -n "$checks_pid" ] && kill -0 "$checks_pid" 2>/dev/null; then kill -- "-$checks_pid" 2>/dev/null || kill "$checks_pid"; fi
  rm -rf -- "$logs"
}
trap cleanup EXIT

start=$(date +%s)
set -m # the checks get a process group of their own, so cleanup can stop all of it
(
  rc=0
  make --no-print-directory lint sanity unit importer >"$logs/checks.log" 2>&1 || rc=$?
  echo "$rc $(($(date +%s) - start))" >"$logs/checks.rc"
) &
checks_pid=$!
set +m

molecule_rc=0
scripts/molecule.sh || molecule_rc=$?
wait "$checks_pid" # the subshell ends 0; the checks' own status is in checks.rc
checks_pid=""
read -r checks_rc checks_s <"$logs/checks.rc"

if [ "$checks_rc" -ne 0 ]; then
  echo "======== lint, sanity, unit, importer (FAILED) ========"
  cat "$logs/checks.log"
else
  echo "======== lint, sanity, unit, importer: the end of their log ========"
  tail -n 12 "$logs/checks.log"
fi
echo "test: lint, sanity, unit, importer $([ "$checks_rc" -eq 0 ] && echo passed || echo "FAILED (exit $checks_rc)") in $checks_s s"
echo "test: molecule $([ "$molecule_rc" -eq 0 ] && echo passed || echo "FAILED (exit $molecule_rc)")"
echo "test: everything took $(($(date +%s) - start)) s"
[ "$checks_rc" -eq 0 ] && [ "$molecule_rc" -eq 0 ]
