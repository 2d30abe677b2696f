# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the store_client role: the plan of the host's Mooncake Store clients and what it
needs from the host (module_utils/store_client_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils import store_client_plan as plan


def store_client_plan(clients, host, settings, port_results=None):
    """Return ``{'clients', 'errors', 'port_expectations', 'unlisted'}`` for the host's
    ``mooncake_store_clients``; with ``port_results`` (port_bindings' results) the errors also
    hold the ports others hold."""
    plans, errors = plan.plan_store_clients(host, clients, settings)
    return {
        "clients": plans,
        "errors": errors + plan.port_problems(plans, port_results),
        "port_expectations": plan.port_expectations(host, plans),
        "unlisted": plan.unlisted(plans, settings.get("deployed")),
    }


def meminfo_bytes(text):
    return plan.meminfo_bytes(text)


def store_client_reserved(host, hostvars, etcd_hosts):
    return plan.reserved_services(host, hostvars[host], etcd_hosts)


class FilterModule(object):
    def filters(self):
        return {
            "store_client_plan": store_client_plan,
            "meminfo_bytes": meminfo_bytes,
            "store_client_reserved": store_client_reserved,
        }
