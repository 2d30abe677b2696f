# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Turn a host's ``mooncake_store_clients`` list into a checked plan.

A store client is Mooncake's standalone ``mooncake_client``: it connects to the Store master,
lends the Store ``global_segment_size`` bytes of pinned memory (plus ``local_buffer_size`` for
its own transfers) and serves dummy clients (vLLM, SGLang) on its port. Each client of a host
gets its own unit instance, flagfile and environment file, its own service and health ports, and
its own ranges for the engine's random ports and the Store's client connections, apart from each
other and from the host's other services (etcd, the master, transfer-engine instances).

One implementation serves the validation (every problem at once, before any change) and the
files the role writes (the flagfile lines and the environment lines come from the plan), so
what is checked is exactly what runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from fractions import Fraction

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_env import env_problems
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import (
    DEFAULT_EPHEMERAL_RANGE,
    ETCD_ENDPOINT,
    PROTOCOLS,
    _check_metadata_server,
    _check_port,
    _env_text,
    _int,
    _name_problem,
    _overlaps,
    metadata_endpoints,
    plan_instances,
)
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_checks import reserved_ports
from ansible_collections.mooncake.deploy.plugins.module_utils.unit_syntax import env_value
from ansible_collections.mooncake.deploy.plugins.module_utils.values import is_ip, url_host

KNOWN_KEYS = frozenset(
    (
        "name", "port", "http_port", "global_segment_size", "local_buffer_size", "protocol",
        "device_names", "metadata_server", "master_server_address", "tenant_id", "threads",
        "rpc_port_range", "store_port_range", "env",
    )
)
# Mooncake's own defaults (mooncake_client --help): the Store's segment and no local buffer.
DEFAULT_GLOBAL_SEGMENT_SIZE = "4 GB"
DEFAULT_LOCAL_BUFFER_SIZE = 0
DEFAULT_MEMORY_FRACTION = 0.9
DEFAULT_RANGE_SIZE = 100
UNIT_PATTERN = re.compile(r"^mooncake-store-client@(?P<name>.+)\.service$")
# Variables the environment file sets from the plan, and what to set instead.
MANAGED_ENV = {
    "MC_MIN_RPC_PORT": "keeps the client's engine ports in its own rpc_port_range; set rpc_port_range instead",
    "MC_MAX_RPC_PORT": "keeps the client's engine ports in its own rpc_port_range; set rpc_port_range instead",
    "MC_STORE_CLIENT_MIN_PORT": "keeps the client's connection ports in its own store_port_range; set store_port_range instead",
    "MC_STORE_CLIENT_MAX_PORT": "keeps the client's connection ports in its own store_port_range; set store_port_range instead",
    "MC_TCP_BIND_ADDRESS": "sends peers to the client's own address; set mooncake_store_client_address instead",
}
# Mooncake's string_to_byte_size (mooncake-store/include/utils.h): the number, optional spaces,
# a unit compared in upper case; every unit is a power of 1024. KiB... mean the same here.
_SIZE = re.compile(r"^(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[A-Za-z]*)$")
_UNITS = {"": 1, "B": 1}
for _power, _letter in enumerate("KMGT", start=1):
    for _unit in (_letter, _letter + "B", _letter + "IB"):
        _UNITS[_unit] = 1024 ** _power
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_MEMINFO_TOTAL = re.compile(r"^MemTotal:\s+(?P<value>\d+)\s*(?P<unit>[kKmMgG]?B)?\s*$", re.MULTILINE)
SIZE_FORMS = (
    "write bytes (4294967296) or a number with a unit, K/KB/KiB, M/MB/MiB, G/GB/GiB or T/TB/TiB "
    "(each 1024-based, as Mooncake reads them), e.g. '4 GB'"
)


