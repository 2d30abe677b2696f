# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Turn a host's ``mooncake_instances`` list into a checked plan.

One implementation serves the preflight (which fails the play with every error at once,
before anything changes) and the instances role (which renders configs and units from the
same plan), so what is validated is exactly what is deployed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_env import env_problems, managed_env_problems
from ansible_collections.mooncake.deploy.plugins.module_utils.serving_plan import (
    SERVING_KEYS, SERVING_KINDS, gpu_problems, instance_kind, kind_problems, plan_serving)
from ansible_collections.mooncake.deploy.plugins.module_utils.unit_syntax import exec_line, parse_command
from ansible_collections.mooncake.deploy.plugins.module_utils.values import is_ip, whole_number

PROTOCOLS = ("tcp", "rdma")
ROLES = ("prefill", "decode", "other")
# Linux's default net.ipv4.ip_local_port_range: the kernel hands these out to clients, so a
# server port inside it can be taken by any outgoing connection.
DEFAULT_EPHEMERAL_RANGE = (32768, 60999)
RDMA_MTUS = (256, 512, 1024, 2048, 4096)
KNOWN_KEYS = frozenset(
    (
        "name", "role", "port", "protocol", "device_name", "buffer_size",
        "rpc_port_range", "env", "env_override", "command", "health_url", "metadata_server",
        "gid_index", "mtu", "master_server_address", "kind",
    ) + SERVING_KEYS
)


# The other planners import it from here under this name.
_int = whole_number


def _name_problem(name):
    """Why name cannot name an instance's unit and files (None when it can)."""
    if not isinstance(name, str) or not name:
        return "name %r must be a non-empty string (it names the systemd unit and the config file)" % (name,)
    if len(name) > 63:
        return "name %r is %d characters long; at most 63 (it names the systemd unit and the config file)" % (name, len(name))
    if not re.match(r"^[a-z0-9]", name):
        return "name %r must start with a lower-case letter or a digit, not %r" % (name, name[0])
    bad = sorted(set(c for c in name if not re.match(r"[a-z0-9_-]", c)))
    if bad:
        return "name %r may not contain %s; use lower-case letters, digits, '-' and '_' (it names the systemd unit and the config file)" % (
            name, ", ".join(repr(c) for c in bad))
    return None


def _check_port(errors, where, field, port, ephemeral, raw=None):
    """Append an error when port is not a usable server port (raw: the value as given)."""
    if port is None:
        errors.append("%s: %s %r must be a whole number from 1024 to 65535" % (where, field, raw))
        return False
    if port < 1024:
        errors.append(
            "%s: %s %d is below 1024; ports below 1024 need root privileges the engine does not get "
            "(use 1024 to 65535)" % (where, field, port)
        )
        return False
    if port > 65535:
        errors.append("%s: %s %d is above 65535, the highest TCP port" % (where, field, port))
        return False
    if ephemeral[0] <= port <= ephemeral[1]:
        errors.append(
            "%s: %s %d is inside the kernel's ephemeral port range %d-%d, where any outgoing "
            "connection can take it; choose a port outside that range"
            % (where, field, port, ephemeral[0], ephemeral[1])
        )
        return False
    return True


# host:port of an etcd endpoint, and http(s)://host[:port]/path of an HTTP metadata server;
# an IPv6 host is written in brackets.
_HOST = r"(?:(?P<name>[A-Za-z0-9.\-]+)|\[(?P<ip6>[0-9A-Fa-f:.]+)\])"
ETCD_ENDPOINT = re.compile(r"^" + _HOST + r":(?P<port>\d{1,5})$")
HTTP_URL = re.compile(r"^https?://" + _HOST + r"(?::(?P<port>\d{1,5}))?/\S*$")


def _metadata_hosts(value):
    """The hosts a metadata_server names, [] for P2PHANDSHAKE, None when the form is wrong.

    The forms the engine accepts: etcd://h:p[,h:p], http(s)://h[:p]/path, P2PHANDSHAKE.
    """
    if value == "P2PHANDSHAKE":
        return []
    if not isinstance(value, str):
        return None
    if value.startswith("etcd://"):
        matches = [ETCD_ENDPOINT.match(e) for e in value[len("etcd://"):].split(",")]
    else:
        matches = [HTTP_URL.match(value)]
    hosts = []
    for match in matches:
        if match is None or (match.group("port") is not None and not 1 <= int(match.group("port")) <= 65535):
            return None
        hosts.append(match.group("name") or match.group("ip6"))
    return hosts


