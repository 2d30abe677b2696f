# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``verify_table`` and ``deployment_svg``: the verification report for people.

Both read the report the verify role writes as JSON (a list of ``{host, instances}``, each
instance as returned by the ``instance_status`` module). Standard library only: the SVG is
written by hand, so the controller needs nothing new.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from xml.sax.saxutils import escape

from ansible_collections.mooncake.deploy.plugins.module_utils.socket_report import covered_from_nft, socket_report

TABLE_FORMAT = "%-10s %-10s %-8s %-21s %-8s %-6s %-5s %s"
MIB = 1 << 20

# Picture geometry (px).
MARGIN = 20
HOST_W = 250
HOST_GAP = 70
HEADER_H = 44
BOX_H = 52
BOX_GAP = 26
ETCD_H = 40
TOP = 96
LINE_H = 18
OK_COLOR = "#2e7d32"
BAD_COLOR = "#c62828"
NONE_COLOR = "#757575"


def _transfer_text(transfer):
    result = transfer.get("result") or {}
    if not transfer.get("ok"):
        return "%s FAILED" % transfer["peer"]
    return "%s %.2f/%.2f ok %d B" % (
        transfer["peer"], result.get("write_gib_per_s") or 0, result.get("read_gib_per_s") or 0, result.get("bytes") or 0)


def _mark(ok):
    return "ok" if ok else ("-" if ok is None else "WRONG")


def verify_table(report):
    """The report as aligned text lines: one header, one line per instance."""
    lines = [TABLE_FORMAT % ("host", "instance", "role", "segment", "unit", "port", "etcd",
                             "transfers (write/read GiB/s, bytes compared)")]
    for host in report:
        for entry in host.get("instances") or []:
            lines.append(TABLE_FORMAT % (
                host["host"], entry["instance"], entry["role"], entry["segment"],
                entry["unit"].get("ActiveState", "?"), _mark(entry["port"]["ok"]), _mark(entry["etcd"]["ok"]),
                ", ".join(_transfer_text(t) for t in entry["transfers"]) or "-"))
    return lines


# ---------------------------------------------------------------- the picture

def verify_targets(plans):
    """What instance_status checks of each planned instance (mooncake_instances_plan) of a host."""
    return [
        {
            "name": plan["name"], "port": plan["port"], "address": plan["address"], "segment": plan["segment"],
            "role": plan["role"], "metadata_server": plan["metadata_server"], "transfers": not plan.get("command"),
            "p2p": bool(plan.get("p2p")),
        }
        for plan in plans or []
    ]


def verify_decode_peers(hosts, hostvars, p2p_key=None):
    """Every decode instance of `hosts`, from each host's mooncake_instances_plan. An agent on
    P2PHANDSHAKE is reached at the port its engine picked: read from the host's registered
    instance_status result `p2p_key` (its segment), else the peer carries why it is unknown."""
    peers = []
    for host in hosts or []:
        variables = hostvars[host]
        plans = variables.get("mooncake_instances_plan") if "mooncake_instances_plan" in variables else None
        asked = (variables.get(p2p_key) if p2p_key and p2p_key in variables else None) or {}
        picked = dict((entry["instance"], entry) for entry in asked.get("instances") or [])
        for plan in plans or []:
            if plan.get("role") != "decode" or plan.get("kind") in ("vllm", "sglang"):
                continue
            peer = {"host": host, "name": plan["name"], "segment": plan["segment"], "metadata_server": plan["metadata_server"]}
            if plan.get("p2p"):
                entry = picked.get(plan["name"])
                known = entry is not None and entry["port"]["ok"]
                peer["segment"] = entry["segment"] if known else ""
                peer["problem"] = None if known else (
                    entry["port"]["problem"] if entry else "%s was not asked which port its engine picked" % host)
            peers.append(peer)
    return peers


def verify_collect(hosts, hostvars, key):
    """The report: per host, the instances and failures of its registered instance_status result `key`."""
    report = []
    for host in hosts or []:
        variables = hostvars[host]
        status = (variables.get(key) if key in variables else None) or {}
        report.append({"host": host, "instances": status.get("instances") or [], "failures": status.get("failures") or []})
    return report


