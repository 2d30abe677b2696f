# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The Store master's addresses and ports, checked, and what follows from them.

Every problem is reported at once, each naming the host, the variable and the fix. The result
also carries the ports the master binds, the value clients use as ``master_server_address``
and the URL of its ``/health``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.values import is_ip, url_host


def _port(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def master_settings(settings, host="this host"):
    """Check ``settings`` (rpc_address, rpc_port, metrics_address, metrics_port,
    http_metadata_server, http_metadata_address, http_metadata_port) and return
    ``{errors, ports, server_address, health_url}``."""
    errors = []
    http_metadata = str(settings.get("http_metadata_server", False)).lower() in ("true", "yes", "1", "on")
    addresses = [("mooncake_master_rpc_address", settings.get("rpc_address")),
                 ("mooncake_master_metrics_address", settings.get("metrics_address"))]
    ports = [("mooncake_master_rpc_port", settings.get("rpc_port")),
             ("mooncake_master_metrics_port", settings.get("metrics_port"))]
    if http_metadata:
        addresses.append(("mooncake_master_http_metadata_address", settings.get("http_metadata_address")))
        ports.append(("mooncake_master_http_metadata_port", settings.get("http_metadata_port")))
    for name, value in addresses:
        if not is_ip(value):
            errors.append("host %s: %s=%s is not an IP address; the master binds explicit addresses: set the "
                          "host's own IP (not a name)." % (host, name, value))
    seen = {}
    for name, value in ports:
        port = _port(value)
        if port is None or not 1024 <= port <= 65535:
            errors.append("host %s: %s=%s must be a port from 1024 to 65535." % (host, name, value))
        elif port in seen:
            errors.append("host %s: %s and %s are both %d; the master's ports must be distinct."
                          % (host, seen[port], name, port))
        else:
            seen[port] = name
    rpc_address = str(settings.get("rpc_address"))
    metrics_address = str(settings.get("metrics_address"))
    return {
        "errors": errors,
        "ports": [_port(value) for _name, value in ports],
        "server_address": "%s:%s" % (url_host(rpc_address), settings.get("rpc_port")),
        "health_url": "http://%s:%s/health" % (url_host(metrics_address), settings.get("metrics_port")),
    }
