# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The etcd members of an inventory: name, address, ports and URLs, from each member's variables.

One rule for every role that needs etcd's addresses (the etcd role's --initial-cluster, the
instances' default metadata_server, the verification's picture): a member's address is
``mooncake_etcd_address`` when set, else the IPv4 of ``mooncake_etcd_interface`` (from that
member's gathered facts), else its ``ansible_host``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.values import truthy, url_host

# The etcd role's defaults, for members whose inventory does not set them.
DEFAULTS = {
    "mooncake_etcd_client_port": 2379,
    "mooncake_etcd_peer_port": 2380,
    "mooncake_etcd_client_tls": False,
    "mooncake_etcd_peer_tls": False,
    "mooncake_etcd_interface": "",
    "mooncake_etcd_address": "",
}


class MemberError(ValueError):
    """A member whose address cannot be resolved."""


def interface_address(facts, interface):
    """The IPv4 address of `interface` in a host's gathered facts ('' when unknown)."""
    key = interface.replace("-", "_").replace(".", "_")
    entry = (facts or {}).get(key) or {}
    return str((entry.get("ipv4") or {}).get("address") or "")


def member(host, variables, defaults=None):
    """One member's entry from its variables (a hostvars entry), `defaults` filling the gaps."""
    merged = dict(DEFAULTS)
    merged.update(defaults or {})

    def get(name):
        value = variables.get(name) if name in variables else None
        return merged.get(name) if value is None else value

    explicit = str(get("mooncake_etcd_address") or "")
    interface = str(get("mooncake_etcd_interface") or "")
    if explicit:
        address = explicit
    elif interface:
        address = interface_address(variables.get("ansible_facts") if "ansible_facts" in variables else {}, interface)
    else:
        address = str(variables.get("ansible_host") if "ansible_host" in variables else host)
    client_port = int(get("mooncake_etcd_client_port"))
    peer_port = int(get("mooncake_etcd_peer_port"))
    client_scheme = "https" if truthy(get("mooncake_etcd_client_tls")) else "http"
    peer_scheme = "https" if truthy(get("mooncake_etcd_peer_tls")) else "http"
    name = variables.get("mooncake_etcd_name") if "mooncake_etcd_name" in variables else None
    return {
        "host": host,
        "name": str(name or host),
        "address": address,
        "interface": interface,
        "client_port": client_port,
        "peer_port": peer_port,
        "endpoint": "%s:%d" % (url_host(address), client_port) if address else "",
        "client_url": "%s://%s:%d" % (client_scheme, url_host(address), client_port) if address else "",
        "peer_url": "%s://%s:%d" % (peer_scheme, url_host(address), peer_port) if address else "",
    }


def members(hosts, hostvars, defaults=None):
    """The entries of `hosts` (inventory names), in order."""
    return [member(host, hostvars[host], defaults) for host in hosts]


def endpoints(hosts, hostvars, defaults=None):
    """``ADDRESS:CLIENT_PORT`` of each member; a member whose address is unknown is an error."""
    out = []
    for entry in members(hosts, hostvars, defaults):
        if not entry["address"]:
            raise MemberError(
                "host %s: its etcd address comes from mooncake_etcd_interface '%s', which has no IPv4 address "
                "in its facts. Gather facts on %s in this play, fix the interface name, or set "
                "mooncake_etcd_address." % (entry["host"], entry["interface"], entry["host"])
            )
        out.append(entry["endpoint"])
    return out
