# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Everything the verification checks about one host's transfer-engine instances.

Unit state (``systemctl show``), port owner (procfs, see sockets), registration in etcd (the
v3 JSON gateway of module_utils/etcd_client, standard library only) and transfers through each agent's control socket.
Parsers and judgements are plain functions over recorded data, so unit tests run them without
systemd, etcd or an agent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket

from ansible_collections.mooncake.deploy.plugins.module_utils.etcd_client import (  # noqa: F401 (re-exported)
    RAM_PREFIX, RPC_META_PREFIX, gateway_get)

UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "MainPID", "NRestarts")


def unit_name(instance):
    return "mooncake-instance@%s.service" % instance


def etcd_endpoints(metadata_server):
    """host:port endpoints of an ``etcd://a:2379,b:2379`` metadata server; [] for any other."""
    if not metadata_server or not metadata_server.startswith("etcd://"):
        return []
    return [part.strip() for part in metadata_server[len("etcd://"):].split(",") if part.strip()]


# etcd's JSON gateway, through the collection's one etcd client module.
etcd_get = gateway_get


def judge_registration(instance, rpc_meta, ram, error):
    """{ok, problem, rpc_meta, ram} for one instance, from the values of its two keys."""
    segment = instance["segment"]
    result = {"ok": False, "problem": None, "rpc_meta": None, "ram": ram is not None}
    if error:
        result["problem"] = error
        return result
    if rpc_meta is None:
        result["problem"] = "no key %s%s" % (RPC_META_PREFIX, segment)
        return result
    try:
        meta = json.loads(rpc_meta)
    except ValueError:
        result["problem"] = "%s%s is not JSON: %r" % (RPC_META_PREFIX, segment, rpc_meta)
        return result
    result["rpc_meta"] = meta
    got = (meta.get("ip_or_host_name"), str(meta.get("rpc_port")))
    want = (instance["address"], str(instance["port"]))
    if got != want:
        result["problem"] = "%s%s says %s:%s, the instance is %s:%s" % ((RPC_META_PREFIX, segment) + got + want)
    elif ram is None:
        result["problem"] = "no key %s%s (the segment's memory is not registered)" % (RAM_PREFIX, segment)
    else:
        result["ok"] = True
    return result


def agent_request(path, request, timeout):
    """One JSON line to the agent's control socket, its one JSON line back (or an error reply)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
        reader = sock.makefile("rb")
        try:
            line = reader.readline()
        finally:
            reader.close()
    except (OSError, socket.error) as exc:
        return {"ok": False, "error": "control socket %s: %s" % (path, exc)}
    finally:
        sock.close()
    if not line:
        return {"ok": False, "error": "control socket %s: closed without a reply" % path}
    try:
        return json.loads(line.decode("utf-8"))
    except ValueError as exc:
        return {"ok": False, "error": "control socket %s: bad reply: %s" % (path, exc)}


def reachable_peers(instance, peers):
    """The peers an instance's engine can find: on P2PHANDSHAKE the others on it, on etcd those
    registered in the same etcd (a shared member), on any other server those on the same one.
    A peer without a metadata_server (older callers) is taken as on the instance's."""
    mine = instance["metadata_server"] or ""
    found = []
    for peer in peers:
        theirs = peer.get("metadata_server") or mine
        if theirs == mine or set(etcd_endpoints(theirs)) & set(etcd_endpoints(mine)):
            found.append(peer)
    return found


def judge_transfer(peer, reply):
    """A transfer's entry in the report: ok only when the agent copied and compared the bytes."""
    ok = reply.get("ok") is True and reply.get("match") is True
    return {"peer": "%s/%s" % (peer["host"], peer["name"]), "segment": peer["segment"], "ok": ok, "result": reply}


def instance_failures(host, entry):
    """One sentence per failed check of one instance's entry."""
    where = "%s/%s" % (host, entry["instance"])
    failures = []
    if not entry["unit_ok"]:
        failures.append("%s: unit %s is %s" % (where, unit_name(entry["instance"]), entry["unit"].get("ActiveState", "unknown")))
    if not entry["port"]["ok"]:
        failures.append("%s: %s" % (where, entry["port"]["problem"]))
    if entry["etcd"]["ok"] is False:
        failures.append("%s: etcd registration wrong: %s" % (where, entry["etcd"]["problem"]))
    for transfer in entry["transfers"]:
        if not transfer["ok"]:
            result = transfer["result"]
            why = result.get("error") or ("bytes differ" if result.get("match") is False else json.dumps(result))
            failures.append("%s -> %s: transfer failed: %s" % (where, transfer["peer"], why))
    return failures


def port_entry(result):
    """The port check of one instance, with who holds the port (pid, command, unit)."""
    holders = []
    for holder in result.get("holders") or []:
        process = holder.get("process") or {}
        holders.append({"address": holder["address"], "pid": process.get("pid"),
                        "command": process.get("cmdline") or process.get("name"), "unit": process.get("unit")})
    return {"ok": result["ok"], "problem": result["problem"], "holders": holders}
