# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""RDMA devices, ports and GIDs of a host: through pyverbs when it imports, else by parsing
``ibv_devinfo -v`` and ``ibv_devices``, completed from sysfs (GID types and network devices).

Parsing is split from running so the parsers run on recorded outputs in unit tests. This file
imports nothing but the standard library (it also runs under Debian's /usr/bin/python3 in tests).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re
import socket

SYSFS_ROOT = "/sys/class/infiniband"
PACKAGE_HINT = "install the rdma-core utilities: ibverbs-utils on Debian/Ubuntu, libibverbs-utils on RHEL/Fedora"
PYVERBS_HINT = "Debian/Ubuntu ship it as python3-pyverbs, for the system Python only"
NO_KERNEL_SUPPORT = "Failed to get IB devices list"
NO_DEVICE = "No IB devices found"

# enum ibv_port_state, the kernel's phys_state, enum ibv_mtu, active_width and active_speed codes
PORT_STATES = {0: "NOP", 1: "DOWN", 2: "INIT", 3: "ARMED", 4: "ACTIVE", 5: "ACTIVE_DEFER"}
PHYS_STATES = {
    1: "SLEEP", 2: "POLLING", 3: "DISABLED", 4: "PORT_CONFIGURATION_TRAINING", 5: "LINK_UP",
    6: "LINK_ERROR_RECOVERY", 7: "PHY_TEST",
}
MTUS = {1: 256, 2: 512, 3: 1024, 4: 2048, 5: 4096}
WIDTHS = {1: "1X", 2: "4X", 4: "8X", 8: "12X", 16: "2X"}
SPEEDS = {1: 2.5, 2: 5.0, 4: 10.0, 8: 10.0, 16: 14.0, 32: 25.0, 64: 50.0, 128: 100.0, 256: 200.0}
LINK_LAYERS = {0: "Unspecified", 1: "InfiniBand", 2: "Ethernet"}
TRANSPORTS = {0: "InfiniBand", 1: "iWARP", 2: "usNIC", 3: "usNIC UDP", 4: "Unspecified"}

KEY_VALUE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?):\s*(.*?)\s*$")
GID_LINE = re.compile(r"^\s*GID\[\s*(\d+)\]:\s*([0-9A-Fa-f:.]+)\s*(?:,\s*(.*?))?\s*$")
NAMED_CODE = re.compile(r"^(.*?)\s*\((-?\d+)\)$")
GUID_HEX = re.compile(r"^[0-9A-Fa-f]{16}$")


# ----------------------------------------------------------------------------- small parsers


def _named_code(value):
    """'PORT_ACTIVE (4)' -> ('PORT_ACTIVE', 4); 'Ethernet' -> ('Ethernet', None)."""
    match = NAMED_CODE.match(value or "")
    if match:
        return match.group(1), int(match.group(2))
    return value, None


def format_guid(value):
    """A node GUID as ibv_devinfo and sysfs print it: four groups of four hex digits."""
    if value is None:
        return None
    if isinstance(value, int):
        text = "%016x" % value
    else:
        text = str(value).strip().lower().replace(":", "")
        if text.startswith("0x"):
            text = text[2:]
    if not GUID_HEX.match(text):
        return str(value).strip().lower()
    return ":".join(text[i:i + 4] for i in range(0, 16, 4))


def normalize_gid_type(raw, link_layer=None):
    """'RoCE v2' | 'RoCE v1' | 'IB' | None from ibv_devinfo's, sysfs' or pyverbs' spelling."""
    if raw is None:
        return None
    text = str(raw).strip().lower().replace(" ", "")
    if not text:
        return None
    if text.endswith("v2"):
        return "RoCE v2"
    if text.endswith("v1") or text == "ib":
        return "IB" if link_layer == "InfiniBand" else "RoCE v1"
    return str(raw).strip()


