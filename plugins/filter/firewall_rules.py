# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the firewall role: the host's nftables table computed from the inventory, and the
refusal naming the ports to open when firewalld or ufw manages the host
(module_utils/firewall_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils import firewall_plan


def firewall_rules(host, hostvars, groups, settings=None):
    """``{'enabled', 'services', 'ports', 'ranges', 'errors', 'lines'}`` of ``host``."""
    plan = firewall_plan.plan_firewall(host, hostvars, groups, settings or {})
    plan["lines"] = firewall_plan.nft_lines(plan)
    return plan


def firewall_conflicts(plan, states):
    """The problems of a host whose firewall firewalld or ufw manages. ``states``: the lines
    ``firewalld=STATE``, ``ufw=STATE`` (systemctl is-active) and ``ufw_enabled=yes|no``
    (ufw.conf's ENABLED=), or the dict they parse to."""
    if not isinstance(states, dict):
        states = firewall_plan.manager_states(states)
    return firewall_plan.conflict_problems(plan["host"], plan, states)


class FilterModule(object):
    def filters(self):
        return {
            "firewall_rules": firewall_rules,
            "firewall_conflicts": firewall_conflicts,
        }
