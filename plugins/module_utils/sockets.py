# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Listening sockets from procfs, with the process and systemd unit that hold each.

Parsing is split from reading so the parsers run on recorded /proc files in unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import socket
import struct

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"
UNIT_PATTERN = re.compile(r"([^/]+\.(?:service|scope))(?:/|$)")


def _decode_address(hexaddr, family):
    """/proc/net/tcp stores addresses as host-order 32-bit words in hex."""
    raw = bytes.fromhex(hexaddr)
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    words = struct.unpack(">4I", raw)
    return socket.inet_ntop(socket.AF_INET6, struct.pack("<4I", *words))


def parse_proc_net(text, family, protocol):
    """Return listeners from the text of /proc/net/{tcp,tcp6,udp,udp6}."""
    wanted = TCP_LISTEN if protocol == "tcp" else UDP_UNCONNECTED
    listeners = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != wanted:
            continue
        address, port = fields[1].split(":")
        listeners.append(
            {
                "protocol": protocol if family == socket.AF_INET else protocol + "6",
                "address": _decode_address(address, family),
                "port": int(port, 16),
                "inode": int(fields[9]),
            }
        )
    return listeners


def unit_from_cgroup(text):
    """The systemd unit of a process, from the text of /proc/PID/cgroup (v1 or v2)."""
    fallback = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        match = None
        for match in UNIT_PATTERN.finditer(parts[2]):
            pass  # the innermost unit is the last one on the path
        if match is None:
            continue
        # cgroup v2 (0::) or the v1 name=systemd hierarchy are authoritative.
        if parts[0] == "0" or parts[1] == "name=systemd":
            return match.group(1)
        fallback = fallback or match.group(1)
    return fallback


def _read(path):
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def socket_owners(proc="/proc"):
    """Map socket inode -> pid by walking /proc/PID/fd (needs root to see every process)."""
    owners = {}
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except (IOError, OSError):
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except (IOError, OSError):
                continue
            if target.startswith("socket:["):
                owners.setdefault(int(target[8:-1]), int(pid))
    return owners


def process_info(pid, proc="/proc"):
    cmdline = _read(os.path.join(proc, str(pid), "cmdline")) or ""
    return {
        "pid": pid,
        "name": (_read(os.path.join(proc, str(pid), "comm")) or "").strip(),
        "cmdline": " ".join(part for part in cmdline.split("\0") if part),
        "unit": unit_from_cgroup(_read(os.path.join(proc, str(pid), "cgroup")) or ""),
    }


def read_listeners(proc="/proc", protocols=("tcp",)):
    """All listening sockets of the host, each with the process and unit that hold it."""
    listeners = []
    for protocol in protocols:
        for suffix, family in (("", socket.AF_INET), ("6", socket.AF_INET6)):
            text = _read(os.path.join(proc, "net", protocol + suffix))
            if text:
                listeners.extend(parse_proc_net(text, family, protocol))
    owners = socket_owners(proc)
    infos = {}
    for listener in listeners:
        pid = owners.get(listener.pop("inode"))
        if pid is not None and pid not in infos:
            infos[pid] = process_info(pid, proc)
        listener["process"] = infos.get(pid)
    return listeners


def matches_address(listener_address, wanted):
    """A wildcard listener (0.0.0.0 or ::) serves every address, so it matches any."""
    if wanted in (None, "", "*"):
        return True
    return listener_address in (wanted, "0.0.0.0", "::") or listener_address == "::ffff:" + wanted


def check_expectations(listeners, expectations):
    """Compare expectations with the socket table; return (results, failures)."""
    results = []
    failures = []
    for expect in expectations:
        port = int(expect["port"])
        wanted_address = expect.get("address")
        state = expect.get("state") or "listening"
        holders = [
            entry for entry in listeners
            if entry["port"] == port and matches_address(entry["address"], wanted_address)
            and entry["protocol"].rstrip("6") == expect.get("protocol", "tcp")
        ]
        problem = None
        if state == "free" and holders:
            problem = "port %d should be free but is held by %s" % (port, describe(holders))
        elif state == "available" and holders and not all(_held_as_expected(h, expect) for h in holders):
            # Free, or already held by the service it is meant for (a re-run of a deploy).
            owner = expect.get("unit") or ("process %s" % expect["process"] if expect.get("process") else None)
            problem = "port %d should be free%s but is held by %s" % (
                port, " or held by %s" % owner if owner else "", describe(holders))
        elif state == "listening":
            if not holders:
                problem = "nothing listens on port %d%s" % (port, " at " + wanted_address if wanted_address else "")
            elif expect.get("unit") and any((h["process"] or {}).get("unit") != expect["unit"] for h in holders):
                problem = "port %d should be held by %s but is held by %s" % (port, expect["unit"], describe(holders))
            elif expect.get("process") and any((h["process"] or {}).get("name") != expect["process"] for h in holders):
                problem = "port %d should be held by process %s but is held by %s" % (port, expect["process"], describe(holders))
        if problem and expect.get("label"):
            problem = "%s: %s" % (expect["label"], problem)
        result = dict(expect, port=port, state=state, ok=problem is None, problem=problem, holders=holders)
        results.append(result)
        if problem:
            failures.append(problem)
    return results, failures


def _held_as_expected(holder, expect):
    """True when holder is the unit (or process) the expectation names."""
    process = holder.get("process") or {}
    if expect.get("unit"):
        return process.get("unit") == expect["unit"]
    if expect.get("process"):
        return process.get("name") == expect["process"]
    return False


def describe(holders):
    parts = []
    for holder in holders:
        process = holder.get("process")
        if process is None:
            parts.append("%s:%d (process not visible: run as root with CAP_SYS_PTRACE)" % (holder["address"], holder["port"]))
        else:
            parts.append(
                "%s:%d pid %d (%s, unit %s)"
                % (holder["address"], holder["port"], process["pid"], process["cmdline"] or process["name"], process["unit"] or "none")
            )
    return "; ".join(parts)
