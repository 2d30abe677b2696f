# -*- coding: utf-8 -*-
"""The Store's masters as the inventory describes them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.store_cluster import store_masters

HOSTVARS = {
    "m1": {"ansible_host": "10.231.5.11"},
    "m2": {"ansible_host": "10.231.5.12", "mooncake_master_rpc_port": 50061, "mooncake_master_metrics_port": "9013"},
    "m3": {"ansible_host": "10.231.5.13", "mooncake_master_rpc_address": "10.231.6.13"},
}
ETCD = ["10.231.5.21:2379", "10.231.5.22:2379"]


def test_no_master_means_no_address():
    assert store_masters([], HOSTVARS, ETCD) == {"mode": "none", "masters": [], "server_address": "", "etcd_endpoints": "", "errors": []}


def test_one_master_is_named_by_its_rpc_address_and_port():
    cluster = store_masters(["m2"], HOSTVARS, ETCD)
    assert cluster["mode"] == "single" and cluster["errors"] == []
    assert cluster["server_address"] == "10.231.5.12:50061"
    assert cluster["masters"] == [{"host": "m2", "rpc_address": "10.231.5.12", "rpc_port": 50061, "metrics_address": "10.231.5.12",
                                   "metrics_port": 9013, "health_url": "http://10.231.5.12:9013/health"}]


def test_several_masters_run_ha_on_the_etcd_members_and_clients_name_etcd():
    cluster = store_masters(["m1", "m2", "m3"], HOSTVARS, ETCD)
    assert cluster["mode"] == "ha" and cluster["errors"] == []
    assert cluster["etcd_endpoints"] == "10.231.5.21:2379;10.231.5.22:2379"
    assert cluster["server_address"] == "etcd://10.231.5.21:2379;10.231.5.22:2379"
    assert [m["rpc_address"] for m in cluster["masters"]] == ["10.231.5.11", "10.231.5.12", "10.231.6.13"]


def test_one_master_may_ask_for_ha():
    hostvars = dict(HOSTVARS, m1={"ansible_host": "10.231.5.11", "mooncake_master_ha": True})
    assert store_masters(["m1"], hostvars, ETCD)["mode"] == "ha"


def test_ha_without_etcd_is_refused_naming_the_masters():
    cluster = store_masters(["m1", "m2"], HOSTVARS, [])
    assert cluster["errors"] == [
        "the group mooncake_master has 2 hosts (m1, m2): the masters elect their leader on etcd, but the inventory "
        "has no etcd members; add hosts to the group etcd, or keep one master"]
    assert cluster["server_address"] == ""


def test_several_masters_with_ha_off_is_refused():
    hostvars = dict(HOSTVARS, m1={"ansible_host": "10.231.5.11", "mooncake_master_ha": False})
    cluster = store_masters(["m1", "m2"], hostvars, ETCD)
    assert cluster["errors"][0].startswith("the group mooncake_master has 2 hosts (m1, m2) but mooncake_master_ha is False")
