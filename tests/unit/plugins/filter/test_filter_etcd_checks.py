# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The etcd_problems filter: every problem of a member at once, naming host, field and fix."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.filter.etcd_checks import FilterModule
from ansible_collections.mooncake.deploy.plugins.module_utils.etcd_checks import is_ip, truthy

PROBLEMS = FilterModule().filters()["etcd_problems"]


def facts(*ips, **interfaces):
    out = {"interfaces": ["lo"] + sorted(interfaces), "all_ipv4_addresses": list(ips), "all_ipv6_addresses": []}
    for name, ip in interfaces.items():
        out[name] = {"ipv4": {"address": ip}} if ip else {}
    return out


def lab():
    hostvars = {
        "etcd1": {"ansible_host": "10.231.3.11", "ansible_facts": facts("10.231.3.11", eth0="10.231.3.11")},
        "etcd2": {"ansible_host": "10.231.3.12", "ansible_facts": facts("10.231.3.12", eth0="10.231.3.12")},
        "etcd3": {"ansible_host": "10.231.3.13", "mooncake_etcd_interface": "eth0",
                  "ansible_facts": facts("10.231.3.13", eth0="10.231.3.13")},
    }
    groups = {"etcd": ["etcd1", "etcd2", "etcd3"]}
    return hostvars, groups


def settings(**extra):
    out = {"mooncake_etcd_group": "etcd", "mooncake_etcd_name": "etcd1", "mooncake_etcd_address": "",
           "mooncake_etcd_interface": "", "mooncake_etcd_client_port": 2379, "mooncake_etcd_peer_port": 2380,
           "mooncake_etcd_client_tls": False, "mooncake_etcd_peer_tls": False, "mooncake_etcd_client_cert_auth": False,
           "mooncake_etcd_pki_dir": "/pki"}
    out.update(extra)
    return out


def test_a_right_member_has_no_problem():
    hostvars, groups = lab()
    assert PROBLEMS(settings(), "etcd1", hostvars, groups) == []
    assert PROBLEMS(settings(mooncake_etcd_name="etcd3", mooncake_etcd_interface="eth0"), "etcd3", hostvars, groups) == []


def test_same_names_and_addresses_clash_in_one_message():
    hostvars, groups = lab()
    hostvars["etcd2"].update(mooncake_etcd_name="etcd1", mooncake_etcd_address="10.231.3.11")
    found = PROBLEMS(settings(), "etcd1", hostvars, groups)
    assert len(found) == 1
    assert "host etcd1: mooncake_etcd_name 'etcd1' is also the name of etcd2" in found[0]
    assert "mooncake_etcd_address 10.231.3.11 is also the address of etcd2 with the same ports" in found[0]


def test_every_problem_is_reported_at_once():
    hostvars, groups = lab()
    hostvars["etcd1"].update(mooncake_etcd_address="http://10.231.3.11:2379")
    hostvars["etcd2"].update(ansible_host="node2.example")
    found = PROBLEMS(settings(mooncake_etcd_address="http://10.231.3.11:2379", mooncake_etcd_client_port=80,
                              mooncake_etcd_client_cert_auth=True), "etcd1", hostvars, groups)
    text = "\n".join(found)
    assert "mooncake_etcd_address 'http://10.231.3.11:2379' is not an IP" in text
    assert "the etcd members etcd2 (address 'node2.example') of group 'etcd' have no IP address" in text
    assert "distinct client and peer ports from 1024 to 65535 (got 80 and 2380)" in text
    assert "mooncake_etcd_client_cert_auth needs mooncake_etcd_client_tls: true" in text
    assert all(line.startswith("host etcd1: ") for line in found)


def test_interfaces_and_wildcards():
    hostvars, groups = lab()
    found = PROBLEMS(settings(mooncake_etcd_interface="nosuch0"), "etcd1", dict(hostvars, etcd1=dict(
        hostvars["etcd1"], mooncake_etcd_interface="nosuch0")), groups)
    assert any("mooncake_etcd_interface 'nosuch0' is not an interface of this host (interfaces: lo, eth0)" in p
               for p in found), found
    found = PROBLEMS(settings(mooncake_etcd_address="0.0.0.0"), "etcd1", dict(hostvars, etcd1=dict(
        hostvars["etcd1"], mooncake_etcd_address="0.0.0.0")), groups)
    assert len(found) == 1 and "never 0.0.0.0; to listen on every interface set mooncake_etcd_listen_all: true" in found[0]
    found = PROBLEMS(settings(mooncake_etcd_address="10.231.3.99"), "etcd1", dict(hostvars, etcd1=dict(
        hostvars["etcd1"], mooncake_etcd_address="10.231.3.99")), groups)
    assert found == ["host etcd1: mooncake_etcd_address 10.231.3.99 is not an address of this host (it has 10.231.3.11); "
                     "set mooncake_etcd_address to the IP etcd should listen on and advertise (0.0.0.0 is never used)."]


def test_a_member_setting_the_inventory_cannot_see_is_reported():
    hostvars, groups = lab()
    found = PROBLEMS(settings(mooncake_etcd_name="renamed"), "etcd1", hostvars, groups)
    assert found == [
        "host etcd1: mooncake_etcd_name is 'renamed' for this play but 'etcd1' in the inventory. The other members read "
        "it from the inventory (their --initial-cluster, the instances' metadata_server): set it as a host variable of "
        "etcd1 (host_vars, the inventory or -e), not as a play or role variable."]


def test_client_tls_is_refused_while_engines_use_this_etcd():
    hostvars, groups = lab()
    hostvars["gpu1"] = {}
    hostvars["gpu2"] = {"mooncake_instances_metadata_server": "etcd://10.9.9.9:2379"}
    hostvars["gpu3"] = {"mooncake_instances_metadata_server": "etcd://10.231.3.11:2379"}
    groups["mooncake"] = ["gpu1", "gpu2", "gpu3"]
    found = PROBLEMS(settings(mooncake_etcd_client_tls=True), "etcd1", hostvars, groups)
    assert len(found) == 1
    assert found[0].startswith("host etcd1: mooncake_etcd_client_tls is true, but the hosts gpu1, gpu3 of group "
                               "'mooncake' would register their transfer engines at this etcd (https://10.231.3.11:2379)")
    assert PROBLEMS(settings(mooncake_etcd_peer_tls=True), "etcd1", hostvars, groups) == []


def test_a_host_outside_the_group_and_the_helpers():
    hostvars, groups = lab()
    hostvars["other"] = {"ansible_host": "10.231.3.11", "ansible_facts": facts("10.231.3.11")}
    found = PROBLEMS(settings(mooncake_etcd_name="other"), "other", hostvars, groups)
    assert any("and the host in the inventory group 'etcd'" in p for p in found), found
    assert is_ip("fd00::1") and is_ip("10.0.0.1") and not is_ip("10.0.0.1:2379") and not is_ip("")
    assert truthy("yes") and truthy(True) and not truthy("false") and not truthy(0)


def test_a_joining_member_names_itself_in_the_running_clusters_list():
    join = FilterModule().filters()["etcd_join_cluster"]
    members = [{"name": "etcd1", "peerURLs": ["https://10.231.3.11:2380"]},
               {"name": "etcd2", "peerURLs": ["https://10.231.3.12:2380"]},
               {"peerURLs": ["https://10.231.3.13:2380"]}]
    assert join(members, "etcd3", "https://10.231.3.13:2380") == (
        "etcd1=https://10.231.3.11:2380,etcd2=https://10.231.3.12:2380,etcd3=https://10.231.3.13:2380")
    assert join([], "etcd3", "x") == ""
