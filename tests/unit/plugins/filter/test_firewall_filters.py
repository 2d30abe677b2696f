# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The firewall role's filters as Jinja sees them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.filter.firewall_rules import FilterModule

FILTERS = FilterModule().filters()
HOSTVARS = {"n1": {"ansible_host": "10.0.0.1", "mooncake_instances": [{"name": "a", "port": 15624}]},
            "out": {"ansible_host": "10.0.0.9"}}
GROUPS = {"all": ["n1", "out"], "etcd": ["n1"], "mooncake": ["n1"]}


def test_filters_are_registered():
    assert set(FILTERS) == {"firewall_rules", "firewall_conflicts"}


def test_rules_carry_the_lines_of_the_table():
    plan = FILTERS["firewall_rules"]("n1", HOSTVARS, GROUPS, {"enabled": True})
    assert plan["errors"] == [] and plan["enabled"] is True
    assert plan["ports"] == [2379, 2380, 15624]
    assert plan["lines"][-3].endswith("th dport { 2379, 2380, 15624, 20000-20099 } counter drop")


def test_conflicts_read_the_commands_output():
    plan = FILTERS["firewall_rules"]("n1", HOSTVARS, GROUPS)
    assert FILTERS["firewall_conflicts"](plan, "firewalld=inactive\nufw=inactive\n") == []
    assert "firewalld is active" in FILTERS["firewall_conflicts"](plan, "firewalld=active\nufw=inactive\n")[0]
