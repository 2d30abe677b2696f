# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``store_masters`` and ``store_master_address`` (the inventory's Store masters and the
``master_server_address`` clients use, module_utils/store_cluster.py) and
``store_consumer_configs`` (what vLLM and SGLang read to use the Store, module_utils/store_consumer.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_members
from ansible_collections.mooncake.deploy.plugins.module_utils.store_cluster import store_masters as describe
from ansible_collections.mooncake.deploy.plugins.module_utils.store_consumer import consumer_configs
from ansible_collections.mooncake.deploy.plugins.module_utils.store_verify import store_section, store_targets
from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import parse_size


def _etcd(etcd_hosts, hostvars):
    try:
        return etcd_members.endpoints(list(etcd_hosts or []), hostvars)
    except etcd_members.MemberError as err:
        raise AnsibleFilterError(str(err))


def store_masters(master_hosts, hostvars, etcd_hosts):
    """``{mode, masters, server_address, etcd_endpoints, errors}``."""
    return describe(master_hosts, hostvars, _etcd(etcd_hosts, hostvars))


def store_master_address(master_hosts, hostvars, etcd_hosts):
    """``IP:PORT`` of the one master, ``etcd://IP:PORT;IP:PORT`` with HA masters, "" without any."""
    return describe(master_hosts, hostvars, _etcd(etcd_hosts, hostvars))["server_address"]


def store_consumer_configs(settings, host):
    """``{errors, vllm, sglang_env}``: what vLLM's MooncakeStoreConnector and SGLang's HiCache read."""
    return consumer_configs(host, dict(settings or {}))


def verify_store(cluster, health_results, put, get, writer, reader, clients, metrics_results=None):
    """The verification's Store section: masters, clients, objects, throughput, metrics, failures."""
    return store_section(cluster, health_results, put, get, writer, reader, clients, metrics_results)


def store_clients_of(hosts, hostvars):
    """Every store client of ``hosts`` as {host, name, global_segment_size (bytes), http}: http is
    the ADDRESS:PORT of its health and metrics server (the store_client role's defaults where
    the inventory sets nothing)."""
    out = []
    for host in hosts or []:
        variables = hostvars.get(host) or {}
        default = variables.get("mooncake_store_client_global_segment_size", "4 GB")
        address = variables.get("mooncake_store_client_address") or variables.get("ansible_host") or host
        http_base = int(variables.get("mooncake_store_client_http_port_base") or 9300)
        for index, client in enumerate(variables.get("mooncake_store_clients") or []):
            if isinstance(client, dict):
                size = parse_size(client.get("global_segment_size", default))
                out.append({"host": host, "name": client.get("name"), "global_segment_size": size or 0,
                            "http": "%s:%s" % (address, client.get("http_port") or http_base + index)})
    return out


def prometheus_targets(cluster, clients, etcd_members):
    """A Prometheus file_sd document: the masters' metrics servers, the store clients' HTTP
    servers and the etcd members' client ports, each a job of its own."""
    return store_targets(cluster, clients, etcd_members)


def store_verify_objects(sizes):
    """The verification's objects: one per size, ``{key: mooncake-verify/SIZE, size}``."""
    return [{"key": "mooncake-verify/%d" % int(size), "size": int(size)} for size in sizes or []]


class FilterModule(object):
    def filters(self):
        return {"store_masters": store_masters, "store_master_address": store_master_address,
                "store_consumer_configs": store_consumer_configs, "verify_store": verify_store,
                "store_clients_of": store_clients_of, "store_verify_objects": store_verify_objects,
                "prometheus_targets": prometheus_targets}