def gid_entry(index, text, gid_type=None, netdev=None, link_layer=None):
    """One GID table entry, or None for an all-zero (unused) one."""
    try:
        address = ipaddress.IPv6Address(u"%s" % text.strip())
    except ValueError:
        return None
    if int(address) == 0:
        return None
    mapped = address.ipv4_mapped
    return {
        "index": int(index),
        "gid": address.exploded,
        "address": "::ffff:%s" % mapped if mapped is not None else address.compressed,
        "ipv4": str(mapped) if mapped is not None else None,
        "type": normalize_gid_type(gid_type, link_layer),
        "netdev": netdev or None,
    }


def parse_gid_line(line, link_layer=None):
    """'GID[  3]:  ::ffff:10.0.0.1, RoCE v2[, eth0]' -> entry (None when not a GID line or zero)."""
    match = GID_LINE.match(line)
    if not match:
        return None
    gid_type = netdev = None
    for part in [p.strip() for p in (match.group(3) or "").split(",") if p.strip()]:
        if gid_type is None and re.search(r"roce|^ib$|v[12]$", part, re.IGNORECASE):
            gid_type = part
        elif netdev is None:
            netdev = part
    return gid_entry(match.group(1), match.group(2), gid_type, netdev, link_layer)


def _speed(value, code):
    """'25.0 Gbps (32)' -> ('25.0 Gbps', 25.0); 'invalid speed (0)' -> (None, None)."""
    match = re.match(r"^([0-9.]+)\s*Gbps", value or "")
    if match:
        return "%s Gbps" % match.group(1), float(match.group(1))
    if code in SPEEDS:
        return "%.1f Gbps" % SPEEDS[code], SPEEDS[code]
    return None, None


def _width(value, code):
    """'4X (2)' -> ('4X', 4); 'invalid widthX (0)' -> (None, None)."""
    match = re.match(r"^(\d+)X", value or "")
    if match:
        return "%sX" % match.group(1), int(match.group(1))
    if code in WIDTHS:
        return WIDTHS[code], int(WIDTHS[code][:-1])
    return None, None


def new_port(number):
    return {
        "port": number, "state": None, "state_code": None, "phys_state": None, "phys_state_code": None,
        "link_layer": None, "max_mtu": None, "active_mtu": None, "lid": None, "sm_lid": None,
        "active_width": None, "active_speed": None, "rate_gbps": None, "gid_table_len": None, "gids": [],
    }


def new_device(name):
    return {
        "name": name, "transport": None, "node_guid": None, "sys_image_guid": None, "fw_ver": None,
        "vendor_id": None, "vendor_part_id": None, "board_id": None, "phys_port_cnt": None, "ports": [],
    }


def _mtu(value, code):
    match = re.match(r"^(\d+)", value or "")
    if match:
        return int(match.group(1))
    return MTUS.get(code)


def _set_port_field(port, key, value, widths):
    name, code = _named_code(value)
    if key == "state":
        port["state_code"] = code
        port["state"] = PORT_STATES.get(code) or re.sub(r"^PORT_", "", name or "") or None
    elif key == "phys_state":
        port["phys_state_code"] = code
        port["phys_state"] = PHYS_STATES.get(code) or (name or None)
    elif key in ("max_mtu", "active_mtu"):
        port[key] = _mtu(name, code)
    elif key == "link_layer":
        port["link_layer"] = value or None
    elif key in ("port_lid", "sm_lid"):
        port["lid" if key == "port_lid" else "sm_lid"] = int(value) if value.isdigit() else None
    elif key == "gid_tbl_len":
        port["gid_table_len"] = int(value) if value.isdigit() else None
    elif key == "active_width":
        port["active_width"], widths[id(port)] = _width(name, code)
    elif key == "active_speed":
        port["active_speed"], speed = _speed(name, code)
        lanes = widths.get(id(port))
        port["rate_gbps"] = round(lanes * speed, 1) if lanes and speed else None


DEVICE_KEYS = ("fw_ver", "sys_image_guid", "vendor_id", "vendor_part_id", "board_id")
PORT_KEYS = ("state", "phys_state", "max_mtu", "active_mtu", "link_layer", "port_lid", "sm_lid",
             "gid_tbl_len", "active_width", "active_speed")