def parse_size(value):
    """Bytes that ``value`` stands for (an int, or a string as Mooncake parses it), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    match = _SIZE.match(value.strip())
    if match is None or match.group("unit").upper() not in _UNITS:
        return None
    # Mooncake multiplies a double and truncates: 1.5 GB is 1610612736 bytes.
    return int(Fraction(match.group("number")) * _UNITS[match.group("unit").upper()])


def human_bytes(count):
    """``count`` bytes in the largest binary unit it fills: '4.0 GiB', '512.0 MiB', '0 B'."""
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if count >= 1024 ** power:
            return "%.1f %s" % (count / float(1024 ** power), unit)
    return "%d B" % count


def meminfo_bytes(text):
    """MemTotal of /proc/meminfo's ``text`` in bytes (the kernel's kB are KiB), None if absent."""
    match = _MEMINFO_TOTAL.search(text or "")
    if match is None:
        return None
    unit = (match.group("unit") or "B").upper()
    return int(match.group("value")) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[unit]


def _master_problem(value):
    """Why ``value`` cannot be a master_server_address (None when it can)."""
    if value in (None, ""):
        return (
            "master_server_address is empty: no Store master is known; add a host to the group "
            "mooncake_master or set mooncake_store_client_master_server_address (IP:PORT of the master's RPC port)"
        )
    if isinstance(value, str) and value.startswith("etcd://"):
        endpoints = value[len("etcd://"):].split(";")
    else:
        endpoints = [value]
    for endpoint in endpoints:
        match = ETCD_ENDPOINT.match(endpoint) if isinstance(endpoint, str) else None
        if match is None or not 1 <= int(match.group("port")) <= 65535:
            return (
                "master_server_address %r is not usable; write IP:PORT of the one Store master (its RPC port, "
                "50051 by default) or etcd://IP:PORT[;IP:PORT] of the etcd members HA masters elect their leader on"
                % (value,)
            )
        host = match.group("name") or match.group("ip6")
        if is_ip(host) and ipaddress.ip_address(host).is_unspecified:
            return (
                "master_server_address %s points at %s, an address to listen on, not one to connect to; "
                "use the master's real address" % (value, host)
            )
    return None


def _range(errors, where, field, given, planned, ephemeral):
    """The checked [low, high] of a port range (the given one, else the planned one), or None."""
    value = planned if given is None else given
    value = [_int(p) for p in value] if isinstance(value, (list, tuple)) and len(value) == 2 else None
    if value is None or None in value:
        errors.append("%s: %s %r must be [low, high], two whole numbers" % (where, field, given if given is not None else planned))
        return None
    if value[0] > value[1]:
        errors.append("%s: %s [%d, %d] has low above high" % ((where, field) + tuple(value)))
        return None
    if not (_check_port(errors, where, field + " low", value[0], ephemeral)
            and _check_port(errors, where, field + " high", value[1], ephemeral)):
        return None
    if _overlaps(value, ephemeral):
        errors.append(
            "%s: %s %d-%d overlaps the kernel's ephemeral range %d-%d; move it below %d"
            % (where, field, value[0], value[1], ephemeral[0], ephemeral[1], ephemeral[0])
        )
        return None
    return value


def _sizes(errors, where, raw, settings):
    """(global_segment_size, local_buffer_size) in bytes, None where the value is wrong."""
    sizes = []
    for field, default in (("global_segment_size", DEFAULT_GLOBAL_SEGMENT_SIZE), ("local_buffer_size", DEFAULT_LOCAL_BUFFER_SIZE)):
        given = raw.get(field, settings.get(field, default))
        size = parse_size(given)
        if size is None:
            errors.append("%s: %s %r is not a size; %s" % (where, field, given, SIZE_FORMS))
        elif field == "global_segment_size" and size == 0:
            errors.append(
                "%s: global_segment_size %r lends the Store no memory, which is what a store client is for; "
                "give a size such as '4 GB'" % (where, given)
            )
            size = None
        sizes.append(size)
    return sizes


def _device_names(errors, where, protocol, value):
    """The RDMA devices as a list (a list or a comma-separated string), checked against protocol."""
    if value in (None, "", []):
        if protocol == "rdma":
            errors.append("%s: protocol rdma needs device_names (RDMA devices such as mlx5_0, or a list of them)" % where)
        return []
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and _DEVICE.match(n.strip()) for n in names):
        errors.append(
            "%s: device_names %r must be RDMA device names, a list or comma-separated (e.g. mlx5_0,mlx5_1)" % (where, value)
        )
        return []
    if protocol != "rdma":
        errors.append("%s: device_names %r applies to protocol rdma only; remove it or set protocol: rdma" % (where, value))
    return [n.strip() for n in names]


def _env(errors, where, value):
    if not isinstance(value, dict):
        errors.append("%s: env must be a mapping of variable names to values, got %s" % (where, type(value).__name__))
        return {}
    problems = env_problems(value)
    for name in sorted(set(value) & set(MANAGED_ENV)):
        problems.append("env %s would replace the collection's own %s, which %s" % (name, name, MANAGED_ENV[name]))
    errors.extend("%s: %s" % (where, problem) for problem in problems)
    return {} if problems else dict((k, _env_text(v)) for k, v in value.items())


def _address_errors(prefix, address, own_addresses):
    if not is_ip(address):
        return ["%s: mooncake_store_client_address %r is not an IP address; set it to the IP this host's store "
                "clients advertise to the Store" % (prefix, address)]
    if ipaddress.ip_address(str(address)).is_unspecified:
        return ["%s: mooncake_store_client_address must be a real address of the host, not %s: the Store's "
                "other clients cannot connect to it" % (prefix, address)]
    # Ansible's all_ipv4/6_addresses leave loopback out; every host has it.
    if (own_addresses is not None and not ipaddress.ip_address(str(address)).is_loopback
            and str(address) not in [str(a) for a in own_addresses]):
        return ["%s: mooncake_store_client_address %s is not an address of this host (it has %s); the Store "
                "would send readers to someone else. Set it to one of its IPs."
                % (prefix, address, ", ".join(str(a) for a in own_addresses) or "none")]
    return []


def _setting_int(errors, prefix, settings, key, variable, default, minimum=0):
    raw = settings.get(key, default)
    value = _int(raw)
    if value is None or value < minimum:
        errors.append("%s: %s %r must be a whole number, at least %d" % (prefix, variable, raw, minimum))
        return None
    return value


def plan_store_clients(host, clients, settings):
    """Validate ``clients`` for ``host`` and return ``(plans, errors)``.

    ``settings`` carries the role-level values:
      address               IP the clients advertise (--host, MC_TCP_BIND_ADDRESS)
      own_addresses         the host's IPs, to check address against (None: not checked)
      port_base             service port of client i: port_base + i
      http_port_base        health/metrics port of client i: http_port_base + i
      rpc_range_base        first port of the automatic engine port ranges (MC_MIN/MAX_RPC_PORT)
      store_range_base      first port of the automatic client-connection ranges (MC_STORE_CLIENT_MIN/MAX_PORT)
      range_size            ports per automatic range (client i: [base + i*size, base + (i+1)*size - 1])
      metadata_server       default metadata_server (P2PHANDSHAKE when not given)
      master_server_address default master_server_address (IP:PORT or etcd://IP:PORT;IP:PORT)
      global_segment_size   default global_segment_size, local_buffer_size: default local_buffer_size
      reserved_ports        {port: "what holds it"} of the host's other services
      reserved_ranges       [{"low", "high", "what"}] of the host's other services
      ephemeral_range       (low, high), defaults to Linux's default
      memory_bytes          the host's MemTotal (None: unknown, the memory check is skipped)
      memory_fraction       share of memory_bytes the clients may pin together (default 0.9)
      engine_venv, engine, binary_present
                            the configured engine link, its target (None: no engine) and whether
                            its bin/mooncake_client exists (None: unknown)
      deployed              names whose flagfile is on the host (for ``unlisted``)
    Returns the plans in list order; every violation is collected, naming host, client and field.
    """
    errors = []
    plans = []
    prefix = "host %s" % host
    ephemeral = settings.get("ephemeral_range") or DEFAULT_EPHEMERAL_RANGE
    ephemeral = tuple(_int(p) for p in ephemeral) if isinstance(ephemeral, (list, tuple)) and len(ephemeral) == 2 else (None, None)
    if None in ephemeral or ephemeral[0] > ephemeral[1]:
        errors.append(
            "%s: the ephemeral port range %r must be [low, high], as in net.ipv4.ip_local_port_range"
            % (prefix, settings.get("ephemeral_range"))
        )
        ephemeral = DEFAULT_EPHEMERAL_RANGE
    address = settings.get("address")
    errors.extend(_address_errors(prefix, address, settings.get("own_addresses")))
    errors.extend(_engine_errors(prefix, settings))

    if not isinstance(clients, list):
        errors.append("%s: mooncake_store_clients must be a list of clients, got %s" % (prefix, type(clients).__name__))
        return plans, errors

    port_base = _setting_int(errors, prefix, settings, "port_base", "mooncake_store_client_port_base", 22052, 1)
    http_port_base = _setting_int(errors, prefix, settings, "http_port_base", "mooncake_store_client_http_port_base", 9300, 1)
    rpc_base = _setting_int(errors, prefix, settings, "rpc_range_base", "mooncake_store_client_rpc_range_base", 23000, 1)
    store_base = _setting_int(errors, prefix, settings, "store_range_base", "mooncake_store_client_store_range_base", 24000, 1)
    range_size = _setting_int(errors, prefix, settings, "range_size", "mooncake_store_client_range_size", DEFAULT_RANGE_SIZE, 1)

    for index, raw in enumerate(clients):
        where = "%s, mooncake_store_clients[%d]" % (prefix, index)
        if not isinstance(raw, dict):
            errors.append("%s: each store client must be a mapping with at least a name" % where)
            continue
        name = raw.get("name")
        name_problem = _name_problem(name)
        if name_problem:
            errors.append("%s: %s" % (where, name_problem))
            name = None
        else:
            where = "%s, store client '%s'" % (prefix, name)
        unknown = sorted(set(raw) - KNOWN_KEYS, key=str)
        if unknown:
            errors.append("%s: unknown field(s) %s; known fields are %s"
                          % (where, ", ".join(str(k) for k in unknown), ", ".join(sorted(KNOWN_KEYS))))

        ports = {}
        for field, base, variable in (("port", port_base, "mooncake_store_client_port_base"),
                                      ("http_port", http_port_base, "mooncake_store_client_http_port_base")):
            if raw.get(field) is None and base is not None:
                # Planned ports follow list order: append new clients to keep the others' ports.
                value, label = base + index, "%s (%s + %d)" % (field, variable, index)
            else:
                value, label = _int(raw.get(field)), field
            ports[field] = value if _check_port(errors, where, label, value, ephemeral, raw.get(field)) else None

        ranges = {}
        for field, base in (("rpc_port_range", rpc_base), ("store_port_range", store_base)):
            planned = None if base is None or range_size is None else [base + index * range_size, base + (index + 1) * range_size - 1]
            ranges[field] = _range(errors, where, field, raw.get(field), planned, ephemeral)

        global_size, local_size = _sizes(errors, where, raw, settings)

        protocol = raw.get("protocol", "tcp")
        if protocol not in PROTOCOLS:
            errors.append("%s: protocol %r must be one of %s" % (where, protocol, ", ".join(PROTOCOLS)))
        devices = _device_names(errors, where, protocol, raw.get("device_names"))

        metadata_server = raw.get("metadata_server", settings.get("metadata_server") or "P2PHANDSHAKE")
        metadata_errors = []
        _check_metadata_server(metadata_errors, where, metadata_server)
        # The shared check names the instances' variable; name the store client's.
        errors.extend(e.replace("mooncake_instances_metadata_server", "mooncake_store_client_metadata_server") for e in metadata_errors)

        master = raw.get("master_server_address", settings.get("master_server_address"))
        problem = _master_problem(master)
        if problem:
            errors.append("%s: %s" % (where, problem))

        tenant_id = raw.get("tenant_id", "default")
        if not isinstance(tenant_id, str) or not _TENANT.match(tenant_id):
            errors.append(
                "%s: tenant_id %r must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a "
                "digit (clients share objects within one tenant; the default is 'default')" % (where, tenant_id)
            )
        threads = _int(raw.get("threads", 1))
        if threads is None or threads < 1:
            errors.append("%s: threads %r must be a whole number, at least 1 (the client's service threads)"
                          % (where, raw.get("threads")))

        env = _env(errors, where, raw.get("env", {}))

        plan = {
            "name": name,
            "address": address,
            "port": ports["port"],
            "http_port": ports["http_port"],
            "global_segment_size": global_size,
            "local_buffer_size": local_size,
            "protocol": protocol,
            "device_names": devices,
            "metadata_server": metadata_server,
            "metadata_endpoints": metadata_endpoints(metadata_server),
            "master_server_address": master,
            "tenant_id": tenant_id,
            "threads": threads,
            "rpc_port_range": ranges["rpc_port_range"],
            "store_port_range": ranges["store_port_range"],
            "env": env,
            "health_url": ("http://%s:%s/health" % (url_host(str(address)), ports["http_port"])
                           if is_ip(address) and ports["http_port"] else None),
        }
        plan["flags"] = flag_lines(plan)
        plan["env_lines"] = env_lines(plan)
        plans.append(plan)

    _check_collisions(errors, prefix, plans, settings)
    _check_memory(errors, prefix, plans, settings)
    return plans, errors


def flag_lines(plan):
    """The client's flagfile, one ``--flag=value`` a line (gflags' --flagfile reads them)."""
    lines = [
        "--host=%s" % plan["address"],
        "--port=%s" % plan["port"],
        "--global_segment_size=%s" % plan["global_segment_size"],
        "--local_buffer_size=%s" % plan["local_buffer_size"],
        "--master_server_address=%s" % plan["master_server_address"],
        "--metadata_server=%s" % plan["metadata_server"],
        "--protocol=%s" % plan["protocol"],
    ]
    if plan["device_names"]:
        lines.append("--device_names=%s" % ",".join(plan["device_names"]))
    lines += [
        "--tenant_id=%s" % plan["tenant_id"],
        "--threads=%s" % plan["threads"],
        "--enable_http_server=true",
        "--http_port=%s" % plan["http_port"],
        "--logtostderr=true",
    ]
    return lines


def env_lines(plan):
    """The client's environment file: its own port ranges and address, then the user's env."""
    rpc = plan["rpc_port_range"] or [None, None]
    store = plan["store_port_range"] or [None, None]
    lines = [
        "# The engine's two listening ports come from this range, apart from the host's other services.",
        "MC_MIN_RPC_PORT=%s" % rpc[0],
        "MC_MAX_RPC_PORT=%s" % rpc[1],
        "# Local ports of the client's connections to the Store.",
        "MC_STORE_CLIENT_MIN_PORT=%s" % store[0],
        "MC_STORE_CLIENT_MAX_PORT=%s" % store[1],
        "# Advertise this address to peers (otherwise: the first non-loopback interface).",
        "MC_TCP_BIND_ADDRESS=%s" % plan["address"],
    ]
    return lines + ["%s=%s" % (name, env_value(value)) for name, value in sorted(plan["env"].items())]


def _engine_errors(prefix, settings):
    """The engine the clients run: the link must exist and hold bin/mooncake_client."""
    if "engine" not in settings:
        return []
    venv = settings.get("engine_venv")
    if not settings.get("engine"):
        return ["%s: the store clients run the active engine's mooncake_client, but %s does not exist; apply the "
                "transfer_engine role first" % (prefix, venv)]
    if settings.get("binary_present") is False:
        return ["%s: the active engine %s has no bin/mooncake_client; install an engine with the Store "
                "(mooncake-transfer-engine 0.3.x) with the transfer_engine role" % (prefix, settings.get("engine"))]
    return []


def _reserved(settings):
    ports = dict((int(p), what) for p, what in (settings.get("reserved_ports") or {}).items() if _int(p) is not None)
    ranges = []
    for entry in settings.get("reserved_ranges") or []:
        low, high = _int(entry.get("low")), _int(entry.get("high"))
        if low is not None and high is not None:
            ranges.append((low, high, entry.get("what") or "another service"))
    return ports, ranges


def reserved_port_problems(where, field, port, reserved_ports, reserved_ranges):
    """Sentences for a port that another service of the host holds or whose range it lies in
    (``_reserved``'s ports and ranges); field names it as the user wrote it."""
    problems = []
    if port in reserved_ports:
        problems.append("%s: %s %d is already used by %s on this host; choose another port" % (where, field, port, reserved_ports[port]))
    for low, high, what in reserved_ranges:
        if low <= port <= high:
            problems.append("%s: %s %d lies inside %d-%d, %s on this host; choose another port" % (where, field, port, low, high, what))
    return problems


def _check_collisions(errors, prefix, plans, settings):
    """Names, ports and ranges distinct across the host's clients and apart from its other services."""
    by_name = {}
    for plan in plans:
        if plan["name"] is not None:
            by_name.setdefault(plan["name"], []).append(plan)
    for name, same in sorted(by_name.items()):
        if len(same) > 1:
            errors.append("%s: %d store clients are named '%s' (ports %s); every store client on a host needs its own name"
                          % (prefix, len(same), name, ", ".join(str(p["port"]) for p in same)))
    ports = [(p[field], "%s %d of store client '%s'" % (field, p[field], p["name"]))
             for p in plans for field in ("port", "http_port") if p[field] is not None]
    ranges = [(p[field][0], p[field][1], "%s %d-%d of store client '%s'" % (field, p[field][0], p[field][1], p["name"]))
              for p in plans for field in ("rpc_port_range", "store_port_range") if p[field] is not None]
    by_port = {}
    for port, what in ports:
        by_port.setdefault(port, []).append(what)
    for port, same in sorted(by_port.items()):
        if len(same) > 1:
            errors.append("%s: port %d is taken more than once: %s; give each its own port"
                          % (prefix, port, " and ".join(w.replace(" %d of" % port, " of") for w in same)))
    for i, (low, high, what) in enumerate(ranges):
        for port, holder in ports:
            if low <= port <= high:
                errors.append("%s: %s lies inside the %s; move one of them" % (prefix, holder, what))
        for other_low, other_high, other in ranges[i + 1:]:
            if _overlaps((low, high), (other_low, other_high)):
                errors.append("%s: the %s and the %s overlap; clients would take each other's ports" % (prefix, what, other))

    reserved_ports, reserved_ranges = _reserved(settings)
    for plan in plans:
        where = "%s, store client '%s'" % (prefix, plan["name"])
        for field in ("port", "http_port"):
            if plan[field] is not None:
                errors.extend(reserved_port_problems(where, field, plan[field], reserved_ports, reserved_ranges))
        for field in ("rpc_port_range", "store_port_range"):
            if plan[field] is None:
                continue
            low, high = plan[field]
            for port, what in sorted(reserved_ports.items()):
                if low <= port <= high:
                    errors.append("%s: %s %d-%d contains port %d of %s on this host; move the range"
                                  % (where, field, low, high, port, what))
            for other_low, other_high, what in reserved_ranges:
                if _overlaps((low, high), (other_low, other_high)):
                    errors.append("%s: %s %d-%d overlaps %d-%d, %s on this host; move the range"
                                  % (where, field, low, high, other_low, other_high, what))


def _check_memory(errors, prefix, plans, settings):
    """The clients pin their segments and buffers: together they must fit in the host's memory."""
    raw_fraction = settings.get("memory_fraction", DEFAULT_MEMORY_FRACTION)
    try:
        fraction = float(raw_fraction if raw_fraction not in (None, "") else DEFAULT_MEMORY_FRACTION)
    except (TypeError, ValueError):
        fraction = None
    if isinstance(raw_fraction, bool) or fraction is None or not 0 < fraction <= 1:
        errors.append("%s: mooncake_store_client_memory_fraction %r must be a number above 0 and at most 1"
                      % (prefix, raw_fraction))
        return
    memory = _int(settings.get("memory_bytes"))
    sized = [p for p in plans if p["global_segment_size"] is not None and p["local_buffer_size"] is not None]
    if memory is None or not sized:
        return
    total = sum(p["global_segment_size"] + p["local_buffer_size"] for p in sized)
    limit = int(memory * fraction)
    if total <= limit:
        return
    errors.append(
        "%s: the store clients pin %s of memory together (%s), above %s, mooncake_store_client_memory_fraction %s of the "
        "host's %s (MemTotal); shrink global_segment_size or local_buffer_size, run fewer clients, or move some to another host"
        % (prefix, human_bytes(total),
           "; ".join("'%s': global_segment_size %s + local_buffer_size %s"
                     % (p["name"], human_bytes(p["global_segment_size"]), human_bytes(p["local_buffer_size"])) for p in sized),
           human_bytes(limit), raw_fraction, human_bytes(memory))
    )


def port_expectations(host, plans):
    """port_bindings' expect list: each client's service and HTTP port free, or held by its own unit."""
    return [
        {"port": plan[field], "state": "available", "unit": unit_name(plan["name"]),
         "label": "host %s, store client '%s' (%s)" % (host, plan["name"], field)}
        for plan in plans
        for field in ("port", "http_port")
        if plan.get("name") and plan.get(field)
    ]


def port_problems(plans, port_results):
    """The port_bindings results that stand as problems. A port held by the unit of a client this
    host no longer lists is not one: the role stops that client before it starts the new ones."""
    planned = set(plan["name"] for plan in plans)
    problems = []
    for result in port_results or []:
        if result.get("ok"):
            continue
        units = [((holder.get("process") or {}).get("unit") or "") for holder in result.get("holders") or []]
        leaving = [u for u in units if UNIT_PATTERN.match(u) and UNIT_PATTERN.match(u).group("name") not in planned]
        if not units or len(leaving) != len(units):
            problems.append("%s. Stop that process, or give the store client another port." % result.get("problem"))
    return problems


def unlisted(plans, deployed):
    """Names of clients whose flagfile is on the host but which the plan no longer lists.
    ``deployed``: the flagfiles' paths (``<config_dir>/NAME.flags``) or the names."""
    planned = set(plan["name"] for plan in plans)
    names = set()
    for path in deployed or []:
        name = str(path).rsplit("/", 1)[-1]
        name = name[:-len(".flags")] if name.endswith(".flags") else name
        if _name_problem(name) is None and name not in planned:
            names.add(name)
    return sorted(names)


def unit_name(name):
    return "mooncake-store-client@%s.service" % name


def reserved_services(host, variables, etcd_hosts):
    """``{ports, ranges}`` the host's other services hold, for ``reserved_ports`` and
    ``reserved_ranges``: etcd and the Store master (instance_checks.reserved_ports) and the
    host's transfer-engine instances (their ports and random-port ranges, planned from
    ``mooncake_instances`` as the instances role plans them, with its defaults where the
    inventory sets nothing)."""

    def get(name, default):
        value = variables.get(name) if name in variables else None
        return default if value is None else value

    ports = reserved_ports(host, variables, etcd_hosts)
    ranges = []
    instances = get("mooncake_instances", [])
    settings = {
        "address": "127.0.0.1",
        "port_base": get("mooncake_instances_port_base", 15624),
        "port_stride": get("mooncake_instances_port_stride", 1),
        "range_base": get("mooncake_instances_port_range_base", 20000),
        "range_size": get("mooncake_instances_port_range_size", 100),
        "ephemeral_range": get("mooncake_instances_ephemeral_range", list(DEFAULT_EPHEMERAL_RANGE)),
        "bootstrap_port_base": get("mooncake_instances_bootstrap_port_base", 8998),
    }
    # The instances' published plan when there is one (site.yml's preflight plans them first),
    # else planned here; the instances role reports their own errors, what could be planned is
    # reserved: every port (API and bootstrap of vLLM/SGLang ones) and the random-port range.
    published = variables.get("mooncake_instances_plan") if "mooncake_instances_plan" in variables else None
    if isinstance(published, list):
        plans = published
    else:
        plans = plan_instances(host, instances, settings)[0] if isinstance(instances, list) else []
    for plan in plans:
        if plan.get("name") is None:
            continue
        what = "%s instance '%s'" % ("transfer-engine" if plan.get("kind", "agent") in ("agent", "program") else plan["kind"], plan["name"])
        for port in plan.get("ports") or ([plan["port"]] if plan.get("port") is not None else []):
            ports[str(port)] = what
        if plan.get("rpc_port_range"):
            low, high = plan["rpc_port_range"]
            ranges.append({"low": low, "high": high, "what": "the random-port range of %s" % what})
    return {"ports": ports, "ranges": ranges}
