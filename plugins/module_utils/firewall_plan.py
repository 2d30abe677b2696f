# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The firewall of one host of the deployment, computed from the inventory.

Every service the collection runs listens on every address it may (the engine's RPC and data
ports bind 0.0.0.0 whatever ``MC_TCP_BIND_ADDRESS`` says), so the host's own nftables table
``inet mooncake`` lets each of the host's deployment ports be reached only by the hosts that
need it and drops the rest. Nothing else is filtered: ssh and every port the collection does not
run stay as they were.

``plan_firewall`` reads the host's services (etcd, transfer-engine and serving instances, the
Store master, store clients, the router) and the addresses of the hosts that talk to them from
``hostvars`` and ``groups``; it collects every problem at once (host, variable, fix).
``nft_lines`` writes the table; ``conflict_problems`` names the ports a host's firewalld or ufw
must open instead, when one of them manages the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import DEFAULT_EPHEMERAL_RANGE, _int, plan_instances
from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import plan_store_clients
from ansible_collections.mooncake.deploy.plugins.module_utils.values import is_ip, truthy

TABLE = "inet mooncake"
# The services, in the order their rules are written, with what they are.
SERVICES = (
    ("etcd_client", "etcd's client port"),
    ("etcd_peer", "etcd's peer port"),
    ("instances", "the instances' ports and RPC/data ranges"),
    ("master", "the Store master's RPC port"),
    ("store_client", "the store clients' ports and RPC/connection ranges"),
    ("router", "the router's API"),
    ("metrics", "metrics and health ports"),
)
SERVICE_NAMES = tuple(name for name, description in SERVICES)
BOOLEAN_WORDS = ("true", "false", "yes", "no", "on", "off", "1", "0", "y", "n", "t", "f")
EXTRA_SOURCE_KEYS = ("etcd_client", "etcd_peer", "instances", "master", "store_client")
# Variables that may hold one of a host's addresses (the first one that is set is the source
# the others see; a host may list more in mooncake_firewall_addresses).
ADDRESS_VARIABLES = (
    "mooncake_instances_address", "ansible_host", "mooncake_etcd_address", "mooncake_store_client_address",
    "mooncake_master_rpc_address",
)


def _get(variables, name, default=None):
    value = variables.get(name) if name in variables else None
    return default if value is None else value


def _hostvars(hostvars, host):
    try:
        return hostvars[host]
    except KeyError:
        return {}


def _group(groups, name):
    return list((groups or {}).get(name) or [])


def _master_enabled(variables, host, groups):
    return truthy(_get(variables, "mooncake_master_enabled", host in _group(groups, "mooncake_master")))


def _store_clients(variables):
    clients = _get(variables, "mooncake_store_clients", [])
    return clients if isinstance(clients, list) else []


def deployment_hosts(hostvars, groups):
    """The hosts of the deployment, in inventory order: etcd members, instance hosts, routers,
    Store masters and hosts that list store clients."""
    hosts = []
    for name in ("etcd", "mooncake", "mooncake_router", "mooncake_master"):
        hosts += _group(groups, name)
    for host in _group(groups, "all"):
        variables = _hostvars(hostvars, host)
        if _master_enabled(variables, host, groups) or _store_clients(variables):
            hosts.append(host)
    seen = set()
    return [h for h in hosts if not (h in seen or seen.add(h))]


def host_addresses(host, variables):
    """``(addresses, problems)``: the IPs the other hosts see ``host`` connect from.

    ``mooncake_firewall_addresses`` when the host sets it (a list of IPs or networks), else every
    address among ``mooncake_instances_address``, ``ansible_host``, ``mooncake_etcd_address``,
    ``mooncake_store_client_address`` and ``mooncake_master_rpc_address`` that is an IP."""
    given = _get(variables, "mooncake_firewall_addresses")
    if given is not None:
        if not isinstance(given, list) or not given:
            return [], ["host %s: mooncake_firewall_addresses %r must be a non-empty list of IP addresses or networks"
                        % (host, given)]
        networks, problems = [], []
        for value in given:
            network = _network(value)
            if network is None:
                problems.append("host %s: mooncake_firewall_addresses has %r, which is not an IP address or network "
                                "(e.g. 10.0.0.5 or 10.0.0.0/24)" % (host, value))
            else:
                networks.append(network)
        return networks, problems
    addresses = []
    for name in ADDRESS_VARIABLES:
        value = _get(variables, name)
        if value not in (None, "") and is_ip(value):
            address = ipaddress.ip_network(str(value))
            if not address.network_address.is_unspecified and address not in addresses:
                addresses.append(address)
    if addresses:
        return addresses, []
    shown = _get(variables, "ansible_host", host)
    return [], ["host %s: its address %r (ansible_host, else its inventory name) is not an IP address, and the "
                "firewall allows addresses, not names; set ansible_host to its IP, or mooncake_firewall_addresses: "
                "[IP, ...] for host %s" % (host, shown, host)]


