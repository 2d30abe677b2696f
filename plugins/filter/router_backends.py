# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the router role: the router's backends from the inventory, and its checked plan
(module_utils/router_backends.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils import router_backends as router


def router_backends(hosts, hostvars, kind=None):
    """``{'prefill', 'decode', 'errors'}`` of the serving instances of ``hosts``."""
    return router.router_backends(hosts, hostvars, kind)


def router_plan(settings, host, prefill, decode, port_results=None):
    """The checked router of ``host``; with ``port_results`` (port_bindings' results) the errors
    also hold the ports others hold."""
    plan = router.plan_router(host, settings, prefill, decode)
    plan["errors"] = plan["errors"] + router.port_problems(port_results)
    return plan


class FilterModule(object):
    def filters(self):
        return {
            "router_backends": router_backends,
            "router_plan": router_plan,
        }
