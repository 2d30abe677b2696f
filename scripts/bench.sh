#!/usr/bin/env bash
# make bench: figures, not a timed test. On a fresh lab (recreated from the cached image):
# wall time of lab creation, of a fresh deploy and of a no-op re-run, the changed and task
# counts of each, and the transfer throughput the verification measured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
inventory=${1:-inventories/lab}
out=$(mktemp -d)
# BENCH_KEEP=DIR keeps the logs and per-task timings (fresh.tsv, noop.tsv) there.
trap 'if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp -r "$out"/. "$BENCH_KEEP"; fi; rm -rf -- "$out"' EXIT

timed() { # timed NAME CMD... -> seconds in $out/NAME.time, output in $out/NAME.log
  local name=$1 t0
  shift
  t0=$(date +%s.%N)
  "$@" >"$out/$name.log" 2>&1 || { tail -n 40 "$out/$name.log" >&2; return 1; }
  echo "$(date +%s.%N) - $t0" | bc >"$out/$name.time"
}
recap() { # per host of a play log: tasks run (ok+failed+skipped), of which changed
  awk '/ : ok=/ {host = $1; for (i = 1; i <= NF; i++) {split($i, kv, "="); if (kv[1] ~ /^(ok|failed|skipped)$/) n[host] += kv[2]; if (kv[1] == "changed") ch[host] += kv[2]}}
       END {for (h in n) {printf "%s%s tasks=%d changed=%d", sep, h, n[h], ch[h]; sep = ", "}}' "$1"
}

ansible-playbook -i "$inventory" playbooks/lab_destroy.yml >/dev/null
timed create ansible-playbook -i "$inventory" playbooks/lab_create.yml
# Per-task wall times of both runs (scripts/bench/callback_plugins/bench_timing.py).
export ANSIBLE_CALLBACK_PLUGINS="$PWD/scripts/bench/callback_plugins" ANSIBLE_CALLBACKS_ENABLED=bench_timing
MOONCAKE_BENCH_TIMING="$out/fresh.tsv" timed fresh ansible-playbook -i "$inventory" site.yml
# The no-op re-run three times: one run on this 2-core machine varies by a few seconds with
# whatever else runs; the median is the figure, every run is printed.
for run in 1 2 3; do
  MOONCAKE_BENCH_TIMING="$out/noop$run.tsv" timed "noop$run" ansible-playbook -i "$inventory" site.yml
done
unset ANSIBLE_CALLBACK_PLUGINS ANSIBLE_CALLBACKS_ENABLED
median=$(for run in 1 2 3; do echo "$(cat "$out/noop$run.time") $run"; done | sort -n | sed -n 2p | cut -d' ' -f2)
for kind in time log tsv; do cp "$out/noop$median.$kind" "$out/noop.$kind"; done

printf '%-28s %8s  %s\n' "step" "seconds" "counts"
printf '%-28s %8.1f\n' "lab hosts created" "$(cat "$out/create.time")"
printf '%-28s %8.1f  %s\n' "fresh deploy (site.yml)" "$(cat "$out/fresh.time")" "$(recap "$out/fresh.log")"
for run in 1 2 3; do
  printf '%-28s %8.1f  %s\n' "no-op re-run $run (site.yml)" "$(cat "$out/noop$run.time")" "$(recap "$out/noop$run.log")"
done
printf '%-28s %8.2f  (median no-op run: %s; the first alone: %.2f)\n' "no-op / fresh" \
  "$(echo "$(cat "$out/noop.time") / $(cat "$out/fresh.time")" | bc -l)" "$median" \
  "$(echo "$(cat "$out/noop1.time") / $(cat "$out/fresh.time")" | bc -l)"
echo "per play (seconds, tasks): fresh | median no-op"
python3 - "$out/fresh.tsv" "$out/noop.tsv" <<'PY'
import collections, sys
runs = []
for path in sys.argv[1:]:
    plays = collections.OrderedDict()
    for line in open(path):
        play, _task, seconds, _action = line.rstrip("\n").split("\t")
        entry = plays.setdefault(play, [0.0, 0])
        entry[0] += float(seconds)
        entry[1] += 1
    runs.append(plays)
for play in runs[0]:
    f, n = runs[0][play], runs[1].get(play, [0.0, 0])
    print("  %-62s %6.1f %4d | %6.1f %4d" % (play[:62], f[0], f[1], n[0], n[1]))
PY
# The report of this run: an inventory may send it elsewhere (molecule/lab: its .lab/reports).
report=reports/verify-report.json
[ "$inventory/.lab/reports/verify-report.json" -nt "$report" ] && report=$inventory/.lab/reports/verify-report.json
echo "transfers (write/read GiB/s, from $report):"
python3 - "$report" <<'PY'
import json, sys
for host in json.load(open(sys.argv[1])):
    for inst in host["instances"]:
        for t in inst["transfers"]:
            r = t["result"]
            print("  %s/%s -> %s: write %.2f, read %.2f, %d bytes, match %s" % (
                host["host"], inst["instance"], t["peer"], r.get("write_gib_per_s", 0),
                r.get("read_gib_per_s", 0), r.get("bytes", 0), r.get("match")))
PY

# The same engine and agent, started by hand on the same host (no unit, no hardening), against
# the deployed instances: the deployment must not cost throughput (target: ratio >= 0.9).
host=${BENCH_HOST:-node1} prefill=${BENCH_PREFILL:-prefill} decode=${BENCH_DECODE:-decode}
echo "throughput on $host, $prefill -> $decode vs two engines started by hand (64 MiB, best of 3 rounds, median of 10, order alternating):"
ansible -i "$inventory" "$host" -m ansible.builtin.script \
  -a "scripts/bench/throughput_on_host.sh $prefill $decode 67108864 3 10" >"$out/throughput.log" 2>&1 ||
  { tail -n 40 "$out/throughput.log" >&2; exit 1; }
python3 - "$out/throughput.log" <<'PY'
import json, re, sys
line = next(l for l in open(sys.argv[1]) if '"ratio"' in l)
r = json.loads(line[line.index("{"):].strip().rstrip('"').replace('\\"', '"'))
for what in ("write", "read"):
    print("  %-5s deployed %.2f GiB/s, by hand %.2f GiB/s, ratio %.2f" % (
        what, r["deployed"][what], r["by_hand"][what], r["ratio"][what]))
PY

if [ "${BENCH_ETCD:-1}" = 1 ]; then
  echo "etcd start -> healthy (scripts/bench_etcd.sh, its own lab on 10.231.7.0/24):"
  scripts/bench_etcd.sh | sed 's/^/  /'
fi
