#!/usr/bin/env bash
# Runs ON a lab host (ansible's script module): transfer throughput of the deployed instances
# (prefill -> decode, through their systemd units) and of the same engine and agent started by
# hand on the same host (two plain processes, no unit, no hardening), measured alternately.
# Prints one JSON line. Usage: throughput_on_host.sh PREFILL DECODE SIZE ROUNDS REPEATS
set -euo pipefail
prefill=$1 decode=$2 size=$3 rounds=$4 repeats=$5
conf=/etc/mooncake/instances
python=/opt/mooncake/venv/bin/python
agent=/opt/mooncake/bin/mooncake-agent
work=$(mktemp -d)
pids=()
cleanup() {
  set +e  # the engines we started end with SIGTERM's status: expected, not a failure
  for pid in "${pids[@]}"; do kill "$pid"; wait "$pid"; done 2>/dev/null
  rm -rf -- "$work"
}
trap cleanup EXIT

address=$(sed -n 's/^MC_TCP_BIND_ADDRESS=//p' "$conf/$decode.env")
metadata=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata_server"])' "$conf/$decode.json")
buffer=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["buffer_size"])' "$conf/$decode.json")

start_by_hand() { # name port range_low
  local name=$1 port=$2 low=$3
  printf '{"name": "%s", "local_hostname": "%s:%s", "metadata_server": "%s", "protocol": "tcp", "device_name": "", "buffer_size": %s, "control_socket": "%s/%s.sock"}\n' \
    "$name" "$address" "$port" "$metadata" "$buffer" "$work" "$name" >"$work/$name.json"
  MC_LEGACY_RPC_PORT_BINDING=1 MC_TCP_BIND_ADDRESS="$address" MC_FORCE_TCP=1 \
    MC_MIN_RPC_PORT="$low" MC_MAX_RPC_PORT="$((low + 99))" \
    "$python" "$agent" serve --config "$work/$name.json" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$work/$name.sock" ] && return 0; sleep 0.2; done
  cat "$work/$name.log" >&2
  return 1
}
start_by_hand hand-a 15790 21700
start_by_hand hand-b 15791 21800
decode_port=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["local_hostname"].rsplit(":",1)[1])' "$conf/$decode.json")

measure() { # socket peer -> "write read" GiB/s (best of the rounds)
  "$python" "$agent" transfer --socket="$1" --peer="$2" --size="$size" --rounds="$rounds" |
    "$python" -c 'import json,sys; r=json.load(sys.stdin); assert r["match"], r; print(r["write_gib_per_s"], r["read_gib_per_s"])'
}
deployed=() hand=()
# The order alternates (deployed first, then by hand first): the pair measured second ran on a
# warmer machine, and neither side should always get that.
for i in $(seq "$repeats"); do
  if [ $((i % 2)) -eq 1 ]; then
    deployed+=("$(measure "/run/mooncake-$prefill/control.sock" "$address:$decode_port")")
    hand+=("$(measure "$work/hand-a.sock" "$address:15791")")
  else
    hand+=("$(measure "$work/hand-a.sock" "$address:15791")")
    deployed+=("$(measure "/run/mooncake-$prefill/control.sock" "$address:$decode_port")")
  fi
done
"$python" - "${#deployed[@]}" "${deployed[@]}" "${hand[@]}" <<'PY'
import json, statistics, sys
n = int(sys.argv[1])
pairs = [tuple(map(float, s.split())) for s in sys.argv[2:]]
deployed, hand = pairs[:n], pairs[n:]
med = lambda xs, i: statistics.median(x[i] for x in xs)
out = {"repeats": n,
       "deployed": {"write": med(deployed, 0), "read": med(deployed, 1)},
       "by_hand": {"write": med(hand, 0), "read": med(hand, 1)}}
out["ratio"] = {k: round(out["deployed"][k] / out["by_hand"][k], 3) for k in ("write", "read")}
print(json.dumps(out))
PY