def parse_ibv_devinfo(text):
    """Devices, ports and GIDs from the stdout of ``ibv_devinfo`` or ``ibv_devinfo -v``
    (upstream rdma-core and MLNX_OFED layouts, tabs or spaces)."""
    devices = []
    device = port = None
    widths = {}
    for line in (text or "").splitlines():
        if device is not None and port is not None and "GID[" in line:
            entry = parse_gid_line(line, port["link_layer"])
            if entry is not None:
                port["gids"].append(entry)
            continue
        match = KEY_VALUE.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2)
        if key == "hca_id":
            device = new_device(value)
            devices.append(device)
            port = None
        elif device is None:
            continue
        elif key == "port" and value.isdigit():
            port = new_port(int(value))
            device["ports"].append(port)
        elif port is not None and key in PORT_KEYS:
            _set_port_field(port, key, value, widths)
        elif port is None and key == "transport":
            device["transport"] = _named_code(value)[0]
        elif port is None and key == "node_guid":
            device["node_guid"] = format_guid(value)
        elif port is None and key == "phys_port_cnt" and value.isdigit():
            device["phys_port_cnt"] = int(value)
        elif port is None and key in DEVICE_KEYS:
            device[key] = format_guid(value) if key == "sys_image_guid" else value
    for device in devices:
        for port in device["ports"]:
            # a GID line printed before link_layer cannot happen, but types need the link layer
            for entry in port["gids"]:
                if entry["type"] == "RoCE v1" and port["link_layer"] == "InfiniBand":
                    entry["type"] = "IB"
    return devices


def parse_ibv_devices(text):
    """[{'name', 'node_guid'}] from the stdout of ``ibv_devices`` (header lines skipped)."""
    found = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) != 2 or not GUID_HEX.match(fields[1]):
            continue
        found.append({"name": fields[0], "node_guid": format_guid(fields[1])})
    return found


# ----------------------------------------------------------------------------- sysfs


def _read(path):
    try:
        with open(path, "r") as handle:
            return handle.read().strip()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def _numeric_entries(path):
    try:
        return sorted(int(name) for name in os.listdir(path) if name.isdigit())
    except (IOError, OSError):
        return []


def sysfs_devices(sysfs_root=SYSFS_ROOT):
    try:
        return sorted(os.listdir(sysfs_root))
    except (IOError, OSError):
        return []


def complete_from_sysfs(devices, sysfs_root=SYSFS_ROOT):
    """Fill what the other source lacks (link layer, GIDs, GID type, GID netdev) from
    <sysfs_root>/<dev>/ports/<port>/{link_layer,gids,gid_attrs/types,gid_attrs/ndevs}.
    Returns True when sysfs supplied anything."""
    used = False
    for device in devices:
        for port in device["ports"]:
            base = os.path.join(sysfs_root, device["name"], "ports", str(port["port"]))
            if not os.path.isdir(base):
                continue
            if port["link_layer"] is None:
                port["link_layer"] = _read(os.path.join(base, "link_layer"))
                used = used or port["link_layer"] is not None
            by_index = dict((entry["index"], entry) for entry in port["gids"])
            for index in sorted(set(_numeric_entries(os.path.join(base, "gids"))) | set(by_index)):
                if index not in by_index:
                    entry = gid_entry(index, _read(os.path.join(base, "gids", str(index))) or "::")
                    if entry is None:
                        continue
                    port["gids"].append(entry)
                    by_index[index] = entry
                    used = True
                entry = by_index[index]
                if entry["type"] is None:
                    # reading the type of an unused GID fails with EINVAL; _read returns None
                    raw = _read(os.path.join(base, "gid_attrs", "types", str(index)))
                    entry["type"] = normalize_gid_type(raw, port["link_layer"])
                    used = used or entry["type"] is not None
                if entry["netdev"] is None:
                    entry["netdev"] = _read(os.path.join(base, "gid_attrs", "ndevs", str(index))) or None
                    used = used or entry["netdev"] is not None
            port["gids"].sort(key=lambda item: item["index"])
    return used


# ----------------------------------------------------------------------------- GID advice


