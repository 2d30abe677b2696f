# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Every listening socket of the deployment on a host, and which of them anyone on the network reaches.

The engine binds its RPC and data ports on every address whatever MC_TCP_BIND_ADDRESS says, and
the Store's clients do the same for their HTTP and transfer ports (measured). A socket is
flagged when it listens on an address other hosts can reach (a wildcard or a non-loopback
address) and no rule of the collection's firewall (the firewall role's table) limits who
connects to its port.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# The units the collection writes: mooncake-etcd, mooncake-master, mooncake-instance@,
# mooncake-store-client@, mooncake-router.
UNIT_PREFIX = "mooncake-"


def _covered(port, covered):
    for entry in covered or []:
        low, high = (entry, entry) if isinstance(entry, int) else (int(entry[0]), int(entry[1]))
        if low <= port <= high:
            return True
    return False


def _scope(address):
    """'every address', 'loopback' or 'this address'."""
    if address in ("0.0.0.0", "::"):
        return "every address"
    try:
        ip = ipaddress.ip_address(address.replace("::ffff:", "") if address.startswith("::ffff:") else address)
    except ValueError:
        return "this address"
    return "loopback" if ip.is_loopback else "this address"


# The drop rule of the collection's table, as `nft list table inet mooncake` prints it.
_DROP = re.compile(r"th dport \{ ([^}]*) \}[^\n]* drop")


def covered_from_nft(text):
    """The ports ([low, high]) the collection's loaded table drops for everyone not allowed, from
    the output of ``nft list table inet mooncake`` ([] without the table)."""
    covered = []
    for match in _DROP.finditer(text or ""):
        for element in match.group(1).split(","):
            element = element.strip()
            low, _sep, high = element.partition("-")
            if low.isdigit() and (not high or high.isdigit()):
                covered.append([int(low), int(high or low)])
    return covered


def socket_report(host, listeners, covered=None):
    """{host, sockets: [{address, port, unit, process, scope, exposed, why}], exposed: N} for the
    sockets held by the collection's units; covered: the ports ([low, high] or a port) the
    collection's firewall filters on this host."""
    sockets = []
    for listener in listeners or []:
        process = listener.get("process") or {}
        unit = process.get("unit") or ""
        if not unit.startswith(UNIT_PREFIX):
            continue
        port = int(listener["port"])
        scope = _scope(listener["address"])
        filtered = _covered(port, covered)
        exposed = scope != "loopback" and not filtered
        if scope == "loopback":
            why = "loopback only"
        elif filtered:
            why = "the collection's firewall lets only the deployment's hosts connect"
        else:
            why = "listens on %s and no firewall rule of the collection limits who connects" % scope
        sockets.append({"address": listener["address"], "port": port, "unit": unit, "process": process.get("name"),
                        "scope": scope, "exposed": exposed, "why": why})
    sockets.sort(key=lambda s: (s["unit"], s["port"], s["address"]))
    return {"host": host, "sockets": sockets, "exposed": len([s for s in sockets if s["exposed"]])}


def socket_lines(reports):
    """The report's text lines: one per socket, exposed ones marked."""
    if not reports:
        return []
    lines = ["", "Listening sockets of the deployment (EXPOSED: reachable by any host of the network)"]
    for report in reports:
        for entry in report["sockets"]:
            lines.append("  %-8s %-32s %-26s %-14s %s" % (
                report["host"], entry["unit"], "%s:%d" % (entry["address"], entry["port"]),
                "EXPOSED" if entry["exposed"] else "limited", entry["why"]))
    total = sum(r["exposed"] for r in reports)
    lines.append("  %d exposed socket(s) on %d host(s)" % (total, len([r for r in reports if r["exposed"]])))
    return lines
