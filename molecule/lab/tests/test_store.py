"""The Mooncake Store on the 3-host lab: two HA masters (node1, node2) electing their leader on
etcd1, a store client pooling 256 MiB on each of node1 and node2. Objects put from one host are
read back from the other, bytes compared; a SIGKILLed leader is replaced by the standby and
every object stays readable; a killed store client is restarted by systemd and serves again."""

import json
import time

from labtools import IPS, sh, wait_for
from storetools import MASTER, PYTHON, eventually, http_get, leader, masters, put_and_read_across, store


def test_one_master_leads_and_the_other_stands_by_on_the_same_view():
    health = wait_for("one leader and one standby", lambda: masters() if leader() else None, timeout=30)
    roles = sorted(state["role"] for state in health.values())
    assert roles == ["leader", "standby"], health
    assert len({state["leader_address"] for state in health.values()}) == 1, health
    unit = sh("node1", "systemctl cat mooncake-master").stdout
    assert "--enable_ha=true" in unit and "--enable_oplog=true" in unit and "--etcd_endpoints=%s:2379" % IPS["etcd1"] in unit


def test_each_store_client_serves_its_health_and_pools_its_segment():
    for host in ("node1", "node2"):
        assert json.loads(http_get(host, "http://%s:9300/health" % IPS[host]))["status"] == "healthy"
        flags = sh(host, "cat /etc/mooncake/store-clients/pool.flags").stdout
        assert "--master_server_address=%s" % MASTER in flags and "--global_segment_size=268435456" in flags


def test_objects_put_on_one_host_are_read_back_on_the_other_bytes_compared():
    put_and_read_across("a", "node1", "node2")
    put_and_read_across("b", "node2", "node1")


def test_sigkill_of_the_leading_master_hands_over_and_keeps_every_object():
    before = put_and_read_across("pre", "node1", "node2")
    old = leader()
    assert old, masters()
    killed_at = time.time()
    sh(old, "systemctl kill --signal=KILL mooncake-master")
    # The standby leads once the old leader's lease ends (systemd restarts the killed one only
    # after mooncake_master_ha_restart_delay, so it does not take its leadership back).
    new = wait_for("the standby leads", lambda: (leader() if leader() not in (None, old) else None), timeout=60)
    leading = time.time() - killed_at

    # Nothing to do by hand: the objects put before are readable again once the store clients
    # are back on the new leader, and new puts work.
    def objects_back():
        got = store("get", new, {key: 0 for key in before})
        assert {k: v["sha256"] for k, v in got.items()} == {k: v["sha256"] for k, v in before.items()}, got
    eventually("the objects put before the failover read back", objects_back, timeout=60)
    serving = time.time() - killed_at
    eventually("new objects put and read across", lambda: put_and_read_across("post", new, old), timeout=60)
    # systemd restarts the killed master, which comes back as a standby.
    wait_for("the old leader back as standby", lambda: masters()[old].get("role") == "standby", timeout=90)
    print("failover %s -> %s: new leader after %.1f s, objects readable after %.1f s" % (old, new, leading, serving))


def test_a_killed_store_client_is_restarted_and_serves_again():
    pid = sh("node2", "systemctl show -p MainPID --value mooncake-store-client@pool").stdout.strip()
    sh("node2", "systemctl kill --signal=KILL mooncake-store-client@pool")
    wait_for("the store client back with a new pid", lambda: sh(
        "node2", "systemctl show -p MainPID --value mooncake-store-client@pool").stdout.strip() not in ("0", pid), timeout=30)
    wait_for("its health", lambda: http_get("node2", "http://%s:9300/health" % IPS["node2"]).startswith('{"status":"healthy"'),
             timeout=30)
    eventually("objects put and read across", lambda: put_and_read_across("after-client-kill", "node1", "node2"), timeout=60)


# A client that starts from exactly what vLLM and SGLang read: vLLM's MooncakeStoreConnector
# JSON (its setup arguments, in the order MooncakeDistributedStore.setup takes them) and SGLang
# HiCache's MOONCAKE_* environment (sourced from the file as a unit's EnvironmentFile would).
FROM_CONFIG = r"""
import hashlib, json, os, sys
from mooncake.store import MooncakeDistributedStore
if sys.argv[1] == "vllm":
    c = json.load(open("/etc/mooncake/store/vllm.json"))
    args = (c["local_hostname"], c["metadata_server"], c["global_segment_size"], c["local_buffer_size"],
            c["protocol"], c["device_name"], c["master_server_address"])
else:
    e = os.environ
    args = (e["MOONCAKE_LOCAL_HOSTNAME"], e["MOONCAKE_TE_META_DATA_SERVER"], int(e["MOONCAKE_GLOBAL_SEGMENT_SIZE"]),
            int(e["MOONCAKE_LOCAL_BUFFER_SIZE"]), e["MOONCAKE_PROTOCOL"], e["MOONCAKE_DEVICE"], e["MOONCAKE_MASTER"])
store = MooncakeDistributedStore()
rc = store.setup(*args)
data = os.urandom(1 << 20)
put = store.put("consumer-" + sys.argv[1], data) if rc == 0 else None
got = store.get("consumer-" + sys.argv[1]) if rc == 0 else b""
print(json.dumps({"args": list(args), "setup": rc, "put": put, "match": got == data}), flush=True)
os._exit(0)
"""


def test_a_store_client_starts_from_exactly_what_vllm_and_sglang_read():
    config = json.loads(sh("node1", "cat /etc/mooncake/store/vllm.json").stdout)
    assert config == {"mode": "standalone-store", "local_hostname": IPS["node1"], "metadata_server": "P2PHANDSHAKE",
                      "master_server_address": MASTER, "global_segment_size": 0, "local_buffer_size": 64 << 20,
                      "protocol": "tcp", "device_name": ""}
    for consumer, prefix in (("vllm", ""), ("sglang", "set -a; . /etc/mooncake/store/sglang-hicache.env; set +a; ")):
        def start_from_the_files(consumer=consumer, prefix=prefix):
            run = sh("node1", "%s%s - %s <<'EOF'\n%s\nEOF" % (prefix, PYTHON, consumer, FROM_CONFIG), timeout=120)
            result = json.loads([x for x in run.stdout.splitlines() if x.startswith("{")][-1])
            assert result["setup"] == 0 and result["put"] == 0 and result["match"] is True, (consumer, result)
            return result
        result = eventually("a %s client started from its files" % consumer, start_from_the_files, timeout=60)
        assert result["args"][6] == MASTER and result["args"][0] == IPS["node1"], result
