# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Every problem of one etcd member's settings, each message naming the host, the field and the fix.

Plain functions over plain data (the member's settings, its facts, the member table of
module_utils/etcd_members and the instance hosts that would use this etcd), so unit tests run
them without Ansible. The etcd role reports all of them in one failure before it changes anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_members as table
from ansible_collections.mooncake.deploy.plugins.module_utils.values import is_ip, truthy

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_INTERFACE = re.compile(r"^[A-Za-z0-9_.:@-]*$")
# Variables that identify a member: the other members read them from the inventory (hostvars).
_PER_MEMBER = (("mooncake_etcd_name", None), ("mooncake_etcd_address", ""), ("mooncake_etcd_interface", ""))


def _port(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def defaults(settings):
    """The values of this host that fill the gaps of the other members (ports and TLS)."""
    keys = ("mooncake_etcd_client_port", "mooncake_etcd_peer_port", "mooncake_etcd_client_tls", "mooncake_etcd_peer_tls")
    return dict((key, settings[key]) for key in keys if key in settings)


def engine_hosts(host, own, settings, groups, hostvars):
    """The hosts of group 'mooncake' whose transfer engines would register at this member.

    Their metadata_server is unset (then the instances use their etcd group, by default 'etcd')
    or an etcd:// list that names this member's endpoint.
    """
    out = []
    for other in groups.get("mooncake") or []:
        variables = hostvars[other]
        server = str(variables.get("mooncake_instances_metadata_server") or "") \
            if "mooncake_instances_metadata_server" in variables else ""
        group = (variables.get("mooncake_instances_etcd_group") if "mooncake_instances_etcd_group" in variables
                 else None) or "etcd"
        if (not server and host in (groups.get(group) or [])) or \
                (server.startswith("etcd://") and own["endpoint"] and own["endpoint"] in server):
            out.append(other)
    return out


def problems(host, settings, variables, facts, members, engines):
    """Every problem of member `host`, one message each.

    settings: this host's mooncake_etcd_* values as the role runs with them; variables: its
    inventory variables (hostvars entry); facts: its ansible_facts; members: the member table of
    the group (etcd_members, this host included when it is a member); engines: engine_hosts().
    """
    facts = facts or {}
    out = []
    address = str(settings.get("mooncake_etcd_address") or "")
    interface = str(settings.get("mooncake_etcd_interface") or "")
    name = str(settings.get("mooncake_etcd_name") or host)
    group = str(settings.get("mooncake_etcd_group") or "etcd")
    client_port = _port(settings.get("mooncake_etcd_client_port"))
    peer_port = _port(settings.get("mooncake_etcd_peer_port"))
    client_tls = truthy(settings.get("mooncake_etcd_client_tls"))
    peer_tls = truthy(settings.get("mooncake_etcd_peer_tls"))

    for key, default in _PER_MEMBER:
        mine = settings.get(key)
        seen = variables.get(key) if key in variables else None
        mine = host if mine in (None, "") and default is None else mine
        seen = (host if default is None else default) if seen in (None, "") else seen
        if str(mine or "") != str(seen or ""):
            out.append(
                "host %s: %s is '%s' for this play but '%s' in the inventory. The other members read it from the "
                "inventory (their --initial-cluster, the instances' metadata_server): set it as a host variable of %s "
                "(host_vars, the inventory or -e), not as a play or role variable." % (host, key, mine, seen, host))

    interface_problem = ip_problem = False
    if address in ("0.0.0.0", "::") or not _INTERFACE.match(interface):
        ip_problem = True
        out.append(
            "host %s: mooncake_etcd_address '%s' / mooncake_etcd_interface '%s': etcd advertises this address to clients "
            "and peers, so it must be one real IP of this host, never 0.0.0.0; to listen on every interface set "
            "mooncake_etcd_listen_all: true and keep a real IP (or an interface) as the address." % (host, address, interface))
    if not address and interface and not ip_problem:
        names = [str(i) for i in facts.get("interfaces") or []]
        key = interface.replace("-", "_").replace(".", "_")
        known = key in [n.replace("-", "_").replace(".", "_") for n in names]
        if not (known and table.interface_address(facts, interface)):
            interface_problem = True
            out.append(
                "host %s: mooncake_etcd_interface '%s' %s (interfaces: %s); set mooncake_etcd_interface to an interface "
                "that carries the IPv4 the engines use to reach etcd, or set mooncake_etcd_address."
                % (host, interface, "has no IPv4 address" if known else "is not an interface of this host", ", ".join(names)))

    own = table.member(host, variables, defaults(settings))
    resolved = own["address"]
    if not interface_problem and not ip_problem and not is_ip(resolved):
        ip_problem = True
        out.append(
            "host %s: mooncake_etcd_address '%s' is not an IP address etcd can listen on (it builds http://ADDRESS:PORT "
            "URLs from it); set mooncake_etcd_address (or ansible_host) to one IPv4 or IPv6 address of this host, not a "
            "name, a URL or 0.0.0.0." % (host, resolved))

    others = [m for m in members if m["host"] != host]
    bad = [m for m in others if not is_ip(m["address"])]
    if bad:
        out.append(
            "host %s: the etcd members %s of group '%s' have no IP address, so --initial-cluster cannot be built; set "
            "mooncake_etcd_address (or mooncake_etcd_interface, or ansible_host) of those hosts to an IP address."
            % (host, ", ".join("%s (address '%s')" % (m["host"], m["address"]) for m in bad), group))

    clashes = []
    for other in others:
        if other["name"] == own["name"]:
            clashes.append("mooncake_etcd_name '%s' is also the name of %s" % (other["name"], other["host"]))
        if own["address"] and (other["peer_url"] == own["peer_url"] or other["client_url"] == own["client_url"]):
            clashes.append("mooncake_etcd_address %s is also the address of %s with the same ports (%s)" % (
                other["address"], other["host"],
                other["peer_url"] if other["peer_url"] == own["peer_url"] else other["client_url"]))
    if clashes:
        out.append("host %s: %s. Every etcd member needs its own mooncake_etcd_name and its own mooncake_etcd_address "
                   "(or its own ports on a shared address)." % (host, "; ".join(clashes)))

    own_ips = [str(a) for a in (facts.get("all_ipv4_addresses") or []) + (facts.get("all_ipv6_addresses") or [])]
    if not interface_problem and not ip_problem and facts and resolved not in own_ips:
        out.append(
            "host %s: mooncake_etcd_address %s is not an address of this host (it has %s); set mooncake_etcd_address "
            "to the IP etcd should listen on and advertise (0.0.0.0 is never used)." % (host, resolved, ", ".join(own_ips)))

    ports_ok = (client_port is not None and peer_port is not None and 1024 <= client_port <= 65535
                and 1024 <= peer_port <= 65535 and client_port != peer_port)
    if not ports_ok or not _NAME.match(name) or host not in [m["host"] for m in members]:
        out.append(
            "host %s: etcd needs distinct client and peer ports from 1024 to 65535 (got %s and %s), a plain member name "
            "(got '%s') and the host in the inventory group '%s'." % (
                host, settings.get("mooncake_etcd_client_port"), settings.get("mooncake_etcd_peer_port"), name, group))

    if (truthy(settings.get("mooncake_etcd_client_cert_auth")) and not client_tls) or \
            ((client_tls or peer_tls) and not str(settings.get("mooncake_etcd_pki_dir") or "")):
        out.append(
            "host %s: mooncake_etcd_client_cert_auth needs mooncake_etcd_client_tls: true (client certificates are "
            "checked only on an https listener), and TLS needs mooncake_etcd_pki_dir (a controller directory for the "
            "CA); set mooncake_etcd_client_tls: true or mooncake_etcd_client_cert_auth: false." % host)

    # The transfer engine's etcd client (Mooncake's etcd_wrapper, Go clientv3) is built without
    # TLS: it cannot talk to an https client listener, let alone present a client certificate.
    if client_tls and engines:
        out.append(
            "host %s: mooncake_etcd_client_tls is true, but the hosts %s of group 'mooncake' would register their "
            "transfer engines at this etcd (%s), and the engine's etcd client speaks plain gRPC only (no TLS). Keep "
            "mooncake_etcd_client_tls: false (peer TLS, mooncake_etcd_peer_tls, can stay on) on a private network, or "
            "point those hosts' mooncake_instances_metadata_server at another etcd."
            % (host, ", ".join(engines), own["client_url"]))
    return out


def join_cluster(members, name, peer_url):
    """``NAME=PEER_URL,...`` of a running cluster (``etcdctl member list|add --write-out=json``'s
    members) for a joining member's --initial-cluster; the joining member has no name until it
    starts: it is the one with `peer_url`, named `name`."""
    out = []
    for entry in members or []:
        for url in entry.get("peerURLs") or []:
            out.append("%s=%s" % (entry.get("name") or (name if url == peer_url else ""), url))
    return ",".join(out)
