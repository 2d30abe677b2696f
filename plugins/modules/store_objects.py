#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: store_objects
short_description: Put objects into the Mooncake Store from this host, or read them back and compare
version_added: 0.3.0
author:
  - mooncake.deploy maintainers (!UNKNOWN)
description:
  - Starts a real Store client (C(mooncake.store.MooncakeDistributedStore) of the engine's own
    Python) on the host with no memory segment of its own, so every object it puts lands in the
    segments the deployment's store clients and masters pool.
  - O(mode=put) writes each object of O(objects) (content derived from its key, so a reader can
    recompute it) and returns each object's SHA-256 and the put throughput.
  - Each put stores its object under a key of its own, C(<key>.<run>) (RV(objects) names it), so a
    put never meets an object of an earlier run. Such earlier copies (C(<key>.<hex>)) are removed
    first with C(remove_by_regex); one still under the read lease of a recent get (10 s by default)
    stays until a later run. Reusing one key was measured to fail (after the masters lost etcd and
    re-elected, the old copy's metadata survived but its bytes read back empty for minutes).
  - O(mode=get) reads each object back, compares its size and SHA-256 with O(objects) and
    reports the get throughput. The objects stay (a get leaves a read lease that forbids removing
    them for a while).
  - A failed put, read or comparison is reported in RV(failures), not as a module failure (the
    caller decides). Never reports a change. Check mode does nothing and says so.
options:
  mode:
    description: C(put) the objects, or C(get) them and compare.
    type: str
    choices: [put, get]
    required: true
  objects:
    description:
      - The objects. For C(put) C(key) and C(size); for C(get) also C(sha256) (from the put).
    type: list
    elements: dict
    required: true
  local_hostname:
    description: The address this client advertises (the host's own IP).
    type: str
    required: true
  master_server_address:
    description: C(IP:PORT) of the master, or C(etcd://IP:PORT;IP:PORT) of HA masters.
    type: str
    required: true
  metadata_server:
    description: The transfer engine's metadata server.
    type: str
    default: P2PHANDSHAKE
  protocol:
    description: C(tcp) or C(rdma).
    type: str
    default: tcp
  device_name:
    description: RDMA devices for C(rdma).
    type: str
    default: ''
  python:
    description: The engine's Python (its C(mooncake.store)).
    type: path
    default: /opt/mooncake/venv/bin/python
  timeout:
    description: Seconds the client may take.
    type: int
    default: 120
"""

EXAMPLES = r"""
- name: Put objects from one host
  mooncake.deploy.store_objects:
    mode: put
    objects: [{key: verify-4k, size: 4096}, {key: verify-16m, size: 16777216}]
    local_hostname: 10.231.4.12
    master_server_address: etcd://10.231.4.11:2379
  register: put

- name: Read them back on another host
  mooncake.deploy.store_objects:
    mode: get
    objects: "{{ put.objects }}"
    local_hostname: 10.231.4.13
    master_server_address: etcd://10.231.4.11:2379
  delegate_to: node2
"""

RETURN = r"""
objects:
  description: Each object with C(key) (for C(put), the run's own key it was stored under), C(size), C(sha256) and, for C(get), C(read_size) and C(ok).
  returned: always
  type: list
  elements: dict
seconds:
  description: Seconds the puts or the gets took together.
  returned: unless check mode
  type: float
throughput_mib_s:
  description: MiB per second over all objects.
  returned: unless check mode
  type: float
failures:
  description: One sentence per object that could not be put, read or did not match.
  returned: always
  type: list
  elements: str
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule

# Run by the engine's Python: one JSON document on stdout. os._exit: the client's close() waits
# about 30 s (measured, 0.3.13.post1); exiting does not, and the Store drops the client's lease.
CLIENT = r"""
import hashlib, json, os, re, sys, time
from mooncake.store import MooncakeDistributedStore
spec = json.loads(sys.stdin.readline())
def content(key, size):
    block = hashlib.sha256(key.encode()).digest()
    return (block * (size // len(block) + 1))[:size]
store = MooncakeDistributedStore()
rc = store.setup(spec["host"], spec["metadata"], 0, max(o["size"] for o in spec["objects"]) + (16 << 20),
                 spec["protocol"], spec["device"], spec["master"])
out = {"setup": rc, "objects": [], "seconds": 0.0}
if rc == 0:
    for obj in spec["objects"]:
        started = time.time()
        if spec["mode"] == "put":
            store.remove_by_regex("^" + re.escape(obj["key"]) + "[.][0-9a-f]+$")
            key = "%s.%s" % (obj["key"], spec["run"])
            data = content(key, obj["size"])
            started = time.time()
            ok = store.put(key, data) == 0
            result = dict(obj, key=key, sha256=hashlib.sha256(data).hexdigest(), ok=ok)
        else:
            data = store.get(obj["key"])
            digest = hashlib.sha256(data).hexdigest()
            result = dict(obj, read_size=len(data), ok=len(data) == obj["size"] and digest == obj.get("sha256"))
        out["seconds"] += time.time() - started
        out["objects"].append(result)
print(json.dumps(out), flush=True)
os._exit(0)
"""


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type="str", choices=["put", "get"], required=True),
            objects=dict(type="list", elements="dict", required=True),
            local_hostname=dict(type="str", required=True),
            master_server_address=dict(type="str", required=True),
            metadata_server=dict(type="str", default="P2PHANDSHAKE"),
            protocol=dict(type="str", default="tcp"),
            device_name=dict(type="str", default=""),
            python=dict(type="path", default="/opt/mooncake/venv/bin/python"),
            timeout=dict(type="int", default=120),
        ),
        supports_check_mode=True,
    )
    p = module.params
    objects = [{"key": str(o["key"]), "size": int(o["size"]), "sha256": o.get("sha256")} for o in p["objects"]]
    if module.check_mode:
        module.exit_json(changed=False, objects=objects, failures=[], msg="check mode: no object was put or read")
    spec = {"mode": p["mode"], "objects": objects, "host": p["local_hostname"], "master": p["master_server_address"],
            "metadata": p["metadata_server"], "protocol": p["protocol"], "device": p["device_name"],
            "run": "%x" % int(time.time() * 1e6)}
    rc, out, err = module.run_command(["timeout", str(p["timeout"]), p["python"], "-c", CLIENT],
                                      data=json.dumps(spec), binary_data=False)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if rc != 0 or not lines:
        module.exit_json(changed=False, objects=objects, failures=[
            "the Store client (%s) ended with rc %d before reporting: %s" % (p["python"], rc, (err or out).strip()[-500:])])
    result = json.loads(lines[-1])
    if result["setup"] != 0:
        module.exit_json(changed=False, objects=objects, failures=[
            "the Store client on %s could not join the Store at %s (setup returned %s)"
            % (p["local_hostname"], p["master_server_address"], result["setup"])])
    failures = []
    for obj in result["objects"]:
        if obj["ok"]:
            continue
        if p["mode"] == "put":
            failures.append("put of %s (%d bytes) from %s failed" % (obj["key"], obj["size"], p["local_hostname"]))
        else:
            failures.append("%s read on %s: %d bytes of %d, %s" % (
                obj["key"], p["local_hostname"], obj["read_size"], obj["size"],
                "content differs" if obj["read_size"] == obj["size"] else "missing or cut"))
    total = sum(o["size"] for o in result["objects"])
    seconds = round(result["seconds"], 4)
    module.exit_json(changed=False, objects=result["objects"], failures=failures, seconds=seconds,
                     throughput_mib_s=round(total / 1048576.0 / seconds, 1) if seconds > 0 else 0.0)


if __name__ == "__main__":
    main()
