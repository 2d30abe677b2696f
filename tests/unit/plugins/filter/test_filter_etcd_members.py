# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The etcd_members / etcd_endpoints filters: one address rule for every role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mooncake.deploy.plugins.filter.etcd_members import FilterModule

FILTERS = FilterModule().filters()
HOSTVARS = {
    "node1": {"ansible_host": "10.231.0.11"},
    "node2": {"ansible_host": "10.231.0.12", "mooncake_etcd_address": "10.231.9.2", "mooncake_etcd_client_port": 3379},
    "node3": {"ansible_host": "10.231.0.13", "mooncake_etcd_interface": "eth-1",
              "ansible_facts": {"eth_1": {"ipv4": {"address": "10.231.5.3"}}}, "mooncake_etcd_name": "m3",
              "mooncake_etcd_peer_tls": True},
    "node4": {"ansible_host": "fd00::4"},
    "node5": {"ansible_host": "10.231.0.15", "mooncake_etcd_interface": "eth9", "ansible_facts": {}},
}


def test_the_address_is_explicit_else_the_interface_else_ansible_host():
    members = FILTERS["etcd_members"](["node1", "node2", "node3"], HOSTVARS)
    assert [m["address"] for m in members] == ["10.231.0.11", "10.231.9.2", "10.231.5.3"]
    assert [m["name"] for m in members] == ["node1", "node2", "m3"]
    assert members[2]["peer_url"] == "https://10.231.5.3:2380"
    assert members[0]["client_url"] == "http://10.231.0.11:2379"


def test_endpoints_use_each_members_client_port_and_bracket_ipv6():
    assert FILTERS["etcd_endpoints"](["node1", "node2", "node4"], HOSTVARS) == [
        "10.231.0.11:2379", "10.231.9.2:3379", "[fd00::4]:2379"]


def test_defaults_fill_what_a_member_does_not_set():
    assert FILTERS["etcd_endpoints"](["node1", "node2"], HOSTVARS, {"mooncake_etcd_client_port": 4000}) == [
        "10.231.0.11:4000", "10.231.9.2:3379"]


def test_an_interface_without_an_address_names_the_member_and_the_fix():
    assert FILTERS["etcd_members"](["node5"], HOSTVARS)[0]["endpoint"] == ""
    with pytest.raises(AnsibleFilterError, match=r"host node5: .*'eth9'.*mooncake_etcd_address"):
        FILTERS["etcd_endpoints"](["node5"], HOSTVARS)


def test_no_members_no_endpoints():
    assert FILTERS["etcd_endpoints"]([], HOSTVARS) == []
