#!/usr/bin/env bash
# shellcheck disable=SC2317  # cleanup and site run through trap and timed(), which shellcheck does not follow
# make bench: figures, not a timed test (nothing here fails on a time). For each lab inventory,
# each strategy (Ansible's default `linear` and mitogen's `mitogen_linear`) and each code (this
# checkout and the code before the change, BENCH_BASELINE): the lab recreated from the cached
# image, the wall time of its creation, of a fresh deploy (site.yml) and of BENCH_NOOP_RUNS
# no-op re-runs (the median is the figure: one run on a 2-core machine varies by a second or
# two with whatever else runs), their tasks and changes per host, seconds and tasks per play,
# and the transfers the verification measured. Then the throughput of the deployed instances
# against the same engine started by hand (first inventory), and etcd's start-to-healthy
# (scripts/bench_etcd.sh), for each code; and the Store's put/get through the deployed Store
# against a master and clients started by hand, and its failover time (scripts/bench/store.sh, on
# the first inventory with Store masters: molecule/lab/inventory).
#
#   scripts/bench.sh [INVENTORY ...]     default: inventories/lab (1 host) molecule/lab/inventory (3)
#
# Any lab inventory works (groups lab, etcd, mooncake; mooncake_lab_name and mooncake_lab_subnet,
# host IPs in that subnet). scripts/bench/relocate_inventory.sh copies one to another lab name
# and subnet, e.g. to bench 3 hosts beside a running `molecule test -s lab` (same name, subnet).
# An inventory inside this checkout is taken from the baseline's own tree for the old code.
#
# Environment (parts can be skipped to fit a run in the time there is):
#   BENCH_BASELINE=REV     the old code (default e6e7b53; none: this checkout only); it runs from
#                          a git worktree under /tmp with this checkout's .venv and bench tools
#   BENCH_NEW=0            the old code only
#   BENCH_STRATEGIES="linear mitogen_linear"   (mitogen_linear: .venv/mitogen-strategy)
#   BENCH_NOOP_RUNS=3      no-op re-runs per configuration
#   BENCH_PLAYS=0          leave out the per-play seconds and tasks
#   BENCH_THROUGHPUT=0     leave out the deployed-vs-by-hand throughput
#   BENCH_ETCD=0           leave out etcd's start-to-healthy (scripts/bench_etcd.sh)
#   BENCH_STORE=0          leave out the Store's throughput and failover (scripts/bench/store.sh)
#   BENCH_KEEP=DIR         keep the logs and per-task timings (one directory per configuration)
#   BENCH_HOST, BENCH_PREFILL, BENCH_DECODE   throughput: host and instances (node1 prefill decode)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
top=$PWD
export PATH="$top/.venv/bin:$PATH"
unset ANSIBLE_STRATEGY ANSIBLE_STRATEGY_PLUGINS ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
if [ $# -gt 0 ]; then inventories=("$@"); else inventories=(inventories/lab molecule/lab/inventory); fi
baseline=${BENCH_BASELINE-e6e7b53}
[ "$baseline" = none ] && baseline=""
read -r -a strategies <<<"${BENCH_STRATEGIES:-linear mitogen_linear}"
noop_runs=${BENCH_NOOP_RUNS:-3}
for strategy in "${strategies[@]}"; do
  case "$strategy" in
    linear) ;;
    mitogen_linear) [ -d "$top/.venv/mitogen-strategy" ] ||
      { echo "bench: .venv/mitogen-strategy is missing: run scripts/bootstrap.sh (make bootstrap)" >&2; exit 1; } ;;
    *) echo "bench: unknown strategy $strategy (linear, mitogen_linear)" >&2; exit 1 ;;
  esac
done

out=$(mktemp -d "${TMPDIR:-/tmp}/mooncake-bench.XXXXXX")
worktree=""
cleanup() {
  if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp -r "$out"/. "$BENCH_KEEP"; fi
  if [ -n "$worktree" ]; then git -C "$top" worktree remove --force "$worktree" || true; fi
  rm -rf -- "$out"
}
trap cleanup EXIT

