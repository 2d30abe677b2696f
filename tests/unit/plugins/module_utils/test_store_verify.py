# -*- coding: utf-8 -*-
"""The verification's Store section: masters' roles, objects put and read back, failures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.store_verify import store_lines, store_section

CLUSTER = {"mode": "ha", "server_address": "etcd://10.231.4.11:2379", "masters": [
    {"host": "node1", "rpc_address": "10.231.4.12", "rpc_port": 50051},
    {"host": "node2", "rpc_address": "10.231.4.13", "rpc_port": 50051}]}


def health(host, body):
    # Recorded /health answers of mooncake_master 0.3.13.post1 with --enable_ha.
    return {"item": {"host": host}, "json": body} if body else {"item": {"host": host}, "msg": "Connection refused"}


LEADER = {"status": "ok", "role": "leader", "ha_state": "serving", "service_ready": True, "leader_address": "10.231.4.13:50051"}
STANDBY = {"status": "ok", "role": "standby", "ha_state": "standby", "service_ready": False, "leader_address": "10.231.4.13:50051"}
PUT = {"objects": [{"key": "mooncake-verify/4096", "size": 4096, "sha256": "a" * 64, "ok": True}], "failures": [], "throughput_mib_s": 12.5}
GET = {"objects": [{"key": "mooncake-verify/4096", "size": 4096, "sha256": "a" * 64, "read_size": 4096, "ok": True}],
       "failures": [], "throughput_mib_s": 20.0}
CLIENTS = [{"host": "node1", "name": "pool", "global_segment_size": 67108864}]


def test_one_leader_one_standby_and_the_objects_back_is_a_pass():
    section = store_section(CLUSTER, [health("node1", STANDBY), health("node2", LEADER)], PUT, GET, "node1", "node2", CLIENTS)
    assert section["failures"] == []
    assert [(m["host"], m["role"], m["serving"]) for m in section["masters"]] == [("node1", "standby", False), ("node2", "leader", True)]
    assert section["objects"] == [{"key": "mooncake-verify/4096", "size": 4096, "human": "4.0 KiB", "put": True, "read_back": True}]
    assert section["clients"][0]["human"] == "64.0 MiB"
    assert store_lines(section)[1:] == [
        "Mooncake Store (ha, master_server_address etcd://10.231.4.11:2379)",
        "  master node1      10.231.4.12:50051      standby",
        "  master node2      10.231.4.13:50051      leader (serving)",
        "  client node1      pool                   segment 64.0 MiB",
        "  objects put on node1, read back on node2: 1 of 1 (4.0 KiB), put 12.5 MiB/s, get 20.0 MiB/s",
    ]


def test_a_silent_master_and_no_leader_are_failures():
    section = store_section(CLUSTER, [health("node1", STANDBY), health("node2", None)], PUT, GET, "node1", "node2", [])
    assert section["failures"] == [
        "Store master on node2 (10.231.4.13:50051): /health does not answer",
        "the Store has 0 serving master(s) (none); exactly one must lead",
    ]


def test_two_leaders_that_disagree_are_failures():
    other = dict(LEADER, leader_address="10.231.4.12:50051")
    section = store_section(CLUSTER, [health("node1", other), health("node2", LEADER)], PUT, GET, "node1", "node2", [])
    assert section["failures"] == [
        "the Store has 2 serving master(s) (node1, node2); exactly one must lead",
        "the Store's masters disagree on their leader: 10.231.4.12:50051, 10.231.4.13:50051",
    ]


def test_objects_that_did_not_come_back_are_reported_as_the_module_said():
    get = dict(GET, failures=["mooncake-verify/4096 read on 10.231.4.13: 0 bytes of 4096, missing or cut"],
               objects=[dict(GET["objects"][0], ok=False, read_size=0)])
    section = store_section(CLUSTER, [health("node1", STANDBY), health("node2", LEADER)], PUT, get, "node1", "node2", [])
    assert section["failures"] == ["mooncake-verify/4096 read on 10.231.4.13: 0 bytes of 4096, missing or cut"]
    assert section["objects"][0]["read_back"] is False
    assert "read back on node2: 0 of 1" in store_lines(section)[-1]


def test_metrics_that_do_not_answer_200_are_failures():
    metrics = [{"item": "10.231.4.12:9003", "status": 200}, {"item": "10.231.4.13:9300", "status": -1, "msg": "Connection refused"}]
    section = store_section(CLUSTER, [health("node1", STANDBY), health("node2", LEADER)], PUT, GET, "node1", "node2", [], metrics)
    assert section["failures"] == ["metrics at 10.231.4.13:9300: Connection refused"]
    assert section["metrics"] == [{"url": "10.231.4.12:9003", "ok": True}, {"url": "10.231.4.13:9300", "ok": False}]


def test_prometheus_targets_name_every_master_client_and_etcd_member():
    from ansible_collections.mooncake.deploy.plugins.module_utils.store_verify import store_targets
    cluster = {"masters": [dict(m, metrics_address=m["rpc_address"], metrics_port=9003) for m in CLUSTER["masters"]]}
    targets = store_targets(cluster, [{"host": "node1", "http": "10.231.4.12:9300"}], [{"endpoint": "10.231.4.11:2379"}])
    assert targets == [
        {"targets": ["10.231.4.12:9003", "10.231.4.13:9003"], "labels": {"job": "mooncake-master"}},
        {"targets": ["10.231.4.12:9300"], "labels": {"job": "mooncake-store-client"}},
        {"targets": ["10.231.4.11:2379"], "labels": {"job": "etcd"}},
    ]
    assert store_targets({}, [], []) == []
