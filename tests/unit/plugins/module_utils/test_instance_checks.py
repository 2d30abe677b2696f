# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The instances role's checks: the requests it makes of the host and how it judges the answers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.filter.instance_plan import FilterModule
from ansible_collections.mooncake.deploy.plugins.module_utils import instance_checks as checks
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import plan_instances

FILTERS = FilterModule().filters()
SETTINGS = {
    "address": "10.231.0.11",
    "metadata_server": "etcd://10.231.0.11:2379,10.231.0.12:2379",
    "buffer_size": 268435456,
    "port_base": 15624,
    "port_stride": 1,
    "range_base": 20000,
    "range_size": 100,
    "reserved_ports": {},
    "ephemeral_range": [32768, 60999],
}


def plans(*instances):
    planned, errors = plan_instances("node1", list(instances), SETTINGS)
    assert errors == []
    return planned


def held(port, unit, ok=False):
    return {"port": port, "ok": ok, "problem": "host node1: port %d is held by pid 7 (%s)" % (port, unit),
            "holders": [{"pid": 7, "process": {"unit": unit}}]}


def test_each_instance_port_must_be_free_or_its_own_units():
    expect = FILTERS["instance_port_expectations"](plans({"name": "prefill"}, {"name": "decode"}), "node1")
    assert expect == [
        {"port": 15624, "state": "available", "unit": "mooncake-instance@prefill.service", "label": "host node1, instance 'prefill'"},
        {"port": 15625, "state": "available", "unit": "mooncake-instance@decode.service", "label": "host node1, instance 'decode'"},
    ]


def test_each_metadata_endpoint_is_probed_once_and_the_inventorys_etcd_may_refuse():
    probes = FILTERS["instance_metadata_probes"](plans({"name": "prefill"}, {"name": "decode"}), "node1", ["10.231.0.11:2379"])
    assert [(p["host"], p["port"], p["refused_ok"]) for p in probes] == [("10.231.0.11", 2379, True), ("10.231.0.12", 2379, False)]
    assert probes[0]["label"].startswith("host node1, metadata_server of instance 'prefill' (etcd://")


def test_a_port_held_by_an_instance_no_longer_listed_is_not_a_problem():
    planned = plans({"name": "extra2", "port": 15626})
    leaving = held(15626, "mooncake-instance@extra.service")
    assert checks.port_problems(planned, [leaving]) == []
    foreign = held(15626, "nginx.service")
    assert checks.port_problems(planned, [foreign]) == [
        "host node1: port 15626 is held by pid 7 (nginx.service). Stop that process, or give the instance another port."]
    # A listed instance's unit on another instance's port is a problem too.
    planned_both = plans({"name": "extra2", "port": 15626}, {"name": "extra", "port": 15627})
    assert len(checks.port_problems(planned_both, [leaving])) == 1
    assert checks.port_problems(planned, [held(15626, "x", ok=True)]) == []


def test_problems_gather_every_check_and_a_skipped_check_adds_nothing():
    planned = {"instances": plans({"name": "prefill"}), "errors": ["host node1: bad input"]}
    problems = FILTERS["instance_problems"](
        planned, "node1", "10.231.0.99", ["10.231.0.11", "fe80::1"],
        {"results": [held(15624, "nginx.service")]}, {"failures": ["etcd down"]}, {"errors": ["no mlx5_0"]})
    assert problems[0] == "host node1: bad input"
    assert problems[1].startswith("host node1: mooncake_instances_address 10.231.0.99 is not an address of this host (it has 10.231.0.11, fe80::1)")
    assert problems[2].endswith("Stop that process, or give the instance another port.")
    assert problems[3:] == ["etcd down", "no mlx5_0"]
    skipped = {"skipped": True, "changed": False}
    assert FILTERS["instance_problems"]({"instances": plans({"name": "prefill"}), "errors": []}, "node1",
                                        "10.231.0.11", ["10.231.0.11"], skipped, skipped, None) == []


def test_no_instances_no_address_problem():
    assert checks.address_problem("node1", [], "10.9.9.9", ["10.231.0.11"]) == []


def test_leftovers_are_unlisted_configs_and_drop_ins_of_instances_back_on_the_agent():
    found = ["/etc/mooncake/instances/prefill.json", "/etc/mooncake/instances/old.json",
             "/etc/mooncake/instances/Bad Name.json", "/etc/mooncake/instances/notes.txt", "/x/old.json",
             "/etc/mooncake/instances/sub/deep.json",
             "/etc/systemd/system/mooncake-instance@prefill.service.d/10-command.conf",
             "/etc/systemd/system/mooncake-instance@vllm.service.d/10-command.conf",
             "/etc/systemd/system/mooncake-instance@gone.service.d/10-command.conf",
             "/etc/systemd/system/other.service.d/10-command.conf"]
    planned = plans({"name": "prefill"}, {"name": "vllm", "command": "/usr/bin/vllm serve m"})
    assert FILTERS["instances_leftovers"](found, planned, "/etc/mooncake/instances/") == {
        "unlisted": ["old"],
        "stale_dropins": ["prefill"]}


def test_reserved_ports_follow_the_hosts_roles_and_their_variables():
    hostvars = {
        "node1": {"group_names": ["etcd", "mooncake"], "mooncake_etcd_client_port": 3379},
        "node2": {"group_names": ["mooncake", "mooncake_master"], "mooncake_master_http_metadata_server": True},
        "node3": {"group_names": ["mooncake"], "mooncake_master_enabled": "false"},
    }
    reserved = FILTERS["instance_reserved_ports"]
    assert reserved("node1", hostvars, ["node1"]) == {"3379": "etcd (client)", "2380": "etcd (peer)"}
    assert reserved("node2", hostvars, ["node1"]) == {
        "50051": "the Store master (RPC)", "9003": "the Store master (metrics, /health)", "8080": "the Store master (HTTP metadata)"}
    assert reserved("node3", hostvars, ["node1"]) == {}
