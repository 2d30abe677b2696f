# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""firewall_plan: which ports each host filters, who may reach them, the nft file, the refusal
when firewalld or ufw manages the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils import firewall_plan as fw

AGENTS = [{"name": "prefill", "role": "prefill", "port": 15624}, {"name": "decode", "role": "decode", "port": 15625}]


def inventory():
    hostvars = {
        "etcd1": {"ansible_host": "10.0.0.1"},
        "node1": {"ansible_host": "10.0.0.11", "mooncake_instances": AGENTS},
        "node2": {"ansible_host": "10.0.0.12", "mooncake_instances_port_base": 15700,
                  "mooncake_instances": [{"name": "prefill", "role": "prefill"}]},
        "store1": {"ansible_host": "10.0.0.21", "mooncake_store_clients": [{"name": "pool"}, {"name": "pool2"}]},
        "router1": {"ansible_host": "10.0.0.31"},
        "outsider": {"ansible_host": "10.0.0.99"},
    }
    groups = {
        "all": list(hostvars),
        "etcd": ["etcd1"],
        "mooncake": ["node1", "node2"],
        "mooncake_master": ["etcd1"],
        "mooncake_router": ["router1"],
        "lab": list(hostvars),
    }
    return hostvars, groups


def service(plan, name):
    found = [s for s in plan["services"] if s["name"] == name]
    return found[0] if found else None


def test_deployment_hosts_leave_out_hosts_of_no_deployment_group():
    hostvars, groups = inventory()
    assert fw.deployment_hosts(hostvars, groups) == ["etcd1", "node1", "node2", "router1", "store1"]


def test_etcd_member_filters_client_and_peer_ports_and_the_master():
    hostvars, groups = inventory()
    plan = fw.plan_firewall("etcd1", hostvars, groups, {"extra_sources": {"etcd_client": ["192.168.0.0/24"]}})
    assert plan["errors"] == []
    client = service(plan, "etcd_client")
    assert client["ports"] == [2379]
    assert client["v4"] == ["10.0.0.1", "10.0.0.11", "10.0.0.12", "10.0.0.21", "192.168.0.0/24"]
    assert "10.0.0.99" not in client["v4"] and "10.0.0.31" not in client["v4"]
    assert service(plan, "etcd_peer")["v4"] == ["10.0.0.1"]
    assert service(plan, "master")["ports"] == [50051]
    assert service(plan, "metrics")["ports"] == [9003]
    assert plan["ports"] == [2379, 2380, 9003, 50051]


def test_instances_from_the_published_plan_else_planned_with_the_roles_defaults():
    hostvars, groups = inventory()
    plan = fw.plan_firewall("node2", hostvars, groups, {})
    instances = service(plan, "instances")
    assert instances["ports"] == [15700] and instances["ranges"] == [[20000, 20099]]
    assert instances["v4"] == ["10.0.0.1", "10.0.0.11", "10.0.0.12", "10.0.0.21", "10.0.0.31"]
    hostvars["node2"]["mooncake_instances_plan"] = [
        {"name": "p", "port": 8010, "ports": [8010, 8998], "bootstrap_port": 8998, "rpc_port_range": [21000, 21099]},
    ]
    plan = fw.plan_firewall("node2", hostvars, groups, {})
    assert service(plan, "instances")["ports"] == [8010, 8998]
    assert service(plan, "instances")["ranges"] == [[21000, 21099]]
    assert service(plan, "etcd_client") is None


def test_store_clients_ports_ranges_and_metrics():
    hostvars, groups = inventory()
    plan = fw.plan_firewall("store1", hostvars, groups, {"metrics_sources": ["10.9.0.5"]})
    clients = service(plan, "store_client")
    assert clients["ports"] == [22052, 22053]
    assert clients["ranges"] == [[23000, 23099], [23100, 23199], [24000, 24099], [24100, 24199]]
    metrics = service(plan, "metrics")
    assert metrics["ports"] == [9300, 9301]
    assert "10.9.0.5" in metrics["v4"] and "10.9.0.5" not in clients["v4"]


def test_router_sources_added_to_the_deployment():
    hostvars, groups = inventory()
    hostvars["router1"]["mooncake_router_port"] = 8000
    plan = fw.plan_firewall("router1", hostvars, groups, {"router_sources": ["172.16.0.0/12", "fd00::/8"]})
    router = service(plan, "router")
    assert router["ports"] == [8000]
    assert "172.16.0.0/12" in router["v4"] and router["v6"] == ["fd00::/8"]
    assert service(plan, "metrics")["ports"] == [29000]


def test_host_moved_into_the_group_is_let_in_and_out_again():
    hostvars, groups = inventory()
    groups["mooncake"].append("outsider")
    assert "10.0.0.99" in service(fw.plan_firewall("node1", hostvars, groups, {}), "instances")["v4"]
    groups["mooncake"].remove("outsider")
    assert "10.0.0.99" not in service(fw.plan_firewall("node1", hostvars, groups, {}), "instances")["v4"]