def verify_sockets(hosts, hostvars, key, nft_key=None):
    """Per host, the listening sockets of the collection's units (port_bindings' listeners in the
    registered result ``key``), each flagged when anyone on the network reaches it: the ports the
    collection's firewall filters there are read from the table the host has loaded (the
    registered result ``nft_key`` of ``nft list table inet mooncake``)."""
    reports = []
    for host in hosts or []:
        variables = hostvars[host]
        result = (variables.get(key) if key in variables else None) or {}
        if "listeners" not in result:  # not listed (skipped, or not a host of the deployment)
            continue
        table = (variables.get(nft_key) if nft_key and nft_key in variables else None) or {}
        covered = covered_from_nft(table.get("stdout")) if table.get("rc") == 0 else []
        reports.append(socket_report(host, result.get("listeners") or [], covered))
    return reports


def _text(x, y, content, size=12, weight="normal", anchor="start", color="#212121"):
    return '<text x="%d" y="%d" font-size="%d" font-weight="%s" text-anchor="%s" fill="%s">%s</text>' % (
        x, y, size, weight, anchor, color, escape(str(content)))


def _rect(x, y, w, h, stroke, fill, radius=6, dash=None):
    return '<rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="%s" stroke-width="1.5"%s/>' % (
        x, y, w, h, radius, fill, stroke, ' stroke-dasharray="5 3"' if dash else "")


def _instance_ok(entry):
    checks = [entry["unit_ok"], entry["port"]["ok"], entry["etcd"]["ok"] is not False]
    return all(checks) and all(t["ok"] for t in entry["transfers"])


def _etcd_endpoints(report):
    endpoints = []
    for host in report:
        for entry in host.get("instances") or []:
            server = entry.get("metadata_server") or ""
            if server.startswith("etcd://"):
                for endpoint in server[len("etcd://"):].split(","):
                    if endpoint and endpoint not in endpoints:
                        endpoints.append(endpoint)
    return endpoints


def _columns(report, etcd_hosts, store=None):
    """Hosts left to right: etcd members first, then the instance hosts, then Store hosts not yet
    shown; each with its etcd endpoints, instances and Store masters and clients."""
    columns, by_name = [], {}

    def column_of(host, address=""):
        if host not in by_name:
            by_name[host] = {"host": host, "address": address, "etcd": [], "instances": [], "store": []}
            columns.append(by_name[host])
        return by_name[host]

    for member in etcd_hosts or []:
        column_of(member["host"], member.get("address", ""))
    for host in report:
        column = column_of(host["host"])
        column["instances"] = host.get("instances") or []
        if not column["address"] and column["instances"]:
            column["address"] = column["instances"][0]["segment"].rsplit(":", 1)[0]
    for endpoint in _etcd_endpoints(report):
        address = endpoint.rsplit(":", 1)[0]
        owner = next((c for c in columns if c["address"] == address), None)
        if owner is None:  # an etcd outside the inventory
            owner = {"host": "etcd %s" % address, "address": address, "etcd": [], "instances": [], "store": []}
            columns.insert(0, owner)
        owner["etcd"].append(endpoint)
    for column in columns:
        if not column["etcd"] and any(m["host"] == column["host"] for m in etcd_hosts or []):
            member = next(m for m in etcd_hosts if m["host"] == column["host"])
            column["etcd"].append(member.get("endpoint") or "%s:%s" % (column["address"], member.get("client_port", 2379)))
    for master in (store or {}).get("masters") or []:
        column = column_of(master["host"], master.get("address", "").rsplit(":", 1)[0])
        column["store"].append(("master", master))
    for client in (store or {}).get("clients") or []:
        column_of(client["host"])["store"].append(("client", client))
    return columns


def _store_box(kind, item):
    """(title, detail, stroke, fill) of a Store master or client box."""
    if kind == "client":
        return "store client %s" % item["name"], "segment %s" % item.get("human", "?"), "#6a1b9a", "#f3e5f5"
    if not item.get("answered", True):
        return "Store master", "%s: /health does not answer" % item.get("address", ""), BAD_COLOR, "#ffebee"
    role = item.get("role") or "?"
    stroke = OK_COLOR if item.get("serving") else "#6a1b9a"
    return "Store master (%s%s)" % (role, ", serving" if item.get("serving") else ""), "rpc %s" % item.get("address", ""), stroke, "#f3e5f5"


