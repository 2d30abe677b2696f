# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""master_settings: explicit IP addresses, distinct ports, and what clients use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.filter.master_settings import FilterModule

CHECK = FilterModule().filters()["master_settings"]
GOOD = {"rpc_address": "10.231.6.11", "rpc_port": 50051, "metrics_address": "10.231.6.11", "metrics_port": "9003",
        "http_metadata_server": False, "http_metadata_address": "10.231.6.11", "http_metadata_port": 8080}


def test_good_settings_give_the_address_ports_and_health_url():
    result = CHECK(GOOD, "m1")
    assert result == {"errors": [], "ports": [50051, 9003], "server_address": "10.231.6.11:50051",
                      "health_url": "http://10.231.6.11:9003/health"}
    assert CHECK(dict(GOOD, http_metadata_server="true"), "m1")["ports"] == [50051, 9003, 8080]


def test_ipv6_addresses_are_bracketed():
    result = CHECK(dict(GOOD, rpc_address="fd00::1", metrics_address="fd00::1"), "m1")
    assert result["errors"] == []
    assert result["server_address"] == "[fd00::1]:50051"
    assert result["health_url"] == "http://[fd00::1]:9003/health"


def test_every_problem_is_reported_at_once():
    errors = CHECK(dict(GOOD, rpc_address="gpu1", metrics_port=50051, http_metadata_server=True, http_metadata_port=80), "m1")["errors"]
    assert len(errors) == 3, errors
    assert all(e.startswith("host m1: ") for e in errors)
    assert "mooncake_master_rpc_address=gpu1 is not an IP address" in errors[0]
    assert "mooncake_master_rpc_port and mooncake_master_metrics_port are both 50051" in " ".join(errors)
    assert "mooncake_master_http_metadata_port=80 must be a port from 1024 to 65535" in " ".join(errors)


def test_the_http_metadata_server_is_only_checked_when_enabled():
    assert CHECK(dict(GOOD, http_metadata_address="name", http_metadata_port=9003), "m1")["errors"] == []
