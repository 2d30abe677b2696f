"""The Store's helpers for the lab's tests: an embedded client run on a lab host (put, get),
the masters' /health and the leader's segments, put-and-read-across with bytes compared."""

import json
import re
import time

from labtools import IPS, sh

PYTHON = "/opt/mooncake/venv/bin/python"
MASTER = "etcd://%s:2379" % IPS["etcd1"]
SIZES = (4 << 10, 1 << 20, 16 << 20)
# An embedded Store client with no segment of its own: what it puts lands in the store
# clients' segments. os._exit: the client's close() waits about 30 s (measured), exiting does not.
CLIENT = r"""
import hashlib, json, os, sys
from mooncake.store import MooncakeDistributedStore
mode, host, master, keys = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
store = MooncakeDistributedStore()
rc = store.setup(host, "P2PHANDSHAKE", 0, 64 << 20, "tcp", "", master)
out = {"setup": rc, "objects": {}}
for key, size in keys.items():
    if mode == "put":
        data = hashlib.sha256(key.encode()).digest() * (size // 32)
        out["objects"][key] = {"rc": store.put(key, data), "sha256": hashlib.sha256(data).hexdigest()}
    else:
        data = store.get(key)
        out["objects"][key] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
print(json.dumps(out), flush=True)
os._exit(0)
"""


def http_get(host, url):
    """The body of GET url from host ('' when it does not answer): the lab image has no curl."""
    run = sh(host, "python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' %s"
             % url, check=False)
    return run.stdout.strip() if run.returncode == 0 else ""


def store(mode, host, keys):
    run = sh(host, "%s - %s %s '%s' '%s' <<'EOF'\n%s\nEOF" % (PYTHON, mode, IPS[host], MASTER, json.dumps(keys), CLIENT),
             timeout=120)
    line = [x for x in run.stdout.splitlines() if x.startswith("{")][-1]
    result = json.loads(line)
    assert result["setup"] == 0, result
    return result["objects"]


def masters():
    """{host: /health of its master}."""
    health = {}
    for host in ("node1", "node2"):
        body = http_get(host, "http://%s:9003/health" % IPS[host])
        health[host] = json.loads(body) if body.startswith("{") else {}
    return health


def leader():
    found = [h for h, state in masters().items() if state.get("role") == "leader" and state.get("service_ready")]
    return found[0] if len(found) == 1 else None


def put_and_read_across(tag, writer, reader):
    keys = {"%s-%d" % (tag, size): size for size in SIZES}
    put = store("put", writer, keys)
    assert all(v["rc"] == 0 for v in put.values()), put
    got = store("get", reader, keys)
    for key, size in keys.items():
        assert got[key] == {"size": size, "sha256": put[key]["sha256"]}, (key, got[key])
    return put


def eventually(what, action, timeout):
    """action() until it stops raising AssertionError (a failover or a client's reconnection in progress)."""
    deadline = time.time() + timeout
    while True:
        try:
            return action()
        except AssertionError:
            if time.time() > deadline:
                raise AssertionError("%s: not within %d s" % (what, timeout))
            time.sleep(2)


def segments():
    """{segment "IP:PORT": capacity in bytes} the leading master has mounted ({} with no leader)."""
    host = leader()
    if host is None:
        return {}
    metrics = http_get(host, "http://%s:9003/metrics" % IPS[host])
    found = re.findall(r'^segment_total_capacity_bytes\{segment="([^"]+)"\} (\d+)', metrics, re.M)
    return {name: int(size) for name, size in found}