def master_address_ok(value):
    """Whether value is a Store master_server_address: HOST:PORT, or etcd://HOST:PORT[;HOST:PORT]."""
    if not isinstance(value, str):
        return False
    endpoints = value[len("etcd://"):].split(";") if value.startswith("etcd://") else [value]
    for endpoint in endpoints:
        match = ETCD_ENDPOINT.match(endpoint)
        if match is None or not 1 <= int(match.group("port")) <= 65535:
            return False
    return True


def metadata_endpoints(value):
    """[{"host", "port"}] a metadata_server connects to ([] for P2PHANDSHAKE or a bad value)."""
    if not isinstance(value, str) or _metadata_hosts(value) is None:
        return []
    if value.startswith("etcd://"):
        matches = [ETCD_ENDPOINT.match(e) for e in value[len("etcd://"):].split(",")]
        default_port = None
    else:
        matches = [HTTP_URL.match(value)]
        default_port = 443 if value.startswith("https://") else 80
    return [
        {"host": m.group("name") or m.group("ip6"), "port": int(m.group("port") or default_port)}
        for m in matches if m is not None
    ]


def _metadata_hint(value):
    """The specific fault of a metadata_server the engine would not accept, if one is clear."""
    if not isinstance(value, str):
        return None
    if value.startswith("etcd://"):
        endpoints = value[len("etcd://"):].split(",")
        for endpoint in endpoints:
            if endpoint.endswith("/") or "/" in endpoint:
                return "etcd:// takes HOST:PORT endpoints only: remove the '/' and what follows it (%r)" % endpoint
            if not endpoint:
                return "an endpoint is empty (a stray ',' or nothing after etcd://)"
            if ETCD_ENDPOINT.match(endpoint) is None and ":" not in endpoint:
                return "endpoint %r has no port (etcd's client port is usually 2379)" % endpoint
            match = ETCD_ENDPOINT.match(endpoint)
            if match and not 1 <= int(match.group("port")) <= 65535:
                return "endpoint %r has port %s, above 65535" % (endpoint, match.group("port"))
    elif value.startswith(("http://", "https://")) and HTTP_URL.match(value) is None and "/" not in value.split("://", 1)[1]:
        return "an HTTP metadata server needs its path, e.g. %s/metadata" % value
    elif value.strip() != value:
        return "it has leading or trailing spaces"
    elif value.upper() == "P2PHANDSHAKE":
        return "write P2PHANDSHAKE in capitals, as the engine compares it"
    return None


def _check_metadata_server(errors, where, value):
    hosts = _metadata_hosts(value)
    if hosts is None:
        hint = _metadata_hint(value)
        errors.append(
            "%s: metadata_server %r is not usable%s; write etcd://IP:PORT[,IP:PORT] (an etcd the host "
            "can reach, not 0.0.0.0), http://HOST:PORT/metadata or P2PHANDSHAKE (redis:// aborts "
            "the PyPI build); with no etcd group in the inventory, set mooncake_instances_metadata_server"
            % (where, value, ": " + hint if hint else "")
        )
        return
    for host in hosts:
        if is_ip(host) and ipaddress.ip_address(host).is_unspecified:
            errors.append(
                "%s: metadata_server %s points at %s, an address to listen on, not one to connect "
                "to; use the etcd member's real address" % (where, value, host)
            )