codes=()  # "LABEL TREE"
[ "${BENCH_NEW:-1}" = 1 ] && codes+=("new $top")
if [ -n "$baseline" ]; then
  rev=$(git rev-parse --short "$baseline^{commit}")
  worktree=$out/baseline
  git worktree add --quiet --detach "$worktree" "$rev"
  ln -s "$top/.venv" "$worktree/.venv"
  codes+=("old-$rev $worktree")
fi
[ ${#codes[@]} -gt 0 ] || { echo "bench: nothing to run (BENCH_NEW=0 and no BENCH_BASELINE)" >&2; exit 1; }

timed() { # timed DIR NAME CMD... -> seconds in DIR/NAME.time, output in DIR/NAME.log
  local dir=$1 name=$2 t0
  shift 2
  t0=$(date +%s.%N)
  "$@" >"$dir/$name.log" 2>&1 || { echo "bench: $name failed ($dir/$name.log):" >&2; tail -n 30 "$dir/$name.log" >&2; return 1; }
  echo "$(date +%s.%N) - $t0" | bc >"$dir/$name.time"
}

# The inventory a tree runs: one inside this checkout is taken from that tree.
inventory_in() { # TREE INVENTORY
  local abs
  abs=$(realpath -m "$top/$2")
  case "$2" in /*) abs=$(realpath -m "$2") ;; esac
  if [ "$1" != "$top" ] && [ "${abs#"$top"/}" != "$abs" ] && [ -e "$1/${abs#"$top"/}" ]; then
    echo "$1/${abs#"$top"/}"
  else
    echo "$abs"
  fi
}

lab() { # TREE INVENTORY create|destroy (always on the default strategy: localhost work)
  (cd "$1" && ANSIBLE_CONFIG="$1/ansible.cfg" ansible-playbook -i "$2" "playbooks/lab_$3.yml")
}

site() { # TREE INVENTORY STRATEGY TIMING_FILE
  local tree=$1 inv=$2 strategy=$3
  (
    cd "$tree"
    export ANSIBLE_CONFIG="$tree/ansible.cfg" ANSIBLE_STRATEGY="$strategy" MOONCAKE_BENCH_TIMING=$4
    export ANSIBLE_CALLBACK_PLUGINS="$top/scripts/bench/callback_plugins" ANSIBLE_CALLBACKS_ENABLED=bench_timing
    [ "$strategy" = linear ] || export ANSIBLE_STRATEGY_PLUGINS="$top/.venv/mitogen-strategy"
    ansible-playbook -i "$inv" site.yml
  )
}

throughput() { # TREE INVENTORY DIR: the deployed instances against two engines started by hand
  local host=${BENCH_HOST:-node1} prefill=${BENCH_PREFILL:-prefill} decode=${BENCH_DECODE:-decode}
  (cd "$1" && ANSIBLE_CONFIG="$1/ansible.cfg" ansible -i "$2" "$host" -m ansible.builtin.script \
    -a "$top/scripts/bench/throughput_on_host.sh $prefill $decode 67108864 3 10") >"$3/throughput.log" 2>&1 ||
    { echo "bench: throughput failed ($3/throughput.log)" >&2; tail -n 30 "$3/throughput.log" >&2; return 1; }
  echo "$host $prefill $decode" >"$3/throughput.what"
}

# One configuration: a fresh lab, the fresh deploy, the no-op re-runs, the report. A failure is
# recorded (and printed) and the bench goes on with the next configuration.
run_config() { # DIR LABEL TREE INVENTORY STRATEGY MEASURE_THROUGHPUT MEASURE_STORE
  local dir=$1 label=$2 tree=$3 inv=$4 strategy=$5 measure=$6 measure_store=$7 run report start
  mkdir -p "$dir"
  printf 'label=%s\ntree=%s\ninventory=%s\nstrategy=%s\nload_before=%s\n' "$label" "$tree" "$inv" "$strategy" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/config"
  echo "bench: $label, $inv, $strategy" >&2
  lab "$tree" "$inv" destroy >/dev/null 2>&1 || true
  start=$(date +%s)
  if timed "$dir" create lab "$tree" "$inv" create &&
     timed "$dir" fresh site "$tree" "$inv" "$strategy" "$dir/fresh.tsv"; then
    for run in $(seq "$noop_runs"); do
      timed "$dir" "noop$run" site "$tree" "$inv" "$strategy" "$dir/noop$run.tsv" || { touch "$dir/failed"; break; }
    done
  else
    touch "$dir/failed"
  fi
  # The report of these runs: an inventory may send it elsewhere (molecule/lab: its .lab/reports).
  for report in "$tree/reports/verify-report.json" "$inv/.lab/reports/verify-report.json"; do
    if [ -f "$report" ] && [ "$(stat -c %Y "$report")" -ge "$start" ]; then cp "$report" "$dir/report.json"; fi
  done
  echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/config"
  if [ "$measure" = 1 ] && [ ! -e "$dir/failed" ]; then throughput "$tree" "$inv" "$dir" || true; fi
  if [ "$measure_store" = 1 ] && [ ! -e "$dir/failed" ]; then
    "$top/scripts/bench/store.sh" "$inv" >"$dir/store.log" 2>&1 || echo "bench: store.sh failed ($dir/store.log)" >>"$dir/store.log"
  fi
  lab "$tree" "$inv" destroy >/dev/null 2>&1 || echo "bench: could not remove the lab of $inv" >&2
}

n=0 store_measured=""
for i in "${!inventories[@]}"; do
  for code in "${codes[@]}"; do
    read -r label tree <<<"$code"
    inv=$(inventory_in "$tree" "${inventories[$i]}")
    for s in "${!strategies[@]}"; do
      n=$((n + 1))
      measure=0
      [ "$i" = 0 ] && [ "$s" = $((${#strategies[@]} - 1)) ] && [ "${BENCH_THROUGHPUT:-1}" = 1 ] && measure=1
      # The Store's figures on the first inventory (of the new code, last strategy) that has Store masters.
      measure_store=0
      if [ -z "$store_measured" ] && [ "$label" = new ] && [ "$s" = $((${#strategies[@]} - 1)) ] && [ "${BENCH_STORE:-1}" = 1 ] &&
         [ -n "$(ansible-inventory -i "$inv" --graph mooncake_master 2>/dev/null | grep -- '--' || true)" ]; then
        measure_store=1 store_measured=$n
      fi
      run_config "$out/$(printf '%02d' "$n")" "$label" "$tree" "$inv" "${strategies[$s]}" "$measure" "$measure_store"
    done
  done
done

echo "machine: $(nproc) cores, load average now $(cut -d' ' -f1-3 /proc/loadavg); $(ansible-playbook --version 2>/dev/null | sed -n 1p)"
rc=0
python3 "$top/scripts/bench/summary.py" --plays "${BENCH_PLAYS:-1}" "$out"/[0-9]* || rc=$?
if [ -n "$store_measured" ]; then
  sed 's/^/  /' "$out/$(printf '%02d' "$store_measured")/store.log"
  grep -q '^bench: store.sh failed' "$out/$(printf '%02d' "$store_measured")/store.log" && rc=1
elif [ "${BENCH_STORE:-1}" = 1 ]; then
  echo "store: not measured (no inventory of this bench has Store masters; molecule/lab/inventory has)"
fi

if [ "${BENCH_ETCD:-1}" = 1 ]; then
  for code in "${codes[@]}"; do
    read -r label tree <<<"$code"
    echo "etcd start -> healthy, $label (scripts/bench_etcd.sh, its own lab on 10.231.7.0/24):"
    "$tree/scripts/bench_etcd.sh" | sed 's/^/  /' || { echo "  bench_etcd.sh failed"; rc=1; }
  done
fi
# Not a timed test: a non-zero exit only says that a run failed (its configuration says FAILED).
exit "$rc"