def _store_legend(store):
    """The legend line of the Store's put/get proof."""
    objects = store.get("objects") or []
    ok = [o for o in objects if o.get("put") and o.get("read_back")]
    color = OK_COLOR if objects and len(ok) == len(objects) and not store.get("failures") else BAD_COLOR
    return color, "Store (%s, %s): objects put on %s, read back on %s: %d of %d (%s), bytes compared, put %s MiB/s, get %s MiB/s" % (
        store.get("mode"), store.get("master_server_address"), store.get("writer"), store.get("reader"), len(ok),
        len(objects), ", ".join(o.get("human", "") for o in objects), store.get("put_mib_s"), store.get("get_mib_s"))


def _arrow(start, end, same_column, color, dash):
    """A cubic curve between two box edges (a straight line within a host)."""
    (x1, y1), (x2, y2) = start, end
    if same_column:
        c1, c2 = (x1, y1), (x2, y2)
    else:
        bend = (x2 - x1) / 2.0
        c1, c2 = (x1 + bend, y1), (x2 - bend, y2)
    dasharray = ' stroke-dasharray="4 3"' if dash else ""
    marker = "ok" if color == OK_COLOR else "bad"
    return ('<path d="M %d %d C %d %d, %d %d, %d %d" fill="none" stroke="%s" stroke-width="1.8"%s '
            'marker-end="url(#arrow-%s)"/>' % (x1, y1, c1[0], c1[1], c2[0], c2[1], x2, y2, color, dasharray, marker))