def _env_text(value):
    """An env value as the program sees it (YAML's true is 'true', as a shell would write it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _overlaps(a, b):
    return a[0] <= b[1] and b[0] <= a[1]


def plan_instances(host, instances, settings):
    """Validate ``instances`` for ``host`` and return ``(plans, errors)``.

    ``settings`` carries the role-level values:
      address            IP the instances advertise (MC_TCP_BIND_ADDRESS, local_hostname)
      metadata_server    default metadata_server (etcd://ip:port[,ip:port])
      master_server_address  default Store master (host:port), "" for none
      buffer_size        default registered buffer size in bytes
      port_base          port of the first instance that gives none (None: ports are required)
      port_stride        distance between two planned ports
      range_base         first port of the automatic random-port ranges
      range_size         ports per automatic range
      remote_peers       names of the other hosts with instances (a loopback address cannot work)
      reserved_ports     {port: "what holds it"} for other services on the host (etcd, ...)
      ephemeral_range    (low, high), defaults to Linux's default
    Every violation is collected, so one run shows the user all there is to fix.
    """
    errors = []
    plans = []
    prefix = "host %s" % host
    # Values templated by Ansible may arrive as strings ("32768"): compare them as numbers.
    ephemeral = settings.get("ephemeral_range") or DEFAULT_EPHEMERAL_RANGE
    ephemeral = tuple(_int(p) for p in ephemeral) if isinstance(ephemeral, (list, tuple)) and len(ephemeral) == 2 else (None, None)
    if None in ephemeral or ephemeral[0] > ephemeral[1]:
        errors.append(
            "%s: the ephemeral port range %r must be [low, high], as in net.ipv4.ip_local_port_range"
            % (prefix, settings.get("ephemeral_range"))
        )
        ephemeral = DEFAULT_EPHEMERAL_RANGE
    reserved = dict((int(p), what) for p, what in (settings.get("reserved_ports") or {}).items())
    address = settings.get("address")

    if not is_ip(address):
        errors.append(
            "%s: mooncake_instances_address %r is not an IP address; set it to the IP this host "
            "should advertise to its peers" % (prefix, address)
        )
    elif ipaddress.ip_address(str(address)).is_unspecified:
        errors.append(
            "%s: mooncake_instances_address must be a real address of the host, not %s: peers "
            "cannot connect to it" % (prefix, address)
        )
    elif ipaddress.ip_address(str(address)).is_loopback and settings.get("remote_peers"):
        errors.append(
            "%s: mooncake_instances_address %s is a loopback address, but instances on %s must "
            "reach this host's instances; set it to this host's IP on the network they share"
            % (prefix, address, ", ".join(sorted(settings["remote_peers"])))
        )

    if not isinstance(instances, list):
        errors.append("%s: mooncake_instances must be a list of instances, got %s" % (prefix, type(instances).__name__))
        return plans, errors

    range_base = _int(settings.get("range_base"))
    range_size = _int(settings.get("range_size"))
    port_base = _int(settings.get("port_base"))
    port_stride = _int(settings.get("port_stride"))
    if settings.get("port_base") not in (None, "") and (port_base is None or port_stride is None or port_stride < 1):
        errors.append(
            "%s: mooncake_instances_port_base %r and mooncake_instances_port_stride %r must be whole "
            "numbers, the stride at least 1" % (prefix, settings.get("port_base"), settings.get("port_stride"))
        )
        port_base = None
    for index, raw in enumerate(instances):
        where = "%s, mooncake_instances[%d]" % (prefix, index)
        if not isinstance(raw, dict):
            errors.append("%s: each instance must be a mapping with at least name and port" % where)
            continue
        name = raw.get("name")
        name_problem = _name_problem(name)
        if name_problem:
            errors.append("%s: %s" % (where, name_problem))
            name = None
        else:
            where = "%s, instance '%s'" % (prefix, name)
        unknown = sorted(set(raw) - KNOWN_KEYS)
        if unknown:
            errors.append("%s: unknown field(s) %s; known fields are %s" % (where, ", ".join(unknown), ", ".join(sorted(KNOWN_KEYS))))

        kind = instance_kind(raw)
        problems = kind_problems(raw, kind)
        errors.extend("%s: %s" % (where, problem) for problem in problems)
        serving = kind in SERVING_KINDS and not problems

        # An agent on P2PHANDSHAKE has no fixed port: its engine ignores MC_LEGACY_RPC_PORT_BINDING
        # and listens on two ports of its rpc_port_range that it picks at start (measured, 0.3.13.post1).
        p2p = kind == "agent" and raw.get("metadata_server", settings.get("metadata_server")) == "P2PHANDSHAKE"
        if p2p:
            port, port_ok = None, False
            if raw.get("port") is not None:
                errors.append("%s: port %r: an agent on P2PHANDSHAKE has no fixed port (its engine listens on "
                              "ports of its rpc_port_range that it picks at start); remove port" % (where, raw.get("port")))
        elif raw.get("port") is None and port_base is not None:
            # Planned ports follow list order, like the ranges: append new instances.
            port = port_base + index * port_stride
            port_ok = _check_port(errors, where, "planned port (mooncake_instances_port_base + %d x stride)" % index,
                                  port, ephemeral, raw.get("port"))
        else:
            port = _int(raw.get("port"))
            port_ok = _check_port(errors, where, "port", port, ephemeral, raw.get("port"))

        protocol = raw.get("protocol", "tcp")
        if protocol not in PROTOCOLS:
            errors.append("%s: protocol %r must be one of %s" % (where, protocol, ", ".join(PROTOCOLS)))
        device_name = raw.get("device_name", "")
        if protocol == "rdma" and not device_name:
            errors.append("%s: protocol rdma needs device_name (an RDMA device such as mlx5_0)" % where)
        role = raw.get("role", "other")
        if role not in ROLES:
            errors.append("%s: role %r must be one of %s" % (where, role, ", ".join(ROLES)))

        buffer_size = _int(raw.get("buffer_size", settings.get("buffer_size")))
        if buffer_size is None:
            errors.append("%s: buffer_size %r must be a whole number of bytes, at least 1 MiB (1048576)"
                          % (where, raw.get("buffer_size", settings.get("buffer_size"))))
        elif buffer_size < 1024 * 1024:
            errors.append("%s: buffer_size %d is below 1 MiB (1048576 bytes)" % (where, buffer_size))

        rpc_range = raw.get("rpc_port_range")
        if rpc_range is None and range_base is not None and range_size is not None:
            # Automatic ranges follow list order: append new instances to keep the others' ranges.
            rpc_range = [range_base + index * range_size, range_base + (index + 1) * range_size - 1]
        rpc_range = [_int(p) for p in rpc_range] if isinstance(rpc_range, (list, tuple)) and len(rpc_range) == 2 else None
        if rpc_range is None or None in rpc_range:
            errors.append("%s: rpc_port_range %r must be [low, high], two whole numbers" % (where, raw.get("rpc_port_range")))
            rpc_range = None
        elif rpc_range[0] > rpc_range[1]:
            errors.append("%s: rpc_port_range [%d, %d] has low above high" % ((where,) + tuple(rpc_range)))
            rpc_range = None
        elif not (_check_port(errors, where, "rpc_port_range low", rpc_range[0], ephemeral)
                  and _check_port(errors, where, "rpc_port_range high", rpc_range[1], ephemeral)):
            rpc_range = None
        elif _overlaps(rpc_range, ephemeral):
            errors.append(
                "%s: rpc_port_range %d-%d overlaps the kernel's ephemeral range %d-%d"
                % (where, rpc_range[0], rpc_range[1], ephemeral[0], ephemeral[1])
            )
            rpc_range = None
        elif p2p and rpc_range[0] == rpc_range[1]:
            errors.append("%s: rpc_port_range %d-%d: an agent on P2PHANDSHAKE needs at least 2 ports there (its "
                          "handshake and data ports; with one the engine fails to start)" % (where, rpc_range[0], rpc_range[1]))

        gid_index = raw.get("gid_index")
        mtu = raw.get("mtu")
        if gid_index is not None or mtu is not None:
            if protocol != "rdma":
                errors.append("%s: gid_index and mtu apply to protocol rdma only" % where)
            if gid_index is not None and gid_index != "auto" and (_int(gid_index) is None or _int(gid_index) > 255):
                errors.append("%s: gid_index must be 'auto' (the GID index ibv_devices_info suggests) or 0-255, got %r" % (where, gid_index))
            if mtu is not None and mtu != "auto" and _int(mtu) not in RDMA_MTUS:
                errors.append("%s: mtu must be 'auto' (the port's active MTU) or one of %s, got %r"
                              % (where, ", ".join(str(m) for m in RDMA_MTUS), mtu))

        env = raw.get("env", {})
        override = raw.get("env_override", [])
        if not isinstance(env, dict):
            errors.append("%s: env must be a mapping of variable names to values, got %s" % (where, type(env).__name__))
            env = {}
        elif not isinstance(override, list) or not all(isinstance(n, str) for n in override):
            errors.append("%s: env_override must be a list of variable names, got %r" % (where, override))
        else:
            problems = env_problems(env) + managed_env_problems(env, override)
            errors.extend("%s: %s" % (where, problem) for problem in problems)
            if problems:
                env = {}
        if not isinstance(override, list):
            override = []
        argv = None
        if raw.get("command") is not None:
            argv, problem = parse_command(raw.get("command"))
            if problem:
                errors.append("%s: %s" % (where, problem))
        health_url = raw.get("health_url")
        if health_url is not None:
            if argv is None:
                errors.append("%s: health_url applies to an instance with its own command (the default agent is asked over its socket)" % where)
            elif not isinstance(health_url, str) or HTTP_URL.match(health_url) is None:
                errors.append("%s: health_url %r must be an http:// or https:// URL with a path, e.g. http://127.0.0.1:8000/health"
                              % (where, health_url))

        metadata_server = raw.get("metadata_server", settings.get("metadata_server"))
        if kind in SERVING_KINDS:
            # vLLM's and SGLang's Mooncake P/D paths exchange addresses peer to peer, never through etcd.
            if raw.get("metadata_server") not in (None, "P2PHANDSHAKE"):
                errors.append("%s: kind %s exchanges metadata peer to peer (P2PHANDSHAKE); remove metadata_server" % (where, kind))
            metadata_server = "P2PHANDSHAKE"
        _check_metadata_server(errors, where, metadata_server)
        endpoints = metadata_endpoints(metadata_server)

        # The Mooncake Store master the engine's config names (read by vLLM/SGLang connectors).
        master = raw.get("master_server_address", settings.get("master_server_address")) or ""
        if master and not master_address_ok(master):
            errors.append("%s: master_server_address %r must be HOST:PORT of a Store master (its RPC port), or "
                          "etcd://HOST:PORT[;HOST:PORT] of the etcd members HA masters elect their leader on" % (where, master))

        if port_ok and port in reserved:
            errors.append(
                "%s: port %d is already used by %s on this host; choose another port"
                % (where, port, reserved[port])
            )
        plan = {
            "name": name,
            "kind": kind,
            "role": role,
            "port": port,
            "protocol": protocol,
            "device_name": device_name,
            "buffer_size": buffer_size,
            "address": address,
            # A P2PHANDSHAKE agent's segment is address:PORT with the port its engine picked at start.
            "segment": address if p2p else "%s:%s" % (address, port),
            "p2p": p2p,
            "metadata_server": metadata_server,
            "metadata_endpoints": endpoints,
            "master_server_address": master,
            "rpc_port_range": rpc_range,
            "env": dict((k, _env_text(v)) for k, v in env.items()),
            "env_override": sorted(override),
            "command": argv,
            "exec_start": exec_line(argv) if argv else None,
            "health_url": health_url,
            "gid_index": gid_index if gid_index in (None, "auto") else _int(gid_index),
            "mtu": mtu if mtu in (None, "auto") else _int(mtu),
            "ports": [port] if port_ok else [],
            "gpus": [],
            "bootstrap_port": None,
            "serving_env": {},
        }
        if serving:
            errors.extend("%s: %s" % (where, problem) for problem in plan_serving(raw, kind, plan, index, settings))
            plan["exec_start"] = exec_line(plan["command"]) if plan["command"] else None
            bootstrap = plan["bootstrap_port"]
            if bootstrap is not None and _check_port(errors, where, "bootstrap_port", bootstrap, ephemeral):
                plan["ports"].append(bootstrap)
                if bootstrap in reserved:
                    errors.append("%s: bootstrap_port %s is already used by %s on this host; choose another port"
                                  % (where, bootstrap, reserved[bootstrap]))
        plans.append(plan)

    _check_collisions(errors, prefix, plans, reserved)
    errors.extend(gpu_problems(prefix, plans))
    return plans, errors


def _check_collisions(errors, prefix, plans, reserved):
    """Names, ports and random-port ranges must be distinct across the host's instances."""
    by_name = {}
    by_port = {}
    for plan in plans:
        if plan["name"] is not None:
            by_name.setdefault(plan["name"], []).append(plan)
        for port in plan.get("ports") or ([plan["port"]] if plan["port"] is not None else []):
            by_port.setdefault(port, []).append(plan)
    for name, same in sorted(by_name.items()):
        if len(same) > 1:
            errors.append(
                "%s: %d instances are named '%s' (ports %s); every instance on a host needs its "
                "own name" % (prefix, len(same), name, ", ".join(str(p["port"]) for p in same))
            )
    for port, same in sorted(by_port.items()):
        if len(same) > 1:
            errors.append(
                "%s: instances %s all use port %d; give each instance its own port"
                % (prefix, " and ".join("'%s'" % p["name"] for p in same), port)
            )
    ranged = [p for p in plans if p["rpc_port_range"]]
    for i, a in enumerate(ranged):
        for b in ranged[i + 1:]:
            if _overlaps(a["rpc_port_range"], b["rpc_port_range"]):
                errors.append(
                    "%s: the random-port ranges of '%s' (%d-%d) and '%s' (%d-%d) overlap; "
                    "instances would steal each other's ports"
                    % ((prefix, a["name"]) + tuple(a["rpc_port_range"]) + (b["name"],) + tuple(b["rpc_port_range"]))
                )
        for other in plans:
            for port in other.get("ports") or ([other["port"]] if other["port"] is not None else []):
                if a["rpc_port_range"][0] <= port <= a["rpc_port_range"][1]:
                    errors.append(
                        "%s: port %d of '%s' lies inside the random-port range %d-%d of '%s'"
                        % ((prefix, port, other["name"]) + tuple(a["rpc_port_range"]) + (a["name"],))
                    )
        for port, what in sorted(reserved.items()):
            if a["rpc_port_range"][0] <= port <= a["rpc_port_range"][1]:
                errors.append(
                    "%s: the random-port range %d-%d of '%s' contains port %d of %s"
                    % ((prefix,) + tuple(a["rpc_port_range"]) + (a["name"], port, what))
                )


def resolve_rdma(host, plans, info):
    """Check each rdma instance's device against ``ibv_devices_info`` output and resolve
    ``gid_index``/``mtu`` 'auto' to the port's suggestion. Returns ``(settings, errors)`` with
    settings ``{instance name: {"MC_GID_INDEX": .., "MC_MTU": ..}}`` (only what was asked)."""
    settings = {}
    errors = []
    devices = dict((d.get("name"), d) for d in (info or {}).get("devices") or [])
    for plan in plans:
        if plan.get("protocol") != "rdma" or not plan.get("name"):
            continue
        where = "host %s, instance '%s'" % (host, plan["name"])
        device_name = plan.get("device_name")
        if not (info or {}).get("available"):
            errors.append("%s: RDMA device %s cannot be used: %s" % (where, device_name, (info or {}).get("reason") or "no RDMA information"))
            continue
        device = devices.get(device_name)
        if device is None:
            errors.append(
                "%s: RDMA device %s does not exist on this host (found: %s); set device_name to one of them"
                % (where, device_name, ", ".join(sorted(devices)) or "none")
            )
            continue
        ports = device.get("ports") or []
        active = [p for p in ports if p.get("state") == "ACTIVE"]
        if not active:
            errors.append(
                "%s: RDMA device %s has no active port (%s); check the cable, the switch and the subnet manager"
                % (where, device_name, ", ".join("port %s %s" % (p.get("port"), p.get("state")) for p in ports) or "no ports")
            )
            continue
        port = active[0]
        env = {}
        if plan.get("gid_index") == "auto":
            if port.get("suggested_gid_index") is None:
                errors.append(
                    "%s: no GID index to suggest for %s port %s (%s); set gid_index explicitly"
                    % (where, device_name, port.get("port"), port.get("suggested_gid_reason"))
                )
            else:
                env["MC_GID_INDEX"] = str(port["suggested_gid_index"])
        elif plan.get("gid_index") is not None:
            env["MC_GID_INDEX"] = str(plan["gid_index"])
        if plan.get("mtu") == "auto":
            if not port.get("active_mtu"):
                errors.append("%s: %s port %s reports no active MTU; set mtu explicitly" % (where, device_name, port.get("port")))
            else:
                env["MC_MTU"] = str(port["active_mtu"])
        elif plan.get("mtu") is not None:
            env["MC_MTU"] = str(plan["mtu"])
        settings[plan["name"]] = env
    return settings, errors
