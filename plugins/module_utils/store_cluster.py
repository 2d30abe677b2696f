# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The Mooncake Store's masters as the inventory describes them, and how clients reach them.

One master runs alone and clients name it ``IP:PORT``. More than one run with high
availability: each master takes part in a leader election on the inventory's etcd members
(``--enable_ha``, ``--etcd_endpoints=IP:PORT;IP:PORT``), one serves and the others stand by,
the oplog replicates the objects' metadata so a failover loses none (measured: without
``--enable_oplog`` the new leader knows no object), and clients name the etcd members
(``etcd://IP:PORT;IP:PORT``, the form the Store's client parses).

A master's address and ports come from its host variables, with the master role's defaults
(the role's defaults are not visible from other hosts, so they are repeated here).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.values import truthy, url_host

RPC_PORT = 50051
METRICS_PORT = 9003


def _ha_wanted(setting, count):
    """mooncake_master_ha: 'auto' (HA when there is more than one master) or a boolean."""
    if setting is None or str(setting).lower() == "auto":
        return count > 1
    return truthy(setting)


def store_masters(master_hosts, hostvars, etcd_endpoints):
    """``{mode, masters, server_address, etcd_endpoints, errors}`` of the inventory's masters.

    mode is "none", "single" or "ha"; masters lists ``{host, rpc_address, rpc_port,
    metrics_address, metrics_port, health_url}``; etcd_endpoints is the HA backend's
    ``IP:PORT;IP:PORT`` ("" without HA)."""
    hosts = list(master_hosts or [])
    masters = []
    for host in hosts:
        variables = hostvars.get(host) or {}
        rpc_address = variables.get("mooncake_master_rpc_address") or variables.get("ansible_host") or host
        metrics_address = variables.get("mooncake_master_metrics_address") or rpc_address
        metrics_port = variables.get("mooncake_master_metrics_port") or METRICS_PORT
        masters.append({
            "host": host,
            "rpc_address": str(rpc_address),
            "rpc_port": int(variables.get("mooncake_master_rpc_port") or RPC_PORT),
            "metrics_address": str(metrics_address),
            "metrics_port": int(metrics_port),
            "health_url": "http://%s:%s/health" % (url_host(str(metrics_address)), metrics_port),
        })
    errors = []
    if not masters:
        return {"mode": "none", "masters": [], "server_address": "", "etcd_endpoints": "", "errors": errors}
    setting = (hostvars.get(hosts[0]) or {}).get("mooncake_master_ha", "auto")
    if not _ha_wanted(setting, len(masters)):
        if len(masters) > 1:
            errors.append(
                "the group mooncake_master has %d hosts (%s) but mooncake_master_ha is %r: masters without HA "
                "each keep their own objects and clients reach only one; set mooncake_master_ha: auto, or keep one master"
                % (len(masters), ", ".join(hosts), setting))
        first = masters[0]
        return {"mode": "single", "masters": masters, "etcd_endpoints": "", "errors": errors,
                "server_address": "%s:%s" % (url_host(first["rpc_address"]), first["rpc_port"])}
    endpoints = list(etcd_endpoints or [])
    if not endpoints:
        errors.append(
            "the group mooncake_master has %d hosts (%s): the masters elect their leader on etcd, but the "
            "inventory has no etcd members; add hosts to the group etcd, or keep one master"
            % (len(masters), ", ".join(hosts)))
    joined = ";".join(endpoints)
    return {"mode": "ha", "masters": masters, "etcd_endpoints": joined, "errors": errors,
            "server_address": "etcd://%s" % joined if endpoints else ""}