def deployment_svg(report, etcd_hosts=None, title="mooncake.deploy - deployment", store=None):
    """An SVG picture of the deployment: hosts, etcd, instances with their ports and state,
    transfers, and the Store (masters with their role, clients with their segment, the put/get proof)."""
    columns = _columns(report, etcd_hosts, store)
    boxes = {}  # (host, instance) -> (x, y) of the instance box
    body = []
    height = 0
    for index, column in enumerate(columns):
        x = MARGIN + index * (HOST_W + HOST_GAP)
        y = TOP + HEADER_H
        for endpoint in column["etcd"]:
            body.append(_rect(x + 12, y, HOST_W - 24, ETCD_H, "#1565c0", "#e3f2fd"))
            body.append(_text(x + 24, y + 17, "etcd", 13, "bold", color="#0d47a1"))
            body.append(_text(x + 24, y + 33, "client %s" % endpoint, 11))
            y += ETCD_H + BOX_GAP
        for entry in column["instances"]:
            ok = _instance_ok(entry)
            color = OK_COLOR if ok else BAD_COLOR
            body.append(_rect(x + 12, y, HOST_W - 24, BOX_H, color, "#e8f5e9" if ok else "#ffebee"))
            body.append(_text(x + 24, y + 18, "%s (%s)" % (entry["instance"], entry["role"]), 13, "bold"))
            # An agent on P2PHANDSHAKE that did not answer has no port in its segment.
            port = entry["segment"].rsplit(":", 1)[1] if entry["segment"].rsplit(":", 1)[-1].isdigit() else "unknown"
            body.append(_text(x + 24, y + 36, "port %s, unit %s, etcd %s" % (
                port, entry["unit"].get("ActiveState", "?"), _mark(entry["etcd"]["ok"])), 11))
            boxes[(column["host"], entry["instance"])] = (x + 12, y)
            y += BOX_H + BOX_GAP
        for kind, item in column["store"]:
            heading, detail, stroke, fill = _store_box(kind, item)
            body.append(_rect(x + 12, y, HOST_W - 24, ETCD_H, stroke, fill))
            body.append(_text(x + 24, y + 17, heading, 12, "bold", color="#4a148c"))
            body.append(_text(x + 24, y + 33, detail, 11))
            y += ETCD_H + BOX_GAP
        column["height"] = y - TOP + 4
        height = max(height, column["height"])
    host_boxes = []
    for index, column in enumerate(columns):
        x = MARGIN + index * (HOST_W + HOST_GAP)
        host_boxes.append(_rect(x, TOP, HOST_W, height, "#424242", "#fafafa", 8))
        host_boxes.append(_text(x + 12, TOP + 20, column["host"], 15, "bold"))
        host_boxes.append(_text(x + 12, TOP + 36, column["address"], 11, color="#616161"))
        # The metadata bus: every host hangs from it.
        host_boxes.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1565c0" stroke-dasharray="5 3"/>' % (
            x + HOST_W / 2, TOP - 30, x + HOST_W / 2, TOP))

    arrows, legend = [], []
    for host in report:
        for entry in host.get("instances") or []:
            for transfer in entry["transfers"]:
                peer_host, peer_name = transfer["peer"].split("/", 1)
                source, target = boxes.get((host["host"], entry["instance"])), boxes.get((peer_host, peer_name))
                color = OK_COLOR if transfer["ok"] else BAD_COLOR
                if source and target:
                    same = source[0] == target[0]
                    if same:  # down (or up) through the gap between the two boxes
                        down = target[1] > source[1]
                        start = (source[0] + 60, source[1] + (BOX_H if down else 0))
                        end = (target[0] + 60, target[1] + (0 if down else BOX_H))
                    elif target[0] > source[0]:
                        start = (source[0] + HOST_W - 24, source[1] + BOX_H / 2)
                        end = (target[0], target[1] + BOX_H / 2)
                    else:
                        start = (source[0], source[1] + BOX_H / 2 + 8)
                        end = (target[0] + HOST_W - 24, target[1] + BOX_H / 2 + 8)
                    arrows.append(_arrow(start, end, same, color, not transfer["ok"]))
                result = transfer.get("result") or {}
                if transfer["ok"]:
                    detail = "%d MiB x %d, bytes compared: equal, write %.2f GiB/s, read %.2f GiB/s" % (
                        (result.get("bytes") or 0) // MIB, result.get("rounds") or 1,
                        result.get("write_gib_per_s") or 0, result.get("read_gib_per_s") or 0)
                else:
                    detail = "FAILED: %s" % (result.get("error") or ("bytes differ" if result.get("match") is False else "no result"))
                legend.append((color, "%s/%s -> %s (%s): %s" % (host["host"], entry["instance"], transfer["peer"],
                                                                transfer["segment"], detail)))

    width = max(MARGIN * 2 + len(columns) * HOST_W + max(len(columns) - 1, 0) * HOST_GAP, 640)
    endpoints = _etcd_endpoints(report)
    bus = ['<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1565c0" stroke-width="2" stroke-dasharray="5 3"/>' % (
        MARGIN + HOST_W / 2, TOP - 30, MARGIN + HOST_W / 2 + max(len(columns) - 1, 0) * (HOST_W + HOST_GAP), TOP - 30),
        _text(MARGIN, TOP - 40, "metadata: etcd://%s (every instance registers mooncake/rpc_meta/IP:PORT)"
              % ",".join(endpoints) if endpoints else "metadata: no etcd", 11, color="#0d47a1")]
    if store and store.get("objects") is not None:
        legend.append(_store_legend(store))
    legend_top = TOP + height + 34
    lines = [_text(MARGIN, legend_top, "transfers (prefill -> decode: write, read back, compare)", 13, "bold")]
    for number, (color, line) in enumerate(legend or [(NONE_COLOR, "none")]):
        lines.append(_text(MARGIN + 10, legend_top + (number + 1) * LINE_H, line, 11, color=color))
    total_h = legend_top + (len(legend or [0]) + 1) * LINE_H
    width = max(width, MARGIN * 2 + 7 * max([len(line) for _color, line in legend] + [0]))
    markers = "".join(
        '<marker id="arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="%s"/></marker>' % (name, color)
        for name, color in (("ok", OK_COLOR), ("bad", BAD_COLOR)))
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">' % (width, total_h, width, total_h),
        "<title>%s</title>" % escape(title),
        "<defs>%s</defs>" % markers,
        '<rect x="0" y="0" width="%d" height="%d" fill="white"/>' % (width, total_h),
        _text(MARGIN, 26, title, 16, "bold"),
    ] + bus + host_boxes + body + arrows + lines + ["</svg>"]
    return "\n".join(parts) + "\n"


class FilterModule(object):
    def filters(self):
        return {
            "verify_table": verify_table,
            "deployment_svg": deployment_svg,
            "verify_targets": verify_targets,
            "verify_decode_peers": verify_decode_peers,
            "verify_collect": verify_collect,
            "verify_sockets": verify_sockets,
        }