def _network(value):
    if isinstance(value, bool) or not isinstance(value, str) or not value.strip():
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _networks(errors, host, variable, value):
    """The networks of a list of IPs/CIDRs, each wrong item an error naming ``variable``."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        errors.append("host %s: %s must be a list of IP addresses or networks (e.g. [10.0.0.0/24]), got %r"
                      % (host, variable, value))
        return []
    networks = []
    for item in value:
        network = _network(item)
        if network is None:
            errors.append("host %s: %s has %r, which is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                          % (host, variable, item))
        else:
            networks.append(network)
    return networks


def _instances(host, variables):
    """``[(name, ports, ranges)]`` of the host's instances: the published plan
    ``mooncake_instances_plan`` (what the instances role deploys) when the play has it, else the
    raw ``mooncake_instances`` planned as that role plans them, with its defaults."""
    planned = _get(variables, "mooncake_instances_plan")
    if not isinstance(planned, list):
        raw = _get(variables, "mooncake_instances", [])
        if not isinstance(raw, list):
            return []
        settings = {
            "address": "127.0.0.1",
            "port_base": _get(variables, "mooncake_instances_port_base", 15624),
            "port_stride": _get(variables, "mooncake_instances_port_stride", 1),
            "range_base": _get(variables, "mooncake_instances_port_range_base", 20000),
            "range_size": _get(variables, "mooncake_instances_port_range_size", 100),
            "bootstrap_port_base": _get(variables, "mooncake_instances_bootstrap_port_base", 8998),
            "ephemeral_range": _get(variables, "mooncake_instances_ephemeral_range", list(DEFAULT_EPHEMERAL_RANGE)),
        }
        # The instances role reports the inventory's errors; what could be planned is filtered.
        planned = plan_instances(host, raw, settings)[0]
    found = []
    for index, item in enumerate(planned):
        if not isinstance(item, dict):
            continue
        ports = [item.get(field) for field in ("port", "bootstrap_port") if item.get(field) is not None] + list(item.get("ports") or [])
        ranges = [item.get("rpc_port_range")] if item.get("rpc_port_range") else []
        found.append((item.get("name") or "mooncake_instances[%d]" % index, ports, ranges))
    return found


def _store_client_ports(host, variables):
    """``(service, metrics)``: ports and ranges of the host's store clients, from the published
    ``mooncake_store_client_plan`` or planned as the store_client role plans them."""
    planned = _get(variables, "mooncake_store_client_plan")
    if not isinstance(planned, list):
        settings = {
            "address": "127.0.0.1",
            "port_base": _get(variables, "mooncake_store_client_port_base", 22052),
            "http_port_base": _get(variables, "mooncake_store_client_http_port_base", 9300),
            "rpc_range_base": _get(variables, "mooncake_store_client_rpc_range_base", 23000),
            "store_range_base": _get(variables, "mooncake_store_client_store_range_base", 24000),
            "range_size": _get(variables, "mooncake_store_client_range_size", 100),
            "ephemeral_range": _get(variables, "mooncake_store_client_ephemeral_range", list(DEFAULT_EPHEMERAL_RANGE)),
        }
        # The store_client role reports the inventory's errors; what could be planned is filtered.
        planned = plan_store_clients(host, _store_clients(variables), settings)[0]
    service, metrics = ([], []), ([], [])
    for item in planned:
        if not isinstance(item, dict):
            continue
        service[0].append(item.get("port"))
        metrics[0].append(item.get("http_port"))
        service[1].extend(item.get(field) for field in ("rpc_port_range", "store_port_range") if item.get(field))
    return service, metrics


def _clean_ports(values):
    ports = set()
    for value in values:
        port = _int(value)
        if port is not None and 1 <= port <= 65535:
            ports.add(port)
    return ports


def _clean_ranges(values):
    ranges = set()
    for value in values:
        if isinstance(value, (list, tuple)) and len(value) == 2:
            low, high = _int(value[0]), _int(value[1])
            if low is not None and high is not None and 1 <= low <= high <= 65535:
                ranges.add((low, high))
    return ranges


def _collapse(networks):
    v4 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 6))
    return [_shown(n) for n in v4], [_shown(n) for n in v6]


def _shown(network):
    """A network as nft reads it: a single address without its /32 or /128."""
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def plan_firewall(host, hostvars, groups, settings):
    """The firewall of ``host``: ``{'enabled', 'services', 'ports', 'ranges', 'errors'}``.

    ``settings``:
      enabled           mooncake_firewall_enabled
      router_sources    networks that may reach the routers' API besides the deployment's hosts
      metrics_sources   networks that may reach the metrics/health ports besides the deployment's hosts
      extra_sources     {service: [network, ...]} for etcd_client, etcd_peer, instances, master, store_client
    Each service of the host: ``{'name', 'description', 'ports', 'ranges', 'hosts', 'v4', 'v6'}``
    with its ports and port ranges (sorted), the inventory hosts allowed and the allowed
    networks by family (collapsed). ``ports``/``ranges``: every port the table filters."""
    errors = []
    settings = settings or {}
    enabled = settings.get("enabled", True)
    if not isinstance(enabled, bool):
        # -e mooncake_firewall_enabled=false arrives as a string.
        text = str(enabled).strip().lower()
        if text not in BOOLEAN_WORDS:
            errors.append("host %s: mooncake_firewall_enabled %r must be true or false" % (host, enabled))
        enabled = truthy(enabled)
    variables = _hostvars(hostvars, host)
    deployment = deployment_hosts(hostvars, groups)
    etcd_members = _group(groups, "etcd")
    masters = [h for h in deployment if _master_enabled(_hostvars(hostvars, h), h, groups)]
    store_hosts = [h for h in deployment if _store_clients(_hostvars(hostvars, h))]
    instance_hosts = _group(groups, "mooncake")
    routers = _group(groups, "mooncake_router")

    extra = settings.get("extra_sources") or {}
    if not isinstance(extra, dict):
        errors.append("host %s: mooncake_firewall_extra_sources must be a mapping of service to networks, e.g. "
                      "{etcd_client: [10.0.0.0/24]}; got %r" % (host, extra))
        extra = {}
    for key in sorted(set(extra) - set(EXTRA_SOURCE_KEYS), key=str):
        errors.append("host %s: mooncake_firewall_extra_sources has unknown service %r; known are %s (routers and "
                      "metrics: mooncake_firewall_router_sources, mooncake_firewall_metrics_sources)"
                      % (host, key, ", ".join(EXTRA_SOURCE_KEYS)))
    networks = dict((key, _networks(errors, host, "mooncake_firewall_extra_sources.%s" % key, extra.get(key)))
                    for key in EXTRA_SOURCE_KEYS)
    networks["router"] = _networks(errors, host, "mooncake_firewall_router_sources", settings.get("router_sources"))
    networks["metrics"] = _networks(errors, host, "mooncake_firewall_metrics_sources", settings.get("metrics_sources"))

    wanted = dict((name, (set(), set(), [])) for name in SERVICE_NAMES)  # ports, ranges, allowed hosts

    def add(service, ports, ranges, allowed):
        wanted[service][0].update(_clean_ports(ports))
        wanted[service][1].update(_clean_ranges(ranges))
        for other in allowed:
            if other not in wanted[service][2]:
                wanted[service][2].append(other)

    if host in etcd_members:
        add("etcd_client", [_get(variables, "mooncake_etcd_client_port", 2379)], [],
            instance_hosts + masters + store_hosts + etcd_members)
        add("etcd_peer", [_get(variables, "mooncake_etcd_peer_port", 2380)], [], etcd_members)
    if host in instance_hosts:
        for _name, ports, ranges in _instances(host, variables):
            # Peers' engines, the routers in front of serving instances, and the Store's hosts
            # (instances that lend the Store memory are read and written by its clients).
            add("instances", ports, ranges, instance_hosts + routers + masters + store_hosts)
    if host in masters:
        ports = [_get(variables, "mooncake_master_rpc_port", 50051)]
        if truthy(_get(variables, "mooncake_master_http_metadata_server", False)):
            ports.append(_get(variables, "mooncake_master_http_metadata_port", 8080))
        add("master", ports, [], deployment)
        add("metrics", [_get(variables, "mooncake_master_metrics_port", 9003)], [], deployment)
    if host in store_hosts:
        service, metrics = _store_client_ports(host, variables)
        add("store_client", service[0], service[1], deployment)
        add("metrics", metrics[0], [], deployment)
    if host in routers:
        add("router", [_get(variables, "mooncake_router_port", 30000)], [], deployment)
        add("metrics", [_get(variables, "mooncake_router_metrics_port", 29000)], [], deployment)

    addresses = {}
    for other in deployment:
        found, problems = host_addresses(other, _hostvars(hostvars, other))
        addresses[other] = found
        if any(other in wanted[name][2] for name in SERVICE_NAMES if wanted[name][0] or wanted[name][1]):
            errors.extend(p for p in problems if p not in errors)

    services, all_ports, all_ranges = [], set(), set()
    for name, description in SERVICES:
        ports, ranges, allowed = wanted[name]
        if not ports and not ranges:
            continue
        v4, v6 = _collapse([a for h in allowed for a in addresses.get(h, [])] + networks[name])
        services.append({
            "name": name,
            "description": description,
            "ports": sorted(ports),
            "ranges": [list(r) for r in sorted(ranges)],
            "hosts": allowed,
            "networks": [str(n) for n in networks[name]],
            "v4": v4,
            "v6": v6,
        })
        all_ports.update(ports)
        all_ranges.update(ranges)
    return {
        "host": host,
        "enabled": enabled,
        "table": TABLE,
        "services": services,
        "ports": sorted(all_ports),
        "ranges": [list(r) for r in sorted(all_ranges)],
        "errors": errors,
    }


def _elements(ports, ranges):
    return ", ".join([str(p) for p in ports] + ["%d-%d" % tuple(r) for r in ranges])


def nft_lines(plan):
    """The file ``nft -f`` loads: the table created empty if absent, deleted, and written again,
    in one transaction (nftables 1.0.6 has no ``destroy``). Nothing outside ``inet mooncake``."""
    lines = [
        "table inet mooncake {}",
        "delete table inet mooncake",
        "table inet mooncake {",
        "\tchain input {",
        "\t\ttype filter hook input priority 0; policy accept;",
        "\t\tiif \"lo\" accept",
        "\t\tct state established,related accept",
    ]
    for service in plan["services"]:
        elements = _elements(service["ports"], service["ranges"])
        allowed = ", ".join(service["hosts"]) or "no inventory host"
        if service["networks"]:
            allowed += "; networks " + ", ".join(service["networks"])
        lines.append("\t\t# %s (%s): from %s" % (service["name"], service["description"], allowed))
        for family, key in (("ip", "v4"), ("ip6", "v6")):
            if service[key]:
                lines.append("\t\tmeta l4proto { tcp, udp } th dport { %s } %s saddr { %s } accept"
                             % (elements, family, ", ".join(service[key])))
    if plan["ports"] or plan["ranges"]:
        lines.append("\t\t# everyone else: dropped on the deployment's ports only")
        lines.append("\t\tmeta l4proto { tcp, udp } th dport { %s } counter drop" % _elements(plan["ports"], plan["ranges"]))
    lines += ["\t}", "}"]
    return lines


def conflict_problems(host, plan, states):
    """Problems when firewalld or ufw manages the host (``states``: {'firewalld': 'active',
    'ufw': 'inactive', 'ufw_enabled': True/False/None}), naming the ports to open there."""
    managers = []
    if states.get("firewalld") == "active":
        managers.append("firewalld")
    # ufw.service stays active while ufw is disabled (ENABLED=no in /etc/ufw/ufw.conf).
    if states.get("ufw") == "active" and states.get("ufw_enabled") is not False:
        managers.append("ufw")
    problems = []
    for manager in managers:
        rules = []
        for service in plan["services"]:
            for source in service["v4"] + service["v6"]:
                for port in service["ports"]:
                    rules.append((source, str(port)))
                for low, high in service["ranges"]:
                    rules.append((source, "%d%s%d" % (low, ":" if manager == "ufw" else "-", high)))
        if manager == "firewalld":
            commands = ["firewall-cmd --permanent --add-rich-rule='rule family=%s source address=%s port port=%s "
                        "protocol=tcp accept'" % ("ipv6" if ":" in source else "ipv4", source, port) for source, port in rules]
        else:
            commands = ["ufw allow proto tcp from %s to any port %s" % rule for rule in rules]
        summary = "; ".join("%s %s from %s" % (s["name"], _elements(s["ports"], s["ranges"]),
                                               ", ".join(s["v4"] + s["v6"]) or "nobody") for s in plan["services"])
        problems.append(
            "host %s: %s is active and manages this host's firewall; the collection does not fight it. Open the "
            "deployment's ports there for these sources only (%s), e.g.\n  %s\nthen set mooncake_firewall_enabled: "
            "false for this host; or stop and disable %s to let the collection's nftables table do it."
            % (host, manager, summary or "no ports", "\n  ".join(commands) or "(nothing to open)", manager)
        )
    return problems


def manager_states(text):
    """``{'firewalld', 'ufw', 'ufw_enabled'}`` from the lines ``firewalld=STATE``, ``ufw=STATE``
    (``systemctl is-active``) and ``ufw_enabled=yes|no`` (ENABLED= of /etc/ufw/ufw.conf, absent
    when there is none)."""
    states = {"ufw_enabled": None}
    for line in (text or "").splitlines():
        key, _sep, value = line.strip().partition("=")
        value = value.strip().strip("\"'")
        if key in ("firewalld", "ufw"):
            states[key] = value
        elif key == "ufw_enabled":
            states[key] = value.lower() == "yes"
    return states
