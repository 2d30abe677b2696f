# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The verification's view of the Store: its masters' roles and the objects put on one host
and read back on another, turned into a report section and failure sentences."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import human_bytes


def _master_state(master, result):
    health = (result or {}).get("json") if isinstance((result or {}).get("json"), dict) else {}
    return {
        "host": master["host"],
        "address": "%s:%s" % (master["rpc_address"], master["rpc_port"]),
        "role": health.get("role") or ("leader" if health.get("service_ready") else "unknown"),
        "serving": bool(health.get("service_ready")),
        "leader_address": health.get("leader_address"),
        "answered": bool(health),
    }


def store_section(cluster, health_results, put, get, writer, reader, clients, metrics_results=None):
    """``{mode, masters, clients, objects, put_mib_s, get_mib_s, writer, reader, failures}``.

    cluster: store_masters' result; health_results: the uri results of each master's /health,
    in the order of cluster['masters']; put/get: store_objects' results; clients: every store
    client of the deployment as {host, name, global_segment_size}; metrics_results: the uri
    results of every /metrics URL (looped over the URLs)."""
    failures = []
    by_host = dict((r.get("item", {}).get("host"), r) for r in health_results or [])
    masters = [_master_state(m, by_host.get(m["host"])) for m in cluster.get("masters") or []]
    for master in masters:
        if not master["answered"]:
            failures.append("Store master on %s (%s): /health does not answer" % (master["host"], master["address"]))
    serving = [m for m in masters if m["serving"]]
    if masters and len(serving) != 1:
        failures.append("the Store has %d serving master(s) (%s); exactly one must lead" % (
            len(serving), ", ".join(m["host"] for m in serving) or "none"))
    leaders = set(m["leader_address"] for m in masters if m["leader_address"])
    if cluster.get("mode") == "ha" and len(leaders) > 1:
        failures.append("the Store's masters disagree on their leader: %s" % ", ".join(sorted(leaders)))
    metrics = []
    for result in metrics_results or []:
        url = result.get("item")
        ok = result.get("status") == 200
        metrics.append({"url": url, "ok": ok})
        if not ok:
            failures.append("metrics at %s: %s" % (url, result.get("msg") or "HTTP %s" % result.get("status")))
    failures.extend((put or {}).get("failures") or [])
    failures.extend((get or {}).get("failures") or [])
    objects = []
    got = dict((o["key"], o) for o in (get or {}).get("objects") or [])
    for obj in (put or {}).get("objects") or []:
        read = got.get(obj["key"]) or {}
        objects.append({"key": obj["key"], "size": obj["size"], "human": human_bytes(obj["size"]),
                        "put": bool(obj.get("ok")), "read_back": bool(read.get("ok"))})
    return {
        "mode": cluster.get("mode"),
        "master_server_address": cluster.get("server_address"),
        "masters": masters,
        "clients": [dict(c, human=human_bytes(int(c["global_segment_size"]))) for c in clients or []],
        "writer": writer,
        "reader": reader,
        "objects": objects,
        "put_mib_s": (put or {}).get("throughput_mib_s"),
        "get_mib_s": (get or {}).get("throughput_mib_s"),
        "metrics": metrics,
        "failures": failures,
    }


def store_lines(section):
    """The report's text lines for the Store section."""
    if not section:
        return []
    lines = ["", "Mooncake Store (%s, master_server_address %s)" % (section["mode"], section["master_server_address"])]
    for master in section["masters"]:
        role = master["role"] + (" (serving)" if master["serving"] else "")
        lines.append("  master %-10s %-22s %s" % (master["host"], master["address"], role))
    for client in section["clients"]:
        lines.append("  client %-10s %-22s segment %s" % (client["host"], client["name"], client["human"]))
    ok = [o for o in section["objects"] if o["put"] and o["read_back"]]
    lines.append("  objects put on %s, read back on %s: %d of %d (%s), put %s MiB/s, get %s MiB/s" % (
        section["writer"], section["reader"], len(ok), len(section["objects"]),
        ", ".join(o["human"] for o in section["objects"]), section["put_mib_s"], section["get_mib_s"]))
    return lines


def store_targets(cluster, clients, etcd_members):
    """Prometheus file_sd: ``[{targets, labels: {job}}]`` for the masters (/metrics on their
    metrics address), the store clients (/metrics on their HTTP port) and the etcd members
    (/metrics on their client port). Jobs without targets are left out."""
    jobs = [
        ("mooncake-master", ["%s:%s" % (m["metrics_address"], m["metrics_port"]) for m in (cluster or {}).get("masters") or []]),
        ("mooncake-store-client", [c["http"] for c in clients or [] if c.get("http")]),
        ("etcd", [m["endpoint"] for m in etcd_members or [] if m.get("endpoint")]),
    ]
    return [{"targets": targets, "labels": {"job": job}} for job, targets in jobs if targets]