def _link_local(entry):
    if entry["ipv4"] is not None:
        return entry["ipv4"].startswith("169.254.")
    return ipaddress.IPv6Address(u"%s" % entry["gid"]).is_link_local


def suggest_gid_index(port, device_name="DEV"):
    """(index, reason): the GID index a RoCE v2 deployment should use on this port
    (NCCL_IB_GID_INDEX, MC_GID_INDEX, ib_write_bw -x)."""
    if port.get("link_layer") == "InfiniBand":
        return None, "InfiniBand link layer: no RoCE GID index is needed (addressing uses the LID; GID 0 is the port GID)"
    gids = port.get("gids") or []
    if not gids and port.get("gid_table_len") is None:
        return None, "the GID table was not reported for this port"
    if not gids:
        return None, "no non-zero GID on this port: RoCE needs an IP address on the port's network device"
    v2 = [g for g in gids if g["type"] == "RoCE v2"]
    mapped = [g for g in v2 if g["ipv4"] is not None and not _link_local(g)]
    if mapped:
        g = mapped[0]
        return g["index"], "lowest RoCE v2 GID with an IPv4-mapped address (%s%s)" % (
            g["ipv4"], " on " + g["netdev"] if g["netdev"] else "")
    routable = [g for g in v2 if not _link_local(g)]
    if routable:
        return routable[0]["index"], "no IPv4-mapped RoCE v2 GID; lowest RoCE v2 GID that is not link-local (%s)" % (
            routable[0]["address"])
    if v2:
        return v2[0]["index"], (
            "only link-local RoCE v2 GIDs (%s): they do not route beyond the local segment; "
            "give the network device an IP address" % v2[0]["address"])
    unknown = [g for g in gids if g["type"] is None]
    if unknown:
        candidates = [g for g in unknown if g["ipv4"] is not None] or unknown
        return None, (
            "GID types unknown (ibv_devinfo printed none and sysfs gid_attrs is not readable); "
            "%s: %s; check /sys/class/infiniband/%s/ports/%s/gid_attrs/types/<index> "
            "for the one that says RoCE v2" % (
                "IPv4-mapped candidates" if candidates[0]["ipv4"] else "candidates",
                ", ".join("%d (%s)" % (g["index"], g["ipv4"] or g["address"]) for g in candidates),
                device_name, port.get("port")))
    return None, "no RoCE v2 GID on this port (types: %s): enable RoCE v2 or give the network device an IP address" % (
        ", ".join(sorted(set(g["type"] for g in gids))))


def add_suggestions(devices):
    for device in devices:
        for port in device["ports"]:
            port["suggested_gid_index"], port["suggested_gid_reason"] = suggest_gid_index(port, device["name"])
    return devices


# ----------------------------------------------------------------------------- sources


def import_pyverbs():
    import pyverbs.device  # pylint: disable=import-error
    return pyverbs.device


def _ifname(index):
    try:
        return socket.if_indextoname(index) if index else None
    except (OSError, ValueError, AttributeError):
        return None


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def collect_pyverbs(verbs):
    """Devices through pyverbs' device module (``verbs``). Raises whatever pyverbs raises."""
    devices = []
    for dev in verbs.get_device_list():
        name = _text(dev.name)
        device = new_device(name)
        device["node_guid"] = format_guid(getattr(dev, "guid", None))
        device["transport"] = TRANSPORTS.get(getattr(dev, "transport_type", None))
        ctx = verbs.Context(name=name)
        try:
            attr = ctx.query_device()
            device["phys_port_cnt"] = attr.phys_port_cnt
            device["fw_ver"] = _text(getattr(attr, "fw_version", None)) or None
            device["vendor_id"] = "0x%04x" % attr.vendor_id if getattr(attr, "vendor_id", None) is not None else None
            device["vendor_part_id"] = str(getattr(attr, "vendor_part_id", "")) or None
            device["sys_image_guid"] = format_guid(getattr(attr, "sys_image_guid", None))
            for number in range(1, attr.phys_port_cnt + 1):
                device["ports"].append(_pyverbs_port(ctx, number))
        finally:
            ctx.close()
        devices.append(device)
    return devices