def test_every_problem_at_once_naming_host_and_variable():
    hostvars, groups = inventory()
    hostvars["node2"]["ansible_host"] = "node2.example"
    settings = {"enabled": "maybe", "extra_sources": {"etcd": ["10.0.0.0/8"], "etcd_peer": ["not-a-net"]},
                "router_sources": "10.0.0.0/8"}
    errors = fw.plan_firewall("etcd1", hostvars, groups, settings)["errors"]
    text = "\n".join(errors)
    assert "mooncake_firewall_enabled 'maybe'" in text
    assert "unknown service 'etcd'" in text
    assert "mooncake_firewall_extra_sources.etcd_peer has 'not-a-net'" in text
    assert "mooncake_firewall_router_sources must be a list" in text
    assert "host node2: its address 'node2.example'" in text and "mooncake_firewall_addresses" in text
    assert len(errors) == 5


def test_enabled_given_as_extra_var_text():
    hostvars, groups = inventory()
    plan = fw.plan_firewall("node1", hostvars, groups, {"enabled": "false"})
    assert plan["errors"] == [] and plan["enabled"] is False
    assert fw.plan_firewall("node1", hostvars, groups, {"enabled": "yes"})["enabled"] is True


def test_addresses_given_per_host_replace_the_variables():
    hostvars, groups = inventory()
    hostvars["node2"]["ansible_host"] = "node2.example"
    hostvars["node2"]["mooncake_firewall_addresses"] = ["10.1.0.12", "10.2.0.0/24"]
    plan = fw.plan_firewall("etcd1", hostvars, groups, {})
    assert plan["errors"] == []
    assert "10.1.0.12" in service(plan, "etcd_client")["v4"] and "10.2.0.0/24" in service(plan, "etcd_client")["v4"]
    hostvars["node2"]["mooncake_firewall_addresses"] = ["bad"]
    assert fw.plan_firewall("etcd1", hostvars, groups, {})["errors"] == [
        "host node2: mooncake_firewall_addresses has 'bad', which is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"]


def test_overlapping_sources_collapse_for_nft():
    hostvars, groups = inventory()
    plan = fw.plan_firewall("etcd1", hostvars, groups, {"extra_sources": {"etcd_peer": ["10.0.0.0/28"]}})
    assert service(plan, "etcd_peer")["v4"] == ["10.0.0.0/28"]


def test_nft_lines_create_delete_write_one_table_and_drop_only_its_ports():
    hostvars, groups = inventory()
    lines = fw.nft_lines(fw.plan_firewall("node1", hostvars, groups, {}))
    assert lines[:3] == ["table inet mooncake {}", "delete table inet mooncake", "table inet mooncake {"]
    text = "\n".join(lines)
    assert "flush" not in text and "policy accept" in text
    assert ("meta l4proto { tcp, udp } th dport { 15624, 15625, 20000-20099, 20100-20199 } ip saddr "
            "{ 10.0.0.1, 10.0.0.11, 10.0.0.12, 10.0.0.21, 10.0.0.31 } accept") in text
    assert lines[-3] == "\t\tmeta l4proto { tcp, udp } th dport { 15624, 15625, 20000-20099, 20100-20199 } counter drop"
    assert " 22" not in text
    assert sum(1 for line in lines if line.startswith("table")) == 2


def test_a_host_without_deployment_ports_drops_nothing():
    hostvars, groups = inventory()
    plan = fw.plan_firewall("outsider", hostvars, groups, {})
    assert plan["services"] == [] and not any("drop" in line for line in fw.nft_lines(plan))


def test_manager_states_and_conflicts_name_the_ports_to_open():
    hostvars, groups = inventory()
    plan = fw.plan_firewall("etcd1", hostvars, groups, {})
    assert fw.conflict_problems("etcd1", plan, fw.manager_states("firewalld=inactive\nufw=inactive\n")) == []
    # ufw.service stays active while ufw is disabled.
    assert fw.conflict_problems("etcd1", plan, fw.manager_states("firewalld=inactive\nufw=active\nufw_enabled=no\n")) == []
    problems = fw.conflict_problems("etcd1", plan, fw.manager_states("firewalld=active\nufw=active\nufw_enabled=yes"))
    assert len(problems) == 2
    assert problems[0].startswith("host etcd1: firewalld is active")
    assert "etcd_peer 2380 from 10.0.0.1" in problems[0]
    assert "firewall-cmd --permanent --add-rich-rule='rule family=ipv4 source address=10.0.0.1 port port=2380 protocol=tcp accept'" in problems[0]
    assert "ufw allow proto tcp from 10.0.0.1 to any port 2380" in problems[1]
    assert "mooncake_firewall_enabled: false" in problems[1]
