# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the instances role asks of a host before any change, and how it judges the answers.

The plan (instance_plan.py) says what each instance should get; these functions turn it into
the requests of the read-only modules (port_bindings, tcp_reachable) and turn their results,
with the host's addresses and RDMA devices, into one list of problems, each naming the host,
the instance or field, and the fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from ansible_collections.mooncake.deploy.plugins.module_utils.values import truthy

UNIT_PATTERN = re.compile(r"^mooncake-instance@(?P<name>.+)\.service$")


def unit_name(name):
    return "mooncake-instance@%s.service" % name


def _label(host, name):
    return "host %s, instance '%s'" % (host, name)


def port_expectations(host, plans):
    """port_bindings' expect list: each instance's port free, or held by its own unit."""
    return [
        {"port": port, "state": "available", "unit": unit_name(plan["name"]), "label": _label(host, plan["name"])}
        for plan in plans
        if plan.get("name")
        for port in plan.get("ports") or ([plan["port"]] if plan.get("port") else [])
    ]


def metadata_probes(host, plans, managed_endpoints):
    """tcp_reachable's endpoints: each distinct metadata server endpoint, once.

    An endpoint of an etcd member of the inventory (`managed_endpoints`, ``IP:PORT``) may refuse
    connections before the run starts it; it must still answer (no timeout, no wrong host)."""
    probes = {}
    for plan in plans:
        for endpoint in plan.get("metadata_endpoints") or []:
            key = "%s:%s" % (endpoint["host"], endpoint["port"])
            if key not in probes:
                probes[key] = {
                    "host": endpoint["host"],
                    "port": endpoint["port"],
                    "refused_ok": key in (managed_endpoints or []),
                    "label": "host %s, metadata_server of instance '%s' (%s)" % (host, plan["name"], plan["metadata_server"]),
                }
    return list(probes.values())


def port_problems(plans, port_results):
    """The port_bindings results that stand as problems.

    A port held by the unit of an instance this host no longer lists is not one: that instance
    is stopped before the new one starts (a rename that keeps the port)."""
    planned = set(plan["name"] for plan in plans)
    problems = []
    for result in port_results or []:
        if result.get("ok"):
            continue
        units = [((holder.get("process") or {}).get("unit") or "") for holder in result.get("holders") or []]
        leaving = [unit for unit in units if UNIT_PATTERN.match(unit) and UNIT_PATTERN.match(unit).group("name") not in planned]
        if len(leaving) != len(units):
            problems.append("%s. Stop that process, or give the instance another port." % result["problem"])
    return problems


def address_problem(host, plans, address, own_addresses):
    """The advertised address must be one of the host's own (peers would reach someone else)."""
    if not plans or str(address) in [str(a) for a in own_addresses or []]:
        return []
    return [
        "host %s: mooncake_instances_address %s is not an address of this host (it has %s); peers would "
        "connect to someone else. Set mooncake_instances_address to one of its IPs."
        % (host, address, ", ".join(str(a) for a in own_addresses or []))
    ]


NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DROPIN = re.compile(r"^/etc/systemd/system/mooncake-instance@(?P<name>[^/]+)\.service\.d/10-command\.conf$")


def leftovers(found, plans, config_dir):
    """What an earlier run left on the host that the plan no longer wants.

    `found`: paths of the instance configs (``<config_dir>/NAME.json``) and command drop-ins
    (``/etc/systemd/system/mooncake-instance@NAME.service.d/10-command.conf``) on the host.
    Returns ``unlisted``, the names of deployed instances the plan does not list, and
    ``stale_dropins``, the names of planned instances back on the default agent that still have
    a command drop-in."""
    planned = dict((plan["name"], plan) for plan in plans)
    prefix = config_dir.rstrip("/") + "/"
    unlisted, stale = [], []
    for path in found or []:
        dropin = DROPIN.match(path)
        if dropin:
            plan = planned.get(dropin.group("name"))
            if plan is not None and not plan.get("command"):
                stale.append(plan["name"])
            continue
        if path.startswith(prefix) and path.endswith(".json") and "/" not in path[len(prefix):]:
            name = path[len(prefix):-len(".json")]
            if NAME.match(name) and name not in planned and name not in unlisted:
                unlisted.append(name)
    return {"unlisted": sorted(unlisted), "stale_dropins": sorted(stale)}


def reserved_ports(host, variables, etcd_hosts):
    """{port: what} of the other services this collection runs on the host: etcd on its members,
    the Store master where one runs (the roles' defaults where the inventory sets nothing)."""

    def get(name, default):
        value = variables.get(name) if name in variables else None
        return default if value is None else value

    reserved = {}
    if host in (etcd_hosts or []):
        reserved[str(get("mooncake_etcd_client_port", 2379))] = "etcd (client)"
        reserved[str(get("mooncake_etcd_peer_port", 2380))] = "etcd (peer)"
    groups = get("group_names", [])
    if truthy(get("mooncake_master_enabled", "mooncake_master" in groups)):
        reserved[str(get("mooncake_master_rpc_port", 50051))] = "the Store master (RPC)"
        reserved[str(get("mooncake_master_metrics_port", 9003))] = "the Store master (metrics, /health)"
        if truthy(get("mooncake_master_http_metadata_server", False)):
            reserved[str(get("mooncake_master_http_metadata_port", 8080))] = "the Store master (HTTP metadata)"
    return reserved
