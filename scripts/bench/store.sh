#!/usr/bin/env bash
# Figures of the deployed Mooncake Store on a lab whose inventory has HA masters and store
# clients (molecule/lab's): put and get throughput through the deployed Store against the same
# engine's master and clients started by hand on the same hosts (transient units, other ports,
# the same segment size), and the failover time from SIGKILL of the leading master to the first
# successful get of an object put before it. Prints a few lines; exits non-zero when a step fails.
# Usage: scripts/bench/store.sh INVENTORY_DIR [WRITER READER]   (default node1 node2)
#   BENCH_STORE_OBJECTS (4), BENCH_STORE_SIZE (33554432 bytes), BENCH_STORE_REPEATS (3)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The minimal callback: "host | CHANGED | rc=0 >>" then stdout, or "host | SUCCESS => {json}".
export PATH="$top/.venv/bin:$PATH" ANSIBLE_CONFIG="$top/ansible.cfg" ANSIBLE_LOAD_CALLBACK_PLUGINS=1 \
  ANSIBLE_STDOUT_CALLBACK=ansible.builtin.minimal ANSIBLE_CALLBACK_RESULT_FORMAT=json
inventory=$1 writer=${2:-node1} reader=${3:-node2}
objects=${BENCH_STORE_OBJECTS:-4} size=${BENCH_STORE_SIZE:-33554432} repeats=${BENCH_STORE_REPEATS:-3}
venv=/opt/mooncake/venv
work=$(mktemp -d)
trap 'rm -rf -- "$work"; on_hosts "systemctl stop bench-store-master bench-store-client 2>/dev/null; true" >/dev/null 2>&1 || true' EXIT

on_host() { # HOST COMMAND -> its stdout
  ansible -i "$inventory" "$1" -m ansible.builtin.shell -a "$2" | sed '1{/ | rc=[0-9]* >>$/d}'
}
on_hosts() { ansible -i "$inventory" "$writer:$reader" -m ansible.builtin.shell -a "$1"; }
address() { ansible-inventory -i "$inventory" --host "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ansible_host"])'; }
store_objects() { # HOST MODE MASTER OBJECTS_JSON -> the module's result (JSON)
  local args
  args=$(python3 -c 'import json,sys; print(json.dumps({"mode": sys.argv[1], "master_server_address": sys.argv[2],
    "local_hostname": sys.argv[3], "objects": json.loads(sys.argv[4]), "timeout": 300}))' "$2" "$3" "$(address "$1")" "$4")
  ansible -i "$inventory" "$1" -m mooncake.deploy.store_objects -a "$args" | sed '1s/^[^|]* | SUCCESS => //'
}
keys() { # PREFIX -> the objects' JSON
  python3 -c 'import json,sys; print(json.dumps([{"key": "%s/%d" % (sys.argv[1], i), "size": int(sys.argv[2])} for i in range(int(sys.argv[3]))]))' \
    "$1" "$size" "$objects"
}
field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d.get(sys.argv[1]) if not d.get("failures") else "FAIL:" + "; ".join(d["failures"]))' "$1"; }
round_trip() { # MASTER PREFIX -> "put_mib_s get_mib_s"
  local put get
  put=$(store_objects "$writer" put "$1" "$(keys "$2")")
  get=$(store_objects "$reader" get "$1" "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["objects"]))' "$put")")
  echo "$(field throughput_mib_s <<<"$put") $(field throughput_mib_s <<<"$get")"
}

deployed=$(on_host "$writer" "python3 -c \"import json; print(json.load(open('/etc/mooncake/store/vllm.json'))['master_server_address'])\"")
segment=$(on_host "$writer" "sed -n 's/^--global_segment_size=//p' /etc/mooncake/store-clients/*.flags | head -n 1")
writer_ip=$(address "$writer")
# By hand: one master on the writer, a client on each host, as transient units (no hardening).
on_host "$writer" "systemd-run --unit=bench-store-master --property=Type=exec $venv/bin/mooncake_master \
  --rpc_address=$writer_ip --rpc_port=50251 --metrics_host=$writer_ip --metrics_port=9203 --logtostderr" >/dev/null
for host in "$writer" "$reader"; do
  ip=$(address "$host")
  on_host "$host" "sleep 2; systemd-run --unit=bench-store-client --property=Type=exec \
    --setenv=MC_MIN_RPC_PORT=25000 --setenv=MC_MAX_RPC_PORT=25099 --setenv=MC_TCP_BIND_ADDRESS=$ip \
    $venv/bin/mooncake_client --host=$ip --port=25252 --global_segment_size=$segment --local_buffer_size=0 \
    --master_server_address=$writer_ip:50251 --metadata_server=P2PHANDSHAKE --protocol=tcp --logtostderr" >/dev/null
done
sleep 5
echo "store: $objects x $size bytes put on $writer, read on $reader (MiB/s); deployed ($deployed) vs by hand ($writer_ip:50251)"
for i in $(seq 1 "$repeats"); do
  d=$(round_trip "$deployed" "bench-deployed-$i") h=$(round_trip "$writer_ip:50251" "bench-hand-$i")
  echo "  round $i: deployed put/get $d, by hand put/get $h" | tee -a "$work/rounds"
done
python3 - "$work/rounds" <<'PY'
import re, statistics, sys
rows = [list(map(float, re.findall(r"[0-9.]+", line.split(":", 1)[1]))) for line in open(sys.argv[1])]
put = statistics.median(r[0] / r[2] for r in rows)
get = statistics.median(r[1] / r[3] for r in rows)
print("  deployed / by hand (median of %d rounds): put %.2f, get %.2f" % (len(rows), put, get))
PY

# Failover: SIGKILL of the leading master, then gets of an object put before, until one works.
leader=""
for host in $(ansible-inventory -i "$inventory" --graph mooncake_master | sed -n 's/^ *|--//p'); do
  if on_host "$host" "python3 -c 'import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' \
       http://$(address "$host"):9003/health" | grep -q '"service_ready":true'; then leader=$host; fi
done
[ -n "$leader" ] || { echo "store: no serving master found" >&2; exit 1; }
before=$(store_objects "$writer" put "$deployed" '[{"key": "bench-failover", "size": 1048576}]')
killed=$(date +%s.%N)
on_host "$leader" "systemctl kill --signal=KILL mooncake-master" >/dev/null
while :; do
  result=$(store_objects "$reader" get "$deployed" "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["objects"]))' "$before")")
  [ "$(field failures <<<"$result")" = "[]" ] && break
  (( $(date +%s) - ${killed%.*} < 120 )) || { echo "store: no successful get within 120 s of the kill" >&2; exit 1; }
  sleep 1
done
echo "  failover: SIGKILL of the leader ($leader) to the first successful get: $(python3 -c "import time; print('%.1f' % (time.time() - $killed))") s"