def _pyverbs_port(ctx, number):
    attr = ctx.query_port(number)
    port = new_port(number)
    port["state_code"] = attr.state
    port["state"] = PORT_STATES.get(attr.state)
    port["phys_state_code"] = attr.phys_state
    port["phys_state"] = PHYS_STATES.get(attr.phys_state)
    port["link_layer"] = LINK_LAYERS.get(attr.link_layer)
    port["max_mtu"] = MTUS.get(attr.max_mtu)
    port["active_mtu"] = MTUS.get(attr.active_mtu)
    port["lid"] = attr.lid
    port["sm_lid"] = attr.sm_lid
    port["gid_table_len"] = attr.gid_tbl_len
    port["active_width"], lanes = _width(None, attr.active_width)
    port["active_speed"], speed = _speed(None, attr.active_speed)
    port["rate_gbps"] = round(lanes * speed, 1) if lanes and speed else None
    for index in range(attr.gid_tbl_len):
        gid_type = netdev = None
        try:
            gid = ctx.query_gid(number, index)
        except Exception:  # pylint: disable=broad-except  # pyverbs raises per unused entry on some drivers
            continue
        text = str(getattr(gid, "gid", gid))
        try:
            entry = ctx.query_gid_ex(number, index)
            gid_type = {0: "IB", 1: "RoCE v1", 2: "RoCE v2"}.get(entry.gid_type)
            netdev = _ifname(entry.ndev_ifindex)
        except Exception:  # pylint: disable=broad-except  # older rdma-core, or an unused entry
            try:
                gid_type = {0: "RoCE v1", 1: "RoCE v2"}.get(ctx.query_gid_type(number, index))
            except Exception:  # pylint: disable=broad-except
                gid_type = None
        entry = gid_entry(index, text, gid_type, netdev, port["link_layer"])
        if entry is not None:
            port["gids"].append(entry)
    return port


def _outcome(available, source, devices=None, reason=None, pyverbs_error=None, sysfs_used=False, notes=None):
    return {
        "available": available, "reason": reason, "source": source, "pyverbs_error": pyverbs_error,
        "sysfs_used": sysfs_used, "devices": devices if devices is not None else [], "notes": notes or [],
    }


def _first_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def collect_cli(run_command, get_bin_path, sysfs_root=SYSFS_ROOT):
    """(available, devices, reason, notes) from ``ibv_devices`` and ``ibv_devinfo -v``."""
    devinfo = get_bin_path("ibv_devinfo")
    listing = get_bin_path("ibv_devices")
    notes = []
    if not devinfo and not listing:
        seen = sysfs_devices(sysfs_root)
        return False, [], "ibv_devinfo and ibv_devices not found: %s%s" % (
            PACKAGE_HINT, "; %s lists %s" % (sysfs_root, ", ".join(seen)) if seen else ""), notes
    listed = None
    if listing:
        rc, out, err = run_command([listing])
        if rc != 0:
            if NO_KERNEL_SUPPORT in err:
                return False, [], "no RDMA support in this kernel: ibv_devices exited %d: %s" % (
                    rc, _first_line(err)), notes
            notes.append("ibv_devices exited %d: %s" % (rc, _first_line(err)))
        else:
            listed = parse_ibv_devices(out)
    devices = []
    if devinfo:
        rc, out, err = run_command([devinfo, "-v"])
        if rc != 0 and NO_KERNEL_SUPPORT in err:
            return False, [], "no RDMA support in this kernel: ibv_devinfo -v exited %d: %s" % (
                rc, _first_line(err)), notes
        devices = parse_ibv_devinfo(out)
        if rc != 0 and not (NO_DEVICE in err and not devices):
            notes.append("ibv_devinfo -v exited %d: %s" % (rc, _first_line(err)))
    else:
        notes.append("ibv_devinfo not found, ports and GIDs unknown: %s" % PACKAGE_HINT)
    if listed is not None:
        known = set(device["name"] for device in devices)
        guids = dict((item["name"], item["node_guid"]) for item in listed)
        for device in devices:
            device["node_guid"] = device["node_guid"] or guids.get(device["name"])
        for item in listed:
            if item["name"] not in known:
                device = new_device(item["name"])
                device["node_guid"] = item["node_guid"]
                devices.append(device)
                if devinfo:
                    notes.append("%s is listed by ibv_devices but ibv_devinfo printed nothing for it" % item["name"])
    return True, devices, None, notes


def gather(run_command, get_bin_path, use_pyverbs=True, sysfs_root=SYSFS_ROOT, pyverbs_loader=None):
    """Everything the module reports, from the first source that works."""
    pyverbs_loader = pyverbs_loader or import_pyverbs
    pyverbs_error = "not tried (use_pyverbs is false)"
    pyverbs_unavailable = None
    if use_pyverbs:
        try:
            verbs = pyverbs_loader()
        except Exception as exc:  # pylint: disable=broad-except  # ImportError, or a broken build
            pyverbs_error = "pyverbs did not import: %s: %s (%s)" % (type(exc).__name__, exc, PYVERBS_HINT)
        else:
            try:
                devices = collect_pyverbs(verbs)
            except Exception as exc:  # pylint: disable=broad-except  # PyverbsRDMAError and friends
                pyverbs_error = "%s: %s" % (type(exc).__name__, exc)
                pyverbs_unavailable = "no RDMA support in this kernel (pyverbs: %s)" % pyverbs_error
            else:
                used = complete_from_sysfs(devices, sysfs_root)
                return _outcome(True, "pyverbs", add_suggestions(devices), sysfs_used=used)
    available, devices, reason, notes = collect_cli(run_command, get_bin_path, sysfs_root)
    if not available:
        if pyverbs_unavailable and not (get_bin_path("ibv_devinfo") or get_bin_path("ibv_devices")):
            reason = "%s; %s" % (pyverbs_unavailable, reason)
        return _outcome(False, "none", reason=reason, pyverbs_error=pyverbs_error, notes=notes)
    used = complete_from_sysfs(devices, sysfs_root)
    return _outcome(True, "ibv_devinfo", add_suggestions(devices), pyverbs_error=pyverbs_error,
                    sysfs_used=used, notes=notes)


# ----------------------------------------------------------------------------- requirements


def _split_wanted(item):
    name, sep, port = str(item).partition(":")
    if sep and port.isdigit():
        return name, int(port)
    return str(item), None


def check_requirements(result, require_devices=None, require_active=False, require_link_layer=None):
    """Failures (one sentence each) for the requirements; each names what is missing and what was found."""
    failures = []
    wanted = [_split_wanted(item) for item in (require_devices or [])]
    if not wanted and not require_active and not require_link_layer:
        return failures
    if not result["available"]:
        failures.append("RDMA is unavailable: %s" % result["reason"])
    devices = dict((device["name"], device) for device in result["devices"])
    found = ", ".join(sorted(devices)) or "none"
    checked = []
    for name, port_number in wanted:
        device = devices.get(name)
        if device is None:
            failures.append("device %s not found; found: %s" % (name, found))
            continue
        ports = [p for p in device["ports"] if port_number is None or p["port"] == port_number]
        if port_number is not None and not ports:
            failures.append("%s port %d not found; %s has ports: %s" % (
                name, port_number, name, ", ".join(str(p["port"]) for p in device["ports"]) or "none"))
        checked.extend((name, p) for p in ports)
    if not wanted:
        checked = [(device["name"], p) for device in result["devices"] for p in device["ports"]]
        if result["available"] and not checked:
            failures.append("no RDMA port found to check; found devices: %s" % found)
    for name, port in checked:
        if require_active and port["state"] != "ACTIVE":
            failures.append("%s port %d is %s (physical state %s), not ACTIVE" % (
                name, port["port"], port["state"] or "in an unknown state", port["phys_state"] or "unknown"))
        if require_link_layer and port["link_layer"] != require_link_layer:
            failures.append("%s port %d link layer is %s, not %s" % (
                name, port["port"], port["link_layer"] or "unknown", require_link_layer))
    return failures
